// SQL of the alerts module, and nothing else.
import type { Db } from "../core/db.ts";

export type AlertState = "draft" | "submitted" | "published" | "discarded";

export interface InfoText {
  language: string;
  event: string;
  headline: string;
  description: string;
  instruction?: string;
  web?: string;
  contact?: string;
  senderName?: string;
}

export interface AlertRow {
  id: string;
  identifier: string;
  origin: "sen" | "import";
  state: AlertState;
  hazard: string;
  sender: string;
  sender_name: string;
  agency: string | null;
  status: string;
  msg_type: "Alert" | "Update" | "Cancel";
  scope: string;
  note: string | null;
  references_id: string | null;
  refs: string | null;
  categories: string[];
  response_types: string[];
  urgency: string;
  severity: string;
  certainty: string;
  onset: Date | null;
  expires: Date | null;
  infos: InfoText[];
  parameters: Array<{ valueName: string; value: string }>;
  resources: Array<{ resourceDesc: string; mimeType: string; uri?: string; size?: number }>;
  area_desc: string;
  chosen_communes: string[];
  polygons: Array<Array<[number, number]>>;
  circles: Array<{ lat: number; lon: number; radiusKm: number }>;
  communes: string[];
  source_alarm: string | null;
  source_device: string | null;
  created_by: string | null;
  created_by_name: string;
  submitted_by: string | null;
  submitted_at: Date | null;
  approved_by: string | null;
  approved_by_name: string | null;
  sent: Date | null;
  ended_at: Date | null;
  end_reason: "updated" | "cancelled" | "expired" | null;
  superseded_by: string | null;
  xml: string | null;
  import_source: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** Columns a draft is written with (insert) or changed by (update). */
export type AlertWrite = Partial<Omit<AlertRow, "id" | "created_at" | "updated_at" | "version">>;

const JSON_COLS = new Set(["infos", "parameters", "resources", "polygons", "circles"]);
const COLUMNS = new Set([
  "identifier",
  "origin",
  "state",
  "hazard",
  "sender",
  "sender_name",
  "agency",
  "status",
  "msg_type",
  "scope",
  "note",
  "references_id",
  "refs",
  "categories",
  "response_types",
  "urgency",
  "severity",
  "certainty",
  "onset",
  "expires",
  "infos",
  "parameters",
  "resources",
  "area_desc",
  "chosen_communes",
  "polygons",
  "circles",
  "communes",
  "source_alarm",
  "source_device",
  "created_by",
  "created_by_name",
  "submitted_by",
  "submitted_at",
  "approved_by",
  "approved_by_name",
  "sent",
  "ended_at",
  "end_reason",
  "superseded_by",
  "xml",
  "import_source",
]);

function columns(w: AlertWrite): { cols: string[]; vals: unknown[] } {
  const cols: string[] = [];
  const vals: unknown[] = [];
  for (const [k, v] of Object.entries(w)) {
    if (v === undefined || k === "id") continue;
    if (!COLUMNS.has(k)) throw new Error(`unknown alerts column ${k}`);
    cols.push(k);
    vals.push(JSON_COLS.has(k) ? JSON.stringify(v) : v);
  }
  return { cols, vals };
}

export interface AlertFilter {
  states?: AlertState[];
  /** Published, not ended, not expired. */
  current?: boolean;
  origin?: "sen" | "import";
  communes?: string[];
  categories?: string[];
  minSeverityRank?: number;
  hazard?: string;
  msgType?: string;
  status?: string;
  limit: number;
  offset: number;
}

const SEV_RANK_SQL = (col: string) => `(CASE ${col} WHEN 'Extreme' THEN 4 WHEN 'Severe' THEN 3 WHEN 'Moderate' THEN 2 WHEN 'Minor' THEN 1 ELSE 0 END)`;
const CURRENT = "a.state = 'published' AND a.ended_at IS NULL AND (a.expires IS NULL OR a.expires > now())";

export interface SubscriptionRow {
  id: string;
  user_id: string | null;
  name: string;
  channel: "webpush" | "email" | "webhook";
  target: Record<string, unknown>;
  communes: string[];
  lat: number | null;
  lon: number | null;
  categories: string[];
  min_severity: string;
  language: "vi" | "en";
  active: boolean;
  created_at: Date;
}

export type NewSubscription = Omit<SubscriptionRow, "id" | "active" | "created_at">;

export function alertsStore(db: Db) {
  return {
    async insert(w: AlertWrite & { id?: string }): Promise<AlertRow> {
      const { cols, vals } = columns(w);
      if (w.id) {
        cols.unshift("id");
        vals.unshift(w.id);
      }
      const row = await db.one<AlertRow>(
        `INSERT INTO alerts.alerts (${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")}) RETURNING *`,
        vals,
      );
      return row as AlertRow;
    },

    /** Insert unless a draft for this alarm exists already (sensor drafts are one per alarm). */
    async insertForAlarm(w: AlertWrite & { id: string }): Promise<AlertRow | undefined> {
      const { cols, vals } = columns(w);
      cols.unshift("id");
      vals.unshift(w.id);
      return db.one<AlertRow>(
        `INSERT INTO alerts.alerts (${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")})
         ON CONFLICT (source_alarm) WHERE source_alarm IS NOT NULL DO NOTHING RETURNING *`,
        vals,
      );
    },

    async update(id: string, w: AlertWrite): Promise<AlertRow> {
      const { cols, vals } = columns(w);
      const sets = cols.map((c, i) => `${c} = $${i + 2}`);
      const row = await db.one<AlertRow>(
        `UPDATE alerts.alerts SET ${[...sets, "version = version + 1", "updated_at = now()"].join(", ")} WHERE id = $1 RETURNING *`,
        [id, ...vals],
      );
      return row as AlertRow;
    },

    get: (id: string) => db.one<AlertRow>("SELECT * FROM alerts.alerts WHERE id = $1", [id]),
    lock: (id: string) => db.one<AlertRow>("SELECT * FROM alerts.alerts WHERE id = $1 FOR UPDATE", [id]),
    byAlarm: (alarmId: string) => db.one<AlertRow>("SELECT * FROM alerts.alerts WHERE source_alarm = $1", [alarmId]),
    byIdentifier: (sender: string, identifier: string) =>
      db.one<AlertRow>("SELECT * FROM alerts.alerts WHERE sender = $1 AND identifier = $2", [sender, identifier]),
    /** The pending Update/Cancel of a message, if any. */
    followUp: (id: string) => db.one<AlertRow>("SELECT * FROM alerts.alerts WHERE references_id = $1 AND state IN ('draft', 'submitted')", [id]),

    async list(f: AlertFilter): Promise<AlertRow[]> {
      const where: string[] = [];
      const p: unknown[] = [];
      const add = (sql: string, v: unknown) => {
        p.push(v);
        where.push(sql.replaceAll("$?", `$${p.length}`));
      };
      if (f.states?.length) add("a.state = ANY($?::text[])", f.states);
      if (f.current) where.push(CURRENT);
      if (f.origin) add("a.origin = $?", f.origin);
      if (f.communes?.length) add("a.communes && $?::text[]", f.communes);
      if (f.categories?.length) add("a.categories && $?::text[]", f.categories);
      if (f.minSeverityRank) add(`${SEV_RANK_SQL("a.severity")} >= $?`, f.minSeverityRank);
      if (f.hazard) add("a.hazard = $?", f.hazard);
      if (f.msgType) add("a.msg_type = $?", f.msgType);
      if (f.status) add("a.status = $?", f.status);
      p.push(f.limit, f.offset);
      return db.query<AlertRow>(
        `SELECT a.* FROM alerts.alerts a ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY COALESCE(a.sent, a.updated_at) DESC, a.id DESC LIMIT $${p.length - 1} OFFSET $${p.length}`,
        p,
      );
    },

    /** Published messages whose expiry has passed and that have not ended yet. */
    dueToExpire: () =>
      db.query<AlertRow>(
        "SELECT * FROM alerts.alerts a WHERE a.state = 'published' AND a.ended_at IS NULL AND a.expires <= now() ORDER BY a.expires LIMIT 500 FOR UPDATE SKIP LOCKED",
      ),

    // ---------- subscriptions

    async insertSubscriptions(subs: NewSubscription[]): Promise<SubscriptionRow[]> {
      if (!subs.length) return [];
      return db.query<SubscriptionRow>(
        `INSERT INTO alerts.subscriptions (user_id, name, channel, target, communes, lat, lon, categories, min_severity, language)
         SELECT (s->>'user_id')::uuid, s->>'name', s->>'channel', s->'target',
                ARRAY(SELECT jsonb_array_elements_text(s->'communes')), (s->>'lat')::float8, (s->>'lon')::float8,
                ARRAY(SELECT jsonb_array_elements_text(s->'categories')), s->>'min_severity', s->>'language'
         FROM jsonb_array_elements($1::jsonb) AS t(s)
         RETURNING *`,
        [JSON.stringify(subs)],
      );
    },
    /** A browser re-subscribing with the same push endpoint replaces its earlier subscription. */
    deletePushEndpoint: (endpoint: string) => db.query("DELETE FROM alerts.subscriptions WHERE channel = 'webpush' AND target ->> 'endpoint' = $1", [endpoint]),
    getSubscription: (id: string) => db.one<SubscriptionRow>("SELECT * FROM alerts.subscriptions WHERE id = $1", [id]),
    subscriptionsOf: (userId: string) => db.query<SubscriptionRow>("SELECT * FROM alerts.subscriptions WHERE user_id = $1 ORDER BY created_at", [userId]),
    listSubscriptions: (f: { channel?: string; limit: number; offset: number }) =>
      db.query<SubscriptionRow>("SELECT * FROM alerts.subscriptions WHERE ($1::text IS NULL OR channel = $1) ORDER BY created_at, id LIMIT $2 OFFSET $3", [
        f.channel ?? null,
        f.limit,
        f.offset,
      ]),
    countSubscriptions: async () => Number((await db.one<{ n: number }>("SELECT count(*)::int AS n FROM alerts.subscriptions WHERE active"))?.n ?? 0),
    deleteSubscription: (id: string) => db.query("DELETE FROM alerts.subscriptions WHERE id = $1", [id]),
    deactivateSubscription: (id: string) => db.query("UPDATE alerts.subscriptions SET active = false WHERE id = $1", [id]),

    /** A page of subscriptions matching an alert (keyset by id). */
    matching: (m: { communes: string[]; categories: string[]; rank: number; after: string | null; limit: number; channels: string[] }) =>
      db.query<Pick<SubscriptionRow, "id" | "lat" | "lon" | "communes">>(
        `SELECT id, lat, lon, communes FROM alerts.subscriptions
         WHERE active AND communes && $1::text[]
           AND (cardinality(categories) = 0 OR categories && $2::text[])
           AND ${SEV_RANK_SQL("min_severity")} <= $3
           AND channel = ANY($6::text[])
           AND ($4::uuid IS NULL OR id > $4::uuid)
         ORDER BY id LIMIT $5`,
        [m.communes, m.categories, m.rank, m.after, m.limit, m.channels],
      ),

    // ---------- fan-out and delivery log

    startFanout: (alertId: string) => db.query("INSERT INTO alerts.fanouts (alert_id) VALUES ($1) ON CONFLICT DO NOTHING", [alertId]),
    finishFanout: (alertId: string, matched: number) =>
      db.query("UPDATE alerts.fanouts SET matched = $2, enqueued_at = now() WHERE alert_id = $1", [alertId, matched]),
    setMatched: (alertId: string, matched: number) => db.query("UPDATE alerts.fanouts SET matched = $2 WHERE alert_id = $1", [alertId, matched]),
    countLogged: async (alertId: string) =>
      Number((await db.one<{ n: number }>("SELECT count(*)::int AS n FROM alerts.deliveries WHERE alert_id = $1", [alertId]))?.n ?? 0),
    fanout: (alertId: string) =>
      db.one<{ matched: number; started_at: Date; enqueued_at: Date | null }>("SELECT * FROM alerts.fanouts WHERE alert_id = $1", [alertId]),
    logDelivery: (d: {
      alertId: string;
      subscriptionId: string;
      deliveryId: string;
      channel: string;
      status: "sent" | "failed";
      attempts: number;
      detail: string | null;
    }) =>
      db.query(
        `INSERT INTO alerts.deliveries (alert_id, subscription_id, delivery_id, channel, status, attempts, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (alert_id, subscription_id) DO UPDATE SET status = EXCLUDED.status, attempts = EXCLUDED.attempts, detail = EXCLUDED.detail, at = now()`,
        [d.alertId, d.subscriptionId, d.deliveryId, d.channel, d.status, d.attempts, d.detail],
      ),
    /** Many log entries in one statement (the last entry wins for a repeated recipient). */
    logDeliveries: (
      entries: Array<{
        alertId: string;
        subscriptionId: string;
        deliveryId: string;
        channel: string;
        status: "sent" | "failed";
        attempts: number;
        detail: string | null;
      }>,
    ) => {
      const last = [...new Map(entries.map((e) => [`${e.alertId}:${e.subscriptionId}`, e])).values()];
      return db.query(
        `INSERT INTO alerts.deliveries (alert_id, subscription_id, delivery_id, channel, status, attempts, detail)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[])
         ON CONFLICT (alert_id, subscription_id) DO UPDATE SET status = EXCLUDED.status, attempts = EXCLUDED.attempts, detail = EXCLUDED.detail, at = now()`,
        [
          last.map((e) => e.alertId),
          last.map((e) => e.subscriptionId),
          last.map((e) => e.deliveryId),
          last.map((e) => e.channel),
          last.map((e) => e.status),
          last.map((e) => e.attempts),
          last.map((e) => e.detail),
        ],
      );
    },
    subscriptionsByIds: (ids: string[]) => db.query<SubscriptionRow>("SELECT * FROM alerts.subscriptions WHERE id = ANY($1::uuid[])", [ids]),
    deliveryCounts: (alertId: string) =>
      db.query<{ channel: string; status: string; n: number }>(
        "SELECT channel, status, count(*)::int AS n FROM alerts.deliveries WHERE alert_id = $1 GROUP BY channel, status",
        [alertId],
      ),
    recentDeliveries: (alertId: string, limit: number) =>
      db.query<{ subscription_id: string; delivery_id: string; channel: string; status: string; attempts: number; detail: string | null; at: Date }>(
        "SELECT subscription_id, delivery_id, channel, status, attempts, detail, at FROM alerts.deliveries WHERE alert_id = $1 ORDER BY at DESC LIMIT $2",
        [alertId, limit],
      ),

    // ---------- settings and the event cursor

    getSetting: async <T>(key: string) => (await db.one<{ value: T }>("SELECT value FROM alerts.settings WHERE key = $1", [key]))?.value,
    /** Keep the first value written (two nodes racing agree on one). */
    initSetting: async <T>(key: string, value: T): Promise<T> => {
      await db.query("INSERT INTO alerts.settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", [key, JSON.stringify(value)]);
      return (await db.one<{ value: T }>("SELECT value FROM alerts.settings WHERE key = $1", [key]))?.value as T;
    },
    cursor: async () => (await db.one<{ event_id: number }>("SELECT event_id FROM alerts.cursor WHERE id = 1"))?.event_id,
    setCursor: (eventId: number) =>
      db.query(
        "INSERT INTO alerts.cursor (id, event_id) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET event_id = GREATEST(alerts.cursor.event_id, EXCLUDED.event_id)",
        [eventId],
      ),
    lastEventId: async () => Number((await db.one<{ id: number | null }>("SELECT max(id) AS id FROM core.events"))?.id ?? 0),
  };
}

export type AlertsStore = ReturnType<typeof alertsStore>;
