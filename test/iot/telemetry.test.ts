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
    /** A profile that names no keys, so it takes any value on any key. */
    const freeFormProfile = async (id: string, retentionDays: number) => {
      const res = await sen.app.inject({
        method: "PUT",
        url: `/api/device-profiles/${id}`,
        headers: auth(admin),
        payload: { name: "Tự do", nameEn: "Free-form", type: "WaterLevelObserved", keys: {}, inactivityTimeoutSeconds: 600, retentionDays, rules: [] },
      });
      expect(res.statusCode, res.body).toBeLessThan(300);
    };

    it("returns raw points in a range, each stored once", async () => {
      const pts = (await q(`keys=waterLevel&from=${iso(start)}&to=${iso(start + HOUR)}`)).json().waterLevel;
      expect(pts).toHaveLength(60);
      expect(pts[0]).toEqual({ ts: iso(start), value: value(start) });
      const all = (await q(`keys=waterLevel&from=${iso(start)}&to=${iso(end)}&limit=100000`)).json().waterLevel;
      expect(all).toHaveLength(48 * 60);
      // A limit gives the first points in time order, across the stored runs (about an hour each).
      const from = start + 30 * 60_000 + 1;
      const first = (await q(`keys=waterLevel&from=${iso(from)}&to=${iso(end)}&limit=150`)).json().waterLevel;
      expect(first.map((p: { ts: string }) => p.ts)).toEqual(Array.from({ length: 150 }, (_, i) => iso(start + (31 + i) * 60_000)));
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

    it("stores each point once whatever order and shape it comes in, and counts it once in the rollups", async () => {
      const token = "MIXED-TOKEN-1";
      await freeFormProfile("any-values", 730);
      const created = await sen.app.inject({
        method: "POST",
        url: "/api/devices",
        headers: auth(admin),
        payload: { id: "mixed", name: "Trạm hỗn hợp", profileId: "any-values", accessToken: token, agency: "SXD" },
      });
      expect(created.statusCode, created.body).toBe(201);
      const t0 = start + 5 * 60_000 + 30_000; // between the minutes the other station used
      const at = (i: number) => t0 + i * 60_000;
      const send = async (points: Array<{ ts: number; values: Record<string, unknown> }>) => {
        const res = await sen.app.inject({ method: "POST", url: `/api/v1/${token}/telemetry`, payload: points });
        expect(res.statusCode, res.body).toBe(200);
      };
      await send([1, 2, 3, 4, 5].map((i) => ({ ts: at(i), values: { waterLevel: i } }))); // in order
      await send([3, 5, 6].map((i) => ({ ts: at(i), values: { waterLevel: i === 6 ? 6 : 99 } }))); // two repeats, one new
      await send([{ ts: at(0), values: { waterLevel: 0 } }]); // late
      await send([{ ts: at(7), values: { waterLevel: "sensor fault" } }]); // text on a numeric key
      await send([
        { ts: at(9), values: { waterLevel: 9 } },
        { ts: at(8), values: { waterLevel: 8 } },
        { ts: at(9), values: { waterLevel: 99 } },
      ]); // out of order within a message, and one ts twice: the first value stays
      await send([{ ts: at(2), values: { waterLevel: 99 } }]); // a repeat of a point in the first run

      const res = await sen.app.inject({ url: `/api/devices/mixed/telemetry?from=${iso(at(0))}&to=${iso(at(10))}`, headers: auth(admin) });
      const points = res.json().waterLevel;
      expect(points.map((p: { ts: string }) => p.ts)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => iso(at(i))));
      expect(points.map((p: { value: unknown }) => p.value)).toEqual([0, 1, 2, 3, 4, 5, 6, "sensor fault", 8, 9]);
      const stored = await sen.services.db.one<{ n: number }>(
        "SELECT count(*)::int AS n FROM iot.points p JOIN iot.devices d ON d.no = p.device_no WHERE d.id = 'mixed'",
      );
      expect(stored?.n).toBe(10);
      // Rollups (whole hours) and raw points (minutes) agree: nine numbers, summing to 38.
      const total = async (interval: string, agg: string) => {
        const r = await sen.app.inject({
          url: `/api/devices/mixed/telemetry?keys=waterLevel&from=${iso(at(0) - HOUR)}&to=${iso(at(10) + HOUR)}&interval=${interval}&agg=${agg}`,
          headers: auth(admin),
        });
        expect(r.statusCode, r.body).toBe(200);
        return r.json().waterLevel.reduce((s: number, b: { value: number }) => s + b.value, 0);
      };
      for (const interval of ["1h", "1m"]) {
        expect(await total(interval, "count"), interval).toBe(9);
        expect(await total(interval, "sum"), interval).toBe(38);
      }
    });

    it("drops raw points past the profile's retention, keeping the rollups", async () => {
      await freeFormProfile("short-memory", 1);
      await sen.app.inject({
        method: "POST",
        url: "/api/devices",
        headers: auth(admin),
        payload: { id: "short", name: "Trạm lưu ngắn", profileId: "short-memory", accessToken: "SHORT-TOKEN-1", agency: "SXD" },
      });
      const old = end - 47 * HOUR; // two days ago: past a one-day retention
      const points = [
        ...[0, 1, 2].map((i) => ({ ts: old + i * 60_000, values: { level: i + 1 } })), // a run
        { ts: old + 30_000, values: { level: "old text" } }, // a row
        { ts: Date.now() - 60_000, values: { level: 7 } },
      ];
      for (const p of points) expect((await sen.app.inject({ method: "POST", url: "/api/v1/SHORT-TOKEN-1/telemetry", payload: [p] })).statusCode).toBe(200);
      const read = async (qs: string) =>
        (
          await sen.app.inject({
            url: `/api/devices/short/telemetry?keys=level&from=${iso(old - HOUR)}&to=${iso(Date.now() + HOUR)}${qs}`,
            headers: auth(admin),
          })
        ).json().level;
      expect(await read("")).toHaveLength(5);
      await sen.services.iot.applyRetention();
      expect((await read("")).map((p: { value: unknown }) => p.value)).toEqual([7]);
      const hourly = await read("&interval=1h&agg=sum");
      expect(hourly.reduce((s: number, b: { value: number }) => s + b.value, 0)).toBe(1 + 2 + 3 + 7);
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
