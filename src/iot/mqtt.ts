// The embedded MQTT broker (aedes) speaking ThingsBoard's device API:
//   CONNECT with the access token as user name (or an MQTT user name and password)
//   PUBLISH v1/devices/me/telemetry | v1/devices/me/attributes | v1/devices/me/rpc/response/{id}
//   SUBSCRIBE v1/devices/me/rpc/request/+ (server-side RPC) and v1/devices/me/attributes
// A QoS 1 PUBACK is sent only after the message's data has committed: aedes acknowledges once
// authorizePublish calls back, and we call back when the batch holding the message commits.
import net from "node:net";
import { Aedes, type Client } from "aedes";
import type { CachedDevice, IotService } from "./service.ts";
import { PayloadError } from "./payload.ts";

const TELEMETRY = "v1/devices/me/telemetry";
const ATTRIBUTES = "v1/devices/me/attributes";
const RPC_REQUEST = "v1/devices/me/rpc/request/";
const RPC_RESPONSE = "v1/devices/me/rpc/response/";
const ALLOWED_SUBSCRIPTIONS = new Set([`${RPC_REQUEST}+`, ATTRIBUTES, "v1/devices/me/attributes/response/+"]);

/** Connection attempts one address may make per second before being refused. */
const CONNECTS_PER_SECOND = 50;
const MAX_CLIENTS = 20_000;

type DeviceClient = Client & { senDevice?: CachedDevice };

export interface RpcTransport {
  /** Deliver a request to the device's session; false when the device is not connected. */
  sendRequest(deviceId: string, requestId: number, payload: object): Promise<boolean>;
  onResponse(handler: (deviceId: string, requestId: number, payload: Buffer) => void): void;
}

export interface EmbeddedBroker extends RpcTransport {
  port: number;
  stats: { connections: number; refusedConnections: number; authFailures: number };
  close(): Promise<void>;
}

export async function startEmbeddedBroker(
  iot: IotService,
  opts: { port: number; host: string; log?: { warn(o: object, m: string): void } },
): Promise<EmbeddedBroker> {
  const sessions = new Map<string, DeviceClient>();
  const rpcTargets = new Map<string, string>(); // topic of a pending request → device id
  const responseHandlers: Array<(deviceId: string, requestId: number, payload: Buffer) => void> = [];
  const stats = { connections: 0, refusedConnections: 0, authFailures: 0 };
  const recent = new Map<string, { second: number; count: number }>();

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
      // credentials send a user name and password.
      const device = !username
        ? undefined
        : password?.length
          ? (iot.byMqttCredentials(username, password.toString()) ?? iot.byToken(username))
          : iot.byToken(username);
      if (!device?.row.enabled) {
        stats.authFailures++;
        const err = Object.assign(new Error("Bad user name or password"), { returnCode: 4 as const });
        return done(err, null);
      }
      client.senDevice = device;
      done(null, true);
    },
    authorizePublish(client: DeviceClient | null, packet, done) {
      const device = client?.senDevice;
      if (!device) return done(new Error("not authenticated"));
      const topic = packet.topic;
      // Nothing a device sends is passed on, so nothing it sends is kept as a retained message
      // either (a device could otherwise fill the broker's memory with retained topics).
      packet.retain = false;
      const ack = () => done(null);
      // A rejected message is still acknowledged (so a device does not resend poison forever),
      // counted on the device with its reason, and never forwarded.
      const refused = (err: unknown) => {
        // Database trouble or "busy": no ack; the client is disconnected and resends on reconnect.
        if (!(err instanceof PayloadError)) return done(err as Error);
        done(null);
      };
      if (topic === TELEMETRY) {
        iot.submitTelemetry(device, packet.payload as Buffer, (err) => (err ? refused(err) : ack()));
      } else if (topic === ATTRIBUTES) {
        iot.ingestAttributes(device, packet.payload as Buffer).then(ack, refused);
      } else if (topic.startsWith(RPC_RESPONSE)) {
        const id = Number(topic.slice(RPC_RESPONSE.length));
        if (Number.isInteger(id)) for (const h of responseHandlers) h(device.row.id, id, packet.payload as Buffer);
        else iot.rejectMessage(device, `unknown topic ${topic.slice(0, 100)}`);
        ack();
      } else {
        iot.rejectMessage(device, `unknown topic ${topic.slice(0, 100)}`);
        ack();
      }
    },
    authorizeSubscribe(client: DeviceClient, sub, done) {
      if (client.senDevice && ALLOWED_SUBSCRIPTIONS.has(sub.topic)) return done(null, sub);
      done(null, null); // refused: SUBACK failure for this topic only
    },
    authorizeForward(client: DeviceClient, packet) {
      // Devices publish only to Sen: nothing they send is passed on to another device.
      // Sen's own RPC requests go to the one session they are meant for.
      const target = rpcTargets.get(packet.topic);
      if (target === undefined) return null;
      return client.senDevice?.row.id === target ? packet : null;
    },
  });

  broker.on("client", (client: DeviceClient) => {
    stats.connections++;
    if (client.senDevice) {
      const old = sessions.get(client.senDevice.row.id);
      if (old && old !== client) old.close();
      sessions.set(client.senDevice.row.id, client);
    }
  });
  broker.on("clientDisconnect", (client: DeviceClient) => {
    const id = client.senDevice?.row.id;
    if (id && sessions.get(id) === client) sessions.delete(id);
  });
  broker.on("clientError", () => undefined);
  broker.on("connectionError", () => undefined);

  const server = net.createServer(broker.handle);
  server.maxConnections = MAX_CLIENTS;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    stats,
    async sendRequest(deviceId, requestId, payload) {
      if (!sessions.has(deviceId)) return false;
      const topic = `${RPC_REQUEST}${requestId}`;
      rpcTargets.set(topic, deviceId);
      await new Promise<void>((resolve, reject) =>
        broker.publish({ cmd: "publish", topic, payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: false, dup: false }, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
      rpcTargets.delete(topic);
      return true;
    },
    onResponse(handler) {
      responseHandlers.push(handler);
    },
    async close() {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve())); // disconnects every client
      await stopped;
    },
  };
}
