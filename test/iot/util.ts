// MQTT devices for tests.
import mqtt from "mqtt";
import { TAN_CHAU_LEVELS, hydrologyRule } from "../../src/ops/index.ts";
import { type TestSen, auth } from "../helpers.ts";

export function connectDevice(port: number, username: string, password?: string): Promise<mqtt.MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { username, password, reconnectPeriod: 0, connectTimeout: 5000 });
    c.once("connect", () => resolve(c));
    c.once("error", (err) => {
      c.end(true);
      reject(err);
    });
  });
}

export function publish(c: mqtt.MqttClient, topic: string, payload: string | Buffer, qos: 0 | 1 = 1): Promise<void> {
  return new Promise((resolve, reject) => c.publish(topic, payload, { qos }, (err) => (err ? reject(err) : resolve())));
}

export const end = (c: mqtt.MqttClient) => new Promise<void>((r) => c.end(false, {}, () => r()));

/** Register the Tân Châu water-level station (BĐ levels and the flood rule) with an access token. */
export async function registerTanChau(sen: TestSen, adminToken: string, accessToken: string, extraAttributes: Record<string, unknown> = {}): Promise<void> {
  const res = await sen.app.inject({
    method: "POST",
    url: "/api/devices",
    headers: auth(adminToken),
    payload: {
      id: "wl-tan-chau",
      name: "Trạm thủy văn Tân Châu",
      profileId: "water-level-station",
      lat: 10.8006,
      lon: 105.248,
      agency: "SNNMT",
      accessToken,
      serverAttributes: { alarmLevels: TAN_CHAU_LEVELS, ...extraAttributes },
      rules: [hydrologyRule(TAN_CHAU_LEVELS)],
    },
  });
  if (res.statusCode !== 201) throw new Error(`registering Tân Châu failed: ${res.statusCode} ${res.body}`);
}
