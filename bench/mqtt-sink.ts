// The do-nothing subscriber of the broker ceilings (`npm run bench -- ingest`), run as a child
// process (fork, IPC). For Mosquitto it connects the way Sen does in external-broker mode (MQTT 5,
// Receive Maximum 1000, a QoS 1 shared subscription to the device topics); for aedes, which speaks
// MQTT 3.1.1 only, it subscribes to # at QoS 1. It acknowledges every message at once and does
// nothing else. Asked "count", it answers how many it got.
import mqtt from "mqtt";

export type ToSink = { type: "connect"; url: string; topic: string; clientId: string; protocolVersion: 4 | 5 } | { type: "count" } | { type: "close" };
export type FromSink = { type: "connected" } | { type: "error"; message: string } | { type: "count"; received: number };

let received = 0;
let client: mqtt.MqttClient | undefined;
const send = (m: FromSink) => process.send?.(m);

process.on("message", (m: ToSink) => {
  if (m.type === "connect") {
    client = mqtt.connect(m.url, {
      clientId: m.clientId,
      protocolVersion: m.protocolVersion,
      clean: true,
      ...(m.protocolVersion === 5 ? { properties: { receiveMaximum: 1000 } } : {}),
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    client.on("message", () => {
      received++;
    });
    client.once("connect", () =>
      client?.subscribe(m.topic, { qos: 1 }, (err, granted) => {
        if (err || (granted ?? []).some((g) => g.qos >= 0x80)) send({ type: "error", message: `subscribe ${m.topic}: ${err?.message ?? "refused"}` });
        else send({ type: "connected" });
      }),
    );
    client.once("error", (err) => send({ type: "error", message: err.message }));
  } else if (m.type === "count") send({ type: "count", received });
  else {
    client?.end(true);
    setTimeout(() => process.exit(0), 100);
  }
});
process.on("disconnect", () => process.exit(0));
