// Devices sending data the ThingsBoard way, over MQTT and HTTP, and devices that misbehave.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestSen, auth, dbTargets, startSen } from "../helpers.ts";
import { connectDevice, end, publish } from "./util.ts";

for (const target of dbTargets()) {
  describe(`device ingest on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    let port: number;
    const device = async (id: string, body: Record<string, unknown> = {}) => {
      const res = await sen.app.inject({
        method: "POST",
        url: "/api/devices",
        headers: auth(admin),
        payload: { id, name: `Trạm ${id}`, profileId: "water-level-station", lat: 10.46, lon: 105.63, ...body },
      });
      expect(res.statusCode, res.body).toBe(201);
      return res.json() as { device: { id: string; commune: string }; accessToken: string };
    };
    const get = async (id: string) => (await sen.app.inject({ url: `/api/devices/${id}`, headers: auth(admin) })).json();

    beforeAll(async () => {
      sen = await startSen(target);
      admin = await sen.login();
      port = sen.mqttPort as number;
    });
    afterAll(() => sen?.dispose());

    it("registers a device: token shown once, commune computed from its place", async () => {
      const { device: d, accessToken } = await device("cao-lanh-1");
      expect(accessToken).toMatch(/^[A-Za-z0-9_-]{20}$/);
      expect(d.commune).toBe("29869");
      const again = await get("cao-lanh-1");
      expect(JSON.stringify(again)).not.toContain(accessToken);
      expect(again).toMatchObject({ online: false, accepted: 0, type: "WaterLevelObserved" });
    });

    it("takes telemetry over MQTT with the token as user name, in all three payload shapes", async () => {
      const { accessToken } = await device("mqtt-1", { accessToken: "MQTT-ONE-TOKEN" });
      const c = await connectDevice(port, accessToken);
      await publish(c, "v1/devices/me/telemetry", JSON.stringify({ waterLevel: 4.12 }));
      const latest = (await sen.app.inject({ url: "/api/devices/mqtt-1/latest", headers: auth(admin) })).json();
      // The PUBACK came after the commit: the value is there the moment the publish resolved.
      expect(latest.waterLevel.value).toBe(4.12);

      const t0 = Date.now() - 60_000;
      await publish(c, "v1/devices/me/telemetry", JSON.stringify({ ts: t0, values: { waterLevel: 3.9, battery: 88 } }));
      await publish(
        c,
        "v1/devices/me/telemetry",
        JSON.stringify([
          { ts: t0 + 1000, values: { waterLevel: 3.95 } },
          { ts: t0 + 2000, values: { waterLevel: 4.0 } },
        ]),
      );
      const hist = (await sen.app.inject({ url: "/api/devices/mqtt-1/telemetry?keys=waterLevel", headers: auth(admin) })).json();
      expect(hist.waterLevel.map((p: { value: number }) => p.value)).toEqual([3.9, 3.95, 4.0, 4.12]);
      // Latest keeps the newest by time, not by arrival.
      expect((await sen.app.inject({ url: "/api/devices/mqtt-1/latest", headers: auth(admin) })).json().waterLevel.value).toBe(4.12);
      await publish(c, "v1/devices/me/attributes", JSON.stringify({ firmware: "1.4.2", model: "WL-200" }));
      await end(c);
      const d = await get("mqtt-1");
      expect(d).toMatchObject({ accepted: 4, rejected: 0, online: true, attributes: { firmware: "1.4.2", model: "WL-200" } });
    });

    it("takes telemetry over HTTP at /api/v1/{token}/telemetry", async () => {
      await device("http-1", { accessToken: "HTTP-ONE-TOKEN" });
      const res = await sen.app.inject({ method: "POST", url: "/api/v1/HTTP-ONE-TOKEN/telemetry", payload: { waterLevel: 2.5, battery: 77 } });
      expect(res.statusCode).toBe(200);
      const latest = (await sen.app.inject({ url: "/api/devices/http-1/latest", headers: auth(admin) })).json();
      expect(latest).toMatchObject({ waterLevel: { value: 2.5 }, battery: { value: 77 } });
      const attrs = await sen.app.inject({ method: "POST", url: "/api/v1/HTTP-ONE-TOKEN/attributes", payload: { sim: "viettel" } });
      expect(attrs.statusCode).toBe(200);
      expect((await get("http-1")).attributes).toEqual({ sim: "viettel" });
      const wrong = await sen.app.inject({ method: "POST", url: "/api/v1/NOT-A-TOKEN/telemetry", payload: { waterLevel: 1 } });
      expect(wrong.statusCode).toBe(401);
    });

    it("flags values outside the profile's range instead of storing them as good", async () => {
      await device("range-1", { accessToken: "RANGE-ONE-TOKEN" });
      await sen.app.inject({ method: "POST", url: "/api/v1/RANGE-ONE-TOKEN/telemetry", payload: { waterLevel: 42 } });
      const latest = (await sen.app.inject({ url: "/api/devices/range-1/latest", headers: auth(admin) })).json();
      expect(latest.waterLevel).toMatchObject({ value: 42, outOfRange: true });
      const hourly = (await sen.app.inject({ url: "/api/devices/range-1/telemetry?keys=waterLevel&interval=1h&agg=max", headers: auth(admin) })).json();
      expect(hourly.waterLevel ?? []).toEqual([]);
    });

    it("rejects and counts bad messages with their reason; the device stays connected", async () => {
      await device("bad-1", { accessToken: "BAD-ONE-TOKEN" });
      const c = await connectDevice(port, "BAD-ONE-TOKEN");
      const bad: Array<[string, string | Buffer, RegExp]> = [
        ["v1/devices/me/telemetry", "not json at all", /not valid JSON/],
        ["v1/devices/me/telemetry", Buffer.alloc(2 * 1024 * 1024, "a"), /over the limit/],
        ["v1/devices/me/telemetry", `${"[".repeat(1000)}${"]".repeat(1000)}`, /nested/],
        ["v1/devices/me/telemetry", JSON.stringify({ waterLevel: "high" }), /waterLevel must be a number/],
        ["v1/devices/me/telemetry", JSON.stringify({ ts: 1, values: { waterLevel: 1 } }), /outside the accepted window/],
        ["v1/devices/me/telemetry", JSON.stringify({ "bad key!": 1 }), /not a valid name/],
        // JSON can spell a lone surrogate, which no UTF-8 text holds: the database would refuse
        // the whole batch, with every other device's points in it.
        ["v1/devices/me/telemetry", '{"note":"\\ud800"}', /lone surrogate/],
        ["v1/devices/me/attributes", '{"meta":{"\\udc00":1}}', /lone surrogate/],
        ["v1/devices/other/telemetry", JSON.stringify({ waterLevel: 1 }), /unknown topic/],
      ];
      let rejected = 0;
      for (const [topic, payload, reason] of bad) {
        await publish(c, topic, payload);
        rejected++;
        const d = await get("bad-1");
        expect(d.rejected, String(reason)).toBe(rejected);
        expect(d.lastRejection).toMatch(reason);
      }
      expect(c.connected).toBe(true);
      await publish(c, "v1/devices/me/telemetry", JSON.stringify({ waterLevel: 1.23 }));
      expect((await get("bad-1")).latest.waterLevel.value).toBe(1.23);
      await end(c);
      const http = await sen.app.inject({
        method: "POST",
        url: "/api/v1/BAD-ONE-TOKEN/telemetry",
        headers: { "content-type": "application/json" },
        payload: "{oops",
      });
      expect(http.statusCode).toBe(400);
      // A device sending text the database cannot store is refused; one writing at the same time is not.
      await device("good-1", { accessToken: "GOOD-ONE-TOKEN" });
      const [poison, fine] = await Promise.all([
        sen.app.inject({
          method: "POST",
          url: "/api/v1/BAD-ONE-TOKEN/telemetry",
          headers: { "content-type": "application/json" },
          payload: '{"waterLevel":1,"note":"\\ud800"}',
        }),
        sen.app.inject({ method: "POST", url: "/api/v1/GOOD-ONE-TOKEN/telemetry", payload: { waterLevel: 2.25 } }),
      ]);
      expect(poison.statusCode).toBe(400);
      expect(fine.statusCode).toBe(200);
      expect((await get("good-1")).latest.waterLevel.value).toBe(2.25);
      const deep = await sen.app.inject({
        method: "POST",
        url: "/api/v1/BAD-ONE-TOKEN/telemetry",
        payload: { a: JSON.parse(`${"[".repeat(50)}1${"]".repeat(50)}`) },
      });
      expect(deep.statusCode).toBe(400);
      const huge = await sen.app.inject({
        method: "POST",
        url: "/api/v1/BAD-ONE-TOKEN/telemetry",
        headers: { "content-type": "application/json" },
        payload: `{"a":"${"x".repeat(200_000)}"}`,
      });
      expect(huge.statusCode).toBe(413);
    });

    it("refuses wrong tokens, disabled devices and snooping subscriptions", async () => {
      await expect(connectDevice(port, "WRONG-TOKEN")).rejects.toThrow(/Bad username or password|Not authorized|refused/i);
      await device("spy", { accessToken: "SPY-TOKEN-123" });
      await device("victim", { accessToken: "VICTIM-TOKEN-1" });
      const spy = await connectDevice(port, "SPY-TOKEN-123");
      const seen: string[] = [];
      spy.on("message", (t) => seen.push(t));
      await expect(spy.subscribeAsync("#")).rejects.toThrow(/Subscribe error/);
      await expect(spy.subscribeAsync("v1/devices/+/telemetry")).rejects.toThrow(/Subscribe error/);
      expect((await spy.subscribeAsync("v1/devices/me/rpc/request/+"))[0].qos).toBe(0);
      const victim = await connectDevice(port, "VICTIM-TOKEN-1");
      await publish(victim, "v1/devices/me/telemetry", JSON.stringify({ waterLevel: 2 }));
      await new Promise((r) => setTimeout(r, 200));
      expect(seen).toEqual([]);
      await end(victim);
      await end(spy);

      await sen.app.inject({ method: "PATCH", url: "/api/devices/victim", headers: auth(admin), payload: { enabled: false } });
      await expect(connectDevice(port, "VICTIM-TOKEN-1")).rejects.toThrow();
      const http = await sen.app.inject({ method: "POST", url: "/api/v1/VICTIM-TOKEN-1/telemetry", payload: { waterLevel: 2 } });
      expect(http.statusCode).toBe(400);
    });

    it("survives a flood of connections; other devices are unaffected", async () => {
      await device("steady", { accessToken: "STEADY-TOKEN-1" });
      const steady = await connectDevice(port, "STEADY-TOKEN-1");
      // 300 raw TCP connections that never speak MQTT, and 200 bad CONNECTs.
      const sockets = await Promise.all(
        Array.from(
          { length: 300 },
          () =>
            new Promise<net.Socket>((resolve) => {
              const s = net.connect(port, "127.0.0.1", () => resolve(s));
              s.on("error", () => resolve(s));
            }),
        ),
      );
      const attempts = await Promise.allSettled(Array.from({ length: 200 }, () => connectDevice(port, "NOPE-TOKEN")));
      expect(attempts.every((a) => a.status === "rejected")).toBe(true);
      await publish(steady, "v1/devices/me/telemetry", JSON.stringify({ waterLevel: 3.33 }));
      expect((await get("steady")).latest.waterLevel.value).toBe(3.33);
      for (const s of sockets) s.destroy();
      await end(steady);
      expect((await sen.app.inject({ url: "/api/health" })).statusCode).toBe(200);
    });

    it("starts the broker's thread again if it stops; devices reconnect and their data is stored", async () => {
      await device("restart-1", { accessToken: "RESTART-TOKEN-1" });
      const before = await connectDevice(port, "RESTART-TOKEN-1");
      await publish(before, "v1/devices/me/telemetry", JSON.stringify({ waterLevel: 1.11 }));
      const closed = new Promise<void>((r) => before.once("close", () => r()));
      const broker = sen.broker;
      if (!broker) throw new Error("no embedded broker");
      const old = broker.thread;
      await old.terminate();
      await closed; // the connection went with the thread
      let after: Awaited<ReturnType<typeof connectDevice>> | undefined;
      for (let i = 0; i < 50 && !after; i++)
        after = await connectDevice(port, "RESTART-TOKEN-1").catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)));
      if (!after) throw new Error("the broker did not come back");
      expect(broker.thread).not.toBe(old);
      await publish(after, "v1/devices/me/telemetry", JSON.stringify({ waterLevel: 2.22 }));
      await end(after);
      const hist = (await sen.app.inject({ url: "/api/devices/restart-1/telemetry?keys=waterLevel", headers: auth(admin) })).json();
      expect(hist.waterLevel.map((p: { value: number }) => p.value)).toEqual([1.11, 2.22]);
    });

    it("refuses malformed rules on a device or a profile, and writes nothing", async () => {
      const before = (await sen.app.inject({ url: "/api/devices", headers: auth(admin) })).json().total;
      for (const rules of [
        [{ id: "r1", kind: "threshold" }],
        [{ id: "r1", kind: "threshold", key: "waterLevel", direction: "above", levels: [] }],
        [{ id: "r1", kind: "nodata", minutes: -5, severity: "minor" }],
        [
          { id: "dup", kind: "nodata", minutes: 5, severity: "minor" },
          { id: "dup", kind: "nodata", minutes: 9, severity: "minor" },
        ],
      ]) {
        const res = await sen.app.inject({
          method: "POST",
          url: "/api/devices",
          headers: auth(admin),
          payload: { name: "x", profileId: "water-level-station", rules },
        });
        expect(res.statusCode, JSON.stringify(rules)).toBe(400);
        expect(res.json().detail).toMatch(/^Rule \d|body\/rules/);
      }
      expect((await sen.app.inject({ url: "/api/devices", headers: auth(admin) })).json().total).toBe(before);
      const profile = await sen.app.inject({
        method: "PUT",
        url: "/api/device-profiles/bad-profile",
        headers: auth(admin),
        payload: { name: "x", nameEn: "x", type: "X", keys: {}, inactivityTimeoutSeconds: 60, retentionDays: 30, rules: [{ id: "r", kind: "rate", key: "a" }] },
      });
      expect(profile.statusCode).toBe(400);
      const profiles = (await sen.app.inject({ url: "/api/device-profiles", headers: auth(admin) })).json();
      expect(profiles.map((p: { id: string }) => p.id)).not.toContain("bad-profile");
    });

    it("regenerating a token stops the old one", async () => {
      await device("regen", { accessToken: "REGEN-OLD-TOKEN" });
      const res = await sen.app.inject({ method: "POST", url: "/api/devices/regen/token", headers: auth(admin) });
      const { accessToken } = res.json();
      expect(accessToken).not.toBe("REGEN-OLD-TOKEN");
      expect((await sen.app.inject({ method: "POST", url: "/api/v1/REGEN-OLD-TOKEN/telemetry", payload: { waterLevel: 1 } })).statusCode).toBe(401);
      expect((await sen.app.inject({ method: "POST", url: `/api/v1/${accessToken}/telemetry`, payload: { waterLevel: 1 } })).statusCode).toBe(200);
    });

    it("answers server-side RPC over MQTT and stores the result", async () => {
      await device("lamp-1", { accessToken: "LAMP-ONE-TOKEN", profileId: "streetlight" });
      await device("lamp-2", { accessToken: "LAMP-TWO-TOKEN", profileId: "streetlight" });
      const lamp = await connectDevice(port, "LAMP-ONE-TOKEN");
      const other = await connectDevice(port, "LAMP-TWO-TOKEN");
      const otherSaw: string[] = [];
      other.on("message", (t) => otherSaw.push(t));
      await other.subscribeAsync("v1/devices/me/rpc/request/+");
      await lamp.subscribeAsync("v1/devices/me/rpc/request/+");
      lamp.on("message", (topic, payload) => {
        const id = topic.split("/").pop();
        const req = JSON.parse(payload.toString());
        // JSON the database cannot store (it spells a lone surrogate) is kept as its text.
        const reply = req.method === "garble" ? '{"ok":"\\ud800"}' : JSON.stringify({ ok: true, on: req.params.on });
        lamp.publish(`v1/devices/me/rpc/response/${id}`, reply, { qos: 1 });
      });
      const res = await sen.app.inject({
        method: "POST",
        url: "/api/devices/lamp-1/rpc",
        headers: auth(admin),
        payload: { method: "setPowerState", params: { on: false }, timeoutMs: 5000 },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ status: "succeeded", response: { ok: true, on: false }, method: "setPowerState" });
      expect(otherSaw).toEqual([]);
      const garbled = await sen.app.inject({
        method: "POST",
        url: "/api/devices/lamp-1/rpc",
        headers: auth(admin),
        payload: { method: "garble", params: {}, timeoutMs: 5000 },
      });
      expect(garbled.statusCode, garbled.body).toBe(200);
      expect(garbled.json()).toMatchObject({ status: "succeeded", response: '{"ok":"\\ud800"}' });

      const silent = await sen.app.inject({
        method: "POST",
        url: "/api/devices/lamp-2/rpc",
        headers: auth(admin),
        payload: { method: "ping", timeoutMs: 300 },
      });
      expect(silent.statusCode).toBe(504);
      await end(other);
      const offline = await sen.app.inject({ method: "POST", url: "/api/devices/lamp-2/rpc", headers: auth(admin), payload: { method: "ping" } });
      expect(offline.statusCode).toBe(409);
      const history = (await sen.app.inject({ url: "/api/devices/lamp-2/commands", headers: auth(admin) })).json();
      expect(history.map((c: { status: string }) => c.status)).toEqual(["offline", "timeout"]);
      await end(lamp);
    });
  });
}
