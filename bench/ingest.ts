// IoT ingest over MQTT: many simulated devices, QoS 1, 3 data points per message, against four
// targets, one at a time, each in its own process(es):
//   1. bare aedes (the broker Sen embeds) with a do-nothing subscriber: the embedded ceiling
//   2. Sen on PGlite with its embedded broker: devices sign in with their access token
//   3. a private Mosquitto with a do-nothing shared subscriber: the external ceiling
//   4. Sen on PostgreSQL behind that Mosquitto (password file + ACL, shared subscription)
// Each ceiling runs before and after its Sen target; Sen's share is of the mean of the two.
// Measured: data points committed per second, publish → commit latency, and afterwards that every
// acknowledged point is stored (the iot.points view). The load generators are child processes (ingest-load.ts).
import os from "node:os";
import pg from "pg";
import type { CommitSignal, FromLoader, LoaderDevice, LoaderResult, ToLoader } from "./ingest-load.ts";
import { type Settings, createBenchDatabase, redact, sleep } from "./lib.ts";
import type { FromSink, ToSink } from "./mqtt-sink.ts";
import {
  type Broker,
  type Helper,
  type SenForIngest,
  SEN_ADMIN_PASSWORD,
  forkHelper,
  mosquittoAvailable,
  postgresPids,
  procCpuSeconds,
  startAedesCeiling,
  startMosquitto,
  startSenForIngest,
} from "./mqtt-servers.ts";
import type { StandaloneBenchmark, StandaloneContext } from "./standalone.ts";

/** The issue's goals: points/s committed, and the share of the raw broker rate. */
const GOAL_POINTS_PER_SECOND = 50_000;
const GOAL_SHARE = 0.5;
const POINTS_PER_MESSAGE = 3;
/** Sen's embedded broker refuses more than 50 connections a second from one address. */
const SEN_CONNECTS_PER_SECOND = 40;
const CEILING_CONNECTS_PER_SECOND = 200;
/** How long the end of a run may take to see every message in flight committed. */
const DRAIN_MS = 30_000;
const PROFILE = "bench";

const log = (msg: string) => process.stderr.write(`${msg}\n`);

// ---------------------------------------------------------------------------------------------
// Settings

export interface IngestSettings {
  /** Simulated devices, one MQTT connection each (BENCH_DEVICES, default 100). */
  devices: number;
  /** Messages per device awaiting commit at any moment (BENCH_INFLIGHT, default 50). */
  inflight: number;
  /** Load-generator processes (BENCH_LOADERS, default 2). */
  loaders: number;
  /** The aedes ceiling's subscriber: in the broker's process (default) or an MQTT client (BENCH_AEDES_SUBSCRIBER=network). */
  aedesSubscriber: "process" | "network";
}

function intEnv(name: string, def: number, min: number, max: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}

export function ingestSettings(): IngestSettings {
  return {
    devices: intEnv("BENCH_DEVICES", 100, 1, 10_000),
    inflight: intEnv("BENCH_INFLIGHT", 50, 1, 1000),
    loaders: intEnv("BENCH_LOADERS", 2, 1, 8),
    aedesSubscriber: process.env.BENCH_AEDES_SUBSCRIBER?.trim() === "network" ? "network" : "process",
  };
}

// ---------------------------------------------------------------------------------------------
// One measured run: load generators against a broker, CPU of every process involved.

type TargetId = "aedes" | "sen-embedded" | "mosquitto" | "sen-external";
const LABEL: Record<TargetId, string> = {
  aedes: "bare aedes + do-nothing subscriber (ceiling)",
  "sen-embedded": "Sen · PGlite · embedded broker",
  mosquitto: "bare Mosquitto + do-nothing subscriber (ceiling)",
  "sen-external": "Sen · PostgreSQL · Mosquitto",
};
const CEILING_OF: Partial<Record<TargetId, TargetId>> = { "sen-embedded": "aedes", "sen-external": "mosquitto" };

interface Drive {
  seconds: number;
  windowMessages: number;
  latencies: Float64Array;
  published: number;
  committed: number;
  outstanding: number;
  perDevice: Record<string, { published: number; committed: number }>;
  brokerAcked: number;
  publishErrors: number;
  disconnects: number;
  firstError?: string;
  sse?: { events: number; truncatedEvents: number; fallbackConfirmations: number };
  /** CPU during the window, % of one core: each server-side part, the load generators, the rest of the machine. */
  cpu: { parts: Record<string, number>; server: number; loader: number; other: number };
  connectSeconds: number;
}

interface Part {
  name: string;
  pids(): Promise<number[]> | number[];
}

const epochNow = () => performance.timeOrigin + performance.now();

function machineBusySeconds(): number {
  let ms = 0;
  for (const c of os.cpus()) ms += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return ms / 1000;
}

async function sampleCpu(parts: Part[], loaderPids: number[]) {
  const out: { parts: Record<string, number>; loaders: number; self: number; busy: number; t: number } = {
    parts: {},
    loaders: 0,
    self: 0,
    busy: 0,
    t: 0,
  };
  const pidLists = await Promise.all(parts.map((p) => p.pids()));
  parts.forEach((p, i) => {
    out.parts[p.name] = (pidLists[i] ?? []).reduce((s, pid) => s + (procCpuSeconds(pid) ?? 0), 0);
  });
  out.loaders = loaderPids.reduce((s, pid) => s + (procCpuSeconds(pid) ?? 0), 0);
  const u = process.cpuUsage();
  out.self = (u.user + u.system) / 1e6;
  out.busy = machineBusySeconds();
  out.t = epochNow();
  return { ...out, pidLists };
}

async function drive(opts: {
  settings: Settings;
  ingest: IngestSettings;
  mqttUrl: string;
  devices: LoaderDevice[];
  commit: CommitSignal;
  connectsPerSecond: number;
  parts: Part[];
  /** Called at the start and the end of the measured window (e.g. read Sen's counters). */
  atWindow?: (edge: "start" | "end") => Promise<void>;
}): Promise<Drive> {
  const { settings, ingest } = opts;
  const n = Math.min(ingest.loaders, opts.devices.length);
  const loaders = Array.from({ length: n }, (_, i) => forkHelper<ToLoader, FromLoader>("ingest-load.ts", `load generator ${i + 1}`));
  try {
    const t0 = Date.now();
    for (const [i, l] of loaders.entries())
      l.send({
        type: "connect",
        config: {
          mqttUrl: opts.mqttUrl,
          devices: opts.devices.filter((_, k) => k % n === i),
          inflight: ingest.inflight,
          connectsPerSecond: opts.connectsPerSecond / n,
          commit: opts.commit,
        },
      });
    const connectTimeout = 30_000 + (opts.devices.length / opts.connectsPerSecond) * 1000 * 2;
    await Promise.all(loaders.map((l) => l.next("connected", connectTimeout)));
    const connectSeconds = Math.round((Date.now() - t0) / 100) / 10;

    const start = epochNow();
    const windowStart = start + settings.warmupSeconds * 1000;
    const windowEnd = windowStart + settings.seconds * 1000;
    for (const l of loaders) l.send({ type: "start", windowStart, windowEnd });
    await sleep(Math.max(0, windowStart - epochNow()));
    await opts.atWindow?.("start");
    const a = await sampleCpu(
      opts.parts,
      loaders.map((l) => l.pid),
    );
    await sleep(Math.max(0, windowEnd - epochNow()));
    const b = await sampleCpu(
      opts.parts.map((p, i) => ({ name: p.name, pids: () => a.pidLists[i] ?? [] })),
      loaders.map((l) => l.pid),
    );
    await opts.atWindow?.("end");

    for (const l of loaders) l.send({ type: "stop", timeoutMs: DRAIN_MS });
    const results = (await Promise.all(loaders.map((l) => l.next("stopped", DRAIN_MS + 15_000)))).map((m) => m.result as LoaderResult);

    const wall = (b.t - a.t) / 1000;
    const pct = (s: number) => Math.round((s / wall) * 100);
    const parts: Record<string, number> = {};
    let server = 0;
    for (const p of opts.parts) {
      const used = Math.max(0, (b.parts[p.name] ?? 0) - (a.parts[p.name] ?? 0)); // a process that exited takes its CPU with it
      parts[p.name] = pct(used);
      server += used;
    }
    const loaderCpu = b.loaders - a.loaders + (b.self - a.self);
    const other = Math.max(0, b.busy - a.busy - server - loaderCpu);

    const total = results.reduce((s, r) => s + r.latencies.length, 0);
    const latencies = new Float64Array(total);
    let at = 0;
    for (const r of results) {
      latencies.set(r.latencies, at);
      at += r.latencies.length;
    }
    latencies.sort();
    const sum = <K extends keyof LoaderResult>(k: K) => results.reduce((s, r) => s + (r[k] as number), 0);
    const sseParts = results.map((r) => r.sse).filter((s): s is NonNullable<LoaderResult["sse"]> => !!s);
    return {
      seconds: settings.seconds,
      windowMessages: sum("windowCommitted"),
      latencies,
      published: sum("published"),
      committed: sum("committed"),
      outstanding: sum("outstanding"),
      perDevice: Object.assign({}, ...results.map((r) => r.perDevice)),
      brokerAcked: sum("brokerAcked"),
      publishErrors: sum("publishErrors"),
      disconnects: sum("disconnects"),
      firstError: results.find((r) => r.firstError)?.firstError,
      sse: sseParts.length
        ? {
            events: sseParts.reduce((s, x) => s + x.events, 0) / sseParts.length,
            truncatedEvents: sseParts.reduce((s, x) => s + x.truncatedEvents, 0) / sseParts.length,
            fallbackConfirmations: sseParts.reduce((s, x) => s + x.fallbackConfirmations, 0),
          }
        : undefined,
      cpu: { parts, server: pct(server), loader: pct(loaderCpu), other: pct(other) },
      connectSeconds,
    };
  } finally {
    await Promise.all(loaders.map((l) => l.stop()));
  }
}

// ---------------------------------------------------------------------------------------------
// Rows

export interface IngestRow {
  target: TargetId;
  label: string;
  status: "ok" | "flagged" | "skipped" | "failed";
  result?: {
    seconds: number;
    /** Messages committed in the measured window, per second. */
    messagesPerSecond: number;
    /** Data points committed in the measured window, per second (messages × 3). */
    pointsPerSecond: number;
    /** How a message counted as committed. */
    commitSignal: string;
    latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
    published: number;
    committed: number;
    /** Published, never seen committed after the drain. */
    outstanding: number;
    /** Committed (acknowledged) points that are not where they should be. */
    lostPoints: number;
    /** How "lost" was checked. */
    verified: string;
    publishErrors: number;
    disconnects: number;
    cpu: Drive["cpu"];
    rssMb: Record<string, number | undefined>;
    connectSeconds: number;
    extra?: Record<string, unknown>;
  };
  vsCeiling?: { share: number; meetsShare: boolean; meetsPoints: boolean; p50: number; p99: number };
  notes: string[];
}

const round2 = (n: number) => Math.round(n * 100) / 100;
function percentile(sorted: Float64Array, p: number): number {
  if (!sorted.length) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

function rowFrom(
  target: TargetId,
  d: Drive,
  check: { lostPoints: number; verified: string; notes?: string[] },
  commitSignal: string,
  rss: Record<string, number | undefined>,
  extra?: Record<string, unknown>,
): IngestRow {
  const l = d.latencies;
  const mean = l.length ? l.reduce((s, x) => s + x, 0) / l.length : Number.NaN;
  const notes: string[] = [];
  if (check.lostPoints > 0) notes.push(`${check.lostPoints} acknowledged data points missing (${check.verified})`);
  if (d.outstanding > 0) notes.push(`${d.outstanding} messages published and never acknowledged within ${DRAIN_MS / 1000} s of the end`);
  if (d.publishErrors || d.disconnects)
    notes.push(`${d.publishErrors} publish errors, ${d.disconnects} disconnects${d.firstError ? ` (first: ${d.firstError})` : ""}`);
  if (d.cpu.other > 20) notes.push(`other processes used ${d.cpu.other}% of a core during the run: figures understated`);
  const busy = d.cpu.server + d.cpu.loader + d.cpu.other;
  // (Kernel time spent on loopback TCP in soft interrupts is not counted, so "busy" reads a little low.)
  if (!CEILING_OF[target] && busy >= os.cpus().length * 100 - 25)
    notes.push(
      `the ${os.cpus().length} cores were (nearly) all busy (broker side ${d.cpu.server}%, load generators ${d.cpu.loader}%): the broker alone could take more, so this ceiling is a floor and Sen's share of it is overstated`,
    );
  if (d.sse?.fallbackConfirmations)
    notes.push(`${d.sse.fallbackConfirmations} messages were seen committed through GET /api/devices/{id}/latest (not named in a commit event)`);
  const flagged = notes.length > 0 && (check.lostPoints > 0 || d.outstanding > 0 || d.publishErrors > 0 || d.disconnects > 0);
  notes.push(...(check.notes ?? []));
  return {
    target,
    label: LABEL[target],
    status: flagged ? "flagged" : "ok",
    result: {
      seconds: d.seconds,
      messagesPerSecond: Math.round(d.windowMessages / d.seconds),
      pointsPerSecond: Math.round((d.windowMessages * POINTS_PER_MESSAGE) / d.seconds),
      commitSignal,
      latencyMs: {
        mean: round2(mean),
        p50: round2(percentile(l, 50)),
        p90: round2(percentile(l, 90)),
        p99: round2(percentile(l, 99)),
        max: round2(l.length ? (l[l.length - 1] as number) : Number.NaN),
      },
      published: d.published,
      committed: d.committed,
      outstanding: d.outstanding,
      lostPoints: check.lostPoints,
      verified: check.verified,
      publishErrors: d.publishErrors,
      disconnects: d.disconnects,
      cpu: d.cpu,
      rssMb: rss,
      connectSeconds: d.connectSeconds,
      extra: { ...extra, ...(d.sse ? { sse: d.sse } : {}) },
    },
    notes,
  };
}

const failedRow = (target: TargetId, status: "failed" | "skipped", note: string): IngestRow => ({ target, label: LABEL[target], status, notes: [note] });

// ---------------------------------------------------------------------------------------------
// Sen: sign in, a device profile with keys a, b, c, and the bench devices.

async function api<T>(sen: { url: string }, token: string | undefined, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(sen.url + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

async function prepareSen(sen: SenForIngest, count: number, external: boolean): Promise<{ token: string; devices: LoaderDevice[]; registerSeconds: number }> {
  const { token } = await api<{ token: string }>(sen, undefined, "POST", "/api/auth/login", { username: "admin", password: SEN_ADMIN_PASSWORD });
  // Three numeric keys without ranges or rules: what is measured is ingest, not the rules engine.
  await api(sen, token, "PUT", `/api/device-profiles/${PROFILE}`, {
    name: "Thiết bị đo tải",
    nameEn: "Benchmark device",
    type: "Device",
    keys: { a: { label: "a" }, b: { label: "b" }, c: { label: "c" } },
    inactivityTimeoutSeconds: 600,
    retentionDays: 30,
    rules: [],
  });
  const t0 = Date.now();
  const devices: LoaderDevice[] = [];
  const queue = Array.from({ length: count }, (_, i) => i);
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const id = `bench-${i}`;
        const accessToken = `BENCH-${String(i).padStart(4, "0")}`; // tokens have at least 8 characters
        const password = `bench-pw-${i}`;
        await api(sen, token, "POST", "/api/devices", {
          id,
          name: `Bench device ${i}`,
          profileId: PROFILE,
          accessToken,
          ...(external ? { mqttUsername: id, mqttPassword: password } : {}),
        });
        devices[i] = external
          ? { id, clientId: id, username: id, password, topic: `v1/devices/${id}/telemetry` }
          : { id, clientId: id, username: accessToken, topic: "v1/devices/me/telemetry" };
      }
    }),
  );
  return { token, devices, registerSeconds: Math.round((Date.now() - t0) / 100) / 10 };
}

async function senPoints(sen: SenForIngest, token: string): Promise<number> {
  return (await api<{ points: number }>(sen, token, "GET", "/api/iot/stats")).points;
}

/** Compare, per device and key, the rows stored with the messages acknowledged. */
function compare(d: Drive, rows: Map<string, Record<string, number>>): { lostPoints: number; unconfirmedStored: number; notes: string[] } {
  let lostPoints = 0;
  let unconfirmedStored = 0;
  let extra = 0;
  for (const [id, c] of Object.entries(d.perDevice)) {
    const got = rows.get(id) ?? {};
    for (const key of ["a", "b", "c"]) {
      const n = got[key] ?? 0;
      if (n < c.committed) lostPoints += c.committed - n;
      else if (n > c.published) extra += n - c.published;
      else unconfirmedStored += n - c.committed;
    }
  }
  const notes: string[] = [];
  if (unconfirmedStored)
    notes.push(`${unconfirmedStored} points stored whose acknowledgement the device never saw (normal when a message was in flight at the end)`);
  if (extra) notes.push(`${extra} more rows than points published`);
  return { lostPoints, unconfirmedStored, notes };
}

// ---------------------------------------------------------------------------------------------
// The four targets

function genericDevices(count: number, topic: (i: number) => string): LoaderDevice[] {
  return Array.from({ length: count }, (_, i) => ({ id: `bench-${i}`, clientId: `bench-${i}`, topic: topic(i) }));
}

async function runAedes(settings: Settings, ingest: IngestSettings): Promise<IngestRow> {
  const network = ingest.aedesSubscriber === "network";
  log(`  bare aedes (embedded-broker ceiling, subscriber ${network ? "over MQTT" : "in the broker's process"})…`);
  let broker: (Broker & { delivered(): Promise<number> }) | undefined;
  const sink = network ? forkHelper<ToSink, FromSink>("mqtt-sink.ts", "do-nothing subscriber") : undefined;
  try {
    broker = await startAedesCeiling(settings, ingest.aedesSubscriber);
    const b = broker;
    if (sink) {
      sink.send({ type: "connect", url: `mqtt://127.0.0.1:${b.mqttPort}`, topic: "#", clientId: "sen-bench-sink", protocolVersion: 4 });
      await sink.next("connected", 10_000);
    }
    const d = await drive({
      settings,
      ingest,
      mqttUrl: `mqtt://127.0.0.1:${b.mqttPort}`,
      devices: genericDevices(ingest.devices, () => "v1/devices/me/telemetry"),
      commit: { kind: "puback" },
      connectsPerSecond: CEILING_CONNECTS_PER_SECOND,
      parts: [{ name: "aedes", pids: () => [b.pid] }, ...(sink ? [{ name: "subscriber", pids: () => [sink.pid] }] : [])],
    });
    const delivered = sink ? await sinkCount(sink, d.committed) : await b.delivered();
    return rowFrom(
      "aedes",
      d,
      {
        lostPoints: Math.max(0, d.committed - delivered) * POINTS_PER_MESSAGE,
        verified: `the subscriber ${network ? "received" : "was handed"} ${delivered} messages; ${d.committed} were acknowledged`,
        notes: [
          network
            ? "subscriber: an MQTT client (QoS 1, #) in its own process"
            : "subscriber: a subscription to # inside the broker's process, as Sen's ingest is",
        ],
      },
      "PUBACK",
      { aedes: b.rssMb() },
    );
  } catch (err) {
    return failedRow("aedes", "failed", (err as Error).message.split("\n")[0] as string);
  } finally {
    await sink?.stop();
    await broker?.stop();
  }
}

/** Wait (up to 10 s) until the subscriber has every acknowledged message; what it has by then. */
async function sinkCount(sink: Helper<ToSink, FromSink>, expected: number): Promise<number> {
  let received = 0;
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(100)) {
    sink.send({ type: "count" });
    received = (await sink.next("count", 5000)).received;
    if (received >= expected) break;
  }
  return received;
}

async function runSenEmbedded(settings: Settings, ingest: IngestSettings): Promise<IngestRow> {
  log("  Sen on PGlite with its embedded broker…");
  let sen: SenForIngest | undefined;
  try {
    sen = await startSenForIngest(settings, { database: "pglite" });
    const s = sen;
    log(`    ready in ${s.startSeconds} s (pid ${s.pid}, MQTT port ${s.mqttPort})`);
    const { token, devices, registerSeconds } = await prepareSen(s, ingest.devices, false);
    const from = new Date(Date.now() - 60_000);
    const pointsBefore = await senPoints(s, token);
    const at: Record<string, number> = {};
    const d = await drive({
      settings,
      ingest,
      mqttUrl: `mqtt://127.0.0.1:${s.mqttPort}`,
      devices,
      commit: { kind: "puback" },
      connectsPerSecond: SEN_CONNECTS_PER_SECOND,
      parts: [{ name: "Sen", pids: () => [s.pid] }],
      atWindow: async (edge) => {
        at[edge] = await senPoints(s, token);
      },
    });
    // Every device's stored points, counted by the database (raw rows per key, 1-minute buckets).
    const to = new Date(Date.now() + 11 * 60_000);
    const rows = new Map<string, Record<string, number>>();
    const queue = [...devices];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let dev = queue.shift(); dev; dev = queue.shift()) {
          const q = `from=${from.toISOString()}&to=${to.toISOString()}&interval=1m&agg=count`;
          const body = await api<Record<string, Array<{ count: number }>>>(s, token, "GET", `/api/devices/${dev.id}/telemetry?${q}`);
          rows.set(dev.id, Object.fromEntries(Object.entries(body).map(([k, b]) => [k, b.reduce((x, y) => x + y.count, 0)])));
        }
      }),
    );
    const pointsAfter = await senPoints(s, token);
    const cmp = compare(d, rows);
    const senWindow = (at.end ?? 0) - (at.start ?? 0);
    return rowFrom(
      "sen-embedded",
      d,
      {
        lostPoints: cmp.lostPoints,
        verified: "rows per device and key counted through GET /api/devices/{id}/telemetry?interval=1m&agg=count",
        notes: [
          ...cmp.notes,
          `Sen's own counter: ${Math.round(senWindow / d.seconds).toLocaleString("en-US")} points/s committed in the window, ${(pointsAfter - pointsBefore).toLocaleString("en-US")} points in the run (${(d.committed * POINTS_PER_MESSAGE).toLocaleString("en-US")} acknowledged)`,
        ],
      },
      "PUBACK (sent after commit)",
      { Sen: s.rssMb() },
      {
        registerSeconds,
        senStartSeconds: s.startSeconds,
        senPointsPerSecondInWindow: Math.round(senWindow / d.seconds),
        senPointsInRun: pointsAfter - pointsBefore,
      },
    );
  } catch (err) {
    return failedRow("sen-embedded", "failed", (err as Error).message.split("\n")[0] as string);
  } finally {
    await sen?.stop();
  }
}

async function runMosquitto(settings: Settings, ingest: IngestSettings): Promise<IngestRow> {
  log("  bare Mosquitto (external-broker ceiling)…");
  if (!mosquittoAvailable()) return failedRow("mosquitto", "skipped", "skipped: Mosquitto is not installed (/usr/sbin/mosquitto)");
  let broker: Awaited<ReturnType<typeof startMosquitto>> | undefined;
  const sink = forkHelper<ToSink, FromSink>("mqtt-sink.ts", "do-nothing subscriber");
  try {
    broker = await startMosquitto();
    const b = broker;
    sink.send({
      type: "connect",
      url: `mqtt://127.0.0.1:${b.mqttPort}`,
      topic: "$share/sen/v1/devices/+/telemetry",
      clientId: "sen-bench-sink",
      protocolVersion: 5,
    });
    await sink.next("connected", 10_000);
    const d = await drive({
      settings,
      ingest,
      mqttUrl: `mqtt://127.0.0.1:${b.mqttPort}`,
      devices: genericDevices(ingest.devices, (i) => `v1/devices/bench-${i}/telemetry`),
      commit: { kind: "puback" },
      connectsPerSecond: CEILING_CONNECTS_PER_SECOND,
      parts: [
        { name: "mosquitto", pids: () => [b.pid] },
        { name: "subscriber", pids: () => [sink.pid] },
      ],
    });
    // The subscriber must get every acknowledged message.
    const received = await sinkCount(sink, d.committed);
    return rowFrom(
      "mosquitto",
      d,
      {
        lostPoints: Math.max(0, d.committed - received) * POINTS_PER_MESSAGE,
        verified: `the subscriber received ${received} messages; ${d.committed} were acknowledged`,
      },
      "PUBACK (from the broker)",
      { mosquitto: b.rssMb() },
    );
  } catch (err) {
    return failedRow("mosquitto", "failed", (err as Error).message.split("\n")[0] as string);
  } finally {
    await sink.stop();
    await broker?.stop();
  }
}

async function runSenExternal(settings: Settings, ingest: IngestSettings, postgres: StandaloneContext["postgres"]): Promise<IngestRow> {
  log("  Sen on PostgreSQL behind Mosquitto…");
  if (!mosquittoAvailable()) return failedRow("sen-external", "skipped", "skipped: Mosquitto is not installed (/usr/sbin/mosquitto)");
  if (!postgres.server) return failedRow("sen-external", "skipped", postgres.note ?? "skipped: no PostgreSQL server");
  let db: Awaited<ReturnType<typeof createBenchDatabase>> | undefined;
  let broker: Awaited<ReturnType<typeof startMosquitto>> | undefined;
  let sen: SenForIngest | undefined;
  try {
    db = await createBenchDatabase(postgres.server.url);
    const dbUrl = db.url;
    log(`    created database ${db.name}`);
    const senPassword = `sen-${Math.random().toString(36).slice(2)}`;
    const users: Record<string, string> = { sen: senPassword };
    for (let i = 0; i < ingest.devices; i++) users[`bench-${i}`] = `bench-pw-${i}`;
    broker = await startMosquitto({
      users,
      acl: [
        "# Devices: their own topics only",
        "pattern write v1/devices/%u/#",
        "pattern read v1/devices/%u/rpc/request/+",
        "",
        "user sen",
        "topic read v1/devices/+/#",
        "topic write v1/devices/+/rpc/request/#",
        "",
      ].join("\n"),
    });
    const b = broker;
    sen = await startSenForIngest(settings, {
      database: "postgres",
      databaseUrl: dbUrl,
      mqttUrl: `mqtt://sen:${senPassword}@127.0.0.1:${b.mqttPort}?clientId=sen-bench`,
    });
    const s = sen;
    log(`    ready in ${s.startSeconds} s (pid ${s.pid}, Mosquitto port ${b.mqttPort})`);
    const { token, devices, registerSeconds } = await prepareSen(s, ingest.devices, true);
    const pointsBefore = await senPoints(s, token);
    const at: Record<string, number> = {};
    const d = await drive({
      settings,
      ingest,
      mqttUrl: `mqtt://127.0.0.1:${b.mqttPort}`,
      devices,
      commit: { kind: "sse", senUrl: s.url, token },
      connectsPerSecond: CEILING_CONNECTS_PER_SECOND,
      parts: [
        { name: "Sen", pids: () => [s.pid] },
        { name: "mosquitto", pids: () => [b.pid] },
        { name: "postgres", pids: () => postgresPids(dbUrl) },
      ],
      atWindow: async (edge) => {
        at[edge] = await senPoints(s, token);
      },
    });
    // Wait until Sen has written everything the broker acknowledged, then count the rows.
    let pointsAfter = await senPoints(s, token);
    for (const deadline = Date.now() + DRAIN_MS; Date.now() < deadline && pointsAfter - pointsBefore < d.brokerAcked * POINTS_PER_MESSAGE; await sleep(200))
      pointsAfter = await senPoints(s, token);
    const client = new pg.Client({ connectionString: dbUrl });
    client.on("error", () => undefined);
    await client.connect();
    const rows = new Map<string, Record<string, number>>();
    try {
      const r = await client.query<{ id: string; key: string; n: number }>(
        `SELECT d.id, t.key, count(*)::int AS n FROM iot.points t JOIN iot.devices d ON d.no = t.device_no
         WHERE d.profile_id = $1 GROUP BY 1, 2`,
        [PROFILE],
      );
      for (const x of r.rows) rows.set(x.id, { ...rows.get(x.id), [x.key]: x.n });
    } finally {
      await client.end().catch(() => undefined);
    }
    const cmp = compare(d, rows);
    const stored = [...rows.values()].reduce((s, r) => s + (r.a ?? 0) + (r.b ?? 0) + (r.c ?? 0), 0);
    const brokerLost = Math.max(0, d.brokerAcked * POINTS_PER_MESSAGE - stored);
    const senWindow = (at.end ?? 0) - (at.start ?? 0);
    const notes = [...cmp.notes];
    if (brokerLost) notes.push(`${brokerLost} points acknowledged by the broker are not in the database`);
    notes.push(
      `Sen's own counter: ${Math.round(senWindow / d.seconds).toLocaleString("en-US")} points/s committed in the window; ${stored.toLocaleString("en-US")} rows for ${(d.brokerAcked * POINTS_PER_MESSAGE).toLocaleString("en-US")} points the broker acknowledged`,
    );
    if (d.sse?.truncatedEvents) notes.push(`${d.sse.truncatedEvents} commit events named only the first 100 devices of their batch`);
    return rowFrom(
      "sen-external",
      d,
      { lostPoints: cmp.lostPoints + brokerLost, verified: "rows per device and key counted in PostgreSQL (SELECT count(*) … GROUP BY device, key)", notes },
      "commit event on GET /api/events (the PUBACK comes from the broker)",
      { Sen: s.rssMb(), mosquitto: b.rssMb() },
      {
        registerSeconds,
        senStartSeconds: s.startSeconds,
        senPointsPerSecondInWindow: Math.round(senWindow / d.seconds),
        rowsStored: stored,
        brokerAckedPoints: d.brokerAcked * POINTS_PER_MESSAGE,
        database: redact(dbUrl),
      },
    );
  } catch (err) {
    return failedRow("sen-external", "failed", (err as Error).message.split("\n")[0] as string);
  } finally {
    await sen?.stop();
    await broker?.stop();
    await db?.drop().catch((err: Error) => log(`    could not drop database ${db?.name}: ${err.message}`));
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const fmtInt = (n: number) => n.toLocaleString("en-US");
const fmtMs = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "–");

function table(headers: string[], rows: string[][], alignRight: boolean[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (alignRight[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (alignRight[i] ? `${"-".repeat(w + 1)}:` : `:${"-".repeat(w + 1)}`)).join("|")}|`;
  return [line(headers), rule, ...rows.map(line)].join("\n");
}

export function ingestTable(rows: IngestRow[]): string {
  const headers = ["Target", "points/s", "msg/s", "vs ceiling", "p50 ms", "p99 ms", "lost", "CPU % server/loader/other", "result"];
  const right = [false, true, true, true, true, true, true, true, false];
  return table(
    headers,
    rows.map((r) => {
      const x = r.result;
      const status = r.status === "ok" ? "ok" : r.status === "flagged" ? `FLAGGED: ${r.notes[0] ?? ""}` : r.status;
      if (!x) return [r.label, "–", "–", "–", "–", "–", "–", "–", status];
      const v = r.vsCeiling;
      const ceiling = !CEILING_OF[r.target];
      return [
        r.label,
        `${fmtInt(x.pointsPerSecond)}${ceiling ? "" : x.pointsPerSecond >= GOAL_POINTS_PER_SECOND ? " ✓" : " ✗"}`,
        fmtInt(x.messagesPerSecond),
        ceiling ? "100%" : v ? `${Math.round(v.share * 100)}% ${v.meetsShare ? "✓" : "✗"}` : "n/a",
        `${fmtMs(x.latencyMs.p50)}${v ? ` (×${v.p50.toFixed(2)})` : ""}`,
        `${fmtMs(x.latencyMs.p99)}${v ? ` (×${v.p99.toFixed(2)})` : ""}`,
        fmtInt(x.lostPoints),
        `${x.cpu.server} / ${x.cpu.loader} / ${x.cpu.other}`,
        status,
      ];
    }),
    right,
  );
}

function report(rows: IngestRow[], settings: Settings, ingest: IngestSettings): string {
  const out: string[] = [];
  out.push(`### ingest: telemetry over MQTT, QoS 1, 3 data points per message`);
  out.push("");
  out.push(
    `${ingest.devices} devices (one MQTT 3.1.1 connection each), at most ${ingest.inflight} messages per device awaiting commit, ${ingest.loaders} load-generator process(es); ${settings.warmupSeconds} s warm-up + ${settings.seconds} s measured per target.`,
  );
  out.push("");
  out.push(ingestTable(rows));
  for (const r of rows) {
    const cpuParts = r.result ? Object.entries(r.result.cpu.parts).map(([k, v]) => `${k} ${v}%`) : [];
    const notes = r.status === "flagged" ? r.notes.slice(1) : r.notes;
    if (cpuParts.length > 1) notes.push(`server CPU: ${cpuParts.join(", ")}`);
    for (const n of notes) out.push(`- ${r.label}: ${n}`);
  }
  out.push("");
  out.push(
    `points/s = data points committed in the measured window per second (messages × 3), ✓ when ≥ ${fmtInt(GOAL_POINTS_PER_SECOND)}; "vs ceiling" = Sen's points/s as a share of the bare broker's, measured before and after Sen (their mean; goal ≥ ${GOAL_SHARE * 100}%), (×n) = latency as a multiple of the ceiling's; p50/p99 = publish → commit (embedded: → PUBACK, sent after commit; external: → Sen's commit event, since the broker sends the PUBACK); lost = acknowledged points missing afterwards; CPU % = server side (broker, subscriber, Sen, PostgreSQL) / load generators / everything else, in % of one core.`,
  );
  const senRows = rows.filter((r) => CEILING_OF[r.target] && r.result);
  if (senRows.length) {
    out.push("");
    for (const r of senRows) {
      const x = r.result as NonNullable<IngestRow["result"]>;
      const v = r.vsCeiling;
      const verdict =
        r.status !== "ok" || x.pointsPerSecond < GOAL_POINTS_PER_SECOND || (v && !v.meetsShare) ? "not met" : v ? "met" : "not decided (no ceiling measured)";
      out.push(
        `**Goal (≥ ${fmtInt(GOAL_POINTS_PER_SECOND)} points/s, nothing lost, ≥ ${GOAL_SHARE * 100}% of the broker) — ${r.label}: ${verdict}** (${fmtInt(x.pointsPerSecond)} points/s, ${fmtInt(x.lostPoints)} lost, ${v ? `${Math.round(v.share * 100)}% of the ceiling` : "no ceiling"}).`,
      );
    }
  }
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------

export const ingestBenchmark: StandaloneBenchmark = {
  standalone: true,
  name: "ingest",
  title: "IoT telemetry ingest over MQTT (QoS 1, 3 points per message)",
  async run({ settings, postgres }) {
    const ingest = ingestSettings();
    log(
      `ingest: ${ingest.devices} devices, ${ingest.inflight} in flight each, ${ingest.loaders} load generator(s), ${settings.warmupSeconds} s warm-up + ${settings.seconds} s per target`,
    );
    const rows: IngestRow[] = [];
    const only = (process.env.BENCH_INGEST_TARGETS ?? "")
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
    const unknown = only.filter((t) => !(t in LABEL));
    if (unknown.length) throw new Error(`BENCH_INGEST_TARGETS: unknown target(s) ${unknown.join(", ")}; choose from ${Object.keys(LABEL).join(", ")}`);
    const want = (t: TargetId) => !only.length || only.includes(t);
    const say = (r: IngestRow) => {
      rows.push(r);
      const x = r.result;
      log(
        x
          ? `    ${fmtInt(x.pointsPerSecond)} points/s (${fmtInt(x.messagesPerSecond)} msg/s), p50 ${fmtMs(x.latencyMs.p50)} ms, p99 ${fmtMs(x.latencyMs.p99)} ms, lost ${x.lostPoints}, CPU ${Object.entries(
              x.cpu.parts,
            )
              .map(([k, v]) => `${k} ${v}%`)
              .join(", ")} / loader ${x.cpu.loader}% / other ${x.cpu.other}%${r.status === "flagged" ? `  FLAGGED: ${r.notes[0]}` : ""}`
          : `    ${r.status}: ${r.notes[0]}`,
      );
    };
    // A ceiling is measured before and after its Sen target, and Sen is compared with the mean of
    // the two: on a shared machine the rate moves by a fifth from one minute to the next.
    const after = (r: IngestRow): IngestRow => ({ ...r, label: `${r.label}, again after Sen` });
    if (want("aedes")) say(await runAedes(settings, ingest));
    if (want("sen-embedded")) say(await runSenEmbedded(settings, ingest));
    if (want("aedes") && want("sen-embedded")) say(after(await runAedes(settings, ingest)));
    if (want("mosquitto")) say(await runMosquitto(settings, ingest));
    if (want("sen-external")) say(await runSenExternal(settings, ingest, postgres));
    if (want("mosquitto") && want("sen-external")) say(after(await runMosquitto(settings, ingest)));

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const r of rows) {
      const c = CEILING_OF[r.target];
      const bases = rows.flatMap((x) => (x.target === c && x.result ? [x.result] : []));
      if (!r.result || !bases.length) continue;
      const share = r.result.pointsPerSecond / mean(bases.map((b) => b.pointsPerSecond));
      r.vsCeiling = {
        share: Math.round(share * 1000) / 1000,
        meetsShare: share >= GOAL_SHARE,
        meetsPoints: r.result.pointsPerSecond >= GOAL_POINTS_PER_SECOND,
        p50: round2(r.result.latencyMs.p50 / mean(bases.map((b) => b.latencyMs.p50))),
        p99: round2(r.result.latencyMs.p99 / mean(bases.map((b) => b.latencyMs.p99))),
      };
    }
    return {
      report: report(rows, settings, ingest),
      json: { settings: ingest, goal: { pointsPerSecond: GOAL_POINTS_PER_SECOND, shareOfCeiling: GOAL_SHARE }, rows },
      flagged: rows.some((r) => r.status === "flagged" || r.status === "failed"),
    };
  },
};
