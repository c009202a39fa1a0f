// Indicators analytics: dashboard queries over 5 years × 102 communes × 200 data elements (about
// 1.2 million monthly values), answered by GET /api/analytics, by the analytics engine in process,
// and — the ceiling — by a plain hand-written SQL aggregate of the same data on the same database,
// in the same run. Results are checked equal before anything is timed.
//
// Standalone: it starts its own Sen in this process (PGlite, then PostgreSQL when a server is
// reachable), loads the values with one INSERT … SELECT per batch of elements (bypassing the
// entry path: this measures reading), and times queries one after another (a dashboard's
// requests; no concurrency, so the figures are latencies, not throughput).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { createSen } from "../src/app.ts";
import { loadConfig } from "../src/core/config.ts";
import { type Db, openDb } from "../src/core/db.ts";
import { type Settings, createBenchDatabase } from "./lib.ts";
import type { StandaloneBenchmark, StandaloneContext, StandaloneResult } from "./standalone.ts";

const ELEMENTS = 200;
const RATIOS = 20;
const YEARS = [2021, 2022, 2023, 2024, 2025];
const el = (i: number) => `bench.e${String(i).padStart(3, "0")}`;
const ratio = (i: number) => `bench.r${String(i).padStart(2, "0")}`;
const MONTHS_2025 = Array.from({ length: 12 }, (_, i) => `2025${String(i + 1).padStart(2, "0")}`);
const ALL_MONTHS = YEARS.flatMap((y) => Array.from({ length: 12 }, (_, i) => `${y}${String(i + 1).padStart(2, "0")}`));

interface Query {
  name: string;
  what: string;
  /** The analytics request for iteration n (elements rotate, so no answer is cached anywhere). */
  url(n: number): string;
  /** The same numbers as a plain SQL aggregate: rows of [key, value]. */
  sql(db: Db, n: number, communes: string[]): Promise<Array<[string, number]>>;
  /** The analytics rows as [key, value], to compare with sql(). */
  key(row: Array<string | number>): string;
}

const num = (x: unknown) => Number(x);
const QUERIES: Query[] = [
  {
    name: "ratio × 5 years × 102 communes",
    what: "one indicator (numerator/denominator ×100) per commune and year: the choropleth and its history",
    url: (n) => `/api/analytics?dx=${ratio((n % RATIOS) + 1)}&pe=${YEARS.join(";")}&ou=LEVEL-2`,
    async sql(db, n, communes) {
      const [a, b] = [el(((n % RATIOS) + 1) * 2 - 1), el(((n % RATIOS) + 1) * 2)];
      const rows = await db.query<{ ou: string; y: number; v: number }>(
        `SELECT ou, extract(year FROM start_date)::int AS y, sum(num) FILTER (WHERE de = $1) / sum(num) FILTER (WHERE de = $2) * 100 AS v
         FROM indicators.data_values WHERE de IN ($1, $2) AND start_date >= '2021-01-01' AND end_date <= '2025-12-31' AND ou = ANY($3::text[])
         GROUP BY 1, 2`,
        [a, b, communes],
      );
      return rows.map((r) => [`${r.y}|${r.ou}`, Math.round(num(r.v) * 10) / 10]);
    },
    key: (r) => `${r[1]}|${r[2]}`,
  },
  {
    name: "10 elements × 12 months × province",
    what: "a sector's monthly table for the year, province total",
    url: (n) => `/api/analytics?dx=${Array.from({ length: 10 }, (_, i) => el(((n * 10 + i) % ELEMENTS) + 1)).join(";")}&pe=${MONTHS_2025.join(";")}&ou=82`,
    async sql(db, n) {
      const des = Array.from({ length: 10 }, (_, i) => el(((n * 10 + i) % ELEMENTS) + 1));
      const rows = await db.query<{ de: string; pe: string; v: number }>(
        `SELECT de, pe, sum(num) AS v FROM indicators.data_values
         WHERE de = ANY($1::text[]) AND start_date >= '2025-01-01' AND end_date <= '2025-12-31' GROUP BY de, pe`,
        [des],
      );
      return rows.map((r) => [`${r.de}|${r.pe}`, num(r.v)]);
    },
    key: (r) => `${r[0]}|${r[1]}`,
  },
  {
    name: "1 element × 60 months × province",
    what: "a five-year monthly series (a chart)",
    url: (n) => `/api/analytics?dx=${el((n % ELEMENTS) + 1)}&pe=${ALL_MONTHS.join(";")}&ou=82`,
    async sql(db, n) {
      const rows = await db.query<{ pe: string; v: number }>("SELECT pe, sum(num) AS v FROM indicators.data_values WHERE de = $1 GROUP BY pe", [
        el((n % ELEMENTS) + 1),
      ]);
      return rows.map((r) => [r.pe, num(r.v)]);
    },
    key: (r) => String(r[1]),
  },
  {
    name: "50 elements × 1 year × province",
    what: "a wide year table: 61,200 values summed",
    url: (n) => `/api/analytics?dx=${Array.from({ length: 50 }, (_, i) => el(((n * 50 + i) % ELEMENTS) + 1)).join(";")}&pe=2025&ou=82`,
    async sql(db, n) {
      const des = Array.from({ length: 50 }, (_, i) => el(((n * 50 + i) % ELEMENTS) + 1));
      const rows = await db.query<{ de: string; v: number }>(
        `SELECT de, sum(num) AS v FROM indicators.data_values
         WHERE de = ANY($1::text[]) AND start_date >= '2025-01-01' AND end_date <= '2025-12-31' GROUP BY de`,
        [des],
      );
      return rows.map((r) => [r.de, num(r.v)]);
    },
    key: (r) => String(r[0]),
  },
];

interface Timing {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

function stats(ms: number[]): Timing {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
  return { n: s.length, p50: q(0.5), p99: q(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** Run fn one call after another for `seconds` (at least `min` calls); latencies in ms. */
async function time(seconds: number, fn: (n: number) => Promise<unknown>, min = 5): Promise<Timing> {
  const ms: number[] = [];
  const end = performance.now() + seconds * 1000;
  for (let n = 0; performance.now() < end || n < min; n++) {
    const t0 = performance.now();
    await fn(n);
    ms.push(performance.now() - t0);
  }
  return stats(ms);
}

async function load(db: Db): Promise<{ values: number; seconds: number }> {
  const t0 = performance.now();
  // Metadata straight into the tables (200 elements, 20 ratio indicators of consecutive pairs).
  await db.query(
    `INSERT INTO indicators.data_elements (id, name, name_en, value_type, aggregation)
     SELECT 'bench.e' || lpad(i::text, 3, '0'), 'Phần tử ' || i, 'Element ' || i, 'number', 'sum' FROM generate_series(1, $1) i`,
    [ELEMENTS],
  );
  await db.query(
    `INSERT INTO indicators.indicators (id, name, name_en, numerator, denominator, factor, decimals)
     SELECT 'bench.r' || lpad(i::text, 2, '0'), 'Tỷ lệ ' || i, 'Ratio ' || i,
            '#{bench.e' || lpad((2 * i - 1)::text, 3, '0') || '}', '#{bench.e' || lpad((2 * i)::text, 3, '0') || '}', 100, 1
     FROM generate_series(1, $1) i`,
    [RATIOS],
  );
  for (let first = 1; first <= ELEMENTS; first += 10)
    await db.query(
      `INSERT INTO indicators.data_values (de, coc, ou, pe, start_date, end_date, value, num, source, stored_by)
       SELECT 'bench.e' || lpad(e::text, 3, '0'), 'default', u.id, to_char(m, 'YYYYMM'), m::date, (m + interval '1 month - 1 day')::date,
              v::text, v, 'bench', 'bench'
       FROM generate_series($1::int, $2::int) e
       CROSS JOIN (SELECT id FROM indicators.org_units WHERE kind = 'commune') u
       CROSS JOIN generate_series(date '2021-01-01', date '2025-12-01', interval '1 month') m
       CROSS JOIN LATERAL (SELECT (1 + abs(hashtext(e::text || u.id || m::text)) % 1000)::float8 AS v) x`,
      [first, Math.min(ELEMENTS, first + 9)],
    );
  await db.query("ANALYZE indicators.data_values");
  const n = Number((await db.one<{ n: string }>("SELECT count(*) AS n FROM indicators.data_values"))?.n ?? 0);
  return { values: n, seconds: (performance.now() - t0) / 1000 };
}

interface TargetResult {
  target: string;
  values: number;
  loadSeconds: number;
  queries: Array<{ name: string; what: string; sql: Timing; engine: Timing; http: Timing }>;
}

async function runOn(target: "pglite" | "postgres", url: string | undefined, settings: Settings, log: (m: string) => void): Promise<TargetResult> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "sen-bench-ind-"));
  const db = await openDb(url ? { url, poolSize: 4 } : {});
  const config = loadConfig({
    SEN_ADMIN_PASSWORD: "bench-password-1",
    LOG_LEVEL: "silent",
    SEN_DATA_DIR: dataDir,
    PORT: "0",
    MQTT_PORT: "0",
    HOST: "127.0.0.1",
  });
  const sen = await createSen({ config, db, web: false, logger: pino({ level: "silent" }) });
  try {
    log(`  ${target}: loading ${ELEMENTS} elements × 102 communes × 60 months…`);
    const loaded = await load(db);
    await sen.services.indicators.service.reload();
    log(`    ${loaded.values.toLocaleString("en")} values in ${loaded.seconds.toFixed(1)} s`);
    const token = (
      (await sen.app.inject({ method: "POST", url: "/api/auth/login", payload: { username: "admin", password: "bench-password-1" } })).json() as {
        token: string;
      }
    ).token;
    await sen.app.listen({ port: 0, host: "127.0.0.1" });
    const addr = sen.app.server.address();
    const base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
    const headers = { authorization: `Bearer ${token}` };
    const communes = [...sen.services.indicators.service.model().units.values()].filter((u) => u.kind === "commune").map((u) => u.id);
    const out: TargetResult = { target, values: loaded.values, loadSeconds: loaded.seconds, queries: [] };
    const secondsEach = Math.max(1, settings.seconds);
    for (const q of QUERIES) {
      // Right before fast: the engine's answer equals the plain SQL's, for a few rotations.
      for (let n = 0; n < 3; n++) {
        const res = await fetch(base + q.url(n), { headers });
        if (res.status !== 200) throw new Error(`${q.url(n)} → ${res.status} ${await res.text()}`);
        const body = (await res.json()) as { rows: Array<Array<string | number>> };
        const got = new Map(body.rows.map((r) => [q.key(r), Number(r[r.length - 1])]));
        const want = await q.sql(db, n, communes);
        if (got.size !== want.length) throw new Error(`${q.name}: ${got.size} cells from analytics, ${want.length} from SQL`);
        for (const [k, v] of want)
          if (Math.abs((got.get(k) ?? Number.NaN) - v) > 1e-6 * Math.max(1, Math.abs(v)) + 0.051)
            throw new Error(`${q.name}: ${k} analytics ${got.get(k)} ≠ SQL ${v}`);
      }
      const sqlT = await time(secondsEach, (n) => q.sql(db, n, communes));
      const engine = await time(secondsEach, (n) => {
        const u = new URL(base + q.url(n));
        const p = (k: string) => (u.searchParams.get(k) ?? "").split(";").filter(Boolean);
        return sen.services.indicators.service.analytics({ dx: p("dx"), pe: p("pe"), ou: p("ou") });
      });
      const http = await time(secondsEach, async (n) => {
        const res = await fetch(base + q.url(n), { headers });
        if (res.status !== 200) throw new Error(`${res.status}`);
        await res.arrayBuffer();
      });
      log(
        `    ${q.name}: SQL p50 ${sqlT.p50.toFixed(1)} ms · engine p50 ${engine.p50.toFixed(1)} ms · HTTP p50 ${http.p50.toFixed(1)} / p99 ${http.p99.toFixed(1)} ms`,
      );
      out.queries.push({ name: q.name, what: q.what, sql: sqlT, engine, http });
    }
    return out;
  } finally {
    await sen.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const f1 = (x: number) => x.toFixed(1);

export const indicatorsBenchmark: StandaloneBenchmark = {
  standalone: true,
  name: "indicators",
  title: "Analytics over 1.2 million values (5 years × 102 communes × 200 elements)",
  async run(ctx: StandaloneContext): Promise<StandaloneResult> {
    const log = (m: string) => process.stderr.write(`${m}\n`);
    const results: TargetResult[] = [];
    results.push(await runOn("pglite", undefined, ctx.settings, log));
    let pgNote = ctx.postgres.note;
    if (ctx.postgres.server) {
      const bdb = await createBenchDatabase(ctx.postgres.server.url);
      try {
        results.push(await runOn("postgres", bdb.url, ctx.settings, log));
      } finally {
        await bdb.drop();
      }
    } else pgNote ??= "no server";
    const lines = [
      "### indicators: analytics over 1.2 million values (5 years × 102 communes × 200 data elements)",
      "",
      "Sequential requests (a dashboard's), latency in ms. *SQL* is the ceiling: a plain hand-written aggregate of the same numbers on the same database; *engine* is the analytics service in process; *HTTP* is GET /api/analytics end to end (auth, parsing, JSON).",
      "",
      "| database | query | SQL p50 / p99 | engine p50 / p99 | HTTP p50 / p99 | HTTP ÷ SQL (p50) |",
      "|---|---|---|---|---|---|",
    ];
    for (const r of results)
      for (const q of r.queries)
        lines.push(
          `| ${r.target} | ${q.name} | ${f1(q.sql.p50)} / ${f1(q.sql.p99)} | ${f1(q.engine.p50)} / ${f1(q.engine.p99)} | ${f1(q.http.p50)} / ${f1(q.http.p99)} | ${(q.http.p50 / q.sql.p50).toFixed(2)}× |`,
        );
    lines.push("", ...results.map((r) => `- ${r.target}: ${r.values.toLocaleString("en")} values loaded in ${r.loadSeconds.toFixed(1)} s.`));
    if (pgNote) lines.push(`- PostgreSQL: ${pgNote}`);
    return { report: lines.join("\n"), json: { results }, flagged: false };
  },
};
