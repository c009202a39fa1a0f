// Warnings: fan-out of one alert to BENCH_ALERT_SUBSCRIBERS (100,000) webhook subscribers on a
// local sink — deliveries per second and the time until every subscriber has it — beside two
// ceilings measured in the same run: bare HTTP (the same POSTs straight to the sink, no Sen) and
// the raw job queue (the same number of jobs with a handler that does nothing).
import http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { createSen } from "../src/app.ts";
import { loadConfig } from "../src/core/config.ts";
import { type Actor, SYSTEM, runWithContext } from "../src/core/context.ts";
import { openDb } from "../src/core/db.ts";
import { jobQueue } from "../src/core/jobs/queue.ts";
import { permissionsOf } from "../src/core/policy.ts";
import { createBenchDatabase, redact, tempDir } from "./lib.ts";
import type { StandaloneBenchmark } from "./standalone.ts";

const SUBSCRIBERS = Number(process.env.BENCH_ALERT_SUBSCRIBERS ?? 100_000);
const TIMEOUT_S = Number(process.env.BENCH_ALERT_TIMEOUT ?? 1800);
const CONCURRENCY = Number(process.env.SEN_ALERTS_DELIVERY_CONCURRENCY ?? 32);
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Sink {
  url: string;
  count(): number;
  distinct(): number;
  close(): void;
}

async function startSink(): Promise<Sink> {
  const seen = new Set<string>();
  let n = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      n++;
      seen.add(String(req.headers["x-sen-delivery"] ?? n));
      res.writeHead(200).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, count: () => n, distinct: () => seen.size, close: () => server.close() };
}

/** Bare HTTP ceiling: POSTs of a delivery-sized body straight to the sink for `seconds`. */
async function httpCeiling(sink: Sink, seconds: number): Promise<number> {
  const body = JSON.stringify({ deliveryId: "x", alert: { headline: "Cảnh báo lũ trên sông Tiền".repeat(4), description: "x".repeat(600) } });
  const until = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, k) => {
      while (Date.now() < until) {
        const r = await fetch(sink.url, { method: "POST", headers: { "content-type": "application/json", "x-sen-delivery": `c${k}-${done}` }, body });
        await r.arrayBuffer();
        done++;
      }
    }),
  );
  return done / seconds;
}

/** Raw queue ceiling: jobs/s of the durable queue with a handler that does nothing. */
async function queueCeiling(url: string | undefined, seconds: number): Promise<number> {
  const db = await openDb({ url });
  try {
    const { migrate } = await import("../src/core/migrate.ts");
    const path = await import("node:path");
    const { ROOT } = await import("./lib.ts");
    await migrate(db, [{ module: "core", dir: path.join(ROOT, "src/core/migrations") }]);
    const jobs = jobQueue(db);
    const n = Math.min(SUBSCRIBERS, 50_000);
    await jobs.enqueueMany(
      "bench.ceiling",
      Array.from({ length: n }, (_, i) => ({ key: `c${i}`, payload: { i } })),
    );
    let done = 0;
    const t0 = performance.now();
    const w = jobs.work("bench.ceiling", async () => void done++, { concurrency: CONCURRENCY });
    await new Promise((r) => setTimeout(r, seconds * 1000));
    await w.stop();
    return done / ((performance.now() - t0) / 1000);
  } finally {
    await db.close();
  }
}

interface Result {
  target: string;
  subscribers: number;
  subscribeSeconds: number;
  fanoutSeconds: number | null;
  allDeliveredSeconds: number | null;
  deliveriesPerSecond: number | null;
  delivered: number;
  raw: number;
  httpCeiling: number;
  queueCeiling: number;
  error?: string;
}

async function measure(target: string, url: string | undefined, seconds: number): Promise<Result> {
  const sink = await startSink();
  const r: Result = {
    target,
    subscribers: SUBSCRIBERS,
    subscribeSeconds: 0,
    fanoutSeconds: null,
    allDeliveredSeconds: null,
    deliveriesPerSecond: null,
    delivered: 0,
    raw: 0,
    httpCeiling: 0,
    queueCeiling: 0,
  };
  try {
    log(`alerts (${target}): bare HTTP ceiling`);
    r.httpCeiling = await httpCeiling(sink, seconds);
    log(`alerts (${target}): raw job-queue ceiling`);
    r.queueCeiling = await queueCeiling(url, seconds);
    const before = sink.count();
    const db = await openDb({ url, dataDir: url ? undefined : undefined });
    const config = loadConfig({
      SEN_DATA_DIR: tempDir("sen-bench-alerts-"),
      SEN_ADMIN_PASSWORD: "bench-password-1",
      PORT: "0",
      MQTT_PORT: "0",
      LOG_LEVEL: "warn",
    });
    const sen = await createSen({ config, db, web: false, logger: pino({ level: "warn" }) });
    try {
      const { alerts } = sen.services;
      const staff = (id: string): Actor => ({ type: "user", id, name: id, roles: ["operator"], permissions: permissionsOf(["operator"]), agency: "TTCDS" });
      log(`alerts (${target}): ${SUBSCRIBERS} webhook subscribers`);
      const t0 = performance.now();
      for (let i = 0; i < SUBSCRIBERS; i += 10_000) {
        const subs = Array.from({ length: Math.min(10_000, SUBSCRIBERS - i) }, (_, k) => ({
          name: `sms-${i + k}`,
          channel: "webhook" as const,
          target: { url: sink.url },
          communes: ["29971"],
        }));
        await runWithContext({ actor: SYSTEM }, () => alerts.delivery.subscribeMany(subs, SYSTEM));
      }
      r.subscribeSeconds = (performance.now() - t0) / 1000;
      const a = staff("00000000-0000-4000-8000-000000000001");
      const b = staff("00000000-0000-4000-8000-000000000002");
      const draft = await runWithContext({ actor: a }, () =>
        alerts.service.create(
          {
            hazard: "flood",
            severity: "Severe",
            infos: [{ language: "vi", event: "Lũ", headline: "Cảnh báo lũ trên sông Tiền", description: "Mực nước Tân Châu vượt BĐ2." }],
            area: { communes: ["29971"] },
            expires: new Date(Date.now() + 6 * 3_600_000).toISOString(),
          },
          a,
        ),
      );
      await runWithContext({ actor: a }, () => alerts.service.submit(draft.id, a));
      log(`alerts (${target}): publishing and delivering`);
      const t1 = performance.now();
      await runWithContext({ actor: b }, () => alerts.service.approve(draft.id, b));
      const deadline = t1 + TIMEOUT_S * 1000;
      let lastLog = 0;
      for (;;) {
        await new Promise((res) => setTimeout(res, 200));
        const now = performance.now();
        if (r.fanoutSeconds === null && (await alerts.delivery.progress(draft.id)).fanoutDone) r.fanoutSeconds = (now - t1) / 1000;
        const d = sink.distinct() - 0;
        if (now - lastLog > 10_000) {
          const q = await sen.services.jobs.stats("alerts.deliver");
          log(`  ${d} delivered after ${((now - t1) / 1000).toFixed(0)} s (jobs: ${JSON.stringify(q)})`);
          lastLog = now;
        }
        if (d >= SUBSCRIBERS + Math.min(before, 0) && sink.count() - before >= SUBSCRIBERS) {
          r.allDeliveredSeconds = (now - t1) / 1000;
          break;
        }
        if (now > deadline) break;
      }
      r.raw = sink.count() - before;
      r.delivered = Math.min(SUBSCRIBERS, r.raw);
      const secs = r.allDeliveredSeconds ?? (performance.now() - t1) / 1000;
      r.deliveriesPerSecond = r.delivered / secs;
    } finally {
      await sen.close();
    }
  } catch (err) {
    r.error = (err as Error).message;
  } finally {
    sink.close();
  }
  return r;
}

const fmt = (n: number | null | undefined, d = 0) =>
  n === null || n === undefined || !Number.isFinite(n) ? "–" : n.toLocaleString("en-US", { maximumFractionDigits: d });

export const alertsBenchmark: StandaloneBenchmark = {
  standalone: true,
  name: "alerts",
  title: `Warnings: fan-out of one alert to ${SUBSCRIBERS.toLocaleString("en-US")} webhook subscribers (deliveries/s, time to reach all)`,
  async run({ settings, postgres }) {
    const results: Result[] = [await measure("Sen · PGlite", undefined, settings.seconds)];
    if (postgres.server) {
      const db = await createBenchDatabase(postgres.server.url);
      results.push(await measure(`Sen · PostgreSQL (${redact(postgres.server.url)})`, db.url, settings.seconds));
    }
    const rows = results.map(
      (r) =>
        `| ${r.target} | ${fmt(r.subscribers)} | ${fmt(r.deliveriesPerSecond)} | ${fmt(r.allDeliveredSeconds, 1)} s | ${fmt(r.fanoutSeconds, 1)} s | ${fmt(r.httpCeiling)} | ${fmt(r.queueCeiling)} | ${r.error ?? ""} |`,
    );
    const report = [
      "### Warnings: alert fan-out",
      "",
      `Concurrency ${CONCURRENCY} delivery jobs per process; one webhook POST per subscriber to a local sink (keep-alive).`,
      "",
      "| target | subscribers | deliveries/s | time to reach all | fan-out enqueued after | ceiling: bare HTTP POST/s | ceiling: raw job queue jobs/s | error |",
      "|---|---:|---:|---:|---:|---:|---:|---|",
      ...rows,
      "",
    ].join("\n");
    return { report, json: { results }, flagged: results.some((r) => r.error || r.allDeliveredSeconds === null) };
  },
};
