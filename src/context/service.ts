// The rules of the context broker: tenants and access, entity writes (create, replace, merge,
// append, partial updates, batches) with their history and notifications in one transaction,
// and queries (q, geo, pagination). No HTTP here; routes.ts speaks the protocol.
import { randomUUID } from "node:crypto";
import type { AuditService } from "../core/audit/service.ts";
import type { EntityCache, QueryCache } from "./cache.ts";
import { type Actor, can } from "../core/context.ts";
import type { Db } from "../core/db.ts";
import type { EventBus, SenEvents } from "../core/events/bus.ts";
import {
  type Attrs,
  type Format,
  type Instance,
  LOCATION,
  type RenderOptions,
  type StoredEntity,
  checkName,
  geometryOf,
  isUri,
  parseAttribute,
  parseAttrs,
  parseEntity,
  parseTypes,
} from "./entity.ts";
import { LdProblem, alreadyExists, badRequestData, nonexistentTenant, notFound, notSupported, tooManyResults } from "./errors.ts";
import { type GeoQuery, bboxOf, geoMatches, parseGeoQuery, prefilter } from "./geo.ts";
import { type ActiveContext, CORE, type ContextLookup, expand, isCoreUrl, resolveContext } from "./jsonld.ts";
import { checkRegex, compileQ, parseQ } from "./q.ts";
import { type ContextStore, type EntityFilter, type HistoryRow, asStored, sameTypes } from "./store.ts";

declare module "../core/events/bus.ts" {
  interface SenEvents {
    "context.entities": { tenant: string; changes: Array<{ id: string; types: string[]; attrs: string[]; deleted?: true }>; more: number };
    "context.config": { what: "subscriptions" | "contexts" | "publicTypes" };
  }
}

export const MAX_LIMIT = 1000;
/** Geo-queries test at most this many bounding-box candidates exactly. */
export const MAX_GEO_CANDIDATES = 100_000;
export const MAX_BATCH = 1000;
/** Single-entity writes committed together at most (group commit). */
const MAX_GROUP = 200;
/** Entities created, deleted or retyped after which this process refreshes the planner's statistics. */
const ANALYZE_AFTER_WRITES = 5000;
/** How often coalesced live-update events go out. */
const EVENT_INTERVAL_MS = 250;

export class Forbidden extends LdProblem {
  constructor(detail: string) {
    super("InvalidRequest", 403, detail);
  }
  override toBody() {
    return { type: "urn:sen:problem:forbidden", title: "Forbidden", status: 403, detail: this.message };
  }
}

/** One committed change of an entity, for history and subscriptions. */
export interface Change {
  before?: StoredEntity;
  /** null: deleted */
  after: StoredEntity | null;
  /** Attribute IRIs written or deleted. */
  attrs: Set<string>;
  /** When it was made, if not the time the whole commit was given (grouped single writes). */
  at?: string;
}

export interface ContextDeps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  store: ContextStore;
  agencyExists(code: string): Promise<boolean>;
  /** Called in the transaction of each write: subscriptions enqueue their notifications. */
  onChanges?(tenant: string, changes: Change[]): Promise<void>;
  /** Entity documents read by id (kept in step with other processes through `announce`). */
  cache?: EntityCache;
  /** Answers of entity queries, under the same rule. */
  queries?: QueryCache<{ entities: StoredEntity[]; count?: number }>;
  /** Tell other Sen processes on the same database, in the write's transaction, what it changes. */
  announce?(tenant: string, ids: string[]): Promise<void>;
}

export interface QueryParams {
  id?: string;
  idPattern?: string;
  type?: string;
  attrs?: string;
  q?: string;
  georel?: string;
  geometry?: string;
  coordinates?: string;
  geoproperty?: string;
  limit?: number;
  offset?: number;
  count?: boolean;
  options?: string;
  format?: string;
  pick?: string;
  omit?: string;
  lang?: string;
}

const splitList = (s: string | undefined, max = 100): string[] | undefined => {
  if (s === undefined) return undefined;
  const list = s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  if (list.length > max) throw badRequestData(`At most ${max} values in a list.`);
  return list;
};

export function contextService(deps: ContextDeps) {
  const { db, audit, bus, store } = deps;
  /** Registered JSON-LD contexts by URL. */
  const contexts = new Map<string, { id: string; kind: string; body: unknown }>();
  /** tenant → public type IRIs */
  const publicTypes = new Map<string, Set<string>>();
  const knownTenants = new Set<string>([""]);

  const lookup: ContextLookup = (url) => contexts.get(url)?.body;
  const resolve = (raw: unknown): ActiveContext => resolveContext(raw, lookup);

  async function loadConfig(): Promise<void> {
    // Read everything first, then swap: readers never see a half-loaded configuration.
    const [ctxRows, typeRows] = await Promise.all([store.allContexts(), store.publicTypes()]);
    const nextContexts = new Map(ctxRows.map((c) => [c.url, { id: c.id, kind: c.kind, body: c.body }]));
    const nextTypes = new Map<string, Set<string>>();
    for (const p of typeRows) nextTypes.set(p.tenant, (nextTypes.get(p.tenant) ?? new Set()).add(p.type));
    deps.queries?.clear();
    contexts.clear();
    for (const [k, v] of nextContexts) contexts.set(k, v);
    publicTypes.clear();
    for (const [k, v] of nextTypes) publicTypes.set(k, v);
  }

  // ---------------------------------------------------------------- tenants and access

  /** NGSILD-Tenant → tenant key: the default tenant, or an agency's code. */
  async function tenantOf(header: string | undefined): Promise<string> {
    if (header === undefined || header === "") return "";
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(header)) throw badRequestData("NGSILD-Tenant must be an agency code.");
    if (knownTenants.has(header)) return header;
    if (!(await deps.agencyExists(header))) throw nonexistentTenant(`There is no tenant ${header}: tenants are the codes of agencies registered in Sen.`);
    knownTenants.add(header);
    return header;
  }

  /** The types an actor may read in a tenant (undefined: all). */
  function readableTypes(actor: Actor, tenant: string): string[] | undefined {
    if (can(actor, "context:read")) return undefined;
    return [...(publicTypes.get(tenant) ?? [])];
  }

  function canRead(actor: Actor, tenant: string, e: StoredEntity): boolean {
    const only = readableTypes(actor, tenant);
    return !only || e.types.some((t) => only.includes(t));
  }

  /** Agency users and keys write in their own agency's tenant; province-level ones anywhere. */
  function checkWrite(actor: Actor, tenant: string): void {
    if (actor.type === "system") return;
    if (!can(actor, "context:write")) throw new Forbidden("This needs the permission context:write.");
    if (actor.agency && actor.agency !== tenant && !can(actor, "agencies:manage"))
      throw new Forbidden(`You write in your agency's tenant (NGSILD-Tenant: ${actor.agency}) only.`);
  }

  // ---------------------------------------------------------------- writing

  const nowIso = () => new Date().toISOString();

  function bboxFor(e: StoredEntity) {
    const g = geometryOf(e);
    return g ? bboxOf(g) : undefined;
  }

  function historyRows(tenant: string, c: Change, at: string): HistoryRow[] {
    const e = c.after ?? c.before;
    if (e?.origin !== "api") return [];
    const rows: HistoryRow[] = [];
    for (const attr of c.attrs) {
      const list = c.after?.attrs[attr];
      if (!list) {
        rows.push({ tenant, entityId: e.id, attr, datasetId: null, ts: at, instance: null, num: null, deleted: true });
        continue;
      }
      for (const inst of list) {
        if (inst.modifiedAt !== at) continue; // untouched instance of a multi-attribute
        rows.push({
          tenant,
          entityId: e.id,
          attr,
          datasetId: inst.datasetId ?? null,
          ts: inst.observedAt ?? at,
          instance: inst,
          num: typeof inst.value === "number" ? inst.value : null,
          deleted: false,
        });
      }
    }
    return rows;
  }

  /** Persist changes with their history, notifications and event, in the caller's transaction. */
  async function commit(tenant: string, changes: Change[], at: string): Promise<void> {
    if (!changes.length) return;
    const { cache, queries } = deps;
    const ids = changes.map((c) => ((c.after ?? c.before) as StoredEntity).id);
    if (cache && db.oneWriter) {
      // The only writer keeps what it wrote (write-through): the next write of an entity, and its
      // readers, need not load it again. Dropped now, so nothing in this transaction or after it
      // takes the old documents from memory; put back once committed, unless another write has
      // touched the entity by then (its ticket moved).
      cache.drop(tenant, ids);
      const tickets = ids.map((id) => cache.ticket(tenant, id));
      db.afterCommit(() => {
        changes.forEach((c, i) => {
          if (c.after) cache.fill(tenant, ids[i], tickets[i], asStored(c.after, c.before));
        });
        queries?.drop(tenant);
      });
    } else if (cache || queries) {
      // After the commit, before the writer hears back: later readers load the new documents.
      db.afterCommit(() => {
        cache?.drop(tenant, ids);
        queries?.drop(tenant);
      });
      await deps.announce?.(tenant, ids);
    }
    const inserts = changes.filter((c) => !c.before && c.after).map((c) => ({ e: c.after as StoredEntity, bbox: bboxFor(c.after as StoredEntity) }));
    const updates = changes
      .filter((c) => c.before && c.after)
      .map((c) => {
        const e = c.after as StoredEntity;
        const before = c.before as StoredEntity;
        return { e, before, bbox: e.attrs[LOCATION] !== before.attrs[LOCATION] ? bboxFor(e) : undefined };
      });
    const deletes = changes.filter((c) => c.before && !c.after).map((c) => (c.before as StoredEntity).id);
    if (inserts.length) {
      const created = await store.insert(tenant, inserts);
      // Another writer created one of them since we looked: the caller's decision is void.
      const lost = inserts.find((x) => !created.has(x.e.id));
      if (lost) throw alreadyExists(`Entity ${lost.e.id} was created by another request at the same time; retry.`);
    }
    await store.updateMany(tenant, updates);
    // The history of a deleted entity stays (the temporal API answers for the past).
    if (deletes.length) await store.delete(tenant, deletes);
    await store.addHistory(changes.flatMap((c) => historyRows(tenant, c, c.at ?? at)));
    await deps.onChanges?.(tenant, changes);
    // Live-update events are hints for screens: coalesced after commit and published a few times
    // a second, instead of an event row and a NOTIFY inside every write.
    const summary = changes.map((c) => {
      const e = (c.after ?? c.before) as StoredEntity;
      return { id: e.id, types: e.types, attrs: [...c.attrs].slice(0, 50), ...(c.after ? {} : { deleted: true as const }) };
    });
    // Only what moves the statistics the planner uses (how many entities, of which types) counts
    // towards the next ANALYZE: attribute updates leave them as they were, and an ANALYZE of
    // 100,000 entities holds the embedded database for ~0.4 s.
    const reshaped = inserts.length + deletes.length + updates.filter((u) => !sameTypes(u.e, u.before)).length;
    db.afterCommit(() => {
      queueEvent(tenant, summary);
      noteWrites(reshaped);
    });
  }

  // The planner needs fresh statistics after bulk loads: PGlite has no autovacuum daemon at all,
  // and a server's autoanalyze lags a fast load. Without them a q over a fresh 100,000 entities
  // sorts every entity of the type instead of walking the primary key for the first page.
  let writesSinceAnalyze = 0;
  let analyzeTimer: NodeJS.Timeout | undefined;
  function noteWrites(n: number) {
    writesSinceAnalyze += n;
    if (writesSinceAnalyze < ANALYZE_AFTER_WRITES || analyzeTimer) return;
    analyzeTimer = setTimeout(() => {
      analyzeTimer = undefined;
      writesSinceAnalyze = 0;
      void db.query("ANALYZE context.entities, context.entity_types").catch(() => undefined);
    }, 2000);
    analyzeTimer.unref();
  }

  const pendingEvents = new Map<string, { changes: SenEvents["context.entities"]["changes"]; more: number }>();
  let eventTimer: NodeJS.Timeout | undefined;
  function queueEvent(tenant: string, changes: SenEvents["context.entities"]["changes"]) {
    const p = pendingEvents.get(tenant) ?? { changes: [], more: 0 };
    const room = Math.max(0, 100 - p.changes.length);
    p.changes.push(...changes.slice(0, room));
    p.more += changes.length - Math.min(room, changes.length);
    pendingEvents.set(tenant, p);
    eventTimer ??= setTimeout(() => void flushEvents(), EVENT_INTERVAL_MS);
  }
  async function flushEvents(): Promise<void> {
    eventTimer = undefined;
    const batch = [...pendingEvents];
    pendingEvents.clear();
    for (const [tenant, p] of batch) await bus.publish("context.entities", { tenant, ...p }, tenant ? `agency:${tenant}` : "staff").catch(() => undefined);
  }

  function guardOrigin(e: StoredEntity | undefined) {
    if (e && e.origin === "iot")
      throw notSupported(`Entity ${e.id} is a device's live state; it changes through the device's telemetry (IoT API), not NGSI-LD writes.`);
  }

  /** Replace or add instances by datasetId. */
  function putInstances(existing: Instance[] | undefined, incoming: Instance[]): Instance[] {
    const out = [...(existing ?? [])];
    for (const inst of incoming) {
      const i = out.findIndex((x) => x.datasetId === inst.datasetId);
      if (i >= 0) out[i] = { ...inst, createdAt: out[i].createdAt };
      else out.push(inst);
    }
    return out;
  }

  /** Merge members of instances (partial update): value replaced, sub-attributes merged. */
  function mergeInstances(existing: Instance[], incoming: Instance[], at: string): Instance[] {
    const out = [...existing];
    for (const inst of incoming) {
      const i = out.findIndex((x) => x.datasetId === inst.datasetId);
      if (i < 0) {
        out.push(inst);
        continue;
      }
      const merged: Instance = { ...out[i] };
      for (const [k, v] of Object.entries(inst)) if (k !== "createdAt") merged[k] = v;
      if (inst.type !== out[i].type) {
        // The kind changed (Property → Relationship): its old payload goes.
        for (const k of ["value", "object", "languageMap"]) if (!(k in inst)) delete merged[k];
      }
      merged.modifiedAt = at;
      out[i] = merged;
    }
    return out;
  }

  function withAttrs(e: StoredEntity, attrs: Attrs, at: string, types = e.types): StoredEntity {
    return { ...e, types, attrs, modifiedAt: at };
  }

  function checkAttrCount(attrs: Attrs) {
    if (Object.keys(attrs).length > 1000) throw badRequestData("An entity may have at most 1000 attributes.");
  }

  async function createEntity(actor: Actor, tenant: string, body: unknown, ctx: ActiveContext): Promise<string> {
    checkWrite(actor, tenant);
    const at = nowIso();
    const p = parseEntity(body, ctx, at);
    await db.tx(async () => {
      const cur = await store.get(tenant, p.id, true);
      if (cur) throw alreadyExists(`Entity ${p.id} already exists.`);
      const e: StoredEntity = { id: p.id, types: p.types, attrs: p.attrs, createdAt: at, modifiedAt: at, origin: "api" };
      await commit(tenant, [{ after: e, attrs: new Set(Object.keys(p.attrs)) }], at);
      await audit.record({ action: "context.entity.create", targetType: "ngsi-ld-entity", targetId: p.id, details: { tenant, types: p.types } });
    });
    return p.id;
  }

  type Mutation<T> = (cur: StoredEntity, at: string) => { after: StoredEntity | null; attrs: Set<string>; result: T };

  /** Load, change and commit one entity under a row lock. */
  async function mutate<T>(actor: Actor, tenant: string, id: string, fn: Mutation<T>, audited?: string): Promise<T> {
    checkWrite(actor, tenant);
    if (!isUri(id)) throw badRequestData("An entity id must be a URI.");
    const at = nowIso();
    // Audited writes record the caller in the audit trail (from the request's context), and a
    // caller's own transaction must hold the write: both take the direct path.
    if (audited || db.inTransaction()) return mutateAlone(tenant, id, fn, at, audited);
    return new Promise<T>((resolve, reject) => {
      writeQueue.push({ tenant, id, fn, at, resolve: resolve as (v: unknown) => void, reject });
      // Not at once: the writes of requests whose bytes already arrived join this group first.
      // (PGlite runs in this thread: its statements never yield to the event loop, so without
      // this each request would have committed alone before the next one was even read.)
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(() => {
          flushScheduled = false;
          startGroups();
        });
      }
    });
  }

  function mutateAlone<T>(tenant: string, id: string, fn: Mutation<T>, at: string, audited?: string): Promise<T> {
    return db.tx(async () => {
      const cur = (await lockedById(tenant, [id])).get(id);
      if (!cur) throw notFound(`Entity ${id} not found.`);
      guardOrigin(cur);
      const { after, attrs, result } = fn(cur, at);
      if (after) checkAttrCount(after.attrs);
      await commit(tenant, [{ before: cur, after, attrs }], at);
      if (audited) await audit.record({ action: audited, targetType: "ngsi-ld-entity", targetId: id, details: { tenant } });
      return result;
    });
  }

  // Group commit of single-entity writes (PATCH/POST/PUT/DELETE of attributes, merge): the writes
  // that arrive while a transaction is running are applied together in the next one (one row-lock
  // read, one UPDATE, one history INSERT, one COMMIT), and each caller hears back only after that
  // commit. Each write still sees the entity as the writes before it left it: an entity written
  // twice waits for the next group.
  interface QueuedWrite {
    tenant: string;
    id: string;
    fn: Mutation<unknown>;
    at: string;
    resolve(v: unknown): void;
    reject(err: unknown): void;
  }
  let writeQueue: QueuedWrite[] = [];
  let flushScheduled = false;
  // On a server the next group reads and writes while one commits, so the process does not sit
  // idle through a commit's round trips; with one writer (Db.oneWriter) a second group only waits.
  const maxGroupsInFlight = db.oneWriter ? 1 : 2;
  let groupsInFlight = 0;
  /** Entities written by the groups in flight: a later write of one waits for its group. */
  const inFlight = new Set<string>();

  function startGroups(): void {
    while (groupsInFlight < maxGroupsInFlight && writeQueue.length) {
      const group: QueuedWrite[] = [];
      const rest: QueuedWrite[] = [];
      const keys = new Set<string>();
      for (const w of writeQueue) {
        const key = `${w.tenant}\u0000${w.id}`;
        if (group.length < MAX_GROUP && !keys.has(key) && !inFlight.has(key)) {
          keys.add(key);
          group.push(w);
        } else rest.push(w);
      }
      if (!group.length) return;
      writeQueue = rest;
      for (const k of keys) inFlight.add(k);
      groupsInFlight++;
      void writeGroup(group)
        .catch((err) => {
          for (const w of group) w.reject(err);
        })
        .finally(() => {
          groupsInFlight--;
          for (const k of keys) inFlight.delete(k);
          startGroups();
        });
    }
  }

  /**
   * The stored entities among `ids`, locked for this transaction, by id. The only writer takes
   * them from its cache where it can: what is there is what was last committed (see commit).
   */
  async function lockedById(tenant: string, ids: string[]): Promise<Map<string, StoredEntity>> {
    const found = new Map<string, StoredEntity>();
    let missing = ids;
    const cache = deps.cache;
    if (cache && db.oneWriter) {
      missing = [];
      for (const id of ids) {
        const hit = cache.get(tenant, id);
        if (hit) found.set(id, hit);
        else missing.push(id);
      }
    }
    if (missing.length) for (const e of await store.getMany(tenant, missing, true)) found.set(e.id, e);
    return found;
  }

  async function writeGroup(group: QueuedWrite[]): Promise<void> {
    if (group.length === 1) {
      const w = group[0];
      await mutateAlone(w.tenant, w.id, w.fn, w.at).then(w.resolve, w.reject);
      return;
    }
    const outcome = new Map<QueuedWrite, { ok: true; value: unknown } | { ok: false; err: unknown }>();
    const tenants = new Map<string, QueuedWrite[]>();
    for (const w of group) {
      const list = tenants.get(w.tenant);
      if (list) list.push(w);
      else tenants.set(w.tenant, [w]);
    }
    try {
      await db.tx(async () => {
        outcome.clear();
        for (const [tenant, writes] of tenants) {
          const current = await lockedById(
            tenant,
            writes.map((w) => w.id),
          );
          const changes: Change[] = [];
          for (const w of writes) {
            try {
              const cur = current.get(w.id);
              if (!cur) throw notFound(`Entity ${w.id} not found.`);
              guardOrigin(cur);
              const { after, attrs, result } = w.fn(cur, w.at);
              if (after) checkAttrCount(after.attrs);
              changes.push({ before: cur, after, attrs, at: w.at });
              outcome.set(w, { ok: true, value: result });
            } catch (err) {
              outcome.set(w, { ok: false, err });
            }
          }
          await commit(tenant, changes, nowIso());
        }
      });
    } catch {
      // The group failed as a whole (the database refused a statement): each write is tried on
      // its own, so one bad write cannot fail the others.
      for (const w of group) await mutateAlone(w.tenant, w.id, w.fn, w.at).then(w.resolve, w.reject);
      return;
    }
    for (const w of group) {
      const o = outcome.get(w);
      if (o?.ok) w.resolve(o.value);
      else w.reject(o?.err);
    }
  }

  const attrIri = (ctx: ActiveContext, name: string) => {
    checkName(name, "Attribute");
    return expand(ctx, name);
  };

  function fragment(body: unknown): Record<string, unknown> {
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequestData("The body must be a JSON object of attributes.");
    const b = body as Record<string, unknown>;
    return b;
  }

  // ---------------------------------------------------------------- reading

  /** One entity as stored, from the cache when there is one. */
  async function getStored(tenant: string, id: string): Promise<StoredEntity | undefined> {
    const cache = deps.cache;
    if (!cache || db.inTransaction()) return store.get(tenant, id);
    const hit = cache.get(tenant, id);
    if (hit) return hit;
    const ticket = cache.ticket(tenant, id);
    const e = await store.get(tenant, id);
    if (e) cache.fill(tenant, id, ticket, e);
    return e;
  }

  interface Prepared {
    filter: EntityFilter;
    geo?: GeoQuery;
    geoIri: string;
    render: RenderOptions;
    limit: number;
    offset: number;
    count: boolean;
  }

  function renderOptions(
    p: { options?: string; format?: string; attrs?: string; pick?: string; omit?: string; lang?: string },
    ctx: ActiveContext,
  ): RenderOptions {
    const options = splitList(p.options, 10) ?? [];
    for (const o of options)
      if (
        !["keyValues", "concise", "sysAttrs", "normalized", "simplified", "temporalValues", "aggregatedValues", "noOverwrite", "replace", "update"].includes(o)
      )
        throw badRequestData(`Unknown option "${o.slice(0, 40)}".`);
    let format: Format = "normalized";
    if (options.includes("keyValues") || options.includes("simplified")) format = "keyValues";
    else if (options.includes("concise")) format = "concise";
    if (p.format !== undefined) {
      if (!["normalized", "concise", "keyValues", "simplified"].includes(p.format)) throw badRequestData("format must be normalized, concise or keyValues.");
      format = p.format === "simplified" ? "keyValues" : (p.format as Format);
    }
    const r: RenderOptions = { format, sysAttrs: options.includes("sysAttrs"), lang: p.lang };
    const attrs = splitList(p.attrs, 1000);
    if (attrs) r.keep = new Set(attrs.map((a) => attrIri(ctx, a)));
    if (p.pick !== undefined) {
      const pick = splitList(p.pick, 1000) ?? [];
      r.noId = !pick.includes("id");
      r.noType = !pick.includes("type");
      const names = new Set(pick.filter((x) => x !== "id" && x !== "type").map((a) => attrIri(ctx, a)));
      r.keep = r.keep ? new Set([...r.keep].filter((x) => names.has(x))) : names;
    }
    if (p.omit !== undefined) {
      const omit = splitList(p.omit, 1000) ?? [];
      if (omit.includes("id")) r.noId = true;
      if (omit.includes("type")) r.noType = true;
      r.drop = new Set(omit.filter((x) => x !== "id" && x !== "type").map((a) => attrIri(ctx, a)));
    }
    return r;
  }

  function prepare(actor: Actor, tenant: string, p: QueryParams, ctx: ActiveContext): Prepared {
    const filter: EntityFilter = { tenant };
    const ids = splitList(p.id, 1000);
    if (ids) {
      for (const id of ids) if (!isUri(id)) throw badRequestData(`id "${String(id).slice(0, 80)}" is not a URI.`);
      filter.ids = ids;
    }
    if (p.idPattern !== undefined) {
      checkRegex(p.idPattern);
      filter.idPattern = p.idPattern;
    }
    if (p.type !== undefined) {
      // Type lists: "A,B" (or "A|B"); ";" (entities having both) is not supported.
      if (p.type.includes(";")) throw notSupported("Type expressions with ; are not supported; give a list A,B.");
      const list = p.type.split(/[,|]/).map((t) => t.replace(/[()]/g, "").trim());
      filter.types = parseTypes(list, ctx);
    }
    const attrs = splitList(p.attrs, 1000);
    if (attrs?.length) filter.anyAttrs = attrs.map((a) => attrIri(ctx, a));
    if (p.q !== undefined) {
      const ast = parseQ(p.q);
      filter.q = (b) => compileQ(ast, b, (n) => attrIri(ctx, n));
    }
    const geo = parseGeoQuery(p);
    const geoIri = geo ? attrIri(ctx, geo.geoproperty) : LOCATION;
    if (geo && geoIri === LOCATION) filter.box = prefilter(geo);
    const only = readableTypes(actor, tenant);
    // One type condition, not two: two array conditions steer the planner to a bitmap of every
    // entity of those types, sorted, instead of walking the primary key for the first page.
    if (only && filter.types) filter.types = filter.types.filter((t) => only.includes(t));
    else if (only) filter.onlyTypes = only;
    const limit = p.limit ?? 20;
    const offset = p.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 0) throw badRequestData("limit must be a whole number ≥ 0.");
    if (limit > MAX_LIMIT) throw tooManyResults(`limit may be at most ${MAX_LIMIT}.`);
    if (limit === 0 && !p.count) throw badRequestData("limit=0 needs count=true.");
    if (!Number.isInteger(offset) || offset < 0) throw badRequestData("offset must be a whole number ≥ 0.");
    return { filter, geo, geoIri, render: renderOptions(p, ctx), limit, offset, count: p.count === true };
  }

  /** Run a filter with the PostgreSQL errors a query can provoke turned into BadRequestData. */
  async function guarded<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "2201B") throw badRequestData("The regular expression is not valid.");
      if (code === "54001" || code === "57014") throw badRequestData("The query is too complex.");
      throw err;
    }
  }

  async function runQuery(pr: Prepared): Promise<{ entities: StoredEntity[]; count?: number }> {
    if (!pr.geo) {
      const [entities, count] = await Promise.all([
        pr.limit === 0 ? Promise.resolve([]) : guarded(() => store.query(pr.filter, pr.limit, pr.offset)),
        pr.count ? guarded(() => store.count(pr.filter)) : Promise.resolve(undefined),
      ]);
      return { entities, count };
    }
    const candidates = await guarded(() => store.candidates(pr.filter, pr.geoIri, MAX_GEO_CANDIDATES + 1));
    if (candidates.length > MAX_GEO_CANDIDATES)
      throw tooManyResults(`The geo-query leaves more than ${MAX_GEO_CANDIDATES} candidates to test; narrow it (type, q, a smaller area).`);
    const geo = pr.geo;
    const hits = candidates
      .filter((c) => {
        const list = Array.isArray(c.geo) ? (c.geo as Instance[]) : [];
        const inst = list.find((i) => i.datasetId === undefined) ?? list[0];
        return inst?.type === "GeoProperty" && geoMatches(geo, inst.value as GeoJSON.Geometry);
      })
      .map((c) => c.id)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const page = hits.slice(pr.offset, pr.offset + pr.limit);
    const entities = page.length ? await store.getMany(pr.filter.tenant, page) : [];
    return { entities, count: pr.count ? hits.length : undefined };
  }

  return {
    store,
    /** Send what is still coalesced (shutdown, tests). */
    flushEvents: async () => {
      if (eventTimer) clearTimeout(eventTimer);
      await flushEvents();
    },
    resolve,
    tenantOf,
    loadConfig,
    renderOptions,
    canRead,
    readableTypes,
    checkWrite,
    commit,
    lockedById,
    lookupContext: lookup,
    contextsList: () => [...contexts.entries()].map(([url, c]) => ({ url, ...c })),
    publicTypesList: () => [...publicTypes.entries()].flatMap(([tenant, s]) => [...s].map((type) => ({ tenant, type }))),

    createEntity,

    async getEntity(actor: Actor, tenant: string, id: string, p: QueryParams, ctx: ActiveContext) {
      if (!isUri(id)) throw badRequestData("An entity id must be a URI.");
      const render = renderOptions(p, ctx);
      const e = await getStored(tenant, id);
      if (!e || !canRead(actor, tenant, e)) throw notFound(`Entity ${id} not found (or not public).`);
      return { e, render };
    },

    async query(actor: Actor, tenant: string, p: QueryParams, ctx: ActiveContext) {
      const pr = prepare(actor, tenant, p, ctx);
      const queries = deps.queries;
      if (!queries || db.inTransaction()) return { ...(await runQuery(pr)), render: pr.render, geoIri: pr.geoIri };
      // What decides the answer: who may read which types, the selection, the page, the @context.
      const key = JSON.stringify([
        readableTypes(actor, tenant) ?? null,
        p.id,
        p.idPattern,
        p.type,
        p.attrs,
        p.q,
        p.georel,
        p.geometry,
        p.coordinates,
        p.geoproperty,
        pr.limit,
        pr.offset,
        pr.count,
        ctx.source,
      ]);
      let r = key.length <= 8000 ? queries.get(tenant, key) : undefined;
      if (!r) {
        const ticket = queries.ticket(tenant);
        r = await runQuery(pr);
        if (key.length <= 8000 && r.entities.length <= 100) queries.fill(tenant, key, ticket, r);
      }
      return { ...r, render: pr.render, geoIri: pr.geoIri };
    },

    /** PUT /entities/{id}: replace all attributes (and the type). */
    replaceEntity: (actor: Actor, tenant: string, id: string, body: unknown, ctx: ActiveContext) =>
      mutate(
        actor,
        tenant,
        id,
        (cur, at) => {
          const p = parseEntity({ type: cur.types, ...(body as object) }, ctx, at, { id });
          const attrs = new Set([...Object.keys(cur.attrs), ...Object.keys(p.attrs)]);
          return { after: { ...cur, types: p.types, attrs: p.attrs, modifiedAt: at }, attrs, result: undefined };
        },
        "context.entity.replace",
      ),

    /** PATCH /entities/{id}: merge (urn:ngsi-ld:null deletes). */
    mergeEntity: (actor: Actor, tenant: string, id: string, body: unknown, ctx: ActiveContext) =>
      mutate(actor, tenant, id, (cur, at) => {
        const b = fragment(body);
        if (b.id !== undefined && b.id !== id) throw badRequestData("The id in the body differs from the id in the path.");
        const { attrs } = parseAttrs(b, ctx, at, { allowNull: true });
        const next: Attrs = { ...cur.attrs };
        for (const [iri, list] of attrs) {
          if (list === null) delete next[iri];
          else next[iri] = next[iri] ? mergeInstances(next[iri], list, at) : list;
        }
        const types = b.type !== undefined ? [...new Set([...cur.types, ...parseTypes(b.type, ctx)])] : cur.types;
        return { after: withAttrs(cur, next, at, types), attrs: new Set(attrs.keys()), result: undefined };
      }),

    /** POST /entities/{id}/attrs: append (replace existing unless noOverwrite). */
    appendAttrs: (actor: Actor, tenant: string, id: string, body: unknown, ctx: ActiveContext, noOverwrite: boolean) =>
      mutate(actor, tenant, id, (cur, at) => {
        const { attrs } = parseAttrs(fragment(body), ctx, at);
        const next: Attrs = { ...cur.attrs };
        const updated: string[] = [];
        const notUpdated: Array<{ attributeName: string; reason: string }> = [];
        for (const [iri, list] of attrs) {
          const incoming = list as Instance[];
          if (noOverwrite && next[iri]) {
            const fresh = incoming.filter((i) => !next[iri].some((x) => x.datasetId === i.datasetId));
            if (!fresh.length) {
              notUpdated.push({ attributeName: iri, reason: "The attribute exists and noOverwrite was asked." });
              continue;
            }
            next[iri] = [...next[iri], ...fresh];
          } else next[iri] = putInstances(next[iri], incoming);
          updated.push(iri);
        }
        return { after: withAttrs(cur, next, at), attrs: new Set(updated), result: { updated, notUpdated } };
      }),

    /** PATCH /entities/{id}/attrs: update attributes that exist; the others are reported. */
    updateAttrs: (actor: Actor, tenant: string, id: string, body: unknown, ctx: ActiveContext) =>
      mutate(actor, tenant, id, (cur, at) => {
        const { attrs } = parseAttrs(fragment(body), ctx, at);
        const next: Attrs = { ...cur.attrs };
        const updated: string[] = [];
        const notUpdated: Array<{ attributeName: string; reason: string }> = [];
        for (const [iri, list] of attrs) {
          const incoming = list as Instance[];
          if (!next[iri] || incoming.some((i) => !next[iri].some((x) => x.datasetId === i.datasetId))) {
            notUpdated.push({ attributeName: iri, reason: "The entity has no such attribute (or instance with that datasetId)." });
            continue;
          }
          next[iri] = putInstances(next[iri], incoming);
          updated.push(iri);
        }
        return { after: updated.length ? withAttrs(cur, next, at) : cur, attrs: new Set(updated), result: { updated, notUpdated } };
      }),

    /** PATCH /entities/{id}/attrs/{attr}: partial update of one attribute (instance). */
    patchAttr: (actor: Actor, tenant: string, id: string, name: string, body: unknown, ctx: ActiveContext) =>
      mutate(actor, tenant, id, (cur, at) => {
        const iri = attrIri(ctx, name);
        const existing = cur.attrs[iri];
        const b = fragment(body);
        const datasetId = b.datasetId;
        const target = existing?.find((x) => x.datasetId === datasetId);
        if (!existing || !target) throw notFound(`Entity ${id} has no attribute ${name}${datasetId ? ` with datasetId ${datasetId}` : ""}.`);
        // The fragment may omit the type: it is the existing one.
        const inst = parseAttribute({ type: target.type, ...b }, iri, ctx, at, name) as Instance[];
        const next = { ...cur.attrs, [iri]: mergeInstances(existing, inst, at) };
        return { after: withAttrs(cur, next, at), attrs: new Set([iri]), result: undefined };
      }),

    /** PUT /entities/{id}/attrs/{attr}: replace one attribute (instance). */
    replaceAttr: (actor: Actor, tenant: string, id: string, name: string, body: unknown, ctx: ActiveContext) =>
      mutate(actor, tenant, id, (cur, at) => {
        const iri = attrIri(ctx, name);
        if (!cur.attrs[iri]) throw notFound(`Entity ${id} has no attribute ${name}.`);
        const inst = parseAttribute(fragment(body), iri, ctx, at, name) as Instance[];
        const next = { ...cur.attrs, [iri]: putInstances(cur.attrs[iri], inst) };
        return { after: withAttrs(cur, next, at), attrs: new Set([iri]), result: undefined };
      }),

    deleteAttr: (actor: Actor, tenant: string, id: string, name: string, ctx: ActiveContext, opts: { datasetId?: string; deleteAll?: boolean }) =>
      mutate(actor, tenant, id, (cur, at) => {
        const iri = attrIri(ctx, name);
        const existing = cur.attrs[iri];
        if (!existing) throw notFound(`Entity ${id} has no attribute ${name}.`);
        const next = { ...cur.attrs };
        if (opts.deleteAll) delete next[iri];
        else {
          const rest = existing.filter((x) => x.datasetId !== opts.datasetId);
          if (rest.length === existing.length)
            throw notFound(`Attribute ${name} has no instance ${opts.datasetId ? `with datasetId ${opts.datasetId}` : "without datasetId"}.`);
          if (rest.length) next[iri] = rest;
          else delete next[iri];
        }
        return { after: withAttrs(cur, next, at), attrs: new Set([iri]), result: undefined };
      }),

    deleteEntity: (actor: Actor, tenant: string, id: string) =>
      mutate(actor, tenant, id, (cur) => ({ after: null, attrs: new Set(Object.keys(cur.attrs)), result: undefined }), "context.entity.delete"),

    // ---------------------------------------------------------------- batch operations

    /**
     * Batch create/upsert/update/delete. Entities that fail validation or their precondition are
     * reported one by one (207); the others commit together.
     */
    async batch(
      actor: Actor,
      tenant: string,
      op: "create" | "upsert" | "update" | "delete",
      body: unknown,
      ctxOf: (item: unknown) => ActiveContext,
      opts: { replace?: boolean; noOverwrite?: boolean } = {},
    ): Promise<{ success: string[]; created: string[]; errors: Array<{ entityId: string; error: ReturnType<LdProblem["toBody"]> }> }> {
      checkWrite(actor, tenant);
      if (!Array.isArray(body)) throw badRequestData("A batch is a JSON array.");
      if (body.length === 0) throw badRequestData("The batch is empty.");
      if (body.length > MAX_BATCH) throw badRequestData(`A batch has at most ${MAX_BATCH} entries.`);
      const at = nowIso();
      const errors: Array<{ entityId: string; error: ReturnType<LdProblem["toBody"]> }> = [];
      const fail = (entityId: string, err: unknown) => {
        if (!(err instanceof LdProblem)) throw err;
        errors.push({ entityId, error: err.toBody() });
      };
      const items: Array<{ id: string; parsed?: ReturnType<typeof parseEntity>; raw?: Record<string, unknown>; ctx?: ActiveContext }> = [];
      const seen = new Set<string>();
      for (const item of body) {
        const rawId = op === "delete" ? item : (item as { id?: unknown })?.id;
        const idText = typeof rawId === "string" ? rawId : "";
        try {
          if (seen.has(idText) && idText) throw badRequestData(`Entity ${idText} appears twice in the batch.`);
          if (op === "delete") {
            if (!isUri(item)) throw badRequestData("A batch delete is an array of entity ids (URIs).");
            items.push({ id: item });
          } else {
            const ctx = ctxOf(item);
            if (op === "update") {
              if (!isUri(rawId)) throw badRequestData("An entity id must be a URI.");
              const raw = fragment(item);
              parseAttrs(raw, ctx, at); // validate now
              items.push({ id: rawId, raw, ctx });
            } else items.push({ id: idText, parsed: parseEntity(item, ctx, at), ctx });
          }
          seen.add(idText);
        } catch (err) {
          fail(idText, err);
        }
      }
      const success: string[] = [];
      const created: string[] = [];
      if (items.length)
        await db.tx(async () => {
          const current = await lockedById(
            tenant,
            items.map((i) => i.id),
          );
          const changes: Change[] = [];
          for (const it of items) {
            const cur = current.get(it.id);
            try {
              if (cur?.origin === "iot") guardOrigin(cur);
              if (op === "create") {
                if (cur) throw alreadyExists(`Entity ${it.id} already exists.`);
                const p = it.parsed as ReturnType<typeof parseEntity>;
                changes.push({ after: { ...p, createdAt: at, modifiedAt: at, origin: "api" }, attrs: new Set(Object.keys(p.attrs)) });
                created.push(it.id);
              } else if (op === "delete") {
                if (!cur) throw notFound(`Entity ${it.id} not found.`);
                changes.push({ before: cur, after: null, attrs: new Set(Object.keys(cur.attrs)) });
              } else if (op === "upsert") {
                const p = it.parsed as ReturnType<typeof parseEntity>;
                if (!cur) {
                  changes.push({ after: { ...p, createdAt: at, modifiedAt: at, origin: "api" }, attrs: new Set(Object.keys(p.attrs)) });
                  created.push(it.id);
                } else if (opts.replace !== false) {
                  changes.push({
                    before: cur,
                    after: { ...cur, types: p.types, attrs: p.attrs, modifiedAt: at },
                    attrs: new Set([...Object.keys(cur.attrs), ...Object.keys(p.attrs)]),
                  });
                } else {
                  const next = { ...cur.attrs };
                  for (const [k, v] of Object.entries(p.attrs)) next[k] = putInstances(next[k], v);
                  changes.push({
                    before: cur,
                    after: withAttrs(cur, next, at, [...new Set([...cur.types, ...p.types])]),
                    attrs: new Set(Object.keys(p.attrs)),
                  });
                }
              } else {
                if (!cur) throw notFound(`Entity ${it.id} not found.`);
                const { attrs } = parseAttrs(it.raw as Record<string, unknown>, it.ctx as ActiveContext, at);
                const next = { ...cur.attrs };
                const touched = new Set<string>();
                for (const [k, v] of attrs) {
                  if (opts.noOverwrite && next[k]) continue;
                  next[k] = putInstances(next[k], v as Instance[]);
                  touched.add(k);
                }
                changes.push({ before: cur, after: withAttrs(cur, next, at), attrs: touched });
              }
              if (changes.length && changes[changes.length - 1].after) checkAttrCount((changes[changes.length - 1].after as StoredEntity).attrs);
              success.push(it.id);
            } catch (err) {
              fail(it.id, err);
            }
          }
          await commit(tenant, changes, at);
          if (op !== "update" && changes.length)
            await audit.record({
              action: `context.batch.${op}`,
              targetType: "ngsi-ld-entity",
              details: { tenant, count: changes.length, ids: success.slice(0, 20) },
            });
        });
      return { success, created, errors };
    },

    // ---------------------------------------------------------------- configuration

    async registerContext(actor: Actor, body: unknown, url: string | undefined, publicUrl: string): Promise<{ id: string; url: string }> {
      if (!body || typeof body !== "object" || Array.isArray(body) || !("@context" in body))
        throw badRequestData('A JSON-LD context document is an object with "@context".');
      const doc = { "@context": (body as { "@context": unknown })["@context"] };
      // Resolving it checks it is well formed and that everything it references is known.
      resolve(doc["@context"]);
      const id = randomUUID();
      let target: string;
      let kind: "hosted" | "cached";
      if (url !== undefined) {
        let u: URL;
        try {
          u = new URL(url);
        } catch {
          throw badRequestData("url must be an absolute http(s) URL.");
        }
        if (!["http:", "https:"].includes(u.protocol) || url.length > 1000) throw badRequestData("url must be an absolute http(s) URL.");
        if (isCoreUrl(url)) throw badRequestData("The core context is built in.");
        target = u.toString();
        kind = "cached";
      } else {
        target = `${publicUrl}/ngsi-ld/v1/jsonldContexts/${id}`;
        kind = "hosted";
      }
      if (contexts.has(target)) throw alreadyExists(`A context for ${target} is already registered.`);
      await db.tx(async () => {
        const row = await store.insertContext({ id, url: target, kind, body: doc, createdBy: actor.id ?? actor.name });
        if (!row) throw alreadyExists(`A context for ${target} is already registered.`);
        await audit.record({ action: "context.jsonld.register", targetType: "jsonld-context", targetId: id, details: { url: target, kind } });
        await bus.publish("context.config", { what: "contexts" }, "staff");
      });
      contexts.set(target, { id, kind, body: doc });
      deps.queries?.clear();
      return { id, url: target };
    },

    async deleteContext(id: string): Promise<void> {
      await db.tx(async () => {
        const row = await store.deleteContext(id);
        if (!row) throw notFound(`No registered context ${id}.`);
        await audit.record({ action: "context.jsonld.delete", targetType: "jsonld-context", targetId: id, details: { url: row.url } });
        await bus.publish("context.config", { what: "contexts" }, "staff");
        contexts.delete(row.url);
      });
      deps.queries?.clear();
    },

    async setPublic(actor: Actor, tenant: string, typeName: string, isPublic: boolean): Promise<void> {
      if (actor.agency && actor.agency !== tenant && !can(actor, "agencies:manage")) throw new Forbidden("You mark types public in your agency's tenant only.");
      const type = expand(CORE, typeName);
      checkName(typeName, "Entity type");
      await db.tx(async () => {
        if (isPublic) await store.markPublic(tenant, type, actor.id ?? actor.name);
        else if (!(await store.unmarkPublic(tenant, type))) throw notFound(`${typeName} is not public in this tenant.`);
        await audit.record({
          action: isPublic ? "context.type.public" : "context.type.private",
          targetType: "ngsi-ld-type",
          targetId: type,
          details: { tenant },
        });
        await bus.publish("context.config", { what: "publicTypes" }, "staff");
      });
      const set = publicTypes.get(tenant) ?? new Set();
      if (isPublic) set.add(type);
      else set.delete(type);
      publicTypes.set(tenant, set);
      deps.queries?.clear();
    },

    async types(actor: Actor, tenant: string) {
      return store.typeSummary(tenant, readableTypes(actor, tenant));
    },
    async attributes(actor: Actor, tenant: string) {
      return store.attributeSummary(tenant, readableTypes(actor, tenant));
    },
  };
}

export type ContextService = ReturnType<typeof contextService>;
export { resolveContext, CORE };
export const ensureUuid = () => randomUUID();
export const checkIdPattern = (p: string) => checkRegex(p);
