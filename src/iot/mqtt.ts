// The embedded MQTT broker (aedes) speaking ThingsBoard's device API:
//   CONNECT with the access token as user name (or an MQTT user name and password)
//   PUBLISH v1/devices/me/telemetry | v1/devices/me/attributes | v1/devices/me/rpc/response/{id}
//   SUBSCRIBE v1/devices/me/rpc/request/+ (server-side RPC) and v1/devices/me/attributes
// The broker runs in its own thread (mqtt-worker.ts); this side answers its questions: whose
// credentials a CONNECT carries, and what becomes of each PUBLISH. A QoS 1 PUBACK is sent only
// after the message's data has committed: the broker thread acknowledges a publish once this side
// reports it written (or refused for good).
import { Worker } from "node:worker_threads";
import { workerUrl } from "../core/worker.ts";
import type { BrokerStats, BrokerThreadOptions, FromBroker, ToBroker } from "./mqtt-worker.ts";
import type { IotService } from "./service.ts";
import { PayloadError } from "./payload.ts";
import { ATTRIBUTES, RPC_REQUEST, RPC_RESPONSE, TELEMETRY } from "./topics.ts";

/** A broker thread that stops unasked is started again after this long. */
const RESTART_MS = 1_000;

export interface RpcTransport {
  /** Deliver a request to the device's session; false when the device is not connected. */
  sendRequest(deviceId: string, requestId: number, payload: object): Promise<boolean>;
  onResponse(handler: (deviceId: string, requestId: number, payload: Buffer) => void): void;
}

export interface EmbeddedBroker extends RpcTransport {
  port: number;
  /** The broker thread's counters, as it last reported them (once a second when they change). */
  stats: BrokerStats;
  /** The broker's thread now (diagnostics: its resource use, a heap snapshot; a test stops it). */
  readonly thread: Worker;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(
  iot: IotService,
  opts: { port: number; host: string; log?: { warn(o: object, m: string): void; error?(o: object, m: string): void } },
): Promise<EmbeddedBroker> {
  const responseHandlers: Array<(deviceId: string, requestId: number, payload: Buffer) => void> = [];
  const stats: BrokerStats = { connections: 0, refusedConnections: 0, authFailures: 0 };
  const rpcWaiting = new Map<number, { resolve(delivered: boolean): void; reject(err: Error): void }>();
  let nextRpc = 0;
  let closing = false;
  let worker: Worker;
  /** The thread is up and listening (false between a stop and its restart). */
  let running = false;

  // Results go back in one message per turn of this thread's event loop: a committed batch
  // settles all its publishes in one synchronous loop. They are kept per thread: a thread that
  // has gone took its connections with it, and their devices resend.
  const results = new Map<Worker, Extract<ToBroker, { t: "results" }>>();
  function settle(from: Worker, ref: number, err?: Error) {
    let r = results.get(from);
    if (!r) {
      if (!results.size)
        queueMicrotask(() => {
          for (const [w, m] of results) if (w === worker && !closing) w.postMessage(m);
          results.clear();
        });
      r = { t: "results", done: [], failed: [] };
      results.set(from, r);
    }
    if (err) r.failed.push([ref, err.message]);
    else r.done.push(ref);
  }
  // A rejected message is still acknowledged (so a device does not resend poison forever),
  // counted on the device with its reason, and never forwarded. Database trouble or "busy"
  // is not: the client is disconnected and resends on reconnect.
  const outcome = (from: Worker, ref: number) => (err?: unknown) => settle(from, ref, err && !(err instanceof PayloadError) ? (err as Error) : undefined);

  function publishes(from: Worker, m: Extract<FromBroker, { t: "publishes" }>) {
    const data = Buffer.from(m.payloads.buffer, m.payloads.byteOffset, m.payloads.byteLength);
    let start = 0;
    for (let i = 0; i < m.refs.length; i++) {
      const ref = m.refs[i];
      const topic = m.topics[i];
      const payload = data.subarray(start, m.ends[i]);
      start = m.ends[i];
      const device = iot.byDeviceId(m.devices[i]);
      if (!device) {
        // Deleted since it connected.
        iot.rejectMessage(undefined, "unknown device");
        settle(from, ref);
      } else if (topic === TELEMETRY) {
        iot.submitTelemetry(device, payload, outcome(from, ref));
      } else if (topic === ATTRIBUTES) {
        iot.ingestAttributes(device, payload).then(outcome(from, ref), outcome(from, ref));
      } else if (topic.startsWith(RPC_RESPONSE)) {
        const id = Number(topic.slice(RPC_RESPONSE.length));
        if (Number.isInteger(id)) for (const h of responseHandlers) h(device.row.id, id, payload);
        else iot.rejectMessage(device, `unknown topic ${topic.slice(0, 100)}`);
        settle(from, ref);
      } else {
        iot.rejectMessage(device, `unknown topic ${topic.slice(0, 100)}`);
        settle(from, ref);
      }
    }
  }

  function authenticate(username: string, password: string | null): string | null {
    // ThingsBoard devices send their access token as the user name; devices with MQTT
    // credentials send a user name and password.
    const device = password !== null ? (iot.byMqttCredentials(username, password) ?? iot.byToken(username)) : iot.byToken(username);
    return device?.row.enabled ? device.row.id : null;
  }

  /** Start the broker thread on `port`; resolves with the port it listens on. */
  function start(port: number): Promise<number> {
    const options: BrokerThreadOptions = { port, host: opts.host };
    const w = new Worker(workerUrl(import.meta.url, "mqtt-worker"), { workerData: options });
    worker = w;
    return new Promise<number>((resolve, reject) => {
      let listening = false;
      w.on("message", (m: FromBroker) => {
        if (m.t === "publishes") publishes(w, m);
        else if (m.t === "auth") w.postMessage({ t: "auth", id: m.id, deviceId: authenticate(m.username, m.password) } satisfies ToBroker);
        else if (m.t === "rpc") {
          const p = rpcWaiting.get(m.id);
          rpcWaiting.delete(m.id);
          if (m.error) p?.reject(new Error(m.error));
          else p?.resolve(m.delivered);
        } else if (m.t === "stats") Object.assign(stats, m.stats);
        else if (m.t === "listening") {
          listening = true;
          running = true;
          if (closing) void w.terminate(); // restarted while Sen was closing it
          resolve(m.port);
        } else if (m.t === "failed") {
          reject(Object.assign(new Error(m.message), { code: m.code }));
          void w.terminate();
        }
      });
      w.on("error", (err) => {
        if (!listening) reject(err);
        else opts.log?.error?.({ err }, "the MQTT broker's thread failed");
      });
      w.on("exit", (code) => {
        if (w === worker) running = false;
        if (!listening) return reject(new Error(`the MQTT broker's thread stopped at start (exit code ${code})`));
        if (closing || w !== worker) return;
        for (const p of rpcWaiting.values()) p.resolve(false);
        rpcWaiting.clear();
        opts.log?.warn({ code }, "the MQTT broker's thread stopped; starting it again");
        setTimeout(() => {
          if (!closing) start(bound).catch((err) => opts.log?.error?.({ err }, "the MQTT broker's thread did not start again"));
        }, RESTART_MS).unref();
      });
    });
  }

  const bound = await start(opts.port);

  return {
    port: bound,
    stats,
    get thread() {
      return worker;
    },
    sendRequest(deviceId, requestId, payload) {
      if (!running) return Promise.resolve(false);
      const id = nextRpc++;
      return new Promise<boolean>((resolve, reject) => {
        rpcWaiting.set(id, { resolve, reject });
        worker.postMessage({ t: "rpc", id, deviceId, topic: `${RPC_REQUEST}${requestId}`, payload: JSON.stringify(payload) } satisfies ToBroker);
      });
    },
    onResponse(handler) {
      responseHandlers.push(handler);
    },
    async close() {
      if (closing) return;
      closing = true;
      const w = worker;
      // The broker disconnects every client and stops listening before the thread ends.
      if (running)
        await new Promise<void>((resolve) => {
          w.on("message", (m: FromBroker) => m.t === "closed" && resolve());
          w.once("exit", () => resolve());
          w.postMessage({ t: "close" } satisfies ToBroker);
        });
      await w.terminate();
      for (const p of rpcWaiting.values()) p.resolve(false);
      rpcWaiting.clear();
    },
  };
}
