// The done-when of devices: a Tân Châu water-level station publishing over MQTT is an NGSI-LD
// entity with observedAt, a subscription hears its readings, and its history through the temporal
// API is the telemetry API's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestSen, auth, dbTargets, startSen } from "../helpers.ts";
import { connectDevice, end, publish, registerTanChau } from "../iot/util.ts";
import { call } from "./util.ts";

const ID = "urn:ngsi-ld:WaterLevelObserved:wl-tan-chau";

for (const target of dbTargets()) {
  describe(`IoT devices as NGSI-LD entities on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    const t0 = Date.UTC(2026, 10, 20, 0, 0, 0);
    const levels = [3.1, 3.4, 3.9, 4.2, 4.05, 3.7];
    beforeAll(async () => {
      sen = await startSen(target);
      admin = await sen.login();
      await registerTanChau(sen, admin, "TANCHAU-CTX-1");
    });
    afterAll(() => sen?.dispose());

    it("is readable as an entity with observedAt, and its history matches the telemetry API", async () => {
      await expect.poll(async () => (await call(sen, "GET", `/ngsi-ld/v1/entities/${ID}`, { token: admin })).statusCode).toBe(200);
      const c = await connectDevice(sen.mqttPort as number, "TANCHAU-CTX-1");
      for (const [i, level] of levels.entries())
        await publish(c, "v1/devices/me/telemetry", JSON.stringify({ ts: t0 + i * 600_000, values: { waterLevel: level, battery: 90 - i } }));
      await end(c);
      const last = new Date(t0 + 5 * 600_000).toISOString();
      await expect.poll(async () => (await call(sen, "GET", `/ngsi-ld/v1/entities/${ID}`, { token: admin })).json().waterLevel?.observedAt).toBe(last);
      const e = (await call(sen, "GET", `/ngsi-ld/v1/entities/${ID}`, { token: admin })).json();
      expect(e).toMatchObject({
        id: ID,
        type: "WaterLevelObserved",
        name: { type: "Property", value: "Trạm thủy văn Tân Châu" },
        location: { type: "GeoProperty", value: { type: "Point", coordinates: [105.248, 10.8006] } },
        refDevice: { type: "Relationship", object: "urn:ngsi-ld:Device:wl-tan-chau" },
        waterLevel: { type: "Property", value: 3.7, observedAt: last, unitCode: "MTR" },
        battery: { type: "Property", value: 85, unitCode: "P1" },
      });
      // q and geo find it like any entity
      const found = await call(
        sen,
        "GET",
        "/ngsi-ld/v1/entities?type=WaterLevelObserved&q=waterLevel>3.5&georel=near;maxDistance==1000&geometry=Point&coordinates=[105.25,10.80]",
        {
          token: admin,
        },
      );
      expect(found.json().map((x: { id: string }) => x.id)).toEqual([ID]);
      // NGSI-LD writes to it are refused: it changes through its telemetry
      const write = await call(sen, "PATCH", `/ngsi-ld/v1/entities/${ID}/attrs`, { token: admin, body: { waterLevel: 1 } });
      expect(write.json().type).toBe("https://uri.etsi.org/ngsi-ld/errors/OperationNotSupported");

      // temporal = telemetry
      const from = new Date(t0 - 1000).toISOString();
      const to = new Date(t0 + 3_600_000).toISOString();
      const telemetry = (
        await sen.app.inject({ url: `/api/devices/wl-tan-chau/telemetry?keys=waterLevel&from=${from}&to=${to}`, headers: auth(admin) })
      ).json();
      const temporal = await call(sen, "GET", `/ngsi-ld/v1/temporal/entities/${ID}?attrs=waterLevel&timerel=between&timeAt=${from}&endTimeAt=${to}`, {
        token: admin,
      });
      expect(temporal.statusCode, temporal.body).toBe(200);
      const series = temporal.json().waterLevel as Array<{ value: number; observedAt: string }>;
      expect(series.map((p) => [p.value, p.observedAt])).toEqual(telemetry.waterLevel.map((p: { value: number; ts: string }) => [p.value, p.ts]));
      expect(series).toHaveLength(levels.length);
      // lastN and temporalValues
      const lastN = (await call(sen, "GET", `/ngsi-ld/v1/temporal/entities/${ID}?attrs=waterLevel&lastN=2&options=temporalValues`, { token: admin })).json();
      expect(lastN.waterLevel).toEqual({
        type: "Property",
        values: [
          [4.05, new Date(t0 + 4 * 600_000).toISOString()],
          [3.7, last],
        ],
      });
      // aggregation = the telemetry API's hourly aggregate
      const hourly = (
        await sen.app.inject({ url: `/api/devices/wl-tan-chau/telemetry?keys=waterLevel&from=${from}&to=${to}&interval=1h&agg=max`, headers: auth(admin) })
      ).json();
      const aggr = (
        await call(
          sen,
          "GET",
          `/ngsi-ld/v1/temporal/entities/${ID}?attrs=waterLevel&aggrMethods=max,avg&aggrPeriodDuration=PT1H&timerel=between&timeAt=${from}&endTimeAt=${to}`,
          { token: admin },
        )
      ).json();
      expect(aggr.waterLevel.max.map((x: [number, string]) => x[0])).toEqual(hourly.waterLevel.map((p: { value: number }) => p.value));
      expect(aggr.waterLevel.max[0][0]).toBe(4.2);
      expect(aggr.waterLevel.avg[0][0]).toBeCloseTo(levels.reduce((a, b) => a + b) / levels.length, 6);
    });

    it("serves public device types to anyone once the agency made them public", async () => {
      expect((await call(sen, "GET", `/ngsi-ld/v1/entities/${ID}`)).statusCode).toBe(404);
      expect((await call(sen, "PUT", "/api/context/public-types/WaterLevelObserved", { token: admin })).statusCode).toBe(204);
      const anon = await call(sen, "GET", `/ngsi-ld/v1/entities/${ID}?options=keyValues&attrs=waterLevel`);
      expect(anon.json(), anon.body).toEqual({ id: ID, type: "WaterLevelObserved", waterLevel: 3.7 });
      const temporal = await call(sen, "GET", `/ngsi-ld/v1/temporal/entities/${ID}?attrs=waterLevel&lastN=1`);
      expect(temporal.json().waterLevel).toHaveLength(1);
    });
  });
}
