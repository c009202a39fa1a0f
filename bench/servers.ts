// The servers a run measures, each started as a child process: the bare-Fastify ceiling, and Sen
// itself exactly as an operator starts it (`bin/sen.js start`).
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT, type RunningServer, type SenUnderTest, type ServerSpec, type Settings, startServer, tempDir } from "./lib.ts";

/** Start bench/ceiling-server.ts (GET /ping → {"pong":true}). */
export function startCeiling(settings: Settings): Promise<RunningServer> {
  return startServer({
    name: "bare Fastify",
    args: ["--import", "tsx", path.join(ROOT, "bench/ceiling-server.ts")],
    env: { ...process.env, NODE_ENV: "production" },
    readyPath: "/ping",
    timeoutMs: settings.startTimeoutMs,
  });
}

/**
 * Start Sen on a fresh data folder: the embedded PGlite database, or the PostgreSQL database at
 * `databaseUrl`. It is started twice: the first start loads the province (a few seconds).
 */
export async function startSen(settings: Settings, database: SenUnderTest["database"], databaseUrl?: string): Promise<SenUnderTest> {
  if (database === "postgres" && !databaseUrl) throw new Error("startSen: postgres needs a database URL");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    MQTT_PORT: "0",
    SEN_DATA_DIR: tempDir(`sen-bench-${database}-`),
    SEN_ADMIN_PASSWORD: "bench-password-1",
    SEN_PROVINCE: "82",
    SEN_DEMO: "0",
    LOG_LEVEL: "warn", // no per-request logging
    SEN_WEB: "0", // the APIs do not need the web console: neither build nor serve it
  };
  delete env.DATABASE_URL;
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  const spec: ServerSpec = {
    name: `Sen (${database})`,
    ...senLaunch(env),
    env,
    readyPath: "/api/health",
    timeoutMs: settings.startTimeoutMs,
    checkReady: (body) => {
      const driver = (body as { database?: { driver?: string } } | undefined)?.database?.driver;
      if (driver !== database) throw new Error(`/api/health reports database driver "${driver}", expected "${database}"`);
    },
  };
  // The first start loads the province, once in a server's life; what is measured is the server
  // as it runs from then on, restarted on its data.
  await (await startServer(spec)).stop();
  const server = await startServer(spec);
  return { ...server, database };
}

/**
 * How to run `sen start`. With BENCH_CPU_PROF=<folder>, Sen writes a V8 CPU profile there when it
 * stops: node runs bin/sen.js itself with --cpu-prof (Node 20 refuses it in NODE_OPTIONS), and the
 * variables and node flags of bin/sen.js's first line are applied here as its `env -S` would.
 */
export function senLaunch(env: NodeJS.ProcessEnv): { command: string; args: string[] } {
  const script = path.join(ROOT, "bin/sen.js");
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return { command: script, args: ["start"] };
  const words = readFileSync(script, "utf8")
    .split("\n")[0]
    .replace(/^#!\/usr\/bin\/env -S /, "")
    .split(/\s+/);
  const flags: string[] = [];
  for (const w of words) {
    const assignment = /^([A-Z_]+)=(.*)$/.exec(w);
    if (assignment) env[assignment[1]] = assignment[2];
    else if (w.startsWith("--")) flags.push(w);
  }
  return { command: process.execPath, args: [...flags, "--cpu-prof", `--cpu-prof-dir=${path.resolve(dir)}`, script, "start"] };
}
