// SQL of the context broker. Every statement is parameterised; the query compiler (q.ts) adds
// its own placeholders through the same builder.
import type { Db } from "../core/db.ts";
import { type Attrs, LOCATION, type StoredEntity } from "./entity.ts";
import type { BBox, BoxTest } from "./geo.ts";
import { type SqlBuilder, sqlBuilder } from "./q.ts";

interface EntityRow {
  id: string;
  types: string[];
  attrs: Attrs;
  origin: "api" | "iot";
  created_at: Date | string;
  modified_at: Date | string;
}

const iso = (d: Date | string) => new Date(d).toISOString();
export const toEntity = (r: EntityRow): StoredEntity => ({
  id: r.id,
  types: r.types,
  attrs: r.attrs,
  origin: r.origin,
  createdAt: iso(r.created_at),
  modifiedAt: iso(r.modified_at),
});

// jsonb keeps an object's keys sorted by their length in UTF-8, then byte by byte, and parsing
// its text gives them back in that order. A document kept in memory after a write is put in the
// same order, so an entity reads the same whether it comes from memory or from the database.
function jsonbKeyOrder(a: string, b: string): number {
  const x = Buffer.byteLength(a);
  const y = Buffer.byteLength(b);
  if (x !== y) return x - y;
  // Plain ASCII (as long in bytes as in characters): the characters compare as the bytes do.
  if (x === a.length && y === b.length) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
function inJsonbOrder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : inJsonbOrder(x)));
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort(jsonbKeyOrder)) if (o[k] !== undefined) out[k] = inJsonbOrder(o[k]);
  return out;
}

/**
 * `e` as the database returns it once written: keys in jsonb's order. Attribute lists that
 * `before` already held (the same array) are taken as they are.
 */
export function asStored(e: StoredEntity, before?: StoredEntity): StoredEntity {
  const attrs: Attrs = {};
  for (const k of Object.keys(e.attrs).sort(jsonbKeyOrder)) {
    const list = e.attrs[k];
    attrs[k] = before?.attrs[k] === list ? list : (inJsonbOrder(list) as Attrs[string]);
  }
  return { ...e, attrs };
}

const cube = (b: BBox | undefined) => (b ? `(${b[0]}, ${b[1]}),(${b[2]}, ${b[3]})` : null);

export interface EntityFilter {
  tenant: string;
  ids?: string[];
  idPattern?: string;
  /** Expanded type IRIs: an entity matches if it has any of them. */
  types?: string[];
  /** Only entities that have at least one of these attributes. */
  anyAttrs?: string[];
  /** Adds the q condition through the builder. */
  q?: (b: SqlBuilder) => string;
  /** Bounding-box prefilter on the location. */
  box?: BoxTest;
  /** Only these types (anonymous readers: the public ones). */
  onlyTypes?: string[];
}

/**
 * The one type a filter is limited to, if it is exactly one: such a query walks
 * context.entity_types (tenant, type, id) in id order instead of every entity.
 */
function singleType(f: EntityFilter): string | undefined {
  if (f.types && f.onlyTypes) return undefined;
  const list = f.types ?? f.onlyTypes;
  return list?.length === 1 ? list[0] : undefined;
}

/** FROM and ORDER BY of an entity query: through the type table when the filter has one type. */
function source(f: EntityFilter, b: SqlBuilder): { from: string; order: string; typeDone: boolean } {
  const one = singleType(f);
  if (one === undefined) return { from: "context.entities e", order: "e.id", typeDone: false };
  return {
    from: `context.entity_types et JOIN context.entities e ON e.tenant = et.tenant AND e.id = et.id AND et.tenant = ${b.p(f.tenant)} AND et.type = ${b.p(one)}`,
    order: "et.id",
    typeDone: true,
  };
}

function where(f: EntityFilter, b: SqlBuilder, typeDone = false): string {
  const c = [`e.tenant = ${b.p(f.tenant)}`];
  if ((f.types && !f.types.length) || (f.onlyTypes && !f.onlyTypes.length)) c.push("false");
  if (f.ids) c.push(`e.id = ANY(${b.p(f.ids)}::text[])`);
  if (f.idPattern !== undefined) c.push(`e.id ~ ${b.p(f.idPattern)}`);
  if (f.types && !typeDone) c.push(`e.types && ${b.p(f.types)}::text[]`);
  if (f.onlyTypes && !typeDone) c.push(`e.types && ${b.p(f.onlyTypes)}::text[]`);
  if (f.anyAttrs) c.push(`e.attrs ?| ${b.p(f.anyAttrs)}::text[]`);
  if (f.box) c.push(`e.bbox ${f.box.op} ${b.p(cube(f.box.box))}::cube`);
  if (f.q) c.push(f.q(b));
  return c.join(" AND ");
}

export interface HistoryRow {
  tenant: string;
  entityId: string;
  attr: string;
  datasetId: string | null;
  ts: string;
  instance: unknown;
  num: number | null;
  deleted: boolean;
}

export interface SubscriptionRow {
  tenant: string;
  id: string;
  body: Record<string, unknown>;
  ld_context: unknown[];
  is_active: boolean;
  expires_at: Date | null;
  throttling: number | null;
  time_interval: number | null;
  times_sent: string | number;
  times_failed: string | number;
  last_notification: Date | null;
  last_success: Date | null;
  last_failure: Date | null;
  consecutive_errors: number;
  last_error: string | null;
  owner_type: string;
  owner_id: string | null;
  owner_agency: string | null;
  created_at: Date;
  modified_at: Date;
}

/** Whether a write leaves an entity's types as they were. */
export const sameTypes = (a: StoredEntity, b: StoredEntity) => a.types.length === b.types.length && a.types.every((t, i) => t === b.types[i]);

export function contextStore(db: Db) {
  // A write reads its entities under a row lock where other writers can change them meanwhile;
  // with none (Db.oneWriter) the lock guards nothing and costs a write to each row's page.
  const lock = (forUpdate: boolean) => (forUpdate && !db.oneWriter ? " FOR UPDATE" : "");
  return {
    async get(tenant: string, id: string, forUpdate = false): Promise<StoredEntity | undefined> {
      const r = await db.one<EntityRow>(
        `SELECT id, types, attrs, origin, created_at, modified_at FROM context.entities WHERE tenant = $1 AND id = $2${lock(forUpdate)}`,
        [tenant, id],
      );
      return r && toEntity(r);
    },
    async getMany(tenant: string, ids: string[], forUpdate = false): Promise<StoredEntity[]> {
      const rows = await db.query<EntityRow>(
        `SELECT id, types, attrs, origin, created_at, modified_at FROM context.entities WHERE tenant = $1 AND id = ANY($2::text[]) ORDER BY id${lock(forUpdate)}`,
        [tenant, ids],
      );
      return rows.map(toEntity);
    },
    /** Insert entities; returns the ids that were new (existing ones are left alone). */
    async insert(tenant: string, list: Array<{ e: StoredEntity; bbox?: BBox }>): Promise<Set<string>> {
      if (!list.length) return new Set();
      const rows = await db.query<{ id: string }>(
        `INSERT INTO context.entities (tenant, id, types, attrs, bbox, origin, created_at, modified_at)
         SELECT $1, t.id, ARRAY(SELECT jsonb_array_elements_text(t.types)), t.attrs, t.bbox::cube, t.origin, t.at, t.at
         FROM unnest($2::text[], $3::jsonb[], $4::jsonb[], $5::text[], $6::text[], $7::timestamptz[]) AS t(id, types, attrs, bbox, origin, at)
         ON CONFLICT (tenant, id) DO NOTHING RETURNING id`,
        [
          tenant,
          list.map((x) => x.e.id),
          list.map((x) => JSON.stringify(x.e.types)),
          list.map((x) => JSON.stringify(x.e.attrs)),
          list.map((x) => cube(x.bbox)),
          list.map((x) => x.e.origin),
          list.map((x) => x.e.createdAt),
        ],
      );
      return new Set(rows.map((r) => r.id));
    },
    /**
     * Write changed entities. Only what differs from `before` (the row as read under its lock in
     * this transaction) travels: the attributes whose instance lists were replaced (a new array),
     * the names of removed ones, the bounding box when the location changed, the types when they
     * changed. A one-attribute PATCH sends a few hundred bytes instead of the whole document.
     */
    async updateMany(tenant: string, list: Array<{ e: StoredEntity; before: StoredEntity; bbox?: BBox }>): Promise<void> {
      if (!list.length) return;
      const patch: string[] = [];
      const removed: string[] = [];
      const types: Array<string | null> = [];
      const boxes: Array<string | null> = [];
      const setBox: boolean[] = [];
      for (const { e, before, bbox } of list) {
        const p: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(e.attrs)) if (before.attrs[k] !== v) p[k] = v;
        patch.push(JSON.stringify(p));
        removed.push(JSON.stringify(Object.keys(before.attrs).filter((k) => !(k in e.attrs))));
        types.push(sameTypes(e, before) ? null : JSON.stringify(e.types));
        const locationChanged = e.attrs[LOCATION] !== before.attrs[LOCATION];
        setBox.push(locationChanged);
        boxes.push(locationChanged ? cube(bbox) : null);
      }
      const ids = list.map((x) => x.e.id);
      const at = list.map((x) => x.e.modifiedAt);
      if (types.every((t) => t === null) && !setBox.includes(true) && removed.every((r) => r === "[]")) {
        // Values only, the common write: a statement that leaves the types (and their trigger) and
        // the bounding box alone costs PostgreSQL ~10% less per row.
        await db.query(
          `UPDATE context.entities x SET attrs = x.attrs || t.patch, modified_at = t.at
           FROM unnest($2::text[], $3::jsonb[], $4::timestamptz[]) AS t(id, patch, at)
           WHERE x.tenant = $1 AND x.id = t.id`,
          [tenant, ids, patch, at],
        );
        return;
      }
      await db.query(
        `UPDATE context.entities x SET
           types = CASE WHEN t.types IS NULL THEN x.types ELSE ARRAY(SELECT jsonb_array_elements_text(t.types)) END,
           attrs = CASE WHEN t.removed = '[]'::jsonb THEN x.attrs ELSE x.attrs - ARRAY(SELECT jsonb_array_elements_text(t.removed)) END || t.patch,
           bbox = CASE WHEN t.setbox THEN t.bbox::cube ELSE x.bbox END,
           modified_at = t.at
         FROM unnest($2::text[], $3::jsonb[], $4::jsonb[], $5::jsonb[], $6::bool[], $7::text[], $8::timestamptz[]) AS t(id, patch, removed, types, setbox, bbox, at)
         WHERE x.tenant = $1 AND x.id = t.id`,
        [tenant, ids, patch, removed, types, setBox, boxes, at],
      );
    },
    async delete(tenant: string, ids: string[]): Promise<StoredEntity[]> {
      const rows = await db.query<EntityRow>(
        `DELETE FROM context.entities WHERE tenant = $1 AND id = ANY($2::text[]) RETURNING id, types, attrs, origin, created_at, modified_at`,
        [tenant, ids],
      );
      return rows.map(toEntity);
    },

    /** A page of entities in id order. */
    async query(f: EntityFilter, limit: number, offset: number): Promise<StoredEntity[]> {
      const b = sqlBuilder();
      const s = source(f, b);
      const w = where(f, b, s.typeDone);
      const rows = await db.query<EntityRow>(
        `SELECT e.id, e.types, e.attrs, e.origin, e.created_at, e.modified_at FROM ${s.from} WHERE ${w} ORDER BY ${s.order} LIMIT ${b.p(limit)} OFFSET ${b.p(offset)}`,
        b.params,
      );
      return rows.map(toEntity);
    },
    async count(f: EntityFilter): Promise<number> {
      const b = sqlBuilder();
      const s = source(f, b);
      const w = where(f, b, s.typeDone);
      const r = await db.one<{ n: string }>(`SELECT count(*) AS n FROM ${s.from} WHERE ${w}`, b.params);
      return Number(r?.n ?? 0);
    },
    /** Ids and one geo attribute of the candidates (geo-queries test them exactly afterwards). */
    async candidates(f: EntityFilter, geoIri: string, cap: number): Promise<Array<{ id: string; geo: unknown }>> {
      const b = sqlBuilder();
      const g = b.p(geoIri);
      const w = where(f, b);
      return db.query<{ id: string; geo: unknown }>(
        // No ORDER BY: ordering by id would steer the planner to the primary key instead of the
        // GiST box index; the caller sorts the (few) matches.
        `SELECT e.id, e.attrs->${g} AS geo FROM context.entities e WHERE ${w} AND e.attrs ? ${g} LIMIT ${b.p(cap)}`,
        b.params,
      );
    },
    /** Entity types present, with their attribute names (for /types and the console). */
    async typeSummary(tenant: string, onlyTypes?: string[]) {
      return db.query<{ type: string; n: string; attrs: string[] }>(
        `SELECT t AS type, count(*) AS n, ARRAY(SELECT DISTINCT k FROM context.entities e2, jsonb_object_keys(e2.attrs) k
            WHERE e2.tenant = $1 AND t = ANY(e2.types) LIMIT 200) AS attrs
         FROM context.entities e, unnest(e.types) t WHERE e.tenant = $1 AND ($2::text[] IS NULL OR t = ANY($2)) GROUP BY t ORDER BY t`,
        [tenant, onlyTypes ?? null],
      );
    },
    async attributeSummary(tenant: string, onlyTypes?: string[]) {
      return db.query<{ attr: string; types: string[]; n: string }>(
        `SELECT k AS attr, array_agg(DISTINCT t) AS types, count(DISTINCT e.id) AS n
         FROM context.entities e, jsonb_object_keys(e.attrs) k, unnest(e.types) t
         WHERE e.tenant = $1 AND ($2::text[] IS NULL OR e.types && $2) GROUP BY k ORDER BY k`,
        [tenant, onlyTypes ?? null],
      );
    },

    // ---------- history
    async addHistory(rows: HistoryRow[]): Promise<void> {
      if (!rows.length) return;
      await db.query(
        `INSERT INTO context.attr_history (tenant, entity_id, attr, dataset_id, ts, instance, num, deleted)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[], $7::float8[], $8::bool[])`,
        [
          rows.map((r) => r.tenant),
          rows.map((r) => r.entityId),
          rows.map((r) => r.attr),
          rows.map((r) => r.datasetId),
          rows.map((r) => r.ts),
          rows.map((r) => (r.instance === null ? null : JSON.stringify(r.instance))),
          rows.map((r) => r.num),
          rows.map((r) => r.deleted),
        ],
      );
    },
    history(tenant: string, entityId: string, attrs: string[] | null, from: Date | null, to: Date | null, lastN: number | null, limit: number) {
      return db.query<{ attr: string; dataset_id: string | null; ts: Date; instance: Record<string, unknown> | null; no: string }>(
        `SELECT * FROM (
           SELECT attr, dataset_id, ts, instance, no, row_number() OVER (PARTITION BY attr ORDER BY ts DESC, no DESC) AS rn
           FROM context.attr_history
           WHERE tenant = $1 AND entity_id = $2 AND ($3::text[] IS NULL OR attr = ANY($3)) AND NOT deleted
             AND ($4::timestamptz IS NULL OR ts >= $4) AND ($5::timestamptz IS NULL OR ts < $5)) h
         WHERE $6::int IS NULL OR rn <= $6
         ORDER BY attr, ts, no LIMIT $7`,
        [tenant, entityId, attrs, from, to, lastN, limit],
      );
    },
    aggregate(tenant: string, entityId: string, attrs: string[] | null, from: Date, to: Date, seconds: number) {
      return db.query<{
        attr: string;
        bucket: Date;
        avg: number | null;
        min: number | null;
        max: number | null;
        sum: number | null;
        n: number;
        distinct_n: number;
      }>(
        `SELECT attr, to_timestamp(floor(extract(epoch from ts) / $6) * $6) AS bucket,
           avg(num) AS avg, min(num) AS min, max(num) AS max, sum(num) AS sum, count(*)::int AS n, count(DISTINCT instance->'value')::int AS distinct_n
         FROM context.attr_history
         WHERE tenant = $1 AND entity_id = $2 AND ($3::text[] IS NULL OR attr = ANY($3)) AND NOT deleted AND ts >= $4 AND ts < $5
         GROUP BY 1, 2 ORDER BY 1, 2`,
        [tenant, entityId, attrs, from, to, seconds],
      );
    },
    deleteHistory: (tenant: string, ids: string[]) =>
      db.query("DELETE FROM context.attr_history WHERE tenant = $1 AND entity_id = ANY($2::text[])", [tenant, ids]),

    // ---------- subscriptions
    insertSubscription: (s: {
      tenant: string;
      id: string;
      body: unknown;
      ldContext: unknown;
      isActive: boolean;
      expiresAt: string | null;
      throttling: number | null;
      timeInterval: number | null;
      ownerType: string;
      ownerId: string | null;
      ownerAgency: string | null;
    }) =>
      db.one<SubscriptionRow>(
        `INSERT INTO context.subscriptions (tenant, id, body, ld_context, is_active, expires_at, throttling, time_interval, next_interval_at, owner_type, owner_id, owner_agency)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $8::float8 IS NULL THEN NULL ELSE now() END, $9, $10, $11)
         ON CONFLICT (tenant, id) DO NOTHING RETURNING *`,
        [
          s.tenant,
          s.id,
          JSON.stringify(s.body),
          JSON.stringify(s.ldContext),
          s.isActive,
          s.expiresAt,
          s.throttling,
          s.timeInterval,
          s.ownerType,
          s.ownerId,
          s.ownerAgency,
        ],
      ),
    updateSubscription: (
      tenant: string,
      id: string,
      s: { body: unknown; ldContext: unknown; isActive: boolean; expiresAt: string | null; throttling: number | null; timeInterval: number | null },
    ) =>
      db.one<SubscriptionRow>(
        `UPDATE context.subscriptions SET body = $3, ld_context = $4, is_active = $5, expires_at = $6, throttling = $7, time_interval = $8,
           next_interval_at = CASE WHEN $8::float8 IS NULL THEN NULL ELSE COALESCE(next_interval_at, now()) END, modified_at = now()
         WHERE tenant = $1 AND id = $2 RETURNING *`,
        [tenant, id, JSON.stringify(s.body), JSON.stringify(s.ldContext), s.isActive, s.expiresAt, s.throttling, s.timeInterval],
      ),
    getSubscription: (tenant: string, id: string) => db.one<SubscriptionRow>("SELECT * FROM context.subscriptions WHERE tenant = $1 AND id = $2", [tenant, id]),
    listSubscriptions: (tenant: string | null, limit: number, offset: number) =>
      db.query<SubscriptionRow>("SELECT * FROM context.subscriptions WHERE ($1::text IS NULL OR tenant = $1) ORDER BY created_at, id LIMIT $2 OFFSET $3", [
        tenant,
        limit,
        offset,
      ]),
    countSubscriptions: async (tenant: string | null) =>
      Number((await db.one<{ n: string }>("SELECT count(*) AS n FROM context.subscriptions WHERE ($1::text IS NULL OR tenant = $1)", [tenant]))?.n ?? 0),
    allActiveSubscriptions: () =>
      db.query<SubscriptionRow>("SELECT * FROM context.subscriptions WHERE is_active AND (expires_at IS NULL OR expires_at > now()) AND time_interval IS NULL"),
    deleteSubscription: (tenant: string, id: string) =>
      db.one<{ id: string }>("DELETE FROM context.subscriptions WHERE tenant = $1 AND id = $2 RETURNING id", [tenant, id]),
    /** Claim a throttled subscription's next notification; false while throttled. */
    async claimThrottle(tenant: string, id: string): Promise<boolean> {
      const r = await db.one(
        `UPDATE context.subscriptions SET last_enqueued_at = now()
         WHERE tenant = $1 AND id = $2 AND (last_enqueued_at IS NULL OR last_enqueued_at + make_interval(secs => throttling) <= now()) RETURNING id`,
        [tenant, id],
      );
      return r !== undefined;
    },
    /** Subscriptions with a timeInterval that are due: claimed (next time set) atomically. */
    claimIntervals: () =>
      db.query<SubscriptionRow>(
        `UPDATE context.subscriptions SET next_interval_at = now() + make_interval(secs => time_interval)
         WHERE time_interval IS NOT NULL AND is_active AND (expires_at IS NULL OR expires_at > now()) AND next_interval_at <= now()
         RETURNING *`,
      ),
    /** Add a tally of deliveries to a subscription's status fields. */
    recordNotifications: (t: NotificationTally) =>
      db.query(
        `UPDATE context.subscriptions SET times_sent = times_sent + $3, times_failed = times_failed + $4,
           last_notification = now(), last_success = COALESCE($5, last_success), last_failure = COALESCE($6, last_failure),
           consecutive_errors = CASE WHEN $8 THEN $7 ELSE consecutive_errors + $7 END, last_error = COALESCE($9, last_error)
         WHERE tenant = $1 AND id = $2`,
        [t.tenant, t.id, t.sent, t.failed, t.lastSuccess ?? null, t.lastFailure ?? null, t.errorsSinceOk, t.sawOk, t.error],
      ),

    // ---------- JSON-LD contexts
    allContexts: () =>
      db.query<{ id: string; url: string; kind: string; body: unknown; created_at: Date }>("SELECT * FROM context.jsonld_contexts ORDER BY created_at"),
    insertContext: (c: { id: string; url: string; kind: string; body: unknown; createdBy: string | null }) =>
      db.one<{ id: string }>(
        "INSERT INTO context.jsonld_contexts (id, url, kind, body, created_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
        [c.id, c.url, c.kind, JSON.stringify(c.body), c.createdBy],
      ),
    deleteContext: (id: string) => db.one<{ id: string; url: string }>("DELETE FROM context.jsonld_contexts WHERE id = $1 RETURNING id, url", [id]),

    // ---------- public types
    publicTypes: () =>
      db.query<{ tenant: string; type: string; marked_by: string | null; marked_at: Date }>("SELECT * FROM context.public_types ORDER BY tenant, type"),
    markPublic: (tenant: string, type: string, by: string) =>
      db.query("INSERT INTO context.public_types (tenant, type, marked_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", [tenant, type, by]),
    unmarkPublic: (tenant: string, type: string) => db.one("DELETE FROM context.public_types WHERE tenant = $1 AND type = $2 RETURNING type", [tenant, type]),
  };
}

export type ContextStore = ReturnType<typeof contextStore>;

/** Deliveries to one subscription since its status fields were last written. */
export interface NotificationTally {
  tenant: string;
  id: string;
  sent: number;
  failed: number;
  lastSuccess?: Date;
  lastFailure?: Date;
  errorsSinceOk: number;
  sawOk: boolean;
  error: string | null;
}
