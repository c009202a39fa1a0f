// The processes of `npm run bench -- ingest`: the bare aedes broker (embedded ceiling), a private
// Mosquitto on an ephemeral port (external ceiling, and the broker of Sen's external mode), Sen
// with its MQTT settings, and the fork()ed helpers (load generators, the do-nothing subscriber).
// Everything registers its clean-up, so Ctrl-C leaves nothing running.
import { execFileSync, fork, spawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import { senLaunch } from "./servers.ts";
import {
  ROOT,
  type RunningServer,
  type SenUnderTest,
  type Settings,
  freePort,
  onCleanup,
  procRssMb,
  sleep,
  startServer,
  stopChild,
  tempDir,
  waitForExit,
} from "./lib.ts";

export const MOSQUITTO = "/usr/sbin/mosquitto";
export const MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd";
export const SEN_ADMIN_PASSWORD = "bench-password-1";

// ---------------------------------------------------------------------------------------------
// CPU and memory of any process (Linux /proc)

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

/** CPU seconds (user + system, all threads) a process has used; undefined when it is gone or off Linux. */
export function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

// ---------------------------------------------------------------------------------------------
// fork()ed TypeScript helpers that talk over IPC

export interface Helper<To, From extends { type: string }> {
  pid: number;
  send(m: To): void;
  /** The next message of this type; rejects on an "error" message, exit, or timeout. */
  next<T extends From["type"]>(type: T, timeoutMs: number): Promise<Extract<From, { type: T }>>;
  stop(): Promise<void>;
}

export function forkHelper<To, From extends { type: string }>(file: string, name: string): Helper<To, From> {
  const child = fork(path.join(ROOT, "bench", file), [], {
    cwd: ROOT,
    execArgv: ["--import", "tsx"],
    serialization: "advanced", // typed arrays (latencies) pass as they are
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const inbox: From[] = [];
  const waiters: Array<() => void> = [];
  child.on("message", (m: From) => {
    inbox.push(m);
    for (const w of waiters.splice(0)) w();
  });
  child.on("exit", () => {
    for (const w of waiters.splice(0)) w();
  });
  const unregister = onCleanup(async () => {
    if (child.connected) child.send({ type: "close" });
    if (!(await waitForExit(child, 2000))) await stopChild(child);
  });
  return {
    pid: child.pid as number,
    send: (m) => child.send(m as object),
    async next(type, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = inbox.findIndex((m) => m.type === type || m.type === "error");
        if (i >= 0) {
          const m = inbox.splice(i, 1)[0] as From;
          if (m.type === "error" && type !== "error") throw new Error(`${name}: ${(m as unknown as { message: string }).message}`);
          return m as Extract<From, { type: typeof type }>;
        }
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode})`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${name}: no "${type}" after ${timeoutMs / 1000} s`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    stop: unregister,
  };
}

// ---------------------------------------------------------------------------------------------
// Brokers

export interface Broker {
  name: string;
  mqttPort: number;
  pid: number;
  cpuSeconds(): number | undefined;
  rssMb(): number | undefined;
  stop(): Promise<void>;
}

/** bench/broker-ceiling.ts: bare aedes with an in-process subscriber to # that does nothing. */
export async function startAedesCeiling(settings: Settings, subscriber: "process" | "network"): Promise<Broker & { delivered(): Promise<number> }> {
  const mqttPort = await freePort();
  const server: RunningServer = await startServer({
    name: "bare aedes",
    args: ["--import", "tsx", path.join(ROOT, "bench/broker-ceiling.ts")],
    env: { ...process.env, NODE_ENV: "production", MQTT_PORT: String(mqttPort), CEILING_SUBSCRIBER: subscriber },
    readyPath: "/stats",
    timeoutMs: settings.startTimeoutMs,
  });
  return {
    name: server.name,
    mqttPort,
    pid: server.pid,
    cpuSeconds: server.cpuSeconds,
    rssMb: server.rssMb,
    stop: server.stop,
    async delivered() {
      const body = (await (await fetch(`${server.url}/stats`)).json()) as { delivered: number };
      return body.delivered;
    },
  };
}

export const mosquittoAvailable = () => existsSync(MOSQUITTO) && existsSync(MOSQUITTO_PASSWD);

export interface MosquittoOptions {
  /** User name → password; none = anonymous access. */
  users?: Record<string, string>;
  acl?: string;
}

/**
 * A private Mosquitto on a free port of 127.0.0.1 (never 1883, the machine's own), no persistence,
 * with the queue and in-flight limits raised as docs/mqtt-external.md advises.
 */
export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Broker & { output(): string }> {
  if (!mosquittoAvailable()) throw new Error(`${MOSQUITTO} or ${MOSQUITTO_PASSWD} not found`);
  const dir = tempDir("sen-bench-mosquitto-");
  chmodSync(dir, 0o755); // Mosquitto started as root drops to the mosquitto user: let it read its files
  const lines = [`listener ${await freePort()} 127.0.0.1`];
  const port = Number(lines[0]?.split(" ")[1]);
  if (opts.users) {
    const passwd = path.join(dir, "passwd");
    writeFileSync(
      passwd,
      Object.entries(opts.users)
        .map(([u, p]) => `${u}:${p}\n`)
        .join(""),
    );
    execFileSync(MOSQUITTO_PASSWD, ["-U", passwd]); // hash the plain-text file in place
    chmodSync(passwd, 0o644);
    lines.push("allow_anonymous false", `password_file ${passwd}`);
  } else lines.push("allow_anonymous true");
  if (opts.acl) {
    const acl = path.join(dir, "acl");
    writeFileSync(acl, opts.acl);
    chmodSync(acl, 0o644);
    lines.push(`acl_file ${acl}`);
  }
  lines.push(
    "persistence false",
    "max_queued_messages 1000000",
    "max_queued_bytes 0",
    "max_inflight_messages 1000",
    "log_dest stdout",
    "log_type error",
    "log_type warning",
    "",
  );
  const conf = path.join(dir, "mosquitto.conf");
  writeFileSync(conf, lines.join("\n"));
  chmodSync(conf, 0o644);
  const child = spawn(MOSQUITTO, ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
  const out: string[] = [];
  const keep = (b: Buffer) => {
    out.push(...b.toString().split("\n").filter(Boolean));
    if (out.length > 50) out.splice(0, out.length - 50);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const stop = onCleanup(() => stopChild(child));
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`Mosquitto did not start on port ${port}: ${out.slice(-5).join(" | ")}`);
    }
    await sleep(50);
  }
  const pid = child.pid as number;
  return { name: "Mosquitto", mqttPort: port, pid, cpuSeconds: () => procCpuSeconds(pid), rssMb: () => procRssMb(pid), stop, output: () => out.join("\n") };
}

// ---------------------------------------------------------------------------------------------
// Sen

export interface SenForIngest extends SenUnderTest {
  /** The embedded broker's port (embedded mode). */
  mqttPort?: number;
}

/**
 * `bin/sen.js start` on a fresh data folder, with the embedded broker on a free port, or
 * (mqttUrl given) as a client of an external broker. Like bench/servers.ts, plus the MQTT settings.
 */
export async function startSenForIngest(
  settings: Settings,
  opts: { database: SenUnderTest["database"]; databaseUrl?: string; mqttUrl?: string },
): Promise<SenForIngest> {
  const mqttPort = opts.mqttUrl ? undefined : await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    SEN_DATA_DIR: tempDir(`sen-bench-ingest-${opts.database}-`),
    SEN_ADMIN_PASSWORD,
    SEN_PROVINCE: "82",
    SEN_DEMO: "0",
    LOG_LEVEL: "warn",
    SEN_WEB: "0",
  };
  delete env.DATABASE_URL;
  delete env.MQTT_URL;
  delete env.MQTT_PORT;
  if (opts.databaseUrl) env.DATABASE_URL = opts.databaseUrl;
  if (opts.mqttUrl) env.MQTT_URL = opts.mqttUrl;
  else env.MQTT_PORT = String(mqttPort);
  const launch = senLaunch(env);
  const server = await startServer({
    name: `Sen (${opts.database}${opts.mqttUrl ? ", external broker" : ", embedded broker"})`,
    ...launch,
    env,
    readyPath: "/api/health",
    timeoutMs: settings.startTimeoutMs,
    checkReady: (body) => {
      const driver = (body as { database?: { driver?: string } } | undefined)?.database?.driver;
      if (driver !== opts.database) throw new Error(`/api/health reports database driver "${driver}", expected "${opts.database}"`);
    },
  });
  return { ...server, database: opts.database, mqttPort };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: the processes serving the bench database (their CPU counts as the server's)

export async function postgresPids(databaseUrl: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 3000 });
  client.on("error", () => undefined);
  await client.connect();
  try {
    const rows = await client.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
       WHERE pid <> pg_backend_pid() AND (datname = current_database() OR backend_type IN ('walwriter', 'checkpointer', 'background writer'))`,
    );
    return rows.rows.map((r) => r.pid);
  } finally {
    await client.end().catch(() => undefined);
  }
}
