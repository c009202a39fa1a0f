// External-broker mode (MQTT_URL): Sen is a client of Mosquitto or EMQX instead of running aedes.
//
// A subscriber cannot tell who published to v1/devices/me/…, so behind an external broker devices
// publish to per-device topics and the broker's ACL confines each user name to its own:
//   PUBLISH   v1/devices/{name}/telemetry | v1/devices/{name}/attributes | v1/devices/{name}/rpc/response/{id}
//   SUBSCRIBE v1/devices/{name}/rpc/request/+
// {name} is the device's MQTT user name, or its id when it has none. The broker authenticates devices.
//
// Load sharing: every Sen node subscribes $share/sen/v1/devices/+/{telemetry,attributes} (QoS 1),
// so the broker hands each message to one node. RPC responses are subscribed without $share: the
// node that sent the request must see the response, so every node sees all of them and keeps the
// ones it is waiting for (requests carry a random wire id, so nodes never confuse theirs).
//
// Ack after commit: Sen's PUBACK for a QoS 1 message goes out only once its data has committed.
// mqtt.js sends a PUBACK as soon as `customHandleAcks` calls back, and reads the next packet only
// after that, which would make a node commit one message at a time. So the callback is called at
// once with an error (mqtt.js then sends no PUBACK at all and moves on), and the PUBACK is written
// by this module when the message is committed — in the order the messages arrived, on the
// connection they arrived on. A message that cannot be written (database down, ingest queue full)
// is retried in place and never acknowledged until it is written; if the connection drops first,
// the broker redelivers it to this node's session. Poison (bad payload, unknown device) is
// counted and acknowledged, so the broker does not redeliver it forever.
//
// Sessions: Mosquitto keeps a shared subscriber's unacknowledged and queued messages only in a
// persistent session (a clean session's in-flight messages are dropped when it disconnects, and
// while no member is connected the group gets nothing). So each node connects with a stable
// client id, Clean Start off and a session expiry: a node that restarts gets back what the broker
// held for it. See docs/mqtt-external.md for what that implies (a node removed for good).
import os from "node:os";
import { randomInt } from "node:crypto";
import type { IClientOptions, IPublishPacket, MqttClient } from "mqtt";
import { PayloadError } from "./payload.ts";
import type { RpcTransport } from "./mqtt.ts";
import type { CachedDevice, IotService } from "./service.ts";

export interface ExternalMqtt extends RpcTransport {
  close(): Promise<void>;
  /** Connected to the broker right now. */
  connected(): boolean;
  readonly clientId: string;
  readonly stats: ExternalMqttStats;
}

export interface ExternalMqttStats {
  /** QoS 1 messages received on the device topics. */
  received: number;
  /** Messages acknowledged after their data (or attributes) committed. */
  stored: number;
  /** Messages refused by the payload checks (counted on the device too), acknowledged. */
  rejected: number;
  /** Messages on the topic of a name that is no device of Sen's, acknowledged and dropped. */
  unknownDevice: number;
  /** Write attempts that failed for a reason other than the payload (database down, queue full). */
  retries: number;
  /** RPC responses to a request of this node. */
  rpcResponses: number;
  connects: number;
}

export interface ExternalMqttOptions {
  /** mqtt://user:password@host:port; ?clientId=… in the URL names this node's session. */
  url: string;
  /** Stable per node: the broker keeps this node's session (its share of messages) under it. Default sen-{hostname}. */
  clientId?: string;
  /** The shared-subscription group; every Sen node of one installation uses the same. Default "sen". */
  group?: string;
  /** How long the broker keeps this node's session while it is away. Default one day. */
  sessionExpirySeconds?: number;
  /** Unacknowledged messages the broker may send at once (MQTT 5 Receive Maximum). Default 1000. */
  inflight?: number;
  /** How long start-up waits for the first connection before going on (it keeps trying). Default 10 s. */
  startTimeoutMs?: number;
  reconnectPeriodMs?: number;
  log?: { info?(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/** Totals over every external-broker client of this process (unknown device names, mainly). */
export const externalMqttStats: ExternalMqttStats = { received: 0, stored: 0, rejected: 0, unknownDevice: 0, retries: 0, rpcResponses: 0, connects: 0 };

const running = new WeakMap<IotService, ExternalMqtt>();
/** The external-broker client running for this IoT service, if any (health checks, tests). */
export const externalMqttOf = (iot: IotService): ExternalMqtt | undefined => running.get(iot);

const PREFIX = "v1/devices/";
/** RPC requests this node waits for are remembered this long (commands time out within 60 s). */
const RPC_MEMORY_MS = 70_000;
const MAX_RPC_PENDING = 100_000;
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 10_000;
/** Repeated connection errors are logged at most this often. */
const LOG_EVERY_MS = 60_000;

const TELEMETRY_SUFFIX = "/telemetry";
const RETRY_LOG = "external MQTT: a message could not be written; it stays unacknowledged and is retried";

/** Handed to mqtt.js's ack callback: "send no PUBACK now"; this module sends it after commit. */
const DEFER = new Error("PUBACK deferred until commit");

/** One delivery awaiting its PUBACK, in arrival order on its connection. */
interface Delivery {
  messageId: number;
  ready: boolean;
}
interface Connection {
  stream: unknown;
  queue: Delivery[];
  /** A flush of the ready PUBACKs is scheduled (one write per turn, not one per message). */
  flushing: boolean;
}

/** The internals of mqtt.js this module relies on (pinned version; covered by the external-broker test). */
interface ClientInternals {
  stream: { write(chunk: Buffer): boolean };
}

/**
 * PUBACKs for these packet identifiers, back to back: 0x40, remaining length 2, the identifier.
 * MQTT 5 (3.4.2.1) lets the reason code be left out when it is 0 (Success) with no properties,
 * and then the packet is byte for byte MQTT 3.1.1's. Written as one buffer, a committed batch's
 * acknowledgements cost one socket write instead of one mqtt.js packet each (mqtt.js, mqtt-packet
 * and debug went from ~14% to ~9% of Sen's thread under the ingest bench).
 */
function pubacks(ids: number[]): Buffer {
  const out = Buffer.allocUnsafe(ids.length * 4);
  for (let i = 0; i < ids.length; i++) {
    out[i * 4] = 0x40;
    out[i * 4 + 1] = 2;
    out.writeUInt16BE(ids[i], i * 4 + 2);
  }
  return out;
}

/** A payload the service refused because it is busy, not because it is bad: retry, do not ack. */
const isTransient = (err: unknown) => !(err instanceof PayloadError);

export async function startExternalMqtt(iot: IotService, opts: ExternalMqttOptions): Promise<ExternalMqtt> {
  const log = opts.log;
  // The MQTT client is loaded only in external-broker mode (about 15 MB).
  const { default: mqtt } = await import("mqtt");
  const url = new URL(opts.url);
  const clientId = opts.clientId ?? url.searchParams.get("clientId") ?? `sen-${os.hostname()}`.slice(0, 64);
  url.searchParams.delete("clientId");
  const where = `${url.protocol}//${url.host}`; // for logs: never the password
  const group = opts.group ?? "sen";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(group)) throw new Error(`shared-subscription group "${group}" must be 1–64 letters, digits, _ or -`);
  const shared = [`$share/${group}/${PREFIX}+/telemetry`, `$share/${group}/${PREFIX}+/attributes`];
  const responses = `${PREFIX}+/rpc/response/+`;

  const stats: ExternalMqttStats = { received: 0, stored: 0, rejected: 0, unknownDevice: 0, retries: 0, rpcResponses: 0, connects: 0 };
  const count = (k: keyof ExternalMqttStats) => {
    stats[k]++;
    externalMqttStats[k]++;
  };
  const responseHandlers: Array<(deviceId: string, requestId: number, payload: Buffer) => void> = [];
  const rpcPending = new Map<string, { deviceId: string; requestId: number; at: number }>();
  const inflight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };
  /** Telemetry messages on their first attempt (callback path), and who waits for them to end. */
  let fastPending = 0;
  let fastIdle: (() => void) | undefined;
  let conn: Connection | undefined;
  let closing = false;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((r) => {
    stop = r;
  });
  const lastLog = new Map<string, number>(); // message → when last logged

  const options: IClientOptions = {
    clientId,
    protocolVersion: 5,
    clean: false, // MQTT 5 Clean Start = 0: resume this node's session
    properties: { sessionExpiryInterval: opts.sessionExpirySeconds ?? 86_400, receiveMaximum: opts.inflight ?? 1000 },
    keepalive: 30,
    reconnectPeriod: opts.reconnectPeriodMs ?? 2000,
    reconnectOnConnackError: true,
    connectTimeout: 10_000,
    resubscribe: false, // subscribed on every connect below
    customHandleAcks: (topic, message, packet: IPublishPacket, done) => {
      const c = connection();
      done(DEFER); // no PUBACK now; mqtt.js goes on with the next packet
      if (closing) return; // left unacknowledged: the broker keeps it in this node's session
      const d: Delivery = { messageId: packet.messageId as number, ready: false };
      c.queue.push(d);
      const settle = () => {
        d.ready = true;
        flushAcks(c);
      };
      // Telemetry, nearly every message: a first attempt with a callback, no promise per message.
      const device = telemetryDevice(topic);
      if (device) {
        count("received");
        fastPending++;
        iot.submitTelemetry(device, message, (err) => {
          if (!err) {
            count("stored");
            settle();
          } else if (!isTransient(err)) {
            count("rejected"); // counted on the device by the service; acknowledged
            settle();
          } else {
            count("retries");
            logLimited("error", { err, device: device.row.id }, RETRY_LOG);
            track(retry(device, () => iot.ingestTelemetry(device, message), c).then(settle, () => undefined));
          }
          if (--fastPending === 0) fastIdle?.();
        });
        return;
      }
      // given up (rejected): closing or the connection is gone; the broker redelivers
      track(handle(topic, message, c).then(settle, () => undefined));
    },
  };
  const client: MqttClient = mqtt.connect(url.toString(), options);
  const internals = client as unknown as ClientInternals;

  function connection(): Connection {
    if (!conn || conn.stream !== internals.stream) conn = { stream: internals.stream, queue: [], flushing: false };
    return conn;
  }
  const current = (c: Connection) => conn === c && internals.stream === c.stream && client.connected;

  /**
   * PUBACKs in arrival order: a message is acknowledged once it and every one before it are done.
   * A committed batch settles its messages in one synchronous loop; they go out in one write after it.
   */
  function flushAcks(c: Connection) {
    if (c.flushing) return;
    c.flushing = true;
    queueMicrotask(() => {
      c.flushing = false;
      const ids: number[] = [];
      while (c.queue.length && c.queue[0].ready) ids.push((c.queue.shift() as Delivery).messageId);
      if (ids.length && current(c)) internals.stream.write(pubacks(ids));
    });
  }

  function logLimited(level: "warn" | "error", obj: object, msg: string) {
    const now = Date.now();
    if (now - (lastLog.get(msg) ?? 0) < LOG_EVERY_MS) return;
    lastLog.set(msg, now);
    log?.[level](obj, msg);
  }

  /** The device of a telemetry topic v1/devices/{name}/telemetry, when it is one of Sen's. */
  function telemetryDevice(topic: string): CachedDevice | undefined {
    if (!topic.startsWith(PREFIX) || !topic.endsWith(TELEMETRY_SUFFIX)) return undefined;
    const name = topic.slice(PREFIX.length, topic.length - TELEMETRY_SUFFIX.length);
    if (!name || name.includes("/")) return undefined;
    const device = iot.byTopicName(name);
    // A device with an MQTT user name is that user at the broker; one without is its id.
    return device && (device.row.mqtt_username ?? device.row.id) === name ? device : undefined;
  }

  /** Resolves when the message may be acknowledged; rejects when it must not be (given up). */
  async function handle(topic: string, payload: Buffer, c: Connection): Promise<void> {
    count("received");
    const parts = topic.split("/");
    const name = parts[2];
    const device = name ? iot.byTopicName(name) : undefined;
    // A device with an MQTT user name is that user at the broker; one without is its id.
    if (!device || (device.row.mqtt_username ?? device.row.id) !== name) {
      count("unknownDevice");
      return;
    }
    if (parts[3] === "rpc") return rpcResponse(device, parts, payload);
    const write =
      parts.length === 4 && parts[3] === "telemetry"
        ? () => iot.ingestTelemetry(device, payload)
        : parts.length === 4 && parts[3] === "attributes"
          ? () => iot.ingestAttributes(device, payload)
          : undefined;
    if (!write) {
      iot.rejectMessage(device, `unknown topic ${topic.slice(0, 100)}`);
      count("rejected");
      return;
    }
    return write().then(
      () => {
        count("stored");
      },
      (err) => {
        if (!isTransient(err)) {
          count("rejected"); // counted on the device by the service; acknowledged
          return;
        }
        count("retries");
        logLimited("error", { err, device: device.row.id }, RETRY_LOG);
        return retry(device, write, c);
      },
    );
  }

  /** After a failed attempt: wait, and write again until it works, or give up when closing. */
  async function retry(device: CachedDevice, write: () => Promise<unknown>, c: Connection): Promise<void> {
    for (let wait = RETRY_MIN_MS; ; wait = Math.min(wait * 2, RETRY_MAX_MS)) {
      await Promise.race([new Promise((r) => setTimeout(r, wait).unref()), stopped]);
      if (closing || !current(c)) throw new Error("not acknowledged"); // the broker redelivers it
      try {
        await write();
        count("stored");
        return;
      } catch (err) {
        if (!isTransient(err)) {
          count("rejected");
          return;
        }
        count("retries");
        logLimited("error", { err, device: device.row.id }, RETRY_LOG);
      }
    }
  }

  function rpcResponse(device: CachedDevice, parts: string[], payload: Buffer) {
    const wire = parts.length === 6 && parts[4] === "response" && /^\d{1,10}$/.test(parts[5]) ? Number(parts[5]) : undefined;
    if (wire === undefined) {
      iot.rejectMessage(device, `unknown topic ${parts.join("/").slice(0, 100)}`);
      count("rejected");
      return;
    }
    const key = `${device.row.id}:${wire}`;
    const req = rpcPending.get(key);
    if (!req) return; // another node's request, or one that timed out
    rpcPending.delete(key);
    count("rpcResponses");
    for (const h of responseHandlers) h(req.deviceId, req.requestId, payload);
  }

  function subscribe() {
    client.subscribe([...shared, responses], { qos: 1 }, (err, granted) => {
      if (err) return log?.error({ err, broker: where }, "external MQTT: subscribing failed");
      const refused = (granted ?? []).filter((g) => g.qos >= 0x80).map((g) => g.topic);
      if (refused.length) log?.error({ refused, broker: where, clientId }, "external MQTT: the broker refused subscriptions; check the ACL of Sen's user");
      else ready?.();
    });
  }

  let ready: (() => void) | undefined;
  client.on("connect", (ack) => {
    count("connects");
    conn = undefined;
    lastLog.clear();
    log?.info?.({ broker: where, clientId, sessionPresent: ack.sessionPresent }, "external MQTT broker connected");
    subscribe();
  });
  client.on("error", (err) => {
    if (err === DEFER) return;
    logLimited("error", { err: err.message, broker: where, clientId }, "external MQTT broker: connection error; retrying");
  });
  client.on("close", () => {
    if (!closing) logLimited("warn", { broker: where, clientId }, "external MQTT broker: disconnected; reconnecting");
  });
  client.on("disconnect", (packet) => {
    // 0x8E: another connection took this client id, i.e. two Sen nodes share one.
    if (packet.reasonCode === 0x8e) log?.error({ clientId }, "external MQTT: another client connected with this node's client id; give every Sen node its own");
    else log?.warn({ reasonCode: packet.reasonCode, broker: where }, "external MQTT broker disconnected Sen");
  });
  // Devices publishing at QoS 0 reach Sen at QoS 0: nothing to acknowledge.
  client.on("message", (topic, payload, packet) => {
    if (packet.qos !== 0 || closing) return;
    const c = connection();
    void handle(topic, payload, c).catch(() => undefined);
  });

  const forget = setInterval(() => {
    const old = Date.now() - RPC_MEMORY_MS;
    for (const [k, v] of rpcPending) if (v.at < old) rpcPending.delete(k);
  }, 10_000);
  forget.unref();

  // Start-up waits for the first subscription, but not forever: Sen serves HTTP meanwhile and
  // this client keeps trying.
  const startTimeout = opts.startTimeoutMs ?? 10_000;
  const first = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), startTimeout);
    ready = () => {
      clearTimeout(timer);
      resolve(true);
    };
  });
  ready = undefined;
  if (!first) log?.warn({ broker: where, clientId, waitedMs: startTimeout }, "external MQTT broker not reached yet; Sen keeps trying");

  const external: ExternalMqtt = {
    clientId,
    stats,
    connected: () => client.connected,

    async sendRequest(deviceId, requestId, payload) {
      const device = iot.byDeviceId(deviceId);
      if (!device || !client.connected || closing) return false;
      // The broker cannot tell whether the device is connected: a request to an offline device is
      // published all the same and the command times out.
      if (rpcPending.size >= MAX_RPC_PENDING) rpcPending.delete(rpcPending.keys().next().value as string);
      let wire = randomInt(1, 2 ** 31 - 1);
      while (rpcPending.has(`${deviceId}:${wire}`)) wire = randomInt(1, 2 ** 31 - 1);
      const key = `${deviceId}:${wire}`;
      rpcPending.set(key, { deviceId, requestId, at: Date.now() });
      const topic = `${PREFIX}${device.row.mqtt_username ?? device.row.id}/rpc/request/${wire}`;
      try {
        await client.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
        return true;
      } catch (err) {
        rpcPending.delete(key);
        log?.warn({ err, device: deviceId }, "external MQTT: RPC request not accepted by the broker");
        return false;
      }
    },

    onResponse(handler) {
      responseHandlers.push(handler);
    },

    async close() {
      if (closing) return;
      closing = true;
      stop();
      running.delete(iot);
      clearInterval(forget);
      // Messages being written get their PUBACK; newer ones stay with the broker for next time.
      const fastDone = fastPending
        ? new Promise<void>((r) => {
            fastIdle = r;
          })
        : undefined;
      await Promise.race([Promise.allSettled([...inflight, fastDone]), new Promise((r) => setTimeout(r, 10_000))]);
      // A clean DISCONNECT keeps the session (its expiry was set at connect); a broker that does
      // not answer in 3 s gets the socket closed instead.
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          (internals.stream as { destroy?: () => void }).destroy?.();
          resolve();
        }, 3000);
        client.end(false, {}, () => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
  running.set(iot, external);
  return external;
}
