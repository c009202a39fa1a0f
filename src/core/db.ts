// One database interface over two drivers: PGlite (embedded, in SEN_DATA_DIR) and a pg pool
// (DATABASE_URL). Transactions are bound with AsyncLocalStorage, so store code calls db.query()
// and lands in the caller's transaction without passing a client around.
import { AsyncLocalStorage } from "node:async_hooks";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import v8 from "node:v8";
import { PGlite, parse as pgliteParse, protocol } from "@electric-sql/pglite";
import pg from "pg";
import { from as copyFromStdin } from "pg-copy-streams";

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
  /**
   * Whether transactions run one at a time, with no other writer anywhere (PGlite: one connection
   * in this process). Then a row lock guards nothing, and a second transaction in flight only waits.
   */
  readonly oneWriter: boolean;
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
  /**
   * LISTEN on a channel; returns an unlisten function. On a PostgreSQL server the listening
   * connection can drop: `onConnection(false)` says notifications may be missed from then on, and
   * `onConnection(true)` that it listens again (whatever was sent in between is lost).
   */
  listen(channel: string, onPayload: (payload: string) => void, onConnection?: (up: boolean) => void): Promise<() => Promise<void>>;
  /** NOTIFY a channel from the current transaction: listeners get the payload after it commits. */
  notify(channel: string, payload: string): Promise<void>;
  /** Run multi-statement SQL without parameters (migrations only). */
  exec(sql: string): Promise<void>;
  /**
   * COPY one block of rows in PostgreSQL's COPY text (or binary) format into `table (columns)`,
   * in the current transaction if there is one: `FROM STDIN` on a server, `FROM '/dev/blob'` on
   * PGlite. The caller passes identifiers it has validated; the block is held in memory, so keep
   * it small.
   */
  copyFrom(table: string, columns: string[], data: Buffer, format?: CopyFormat): Promise<void>;
  close(): Promise<void>;
}

export type CopyFormat = "text" | "binary";
const copyOptions = (format: CopyFormat) => (format === "binary" ? " WITH (FORMAT binary)" : "");

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
  abstract readonly oneWriter: boolean;
  protected readonly als = new AsyncLocalStorage<TxState>();
  protected abstract rootClient(): Client;
  protected abstract runTx<T>(fn: (client: Client) => Promise<T>): Promise<T>;
  abstract withLock<T>(key: number, fn: () => Promise<T>): Promise<T>;
  abstract listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  async notify(channel: string, payload: string): Promise<void> {
    await this.query("SELECT pg_notify($1, $2)", [channel, payload]);
  }
  abstract exec(sql: string): Promise<void>;
  abstract copyFrom(table: string, columns: string[], data: Buffer, format?: CopyFormat): Promise<void>;
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

/** A statement PostgreSQL has parsed once under `name`, with its parameters' type OIDs. */
interface Prepared {
  name: string;
  types: number[];
}

/** Statements kept prepared at most; the least recently used is closed first. */
const PREPARED_MAX = 100;
/** Statements whose uses are counted before the count starts again. */
const SEEN_MAX = 1000;
const DDL = /^\s*(create|alter|drop|truncate)\b/i;
const { serialize } = protocol;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

class PgliteDb extends BaseDb {
  readonly driver = "pglite" as const;
  readonly oneWriter = true;
  constructor(private readonly pg: PGlite) {
    super();
  }

  // Statements Sen runs again and again (a write group's UPDATE, a query's SELECT) are prepared
  // once by name. PGlite's own query() parses and analyses the text at every call: for the
  // context store's history INSERT that was ~250 µs of WebAssembly per call, more than writing
  // 25 rows. A statement is prepared at its second use, so one-off SQL leaves nothing behind in
  // the database's memory, which never shrinks.
  private readonly prepared = new Map<string, Prepared>();
  private readonly seen = new Map<string, number>();
  private toClose: string[] = [];
  private nextName = 0;

  async query<T = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (!params.length) {
      // A schema change can change what a prepared SELECT * returns: start again after one.
      if (DDL.test(sql)) this.forgetPrepared();
      return super.query<T>(sql, params);
    }
    if (!this.prepared.has(sql)) {
      const uses = (this.seen.get(sql) ?? 0) + 1;
      if (uses < 2) {
        if (this.seen.size >= SEEN_MAX) this.seen.clear();
        this.seen.set(sql, uses);
        return super.query<T>(sql, params);
      }
      this.seen.delete(sql);
    }
    const inTx = this.inTransaction();
    const run = () => this.pg.runExclusive(() => this.runPrepared<T>(sql, params, inTx));
    try {
      // Outside a transaction this waits for any transaction in flight, as PGlite's query() does.
      return await (inTx ? run() : this.pg._runExclusiveTransaction(run));
    } catch (err) {
      // A table a statement reads was replaced under it: forget the statement; outside a
      // transaction, run it once more as plain SQL.
      if ((err as { code?: string }).code !== "0A000") throw err;
      this.forget(sql);
      if (inTx) throw err;
      return super.query<T>(sql, params);
    }
  }

  private async runPrepared<T>(sql: string, params: unknown[], inTx: boolean): Promise<T[]> {
    try {
      const st = await this.statementFor(sql);
      const values = params.map((v, i) => {
        if (v === null || v === undefined) return null;
        const serializer = this.pg.serializers[st.types[i]];
        return serializer ? serializer(v) : String(v);
      });
      const { messages } = await this.pg.execProtocol(
        concat([serialize.bind({ statement: st.name, values }), serialize.describe({ type: "P" }), serialize.execute({}), serialize.sync()]),
        { syncToFs: !inTx },
      );
      return (pgliteParse.parseResults(messages, this.pg.parsers)[0]?.rows ?? []) as T[];
    } catch (err) {
      // As PGlite's query() does: the failing statement and its parameters travel with the error.
      Object.assign(err as object, { query: sql, params });
      throw err;
    }
  }

  /** The prepared statement for `sql`, prepared now (closing evicted ones in the same call) if need be. */
  private async statementFor(sql: string): Promise<Prepared> {
    const known = this.prepared.get(sql);
    if (known) {
      // Most recently used last: the first key is the one to close when the cache is full.
      this.prepared.delete(sql);
      this.prepared.set(sql, known);
      return known;
    }
    const name = `sen_${this.nextName++}`;
    const closing = this.toClose.map((n) => serialize.close({ type: "S", name: n }));
    this.toClose = [];
    const { messages } = await this.pg.execProtocol(
      concat([...closing, serialize.parse({ name, text: sql, types: [] }), serialize.describe({ type: "S", name }), serialize.sync()]),
      { syncToFs: false },
    );
    const described = messages.find((m) => m.name === "parameterDescription") as { dataTypeIDs: number[] } | undefined;
    const st = { name, types: described?.dataTypeIDs ?? [] };
    this.prepared.set(sql, st);
    if (this.prepared.size > PREPARED_MAX) this.forget(this.prepared.keys().next().value as string);
    return st;
  }

  private forget(sql: string): void {
    const st = this.prepared.get(sql);
    if (!st) return;
    this.prepared.delete(sql);
    this.toClose.push(st.name);
  }

  private forgetPrepared(): void {
    for (const sql of [...this.prepared.keys()]) this.forget(sql);
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
  // PGlite belongs to this one process: a notification sent through Db.notify goes straight to
  // the process's listeners at commit (a NOTIFY would be one more statement in WebAssembly on
  // Sen's thread). NOTIFYs sent from SQL still arrive through PGlite's own LISTEN.
  private readonly local = new Map<string, Set<(payload: string) => void>>();
  async listen(channel: string, onPayload: (payload: string) => void) {
    const unlisten = await this.pg.listen(channel, onPayload);
    const set = this.local.get(channel) ?? new Set();
    this.local.set(channel, set.add(onPayload));
    return async () => {
      set.delete(onPayload);
      await unlisten();
    };
  }
  async notify(channel: string, payload: string): Promise<void> {
    this.afterCommit(() => {
      for (const onPayload of this.local.get(channel) ?? []) onPayload(payload);
    });
  }
  async exec(sql: string): Promise<void> {
    this.forgetPrepared(); // migrations and other scripts change the schema
    const state = this.als.getStore();
    if (state) await (state.client as unknown as PGlite).exec(sql);
    else await this.pg.exec(sql);
  }
  async copyFrom(table: string, columns: string[], data: Buffer, format: CopyFormat = "text"): Promise<void> {
    const client = (this.als.getStore()?.client ?? this.pg) as PGlite;
    // PGlite only calls arrayBuffer() on the blob: a Buffer that spans its whole ArrayBuffer is
    // handed over as is, since a copy per block is garbage that piles up faster than V8 collects it.
    const whole = data.byteOffset === 0 && data.buffer.byteLength === data.length && data.buffer instanceof ArrayBuffer;
    const blob = whole ? ({ arrayBuffer: async () => data.buffer } as Blob) : new Blob([data as Uint8Array<ArrayBuffer>]);
    await client.query(`COPY ${table} (${columns.join(", ")}) FROM '/dev/blob'${copyOptions(format)}`, [], { blob });
  }
  async close(): Promise<void> {
    await this.pg.close();
  }
}

/**
 * PostgreSQL settings of the embedded database. Its WebAssembly memory grows and never shrinks, so
 * every buffer PostgreSQL fills stays resident for the life of the process: the defaults (128 MB of
 * shared buffers, 64 MB for each index build) cost Sen about 200 MB more after a large load. Pages
 * the smaller cache misses are read back through the operating system's page cache. Index builds
 * and VACUUM after a datastore load left ~30 MB more resident with 16 MB of maintenance_work_mem,
 * nothing measurable with 4 MB (a large index sorts on disk instead).
 */
export const PGLITE_SETTINGS = ["shared_buffers=16MB", "maintenance_work_mem=4MB"];

/**
 * A new data directory is created (initdb) in a child process: PGlite runs initdb in two extra
 * WebAssembly instances whose memory (about 450 MB) would otherwise stay in Sen's resident set.
 */
async function initPgliteDir(dataDir: string): Promise<void> {
  if (existsSync(path.join(dataDir, "PG_VERSION"))) return;
  const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  const code = `require(${JSON.stringify(entry)}).PGlite.create(${JSON.stringify(dataDir)}).then((p) => p.close())`;
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, ["-e", code], { env: process.env }, (err, _out, stderr) =>
      err ? reject(new Error(`creating the embedded database in ${dataDir} failed: ${stderr || err.message}`)) : resolve(),
    ),
  );
}

async function openPglite(dataDir?: string): Promise<Db> {
  if (dataDir) {
    mkdirSync(path.dirname(path.resolve(dataDir)), { recursive: true });
    await initPgliteDir(dataDir);
  }
  const [{ unaccent }, { pg_trgm }, { cube }, { earthdistance }] = await Promise.all([
    import("@electric-sql/pglite/contrib/unaccent"),
    import("@electric-sql/pglite/contrib/pg_trgm"),
    import("@electric-sql/pglite/contrib/cube"),
    import("@electric-sql/pglite/contrib/earthdistance"),
  ]);
  // PostgreSQL's WebAssembly is compiled in the background, and its hot functions recompiled by
  // the optimising tier while Sen runs. Each compiling thread keeps the memory it used in its own
  // malloc arena; with one such thread instead of one per core the server stays ~30 MB smaller.
  v8.setFlagsFromString("--wasm-num-compilation-tasks=1");
  const pglite = await PGlite.create(dataDir, {
    extensions: { unaccent, pg_trgm, cube, earthdistance },
    startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS.flatMap((x) => ["-c", x])],
  });
  return new PgliteDb(pglite);
}

class PostgresDb extends BaseDb {
  readonly driver = "postgres" as const;
  readonly oneWriter = false;
  private listener?: pg.Client;
  private listenerStarting?: Promise<pg.Client>;
  private closing = false;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private readonly connectionWatchers = new Set<(up: boolean) => void>();
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
  async listen(channel: string, onPayload: (payload: string) => void, onConnection?: (up: boolean) => void) {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`invalid channel name: ${channel}`);
    let set = this.handlers.get(channel);
    const fresh = !set;
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(onPayload);
    if (onConnection) this.connectionWatchers.add(onConnection);
    // One dedicated connection carries every LISTEN of this process; a new channel joins it.
    const client = this.listener ?? (await this.startListener());
    if (fresh && client === this.listener) await client.query(`LISTEN ${channel}`);
    return async () => {
      set.delete(onPayload);
      if (onConnection) this.connectionWatchers.delete(onConnection);
    };
  }
  /** Connect the listening connection and LISTEN on every channel (once, however many callers). */
  private startListener(): Promise<pg.Client> {
    this.listenerStarting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url });
      client.on("notification", (msg) => {
        for (const h of this.handlers.get(msg.channel) ?? []) h(msg.payload ?? "");
      });
      client.on("error", () => this.listenerLost(client));
      client.on("end", () => this.listenerLost(client));
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${channel}`);
      } catch (err) {
        client.end().catch(() => undefined);
        throw err;
      }
      this.listener = client;
      return client;
    })().finally(() => {
      this.listenerStarting = undefined;
    });
    return this.listenerStarting;
  }
  /** The listening connection dropped: say so, then reconnect with backoff until it listens again. */
  private listenerLost(client: pg.Client): void {
    if (this.listener !== client || this.closing) return;
    this.listener = undefined;
    client.end().catch(() => undefined);
    process.emitWarning("postgres: the LISTEN connection dropped; reconnecting");
    for (const w of this.connectionWatchers) w(false);
    const retry = (delayMs: number) => {
      const timer = setTimeout(() => {
        if (this.closing) return;
        this.startListener().then(
          () => {
            for (const w of this.connectionWatchers) w(true);
          },
          () => retry(Math.min(delayMs * 2, 10_000)),
        );
      }, delayMs);
      timer.unref();
    };
    retry(100);
  }
  async exec(sql: string): Promise<void> {
    await this.query(sql);
  }
  async copyFrom(table: string, columns: string[], data: Buffer, format: CopyFormat = "text"): Promise<void> {
    const inTx = this.als.getStore()?.client as pg.PoolClient | undefined;
    const client = inTx ?? (await this.pool.connect());
    try {
      const stream = client.query(copyFromStdin(`COPY ${table} (${columns.join(", ")}) FROM STDIN${copyOptions(format)}`));
      await new Promise<void>((resolve, reject) => {
        stream.once("error", reject);
        stream.once("finish", resolve);
        stream.end(data);
      });
    } finally {
      if (!inTx) client.release();
    }
  }
  async close(): Promise<void> {
    this.closing = true;
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
