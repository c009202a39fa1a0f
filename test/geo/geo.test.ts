// The geography API: provinces, the 102 communes of Đồng Tháp, boundaries, search and point → commune.
import { readFileSync } from "node:fs";
import path from "node:path";
import { booleanPointInPolygon, bbox as turfBbox, pointOnFeature } from "@turf/turf";
import type { Feature, FeatureCollection, MultiPolygon, Polygon } from "geojson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATA_DIR } from "../../src/app.ts";
import { type TestSen, dbTargets, startSen } from "../helpers.ts";

type Area = Feature<Polygon | MultiPolygon, { code: string; fullName: string; areaKm2: number }>;

const communes = (JSON.parse(readFileSync(path.join(DATA_DIR, "admin", "82-communes-2025.geojson"), "utf8")) as FeatureCollection).features as Area[];
const communeCodes = communes.map((f) => f.properties.code).sort();
const nationalUnits = JSON.parse(readFileSync(path.join(DATA_DIR, "admin", "vn-admin-units-2025.json"), "utf8")) as Array<{ Code: string; Name: string }>;

/** About ten communes spread over the list, each with a point that lies inside it and in no other commune. */
function interiorPoints(): Array<{ code: string; name: string; lat: number; lon: number }> {
  const clear = communes
    .map((f) => ({ f, p: pointOnFeature(f).geometry.coordinates }))
    .filter(({ f, p }) => booleanPointInPolygon(p, f, { ignoreBoundary: true }) && communes.every((g) => g === f || !booleanPointInPolygon(p, g)));
  const step = Math.max(1, Math.floor(clear.length / 10));
  return clear
    .filter((_, i) => i % step === 0)
    .slice(0, 10)
    .map(({ f, p }) => ({ code: f.properties.code, name: f.properties.fullName, lon: p[0], lat: p[1] }));
}

const problemType = /^application\/problem\+json/;

for (const target of dbTargets()) {
  describe(`geography API on ${target.name}`, () => {
    let sen: TestSen;
    beforeAll(async () => {
      sen = await startSen(target);
    });
    afterAll(() => sen?.dispose());

    it("lists Vietnam's 34 provinces, Đồng Tháp among them", async () => {
      const res = await sen.app.inject({ url: "/api/geo/units" });
      expect(res.statusCode).toBe(200);
      const units = res.json() as Array<{ code: string; name: string; level: string; parentCode: string | null }>;
      expect(units).toHaveLength(34);
      expect(units.map((u) => u.code).sort()).toEqual(nationalUnits.map((p) => p.Code).sort());
      expect(units.every((u) => u.level === "province" && u.parentCode === null)).toBe(true);
      expect(units.find((u) => u.code === "82")).toMatchObject({ name: "Đồng Tháp", fullName: "Tỉnh Đồng Tháp" });
    });

    it("lists the 102 communes of Đồng Tháp, each with its bounding box and area", async () => {
      const res = await sen.app.inject({ url: "/api/geo/units?parent=82" });
      expect(res.statusCode).toBe(200);
      const units = res.json() as Array<{ code: string; parentCode: string; level: string; bbox: number[] | null; areaKm2: number | null }>;
      expect(units).toHaveLength(102);
      expect(units.map((u) => u.code).sort()).toEqual(communeCodes);
      const byCode = new Map(communes.map((f) => [f.properties.code, f]));
      for (const u of units) {
        const f = byCode.get(u.code) as Area;
        expect(u).toMatchObject({ parentCode: "82", level: "commune" });
        expect(u.bbox, u.code).toEqual(turfBbox(f));
        expect(u.areaKm2, u.code).toBe(f.properties.areaKm2);
        expect(u.areaKm2, u.code).toBeGreaterThan(0);
      }
    });

    it("pages the communes with limit and offset", async () => {
      const first = (await sen.app.inject({ url: "/api/geo/units?parent=82&limit=60" })).json() as Array<{ code: string }>;
      const rest = (await sen.app.inject({ url: "/api/geo/units?parent=82&limit=60&offset=60" })).json() as Array<{ code: string }>;
      expect(first).toHaveLength(60);
      expect(rest).toHaveLength(42);
      expect([...first, ...rest].map((u) => u.code).sort()).toEqual(communeCodes);
    });

    it("searches names without accents: 'cao lanh' finds Cao Lãnh, 'dong thap' finds Đồng Tháp", async () => {
      for (const q of ["cao lanh", "CAO LÃNH", "Cao Lãnh"]) {
        const res = await sen.app.inject({ url: `/api/geo/units?q=${encodeURIComponent(q)}` });
        expect(res.statusCode).toBe(200);
        const found = res.json() as Array<{ code: string; name: string; fullName: string }>;
        expect(
          found.find((u) => u.code === "29869"),
          q,
        ).toMatchObject({ name: "Cao Lãnh", fullName: "Phường Cao Lãnh" });
        const fold = (s: string) => s.normalize("NFD").replace(/\p{M}/gu, "").replace(/đ/gi, "d").toLowerCase();
        for (const u of found) expect(fold(u.fullName), q).toContain("cao lanh");
      }
      const province = (await sen.app.inject({ url: "/api/geo/units?q=dong%20thap" })).json() as Array<{ code: string }>;
      expect(province.map((u) => u.code)).toContain("82");
      const within = (await sen.app.inject({ url: "/api/geo/units?parent=82&q=cao%20lanh" })).json() as Array<{ code: string }>;
      expect(within.map((u) => u.code)).toEqual(["29869"]);
      const none = await sen.app.inject({ url: "/api/geo/units?q=khong%20co%20xa%20nay" });
      expect(none.statusCode).toBe(200);
      expect(none.json()).toEqual([]);
    });

    it("gives the province with its MultiPolygon boundary", async () => {
      const res = await sen.app.inject({ url: "/api/geo/units/82" });
      expect(res.statusCode).toBe(200);
      const p = res.json();
      expect(p).toMatchObject({ code: "82", name: "Đồng Tháp", level: "province" });
      expect(p.boundary.type).toBe("MultiPolygon");
      expect(p.boundary.coordinates.length).toBeGreaterThan(0);
      // Cao Lãnh, the provincial capital, lies inside it; Hà Nội does not.
      expect(booleanPointInPolygon([105.63, 10.46], p.boundary)).toBe(true);
      expect(booleanPointInPolygon([105.85, 21.03], p.boundary)).toBe(false);
    });

    it("gives a commune with its boundary", async () => {
      const res = await sen.app.inject({ url: "/api/geo/units/29869" });
      expect(res.statusCode).toBe(200);
      const c = res.json();
      expect(c).toMatchObject({ code: "29869", name: "Cao Lãnh", parentCode: "82", level: "commune" });
      expect(["Polygon", "MultiPolygon"]).toContain(c.boundary.type);
      expect(booleanPointInPolygon([105.63, 10.46], c.boundary)).toBe(true);
    });

    it("answers an unknown unit code with a 404 problem", async () => {
      for (const code of ["99999", "abc"]) {
        const res = await sen.app.inject({ url: `/api/geo/units/${code}` });
        expect(res.statusCode, code).toBe(404);
        expect(res.headers["content-type"]).toMatch(problemType);
        expect(res.json()).toMatchObject({ status: 404, detail: expect.stringContaining(code) });
      }
    });

    it("locates the commune containing a point", async () => {
      const res = await sen.app.inject({ url: "/api/geo/locate?lat=10.46&lon=105.63" });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ commune: { code: "29869", name: "Cao Lãnh" }, province: { code: "82", name: "Đồng Tháp" } });

      const points = interiorPoints();
      expect(points.length).toBeGreaterThanOrEqual(8);
      for (const p of points) {
        const r = await sen.app.inject({ url: `/api/geo/locate?lat=${p.lat}&lon=${p.lon}` });
        expect(r.statusCode, `${p.name} (${p.lat}, ${p.lon})`).toBe(200);
        expect(r.json().commune.code, `${p.name} (${p.lat}, ${p.lon})`).toBe(p.code);
      }
    });

    it("answers a point outside the province with a 404 problem that says so", async () => {
      for (const [lat, lon, where] of [
        [21.03, 105.85, "Hà Nội"],
        [10.0, 107.5, "the East Sea"],
      ] as const) {
        const res = await sen.app.inject({ url: `/api/geo/locate?lat=${lat}&lon=${lon}` });
        expect(res.statusCode, where).toBe(404);
        expect(res.headers["content-type"]).toMatch(problemType);
        const body = res.json();
        expect(body.status).toBe(404);
        expect(body.detail, where).toMatch(/outside/i);
        expect(body.detail, where).toContain(String(lat));
      }
    });

    it("rejects invalid coordinates with a 400 problem listing the errors, and writes nothing", async () => {
      const users = await sen.count("core.users");
      const units = await sen.count("geo.units");
      const cases: Array<[string, string]> = [
        ["lat=91&lon=105.6", "lat"],
        ["lat=10.4&lon=181", "lon"],
        ["lat=abc&lon=105.6", "lat"],
        ["lat=10.4", "lon"],
        [`lat=${encodeURIComponent("1;DROP TABLE core.users")}&lon=105.6`, "lat"],
        [`lat=10.4&lon=${encodeURIComponent("105' OR '1'='1")}`, "lon"],
      ];
      for (const [query, field] of cases) {
        const res = await sen.app.inject({ url: `/api/geo/locate?${query}` });
        expect(res.statusCode, query).toBe(400);
        expect(res.headers["content-type"], query).toMatch(problemType);
        const body = res.json();
        expect(body.status).toBe(400);
        expect(Array.isArray(body.errors) && body.errors.length > 0, query).toBe(true);
        expect(body.errors.map((e: { path: string }) => e.path).join(" "), query).toContain(field);
      }
      // Free text reaches SQL only as a parameter.
      const q = await sen.app.inject({ url: `/api/geo/units?q=${encodeURIComponent("x'; DROP TABLE core.users; --")}` });
      expect(q.statusCode).toBe(200);
      expect(q.json()).toEqual([]);
      expect(await sen.count("core.users")).toBe(users);
      expect(await sen.count("geo.units")).toBe(units);
    });
  });
}
