// External-broker mode: devices publish through a real Mosquitto (password file, ACL per user
// name) and Sen consumes per-device topics through a shared subscription, acknowledging each
// message only after its data committed.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sen, createSen } from "../../src/app.ts";
import type { Actor } from "../../src/core/context.ts";
import { openDb } from "../../src/core/db.ts";
import { commandService } from "../../src/iot/commands.ts";
import { type ExternalMqtt, externalMqttOf, externalMqttStats, startExternalMqtt } from "../../src/iot/mqtt-external.ts";
import type { IotService } from "../../src/iot/service.ts";
import { type TestSen, auth, createDatabase, dbTargets, dropDatabase, startSen, testConfig } from "../helpers.ts";
import { end, publish } from "./util.ts";

const MOSQUITTO = "/usr/sbin/mosquitto";
const MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd";
const SEN_PASSWORD = "sen-broker-pw";
/** Broker users: Sen, and the devices (user name = the {name} in their topics). */
const USERS: Record<string, string> = {
  sen: SEN_PASSWORD,
  "ext-a": "pw-a",
  "ext-b": "pw-b",
  "ext-rpc": "pw-rpc",
  "ext-off": "pw-off",
  "ext-flaky": "pw-flaky",
  "ext-wired": "pw-wired",
  ghost: "pw-ghost",
  ...Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`split-${i}`, `pw-split-${i}`])),
};

const ACL = `# Devices: their own topics only
pattern write v1/devices/%u/#
pattern read v1/devices/%u/rpc/request/+

user sen
topic read v1/devices/+/#
topic write v1/devices/+/rpc/request/#
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T> | T, timeoutMs = 5000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

let broker: { port: number; proc: ChildProcess; dir: string; log: string[] } | undefined;

async function startMosquitto() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sen-mosquitto-"));
  // Mosquitto started as root drops to the "mosquitto" user: let it read its files.
  chmodSync(dir, 0o755);
  const passwd = path.join(dir, "passwd");
  writeFileSync(
    passwd,
    Object.entries(USERS)
      .map(([u, p]) => `${u}:${p}\n`)
      .join(""),
  );
  execFileSync(MOSQUITTO_PASSWD, ["-U", passwd]); // hash the plain-text file in place
  writeFileSync(path.join(dir, "acl"), ACL);
  const port = await freePort();
  writeFileSync(
    path.join(dir, "mosquitto.conf"),
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous false",
      `password_file ${passwd}`,
      `acl_file ${path.join(dir, "acl")}`,
      "persistence false",
      "max_queued_messages 10000",
      "log_dest stdout",
      "log_type error",
      "log_type warning",
      "",
    ].join("\n"),
  );
  for (const f of ["passwd", "acl", "mosquitto.conf"]) chmodSync(path.join(dir, f), 0o644);
  const proc = spawn(MOSQUITTO, ["-c", path.join(dir, "mosquitto.conf")], { stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  proc.stdout?.on("data", (b: Buffer) => log.push(b.toString()));
  proc.stderr?.on("data", (b: Buffer) => log.push(b.toString()));
  await until(
    "mosquitto to listen",
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => {
          s.destroy();
          resolve(true);
        });
        s.on("error", () => resolve(false));
      }),
  );
  broker = { port, proc, dir, log };
}

/** Stop Mosquitto, run `meanwhile`, and start it again on the same port and configuration. */
async function restartMosquitto(meanwhile: () => Promise<void>) {
  if (!broker) throw new Error("no broker");
  const { proc, dir, log } = broker;
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill("SIGTERM");
  await exited;
  await meanwhile();
  const next = spawn(MOSQUITTO, ["-c", path.join(dir, "mosquitto.conf")], { stdio: ["ignore", "pipe", "pipe"] });
  next.stdout?.on("data", (b: Buffer) => log.push(b.toString()));
  next.stderr?.on("data", (b: Buffer) => log.push(b.toString()));
  broker.proc = next;
}

const brokerUrl = (query = "") => `mqtt://sen:${SEN_PASSWORD}@127.0.0.1:${broker?.port}${query}`;

/** A device connected to the broker with its own user name and password. */
function device(user: string, version: 4 | 5 = 4): Promise<mqtt.MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${broker?.port}`, {
      username: user,
      password: USERS[user],
      protocolVersion: version,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    c.once("connect", () => resolve(c));
    c.once("error", (err) => {
      c.end(true);
      reject(err);
    });
  });
}

/** Remove a Sen node's session from the broker (Clean Start, no expiry). */
async function forgetSession(clientId: string) {
  const c = await mqtt.connectAsync(brokerUrl(), { clientId, protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 });
  await c.endAsync();
}

const silent = pino({ level: "silent" });
const admin: Actor = { type: "system", name: "test", roles: [], permissions: new Set() };

/** The IoT service with a database that can be switched off (for ingest only). */
function flaky(iot: IotService) {
  const state = { down: false };
  const proxy = new Proxy(iot, {
    get(target, prop, receiver) {
      if (prop === "ingestTelemetry")
        return async (...args: Parameters<IotService["ingestTelemetry"]>) => {
          if (state.down) throw new Error("connection to the database lost");
          return target.ingestTelemetry(...args);
        };
      // The callback form the consumer uses for a first attempt at telemetry.
      if (prop === "submitTelemetry")
        return (...args: Parameters<IotService["submitTelemetry"]>) => {
          if (state.down) return args[2](new Error("connection to the database lost"), 0);
          return target.submitTelemetry(...args);
        };
      return Reflect.get(target, prop, receiver);
    },
  });
  return { iot: proxy, state };
}

const haveMosquitto = existsSync(MOSQUITTO) && existsSync(MOSQUITTO_PASSWD);

beforeAll(async () => {
  if (haveMosquitto) await startMosquitto();
});
afterAll(async () => {
  if (!broker) return;
  const { proc, dir } = broker;
  if (proc.exitCode === null) {
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    await Promise.race([exited, sleep(3000)]);
    if (proc.exitCode === null) proc.kill("SIGKILL");
  }
  rmSync(dir, { recursive: true, force: true });
});

for (const target of dbTargets()) {
  describe.skipIf(!haveMosquitto)(`external broker (Mosquitto) on ${target.name}`, () => {
    let sen: TestSen;
    let token: string;
    let ext: ExternalMqtt;
    const clientId = `sen-${target.name}-1`;
    const group = `g-${target.name}`;
    const consumer = (iot: IotService = sen.services.iot, id = clientId) =>
      startExternalMqtt(iot, { url: brokerUrl(), clientId: id, group, log: silent, reconnectPeriodMs: 200 });
    const api = async (url: string) => {
      const res = await sen.app.inject({ url, headers: auth(token) });
      expect(res.statusCode, res.body).toBe(200);
      return res.json();
    };
    const register = async (body: Record<string, unknown>) => {
      const res = await sen.app.inject({
        method: "POST",
        url: "/api/devices",
        headers: auth(token),
        payload: { profileId: "water-level-station", lat: 10.46, lon: 105.63, ...body },
      });
      expect(res.statusCode, res.body).toBe(201);
    };
    const rows = async (deviceId: string) =>
      Number(
        (
          await sen.services.db.one<{ n: number }>("SELECT count(*)::int AS n FROM iot.points t JOIN iot.devices d ON d.no = t.device_no WHERE d.id = $1", [
            deviceId,
          ])
        )?.n,
      );

    beforeAll(async () => {
      // Without MQTT_URL this Sen also runs its embedded broker, on an ephemeral port; harmless.
      sen = await startSen(target);
      token = await sen.login();
      // A device named by its MQTT user name, and one by its id (no MQTT user name).
      await register({ id: "tan-chau-ext", name: "Tân Châu (Mosquitto)", mqttUsername: "ext-a", mqttPassword: "unused-here" });
      await register({ id: "ext-b", name: "Châu Đốc (Mosquitto)" });
      await register({ id: "lamp-ext", name: "Đèn đường", profileId: "streetlight", lat: 10.45, lon: 105.63, mqttUsername: "ext-rpc" });
      await register({ id: "off-ext", name: "Hồng Ngự", mqttUsername: "ext-off" });
      await register({ id: "flaky-ext", name: "Cao Lãnh", mqttUsername: "ext-flaky" });
      ext = await consumer();
      expect(ext.connected()).toBe(true);
    });
    afterAll(async () => {
      await ext?.close();
      await forgetSession(clientId).catch(() => undefined);
      await sen?.dispose();
    });

    it("stores what a device publishes to its own topic, within a second", async () => {
      const d = await device("ext-a");
      const t0 = Date.now();
      await publish(d, "v1/devices/ext-a/telemetry", JSON.stringify({ waterLevel: 4.12 }));
      const latest = await until("the value in /latest", async () => (await api("/api/devices/tan-chau-ext/latest")).waterLevel, 1000);
      expect(latest.value).toBe(4.12);
      expect(Date.now() - t0).toBeLessThan(1000);
      await publish(d, "v1/devices/ext-a/telemetry", JSON.stringify([{ ts: Date.now() - 60_000, values: { waterLevel: 4.0, battery: 90 } }]));
      await publish(d, "v1/devices/ext-a/attributes", JSON.stringify({ firmware: "2.1.0" }));
      await until("attributes", async () => (await api("/api/devices/tan-chau-ext")).attributes.firmware === "2.1.0");
      await until("three rows", async () => (await rows("tan-chau-ext")) === 3);
      await end(d);
      // A device without an MQTT user name uses its id.
      const b = await device("ext-b");
      await publish(b, "v1/devices/ext-b/telemetry", JSON.stringify({ waterLevel: 2.4 }), 0); // QoS 0 reaches Sen at QoS 0
      await until("ext-b's QoS 0 value", async () => (await api("/api/devices/ext-b/latest")).waterLevel?.value === 2.4);
      await publish(b, "v1/devices/ext-b/telemetry", JSON.stringify({ waterLevel: 2.5 }));
      await until("ext-b's value", async () => (await api("/api/devices/ext-b/latest")).waterLevel?.value === 2.5);
      await end(b);
      expect(ext.stats).toMatchObject({ stored: 5, rejected: 0 });
    });

    it("the broker's ACL stops a device publishing as another or reading its commands", async () => {
      const a = await device("ext-a", 5);
      // MQTT 5 tells the publisher: PUBACK 0x87 (not authorized).
      await expect(a.publishAsync("v1/devices/ext-b/telemetry", JSON.stringify({ waterLevel: 9.99 }), { qos: 1 })).rejects.toThrow();
      // Sen's topics are out of reach too.
      await expect(a.publishAsync("v1/devices/ext-rpc/rpc/request/1", "{}", { qos: 1 })).rejects.toThrow();
      await end(a);
      // An MQTT 3.1.1 device is not told, but nothing reaches Sen either.
      const a4 = await device("ext-a");
      await publish(a4, "v1/devices/ext-b/telemetry", JSON.stringify({ waterLevel: 8.88 }));
      await publish(a4, "v1/devices/ext-a/telemetry", JSON.stringify({ waterLevel: 4.2 }));
      await until("the marker", async () => (await api("/api/devices/tan-chau-ext/latest")).waterLevel.value === 4.2);
      await end(a4);
      expect((await api("/api/devices/ext-b/latest")).waterLevel.value).toBe(2.5);
      expect(await rows("ext-b")).toBe(2);
    });

    it("counts bad payloads on the device and unknown names, acknowledges them, and goes on", async () => {
      const before = { ...ext.stats };
      const unknownBefore = externalMqttStats.unknownDevice;
      const d = await device("ext-a");
      await publish(d, "v1/devices/ext-a/telemetry", "not json {");
      await publish(d, "v1/devices/ext-a/telemetry", JSON.stringify({ waterLevel: "high" }));
      const dto = await until("two rejections", async () => {
        const x = await api("/api/devices/tan-chau-ext");
        return x.rejected === 2 && x;
      });
      expect(dto.lastRejection).toMatch(/waterLevel must be a number/);
      expect(ext.stats.rejected - before.rejected).toBe(2);
      // A broker user Sen does not know.
      const ghost = await device("ghost");
      await publish(ghost, "v1/devices/ghost/telemetry", JSON.stringify({ waterLevel: 1 }));
      await until("the unknown name counted", () => externalMqttStats.unknownDevice === unknownBefore + 1);
      expect(ext.stats.unknownDevice - before.unknownDevice).toBe(1);
      await end(ghost);
      // Poison was acknowledged: good data keeps flowing, and nothing comes back after a reconnect.
      await publish(d, "v1/devices/ext-a/telemetry", JSON.stringify({ waterLevel: 4.3 }));
      await until("the next good value", async () => (await api("/api/devices/tan-chau-ext/latest")).waterLevel.value === 4.3);
      await end(d);
      await ext.close();
      ext = await consumer();
      await sleep(300);
      expect(ext.stats.received).toBe(0);
      expect((await api("/api/devices/tan-chau-ext")).rejected).toBe(2);
    });

    it("server-side RPC goes through the broker to the device and back", async () => {
      const commands = commandService({ db: sen.services.db, audit: sen.services.audit, store: sen.services.iot.store, transport: () => ext });
      const lamp = await device("ext-rpc");
      // Another device listening on the lamp's request topic: Mosquitto grants the subscription
      // but its ACL delivers nothing that user may not read.
      const snoop = await device("ext-a");
      const snooped: string[] = [];
      snoop.on("message", (topic) => snooped.push(topic));
      await snoop.subscribeAsync(["v1/devices/ext-rpc/rpc/request/+", "v1/devices/+/rpc/response/+"], { qos: 1 });
      await lamp.subscribeAsync("v1/devices/ext-rpc/rpc/request/+", { qos: 1 });
      lamp.on("message", (topic, payload) => {
        const id = topic.split("/").pop();
        const req = JSON.parse(payload.toString());
        lamp.publish(`v1/devices/ext-rpc/rpc/response/${id}`, JSON.stringify({ ok: true, on: req.params.on }), { qos: 1 });
      });
      const c = await commands.send("lamp-ext", { method: "setPowerState", params: { on: true }, timeoutMs: 5000 }, admin);
      expect(c).toMatchObject({ status: "succeeded", response: { ok: true, on: true }, method: "setPowerState" });
      // One-way: delivered to the broker.
      expect((await commands.send("lamp-ext", { method: "blink", oneway: true }, admin)).status).toBe("delivered");
      await end(lamp);
      expect(snooped).toEqual([]);
      await end(snoop);
      // The broker cannot say whether a device is connected: a request to a silent one times out.
      const silentOne = await commands.send("off-ext", { method: "ping", timeoutMs: 300 }, admin);
      expect(silentOne.status).toBe("timeout");
      // A device that is not Sen's, or Sen not connected, is reported as not delivered.
      expect(await ext.sendRequest("no-such-device", 1, {})).toBe(false);
    });

    it("keeps what devices publish while Sen is away (persistent session) and does not redeliver what it acknowledged", async () => {
      await ext.close();
      expect(ext.connected()).toBe(false);
      const d = await device("ext-off");
      const t0 = Date.now() - 10_000;
      for (let i = 0; i < 50; i++) await publish(d, "v1/devices/ext-off/telemetry", JSON.stringify({ ts: t0 + i, values: { waterLevel: 1 + i / 100 } }));
      await end(d);
      expect(await rows("off-ext")).toBe(0);
      ext = await consumer();
      await until("the 50 messages", async () => (await rows("off-ext")) === 50);
      await sleep(200);
      expect(ext.stats).toMatchObject({ received: 50, stored: 50 });
    });

    it("does not acknowledge a message it could not write: retries it, and the broker redelivers it after a restart", async () => {
      await ext.close();
      const db = flaky(sen.services.iot);
      ext = await consumer(db.iot);
      const d = await device("ext-flaky");
      const t0 = Date.now() - 10_000;
      const send = (i: number) => publish(d, "v1/devices/ext-flaky/telemetry", JSON.stringify({ ts: t0 + i, values: { waterLevel: 3 + i / 100 } }));
      // The database comes back while Sen retries: written once, then acknowledged.
      db.state.down = true;
      for (let i = 0; i < 3; i++) await send(i);
      await until("a failed write", () => ext.stats.retries >= 3);
      expect(await rows("flaky-ext")).toBe(0);
      db.state.down = false;
      await until("the three rows", async () => (await rows("flaky-ext")) === 3);
      expect(ext.stats.stored).toBe(3);
      // The node stops while the database is down: nothing acknowledged, so the broker keeps the
      // messages in the node's session and hands them over when it is back.
      db.state.down = true;
      for (let i = 3; i < 6; i++) await send(i);
      await until("failed writes", () => ext.stats.retries >= 6);
      await ext.close();
      ext = await consumer();
      await until("the redelivered rows", async () => (await rows("flaky-ext")) === 6);
      await sleep(200);
      // Only the three unacknowledged messages came back.
      expect(ext.stats).toMatchObject({ received: 3, stored: 3 });
      await end(d);
    });

    it("rides out a broker restart: reconnects, subscribes again, logs, and Sen stays up", async () => {
      await ext.close();
      const logged: string[] = [];
      const log = { info: () => {}, warn: (_o: object, m: string) => logged.push(m), error: (_o: object, m: string) => logged.push(m) };
      ext = await startExternalMqtt(sen.services.iot, { url: brokerUrl(), clientId, group, log, reconnectPeriodMs: 200 });
      await restartMosquitto(async () => {
        await until("the disconnect", () => !ext.connected());
        expect((await sen.app.inject({ url: "/api/health" })).statusCode).toBe(200);
        await sleep(500); // a few refused reconnects
      });
      await until("the reconnect", () => ext.connected(), 10_000);
      expect(logged.length).toBeGreaterThan(0);
      // The broker kept no sessions (persistence false): Sen subscribed again on its own.
      const d = await device("ext-a");
      await publish(d, "v1/devices/ext-a/telemetry", JSON.stringify({ waterLevel: 4.44 }));
      await until("data after the restart", async () => (await api("/api/devices/tan-chau-ext/latest")).waterLevel.value === 4.44);
      await end(d);
    });

    it("starts even when the broker refuses it, and keeps trying", async () => {
      const errors: string[] = [];
      const log = { warn: (_o: object, m: string) => errors.push(m), error: (_o: object, m: string) => errors.push(m) };
      const bad = await startExternalMqtt(sen.services.iot, {
        url: `mqtt://sen:wrong@127.0.0.1:${broker?.port}`,
        clientId: `sen-${target.name}-bad`,
        log,
        startTimeoutMs: 500,
        reconnectPeriodMs: 100,
      });
      expect(bad.connected()).toBe(false);
      expect(errors.join("\n")).toMatch(/connection error/);
      expect(await bad.sendRequest("lamp-ext", 1, {})).toBe(false);
      await bad.close();
    });
  });

  describe.skipIf(!haveMosquitto)(`Sen started with MQTT_URL on ${target.name}`, () => {
    let sen: TestSen;
    const clientId = `sen-wired-${target.name}`;
    afterAll(async () => {
      await sen?.dispose();
      await forgetSession(clientId).catch(() => undefined);
    });

    it("consumes through the broker and answers RPC over the HTTP API", async (ctx) => {
      sen = await startSen(target, { MQTT_URL: brokerUrl(`?clientId=${clientId}`) });
      expect(sen.mqttPort).toBeUndefined(); // no embedded broker
      const ext = externalMqttOf(sen.services.iot);
      if (!ext) return ctx.skip("src/app.ts does not start the external-broker client yet");
      const token = await sen.login();
      const res = await sen.app.inject({
        method: "POST",
        url: "/api/devices",
        headers: auth(token),
        payload: { id: "wired-1", name: "Mỹ Thuận", profileId: "water-level-station", mqttUsername: "ext-wired" },
      });
      expect(res.statusCode, res.body).toBe(201);
      const d = await device("ext-wired");
      await publish(d, "v1/devices/ext-wired/telemetry", JSON.stringify({ waterLevel: 3.3 }));
      await until(
        "the value",
        async () => (await sen.app.inject({ url: "/api/devices/wired-1/latest", headers: auth(token) })).json().waterLevel?.value === 3.3,
      );
      await d.subscribeAsync("v1/devices/ext-wired/rpc/request/+", { qos: 1 });
      d.on("message", (topic) => d.publish(`v1/devices/ext-wired/rpc/response/${topic.split("/").pop()}`, JSON.stringify({ pong: true }), { qos: 1 }));
      const rpc = await sen.app.inject({
        method: "POST",
        url: "/api/devices/wired-1/rpc",
        headers: auth(token),
        payload: { method: "ping", timeoutMs: 5000 },
      });
      expect(rpc.statusCode, rpc.body).toBe(200);
      expect(rpc.json()).toMatchObject({ status: "succeeded", response: { pong: true } });
      await end(d);
    });
  });
}

// Several Sen nodes on one PostgreSQL database split the devices' messages between them.
describe.skipIf(!haveMosquitto || !process.env.TEST_DATABASE_URL)("two Sen nodes behind one broker (PostgreSQL)", () => {
  const serverUrl = process.env.TEST_DATABASE_URL as string;
  let url: string;
  const nodes: Array<{ sen: Sen; ext?: ExternalMqtt }> = [];

  beforeAll(async () => {
    url = await createDatabase(serverUrl);
    for (let i = 0; i < 2; i++) {
      const db = await openDb({ url, poolSize: 5 });
      nodes.push({ sen: await createSen({ config: testConfig(), db, web: false, logger: silent }) });
    }
  });
  afterAll(async () => {
    for (const [i, n] of nodes.entries()) {
      await n.ext?.close();
      await forgetSession(`sen-split-${i}`).catch(() => undefined);
      await n.sen.close();
    }
    await dropDatabase(serverUrl, url);
  });

  it("each message is stored exactly once, and both nodes take a share", async () => {
    const [a, b] = nodes;
    const token = (await a.sen.app.inject({ method: "POST", url: "/api/auth/login", payload: { username: "admin", password: "test-admin-password" } })).json()
      .token as string;
    for (let i = 0; i < 4; i++) {
      const res = await a.sen.app.inject({
        method: "POST",
        url: "/api/devices",
        headers: auth(token),
        payload: { id: `split-dev-${i}`, name: `Trạm ${i}`, profileId: "water-level-station", mqttUsername: `split-${i}` },
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    // Node b learns of devices registered on node a when it loads the registry.
    await b.sen.services.iot.load();
    for (const [i, n] of nodes.entries())
      n.ext = await startExternalMqtt(n.sen.services.iot, { url: brokerUrl(), clientId: `sen-split-${i}`, group: "split", log: silent });

    const PER_DEVICE = 100;
    const t0 = Date.now() - 60_000;
    await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        const d = await device(`split-${i}`);
        await Promise.all(
          Array.from({ length: PER_DEVICE }, (_, k) =>
            publish(d, `v1/devices/split-${i}/telemetry`, JSON.stringify({ ts: t0 + k, values: { waterLevel: i + k / 1000 } })),
          ),
        );
        await end(d);
      }),
    );
    const total = 4 * PER_DEVICE;
    const db = a.sen.services.db;
    const count = async () =>
      Number(
        (await db.one<{ n: number }>("SELECT count(*)::int AS n FROM iot.points t JOIN iot.devices d ON d.no = t.device_no WHERE d.id LIKE 'split-dev-%'"))?.n,
      );
    await until("every message stored", async () => (await count()) === total, 10_000);
    await sleep(300);
    const [sa, sb] = nodes.map((n) => n.ext?.stats.stored ?? 0);
    // Every message was written by exactly one node (a duplicate would count twice here).
    expect(sa + sb).toBe(total);
    expect(sa).toBeGreaterThan(total / 5);
    expect(sb).toBeGreaterThan(total / 5);
    expect(await count()).toBe(total);
  });
});
