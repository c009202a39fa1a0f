// The embedded-broker ceiling of `npm run bench -- ingest`: a bare aedes broker (the version Sen
// embeds), no authentication, no hooks, in its own process. Its one subscriber is in the same
// process, as Sen's ingest is: a subscription to # whose handler does nothing. (With
// CEILING_SUBSCRIBER=network there is none here: the bench connects one over MQTT instead.)
// GET /stats on PORT answers readiness checks and says how many messages the subscriber was handed.
import http from "node:http";
import net from "node:net";
import { Aedes } from "aedes";

const broker = await Aedes.createBroker();
let delivered = 0;
if (process.env.CEILING_SUBSCRIBER !== "network")
  await new Promise<void>((resolve) =>
    broker.subscribe(
      "#",
      (_packet, done) => {
        delivered++;
        done();
      },
      () => resolve(),
    ),
  );
broker.on("clientError", () => undefined);
broker.on("connectionError", () => undefined);

const mqttServer = net.createServer(broker.handle);
await new Promise<void>((resolve, reject) => {
  mqttServer.once("error", reject);
  mqttServer.listen(Number(process.env.MQTT_PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => resolve());
});

const statsServer = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ delivered, clients: broker.connectedClients, mqttPort: (mqttServer.address() as net.AddressInfo).port }));
});
statsServer.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1");

const stop = () => {
  statsServer.close();
  mqttServer.close();
  broker.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
