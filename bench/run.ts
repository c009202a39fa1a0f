// `npm run bench [-- name …]`: measure Sen's HTTP capabilities against a bare-Fastify ceiling.
//
// One run: start the ceiling (bare Fastify, GET /ping); start Sen on embedded PGlite and run every
// selected benchmark, measuring the ceiling before and after each; then the same on a fresh
// PostgreSQL database when a server is reachable. Each server runs in its own process and one is
// under load at a time; the load generator (autocannon) runs here. Results: a table on stdout and
// bench/results/latest.json.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { geoBenchmark } from "./geo.ts";
import { catalogBenchmark } from "./catalog.ts";
import { alertsBenchmark } from "./alerts.ts";
import { contextBenchmark } from "./context.ts";
import { ingestBenchmark } from "./ingest.ts";
import { reportsBenchmark } from "./reports.ts";
import { indicatorsBenchmark } from "./indicators.ts";
import {
  type Benchmark,
  type LoadResult,
  type Machine,
  type Measurement,
  type PostgresServer,
  ROOT,
  type SenUnderTest,
  type Settings,
  cleanupAll,
  createBenchDatabase,
  findPostgres,
  load,
  loadSettings,
  machineInfo,
  redact,
} from "./lib.ts";
import { startCeiling, startSen } from "./servers.ts";
import type { StandaloneBenchmark, StandaloneResult } from "./standalone.ts";

/**
 * Every benchmark, in run order. A new capability adds its own file and one line here. HTTP
 * benchmarks (Benchmark) run on the Sen this runner starts, against the bare-Fastify ceiling;
 * standalone ones (ingest) start their own servers and ceilings, after the HTTP ones.
 */
const BENCHMARKS: Array<Benchmark | StandaloneBenchmark> = [
  geoBenchmark,
  ingestBenchmark,
  indicatorsBenchmark,
  reportsBenchmark,
  contextBenchmark,
  alertsBenchmark,
  catalogBenchmark,
];

const isStandalone = (b: Benchmark | StandaloneBenchmark): b is StandaloneBenchmark => "standalone" in b && b.standalone;

/** Sen's goal: at least this share of the ceiling's requests per second. */
const GOAL = 0.5;

type Target = "ceiling" | SenUnderTest["database"];
const TARGET_LABEL: Record<Target, string> = { ceiling: "bare Fastify GET /ping (ceiling)", pglite: "Sen · PGlite", postgres: "Sen · PostgreSQL" };

interface Row {
  benchmark: string;
  endpoint: string;
  target: Target;
  status: "ok" | "flagged" | "skipped" | "failed";
  result?: LoadResult;
  /** Ceiling rows: their place in the run. Sen rows: the ceiling runs just before and after theirs. */
  ceilingRun?: number;
  ceilingRuns?: number[];
  /** Share of the ceiling's req/s, and latency as a multiple of the ceiling's (mean of the runs around it). */
  vsCeiling?: { rps: number; p50: number; p99: number; meetsGoal: boolean };
  /** The benchmark's own goal for this figure (see Measurement.goal). */
  goal?: Measurement["goal"];
  notes: string[];
}

const log = (msg: string) => process.stderr.write(`${msg}\n`);

function usage(): string {
  return [
    "Usage: npm run bench [-- <benchmark> …]",
    "",
    "Benchmarks:",
    ...BENCHMARKS.map((b) => `  ${b.name.padEnd(12)} ${b.title}`),
    "",
    "Environment: BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_CONNECTIONS (50), BENCH_START_TIMEOUT (180),",
    "BENCH_DATABASE_URL (else TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres; off = skip PostgreSQL).",
    "ingest: BENCH_DEVICES (100), BENCH_INFLIGHT (50 messages per device awaiting commit), BENCH_LOADERS (2 load-generator processes),",
    "BENCH_INGEST_TARGETS (aedes,sen-embedded,mosquitto,sen-external: a subset), BENCH_AEDES_SUBSCRIBER (process; network = an MQTT client),",
    "BENCH_CPU_PROF (a folder: every Sen the run starts runs with --cpu-prof and leaves its profile there, one file per thread).",
    "",
  ].join("\n");
}

function problems(r: LoadResult): string[] {
  const out: string[] = [];
  if (r.non2xx)
    out.push(
      `${r.non2xx} non-2xx (${Object.entries(r.statusCodes)
        .filter(([c]) => !c.startsWith("2"))
        .map(([c, n]) => `${c}×${n}`)
        .join(", ")})`,
    );
  if (r.errors) out.push(`${r.errors} errors`);
  if (r.timeouts) out.push(`${r.timeouts} timeouts`);
  if (!r.ok) out.push("no successful response");
  return out;
}

/** Other processes using more than this share of one core during a run make it noisy. */
const BUSY_OTHER_CPU = 20;

function measuredRow(benchmark: string, target: Target, m: Measurement): Row {
  const bad = problems(m.result);
  const other = m.result.otherCpuPercent ?? 0;
  const busy = other > BUSY_OTHER_CPU ? [`other processes used ${other}% of a core during the run: figures understated`] : [];
  const goal = m.goal && [
    ...(m.goal.minRps ? [`goal ≥ ${fmtInt(m.goal.minRps)} req/s`] : []),
    ...(m.goal.maxP99Ms ? [`goal p99 < ${fmtInt(m.goal.maxP99Ms)} ms`] : []),
  ];
  return {
    benchmark,
    endpoint: m.endpoint,
    target,
    status: bad.length ? "flagged" : "ok",
    result: m.result,
    goal: m.goal,
    notes: [...bad, ...busy, ...(goal?.length ? [goal.join(", ")] : []), ...(m.notes ?? [])],
  };
}

/** Rows for a benchmark that could not be measured on a target (one per endpoint). */
function unmeasured(b: Benchmark, target: Target, status: "failed" | "skipped", note: string): Row[] {
  return b.endpoints.map((endpoint) => ({ benchmark: b.name, endpoint, target, status, notes: [note] }));
}

// ---------------------------------------------------------------------------------------------
// Output

const fmtInt = (n: number) => n.toLocaleString("en-US");
const fmtMs = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "–");
const fmtX = (n: number) => (Number.isFinite(n) ? `×${n.toFixed(2)}` : "");

function table(headers: string[], rows: string[][], alignRight: boolean[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (alignRight[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (alignRight[i] ? `${"-".repeat(w + 1)}:` : `:${"-".repeat(w + 1)}`)).join("|")}|`;
  return [line(headers), rule, ...rows.map(line)].join("\n");
}

function benchmarkTable(rows: Row[]): string {
  const headers = ["Target", "req/s", "vs ceiling", "p50 ms", "p99 ms", "non-2xx", "errors", "CPU % server/loader/other", "result"];
  const right = [false, true, true, true, true, true, true, true, false];
  const cells = rows.map((r) => {
    const x = r.result;
    const v = r.vsCeiling;
    const status = r.status === "ok" ? "ok" : r.status === "flagged" ? `FLAGGED: ${r.notes[0] ?? ""}` : `${r.status}`;
    if (!x) return [TARGET_LABEL[r.target], "–", "–", "–", "–", "–", "–", "–", status];
    const g = r.goal;
    const mark = (ok: boolean) => (ok ? " ✓" : " ✗");
    return [
      TARGET_LABEL[r.target],
      `${fmtInt(x.rps)}${g?.minRps ? mark(x.rps >= g.minRps) : ""}`,
      r.target === "ceiling" ? "100%" : v ? `${Math.round(v.rps * 100)}%${g ? "" : mark(v.meetsGoal)}` : "n/a",
      `${fmtMs(x.latencyMs.p50)}${v && r.target !== "ceiling" ? ` (${fmtX(v.p50)})` : ""}`,
      `${fmtMs(x.latencyMs.p99)}${v && r.target !== "ceiling" ? ` (${fmtX(v.p99)})` : ""}${g?.maxP99Ms ? mark(x.latencyMs.p99 < g.maxP99Ms) : ""}`,
      fmtInt(x.non2xx),
      fmtInt(x.errors + x.timeouts),
      `${x.serverCpuPercent ?? "–"} / ${x.loaderCpuPercent} / ${x.otherCpuPercent ?? "–"}`,
      status,
    ];
  });
  return table(headers, cells, right);
}

function report(
  machine: Machine,
  settings: Settings,
  pgInfo: { server?: PostgresServer; note?: string },
  rows: Row[],
  selected: Benchmark[],
  standalone: StandaloneResult[],
): string {
  const out: string[] = [];
  out.push("## Sen benchmark");
  out.push("");
  out.push(`Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB RAM, ${machine.os}, Node ${machine.node}`);
  out.push(`Date: ${machine.date}   load average at start: ${machine.loadAverage1m}`);
  if (selected.length)
    out.push(
      `Load: autocannon in the bench process, ${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.seconds} s measured per target; each server in its own process, one under load at a time. The ceiling is measured before and after each benchmark on each database, and Sen is compared with the mean of those two runs: on a shared machine the rate moves by a fifth from one minute to the next.`,
    );
  out.push(`PostgreSQL: ${pgInfo.server ? `${pgInfo.server.version} at ${redact(pgInfo.server.url)} (${pgInfo.server.source})` : pgInfo.note}`);
  for (const b of selected) {
    const mine = rows.filter((r) => r.benchmark === b.name);
    const endpoints = new Set([...b.endpoints, ...mine.map((r) => r.endpoint)]);
    for (const endpoint of endpoints) {
      // Each Sen row between the two ceiling runs it is compared with.
      const list: Row[] = [];
      for (const r of mine.filter((x) => x.endpoint === endpoint)) {
        const [before, after] = (r.ceilingRuns ?? []).map((n) => rows.find((c) => c.ceilingRun === n));
        for (const c of [before, r, after]) if (c && !list.includes(c)) list.push(c);
      }
      out.push("");
      out.push(`### ${b.name}: ${endpoint} — ${b.title}`);
      out.push("");
      out.push(benchmarkTable(list));
      for (const r of list) for (const n of r.status === "flagged" ? r.notes.slice(1) : r.notes) out.push(`- ${TARGET_LABEL[r.target]}: ${n}`);
    }
  }
  if (selected.length)
    out.push(
      "",
      `req/s = 2xx responses per second; p50/p99 = latency of 2xx responses as the client sees it; "vs ceiling" = Sen's req/s as a share of the bare route's (goal ≥ ${GOAL * 100}%: ✓/✗, unless the figure has a goal of its own, listed under its table and marked on the req/s or p99 it sets), and (×n) = Sen's latency as a multiple of the bare route's; CPU % = CPU time during the measured run, in % of one core, of the server process / the load generator / everything else on the machine (should be near 0).`,
    );
  if (rows.some((r) => (r.result?.otherCpuPercent ?? 0) > BUSY_OTHER_CPU))
    out.push(`\n**The machine was busy with other work during at least one run (other CPU > ${BUSY_OTHER_CPU}% of a core): re-run on a quiet machine.**`);
  const flagged = rows.filter((r) => r.status === "flagged" || r.status === "failed");
  if (flagged.length) out.push(`\n**${flagged.length} run(s) flagged or failed — their figures are not trustworthy.**`);
  for (const s of standalone) out.push("", s.report);
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------
// The run

async function runOnSen(
  database: SenUnderTest["database"],
  settings: Settings,
  selected: Benchmark[],
  rows: Row[],
  measureCeiling: CeilingRun,
  databaseUrl?: string,
) {
  let sen: SenUnderTest;
  try {
    log(`Starting Sen on ${database === "pglite" ? "embedded PGlite" : "PostgreSQL"}…`);
    sen = await startSen(settings, database, databaseUrl);
    log(`  ready in ${sen.startSeconds} s (pid ${sen.pid}, ${sen.url})`);
  } catch (err) {
    log(`  FAILED: ${(err as Error).message}`);
    for (const b of selected) rows.push(...unmeasured(b, database, "failed", `Sen did not start: ${(err as Error).message.split("\n")[0]}`));
    return;
  }
  try {
    let before = await measureCeiling();
    for (const b of selected) {
      log(`  ${b.name}: ${b.title} (${settings.warmupSeconds} s warm-up + ${settings.seconds} s)…`);
      const measured: Row[] = [];
      try {
        for (const m of await b.run(sen, settings)) {
          const row = measuredRow(b.name, database, m);
          rows.push(row);
          measured.push(row);
          log(
            `    ${m.endpoint}: ${fmtInt(m.result.rps)} req/s, p50 ${fmtMs(m.result.latencyMs.p50)} ms, p99 ${fmtMs(m.result.latencyMs.p99)} ms${row.status === "flagged" ? `  FLAGGED: ${row.notes[0]}` : ""}`,
          );
        }
      } catch (err) {
        log(`    FAILED: ${(err as Error).message}`);
        rows.push(...unmeasured(b, database, "failed", (err as Error).message.split("\n")[0] as string));
      }
      const after = await measureCeiling();
      const runs = [before?.ceilingRun, after?.ceilingRun].filter((n): n is number => n !== undefined);
      for (const row of measured) row.ceilingRuns = runs;
      before = after;
    }
  } finally {
    await sen.stop();
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h") || argv.includes("--list")) {
    process.stdout.write(usage());
    return 0;
  }
  const names = argv.filter((a) => !a.startsWith("-"));
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length) {
    process.stderr.write(`Unknown benchmark: ${unknown.join(", ")}\n\n${usage()}`);
    return 2;
  }
  const chosen = names.length ? BENCHMARKS.filter((b) => names.includes(b.name)) : BENCHMARKS;
  const selected = chosen.filter((b): b is Benchmark => !isStandalone(b));
  const standalone = chosen.filter(isStandalone);
  const settings = loadSettings();
  const machine = machineInfo();
  const started = Date.now();
  log(`Sen benchmark: ${chosen.map((b) => b.name).join(", ")} — ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}`);

  const pgInfo = await findPostgres();
  log(pgInfo.server ? `PostgreSQL ${pgInfo.server.version} at ${redact(pgInfo.server.url)} (${pgInfo.server.source})` : `PostgreSQL ${pgInfo.note}`);
  const rows: Row[] = [];
  if (selected.length) await runHttp(settings, pgInfo, selected, rows);

  // Benchmarks with their own servers and ceilings.
  const done: Array<{ name: string; title: string; result: StandaloneResult }> = [];
  for (const b of standalone) {
    log(`${b.name}: ${b.title}`);
    try {
      done.push({ name: b.name, title: b.title, result: await b.run({ settings, postgres: pgInfo }) });
    } catch (err) {
      log(`  FAILED: ${(err as Error).stack ?? (err as Error).message}`);
      done.push({ name: b.name, title: b.title, result: { report: `### ${b.name}: FAILED — ${(err as Error).message}`, json: {}, flagged: true } });
    }
  }

  const text = report(
    machine,
    settings,
    pgInfo,
    rows,
    selected,
    done.map((d) => d.result),
  );
  process.stdout.write(`\n${text}\n`);

  const dir = path.join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "latest.json");
  const json = {
    machine,
    settings,
    postgres: pgInfo.server ? { version: pgInfo.server.version, url: redact(pgInfo.server.url), source: pgInfo.server.source } : { skipped: pgInfo.note },
    goal: { shareOfCeilingRps: GOAL },
    benchmarks: chosen.map((b) => ({ name: b.name, title: b.title })),
    rows,
    ...Object.fromEntries(done.map((d) => [d.name, d.result.json])),
    totalSeconds: Math.round((Date.now() - started) / 1000),
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  log(`\nResults written to ${path.relative(process.cwd(), file)} (${json.totalSeconds} s in all).`);

  return rows.some((r) => r.status === "flagged" || r.status === "failed") || done.some((d) => d.result.flagged) ? 1 : 0;
}

/** Measures the ceiling again; undefined when it could not be measured. */
type CeilingRun = () => Promise<Row | undefined>;

/**
 * The HTTP benchmarks on Sen on PGlite, then on PostgreSQL, with the bare-Fastify ceiling running
 * beside them (idle while Sen is measured) and measured before and after each benchmark.
 */
async function runHttp(settings: Settings, pgInfo: { server?: PostgresServer; note?: string }, selected: Benchmark[], rows: Row[]): Promise<void> {
  log("Starting the bare Fastify ceiling…");
  let ceiling: Awaited<ReturnType<typeof startCeiling>> | undefined;
  try {
    ceiling = await startCeiling(settings);
  } catch (err) {
    log(`  FAILED: ${(err as Error).message}`);
    rows.push({ benchmark: "ceiling", endpoint: "GET /ping", target: "ceiling", status: "failed", notes: [(err as Error).message.split("\n")[0] as string] });
  }
  let runs = 0;
  const measureCeiling: CeilingRun = async () => {
    if (!ceiling) return undefined;
    log(`  ceiling GET /ping (${settings.warmupSeconds} s warm-up + ${settings.seconds} s)…`);
    try {
      const result = await load({ server: ceiling, paths: ["/ping"], settings });
      const row = { ...measuredRow("ceiling", "ceiling", { endpoint: "GET /ping", result }), ceilingRun: ++runs };
      rows.push(row);
      log(
        `    ${fmtInt(result.rps)} req/s, p50 ${fmtMs(result.latencyMs.p50)} ms, p99 ${fmtMs(result.latencyMs.p99)} ms${row.status === "flagged" ? `  FLAGGED: ${row.notes[0]}` : ""}`,
      );
      return row;
    } catch (err) {
      log(`    FAILED: ${(err as Error).message}`);
      return undefined;
    }
  };

  try {
    // 1. Sen on embedded PGlite.
    await runOnSen("pglite", settings, selected, rows, measureCeiling);

    // 2. Sen on a fresh PostgreSQL database.
    if (pgInfo.server) {
      let db: Awaited<ReturnType<typeof createBenchDatabase>> | undefined;
      try {
        db = await createBenchDatabase(pgInfo.server.url);
        log(`Created database ${db.name}`);
      } catch (err) {
        log(`Could not create a bench database: ${(err as Error).message}`);
        for (const b of selected) rows.push(...unmeasured(b, "postgres", "failed", `CREATE DATABASE failed: ${(err as Error).message}`));
      }
      if (db) {
        try {
          await runOnSen("postgres", settings, selected, rows, measureCeiling, db.url);
        } finally {
          await db.drop().then(
            () => log(`Dropped database ${db.name}`),
            (err: Error) => log(`Could not drop database ${db.name}: ${err.message}`),
          );
        }
      }
    } else {
      for (const b of selected) rows.push(...unmeasured(b, "postgres", "skipped", pgInfo.note ?? "skipped"));
    }
  } finally {
    await ceiling?.stop();
  }

  // Ratios to the ceiling runs around each Sen run.
  for (const r of rows) {
    const around = (r.ceilingRuns ?? []).map((n) => rows.find((c) => c.ceilingRun === n)?.result).filter((x): x is LoadResult => !!x);
    if (!r.result || r.target === "ceiling" || !around.length) continue;
    const mean = (f: (x: LoadResult) => number) => around.reduce((sum, x) => sum + f(x), 0) / around.length;
    const rps = r.result.rps / mean((x) => x.rps);
    r.vsCeiling = {
      rps: Math.round(rps * 1000) / 1000,
      p50: Math.round((r.result.latencyMs.p50 / mean((x) => x.latencyMs.p50)) * 100) / 100,
      p99: Math.round((r.result.latencyMs.p99 / mean((x) => x.latencyMs.p99)) * 100) / 100,
      meetsGoal: rps >= GOAL,
    };
  }
}

let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`\n${signal}: stopping servers and removing temporary data…`);
    void cleanupAll().finally(() => process.exit(130));
  });

main(process.argv.slice(2)).then(
  async (code) => {
    await cleanupAll();
    process.exit(code);
  },
  async (err: unknown) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    await cleanupAll();
    process.exit(2);
  },
);
