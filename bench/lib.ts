// Shared machinery of `npm run bench`: settings, the machine, child-process servers, the load
// generator (autocannon, in this process), PostgreSQL bench databases, and clean-up.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import pg from "pg";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// ---------------------------------------------------------------------------------------------
// Settings

export interface Settings {
  /** Measured seconds per target (BENCH_SECONDS, default 10). */
  seconds: number;
  /** Warm-up seconds per target, not measured (BENCH_WARMUP_SECONDS, default 2). */
  warmupSeconds: number;
  /** Concurrent connections of the load generator (BENCH_CONNECTIONS, default 50). */
  connections: number;
  /** How long a server may take to answer its readiness check (BENCH_START_TIMEOUT seconds, default 180). */
  startTimeoutMs: number;
}

function intEnv(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  return {
    seconds: intEnv(env, "BENCH_SECONDS", 10, 1, 3600),
    warmupSeconds: intEnv(env, "BENCH_WARMUP_SECONDS", 2, 0, 600),
    connections: intEnv(env, "BENCH_CONNECTIONS", 50, 1, 10_000),
    startTimeoutMs: intEnv(env, "BENCH_START_TIMEOUT", 180, 5, 3600) * 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// The machine

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  node: string;
  os: string;
  /** 1-minute load average when the run began: a busy machine gives lower figures. */
  loadAverage1m: number;
  date: string;
}

export function machineInfo(): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage1m: Math.round(os.loadavg()[0] * 100) / 100,
    date: new Date().toISOString(),
  };
}

// ---------------------------------------------------------------------------------------------
// Clean-up: everything a run creates registers how to undo it, and it is undone even on Ctrl-C.

type Cleanup = () => Promise<void> | void;
const cleanups: Cleanup[] = [];

/** Register an undo step; the returned function runs it now (once) and unregisters it. */
export function onCleanup(fn: Cleanup): () => Promise<void> {
  cleanups.push(fn);
  return async () => {
    const i = cleanups.lastIndexOf(fn);
    if (i < 0) return;
    cleanups.splice(i, 1);
    await fn();
  };
}

/** Undo everything still registered, newest first; failures are reported, not thrown. */
export async function cleanupAll(): Promise<void> {
  for (let fn = cleanups.pop(); fn; fn = cleanups.pop()) {
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`clean-up step failed: ${(err as Error).message}\n`);
    }
  }
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Servers under test: each in its own child process, so the load generator never shares its event loop.

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface ServerSpec {
  name: string;
  /** The program to run; `node` (the same binary that runs the bench) when not given. */
  command?: string;
  /** Its arguments. */
  args: string[];
  /** Environment of the child; PORT and HOST are added. */
  env: NodeJS.ProcessEnv;
  /** GET path that answers 200 once the server is ready. */
  readyPath: string;
  /** Extra check of the ready response (e.g. the database driver); throw to fail the start. */
  checkReady?: (body: unknown) => void;
  timeoutMs: number;
  /** Starts attempted when the child exits during start-up (source being edited, port taken …). */
  attempts?: number;
}

export interface RunningServer {
  name: string;
  url: string;
  pid: number;
  /** Seconds from spawn to ready. */
  startSeconds: number;
  /** CPU seconds (user + system, all threads) used by the server so far; undefined off Linux. */
  cpuSeconds(): number | undefined;
  /** Resident memory in MB now; undefined off Linux. */
  rssMb(): number | undefined;
  /** The last lines the child wrote to stdout/stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function procCpuSeconds(pid: number): number | undefined {
  const file = `/proc/${pid}/stat`;
  if (!existsSync(file)) return undefined;
  try {
    // Fields after the "(comm)" start at field 3 (state); utime and stime are fields 14 and 15.
    const stat = readFileSync(file, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

export function procRssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  if (await waitForExit(child, 5000)) return;
  child.kill("SIGKILL");
  await waitForExit(child, 5000);
}

class StartError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

async function startOnce(spec: ServerSpec): Promise<RunningServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = spawn(spec.command ?? process.execPath, spec.args, {
    cwd: ROOT,
    env: { ...spec.env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (lines.length > 80) lines.splice(0, lines.length - 80);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const unregister = onCleanup(() => stopChild(child));
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  const output = () => lines.join("\n");
  const fail = async (message: string, retryable: boolean): Promise<never> => {
    await unregister();
    const tail = output().split("\n").slice(-25).join("\n");
    throw new StartError(`${spec.name}: ${message}${tail ? `\n--- last output ---\n${tail}` : ""}`, retryable);
  };

  const deadline = Date.now() + spec.timeoutMs;
  for (;;) {
    if (exited) return fail(`exited during start-up (code ${child.exitCode ?? child.signalCode})`, true);
    if (Date.now() > deadline) return fail(`not ready after ${spec.timeoutMs / 1000} s`, false);
    try {
      const res = await fetch(url + spec.readyPath, { signal: AbortSignal.timeout(2000) });
      const body: unknown = await res.json().catch(() => undefined);
      if (res.status === 200) {
        try {
          spec.checkReady?.(body);
        } catch (err) {
          return fail((err as Error).message, false);
        }
        break;
      }
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  const pid = child.pid as number;
  return {
    name: spec.name,
    url,
    pid,
    startSeconds: Math.round((performance.now() - t0) / 100) / 10,
    cpuSeconds: () => procCpuSeconds(pid),
    rssMb: () => procRssMb(pid),
    output,
    stop: unregister,
  };
}

/** Spawn a server and wait until it is ready; retries when the child dies during start-up. */
export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  const attempts = spec.attempts ?? 3;
  for (let i = 1; ; i++) {
    try {
      return await startOnce(spec);
    } catch (err) {
      if (!(err instanceof StartError) || !err.retryable || i >= attempts) throw err;
      process.stderr.write(`  ${spec.name} did not start (attempt ${i} of ${attempts}); retrying in 5 s\n`);
      await sleep(5000);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Load

export interface LoadResult {
  /** 2xx responses received within the measured window. */
  ok: number;
  /** The measured window in seconds (autocannon runs up to a second longer; responses after the window are not counted). */
  seconds: number;
  /** 2xx responses per second: ok / seconds. */
  rps: number;
  /** Latency of the window's 2xx responses in milliseconds (exact, from every response; autocannon's own histogram rounds to 1 ms). */
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  statusCodes: Record<string, number>;
  /** Connection errors, including timeouts. */
  errors: number;
  timeouts: number;
  connections: number;
  /** Distinct request paths cycled through. */
  paths: number;
  /** CPU used by the server process during the measured run, in % of one core. */
  serverCpuPercent?: number;
  /** CPU used by the load generator (this process) during the measured run, in % of one core. */
  loaderCpuPercent: number;
  /**
   * CPU used by everything else on the machine during the measured run, in % of one core (Linux):
   * above a few %, something else competed with the benchmark and the figures are understated.
   */
  otherCpuPercent?: number;
  serverRssMb?: number;
  /** autocannon's own summary, for comparison with its CLI output. */
  autocannon: { requestsPerSecondMean: number; latencyP50: number; latencyP99: number; total: number; durationSeconds: number };
}

export interface LoadOptions {
  server: RunningServer;
  /** Request paths (with query strings); each connection cycles through them from a different start. */
  paths: string[];
  settings: Settings;
}

function percentile(sorted: Float64Array, p: number): number {
  if (!sorted.length) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** CPU seconds the whole machine has spent busy (all cores), from os.cpus(). */
function machineBusySeconds(): number {
  let ms = 0;
  for (const c of os.cpus()) ms += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return ms / 1000;
}

/**
 * autocannon starts every connection at the head of the request list, so without this they would
 * walk it in step: all connections asking for the same entity at the same moment. Each connection
 * starts at its own place instead, so the server sees a mix at every moment.
 */
export function spreadClients(requests: autocannon.Request[], connections: number): (client: autocannon.Client) => void {
  const step = Math.max(1, Math.floor(requests.length / connections));
  let nextClient = 0;
  return (client) => {
    const k = (nextClient++ * step) % requests.length;
    if (k) client.setRequests([...requests.slice(k), ...requests.slice(0, k)]);
  };
}

function fire(
  url: string,
  paths: string[],
  connections: number,
  seconds: number,
  onResponse?: (status: number, ms: number) => void,
): Promise<{ result: autocannon.Result; reqErrors: number }> {
  const requests: autocannon.Request[] = paths.map((p) => ({ method: "GET", path: p }));
  let reqErrors = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: seconds,
        requests,
        setupClient: spreadClients(requests, connections),
      },
      (err, result) => (err ? reject(err) : resolve({ result, reqErrors })),
    );
    instance.on("reqError", () => {
      reqErrors++;
    });
    if (onResponse) instance.on("response", (_client, status, _bytes, ms) => onResponse(status, ms));
  });
}

/** Warm up, then measure: `settings.connections` connections for `settings.seconds`. */
export async function load({ server, paths, settings }: LoadOptions): Promise<LoadResult> {
  if (!paths.length) throw new Error("load: no request paths");
  if (settings.warmupSeconds > 0) await fire(server.url, paths, settings.connections, settings.warmupSeconds);

  const latencies: number[] = [];
  const busy0 = machineBusySeconds();
  const cpu0 = server.cpuSeconds();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  // autocannon notices the end of its duration at its next once-a-second sample, so it can run up
  // to a second longer; count what arrives within the window only.
  const windowEnd = t0 + settings.seconds * 1000;
  const { result, reqErrors } = await fire(server.url, paths, settings.connections, settings.seconds, (status, ms) => {
    if (status >= 200 && status < 300 && performance.now() <= windowEnd) latencies.push(ms);
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = server.cpuSeconds();
  const own = process.cpuUsage(own0);
  const busy1 = machineBusySeconds();
  const serverCpu = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined;
  const loaderCpu = (own.user + own.system) / 1e6;

  const sorted = Float64Array.from(latencies).sort();
  const mean = latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : Number.NaN;
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = s.count ?? 0;
  return {
    ok: latencies.length,
    seconds: settings.seconds,
    rps: Math.round(latencies.length / settings.seconds),
    latencyMs: {
      mean: round2(mean),
      p50: round2(percentile(sorted, 50)),
      p90: round2(percentile(sorted, 90)),
      p99: round2(percentile(sorted, 99)),
      max: round2(sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN),
    },
    non2xx: result.non2xx,
    statusCodes,
    errors: Math.max(result.errors, reqErrors),
    timeouts: result.timeouts,
    connections: settings.connections,
    paths: paths.length,
    serverCpuPercent: serverCpu === undefined ? undefined : Math.round((serverCpu / wall) * 100),
    loaderCpuPercent: Math.round((loaderCpu / wall) * 100),
    otherCpuPercent: serverCpu === undefined ? undefined : Math.max(0, Math.round(((busy1 - busy0 - serverCpu - loaderCpu) / wall) * 100)),
    serverRssMb: server.rssMb(),
    autocannon: {
      requestsPerSecondMean: round2(result.requests.mean),
      latencyP50: result.latency.p50,
      latencyP99: result.latency.p99,
      total: result.requests.total,
      durationSeconds: result.duration,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

export const DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export interface PostgresServer {
  url: string;
  /** Where the URL came from: BENCH_DATABASE_URL, TEST_DATABASE_URL or the default. */
  source: string;
  version: string;
}

/** The URL without its password, for printing. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}

/** The PostgreSQL server to measure on, or why there is none. BENCH_DATABASE_URL=off skips it. */
export async function findPostgres(env: NodeJS.ProcessEnv = process.env): Promise<{ server?: PostgresServer; note?: string }> {
  const given = env.BENCH_DATABASE_URL?.trim();
  if (given && ["off", "none", "0", "false"].includes(given.toLowerCase())) return { note: "skipped: BENCH_DATABASE_URL=off" };
  const [source, url] = given
    ? ["BENCH_DATABASE_URL", given]
    : env.TEST_DATABASE_URL?.trim()
      ? ["TEST_DATABASE_URL", env.TEST_DATABASE_URL.trim()]
      : ["default", DEFAULT_POSTGRES_URL];
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const row = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0];
    return { server: { url, source, version: row?.v ?? "unknown" } };
  } catch (err) {
    return { note: `skipped: no PostgreSQL server reachable at ${redact(url)} (${source}): ${(err as Error).message}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function admin<T>(serverUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** CREATE DATABASE sen_bench_<random>; drop() (also run by clean-up) removes it. */
export async function createBenchDatabase(serverUrl: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `sen_bench_${randomBytes(6).toString("hex")}`;
  await admin(serverUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const drop = onCleanup(async () => {
    await admin(serverUrl, async (c) => {
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); // PostgreSQL 13+
      } catch {
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
      }
    });
  });
  return { name, url: u.toString(), drop };
}

// ---------------------------------------------------------------------------------------------
// Benchmarks: one per capability (geo, IoT ingest, NGSI-LD …), listed in bench/run.ts.

/** A Sen under test, started by the runner (once per database) and shared by every benchmark. */
export interface SenUnderTest extends RunningServer {
  database: "pglite" | "postgres";
}

export interface Measurement {
  /** What was asked, e.g. "GET /api/geo/locate". */
  endpoint: string;
  result: LoadResult;
  /** Anything the reader must know about this figure. */
  notes?: string[];
  /**
   * The issue's own goal for this figure, when it sets one in absolute terms; it replaces the
   * share of the ceiling as what ✓/✗ means. An empty object: no goal for this figure.
   */
  goal?: { minRps?: number; maxP99Ms?: number };
}

export interface Benchmark {
  /** Short name used on the command line: `npm run bench -- geo`. */
  name: string;
  /** One line for the report. */
  title: string;
  /** What it measures, e.g. ["GET /api/geo/locate"]: one table each; every Measurement names one. */
  endpoints: string[];
  /**
   * Measure the capability on a running Sen (PGlite, then PostgreSQL: each a fresh database
   * seeded with the province). Check that the answers are right before measuring; throw to fail.
   */
  run(sen: SenUnderTest, settings: Settings): Promise<Measurement[]>;
}
