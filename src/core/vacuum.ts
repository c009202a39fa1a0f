// Autovacuum for the embedded database. PGlite runs PostgreSQL in single-user mode, where the
// autovacuum daemon never starts: without VACUUM every update and delete leaves its old row version
// behind (tables and indexes grow without end), the planner's statistics go stale, and after about
// two billion transactions PostgreSQL stops accepting writes to protect itself from transaction-id
// wraparound. Sen does the daemon's job itself: one table per tick, so the single connection is
// held only briefly, every table (the system catalogs too) in turn. A table whose pages are all
// still clean since its last VACUUM costs almost nothing (the visibility map skips them).
// Statistics (ANALYZE) stay with the modules that know when their data changed in bulk: analysing
// NGSI-LD entities in the middle of a 100,000-entity load cut PATCH throughput from ~1,600–2,500 to
// ~450–720 updates/s in the benchmark. PostgreSQL servers run their own autovacuum; PGlite only.
import type { Db } from "./db.ts";

export interface EmbeddedVacuum {
  /** Vacuum the next table every `tickMs` until stop(). */
  start(): void;
  /** Vacuum every table now, one after the other; returns their names. */
  round(): Promise<string[]>;
  /** Stop, after the VACUUM in progress (if any) finishes. */
  stop(): Promise<void>;
}

export function embeddedVacuum(db: Db, opts: { tickMs?: number; onError?: (err: unknown, table: string) => void } = {}): EmbeddedVacuum {
  const tickMs = opts.tickMs ?? 20_000;
  let pending: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  /** The tick's VACUUM while it runs. */
  let running: Promise<void> | undefined;

  /** Ordinary tables and materialized views, as quoted names (toast tables go with their table). */
  const tables = async () =>
    (
      await db.query<{ name: string }>(
        `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'm') AND c.relpersistence = 'p' ORDER BY n.nspname, c.relname`,
      )
    ).map((r) => r.name);

  async function vacuum(table: string): Promise<void> {
    try {
      await db.exec(`VACUUM ${table}`);
    } catch (err) {
      // Dropped since it was listed, or the database is closing: the next round tries again.
      opts.onError?.(err, table);
    }
  }

  async function step(): Promise<void> {
    if (!pending.length) pending = await tables();
    const next = pending.shift();
    if (next) await vacuum(next);
  }

  return {
    start() {
      timer ??= setInterval(() => {
        // A tick that finds the previous VACUUM still waiting (a long load holds the database) skips.
        running ??= step()
          .catch((err) => opts.onError?.(err, "(listing tables)"))
          .finally(() => {
            running = undefined;
          });
      }, tickMs);
      timer.unref();
    },
    async round() {
      const all = await tables();
      for (const t of all) await vacuum(t);
      return all;
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
