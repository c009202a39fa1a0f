// Reading history: raw ranges, aggregates by interval from raw points and from rollups, CSV, and
// the device registry around it (CSV import, agency scoping).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestSen, auth, dbTargets, startSen } from "../helpers.ts";

const HOUR = 3_600_000;

for (const target of dbTargets()) {
  describe(`telemetry store on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    // Two days of 1-minute data, ending at a whole hour 3 hours ago.
    const end = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
    const start = end - 48 * HOUR;
    const value = (t: number) => Math.round((2 + Math.sin(t / HOUR) + ((t / 60_000) % 7) / 10) * 1000) / 1000;

    beforeAll(async () => {
      sen = await startSen(target);
      admin = await sen.login();
      await sen.app.inject({
        method: "POST",
        url: "/api/devices",
        headers: auth(admin),
        payload: { id: "hist", name: "Trạm lịch sử", profileId: "water-level-station", accessToken: "HIST-TOKEN-1", agency: "SNNMT" },
      });
      // Send as a device would: batches of timestamped points, some sent twice.
      for (let t = start; t < end; t += 100 * 60_000) {
        const batch = [];
        for (let k = 0; k < 100 && t + k * 60_000 < end; k++) batch.push({ ts: t + k * 60_000, values: { waterLevel: value(t + k * 60_000) } });
        const res = await sen.app.inject({ method: "POST", url: "/api/v1/HIST-TOKEN-1/telemetry", payload: batch });
        expect(res.statusCode).toBe(200);
      }
      const again = await sen.app.inject({
        method: "POST",
        url: "/api/v1/HIST-TOKEN-1/telemetry",
        payload: [{ ts: start, values: { waterLevel: value(start) } }],
      });
      expect(again.statusCode).toBe(200);
    });
    afterAll(() => sen?.dispose());

    const q = async (qs: string) => {
      const res = await sen.app.inject({ url: `/api/devices/hist/telemetry?${qs}`, headers: auth(admin) });
      expect(res.statusCode, res.body).toBe(200);
      return res;
    };
    const iso = (t: number) => new Date(t).toISOString();

    it("returns raw points in a range, each stored once", async () => {
      const pts = (await q(`keys=waterLevel&from=${iso(start)}&to=${iso(start + HOUR)}`)).json().waterLevel;
      expect(pts).toHaveLength(60);
      expect(pts[0]).toEqual({ ts: iso(start), value: value(start) });
      const all = (await q(`keys=waterLevel&from=${iso(start)}&to=${iso(end)}&limit=100000`)).json().waterLevel;
      expect(all).toHaveLength(48 * 60);
    });

    it("aggregates by hour from the rollups exactly as from the raw points", async () => {
      const from = iso(start);
      const to = iso(end);
      for (const agg of ["avg", "min", "max", "sum", "count"]) {
        const hourly = (await q(`keys=waterLevel&from=${from}&to=${to}&interval=1h&agg=${agg}`)).json().waterLevel;
        expect(hourly).toHaveLength(48);
        // Recompute hour by hour from what a device sent.
        for (const b of hourly.slice(0, 5)) {
          const t0 = new Date(b.ts).getTime();
          const xs = Array.from({ length: 60 }, (_, i) => value(t0 + i * 60_000));
          const expected = {
            avg: xs.reduce((a, x) => a + x, 0) / 60,
            min: Math.min(...xs),
            max: Math.max(...xs),
            sum: xs.reduce((a, x) => a + x, 0),
            count: 60,
          }[agg] as number;
          expect(b.value).toBeCloseTo(expected, 6);
          expect(b.count).toBe(60);
        }
      }
      const raw15 = (await q(`keys=waterLevel&from=${from}&to=${iso(start + HOUR)}&interval=15m&agg=max`)).json().waterLevel;
      expect(raw15).toHaveLength(4);
      expect(raw15[0].value).toBe(Math.max(...Array.from({ length: 15 }, (_, i) => value(start + i * 60_000))));
    });

    it("aggregates by day on Vietnam's calendar days", async () => {
      const daily = (await q(`keys=waterLevel&from=${iso(start - 86_400_000)}&to=${iso(end + 86_400_000)}&interval=1d&agg=count`)).json().waterLevel;
      expect(daily.reduce((a: number, b: { value: number }) => a + b.value, 0)).toBe(48 * 60);
      for (const b of daily) expect(new Date(b.ts).getUTCHours()).toBe(17); // 00:00 in Asia/Ho_Chi_Minh
    });

    it("exports CSV", async () => {
      const res = await q(`keys=waterLevel&from=${iso(start)}&to=${iso(start + 10 * 60_000)}&format=csv`);
      expect(res.headers["content-type"]).toMatch(/text\/csv/);
      const lines = res.body.trim().split(/\r?\n/);
      expect(lines[0]).toBe("device,key,ts,value");
      expect(lines).toHaveLength(11);
      expect(lines[1]).toBe(`hist,waterLevel,${iso(start)},${value(start)}`);
    });

    it("refuses nonsense ranges", async () => {
      for (const qs of [
        `from=${iso(end)}&to=${iso(start)}`,
        "interval=3m",
        "agg=median&interval=1h",
        "from=yesterday",
        `from=${iso(start - 400 * 86_400_000)}&interval=1m`,
      ]) {
        const res = await sen.app.inject({ url: `/api/devices/hist/telemetry?${qs}`, headers: auth(admin) });
        expect(res.statusCode, qs).toBe(400);
      }
    });

    it("imports devices from CSV, all or nothing", async () => {
      const csv =
        "id,name,type,profileId,lat,lon,agency,accessToken\ntrap-1,Bẫy đèn Tháp Mười,,pest-trap,10.55,105.85,SNNMT,TRAP-ONE-TOKEN\ntrap-2,Bẫy đèn Cao Lãnh,,pest-trap,10.46,105.63,SNNMT,\n";
      const res = await sen.app.inject({ method: "POST", url: "/api/devices/import", headers: { ...auth(admin), "content-type": "text/csv" }, payload: csv });
      expect(res.statusCode, res.body).toBe(201);
      const created = res.json().created;
      expect(created.map((c: { id: string }) => c.id)).toEqual(["trap-1", "trap-2"]);
      expect(created[0].accessToken).toBe("TRAP-ONE-TOKEN");
      const bad = "id,name,profileId,lat,lon\ntrap-3,OK,pest-trap,10.5,105.7\ntrap-4,Bad,no-such-profile,10.5,105.7\n";
      const before = (await sen.app.inject({ url: "/api/devices", headers: auth(admin) })).json().total;
      const res2 = await sen.app.inject({ method: "POST", url: "/api/devices/import", headers: { ...auth(admin), "content-type": "text/csv" }, payload: bad });
      expect(res2.statusCode).toBe(400);
      expect((await sen.app.inject({ url: "/api/devices", headers: auth(admin) })).json().total).toBe(before);
      expect((await sen.app.inject({ url: "/api/devices/trap-3", headers: auth(admin) })).statusCode).toBe(404);
      const notNumber = "name,profileId,lat,lon\nX,pest-trap,abc,105\n";
      const res3 = await sen.app.inject({
        method: "POST",
        url: "/api/devices/import",
        headers: { ...auth(admin), "content-type": "text/csv" },
        payload: notNumber,
      });
      expect(res3.statusCode).toBe(400);
      expect(res3.json().errors[0]).toMatchObject({ path: "line 2", message: "lat is not a number" });
    });

    it("shows an agency's officers only their agency's devices", async () => {
      await sen.app.inject({
        method: "POST",
        url: "/api/devices",
        headers: auth(admin),
        payload: { id: "sxd-light", name: "Đèn", profileId: "streetlight", agency: "SXD", accessToken: "SXD-LIGHT-TOKEN" },
      });
      await sen.app.inject({
        method: "POST",
        url: "/api/users",
        headers: auth(admin),
        payload: { username: "snn-officer", displayName: "Cán bộ", password: "officer-pass-1", roles: ["agency_officer"], agency: "SNNMT" },
      });
      const officer = await sen.login("snn-officer", "officer-pass-1");
      const list = (await sen.app.inject({ url: "/api/devices", headers: auth(officer) })).json();
      expect(list.devices.map((d: { id: string }) => d.id).sort()).toEqual(["hist", "trap-1", "trap-2"]);
      expect((await sen.app.inject({ url: "/api/devices/sxd-light", headers: auth(officer) })).statusCode).toBe(404);
      expect((await sen.app.inject({ url: "/api/devices/sxd-light/telemetry", headers: auth(officer) })).statusCode).toBe(404);
      expect((await sen.app.inject({ method: "PATCH", url: "/api/devices/hist", headers: auth(officer), payload: { name: "x" } })).statusCode).toBe(403);
    });
  });
}
