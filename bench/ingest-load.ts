// Load generator of `npm run bench -- ingest`, run as a child process (fork, IPC) so that it has
// an event loop of its own; the bench can start several. Each simulated device is one mqtt.js
// client (MQTT 3.1.1, like ThingsBoard firmware) publishing QoS 1 messages of 3 data points,
// {"ts":…,"values":{"a":…,"b":…,"c":…}}, with a unique, increasing ts per device, and at most
// `inflight` messages awaiting commit at any moment (a closed loop: the next message goes out when
// one is committed).
//
// Committed means:
//   - "puback": the PUBACK arrived. Sen's embedded broker sends it only after the data committed;
//     for the bare brokers (ceilings) it is simply the broker's acknowledgement.
//   - "sse": Sen announced the commit on GET /api/events (topic iot.telemetry: per device, the
//     newest ts of each committed batch). Behind an external broker the PUBACK comes from the
//     broker before Sen has seen the message, so it cannot stand for the commit. A device whose
//     oldest message has waited over a second is looked up with GET /api/devices/{id}/latest as
//     well, because an event names at most 100 devices.
import mqtt, { type MqttClient } from "mqtt";

export interface LoaderDevice {
  /** Sen's device id (for the SSE events and /latest). */
  id: string;
  clientId: string;
  username?: string;
  password?: string;
  topic: string;
}

export type CommitSignal = { kind: "puback" } | { kind: "sse"; senUrl: string; token: string };

export interface LoaderConfig {
  mqttUrl: string;
  devices: LoaderDevice[];
  inflight: number;
  /** Connections opened per second (Sen's embedded broker refuses more than 50 a second from one address). */
  connectsPerSecond: number;
  commit: CommitSignal;
}

export type ToLoader =
  | { type: "connect"; config: LoaderConfig }
  /** Start publishing; count commits between windowStart and windowEnd (epoch ms, high resolution). */
  | { type: "start"; windowStart: number; windowEnd: number }
  /** Publish nothing new; report once every message is committed, or after timeoutMs. */
  | { type: "stop"; timeoutMs: number }
  | { type: "close" };

export interface LoaderResult {
  published: number;
  /** Messages committed (see the file comment), over the whole run. */
  committed: number;
  /** Messages published and never seen committed (after the stop's wait). */
  outstanding: number;
  /** PUBACKs received (in "sse" mode: the broker's; in "puback" mode: = committed). */
  brokerAcked: number;
  windowCommitted: number;
  /** Publish → commit of the messages committed in the window, in ms. */
  latencies: Float64Array;
  perDevice: Record<string, { published: number; committed: number }>;
  publishErrors: number;
  disconnects: number;
  firstError?: string;
  sse?: { events: number; truncatedEvents: number; fallbackConfirmations: number };
}

export type FromLoader = { type: "connected"; ms: number } | { type: "error"; message: string } | { type: "stopped"; result: LoaderResult };

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes. */
export const epochNow = () => performance.timeOrigin + performance.now();

interface Device {
  cfg: LoaderDevice;
  client: MqttClient;
  lastTs: number;
  seq: number;
  published: number;
  committed: number;
  outstanding: number;
  /** "sse" mode: messages awaiting their commit, oldest first. */
  pending: Array<{ ts: number; t0: number }>;
  looking: boolean;
}

let config: LoaderConfig | undefined;
let devices: Device[] = [];
const byId = new Map<string, Device>();
let running = false;
let windowStart = Number.POSITIVE_INFINITY;
let windowEnd = Number.NEGATIVE_INFINITY;
let latencies = new Float64Array(1 << 16);
let windowCommitted = 0;
let brokerAcked = 0;
let publishErrors = 0;
let disconnects = 0;
let firstError: string | undefined;
const sse = { events: 0, truncatedEvents: 0, fallbackConfirmations: 0 };
const abort = new AbortController();
let fallbackTimer: NodeJS.Timeout | undefined;

const send = (m: FromLoader) => process.send?.(m);
const noteError = (msg: string) => {
  firstError ??= msg;
};

function committed(d: Device, t0: number, t1: number) {
  d.committed++;
  d.outstanding--;
  if (t1 >= windowStart && t1 <= windowEnd) {
    if (windowCommitted === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[windowCommitted++] = t1 - t0;
  }
}

function publishNext(d: Device) {
  const ts = Math.max(Date.now(), d.lastTs + 1);
  d.lastTs = ts;
  const v = d.seq++;
  const payload = `{"ts":${ts},"values":{"a":${v % 1000},"b":${(v % 97) / 10},"c":${v % 2 ? 21.5 : 22.25}}}`;
  const t0 = epochNow();
  d.published++;
  d.outstanding++;
  const bySse = config?.commit.kind === "sse";
  if (bySse) d.pending.push({ ts, t0 });
  d.client.publish(d.cfg.topic, payload, { qos: 1 }, (err) => {
    if (err) {
      publishErrors++;
      noteError(`${d.cfg.clientId}: ${err.message}`);
      if (!bySse) d.outstanding--; // never acknowledged: counted as outstanding = published − committed
      return;
    }
    brokerAcked++;
    if (bySse) return;
    committed(d, t0, epochNow());
    if (running) publishNext(d);
  });
}

function fill(d: Device) {
  const limit = config?.inflight ?? 1;
  while (running && d.outstanding < limit && d.client.connected) publishNext(d);
}

/** "sse" mode: every message of the device up to `ts` is committed. */
function confirm(d: Device, ts: number, t1: number) {
  let i = 0;
  while (i < d.pending.length && (d.pending[i] as { ts: number }).ts <= ts) {
    committed(d, (d.pending[i] as { t0: number }).t0, t1);
    i++;
  }
  if (i) d.pending.splice(0, i);
  fill(d);
  return i;
}

async function followEvents(senUrl: string, token: string) {
  const res = await fetch(`${senUrl}/api/events?topics=iot.telemetry`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  if (res.status !== 200 || !res.body) throw new Error(`GET /api/events answered ${res.status}`);
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    for (let end = buf.indexOf("\n\n"); end >= 0; end = buf.indexOf("\n\n")) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const t1 = epochNow();
      for (const line of block.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const e = JSON.parse(line.slice(6)) as { topic: string; payload: { devices: Array<{ id: string; ts: number }>; more: number } };
        if (e.topic !== "iot.telemetry") continue;
        sse.events++;
        if (e.payload.more > 0) sse.truncatedEvents++;
        for (const u of e.payload.devices) {
          const d = byId.get(u.id);
          if (d) confirm(d, u.ts, t1);
        }
      }
    }
  }
}

/** Devices whose oldest message waited over a second: ask Sen for their latest values. */
function startFallback(senUrl: string, token: string) {
  fallbackTimer = setInterval(() => {
    const old = epochNow() - 1000;
    let asked = 0;
    for (const d of devices) {
      if (asked >= 20) break;
      const head = d.pending[0];
      if (!head || head.t0 > old || d.looking) continue;
      d.looking = true;
      asked++;
      fetch(`${senUrl}/api/devices/${encodeURIComponent(d.cfg.id)}/latest`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal })
        .then((r) => r.json() as Promise<Record<string, { ts: string }>>)
        .then((latest) => {
          const keys = ["a", "b", "c"].map((k) => latest[k]?.ts);
          if (keys.some((t) => !t)) return;
          const ts = Math.min(...keys.map((t) => Date.parse(t as string)));
          sse.fallbackConfirmations += confirm(d, ts, epochNow());
        })
        .catch(() => undefined)
        .finally(() => {
          d.looking = false;
        });
    }
  }, 250);
}

function connectOne(url: string, cfg: LoaderDevice): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      clientId: cfg.clientId,
      username: cfg.username,
      password: cfg.password,
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      reconnectPeriod: 0,
      connectTimeout: 20_000,
    });
    client.once("connect", () => resolve(client));
    client.once("error", (err) => {
      client.end(true);
      reject(new Error(`${cfg.clientId}: ${err.message}`));
    });
  });
}

async function connectAll(c: LoaderConfig) {
  config = c;
  const gap = 1000 / c.connectsPerSecond;
  const t0 = Date.now();
  const clients = await Promise.all(
    c.devices.map(async (cfg, i) => {
      const wait = t0 + i * gap - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      return connectOne(c.mqttUrl, cfg);
    }),
  );
  devices = clients.map((client, i) => {
    const cfg = c.devices[i] as LoaderDevice;
    const d: Device = { cfg, client, lastTs: 0, seq: 0, published: 0, committed: 0, outstanding: 0, pending: [], looking: false };
    client.on("close", () => {
      if (!running) return;
      disconnects++;
      noteError(`${cfg.clientId}: disconnected by the broker`);
    });
    client.on("error", (err) => noteError(`${cfg.clientId}: ${err.message}`));
    byId.set(cfg.id, d);
    return d;
  });
  if (c.commit.kind === "sse") {
    const { senUrl, token } = c.commit;
    followEvents(senUrl, token).catch((err: Error) => {
      if (!abort.signal.aborted) noteError(`event stream: ${err.message}`);
    });
    startFallback(senUrl, token);
    await new Promise((r) => setTimeout(r, 200)); // let the event stream open before publishing
  }
  return Date.now() - t0;
}

async function stop(timeoutMs: number): Promise<LoaderResult> {
  running = false;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && devices.some((d) => d.outstanding > 0 && d.client.connected)) await new Promise((r) => setTimeout(r, 20));
  let published = 0;
  let done = 0;
  const perDevice: LoaderResult["perDevice"] = {};
  for (const d of devices) {
    published += d.published;
    done += d.committed;
    perDevice[d.cfg.id] = { published: d.published, committed: d.committed };
  }
  return {
    published,
    committed: done,
    outstanding: published - done,
    brokerAcked,
    windowCommitted,
    latencies: latencies.slice(0, windowCommitted),
    perDevice,
    publishErrors,
    disconnects,
    firstError,
    sse: config?.commit.kind === "sse" ? sse : undefined,
  };
}

process.on("message", (m: ToLoader) => {
  switch (m.type) {
    case "connect":
      connectAll(m.config).then(
        (ms) => send({ type: "connected", ms }),
        (err: Error) => send({ type: "error", message: err.message }),
      );
      break;
    case "start":
      windowStart = m.windowStart;
      windowEnd = m.windowEnd;
      running = true;
      for (const d of devices) fill(d);
      break;
    case "stop":
      stop(m.timeoutMs).then((result) => send({ type: "stopped", result }));
      break;
    case "close":
      abort.abort();
      if (fallbackTimer) clearInterval(fallbackTimer);
      for (const d of devices) d.client.end(true);
      setTimeout(() => process.exit(0), 100);
      break;
  }
});
process.on("disconnect", () => process.exit(0));
