// SQL of the reports module, and nothing else.
import type { Db } from "../core/db.ts";
import type { Attribute, Category, CategoryInput, Channel, Group, PreparedPhoto, Status } from "./types.ts";

export interface CategoryRow {
  code: string;
  grp: Group;
  name: string;
  name_en: string;
  description: string;
  description_en: string;
  keywords: string;
  level: "commune" | "province";
  agency_code: string | null;
  deadline_hours: number;
  attributes: Attribute[];
  active: boolean;
  sort: number;
}

export interface ReportRow {
  id: number | string;
  token: string;
  client_key: string | null;
  tracking_hash: string | null;
  category_code: string;
  channel: Channel;
  status: Status;
  description: string;
  lat: number | null;
  lon: number | null;
  address: string | null;
  commune_code: string | null;
  attributes: Record<string, unknown>;
  media_url: string | null;
  agency_code: string;
  assignee_user: string | null;
  duplicate_of: number | string | null;
  status_notes: string | null;
  requested_at: Date;
  updated_at: Date;
  deadline_at: Date;
  overdue: boolean;
  overdue_at: Date | null;
  resolved_at: Date | null;
  closed_at: Date | null;
  reporter_user: string | null;
  reporter_name: string | null;
  reporter_phone: string | null;
  reporter_email: string | null;
  device_id: string | null;
  rating: number | null;
  rating_comment: string | null;
  rated_at: Date | null;
  followers: number;
}

export interface UpdateRow {
  id: number | string;
  report_id: number | string;
  at: Date;
  kind: string;
  status: Status | null;
  note: string | null;
  public: boolean;
  agency_code: string | null;
  actor_name: string;
  actor_id: string | null;
}

export interface PhotoMeta {
  id: string;
  report_id: number | string;
  kind: "report" | "fix";
  mime: string;
  width: number;
  height: number;
}

/** What a public answer may show: no reporter contact, user, device, tracking hash or rating comment. */
const PUBLIC_COLUMNS =
  "id, token, category_code, channel, status, description, lat, lon, address, commune_code, attributes, media_url, agency_code, assignee_user, duplicate_of, status_notes, requested_at, updated_at, deadline_at, overdue, overdue_at, resolved_at, closed_at, rating, rated_at, followers";

export interface ReportFilter {
  /** Select only the public columns (lists that go out to anyone). */
  publicOnly?: boolean;
  ids?: string[];
  categories?: string[];
  statuses?: Status[];
  agencies?: string[];
  commune?: string;
  from?: Date;
  to?: Date;
  overdue?: boolean;
  reporterUser?: string;
  bbox?: [number, number, number, number];
  q?: string;
  order?: "requested" | "deadline";
  limit: number;
  offset: number;
}

export interface StatsFilter {
  from: Date;
  to: Date;
  agency?: string;
  commune?: string;
  category?: string;
  by?: "agency" | "commune" | "category";
}

export interface StatsRow {
  key: string | null;
  received: number;
  resolved: number;
  on_time: number;
  median_hours: number | null;
  rating_avg: number | null;
  ratings: number;
  open: number;
  overdue: number;
}

const toCategory = (r: CategoryRow): Category => ({
  code: r.code,
  group: r.grp,
  name: r.name,
  nameEn: r.name_en,
  description: r.description,
  descriptionEn: r.description_en,
  keywords: r.keywords,
  level: r.level,
  agency: r.agency_code,
  deadlineHours: r.deadline_hours,
  attributes: r.attributes,
  active: r.active,
});

export function reportsStore(db: Db) {
  return {
    async listCategories(includeInactive = false): Promise<Category[]> {
      const rows = await db.query<CategoryRow>(`SELECT * FROM reports.categories WHERE $1 OR active ORDER BY sort, code`, [includeInactive]);
      return rows.map(toCategory);
    },
    async getCategory(code: string): Promise<Category | undefined> {
      const r = await db.one<CategoryRow>("SELECT * FROM reports.categories WHERE code = $1", [code]);
      return r && toCategory(r);
    },
    countCategories: async () => Number((await db.one<{ n: number }>("SELECT count(*)::int AS n FROM reports.categories"))?.n ?? 0),
    async upsertCategory(c: CategoryInput, sort: number): Promise<Category> {
      const r = await db.one<CategoryRow>(
        `INSERT INTO reports.categories (code, grp, name, name_en, description, description_en, keywords, level, agency_code, deadline_hours, attributes, active, sort)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)
         ON CONFLICT (code) DO UPDATE SET grp = EXCLUDED.grp, name = EXCLUDED.name, name_en = EXCLUDED.name_en, description = EXCLUDED.description,
           description_en = EXCLUDED.description_en, keywords = EXCLUDED.keywords, level = EXCLUDED.level, agency_code = EXCLUDED.agency_code,
           deadline_hours = EXCLUDED.deadline_hours, attributes = EXCLUDED.attributes, active = EXCLUDED.active, updated_at = now()
         RETURNING *`,
        [
          c.code,
          c.group,
          c.name,
          c.nameEn,
          c.description ?? "",
          c.descriptionEn ?? "",
          c.keywords ?? "",
          c.level,
          c.level === "province" ? (c.agency ?? null) : (c.agency ?? null),
          c.deadlineHours,
          JSON.stringify(c.attributes ?? []),
          c.active ?? true,
          sort,
        ],
      );
      if (!r) throw new Error("category upsert returned nothing");
      return toCategory(r);
    },
    routeOverride: async (category: string, commune: string) =>
      (await db.one<{ agency_code: string }>("SELECT agency_code FROM reports.routes WHERE category_code = $1 AND commune_code = $2", [category, commune]))
        ?.agency_code,
    setRoute: (category: string, commune: string, agency: string | null) =>
      agency
        ? db.query(
            `INSERT INTO reports.routes (category_code, commune_code, agency_code) VALUES ($1,$2,$3)
             ON CONFLICT (category_code, commune_code) DO UPDATE SET agency_code = EXCLUDED.agency_code`,
            [category, commune, agency],
          )
        : db.query("DELETE FROM reports.routes WHERE category_code = $1 AND commune_code = $2", [category, commune]),
    listRoutes: () => db.query<{ category_code: string; commune_code: string; agency_code: string }>("SELECT * FROM reports.routes ORDER BY 1, 2"),

    byClientKey: (key: string) => db.one<ReportRow>("SELECT * FROM reports.reports WHERE client_key = $1", [key]),

    async insertReport(r: {
      clientKey: string | null;
      trackingHash: string | null;
      category: string;
      channel: Channel;
      description: string;
      lat: number | null;
      lon: number | null;
      address: string | null;
      commune: string | null;
      attributes: Record<string, unknown>;
      mediaUrl: string | null;
      agency: string;
      deadlineHours: number;
      reporterUser: string | null;
      name: string | null;
      phone: string | null;
      email: string | null;
      deviceId: string | null;
    }): Promise<ReportRow | undefined> {
      // ON CONFLICT: two concurrent retries with one key give one report; the loser reads the winner's.
      return db.one<ReportRow>(
        `INSERT INTO reports.reports (client_key, tracking_hash, category_code, channel, description, lat, lon, address, commune_code, attributes, media_url,
           agency_code, deadline_at, reporter_user, reporter_name, reporter_phone, reporter_email, device_id)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12, now() + make_interval(hours => $13),$14,$15,$16,$17,$18)
         ON CONFLICT (client_key) DO NOTHING RETURNING *`,
        [
          r.clientKey,
          r.trackingHash,
          r.category,
          r.channel,
          r.description,
          r.lat,
          r.lon,
          r.address,
          r.commune,
          JSON.stringify(r.attributes),
          r.mediaUrl,
          r.agency,
          r.deadlineHours,
          r.reporterUser,
          r.name,
          r.phone,
          r.email,
          r.deviceId,
        ],
      );
    },

    get: (id: string) => db.one<ReportRow>("SELECT * FROM reports.reports WHERE id = $1", [id]),
    getForUpdate: (id: string) => db.one<ReportRow>("SELECT * FROM reports.reports WHERE id = $1 FOR UPDATE", [id]),
    byToken: (token: string) => db.one<ReportRow>("SELECT * FROM reports.reports WHERE token = $1", [token]),

    async update(id: string, set: Record<string, unknown>): Promise<ReportRow> {
      const cols = Object.keys(set);
      const sql = `UPDATE reports.reports SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(", ")}, updated_at = clock_timestamp() WHERE id = $1 RETURNING *`;
      const row = await db.one<ReportRow>(sql, [id, ...cols.map((c) => set[c])]);
      if (!row) throw new Error(`report ${id} vanished`);
      return row;
    },

    addUpdate: (u: {
      reportId: string;
      kind: string;
      status?: Status | null;
      note?: string | null;
      public: boolean;
      agency?: string | null;
      actorName: string;
      actorId?: string | null;
    }) =>
      db.one<UpdateRow>(
        `INSERT INTO reports.updates (report_id, kind, status, note, public, agency_code, actor_name, actor_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING *`,
        [u.reportId, u.kind, u.status ?? null, u.note ?? null, u.public, u.agency ?? null, u.actorName, u.actorId ?? null],
      ) as Promise<UpdateRow>,

    updatesOf: (id: string, publicOnly: boolean) =>
      db.query<UpdateRow>("SELECT * FROM reports.updates WHERE report_id = $1 AND ($2 = false OR public) ORDER BY id", [id, publicOnly]),

    /** Public updates in a time window, for FixMyStreet's servicerequestupdates. */
    publicUpdates: (from: Date, to: Date, limit: number) =>
      db.query<UpdateRow & { category_code: string; report_status: Status }>(
        `SELECT u.*, r.category_code, r.status AS report_status FROM reports.updates u JOIN reports.reports r ON r.id = u.report_id
         WHERE u.public AND u.kind IN ('created', 'status', 'note', 'rerouted') AND u.at >= $1 AND u.at < $2 ORDER BY u.at, u.id LIMIT $3`,
        [from, to, limit],
      ),

    // Bytes travel as base64 text: PGlite serialises a bytea parameter (and result) byte by byte in
    // JavaScript, 5–10 times slower than decode()/encode() in SQL for a 1 MB photo.
    insertPhoto: (reportId: string, kind: "report" | "fix", p: PreparedPhoto, updateId: string | null) =>
      db.one<{ id: string }>(
        `INSERT INTO reports.photos (report_id, update_id, kind, mime, width, height, size, data, thumb)
         VALUES ($1,$2,$3,$4,$5,$6,$7, decode($8, 'base64'), decode($9, 'base64')) RETURNING id`,
        [reportId, updateId, kind, p.mime, p.width, p.height, p.data.length, p.data.toString("base64"), p.thumb.toString("base64")],
      ) as Promise<{ id: string }>,
    photosOf: (ids: string[]) =>
      db.query<PhotoMeta>("SELECT id, report_id, kind, mime, width, height FROM reports.photos WHERE report_id = ANY($1::bigint[]) ORDER BY created_at, id", [
        ids,
      ]),
    async photoData(reportId: string, photoId: string, thumb: boolean): Promise<{ mime: string; data: Buffer } | undefined> {
      const r = await db.one<{ mime: string; b64: string }>(
        `SELECT ${thumb ? "'image/jpeg' AS mime, encode(thumb, 'base64') AS b64" : "mime, encode(data, 'base64') AS b64"} FROM reports.photos WHERE report_id = $1 AND id = $2`,
        [reportId, photoId],
      );
      return r && { mime: r.mime, data: Buffer.from(r.b64, "base64") };
    },

    async list(f: ReportFilter): Promise<ReportRow[]> {
      const where: string[] = [];
      const params: unknown[] = [];
      const p = (v: unknown) => {
        params.push(v);
        return `$${params.length}`;
      };
      if (f.ids) where.push(`id = ANY(${p(f.ids)}::bigint[])`);
      // One category as an equality, so the (category, requested_at) index also gives the order.
      if (f.categories?.length === 1) where.push(`category_code = ${p(f.categories[0])}`);
      else if (f.categories?.length) where.push(`category_code = ANY(${p(f.categories)}::text[])`);
      if (f.statuses?.length) where.push(`status = ANY(${p(f.statuses)}::text[])`);
      if (f.agencies) where.push(`agency_code = ANY(${p(f.agencies)}::text[])`);
      if (f.commune) where.push(`commune_code = ${p(f.commune)}`);
      if (f.from) where.push(`requested_at >= ${p(f.from)}`);
      if (f.to) where.push(`requested_at <= ${p(f.to)}`);
      if (f.overdue !== undefined) where.push(`overdue = ${p(f.overdue)}`);
      if (f.reporterUser) where.push(`reporter_user = ${p(f.reporterUser)}`);
      if (f.bbox) where.push(`lat BETWEEN ${p(f.bbox[1])} AND ${p(f.bbox[3])} AND lon BETWEEN ${p(f.bbox[0])} AND ${p(f.bbox[2])}`);
      if (f.q) where.push(`(description ILIKE ${p(`%${f.q.replace(/[\\%_]/g, "\\$&")}%`)} OR id::text = ${p(f.q)})`);
      const order = f.order === "deadline" ? "deadline_at ASC, id ASC" : "requested_at DESC, id DESC";
      return db.query<ReportRow>(
        `SELECT ${f.publicOnly ? PUBLIC_COLUMNS : "*"} FROM reports.reports ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY ${order} LIMIT ${p(f.limit)} OFFSET ${p(f.offset)}`,
        params,
      );
    },

    /** Open reports of a category within `meters` of a point, filed since `since`. */
    nearby: (category: string, lat: number, lon: number, meters: number, since: Date) =>
      db.query<ReportRow & { distance: number }>(
        `SELECT *, earth_distance(ll_to_earth(lat, lon), ll_to_earth($2, $3)) AS distance FROM reports.reports
         WHERE lat IS NOT NULL AND earth_box(ll_to_earth($2, $3), $4) @> ll_to_earth(lat, lon)
           AND earth_distance(ll_to_earth(lat, lon), ll_to_earth($2, $3)) <= $4
           AND category_code = $1 AND requested_at >= $5 AND status IN ('new', 'assigned', 'in_progress', 'reopened')
         ORDER BY distance LIMIT 20`,
        [category, lat, lon, meters, since],
      ),

    /** Flag reports whose deadline passed; each row comes back once, whichever node runs it. */
    markOverdue: (at: Date) =>
      db.query<ReportRow>(
        `UPDATE reports.reports SET overdue = true, overdue_at = $1
         WHERE id IN (SELECT id FROM reports.reports WHERE NOT overdue AND status IN ('new', 'assigned', 'in_progress', 'reopened') AND deadline_at < $1
                      ORDER BY deadline_at LIMIT 500 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [at],
      ),
    closeResolved: (before: Date) =>
      db.query<ReportRow>(
        `UPDATE reports.reports SET status = 'closed', closed_at = clock_timestamp(), updated_at = clock_timestamp()
         WHERE id IN (SELECT id FROM reports.reports WHERE status = 'resolved' AND resolved_at < $1 ORDER BY resolved_at LIMIT 500 FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [before],
      ),

    addFollower: async (reportId: string, follower: string, email: string | null) => {
      const rows = await db.query(`INSERT INTO reports.followers (report_id, follower, email) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING RETURNING report_id`, [
        reportId,
        follower,
        email,
      ]);
      if (rows.length) await db.query("UPDATE reports.reports SET followers = followers + 1 WHERE id = $1", [reportId]);
      return rows.length === 1;
    },
    followerEmails: (reportId: string) =>
      db.query<{ follower: string; email: string }>("SELECT follower, email FROM reports.followers WHERE report_id = $1 AND email IS NOT NULL", [reportId]),

    listWebhooks: () =>
      db.query<{ id: string; name: string; url: string; secret: string | null; active: boolean; created_at: Date }>(
        "SELECT * FROM reports.webhooks ORDER BY created_at",
      ),
    insertWebhook: (w: { name: string; url: string; secret: string | null }) =>
      db.one<{ id: string; name: string; url: string; secret: string | null; active: boolean; created_at: Date }>(
        "INSERT INTO reports.webhooks (name, url, secret) VALUES ($1,$2,$3) RETURNING *",
        [w.name, w.url, w.secret],
      ),
    deleteWebhook: async (id: string) => (await db.query("DELETE FROM reports.webhooks WHERE id = $1 RETURNING id", [id])).length === 1,
    getWebhook: (id: string) =>
      db.one<{ id: string; name: string; url: string; secret: string | null; active: boolean }>("SELECT * FROM reports.webhooks WHERE id = $1", [id]),

    async stats(f: StatsFilter): Promise<StatsRow[]> {
      const key = f.by === "agency" ? "agency_code" : f.by === "commune" ? "commune_code" : f.by === "category" ? "category_code" : "NULL::text";
      return db.query<StatsRow>(
        `SELECT ${key} AS key,
           count(*)::int AS received,
           count(*) FILTER (WHERE resolved_at IS NOT NULL)::int AS resolved,
           count(*) FILTER (WHERE resolved_at IS NOT NULL AND resolved_at <= deadline_at)::int AS on_time,
           (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - requested_at)) FILTER (WHERE resolved_at IS NOT NULL)) / 3600 AS median_hours,
           avg(rating)::float8 AS rating_avg,
           count(rating)::int AS ratings,
           count(*) FILTER (WHERE status IN ('new', 'assigned', 'in_progress', 'reopened'))::int AS open,
           count(*) FILTER (WHERE overdue AND status IN ('new', 'assigned', 'in_progress', 'reopened'))::int AS overdue
         FROM reports.reports
         WHERE requested_at >= $1 AND requested_at < $2
           AND ($3::text IS NULL OR agency_code = $3) AND ($4::text IS NULL OR commune_code = $4) AND ($5::text IS NULL OR category_code = $5)
         GROUP BY 1 ORDER BY 2 DESC, 1`,
        [f.from, f.to, f.agency ?? null, f.commune ?? null, f.category ?? null],
      );
    },
  };
}

export type ReportsStore = ReturnType<typeof reportsStore>;
