// The embedded broker's thread (started by mqtt.ts): aedes, its sockets and the MQTT protocol run
// here, on the second core, while Sen's thread checks and writes what devices send. Under load they
// were about a quarter of Sen's thread.
//
// Everything that needs Sen's state is asked of Sen's thread: who a CONNECT's credentials belong
// to, and what becomes of each PUBLISH. Publishes are handed over in batches (one message per turn
// of this thread's event loop, the payloads in one transferred buffer), and come back as one batch
// of results: a QoS 1 PUBACK is still sent only once the message's data has committed.
import net from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import { Aedes, type Client } from "aedes";
import { ATTRIBUTES, RPC_REQUEST } from "./topics.ts";

export interface BrokerThreadOptions {
  port: number;
  host: string;
}

export interface BrokerStats {
  connections: number;
  refusedConnections: number;
  authFailures: number;
}

/** What this thread tells Sen's thread. */
export type FromBroker =
  | { t: "listening"; port: number }
  | { t: "failed"; message: string; code?: string }
  /** Whose are these credentials? Answered by an "auth" with the same id. */
  | { t: "auth"; id: number; username: string; password: string | null }
  /** Publishes: payload i is bytes ends[i-1]..ends[i] of `payloads`. Answered by "results". */
  | { t: "publishes"; refs: number[]; devices: string[]; topics: string[]; payloads: Uint8Array; ends: number[] }
  | { t: "rpc"; id: number; delivered: boolean; error?: string }
  | { t: "stats"; stats: BrokerStats }
  | { t: "closed" };

/** What Sen's thread tells this one. */
export type ToBroker =
  | { t: "auth"; id: number; deviceId: string | null }
  /** Publishes to acknowledge (committed, or refused for good), and ones that failed for now (the client is dropped). */
  | { t: "results"; done: number[]; failed: Array<[ref: number, message: string]> }
  | { t: "rpc"; id: number; deviceId: string; topic: string; payload: string }
  | { t: "close" };

/** Connection attempts one address may make per second before being refused. */
const CONNECTS_PER_SECOND = 50;
const MAX_CLIENTS = 20_000;
const STATS_EVERY_MS = 1_000;

const ALLOWED_SUBSCRIPTIONS = new Set([`${RPC_REQUEST}+`, ATTRIBUTES, `${ATTRIBUTES}/response/+`]);

type DeviceClient = Client & { senDeviceId?: string };
type Done = (err?: Error | null) => void;

const port = parentPort;
if (!port) throw new Error("mqtt-worker.ts runs as a worker thread");
const send = (m: FromBroker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);
const opts = workerData as BrokerThreadOptions;

const sessions = new Map<string, DeviceClient>();
const rpcTargets = new Map<string, string>(); // topic of a pending request → device id
const stats: BrokerStats = { connections: 0, refusedConnections: 0, authFailures: 0 };
const recent = new Map<string, { second: number; count: number }>();

const authWaiting = new Map<number, (deviceId: string | null) => void>();
let nextAuth = 0;

// Publishes handed to Sen's thread and not yet answered, by reference.
const waiting = new Map<number, Done>();
let nextRef = 0;
let out: { refs: number[]; devices: string[]; topics: string[]; payloads: Buffer[]; bytes: number } | undefined;

function handOver(deviceId: string, topic: string, payload: Buffer, done: Done) {
  const ref = nextRef;
  nextRef = (nextRef + 1) % 2 ** 31;
  waiting.set(ref, done);
  if (!out) {
    out = { refs: [], devices: [], topics: [], payloads: [], bytes: 0 };
    setImmediate(flush);
  }
  out.refs.push(ref);
  out.devices.push(deviceId);
  out.topics.push(topic);
  out.payloads.push(payload);
  out.bytes += payload.length;
}

function flush() {
  if (!out) return;
  const { refs, devices, topics, payloads, bytes } = out;
  out = undefined;
  // One buffer of its own (not from Node's shared pool), so it can be transferred, not copied.
  const all = Buffer.allocUnsafeSlow(bytes);
  const ends: number[] = new Array(payloads.length);
  let at = 0;
  for (let i = 0; i < payloads.length; i++) {
    payloads[i].copy(all, at);
    at += payloads[i].length;
    ends[i] = at;
  }
  send({ t: "publishes", refs, devices, topics, payloads: all, ends }, [all.buffer as ArrayBuffer]);
}

const broker = await Aedes.createBroker({
  heartbeatInterval: 60_000,
  connectTimeout: 10_000,
  preConnect(client, _packet, done) {
    const ip = (client.conn as net.Socket).remoteAddress ?? "?";
    const second = Math.floor(Date.now() / 1000);
    const r = recent.get(ip);
    if (!r || r.second !== second) recent.set(ip, { second, count: 1 });
    else r.count++;
    if ((r && r.second === second && r.count > CONNECTS_PER_SECOND) || broker.connectedClients >= MAX_CLIENTS) {
      stats.refusedConnections++;
      return done(null, false);
    }
    if (recent.size > 10_000) recent.clear();
    done(null, true);
  },
  authenticate(client: DeviceClient, username, password, done) {
    // ThingsBoard devices send their access token as the user name; devices with MQTT
    // credentials send a user name and password. Sen's thread knows which device that is.
    const refuse = () => {
      stats.authFailures++;
      done(Object.assign(new Error("Bad user name or password"), { returnCode: 4 as const }), null);
    };
    if (!username) return refuse();
    const id = nextAuth++;
    authWaiting.set(id, (deviceId) => {
      if (!deviceId) return refuse();
      client.senDeviceId = deviceId;
      done(null, true);
    });
    send({ t: "auth", id, username, password: password?.length ? password.toString() : null });
  },
  authorizePublish(client: DeviceClient | null, packet, done) {
    const deviceId = client?.senDeviceId;
    if (!deviceId) return done(new Error("not authenticated"));
    // Nothing a device sends is passed on, so nothing it sends is kept as a retained message
    // either (a device could otherwise fill the broker's memory with retained topics).
    packet.retain = false;
    handOver(deviceId, packet.topic, packet.payload as Buffer, done);
  },
  authorizeSubscribe(client: DeviceClient, sub, done) {
    if (client.senDeviceId && ALLOWED_SUBSCRIPTIONS.has(sub.topic)) return done(null, sub);
    done(null, null); // refused: SUBACK failure for this topic only
  },
  authorizeForward(client: DeviceClient, packet) {
    // Devices publish only to Sen: nothing they send is passed on to another device.
    // Sen's own RPC requests go to the one session they are meant for.
    const target = rpcTargets.get(packet.topic);
    if (target === undefined) return null;
    return client.senDeviceId === target ? packet : null;
  },
});

broker.on("client", (client: DeviceClient) => {
  stats.connections++;
  if (client.senDeviceId) {
    const old = sessions.get(client.senDeviceId);
    if (old && old !== client) old.close();
    sessions.set(client.senDeviceId, client);
  }
});
broker.on("clientDisconnect", (client: DeviceClient) => {
  const id = client.senDeviceId;
  if (id && sessions.get(id) === client) sessions.delete(id);
});
broker.on("clientError", () => undefined);
broker.on("connectionError", () => undefined);

const server = net.createServer(broker.handle);
server.maxConnections = MAX_CLIENTS;
server.once("error", (err: Error & { code?: string }) => send({ t: "failed", message: err.message, code: err.code }));
server.listen(opts.port, opts.host, () => send({ t: "listening", port: (server.address() as net.AddressInfo).port }));

let sentStats = "";
const statsTimer = setInterval(() => {
  const now = JSON.stringify(stats);
  if (now !== sentStats) send({ t: "stats", stats });
  sentStats = now;
}, STATS_EVERY_MS);

port.on("message", (m: ToBroker) => {
  if (m.t === "results") {
    for (const ref of m.done) {
      waiting.get(ref)?.(null);
      waiting.delete(ref);
    }
    // Database trouble or "busy": no ack; aedes drops the client, which resends on reconnect.
    for (const [ref, message] of m.failed) {
      waiting.get(ref)?.(new Error(message));
      waiting.delete(ref);
    }
  } else if (m.t === "auth") {
    authWaiting.get(m.id)?.(m.deviceId);
    authWaiting.delete(m.id);
  } else if (m.t === "rpc") {
    if (!sessions.has(m.deviceId)) {
      send({ t: "rpc", id: m.id, delivered: false });
      return;
    }
    rpcTargets.set(m.topic, m.deviceId);
    broker.publish({ cmd: "publish", topic: m.topic, payload: Buffer.from(m.payload), qos: 1, retain: false, dup: false }, (err) => {
      rpcTargets.delete(m.topic);
      send(err ? { t: "rpc", id: m.id, delivered: false, error: err.message } : { t: "rpc", id: m.id, delivered: true });
    });
  } else if (m.t === "close") {
    clearInterval(statsTimer);
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    broker.close(() => {
      void stopped.then(() => {
        send({ t: "closed" });
        port.close();
      });
    });
  }
});
