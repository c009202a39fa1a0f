// In-process cache of entity documents read by id (GET /entities/{id}), dropped when a write
// touches them. Every write goes through ContextService.commit, which drops the entities it
// changed once its transaction has committed (before the writer hears back). A process that is
// its database's only writer (Db.oneWriter) puts the written documents back instead, and its
// writes read their entities from here too.
//
// A reader that misses takes a ticket before it reads and fills the cache only if no write
// touched that entity meanwhile: a read that raced a commit never leaves the old document behind.
//
// With embedded PGlite this process is the database's only writer (the data folder is locked).
// Several Sen processes on one PostgreSQL server tell each other what they changed (cachePeers):
// every write transaction sends a NOTIFY that PostgreSQL delivers after the commit, and each
// process drops those entities. A peer's write shows there once its notice arrives (a few ms);
// while the listening connection is down the caches are off.
import { randomUUID } from "node:crypto";
import type { Db } from "../core/db.ts";
import type { StoredEntity } from "./entity.ts";

const STRIPES = 4096;

export interface EntityCache {
  get(tenant: string, id: string): StoredEntity | undefined;
  /** Taken before reading from the database; hand it back to fill(). */
  ticket(tenant: string, id: string): number;
  fill(tenant: string, id: string, ticket: number, e: StoredEntity): void;
  /** Drop these entities (a write committed). */
  drop(tenant: string, ids: Iterable<string>): void;
  clear(): void;
  /** Off (empty, no fills) while changes elsewhere may go unseen; on again when they are heard. */
  suspend(off: boolean): void;
  readonly size: number;
}

export function entityCache(max = 10_000): EntityCache {
  const map = new Map<string, StoredEntity>();
  // Write generations per stripe of keys: a fill checks that its stripe did not move.
  const generations = new Uint32Array(STRIPES);
  let off = false;
  const keyOf = (tenant: string, id: string) => (tenant ? `${tenant}\u0000${id}` : id);
  const stripe = (key: string) => {
    let h = 2166136261;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
    return (h >>> 0) % STRIPES;
  };
  return {
    get(tenant, id) {
      return map.get(keyOf(tenant, id));
    },
    ticket(tenant, id) {
      return generations[stripe(keyOf(tenant, id))];
    },
    fill(tenant, id, ticket, e) {
      const key = keyOf(tenant, id);
      if (off || generations[stripe(key)] !== ticket) return;
      if (map.size >= max && !map.has(key)) {
        // Drop the oldest tenth at once rather than one entry per fill.
        let n = Math.ceil(max / 10);
        for (const k of map.keys()) {
          map.delete(k);
          if (--n <= 0) break;
        }
      }
      map.set(key, e);
    },
    drop(tenant, ids) {
      for (const id of ids) {
        const key = keyOf(tenant, id);
        generations[stripe(key)]++;
        map.delete(key);
      }
    },
    clear() {
      for (let i = 0; i < STRIPES; i++) generations[i]++;
      map.clear();
    },
    suspend(value) {
      off = value;
      this.clear();
    },
    get size() {
      return map.size;
    },
  };
}

/**
 * Answers of entity queries (type, q, geo, pagination) by their parameters, under the same rule:
 * the process must be its database's only writer. A write in a tenant drops that tenant's
 * answers once it has committed; a query that raced a write does not fill.
 */
export interface QueryCache<T> {
  get(tenant: string, key: string): T | undefined;
  ticket(tenant: string): number;
  fill(tenant: string, key: string, ticket: number, value: T): void;
  /** A write in this tenant committed. */
  drop(tenant: string): void;
  clear(): void;
  /** As EntityCache.suspend. */
  suspend(off: boolean): void;
}

export function queryCache<T>(max = 500): QueryCache<T> {
  const map = new Map<string, { generation: number; value: T }>();
  const generations = new Map<string, number>();
  let epoch = 0;
  let off = false;
  const generation = (tenant: string) => epoch + (generations.get(tenant) ?? 0);
  const full = (tenant: string, key: string) => `${tenant}\u0000${key}`;
  return {
    get(tenant, key) {
      const hit = map.get(full(tenant, key));
      return hit && hit.generation === generation(tenant) ? hit.value : undefined;
    },
    ticket: generation,
    fill(tenant, key, ticket, value) {
      if (off || generation(tenant) !== ticket) return;
      if (map.size >= max) {
        let n = Math.ceil(max / 10);
        for (const k of map.keys()) {
          map.delete(k);
          if (--n <= 0) break;
        }
      }
      map.set(full(tenant, key), { generation: ticket, value });
    },
    drop(tenant) {
      generations.set(tenant, (generations.get(tenant) ?? 0) + 1);
    },
    clear() {
      epoch += 1_000_000;
      map.clear();
    },
    suspend(value) {
      off = value;
      this.clear();
    },
  };
}

const CHANNEL = "sen_context_changes";
/** NOTIFY payloads stop at 8000 bytes: a larger change says "the whole tenant". */
const MAX_NOTICE = 7000;

export interface CachePeers {
  /** Listen for the other processes' changes; the caches stay off until this has run. */
  start(): Promise<void>;
  /** Tell the other processes, in the caller's transaction, which entities it changes. */
  announce(tenant: string, ids: string[]): Promise<void>;
  stop(): Promise<void>;
}

/** Keep the caches of several Sen processes on one PostgreSQL server in step (see the top). */
export function cachePeers(db: Db, entities: EntityCache, queries: QueryCache<unknown>): CachePeers {
  const self = randomUUID();
  let unlisten: (() => Promise<void>) | undefined;
  const suspend = (off: boolean) => {
    entities.suspend(off);
    queries.suspend(off);
  };
  suspend(true);
  return {
    async start() {
      unlisten = await db.listen(
        CHANNEL,
        (raw) => {
          let notice: { from: string; tenant: string; ids?: string[] };
          try {
            notice = JSON.parse(raw);
          } catch {
            return;
          }
          // This process dropped its own changes when they committed.
          if (notice.from === self) return;
          if (notice.ids) entities.drop(notice.tenant, notice.ids);
          else entities.clear();
          queries.drop(notice.tenant);
        },
        (up) => suspend(!up),
      );
      suspend(false);
    },
    async announce(tenant, ids) {
      let notice = JSON.stringify({ from: self, tenant, ids });
      if (Buffer.byteLength(notice) > MAX_NOTICE) notice = JSON.stringify({ from: self, tenant });
      await db.query("SELECT pg_notify($1, $2)", [CHANNEL, notice]);
    },
    async stop() {
      await unlisten?.();
      suspend(true);
    },
  };
}
