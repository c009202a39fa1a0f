// In-process cache of entity documents read by id (GET /entities/{id}), dropped when a write
// touches them. Every write goes through ContextService.commit, which drops the entities it
// changed once its transaction has committed (before the writer hears back).
//
// A reader that misses takes a ticket before it reads and fills the cache only if no write
// touched that entity meanwhile: a read that raced a commit never leaves the old document behind.
//
// Only a process that is the sole writer of its database may keep one: with embedded PGlite the
// data folder is locked to one process. Several Sen processes on one PostgreSQL server would not
// see each other's writes, so there the cache is off (see createContext).
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
  readonly size: number;
}

export function entityCache(max = 10_000): EntityCache {
  const map = new Map<string, StoredEntity>();
  // Write generations per stripe of keys: a fill checks that its stripe did not move.
  const generations = new Uint32Array(STRIPES);
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
      if (generations[stripe(key)] !== ticket) return;
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
}

export function queryCache<T>(max = 500): QueryCache<T> {
  const map = new Map<string, { generation: number; value: T }>();
  const generations = new Map<string, number>();
  let epoch = 0;
  const generation = (tenant: string) => epoch + (generations.get(tenant) ?? 0);
  const full = (tenant: string, key: string) => `${tenant}\u0000${key}`;
  return {
    get(tenant, key) {
      const hit = map.get(full(tenant, key));
      return hit && hit.generation === generation(tenant) ? hit.value : undefined;
    },
    ticket: generation,
    fill(tenant, key, ticket, value) {
      if (generation(tenant) !== ticket) return;
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
  };
}
