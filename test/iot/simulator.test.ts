// The device simulator: its physics over a simulated year, and the demo fleet talking to a real Sen
// over real MQTT (embedded broker), with RPC to a street light.
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATA_DIR } from "../../src/app.ts";
import type { KeySpec } from "../../src/iot/types.ts";
import {
  type DemoDevice,
  type Simulator,
  createSimState,
  ensureDemoDevices,
  floodRule,
  handleRpc,
  loadDemoFleet,
  provisionViaApi,
  simulateValues,
  startSimulator,
} from "../../src/iot/simulator.ts";
import { ADMIN_PASSWORD, type TestSen, auth, dbTargets, startSen } from "../helpers.ts";
import { TAN_CHAU_LEVELS, hydrologyRule } from "../../src/ops/index.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Local midnight (Asia/Ho_Chi_Minh, UTC+7) of a date. */
const vn = (y: number, m: number, d: number, h = 0) => Date.UTC(y, m - 1, d, h) - 7 * HOUR;

const fleet = loadDemoFleet(DATA_DIR);
const profiles = new Map(
  (JSON.parse(readFileSync(path.join(DATA_DIR, "iot", "profiles.json"), "utf8")).profiles as Array<{ id: string; keys: Record<string, KeySpec> }>).map((p) => [
    p.id,
    p,
  ]),
);
const byId = (id: string) => fleet.find((d) => d.id === id) as DemoDevice;

describe("demo fleet", () => {
  it("has river stations, pest traps, quality stations, street lights and traffic counters on real places", () => {
    const count = (profile: string) => fleet.filter((d) => d.profileId === profile).length;
    expect(count("water-level-station")).toBeGreaterThanOrEqual(6);
    expect(count("pest-trap")).toBe(15);
    expect(count("air-quality-station")).toBe(3);
    expect(count("water-quality-station")).toBe(2);
    expect(count("streetlight")).toBeGreaterThanOrEqual(10);
    expect(count("traffic-counter")).toBeGreaterThanOrEqual(4);
    expect(new Set(fleet.map((d) => d.accessToken)).size).toBe(fleet.length);
    for (const d of fleet) {
      expect(profiles.has(d.profileId), d.id).toBe(true);
      expect(d.lon).toBeGreaterThan(105.19);
      expect(d.lon).toBeLessThan(106.81);
      expect(d.lat).toBeGreaterThan(10.14);
      expect(d.lat).toBeLessThan(10.97);
      expect(d.agency).toBe(["streetlight", "traffic-counter"].includes(d.profileId) ? "SXD" : "SNNMT");
    }
    const tanChau = byId("wl-tan-chau");
    expect(tanChau).toMatchObject({
      lon: 105.248,
      lat: 10.8006,
      accessToken: "DEMO-WL-TANCHAU-01",
      serverAttributes: { alarmLevels: { bd1: 3.5, bd2: 4, bd3: 4.5 } },
    });
    for (const d of fleet.filter((x) => x.profileId === "water-level-station")) {
      const lv = d.serverAttributes?.alarmLevels;
      expect(lv && lv.bd1 < lv.bd2 && lv.bd2 < lv.bd3, d.id).toBe(true);
      expect(d.serverAttributes?.floodInfluence?.length, d.id).toBeGreaterThan(0);
      for (const c of d.serverAttributes?.floodInfluence ?? []) expect(c).toMatch(/^\d{5}$/);
      // Going downstream the alarm levels do not rise.
      if (d.id !== "wl-thuong-phuoc" && d.id !== "wl-tan-chau") expect(lv?.bd2).toBeLessThan(4);
    }
    expect(floodRule(tanChau)).toEqual(hydrologyRule(TAN_CHAU_LEVELS));
    expect(floodRule(tanChau)).toMatchObject({
      id: "flood-level",
      levels: [
        { value: 3.5, severity: "minor" },
        { value: 4, severity: "major" },
        { value: 4.5, severity: "critical" },
      ],
      hysteresis: 0.05,
    });
  });
});

describe("simulated physics", () => {
  it("keeps every value within its profile's range over a simulated year, flood peaks and outbreaks included", () => {
    const state = createSimState({ floodChancePerHour: 0.05, outbreakChancePerNight: 0.05 });
    const start = vn(2025, 1, 1);
    let checked = 0;
    for (let t = start; t < start + 365 * DAY; t += HOUR + 7 * 60_000)
      for (const d of fleet) {
        const values = simulateValues(d, t, state);
        const keys = profiles.get(d.profileId)?.keys ?? {};
        expect(Object.keys(values).sort(), d.id).toEqual(Object.keys(keys).sort());
        for (const [key, spec] of Object.entries(keys)) {
          const v = values[key];
          if (spec.min === undefined && spec.max === undefined) continue;
          if (typeof v !== "number" || !Number.isFinite(v) || v < (spec.min as number) || v > (spec.max as number))
            throw new Error(`${d.id} ${key} = ${v} at ${new Date(t).toISOString()} is outside [${spec.min}, ${spec.max}]`);
          checked++;
        }
      }
    expect(checked).toBeGreaterThan(500_000);
  });

  it("shows the flood season (Sept–Oct above March) and the semi-diurnal tide", () => {
    const state = createSimState({ floodChancePerHour: 0 });
    const tanChau = byId("wl-tan-chau");
    const mean = (d: DemoDevice, from: number, to: number) => {
      let sum = 0;
      let n = 0;
      for (let t = from; t < to; t += HOUR) {
        sum += simulateValues(d, t, state).waterLevel as number;
        n++;
      }
      return sum / n;
    };
    const march = mean(tanChau, vn(2025, 3, 1), vn(2025, 4, 1));
    const septOct = mean(tanChau, vn(2025, 9, 1), vn(2025, 11, 1));
    expect(septOct).toBeGreaterThan(march + 1);
    expect(septOct).toBeLessThan(3.5); // an ordinary year stays under BĐ1 without a flood peak

    // Mỹ Tho near the sea: more than a metre between high and low water, about two high waters a day.
    const myTho = byId("wl-my-tho");
    const from = vn(2025, 3, 10);
    const samples: number[] = [];
    for (let t = from; t < from + 3 * DAY; t += 10 * 60_000) samples.push(simulateValues(myTho, t, state).waterLevel as number);
    expect(Math.max(...samples) - Math.min(...samples)).toBeGreaterThan(1.5);
    const avg = samples.reduce((a, b) => a + b, 0) / samples.length;
    let rises = 0;
    for (let i = 1; i < samples.length; i++) if (samples[i - 1] < avg && samples[i] >= avg) rises++;
    expect(rises).toBeGreaterThanOrEqual(5); // 72 h / 12.42 h ≈ 5.8
    expect(rises).toBeLessThanOrEqual(7);
  });

  it("now and then raises a flood peak that crosses BĐ2 at Tân Châu", () => {
    const tanChau = byId("wl-tan-chau");
    const peak = (chance: number) => {
      const state = createSimState({ floodChancePerHour: chance, seed: 7 });
      let max = -10;
      for (let t = vn(2025, 3, 1); t < vn(2025, 3, 3); t += 5 * 60_000) max = Math.max(max, simulateValues(tanChau, t, state).waterLevel as number);
      return max;
    };
    expect(peak(0)).toBeLessThan(3.5);
    expect(peak(1)).toBeGreaterThan(4.0);
  });

  it("counts planthoppers at night, with outbreaks; salinity peaks in the dry season; traffic has rush hours", () => {
    const trap = byId("pest-thap-muoi");
    const calm = createSimState({ outbreakChancePerNight: 0 });
    const evening = simulateValues(trap, vn(2025, 1, 15, 19), calm).brownPlanthopper as number;
    const morning = simulateValues(trap, vn(2025, 1, 16, 9), calm).brownPlanthopper as number;
    expect(evening).toBeLessThan(morning); // the night's catch grows until the trap switches off
    expect(morning).toBeGreaterThan(0);
    const outbreak = createSimState({ outbreakChancePerNight: 1 });
    expect(simulateValues(trap, vn(2025, 1, 20, 9), outbreak).brownPlanthopper as number).toBeGreaterThan(3000);

    const salt = byId("wq-tan-phu-dong");
    const s = (m: number) => simulateValues(salt, vn(2025, m, 15, 12), calm).salinity as number;
    expect(s(3)).toBeGreaterThan(4);
    expect(s(10)).toBeLessThan(s(3) / 3);

    const road = byId("tc-my-tho-1");
    const rush = simulateValues(road, vn(2025, 3, 12, 17) + 25 * 60_000, calm); // a Wednesday, 17:25
    const night = simulateValues(road, vn(2025, 3, 12, 3), calm);
    expect(rush.intensity as number).toBeGreaterThan(5 * (night.intensity as number));
    expect(rush.averageVehicleSpeed as number).toBeLessThan(night.averageVehicleSpeed as number);
  });

  it("lights the streets from 18:00 to 05:30 unless told otherwise by RPC", () => {
    const light = byId("sl-sa-dec-01");
    const state = createSimState();
    const at = (h: number, d = 12) => simulateValues(light, vn(2025, 6, d) + h * HOUR, state);
    expect(at(12)).toMatchObject({ powerState: "off", illuminanceLevel: 0 });
    expect(at(17.9).powerState).toBe("off");
    expect(at(18.1)).toMatchObject({ powerState: "on", illuminanceLevel: 100 });
    expect(at(2)).toMatchObject({ powerState: "on", illuminanceLevel: 60 });
    expect(at(5.4).powerState).toBe("on");
    expect(at(5.6).powerState).toBe("off");
    expect(at(20).powerConsumption as number).toBeGreaterThan(100);
    expect(at(12).powerConsumption as number).toBeLessThan(2);

    // Switched off at 20:00: dark until the next scheduled switch (05:30), then back on schedule.
    const r = handleRpc(light, state, vn(2025, 6, 12) + 20 * HOUR, "setPowerState", { on: false });
    expect(r).toMatchObject({ response: { powerState: "off" }, changed: true });
    expect(at(20).powerState).toBe("off");
    expect(at(23).powerState).toBe("off");
    expect(at(20, 13).powerState).toBe("on");
    expect(handleRpc(light, state, 0, "setPowerState", { on: "maybe" }).response).toHaveProperty("error");
    expect(handleRpc(byId("wl-my-tho"), state, 0, "setPowerState", { on: true }).response).toHaveProperty("error");
    expect(handleRpc(byId("wl-my-tho"), state, 0, "setSamplingInterval", { seconds: 60 }).response).toEqual({ samplingInterval: 60 });
    expect(handleRpc(byId("wl-my-tho"), state, 0, "setSamplingInterval", { seconds: 0 }).response).toHaveProperty("error");
    expect(handleRpc(light, state, 0, "reboot", {}).response).toHaveProperty("error");
  });
});

for (const target of dbTargets()) {
  describe(`simulator over MQTT on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    let sim: Simulator | undefined;
    beforeAll(async () => {
      sen = await startSen(target);
      admin = await sen.login();
    });
    afterAll(async () => {
      await sim?.stop();
      await sen?.dispose();
    });

    const latest = async (id: string) => {
      const res = await sen.app.inject({ url: `/api/devices/${id}/latest`, headers: auth(admin) });
      expect(res.statusCode).toBe(200);
      return res.json() as Record<string, { ts: string; value: unknown; outOfRange: boolean }>;
    };

    it("registers the fleet through the HTTP API and in-process, once", async () => {
      await sen.app.listen({ port: 0, host: "127.0.0.1" });
      const url = `http://127.0.0.1:${(sen.app.server.address() as { port: number }).port}`;
      const some = fleet.slice(0, 5);
      expect(await provisionViaApi(url, { username: "admin", password: ADMIN_PASSWORD }, some)).toBe(5);
      expect(await provisionViaApi(url, { username: "admin", password: ADMIN_PASSWORD }, some)).toBe(0);
      expect(await ensureDemoDevices(sen.services.iot, fleet)).toBe(fleet.length - 5);
      expect(await ensureDemoDevices(sen.services.iot, fleet)).toBe(0);
      const station = (await sen.app.inject({ url: "/api/devices/wl-tan-chau", headers: auth(admin) })).json();
      expect(station).toMatchObject({ agency: "SNNMT", serverAttributes: { alarmLevels: { bd2: 4 } } });
      expect(station.rules).toEqual([floodRule(byId("wl-tan-chau"))]);
      const mythoStation = (await sen.app.inject({ url: "/api/devices/wl-my-tho", headers: auth(admin) })).json();
      expect(mythoStation.commune).toMatch(/^\d{5}$/);
    });

    it("publishes every device's telemetry over MQTT", async () => {
      sim = await startSimulator({
        mqttUrl: `mqtt://127.0.0.1:${sen.mqttPort}`,
        devices: fleet,
        intervalMs: 200,
        faults: false,
        simStart: vn(2025, 6, 12, 12), // noon: street lights off by schedule
      });
      const running = sim;
      await expect.poll(() => running.stats.connected, { timeout: 10_000 }).toBe(fleet.length);
      await expect
        .poll(
          async () => {
            let reporting = 0;
            for (const d of fleet) if (Object.keys(await latest(d.id)).length) reporting++;
            return reporting;
          },
          { timeout: 20_000, interval: 300 },
        )
        .toBe(fleet.length);
      for (const d of fleet) {
        const values = await latest(d.id);
        expect(Object.keys(values).sort(), d.id).toEqual(Object.keys(profiles.get(d.profileId)?.keys ?? {}).sort());
        for (const [key, v] of Object.entries(values)) expect(v.outOfRange, `${d.id} ${key}`).toBe(false);
      }
      expect(typeof (await latest("wl-tan-chau")).waterLevel.value).toBe("number");
      expect(sim.stats.acked).toBeGreaterThan(0);
      expect(sim.stats.errors).toBe(0);
    });

    it("answers RPC: a street light switched on and off reports it next", async () => {
      const rpc = (method: string, params: unknown) =>
        sen.app.inject({ method: "POST", url: "/api/devices/sl-cao-lanh-01/rpc", headers: auth(admin), payload: { method, params } });
      const power = async () => (await latest("sl-cao-lanh-01")).powerState?.value;

      const on = await rpc("setPowerState", { on: true });
      expect(on.statusCode).toBe(200);
      expect(on.json()).toMatchObject({ status: "succeeded", response: { powerState: "on" } });
      await expect.poll(power, { timeout: 10_000, interval: 100 }).toBe("on");

      const off = await rpc("setPowerState", { on: false });
      expect(off.json()).toMatchObject({ status: "succeeded", response: { powerState: "off" } });
      await expect.poll(power, { timeout: 10_000, interval: 100 }).toBe("off");

      const every = await rpc("setSamplingInterval", { seconds: 30 });
      expect(every.json()).toMatchObject({ status: "succeeded", response: { samplingInterval: 30 } });
      await sim?.stop();
      sim = undefined;
    });

    it("plays faults: a silent station, bad payloads counted as rejected, values flagged out of range", async () => {
      const stations = fleet.filter((d) => d.profileId !== "streetlight" && d.profileId !== "traffic-counter").slice(0, 8);
      const said: string[] = [];
      sim = await startSimulator({
        mqttUrl: `mqtt://127.0.0.1:${sen.mqttPort}`,
        devices: stations,
        intervalMs: 300,
        faultEveryMs: 150,
        silenceMs: [200, 400],
        log: (m) => said.push(m),
      });
      await expect
        .poll(
          async () => {
            const devices = (await sen.app.inject({ url: "/api/devices?limit=500", headers: auth(admin) })).json().devices as Array<{
              id: string;
              rejected: number;
              lastRejection: string | null;
            }>;
            const rejected = devices.filter((d) => d.rejected > 0 && /JSON/.test(d.lastRejection ?? "")).length;
            let flagged = 0;
            for (const d of stations) {
              const res = await sen.app.inject({ url: `/api/devices/${d.id}/telemetry?limit=100000`, headers: auth(admin) });
              for (const points of Object.values(res.json() as Record<string, Array<{ outOfRange?: true }>>))
                flagged += points.filter((p) => p.outOfRange).length;
            }
            return {
              rejected: rejected > 0,
              flagged: flagged > 0,
              silences: said.some((m) => m.includes("goes silent")) && said.some((m) => m.includes("is back")),
            };
          },
          { timeout: 30_000, interval: 500 },
        )
        .toEqual({ rejected: true, flagged: true, silences: true });
    });
  });
}
