// Subscriptions end to end: an independent NGSI-LD client (ngsijs, from npm) creates, queries
// (q and geo), updates and subscribes, and receives Sen's notifications over HTTP; retries with
// status fields; throttling; MQTT endpoints; notifications that survive a restart.
import http from "node:http";
import { createRequire } from "node:module";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { rmSync } from "node:fs";
import { Aedes } from "aedes";
import mqtt from "mqtt";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sen, createSen } from "../../src/app.ts";
import { type TestSen, createDatabase, dbTargets, dropDatabase, startSen, testConfig, tmpDir } from "../helpers.ts";
import { call, station } from "./util.ts";

// ngsijs is CommonJS with its own Node transport (http.request): no fetch/XHR shim is needed.
const require = createRequire(import.meta.url);
const NGSI = require("ngsijs") as {
  Connection: new (
    url: string,
    opts: { headers: Record<string, string> },
  ) => {
    ld: {
      createEntity(e: unknown): Promise<{ location: string }>;
      getEntity(o: { id: string; keyValues?: boolean }): Promise<{ entity: Record<string, unknown> }>;
      queryEntities(o: Record<string, unknown>): Promise<{ results: Array<Record<string, unknown>>; count?: number }>;
      updateEntityAttributes(changes: Record<string, unknown>): Promise<{ updated: string[]; notUpdated: unknown[] }>;
      appendEntityAttributes(changes: Record<string, unknown>): Promise<unknown>;
      createSubscription(s: unknown): Promise<{ subscription: { id: string }; location: string }>;
      getSubscription(o: { id: string }): Promise<{ subscription: Record<string, unknown> }>;
      deleteEntity(o: { id: string }): Promise<unknown>;
    };
  };
};

interface Received {
  headers: http.IncomingHttpHeaders;
  body: { id: string; type: string; subscriptionId: string; notifiedAt: string; data: Array<Record<string, unknown>> };
}

/** A notification receiver; `fail` answers 500 that many times first. */
async function receiver(port = 0) {
  const got: Received[] = [];
  const state = { fail: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      if (state.fail > 0) {
        state.fail--;
        res.writeHead(500).end();
        return;
      }
      got.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return {
    got,
    state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((r) => server.close(r)),
  };
}

for (const target of dbTargets()) {
  describe(`NGSI-LD subscriptions on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    let base: string;
    let rx: Awaited<ReturnType<typeof receiver>>;
    beforeAll(async () => {
      sen = await startSen(target);
      admin = await sen.login();
      const addr = await sen.app.listen({ port: 0, host: "127.0.0.1" });
      base = `${addr}/`;
      rx = await receiver();
    });
    afterAll(async () => {
      await rx?.close();
      await sen?.dispose();
    });

    it("works with ngsijs: create, query by q and geo, update, subscribe, get notified", async () => {
      const ngsi = new NGSI.Connection(base, { headers: { Authorization: `Bearer ${admin}` } });
      for (const [i, level] of [3.2, 4.6, 2.1].entries())
        await ngsi.ld.createEntity(station(`urn:ngsi-ld:WaterObserved:ngsijs-${i}`, level, 105.2 + i * 0.2, 10.8));
      const byQ = await ngsi.ld.queryEntities({ type: "WaterObserved", q: "waterLevel>3", count: true });
      expect(byQ.results.map((e) => e.id)).toEqual(["urn:ngsi-ld:WaterObserved:ngsijs-0", "urn:ngsi-ld:WaterObserved:ngsijs-1"]);
      expect(byQ.count).toBe(2);
      const byGeo = await ngsi.ld.queryEntities({ type: "WaterObserved", georel: "near;maxDistance==5000", geometry: "Point", coordinates: "[105.41,10.8]" });
      expect(byGeo.results.map((e) => e.id)).toEqual(["urn:ngsi-ld:WaterObserved:ngsijs-1"]);

      const sub = await ngsi.ld.createSubscription({
        type: "Subscription",
        entities: [{ type: "WaterObserved" }],
        watchedAttributes: ["waterLevel"],
        q: "waterLevel>=4",
        notification: { attributes: ["waterLevel"], format: "keyValues", endpoint: { uri: rx.url, accept: "application/json" } },
      });
      expect(sub.subscription.id).toMatch(/^urn:ngsi-ld:Subscription:/);
      // below the threshold: no notification; above: one, with the new value
      await ngsi.ld.updateEntityAttributes({ id: "urn:ngsi-ld:WaterObserved:ngsijs-2", waterLevel: { type: "Property", value: 3.5 } });
      await ngsi.ld.updateEntityAttributes({ id: "urn:ngsi-ld:WaterObserved:ngsijs-0", waterLevel: { type: "Property", value: 4.3 } });
      await expect.poll(() => rx.got.length, { timeout: 10_000 }).toBe(1);
      const n = rx.got[0];
      expect(n.headers["content-type"]).toBe("application/json");
      expect(n.headers.link).toContain("ngsi-ld-core-context");
      expect(n.body).toMatchObject({
        type: "Notification",
        subscriptionId: sub.subscription.id,
        data: [{ id: "urn:ngsi-ld:WaterObserved:ngsijs-0", type: "WaterObserved", waterLevel: 4.3 }],
      });
      expect(n.body.data[0].name).toBeUndefined();
      expect(Date.parse(n.body.notifiedAt)).toBeGreaterThan(Date.now() - 60_000);
      // the client reads the subscription's status
      await expect
        .poll(async () => ((await ngsi.ld.getSubscription({ id: sub.subscription.id })).subscription.notification as { timesSent: number }).timesSent)
        .toBe(1);
      const status = (await ngsi.ld.getSubscription({ id: sub.subscription.id })).subscription;
      expect(status).toMatchObject({ status: "active", isActive: true, notification: { status: "ok", timesSent: 1, consecutiveErrors: 0 } });
    });

    it("retries with backoff and keeps status fields", async () => {
      const res = await call(sen, "POST", "/ngsi-ld/v1/subscriptions", {
        token: admin,
        body: { type: "Subscription", entities: [{ type: "Retry" }], notification: { endpoint: { uri: rx.url } } },
      });
      expect(res.statusCode, res.body).toBe(201);
      const subUrl = res.headers.location as string;
      rx.state.fail = 1;
      const before = rx.got.length;
      await call(sen, "POST", "/ngsi-ld/v1/entities", { token: admin, body: { id: "urn:ngsi-ld:Retry:1", type: "Retry", v: 1 } });
      await expect.poll(async () => (await call(sen, "GET", subUrl, { token: admin })).json().notification.consecutiveErrors, { timeout: 10_000 }).toBe(1);
      expect((await call(sen, "GET", subUrl, { token: admin })).json().notification).toMatchObject({ status: "failed", timesFailed: 1 });
      await expect.poll(() => rx.got.length, { timeout: 15_000 }).toBe(before + 1);
      await expect.poll(async () => (await call(sen, "GET", subUrl, { token: admin })).json().notification.status, { timeout: 5000 }).toBe("ok");
      const n = (await call(sen, "GET", subUrl, { token: admin })).json().notification;
      expect(n.lastFailure).toBeTruthy();
      expect(n.lastSuccess >= n.lastFailure).toBe(true);
      // pausing stops notifications; deleting removes the subscription
      expect((await call(sen, "PATCH", subUrl, { token: admin, body: { isActive: false } })).statusCode).toBe(204);
      expect((await call(sen, "GET", subUrl, { token: admin })).json().status).toBe("paused");
      await call(sen, "PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:Retry:1/attrs", { token: admin, body: { v: 2 } });
      expect((await call(sen, "DELETE", subUrl, { token: admin })).statusCode).toBe(204);
      expect((await call(sen, "GET", subUrl, { token: admin })).statusCode).toBe(404);
      await new Promise((r) => setTimeout(r, 300));
      expect(rx.got.length).toBe(before + 1);
    });

    it("throttles, and notifies MQTT endpoints", async () => {
      const broker = await Aedes.createBroker();
      const server = net.createServer(broker.handle);
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const port = (server.address() as AddressInfo).port;
      const listener = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`);
      const messages: Array<{ metadata: Record<string, string>; body: { data: Array<{ id: string }> } }> = [];
      await listener.subscribeAsync("sen/ngsi");
      listener.on("message", (_t, m) => messages.push(JSON.parse(m.toString())));
      try {
        let res = await call(sen, "POST", "/ngsi-ld/v1/subscriptions", {
          token: admin,
          body: {
            type: "Subscription",
            entities: [{ type: "Gate" }],
            notification: { endpoint: { uri: `mqtt://127.0.0.1:${port}/sen/ngsi`, accept: "application/json" } },
          },
        });
        expect(res.statusCode, res.body).toBe(201);
        res = await call(sen, "POST", "/ngsi-ld/v1/subscriptions", {
          token: admin,
          body: { type: "Subscription", entities: [{ type: "Gate" }], throttling: 60, notification: { endpoint: { uri: rx.url } } },
        });
        const throttled = res.headers.location as string;
        const before = rx.got.length;
        await call(sen, "POST", "/ngsi-ld/v1/entities", { token: admin, body: { id: "urn:ngsi-ld:Gate:1", type: "Gate", open: true } });
        for (let i = 0; i < 3; i++) await call(sen, "PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:Gate:1/attrs", { token: admin, body: { open: i % 2 === 0 } });
        await expect.poll(() => messages.length, { timeout: 10_000 }).toBe(4);
        expect(messages[0].metadata["Content-Type"]).toBe("application/json");
        expect(messages[0].body.data[0].id).toBe("urn:ngsi-ld:Gate:1");
        await expect.poll(() => rx.got.length, { timeout: 10_000 }).toBe(before + 1);
        await new Promise((r) => setTimeout(r, 300));
        expect(rx.got.length).toBe(before + 1);
        expect((await call(sen, "GET", throttled, { token: admin })).json().notification.timesSent).toBe(1);
      } finally {
        await listener.endAsync();
        // Sen keeps its connection to a notification broker open; let it go before the broker stops.
        await sen.services.context.subscriptions.closeMqtt();
        await new Promise((r) => server.close(r));
        await new Promise<void>((r) => broker.close(() => r()));
      }
    });
  });

  describe(`NGSI-LD notifications across a restart on ${target.name}`, () => {
    it("delivers a notification that failed before the restart, and keeps the subscription", async () => {
      const dataDir = tmpDir();
      const serverUrl = process.env.TEST_DATABASE_URL;
      const dbUrl = target.name === "postgres" && serverUrl ? await createDatabase(serverUrl) : undefined;
      const env = { SEN_DATA_DIR: dataDir, ...(dbUrl ? { DATABASE_URL: dbUrl } : {}) };
      const start = () => createSen({ config: testConfig(env), web: false, logger: pino({ level: "silent" }) });
      // A port with nobody listening yet.
      const probe = await receiver();
      const port = probe.port;
      await probe.close();
      let sen: Sen | undefined = await start();
      try {
        const login = await sen.app.inject({ method: "POST", url: "/api/auth/login", payload: { username: "admin", password: "test-admin-password" } });
        const token = login.json().token;
        const h = { authorization: `Bearer ${token}`, "content-type": "application/json" };
        let res = await sen.app.inject({
          method: "POST",
          url: "/ngsi-ld/v1/subscriptions",
          headers: h,
          payload: { type: "Subscription", entities: [{ type: "Pump" }], notification: { endpoint: { uri: `http://127.0.0.1:${port}/n` } } },
        });
        expect(res.statusCode).toBe(201);
        res = await sen.app.inject({ method: "POST", url: "/ngsi-ld/v1/entities", headers: h, payload: { id: "urn:ngsi-ld:Pump:1", type: "Pump", on: true } });
        expect(res.statusCode).toBe(201);
        const subs = sen.services.context.subscriptions;
        await expect
          .poll(
            async () =>
              (
                await subs.get(
                  "",
                  (
                    await subs.list("", (await import("../../src/context/jsonld.ts")).CORE, 10, 0)
                  ).items[0].id as string,
                  (
                    await import("../../src/context/jsonld.ts")
                  ).CORE,
                )
              ).notification,
            { timeout: 10_000 },
          )
          .toMatchObject({ consecutiveErrors: 1 });
        await sen.close();
        sen = undefined;
        const rx = await receiver(port);
        try {
          sen = await start();
          await expect.poll(() => rx.got.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
          expect(rx.got[0].body.data[0]).toMatchObject({ id: "urn:ngsi-ld:Pump:1", on: { type: "Property", value: true } });
          res = await sen.app.inject({
            method: "PATCH",
            url: "/ngsi-ld/v1/entities/urn:ngsi-ld:Pump:1/attrs",
            headers: {
              ...h,
              authorization: `Bearer ${(await sen.app.inject({ method: "POST", url: "/api/auth/login", payload: { username: "admin", password: "test-admin-password" } })).json().token}`,
            },
            payload: { on: false },
          });
          expect(res.statusCode).toBe(204);
          await expect.poll(() => rx.got.some((n) => (n.body.data[0].on as { value: boolean }).value === false), { timeout: 10_000 }).toBe(true);
        } finally {
          await rx.close();
        }
      } finally {
        await sen?.close();
        rmSync(dataDir, { recursive: true, force: true });
        if (dbUrl && serverUrl) await dropDatabase(serverUrl, dbUrl);
      }
    }, 240_000);
  });
}
