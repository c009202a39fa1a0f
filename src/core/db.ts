// One database interface over two drivers: PGlite (embedded, in SEN_DATA_DIR) and a pg pool
// (DATABASE_URL). Transactions are bound with AsyncLocalStorage, so store code calls db.query()
// and lands in the caller's transaction without passing a client around.
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";

export type Row = Record<string, unknown>;
export type DriverName = "pglite" | "postgres";

/** The minimal client both drivers expose: one query, parameterised. */
interface Client {
  query(sql: string, params?: unknown[]): Promise<{ rows: Row[]; affectedRows?: number }>;
}

interface TxState {
  client: Client;
  afterCommit: Array<() => void | Promise<void>>;
}

export interface Db {
  readonly driver: DriverName;
  /** Run a parameterised statement in the current transaction if there is one. */
  query<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** First row or undefined. */
  one<T = Row>(sql: string, params?: unknown[]): Promise<T | undefined>;
  /** Run fn in a transaction; nested calls join the outer one. */
  tx<T>(fn: () => Promise<T>): Promise<T>;
  /** Run fn after the current transaction commits (at once when there is none). */
  afterCommit(fn: () => void | Promise<void>): void;
  inTransaction(): boolean;
  /** Hold a session-level advisory lock while fn runs (cluster-wide on PostgreSQL). */
  withLock<T>(key: number, fn: () => Promise<T>): Promise<T>;
  /** LISTEN on a channel; returns an unlisten function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  /** Run multi-statement SQL without parameters (migrations only). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

export interface DbOptions {
  /** postgres://… for a server; undefined for embedded PGlite. */
  url?: string;
  /** Folder for PGlite's files; undefined keeps PGlite in memory (tests). */
  dataDir?: string;
  poolSize?: number;
}

export async function openDb(opts: DbOptions): Promise<Db> {
  return opts.url ? openPostgres(opts.url, opts.poolSize ?? 10) : openPglite(opts.dataDir);
}

abstract class BaseDb implements Db {
  abstract readonly driver: DriverName;
  protected readonly als = new AsyncLocalStorage<TxState>();
  protected abstract rootClient(): Client;
  protected abstract runTx<T>(fn: (client: Client) => Promise<T>): Promise<T>;
  abstract withLock<T>(key: number, fn: () => Promise<T>): Promise<T>;
  abstract listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  abstract exec(sql: string): Promise<void>;
  abstract close(): Promise<void>;

  async query<T = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = this.als.getStore()?.client ?? this.rootClient();
    const res = await client.query(sql, params);
    return res.rows as T[];
  }

  async one<T = Row>(sql: string, params: unknown[] = []): Promise<T | undefined> {
    return (await this.query<T>(sql, params))[0];
  }

  inTransaction(): boolean {
    return this.als.getStore() !== undefined;
  }

  async tx<T>(fn: () => Promise<T>): Promise<T> {
    if (this.als.getStore()) return fn();
    const afterCommit: TxState["afterCommit"] = [];
    const result = await this.runTx((client) => this.als.run({ client, afterCommit }, fn));
    for (const cb of afterCommit) {
      try {
        await cb();
      } catch (err) {
        // An after-commit action must not turn a committed change into an error for the caller.
        process.emitWarning(`after-commit action failed: ${(err as Error).message}`);
      }
    }
    return result;
  }

  afterCommit(fn: () => void | Promise<void>): void {
    const state = this.als.getStore();
    if (state) state.afterCommit.push(fn);
    else void Promise.resolve().then(fn);
  }
}

class PgliteDb extends BaseDb {
  readonly driver = "pglite" as const;
  constructor(private readonly pg: PGlite) {
    super();
  }
  protected rootClient(): Client {
    return this.pg;
  }
  protected runTx<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    return this.pg.transaction((tx) => fn(tx));
  }
  // PGlite lives in this one process, so an advisory lock guards nothing another process could
  // do; a promise chain serialises the callers inside this process instead.
  private lockChain: Promise<unknown> = Promise.resolve();
  withLock<T>(_key: number, fn: () => Promise<T>): Promise<T> {
    const run = this.lockChain.then(fn, fn);
    this.lockChain = run.catch(() => undefined);
    return run;
  }
  async listen(channel: string, onPayload: (payload: string) => void) {
    return this.pg.listen(channel, onPayload);
  }
  async exec(sql: string): Promise<void> {
    const state = this.als.getStore();
    if (state) await (state.client as unknown as PGlite).exec(sql);
    else await this.pg.exec(sql);
  }
  async close(): Promise<void> {
    await this.pg.close();
  }
}

async function openPglite(dataDir?: string): Promise<Db> {
  if (dataDir) mkdirSync(path.dirname(path.resolve(dataDir)), { recursive: true });
  const [{ unaccent }, { pg_trgm }, { cube }, { earthdistance }] = await Promise.all([
    import("@electric-sql/pglite/contrib/unaccent"),
    import("@electric-sql/pglite/contrib/pg_trgm"),
    import("@electric-sql/pglite/contrib/cube"),
    import("@electric-sql/pglite/contrib/earthdistance"),
  ]);
  const pglite = await PGlite.create(dataDir, { extensions: { unaccent, pg_trgm, cube, earthdistance } });
  return new PgliteDb(pglite);
}

class PostgresDb extends BaseDb {
  readonly driver = "postgres" as const;
  private listener?: pg.Client;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
  ) {
    super();
  }
  protected rootClient(): Client {
    return this.pool;
  }
  protected async runTx<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
  async withLock<T>(key: number, fn: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("SELECT pg_advisory_lock($1)", [key]);
      try {
        return await fn();
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [key]);
      }
    } finally {
      client.release();
    }
  }
  async listen(channel: string, onPayload: (payload: string) => void) {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`invalid channel name: ${channel}`);
    if (!this.listener) {
      // One dedicated connection carries every LISTEN of this process.
      this.listener = new pg.Client({ connectionString: this.url });
      await this.listener.connect();
      this.listener.on("notification", (msg) => {
        for (const h of this.handlers.get(msg.channel) ?? []) h(msg.payload ?? "");
      });
    }
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await this.listener.query(`LISTEN ${channel}`);
    }
    set.add(onPayload);
    return async () => {
      set.delete(onPayload);
    };
  }
  async exec(sql: string): Promise<void> {
    await this.query(sql);
  }
  async close(): Promise<void> {
    await this.listener?.end().catch(() => undefined);
    await this.pool.end();
  }
}

// PGlite returns int8 as a number; make pg agree so both drivers hand back the same rows.
pg.types.setTypeParser(20, (v) => Number(v));

async function openPostgres(url: string, poolSize: number): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client that loses its server must not crash the process; the next query reconnects.
  pool.on("error", (err) => process.emitWarning(`postgres pool: ${err.message}`));
  await pool.query("SELECT 1");
  return new PostgresDb(pool, url);
}
