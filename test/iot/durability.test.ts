// Acknowledged data is never lost: devices publish QoS 1 at full speed, Sen is killed with
// SIGKILL in the middle, and after a restart every data point whose PUBACK arrived is stored.
import mqtt from "mqtt";
import { afterAll, describe, expect, it } from "vitest";
import { createDatabase, dropDatabase } from "../helpers.ts";
import { cleanup, freePort, login, senEnv, startServer, tempDir } from "../system/proc.ts";

const DEVICES = 8;

interface Acked {
  device: number;
  ts: number;
}

async function loadUntilKilled(mqttPort: number, kill: () => void): Promise<{ acked: Acked[]; sent: number }> {
  const acked: Acked[] = [];
  let sent = 0;
  let stop = false;
  const clients = await Promise.all(
    Array.from(
      { length: DEVICES },
      (_, i) =>
        new Promise<mqtt.MqttClient>((resolve, reject) => {
          const c = mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, { username: `DURABLE-TOKEN-${i}`, reconnectPeriod: 0, connectTimeout: 5000 });
          c.once("connect", () => resolve(c));
          c.once("error", reject);
        }),
    ),
  );
  const base = Date.now() - 60_000;
  const publishers = clients.map(async (c, device) => {
    // Keep up to 50 messages in flight per device, each with its own timestamp.
    let inflight = 0;
    let n = 0;
    await new Promise<void>((resolve) => {
      const pump = () => {
        while (!stop && inflight < 50) {
          const ts = base + n++;
          inflight++;
          sent++;
          c.publish("v1/devices/me/telemetry", JSON.stringify({ ts, values: { waterLevel: 1 + (n % 300) / 100, a: n, b: device } }), { qos: 1 }, (err) => {
            inflight--;
            if (!err) acked.push({ device, ts });
            if (stop && inflight === 0) resolve();
            else pump();
          });
        }
      };
      c.on("close", () => {
        stop = true;
        resolve();
      });
      pump();
    });
  });
  // Let the load run, then kill the server in the middle of it.
  await new Promise((r) => setTimeout(r, 2500));
  kill();
  await Promise.race([Promise.all(publishers), new Promise((r) => setTimeout(r, 5000))]);
  stop = true;
  for (const c of clients) c.end(true);
  return { acked: [...acked], sent };
}

const targets: Array<{ name: string; env: () => Promise<{ env: Record<string, string>; done(): Promise<void> }> }> = [
  { name: "pglite", env: async () => ({ env: { SEN_DATA_DIR: tempDir() }, done: async () => {} }) },
];
const serverUrl = process.env.TEST_DATABASE_URL;
if (serverUrl)
  targets.push({
    name: "postgres",
    env: async () => {
      const url = await createDatabase(serverUrl);
      return { env: { SEN_DATA_DIR: tempDir(), DATABASE_URL: url }, done: () => dropDatabase(serverUrl, url) };
    },
  });

describe("durability", () => {
  afterAll(cleanup);

  for (const target of targets) {
    it(`kill -9 under load on ${target.name}: every acknowledged data point is stored`, async () => {
      const { env: dbEnv, done } = await target.env();
      const mqttPort = await freePort();
      const env = senEnv({ ...dbEnv, PORT: String(await freePort()), MQTT_PORT: String(mqttPort), SEN_ADMIN_PASSWORD: "durable-admin-1" });
      let { proc, url } = await startServer(env);
      const { token } = await login(url, "admin", "durable-admin-1");
      for (let i = 0; i < DEVICES; i++) {
        const res = await fetch(`${url}/api/devices`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ id: `durable-${i}`, name: `Trạm ${i}`, profileId: "water-level-station", accessToken: `DURABLE-TOKEN-${i}` }),
        });
        expect(res.status).toBe(201);
      }

      const { acked, sent } = await loadUntilKilled(mqttPort, () => proc.child.kill("SIGKILL"));
      const exit = await proc.exited;
      expect(exit.signal).toBe("SIGKILL");
      expect(acked.length).toBeGreaterThan(500);
      expect(sent).toBeGreaterThan(acked.length);

      ({ proc, url } = await startServer(env));
      const t2 = (await login(url, "admin", "durable-admin-1")).token;
      const missing: Acked[] = [];
      for (let i = 0; i < DEVICES; i++) {
        const res = await fetch(`${url}/api/devices/durable-${i}/telemetry?keys=a&from=${new Date(Date.now() - 3_600_000).toISOString()}&limit=100000`, {
          headers: { authorization: `Bearer ${t2}` },
        });
        expect(res.status).toBe(200);
        const stored = new Set(((await res.json()).a ?? []).map((p: { ts: string }) => new Date(p.ts).getTime()));
        for (const a of acked) if (a.device === i && !stored.has(a.ts)) missing.push(a);
      }
      expect(missing, `${missing.length} of ${acked.length} acknowledged points were lost`).toEqual([]);
      await proc.stop();
      await done();
    }, 120_000);
  }
});
