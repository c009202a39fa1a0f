// The ceiling: a bare Fastify route with no plugins, hooks or logging, in its own process. What Sen
// answers per second is compared with this on the same machine and in the same run.
import Fastify from "fastify";

const app = Fastify({ logger: false });
app.get("/ping", async () => ({ pong: true }));

await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? "127.0.0.1" });

const stop = () => void app.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
