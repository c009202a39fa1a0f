// MQTT devices for tests.
import mqtt from "mqtt";

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
