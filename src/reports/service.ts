// The rules of field reports: categories, routing to the responsible agency, the workflow with
// its deadline, citizens' follow-up (reopen, rating, following), notifications and statistics.
// No HTTP here; every change commits with its timeline entry, audit entry, events and jobs.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { AgencyDto, UserDto } from "../core/accounts/service.ts";
import type { AuditService } from "../core/audit/service.ts";
import { type Actor, can } from "../core/context.ts";
import type { Db } from "../core/db.ts";
import { Problem, badRequest, conflict, forbidden, notFound } from "../core/errors.ts";
import type { EventBus } from "../core/events/bus.ts";
import type { Mailer } from "../core/jobs/outbound.ts";
import type { JobQueue } from "../core/jobs/queue.ts";
import { DEFAULT_CATEGORIES } from "./defaults.ts";
import { MAX_PHOTOS } from "./photos.ts";
import { type ReportFilter, type ReportRow, type StatsRow, type UpdateRow, reportsStore } from "./store.ts";
import {
  type Attribute,
  type Category,
  type CategoryInput,
  type Channel,
  type NewReport,
  OPEN_STATUSES,
  type PhotoDto,
  type PreparedPhoto,
  type ReportDto,
  type Status,
  type UpdateDto,
} from "./types.ts";

declare module "../core/events/bus.ts" {
  interface SenEvents {
    "report.created": ReportEvent;
    "report.updated": ReportEvent;
    "report.overdue": ReportEvent;
  }
}

/** What events carry: public facts only (no names, phones or emails). */
export interface ReportEvent {
  id: string;
  status: Status;
  category: string;
  agency: string;
  commune: string | null;
  deadlineAt: string;
  overdue: boolean;
  /** The agency above the responsible one, told when a report goes overdue. */
  supervisor?: string | null;
}

export const EMAIL_QUEUE = "reports.email";
export const WEBHOOK_QUEUE = "reports.webhook";
export const NEARBY_METERS = 200;
export const NEARBY_DAYS = 14;
export const REOPEN_DAYS = 7;
/** A resolved report nobody reopened closes after this many days. */
export const CLOSE_AFTER_DAYS = 7;
/** Where a report goes when neither its category nor a commune names an agency: the IOC triages it. */
export const TRIAGE_AGENCY = "TTCDS";

export interface ReportsDeps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  jobs: JobQueue;
  mailer: Pick<Mailer, "configured">;
  publicUrl: string;
  /** Point → commune code (undefined outside the province). */
  locate(lat: number, lon: number): string | undefined;
  /** Is this a commune of the province? */
  communeExists(code: string): Promise<boolean>;
  listAgencies(): Promise<AgencyDto[]>;
  /** Officers of an agency (for email). */
  agencyOfficers(agency: string): Promise<UserDto[]>;
}

export type Action = "accept" | "start" | "resolve" | "reject" | "duplicate" | "reroute" | "note" | "close";

export interface ActionInput {
  action: Action;
  note?: string | null;
  /** false: an internal note, seen by staff only. Default true for status changes, false for notes. */
  public?: boolean;
  agency?: string;
  duplicateOf?: string;
  assignee?: string | null;
}

const TRANSITIONS: Record<Exclude<Action, "note" | "reroute">, { from: readonly Status[]; to: Status }> = {
  accept: { from: ["new", "reopened"], to: "assigned" },
  start: { from: ["new", "assigned", "reopened"], to: "in_progress" },
  resolve: { from: ["new", "assigned", "in_progress", "reopened"], to: "resolved" },
  reject: { from: ["new", "assigned", "in_progress", "reopened"], to: "rejected" },
  duplicate: { from: ["new", "assigned", "in_progress", "reopened"], to: "duplicate" },
  close: { from: ["resolved", "rejected", "duplicate"], to: "closed" },
};

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
const PERIOD = /^(\d{4})(?:(Q[1-4])|(\d{2})(\d{2})?)?$/;

/** A DHIS2-style ISO period ("2025", "2025Q3", "202507", "20250715") as [from, to) in Vietnam's time. */
export function periodRange(period: string): { from: Date; to: Date } {
  const m = PERIOD.exec(period);
  if (!m) throw badRequest(`period "${period}" is not a period like 2025, 2025Q3, 202507 or 20250715.`);
  const y = Number(m[1]);
  const at = (yy: number, mm: number, dd = 1) => new Date(Date.UTC(yy, mm - 1, dd) - 7 * 3600_000);
  if (m[2]) {
    const q = Number(m[2][1]);
    return { from: at(y, q * 3 - 2), to: at(y, q * 3 + 1) };
  }
  if (m[3]) {
    const mo = Number(m[3]);
    if (mo < 1 || mo > 12) throw badRequest(`period "${period}" has no month ${mo}.`);
    if (m[4]) {
      const d = Number(m[4]);
      const from = at(y, mo, d);
      if (d < 1 || new Date(from.getTime() + 7 * 3600_000).getUTCMonth() !== mo - 1) throw badRequest(`period "${period}" is not a day.`);
      return { from, to: new Date(from.getTime() + 86_400_000) };
    }
    return { from: at(y, mo), to: at(y, mo + 1) };
  }
  return { from: at(y, 1), to: at(y + 1, 1) };
}

export interface StatisticsQuery {
  /** ISO period (2025, 2025Q3, 202507, 20250715); or from/to. Default: the last 30 days. */
  period?: string;
  from?: string | Date;
  to?: string | Date;
  by?: "agency" | "commune" | "category";
  agency?: string;
  commune?: string;
  category?: string;
}

export interface StatisticsRow {
  /** Agency, commune or category code (null for the total, or reports without a commune). */
  key: string | null;
  received: number;
  resolved: number;
  /** Resolved by the deadline. */
  onTime: number;
  /** onTime / resolved, 0..1; null when nothing was resolved. */
  onTimeShare: number | null;
  /** Median hours from submission to resolution. */
  medianHandlingHours: number | null;
  /** Mean citizen rating 1..5. */
  satisfaction: number | null;
  ratings: number;
  open: number;
  overdue: number;
}

export interface Statistics {
  from: string;
  to: string;
  by: "agency" | "commune" | "category" | null;
  total: StatisticsRow;
  rows: StatisticsRow[];
}

function statsRow(r: StatsRow | undefined, key: string | null = null): StatisticsRow {
  const resolved = r?.resolved ?? 0;
  const onTime = r?.on_time ?? 0;
  const round = (x: number | null | undefined, d: number) => (x === null || x === undefined ? null : Math.round(Number(x) * 10 ** d) / 10 ** d);
  return {
    key: r ? r.key : key,
    received: r?.received ?? 0,
    resolved,
    onTime,
    onTimeShare: resolved ? round(onTime / resolved, 4) : null,
    medianHandlingHours: round(r?.median_hours, 2),
    satisfaction: round(r?.rating_avg, 2),
    ratings: r?.ratings ?? 0,
    open: r?.open ?? 0,
    overdue: r?.overdue ?? 0,
  };
}

function checkAttributes(cat: Category, given: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const known = new Map(cat.attributes.filter((a) => a.variable !== false).map((a) => [a.code, a]));
  for (const code of Object.keys(given)) if (!known.has(code)) throw badRequest(`attribute ${code} is not a question of service ${cat.code}.`);
  for (const a of known.values()) {
    const v = given[a.code];
    const empty = v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);
    if (empty) {
      if (a.required) throw badRequest(`attribute ${a.code} is required (${a.descriptionEn ?? a.description}).`);
      continue;
    }
    out[a.code] = checkValue(a, v);
  }
  return out;
}

function checkValue(a: Attribute, v: unknown): unknown {
  const bad = (why: string) => badRequest(`attribute ${a.code}: ${why}.`);
  const keys = new Set((a.values ?? []).map((x) => x.key));
  switch (a.datatype) {
    case "number": {
      const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : Number.NaN;
      if (!Number.isFinite(n)) throw bad("must be a number");
      return n;
    }
    case "datetime": {
      if (typeof v !== "string" || v.length > 40 || Number.isNaN(Date.parse(v))) throw bad("must be an ISO 8601 date-time");
      return new Date(v).toISOString();
    }
    case "singlevaluelist": {
      const s = Array.isArray(v) && v.length === 1 ? v[0] : v;
      if (typeof s !== "string" || !keys.has(s)) throw bad(`must be one of ${[...keys].join(", ")}`);
      return s;
    }
    case "multivaluelist": {
      const arr = Array.isArray(v) ? v : [v];
      if (!arr.every((x) => typeof x === "string" && keys.has(x))) throw bad(`values must be among ${[...keys].join(", ")}`);
      return [...new Set(arr as string[])];
    }
    case "string":
      if (typeof v !== "string" || v.length > 500 || /[\r\n]/.test(v)) throw bad("must be one line of at most 500 characters");
      return v;
    default:
      if (typeof v !== "string" || v.length > 4000) throw bad("must be text of at most 4000 characters");
      return v;
  }
}

export function reportsService(deps: ReportsDeps) {
  const { db, audit, bus, jobs } = deps;
  const store = reportsStore(db);
  let agencyCache: { at: number; byCode: Map<string, AgencyDto> } | undefined;

  /** Agencies change rarely: kept for a minute (routing and names read them on every request). */
  async function agencies(): Promise<Map<string, AgencyDto>> {
    if (!agencyCache || Date.now() - agencyCache.at > 60_000)
      agencyCache = { at: Date.now(), byCode: new Map((await deps.listAgencies()).map((a) => [a.code, a])) };
    return agencyCache.byCode;
  }

  /** The agencies whose reports an actor sees: all for admins and operators, else theirs and those below it. */
  async function scopeOf(actor: Actor): Promise<string[] | undefined> {
    if (actor.type === "system" || actor.roles.includes("admin") || actor.roles.includes("operator")) return undefined;
    if (!actor.agency) return [];
    const all = [...(await agencies()).values()];
    const out = new Set([actor.agency]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const a of all)
        if (a.parentCode && out.has(a.parentCode) && !out.has(a.code)) {
          out.add(a.code);
          grew = true;
        }
    }
    return [...out];
  }

  async function canSee(actor: Actor, r: ReportRow): Promise<boolean> {
    const scope = await scopeOf(actor);
    return scope === undefined || scope.includes(r.agency_code);
  }

  async function route(cat: Category, commune: string | null): Promise<string> {
    if (commune) {
      const override = await store.routeOverride(cat.code, commune);
      if (override) return override;
    }
    if (cat.level === "province") return cat.agency ?? TRIAGE_AGENCY;
    if (cat.agency && !commune) return cat.agency;
    if (commune && (await agencies()).has(`UBND-${commune}`)) return `UBND-${commune}`;
    return TRIAGE_AGENCY;
  }

  // Categories are read by every list and change rarely: kept for 10 s (dropped at once when this
  // node saves one; other nodes see the change within 10 s).
  let categoryCache: { at: number; list: Promise<Category[]> } | undefined;
  function allCategories(): Promise<Category[]> {
    if (!categoryCache || Date.now() - categoryCache.at > 10_000) {
      const list = store.listCategories(true);
      categoryCache = { at: Date.now(), list };
      list.catch(() => {
        categoryCache = undefined;
      });
    }
    return categoryCache.list;
  }

  async function supervisorOf(agency: string): Promise<string | null> {
    return (await agencies()).get(agency)?.parentCode ?? null;
  }

  const photoUrl = (reportId: string, photoId: string, thumb = false) => `/api/reports/${reportId}/photos/${photoId}${thumb ? "?size=thumb" : ""}`;

  async function toDtos(rows: ReportRow[], withReporter: boolean): Promise<ReportDto[]> {
    if (!rows.length) return [];
    const cats = new Map((await allCategories()).map((c) => [c.code, c]));
    const photos = new Map<string, PhotoDto[]>();
    for (const p of await store.photosOf(rows.map((r) => String(r.id)))) {
      const id = String(p.report_id);
      const list = photos.get(id) ?? [];
      list.push({ id: p.id, kind: p.kind, url: photoUrl(id, p.id), thumbUrl: photoUrl(id, p.id, true), width: p.width, height: p.height });
      photos.set(id, list);
    }
    return rows.map((r) => {
      const id = String(r.id);
      const cat = cats.get(r.category_code);
      const mine = photos.get(id) ?? [];
      return {
        id,
        token: r.token,
        category: r.category_code,
        categoryName: cat?.name ?? r.category_code,
        group: cat?.group ?? "other",
        channel: r.channel,
        status: r.status,
        description: r.description,
        lat: r.lat,
        lon: r.lon,
        address: r.address,
        commune: r.commune_code,
        attributes: r.attributes,
        mediaUrl: r.media_url ?? (mine[0] ? `${deps.publicUrl}${mine[0].url}` : null),
        agency: r.agency_code,
        assigneeUser: withReporter ? r.assignee_user : null,
        duplicateOf: r.duplicate_of === null ? null : String(r.duplicate_of),
        statusNotes: r.status_notes,
        requestedAt: new Date(r.requested_at).toISOString(),
        updatedAt: new Date(r.updated_at).toISOString(),
        deadlineAt: new Date(r.deadline_at).toISOString(),
        overdue: r.overdue,
        resolvedAt: iso(r.resolved_at),
        closedAt: iso(r.closed_at),
        rating: r.rating,
        ratingComment: withReporter ? r.rating_comment : null,
        followers: r.followers,
        photos: mine,
        ...(withReporter ? { reporter: { name: r.reporter_name, phone: r.reporter_phone, email: r.reporter_email, userId: r.reporter_user } } : {}),
      };
    });
  }

  const toUpdate = (u: UpdateRow): UpdateDto => ({
    id: String(u.id),
    at: new Date(u.at).toISOString(),
    kind: u.kind,
    status: u.status,
    note: u.note,
    public: u.public,
    agency: u.agency_code,
    actor: u.actor_name,
  });

  const eventOf = (r: ReportRow, supervisor?: string | null): ReportEvent => ({
    id: String(r.id),
    status: r.status,
    category: r.category_code,
    agency: r.agency_code,
    commune: r.commune_code,
    deadlineAt: new Date(r.deadline_at).toISOString(),
    overdue: r.overdue,
    ...(supervisor !== undefined ? { supervisor } : {}),
  });

  const STATUS_VI: Record<Status, string> = {
    new: "Mới tiếp nhận",
    assigned: "Đã phân công xử lý",
    in_progress: "Đang xử lý",
    resolved: "Đã xử lý xong",
    closed: "Đã đóng",
    rejected: "Không tiếp nhận",
    duplicate: "Trùng với phản ánh khác",
    reopened: "Mở lại",
  };
  const STATUS_EN: Record<Status, string> = {
    new: "Received",
    assigned: "Assigned",
    in_progress: "In progress",
    resolved: "Resolved",
    closed: "Closed",
    rejected: "Rejected",
    duplicate: "Duplicate",
    reopened: "Reopened",
  };

  const trackUrl = (id: string) => `${deps.publicUrl}/app/reports/${id}`;
  const consoleUrl = (id: string) => `${deps.publicUrl}/reports/${id}`;

  /** Tell the citizen (and followers) of a change: email, gateways (Zalo/SMS), in-app event. */
  async function notifyCitizen(r: ReportRow, u: UpdateRow, event: "report.created" | "report.updated"): Promise<void> {
    const id = String(r.id);
    const note = u.public && u.note ? `\n${u.note}` : "";
    if (deps.mailer.configured) {
      const recipients = new Map<string, string>();
      if (r.reporter_email) recipients.set("reporter", r.reporter_email);
      for (const f of await store.followerEmails(id)) recipients.set(f.follower, f.email);
      for (const [who, to] of recipients)
        await jobs.enqueue(
          EMAIL_QUEUE,
          {
            to,
            subject: `[Phản ánh #${id}] ${STATUS_VI[r.status]} / ${STATUS_EN[r.status]}`,
            text: `Phản ánh #${id} của bạn: ${STATUS_VI[r.status]}.${note}\nTheo dõi: ${trackUrl(id)}\n\nYour report #${id}: ${STATUS_EN[r.status]}.\nTrack it: ${trackUrl(id)}\n`,
          },
          { key: `update:${u.id}:${who}` },
        );
    }
    for (const w of await store.listWebhooks())
      if (w.active && (r.reporter_phone || r.reporter_email))
        await jobs.enqueue(
          WEBHOOK_QUEUE,
          {
            webhook: w.id,
            event,
            payload: {
              event,
              report: { id, status: r.status, statusText: STATUS_VI[r.status], category: r.category_code, note: u.public ? u.note : null, url: trackUrl(id) },
              recipient: { phone: r.reporter_phone, email: r.reporter_email },
            },
          },
          { key: `update:${u.id}:${w.id}` },
        );
    await bus.publish(event, eventOf(r), "all");
  }

  /** Tell an agency's officers by email (new or overdue report). */
  async function notifyAgency(agency: string, r: ReportRow, what: "new" | "overdue", updateId: string): Promise<void> {
    if (!deps.mailer.configured) return;
    const id = String(r.id);
    const vi = what === "new" ? "Phản ánh mới" : "Phản ánh quá hạn";
    const en = what === "new" ? "New report" : "Overdue report";
    for (const u of await deps.agencyOfficers(agency))
      if (u.email && u.active)
        await jobs.enqueue(
          EMAIL_QUEUE,
          {
            to: u.email,
            subject: `[${vi} #${id}] ${r.category_code}`,
            text: `${vi} #${id} (${r.category_code}), hạn xử lý ${new Date(r.deadline_at).toISOString()}.\n${consoleUrl(id)}\n\n${en} #${id}: ${consoleUrl(id)}\n`,
          },
          { key: `${what}:${updateId}:${u.id}` },
        );
  }

  async function loadForAction(id: string, actor: Actor): Promise<ReportRow> {
    if (!/^\d{1,18}$/.test(id)) throw notFound();
    const r = await store.getForUpdate(id);
    if (!r || !(await canSee(actor, r))) throw notFound();
    return r;
  }

  function checkTracking(r: ReportRow, actor: Actor, key: string | undefined): void {
    if (actor.type === "user" && r.reporter_user && actor.id === r.reporter_user) return;
    if (key && r.tracking_hash) {
      const a = Buffer.from(sha256(key), "hex");
      const b = Buffer.from(r.tracking_hash, "hex");
      if (a.length === b.length && timingSafeEqual(a, b)) return;
    }
    throw forbidden("Only the citizen who filed this report may do this (sign in, or give the report's tracking key).");
  }

  return {
    store,
    route,

    // ---------- categories
    listCategories: async (includeInactive = false) => (await allCategories()).filter((c) => includeInactive || c.active),
    async getCategory(code: string): Promise<Category> {
      const c = await store.getCategory(code);
      if (!c) throw notFound(`There is no category ${code}.`);
      return c;
    },
    async saveCategory(input: CategoryInput): Promise<Category> {
      if (input.level === "province" && !input.agency) throw badRequest("A province-level category needs its handling agency.");
      if (input.agency && !(await agencies()).has(input.agency)) throw badRequest(`There is no agency ${input.agency}.`);
      const codes = new Set<string>();
      for (const a of input.attributes ?? []) {
        if (codes.has(a.code)) throw badRequest(`attribute ${a.code} appears twice.`);
        codes.add(a.code);
        if ((a.datatype === "singlevaluelist" || a.datatype === "multivaluelist") && !a.values?.length)
          throw badRequest(`attribute ${a.code} needs its values.`);
      }
      return db.tx(async () => {
        const before = await store.getCategory(input.code);
        const saved = await store.upsertCategory(input, before ? 0 : 1000);
        db.afterCommit(() => {
          categoryCache = undefined;
        });
        await audit.record({
          action: before ? "report.category.updated" : "report.category.created",
          targetType: "report_category",
          targetId: input.code,
          details: { ...input },
        });
        return saved;
      });
    },
    async setRoute(category: string, commune: string, agency: string | null): Promise<void> {
      await this.getCategory(category);
      if (!(await deps.communeExists(commune))) throw badRequest(`There is no commune ${commune} in the province.`);
      if (agency && !(await agencies()).has(agency)) throw badRequest(`There is no agency ${agency}.`);
      await db.tx(async () => {
        await store.setRoute(category, commune, agency);
        await audit.record({ action: "report.route.set", targetType: "report_category", targetId: category, details: { commune, agency } });
      });
    },
    /** Load the default categories once (first start, or an empty table). */
    async seedDefaults(): Promise<number> {
      if ((await store.countCategories()) > 0) return 0;
      return db.tx(async () => {
        let i = 0;
        for (const c of DEFAULT_CATEGORIES) await store.upsertCategory(c, ++i * 10);
        return i;
      });
    },

    // ---------- submission
    /**
     * File a report. Location: lat/lon inside the province (commune computed), or an address.
     * With the same clientKey twice, the second call returns the first report (duplicate: true).
     */
    async submit(input: NewReport, photos: PreparedPhoto[], actor: Actor): Promise<{ report: ReportDto; trackingKey: string | null; duplicate: boolean }> {
      if (photos.length > MAX_PHOTOS) throw badRequest(`At most ${MAX_PHOTOS} photos per report.`);
      if (input.clientKey) {
        const prior = await store.byClientKey(input.clientKey);
        if (prior) return { report: (await toDtos([prior], false))[0], trackingKey: null, duplicate: true };
      }
      const cat = await store.getCategory(input.category);
      if (!cat?.active) throw new Problem(404, "not-found", `There is no active service ${input.category}.`);
      const description = input.description.trim();
      if (!description && !input.descriptionOptional)
        throw badRequest("Describe the problem (description is empty).", { errors: [{ path: "/description", message: "empty" }] });
      const hasPoint = input.lat !== undefined && input.lat !== null && input.lon !== undefined && input.lon !== null;
      if ((input.lat ?? null) !== null && !hasPoint) throw badRequest("Give both lat and long.");
      if ((input.lon ?? null) !== null && !hasPoint) throw badRequest("Give both lat and long.");
      const address = input.address?.trim() || null;
      if (!hasPoint && !address)
        throw badRequest("Give the location: lat and long, or an address.", { errors: [{ path: "/lat", message: "location required" }] });
      let commune: string | null = null;
      if (hasPoint) {
        const lat = Number(input.lat);
        const lon = Number(input.lon);
        if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180)
          throw badRequest("lat/long are not a valid WGS84 position.");
        commune = deps.locate(lat, lon) ?? null;
        if (!commune) throw badRequest(`The point ${lat}, ${lon} is outside the province.`, { errors: [{ path: "/lat", message: "outside the province" }] });
      } else if (input.commune) {
        if (!(await deps.communeExists(input.commune))) throw badRequest(`There is no commune ${input.commune} in the province.`);
        commune = input.commune;
      }
      const attributes = checkAttributes(cat, input.attributes ?? {});
      const agency = await route(cat, commune);
      const reporterUser = actor.type === "user" && actor.roles.includes("citizen") ? (actor.id ?? null) : null;
      // A citizen without an account (or a hotline caller) proves they filed it with this key.
      const trackingKey = reporterUser ? null : randomBytes(18).toString("base64url");
      return db.tx(async () => {
        const row = await store.insertReport({
          clientKey: input.clientKey ?? null,
          trackingHash: trackingKey ? sha256(trackingKey) : null,
          category: cat.code,
          channel: input.channel,
          description,
          lat: hasPoint ? Number(input.lat) : null,
          lon: hasPoint ? Number(input.lon) : null,
          address,
          commune,
          attributes,
          mediaUrl: input.mediaUrl ?? null,
          agency,
          deadlineHours: cat.deadlineHours,
          reporterUser,
          name: input.name?.trim() || null,
          phone: input.phone?.trim() || null,
          email: input.email?.trim().toLowerCase() || null,
          deviceId: input.deviceId ?? null,
        });
        if (!row) {
          // The same client key won a race a moment ago.
          const prior = input.clientKey ? await store.byClientKey(input.clientKey) : undefined;
          if (!prior) throw conflict("The report could not be stored; try again.");
          return { report: (await toDtos([prior], false))[0], trackingKey: null, duplicate: true };
        }
        const id = String(row.id);
        for (const p of photos) await store.insertPhoto(id, "report", p, null);
        const u = await store.addUpdate({
          reportId: id,
          kind: "created",
          status: "new",
          public: true,
          agency,
          actorName: actor.type === "user" ? actor.name : input.channel,
          actorId: actor.id,
        });
        await audit.record({
          action: "report.created",
          targetType: "report",
          targetId: id,
          details: { category: cat.code, channel: input.channel, agency, commune, photos: photos.length },
        });
        await bus.publish("report.created", eventOf(row), `agency:${agency}`);
        await notifyCitizen(row, u, "report.updated");
        await notifyAgency(agency, row, "new", String(u.id));
        return { report: (await toDtos([row], false))[0], trackingKey, duplicate: false };
      });
    },

    /** Open reports of the same category within 200 m from the last 14 days (before filing a duplicate). */
    async nearby(category: string, lat: number, lon: number): Promise<Array<ReportDto & { distance: number }>> {
      const rows = await store.nearby(category, lat, lon, NEARBY_METERS, new Date(Date.now() - NEARBY_DAYS * 86_400_000));
      const dtos = await toDtos(rows, false);
      return dtos.map((d, i) => ({ ...d, distance: Math.round(rows[i].distance) }));
    },

    /** Follow an existing report instead of filing a duplicate; followers are told of its changes. */
    async follow(id: string, actor: Actor, email?: string | null): Promise<{ followers: number; added: boolean }> {
      if (!/^\d{1,18}$/.test(id)) throw notFound();
      const follower = actor.type === "user" && actor.id ? actor.id : email ? `email:${email.toLowerCase()}` : undefined;
      if (!follower) throw badRequest("Sign in or give an email address to follow a report.");
      return db.tx(async () => {
        const r = await store.getForUpdate(id);
        if (!r) throw notFound();
        const added = await store.addFollower(id, follower, email?.toLowerCase() ?? null);
        if (added) {
          await store.addUpdate({
            reportId: id,
            kind: "followed",
            public: false,
            actorName: actor.type === "user" ? actor.name : "citizen",
            actorId: actor.id,
          });
          await audit.record({ action: "report.followed", targetType: "report", targetId: id });
        }
        return { followers: r.followers + (added ? 1 : 0), added };
      });
    },

    // ---------- reading
    /** Staff view (personal data included) with its full timeline. */
    async get(id: string, actor: Actor, checked = false): Promise<ReportDto & { updates: UpdateDto[]; supervisor: string | null }> {
      if (!/^\d{1,18}$/.test(id)) throw notFound();
      const r = await store.get(id);
      if (!r || !(checked || (await canSee(actor, r)))) throw notFound();
      const [dto] = await toDtos([r], true);
      return { ...dto, updates: (await store.updatesOf(id, false)).map(toUpdate), supervisor: await supervisorOf(r.agency_code) };
    },
    /** Public view: no personal data, public timeline only. */
    async getPublic(id: string): Promise<ReportDto & { updates: UpdateDto[] }> {
      if (!/^\d{1,18}$/.test(id)) throw notFound();
      const r = await store.get(id);
      if (!r) throw notFound();
      const [dto] = await toDtos([r], false);
      return { ...dto, updates: (await store.updatesOf(id, true)).map(toUpdate) };
    },
    async getRows(f: ReportFilter): Promise<ReportRow[]> {
      return store.list(f);
    },
    toDtos,
    /** The staff queue: reports of the actor's agencies. */
    async queue(f: Omit<ReportFilter, "agencies"> & { agency?: string }, actor: Actor): Promise<ReportDto[]> {
      const scope = await scopeOf(actor);
      let agenciesFilter = scope;
      if (f.agency) agenciesFilter = scope === undefined || scope.includes(f.agency) ? [f.agency] : [];
      return toDtos(await store.list({ ...f, agencies: agenciesFilter }), true);
    },
    async mine(actor: Actor, f: { limit: number; offset: number }): Promise<ReportDto[]> {
      if (actor.type !== "user" || !actor.id) return [];
      return toDtos(await store.list({ reporterUser: actor.id, limit: f.limit, offset: f.offset }), false);
    },
    /** Reports an anonymous citizen filed, proven by their tracking keys. */
    async lookup(items: Array<{ id: string; key: string }>): Promise<ReportDto[]> {
      const ok: ReportRow[] = [];
      for (const it of items) {
        if (!/^\d{1,18}$/.test(it.id)) continue;
        const r = await store.get(it.id);
        if (!r?.tracking_hash) continue;
        const a = Buffer.from(sha256(it.key), "hex");
        if (timingSafeEqual(a, Buffer.from(r.tracking_hash, "hex"))) ok.push(r);
      }
      return toDtos(ok, false);
    },
    async photo(reportId: string, photoId: string, thumb: boolean): Promise<{ mime: string; data: Buffer }> {
      if (!/^\d{1,18}$/.test(reportId) || !/^[0-9a-f-]{36}$/i.test(photoId)) throw notFound();
      const p = await store.photoData(reportId, photoId, thumb);
      if (!p) throw notFound();
      return p;
    },
    agencyName: async (code: string, en = false) => {
      const a = (await agencies()).get(code);
      return a ? (en ? a.nameEn : a.name) : code;
    },

    // ---------- workflow
    /** An officer's action on a report; returns the report as staff see it. */
    async act(id: string, input: ActionInput, actor: Actor, photos: PreparedPhoto[] = []) {
      if (photos.length > MAX_PHOTOS) throw badRequest(`At most ${MAX_PHOTOS} photos.`);
      const note = input.note?.trim() || null;
      await db.tx(async () => {
        const r = await loadForAction(id, actor);
        let set: Record<string, unknown> = {};
        let kind: UpdateRow["kind"] = "status";
        let to: Status | null = null;
        let agencyOfUpdate: string | null = r.agency_code;
        if (input.action === "note") {
          if (!note && !photos.length) throw badRequest("A note needs its text.");
          kind = "note";
          if (input.public && note) set.status_notes = note;
        } else if (input.action === "reroute") {
          // "Not our responsibility": the report goes to another agency, which starts afresh.
          if (!OPEN_STATUSES.includes(r.status)) throw conflict(`A ${r.status} report cannot be re-routed.`);
          if (!input.agency) throw badRequest("Name the agency to re-route to.");
          if (!(await agencies()).has(input.agency)) throw badRequest(`There is no agency ${input.agency}.`);
          if (input.agency === r.agency_code) throw badRequest("The report is already with this agency.");
          kind = "rerouted";
          to = "new";
          agencyOfUpdate = input.agency;
          set = { agency_code: input.agency, status: "new", assignee_user: null };
        } else {
          const t = TRANSITIONS[input.action];
          if (!t.from.includes(r.status)) throw conflict(`A ${r.status} report cannot be ${input.action === "close" ? "closed" : `moved to ${t.to}`}.`);
          to = t.to;
          set.status = to;
          if (to === "resolved") {
            set.resolved_at = new Date();
            if (!note) throw badRequest("Say how it was resolved (note).");
          }
          if (to === "rejected" && !note) throw badRequest("Say why the report is rejected (note).");
          if (to === "closed") set.closed_at = new Date();
          if (to === "assigned" && input.assignee !== undefined) set.assignee_user = input.assignee;
          if (to === "duplicate") {
            if (!input.duplicateOf || !/^\d{1,18}$/.test(input.duplicateOf) || input.duplicateOf === id)
              throw badRequest("Name the report this one duplicates.");
            if (!(await store.get(input.duplicateOf))) throw badRequest(`There is no report ${input.duplicateOf}.`);
            set.duplicate_of = input.duplicateOf;
          }
          if (note && input.public !== false) set.status_notes = note;
          else if (to) set.status_notes = null;
        }
        const isPublic = input.action === "note" ? input.public === true : input.public !== false;
        const row = Object.keys(set).length ? await store.update(id, set) : r;
        const u = await store.addUpdate({
          reportId: id,
          kind,
          status: to,
          note,
          public: isPublic,
          agency: agencyOfUpdate,
          actorName: actor.name,
          actorId: actor.id,
        });
        for (const p of photos) await store.insertPhoto(id, "fix", p, String(u.id));
        await audit.record({
          action: `report.${input.action}`,
          targetType: "report",
          targetId: id,
          details: {
            from: r.status,
            to: row.status,
            agency: row.agency_code,
            public: isPublic,
            photos: photos.length,
            ...(input.agency ? { previousAgency: r.agency_code } : {}),
          },
        });
        if (to) await notifyCitizen(row, u, "report.updated");
        if (input.action === "reroute") {
          await bus.publish("report.created", eventOf(row), `agency:${row.agency_code}`);
          await notifyAgency(row.agency_code, row, "new", String(u.id));
        }
      });
      // The answer shows the result of the action even when it moved the report out of the actor's reach.
      return this.get(id, actor, true);
    },

    /** The citizen reopens a resolved report within 7 days of its resolution. */
    async reopen(id: string, note: string, actor: Actor, key?: string) {
      await db.tx(async () => {
        if (!/^\d{1,18}$/.test(id)) throw notFound();
        const r = await store.getForUpdate(id);
        if (!r) throw notFound();
        checkTracking(r, actor, key);
        if (r.status !== "resolved") throw conflict("Only a resolved report can be reopened.");
        if (!r.resolved_at || Date.now() - new Date(r.resolved_at).getTime() > REOPEN_DAYS * 86_400_000)
          throw conflict(`A report can be reopened within ${REOPEN_DAYS} days of its resolution.`);
        const cat = await store.getCategory(r.category_code);
        const row = await store.update(id, {
          status: "reopened",
          resolved_at: null,
          overdue: false,
          overdue_at: null,
          status_notes: note.trim() || null,
          deadline_at: new Date(Date.now() + (cat?.deadlineHours ?? 72) * 3600_000),
        });
        const u = await store.addUpdate({
          reportId: id,
          kind: "status",
          status: "reopened",
          note: note.trim() || null,
          public: true,
          agency: row.agency_code,
          actorName: "citizen",
          actorId: actor.id,
        });
        await audit.record({ action: "report.reopened", targetType: "report", targetId: id });
        await bus.publish("report.created", eventOf(row), `agency:${row.agency_code}`);
        await notifyCitizen(row, u, "report.updated");
      });
      return this.getPublic(id);
    },

    /** The citizen rates the handling (1..5) once the report is resolved or closed. */
    async rate(id: string, rating: number, comment: string | null, actor: Actor, key?: string) {
      await db.tx(async () => {
        if (!/^\d{1,18}$/.test(id)) throw notFound();
        const r = await store.getForUpdate(id);
        if (!r) throw notFound();
        checkTracking(r, actor, key);
        if (r.status !== "resolved" && r.status !== "closed") throw conflict("A report can be rated once it is resolved.");
        if (r.rating !== null) throw conflict("This report was already rated.");
        await store.update(id, { rating, rating_comment: comment?.trim() || null, rated_at: new Date() });
        await store.addUpdate({ reportId: id, kind: "rated", note: `${rating}/5`, public: false, actorName: "citizen", actorId: actor.id });
        await audit.record({ action: "report.rated", targetType: "report", targetId: id, details: { rating } });
      });
      return this.getPublic(id);
    },

    /**
     * Flag reports past their deadline (escalating to the supervising agency) and close resolved
     * ones nobody reopened. Idempotent: several nodes may run it at once; each report is flagged once.
     */
    async checkDeadlines(now = new Date()): Promise<{ overdue: number; closed: number }> {
      const overdue = await db.tx(async () => {
        const rows = await store.markOverdue(now);
        for (const r of rows) {
          const id = String(r.id);
          const supervisor = await supervisorOf(r.agency_code);
          const u = await store.addUpdate({ reportId: id, kind: "overdue", public: false, agency: r.agency_code, actorName: "system" });
          await audit.record({
            action: "report.overdue",
            targetType: "report",
            targetId: id,
            details: { agency: r.agency_code, supervisor, deadlineAt: new Date(r.deadline_at).toISOString() },
          });
          await bus.publish("report.overdue", eventOf(r, supervisor), `agency:${r.agency_code}`);
          if (supervisor) await bus.publish("report.overdue", eventOf(r, supervisor), `agency:${supervisor}`);
          await notifyAgency(r.agency_code, r, "overdue", String(u.id));
          if (supervisor) await notifyAgency(supervisor, r, "overdue", String(u.id));
        }
        return rows.length;
      });
      const closed = await db.tx(async () => {
        const rows = await store.closeResolved(new Date(now.getTime() - CLOSE_AFTER_DAYS * 86_400_000));
        for (const r of rows) {
          const id = String(r.id);
          const u = await store.addUpdate({ reportId: id, kind: "status", status: "closed", public: true, agency: r.agency_code, actorName: "system" });
          await audit.record({ action: "report.closed", targetType: "report", targetId: id, details: { automatic: true } });
          await notifyCitizen(r, u, "report.updated");
        }
        return rows.length;
      });
      return { overdue, closed };
    },

    // ---------- statistics
    /**
     * Received, resolved, on-time share, median handling time and satisfaction for a period,
     * optionally split by agency, commune or category. The indicators module calls this.
     */
    async statistics(q: StatisticsQuery = {}): Promise<Statistics> {
      let from: Date;
      let to: Date;
      if (q.period) ({ from, to } = periodRange(q.period));
      else {
        to = q.to ? new Date(q.to) : new Date();
        from = q.from ? new Date(q.from) : new Date(to.getTime() - 30 * 86_400_000);
      }
      if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from >= to) throw badRequest("from must be a date before to.");
      const filter = { from, to, agency: q.agency, commune: q.commune, category: q.category };
      const [total] = await store.stats(filter);
      const rows = q.by ? await store.stats({ ...filter, by: q.by }) : [];
      return { from: from.toISOString(), to: to.toISOString(), by: q.by ?? null, total: statsRow(total), rows: rows.map((r) => statsRow(r)) };
    },

    // ---------- gateways
    listWebhooks: async () =>
      (await store.listWebhooks()).map(({ secret, ...w }) => ({
        ...w,
        hasSecret: secret !== null,
        createdAt: w.created_at.toISOString?.() ?? String(w.created_at),
      })),
    async addWebhook(input: { name: string; url: string; secret?: string | null }) {
      let ok = false;
      try {
        ok = ["http:", "https:"].includes(new URL(input.url).protocol);
      } catch {}
      if (!ok) throw badRequest("url must be an http(s) URL.");
      return db.tx(async () => {
        const w = await store.insertWebhook({ name: input.name, url: input.url, secret: input.secret ?? null });
        if (!w) throw new Error("webhook insert returned nothing");
        await audit.record({ action: "report.webhook.created", targetType: "report_webhook", targetId: w.id, details: { name: w.name, url: w.url } });
        return { id: w.id, name: w.name, url: w.url, active: w.active, hasSecret: w.secret !== null, createdAt: new Date(w.created_at).toISOString() };
      });
    },
    async deleteWebhook(id: string): Promise<void> {
      if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound();
      await db.tx(async () => {
        if (!(await store.deleteWebhook(id))) throw notFound();
        await audit.record({ action: "report.webhook.deleted", targetType: "report_webhook", targetId: id });
      });
    },
  };
}

export type ReportsService = ReturnType<typeof reportsService>;
export type { Channel };
export const STAFF_CHANNELS: readonly Channel[] = ["hotline", "zalo", "email", "app", "web"];
export const isStaff = (actor: Actor) => can(actor, "reports:submit");
