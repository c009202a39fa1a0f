// OGC API – Features over the province's boundaries, as GIS clients (QGIS, GDAL) use it.
import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { booleanIntersects, bboxPolygon, bbox as turfBbox } from "@turf/turf";
import type { Feature, FeatureCollection, MultiPolygon, Polygon } from "geojson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATA_DIR } from "../../src/app.ts";
import { type TestSen, dbTargets, startSen } from "../helpers.ts";

type Area = Feature<Polygon | MultiPolygon, { code: string; fullName: string }>;
interface Link {
  href: string;
  rel: string;
  type?: string;
}
interface Page {
  type: string;
  numberMatched: number;
  numberReturned: number;
  features: Array<{ id: string; properties: { code: string } }>;
  links: Link[];
}

const communes = (JSON.parse(readFileSync(path.join(DATA_DIR, "admin", "82-communes-2025.geojson"), "utf8")) as FeatureCollection).features as Area[];
const communeCodes = communes.map((f) => f.properties.code).sort();
const province = (JSON.parse(readFileSync(path.join(DATA_DIR, "admin", "82-province-2025.geojson"), "utf8")) as FeatureCollection).features[0];

const HOST = "gis.dongthap.example.vn";
const ORIGIN = `http://${HOST}`;
const CONF_CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core";
const CONF_GEOJSON = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson";

const hasOgrinfo = spawnSync("ogrinfo", ["--version"], { encoding: "utf8" }).status === 0;
const link = (links: Link[], rel: string) => links.find((l) => l.rel === rel);
/** The path and query of an absolute link, to follow it with inject. */
const local = (href: string) => {
  const u = new URL(href);
  return u.pathname + u.search;
};

for (const target of dbTargets()) {
  describe(`OGC API – Features on ${target.name}`, () => {
    let sen: TestSen;
    beforeAll(async () => {
      sen = await startSen(target);
    });
    afterAll(() => sen?.dispose());

    const get = (url: string) => sen.app.inject({ url, headers: { host: HOST } });

    it("has a landing page whose links are absolute and lead somewhere", async () => {
      const res = await get("/ogc");
      expect(res.statusCode).toBe(200);
      const links = res.json().links as Link[];
      for (const rel of ["self", "conformance", "data", "service-desc"]) {
        const l = link(links, rel);
        expect(l, rel).toBeDefined();
        expect(l?.href.startsWith(`${ORIGIN}/`), `${rel}: ${l?.href}`).toBe(true);
        const followed = await get(local(l?.href ?? ""));
        expect(followed.statusCode, rel).toBe(200);
      }
      expect(new URL(link(links, "self")?.href ?? "").pathname).toBe("/ogc");
    });

    it("declares the core and GeoJSON conformance classes", async () => {
      const res = await get("/ogc/conformance");
      expect(res.statusCode).toBe(200);
      expect(res.json().conformsTo).toEqual(expect.arrayContaining([CONF_CORE, CONF_GEOJSON]));
    });

    it("offers the communes and the province as collections with their extent", async () => {
      const res = await get("/ogc/collections");
      expect(res.statusCode).toBe(200);
      const { collections } = res.json() as { collections: Array<{ id: string; extent: { spatial: { bbox: number[][] } }; links: Link[] }> };
      expect(collections.map((c) => c.id).sort()).toEqual(["communes", "province"]);
      for (const c of collections) {
        const [box] = c.extent.spatial.bbox;
        expect(box, c.id).toHaveLength(4);
        for (const [i, v] of box.entries()) expect(v, c.id).toBeCloseTo(turfBbox(province)[i], 4);
        expect(link(c.links, "items")?.href, c.id).toBe(`${ORIGIN}/ogc/collections/${c.id}/items`);
      }
      const one = await get("/ogc/collections/communes");
      expect(one.statusCode).toBe(200);
      expect(one.json()).toMatchObject({ id: "communes", extent: { spatial: { bbox: [expect.any(Array)] } } });
    });

    it("pages through exactly the 102 communes, 10 at a time by default, with next and prev links", async () => {
      const first = await get("/ogc/collections/communes/items");
      expect(first.statusCode).toBe(200);
      expect(first.headers["content-type"]).toMatch(/^application\/geo\+json/);
      const page1 = first.json() as Page;
      expect(page1).toMatchObject({ type: "FeatureCollection", numberMatched: 102, numberReturned: 10 });
      expect(page1.features).toHaveLength(10);
      expect(link(page1.links, "prev")).toBeUndefined();

      const seen: string[] = [];
      let page = page1;
      let pages = 0;
      for (;;) {
        pages++;
        expect(page.numberReturned).toBe(page.features.length);
        expect(page.numberMatched).toBe(102);
        seen.push(...page.features.map((f) => f.id));
        if (pages > 1) expect(link(page.links, "prev"), `page ${pages}`).toBeDefined();
        const next = link(page.links, "next");
        if (!next) break;
        expect(next.href.startsWith(`${ORIGIN}/ogc/collections/communes/items?`)).toBe(true);
        const res = await get(local(next.href));
        expect(res.statusCode).toBe(200);
        expect(res.headers["content-type"]).toMatch(/^application\/geo\+json/);
        page = res.json() as Page;
        if (pages > 20) throw new Error("the next links never end");
      }
      expect(pages).toBe(11);
      expect(seen).toHaveLength(102);
      expect([...seen].sort()).toEqual(communeCodes);

      // prev of the second page is the first page.
      const second = (await get(local(link(page1.links, "next")?.href ?? ""))).json() as Page;
      const back = (await get(local(link(second.links, "prev")?.href ?? ""))).json() as Page;
      expect(back.features.map((f) => f.id)).toEqual(page1.features.map((f) => f.id));
    });

    it("filters by bbox: exactly the communes whose boundary intersects it", async () => {
      const boxes: Array<[number, number, number, number]> = [
        [105.6, 10.42, 105.7, 10.5], // around Cao Lãnh
        [106.3, 10.3, 106.45, 10.4], // around Mỹ Tho
      ];
      for (const box of boxes) {
        const res = await get(`/ogc/collections/communes/items?bbox=${box.join(",")}&limit=1000`);
        expect(res.statusCode).toBe(200);
        const page = res.json() as Page;
        const expected = communes.filter((f) => booleanIntersects(bboxPolygon(box), f)).map((f) => f.properties.code);
        expect(expected.length).toBeGreaterThan(0);
        expect(page.numberMatched).toBe(expected.length);
        expect(page.features.map((f) => f.id).sort()).toEqual(expected.sort());
      }
      const cao = (await get("/ogc/collections/communes/items?bbox=105.6,10.42,105.7,10.5&limit=1000")).json() as Page;
      expect(cao.features.map((f) => f.id)).toContain("29869");
      const hanoi = (await get("/ogc/collections/communes/items?bbox=105.8,21.0,105.9,21.1")).json() as Page;
      expect(hanoi).toMatchObject({ numberMatched: 0, numberReturned: 0, features: [] });
    });

    it("rejects a bad bbox with a 400 problem", async () => {
      for (const bbox of ["1,2,3", "a,b,c,d", "105.7,10.4,105.6,10.5", "105,-91,106,11"]) {
        const res = await get(`/ogc/collections/communes/items?bbox=${encodeURIComponent(bbox)}`);
        expect(res.statusCode, bbox).toBe(400);
        expect(res.headers["content-type"], bbox).toMatch(/^application\/problem\+json/);
        expect(res.json().detail, bbox).toMatch(/bbox/);
      }
    });

    it("gives one commune by its code, with self and collection links", async () => {
      const res = await get("/ogc/collections/communes/items/29869");
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^application\/geo\+json/);
      const f = res.json();
      expect(f).toMatchObject({ type: "Feature", id: "29869", properties: { code: "29869", fullName: "Phường Cao Lãnh" } });
      expect(["Polygon", "MultiPolygon"]).toContain(f.geometry.type);
      expect(link(f.links, "self")?.href).toBe(`${ORIGIN}/ogc/collections/communes/items/29869`);
      expect(link(f.links, "collection")?.href).toBe(`${ORIGIN}/ogc/collections/communes`);
      const p = (await get("/ogc/collections/province/items/82")).json();
      expect(p).toMatchObject({ type: "Feature", id: "82", geometry: { type: "MultiPolygon" } });
    });

    it("answers an unknown collection or feature with a 404 problem", async () => {
      for (const url of [
        "/ogc/collections/roads",
        "/ogc/collections/roads/items",
        "/ogc/collections/communes/items/99999",
        "/ogc/collections/province/items/29869",
      ]) {
        const res = await get(url);
        expect(res.statusCode, url).toBe(404);
        expect(res.headers["content-type"], url).toMatch(/^application\/problem\+json/);
      }
    });

    it("rejects an unknown query parameter with a 400 problem naming it", async () => {
      const res = await get("/ogc/collections/communes/items?color=red");
      expect(res.statusCode).toBe(400);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(JSON.stringify(res.json().errors)).toContain("color");
    });

    it.skipIf(!hasOgrinfo && !process.env.CI)(
      `GDAL's ogrinfo reads the 102 communes over HTTP${hasOgrinfo ? "" : " (skipped: ogrinfo is not installed; apt-get install gdal-bin)"}`,
      async () => {
        if (!hasOgrinfo) throw new Error("ogrinfo is required in CI: install gdal-bin");
        await sen.app.listen({ port: 0, host: "127.0.0.1" });
        const { port } = sen.app.server.address() as { port: number };
        const { stdout } = await promisify(execFile)("ogrinfo", ["-ro", "-al", "-so", `OAPIF:http://127.0.0.1:${port}/ogc`, "communes"], {
          env: { ...process.env, NO_PROXY: "127.0.0.1,localhost", no_proxy: "127.0.0.1,localhost" },
          timeout: 60_000,
        });
        expect(stdout).toMatch(/Feature Count: 102\b/);
        expect(stdout).toMatch(/Geometry: Multi Polygon/);
      },
    );
  });
}
