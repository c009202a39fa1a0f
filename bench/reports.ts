// Field reports: submissions per second with a photo (POST /api/reports, multipart, one 1600×1200
// JPEG decoded, re-encoded and thumbnailed each time), and GET /open311/v2/requests.json latency
// with 100,000 reports stored. Standalone: it fills its own database (100,000 rows in one SQL
// statement) before starting Sen on it, and measures beside two ceilings from the same run: the
// raw database (the list query Sen runs, in process) and bare HTTP (Fastify GET /ping).
import autocannon from "autocannon";
import pino from "pino";
import sharp from "sharp";
import { openServices } from "../src/app.ts";
import { loadConfig } from "../src/core/config.ts";
import { type LoadResult, ROOT, type RunningServer, type Settings, createBenchDatabase, load, onCleanup, redact, startServer, tempDir } from "./lib.ts";
import { startCeiling } from "./servers.ts";
import type { StandaloneBenchmark } from "./standalone.ts";
import path from "node:path";

const STORED = Number(process.env.BENCH_REPORTS ?? 100_000);
const PASSWORD = "bench-password-1";
const GET_FULL_CONNECTIONS = (s: Settings) => Math.min(s.connections, 10);
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Target {
  label: string;
  database: "pglite" | "postgres";
  /** Raw database: the list query, sequentially, in process. */
  rawMs?: { p50: number; p99: number };
  get?: LoadResult;
  getFiltered?: LoadResult;
  post?: { ok: number; perSecond: number; p50: number; p99: number; non2xx: number; stored: number | null; connections: number };
  error?: string;
}

/** Fill a database with `STORED` reports over the last 80 days, then close it. */
async function prepare(env: Record<string, string>): Promise<{ p50: number; p99: number }> {
  const services = await openServices({ config: loadConfig(env), logger: pino({ level: "warn" }) });
  try {
    await services.seed();
    await services.reports.seedDefaults();
    const communes = (await services.geo.list({ parent: "82", limit: 500, offset: 0 })).map((c) => c.code);
    // Points in a box around Cao Lãnh and Sa Đéc; categories and statuses mixed.
    await services.db.query(
      `INSERT INTO reports.reports (category_code, channel, status, description, lat, lon, commune_code, agency_code, requested_at, updated_at, deadline_at, resolved_at)
       SELECT c.code, 'app', (ARRAY['new','assigned','in_progress','resolved','closed'])[1 + i % 5],
              'Phản ánh mẫu số ' || i, 10.25 + (i % 997) * 0.00035, 105.45 + (i % 991) * 0.00045,
              ($2::text[])[1 + i % array_length($2::text[], 1)], 'UBND-' || ($2::text[])[1 + i % array_length($2::text[], 1)],
              t, t, t + interval '72 hours', CASE WHEN i % 5 >= 3 THEN t + interval '30 hours' END
       FROM generate_series(1, $1) AS i
       CROSS JOIN LATERAL (SELECT now() - make_interval(secs => (i::float8 / $1) * 80 * 86400) AS t) AS tt
       CROSS JOIN LATERAL (SELECT code FROM reports.categories ORDER BY code OFFSET i % 17 LIMIT 1) AS c`,
      [STORED, communes],
    );
    await services.db.query("ANALYZE reports.reports");
    // The raw-database ceiling: the query behind GET requests.json (newest 1000 of the last 90 days).
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      await services.db.query(
        "SELECT * FROM reports.reports WHERE requested_at >= now() - interval '90 days' AND requested_at <= now() ORDER BY requested_at DESC, id DESC LIMIT 1000",
      );
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return { p50: round(times[24] as number), p99: round(times[49] as number) };
  } finally {
    await services.close();
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

async function startSenOn(settings: Settings, database: Target["database"], env: Record<string, string>): Promise<RunningServer> {
  return startServer({
    name: `Sen (${database})`,
    command: path.join(ROOT, "bin/sen.js"),
    args: ["start"],
    env: { ...process.env, NODE_ENV: "production", MQTT_PORT: "0", SEN_DEMO: "0", LOG_LEVEL: "warn", SEN_WEB: "0", ...env },
    readyPath: "/api/health",
    timeoutMs: settings.startTimeoutMs,
  });
}

/** POST the same report with a photo on `connections` connections for the measured window. */
async function postLoad(url: string, body: Buffer, contentType: string, settings: Settings, connections: number) {
  const latencies: number[] = [];
  let non2xx = 0;
  const fire = (seconds: number, record: boolean) =>
    new Promise<void>((resolve, reject) => {
      const t0 = performance.now();
      const inst = autocannon(
        { url: `${url}/api/reports`, connections, duration: seconds, method: "POST", headers: { "content-type": contentType }, body },
        (err) => (err ? reject(err) : resolve()),
      );
      if (record)
        inst.on("response", (_c, status, _b, ms) => {
          if (performance.now() - t0 > seconds * 1000) return;
          if (status === 201) latencies.push(ms);
          else non2xx++;
        });
    });
  if (settings.warmupSeconds) await fire(settings.warmupSeconds, false);
  await fire(settings.seconds, true);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => round(latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? Number.NaN);
  return { ok: latencies.length, perSecond: round(latencies.length / settings.seconds), p50: pct(50), p99: pct(99), non2xx };
}

async function measure(settings: Settings, t: Target, env: Record<string, string>, photo: { body: Buffer; type: string }) {
  log(`reports (${t.label}): storing ${STORED.toLocaleString("en-US")} reports…`);
  t.rawMs = await prepare(env);
  const sen = await startSenOn(settings, t.database, env);
  try {
    const base = sen.url;
    const check = await fetch(`${base}/open311/v2/requests.json`);
    const list = (await check.json()) as unknown[];
    if (check.status !== 200 || list.length !== 1000)
      throw new Error(`GET requests.json answered ${check.status} with ${list.length} requests (expected 1000)`);
    log(`reports (${t.label}): GET requests.json`);
    // A 1000-request answer is ~0.6 MB: fewer connections, so p99 measures the answer, not a queue of 50.
    t.get = await load({ server: sen, paths: ["/open311/v2/requests.json"], settings: { ...settings, connections: GET_FULL_CONNECTIONS(settings) } });
    const filtered = ["MT01", "HT01", "GT01", "YT02"].flatMap((code) => [
      `/open311/v2/requests.json?service_code=${code}&page_size=100`,
      `/open311/v2/requests.json?service_code=${code}&status=open&page_size=50`,
    ]);
    filtered.push("/open311/v2/requests.json?bbox=105.5,10.3,105.7,10.5&page_size=100", "/open311/v2/requests.xml?page_size=100");
    t.getFiltered = await load({ server: sen, paths: filtered, settings });
    log(`reports (${t.label}): POST /api/reports with a photo`);
    const connections = Math.min(settings.connections, 8);
    const post = await postLoad(base, photo.body, photo.type, settings, connections);
    // Nothing acknowledged may be missing: count what the statistics see.
    const login = await fetch(`${base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: PASSWORD }),
    });
    const token = ((await login.json()) as { token?: string }).token;
    const stats = token
      ? ((await (
          await fetch(`${base}/api/reports/statistics?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z`, { headers: { authorization: `Bearer ${token}` } })
        ).json()) as {
          total?: { received?: number };
        })
      : undefined;
    t.post = { ...post, connections, stored: stats?.total?.received ?? null };
  } finally {
    await sen.stop();
  }
}

const fmt = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "–" : n.toLocaleString("en-US", { maximumFractionDigits: 2 }));

export const reportsBenchmark: StandaloneBenchmark = {
  standalone: true,
  name: "reports",
  title: `Field reports: submissions/s with a photo, GET requests.json with ${STORED.toLocaleString("en-US")} reports stored`,
  async run({ settings, postgres }) {
    // Like a phone photo of a street: 1600×1200, fine grain, about 0.4 MB (pure noise would be an
    // incompressible worst case no camera produces).
    const jpeg = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: "#6a8a5a", noise: { type: "gaussian", mean: 110, sigma: 25 } } })
      .blur(0.8)
      .jpeg({ quality: 85 })
      .toBuffer();
    const fd = new FormData();
    fd.append("report", JSON.stringify({ category: "MT02", description: "Rác thải đổ bừa bãi (bench)", lat: 10.46, lon: 105.63, channel: "app" }));
    fd.append("photo", new Blob([new Uint8Array(jpeg)], { type: "image/jpeg" }), "rac.jpg");
    const req = new Request("http://localhost/", { method: "POST", body: fd });
    const photo = { body: Buffer.from(await req.arrayBuffer()), type: req.headers.get("content-type") as string };

    log("reports: bare HTTP ceiling");
    const ceilingServer = await startCeiling(settings);
    let ceiling: LoadResult;
    try {
      ceiling = await load({ server: ceilingServer, paths: ["/ping"], settings });
    } finally {
      await ceilingServer.stop();
    }

    const targets: Target[] = [];
    const pgl: Target = { label: "Sen · PGlite", database: "pglite" };
    targets.push(pgl);
    try {
      await measure(settings, pgl, { SEN_DATA_DIR: tempDir("sen-bench-reports-"), SEN_ADMIN_PASSWORD: PASSWORD, SEN_PROVINCE: "82" }, photo);
    } catch (err) {
      pgl.error = (err as Error).message;
    }
    if (postgres.server) {
      const pgt: Target = { label: "Sen · PostgreSQL", database: "postgres" };
      targets.push(pgt);
      try {
        const db = await createBenchDatabase(postgres.server.url);
        onCleanup(() => db.drop());
        await measure(
          settings,
          pgt,
          { SEN_DATA_DIR: tempDir("sen-bench-reports-pg-"), DATABASE_URL: db.url, SEN_ADMIN_PASSWORD: PASSWORD, SEN_PROVINCE: "82" },
          photo,
        );
      } catch (err) {
        pgt.error = (err as Error).message;
      }
    }

    const out: string[] = [];
    out.push(`### reports: field reports (${STORED.toLocaleString("en-US")} stored)`);
    out.push("");
    out.push(
      `${settings.warmupSeconds} s warm-up + ${settings.seconds} s measured per figure; GET requests.json (1000 newest) on ${GET_FULL_CONNECTIONS(settings)} connections, filtered GET on ${settings.connections}, POST on ${Math.min(settings.connections, 8)}.`,
    );
    out.push("");
    out.push(
      "| Target | GET requests.json (1000 newest) req/s | p50 ms | p99 ms | GET filtered (≤100) req/s | p99 ms | raw DB query p50/p99 ms | POST with photo /s | p50 ms | p99 ms | stored after |",
    );
    out.push("|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    out.push(`| bare Fastify GET /ping (ceiling) | ${fmt(ceiling.rps)} | ${fmt(ceiling.latencyMs.p50)} | ${fmt(ceiling.latencyMs.p99)} | | | | | | | |`);
    let flagged = false;
    for (const t of targets) {
      if (t.error) {
        flagged = true;
        out.push(`| ${t.label} | FAILED: ${t.error.slice(0, 200)} | | | | | | | | | |`);
        continue;
      }
      const lost = t.post && t.post.stored !== null ? STORED + t.post.ok > t.post.stored : true;
      if (lost || (t.get?.non2xx ?? 0) > 0 || (t.post?.non2xx ?? 0) > 0) flagged = true;
      out.push(
        `| ${t.label} | ${fmt(t.get?.rps)} | ${fmt(t.get?.latencyMs.p50)} | ${fmt(t.get?.latencyMs.p99)} | ${fmt(t.getFiltered?.rps)} | ${fmt(t.getFiltered?.latencyMs.p99)} | ${fmt(t.rawMs?.p50)} / ${fmt(t.rawMs?.p99)} | ${fmt(t.post?.perSecond)} | ${fmt(t.post?.p50)} | ${fmt(t.post?.p99)} | ${fmt(t.post?.stored ?? undefined)}${lost ? " LOST" : ""} |`,
      );
    }
    out.push("");
    out.push(
      `GET requests.json without filters returns the spec's default: the newest 1000 requests of the last 90 days (~0.6 MB of JSON). Filtered = a mix of service_code, status, bbox and XML with page_size ≤ 100. Raw DB = the same list query run in process on the database before Sen starts. POST = multipart with one 1600×1200 JPEG of ${Math.round(jpeg.length / 1024)} KB (decoded, EXIF dropped, re-encoded, thumbnailed) and a committed report per 201; stored after = reports the statistics count afterwards (must be the stored ones plus every 201).`,
    );
    if (!postgres.server && postgres.note) out.push(`PostgreSQL: ${postgres.note}`);
    if (postgres.server) out.push(`PostgreSQL server: ${redact(postgres.server.url)}`);
    return { report: out.join("\n"), json: { stored: STORED, ceiling, targets }, flagged };
  },
};
