// Geo datasets as OGC API – Features collections (read by GDAL's ogrinfo), live collections of
// device readings, DCAT-AP 3 documents of the catalogue, and datastore_search_sql when enabled.
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM } from "../../src/core/context.ts";
import { runWithContext } from "../../src/core/context.ts";
import { type TestSen, dbTargets, startSen } from "../helpers.ts";
import { action, addUploadResource, createDataset, publishFile, publisherKey, upload } from "./support.ts";

const hasOgrinfo = spawnSync("ogrinfo", ["--version"], { encoding: "utf8" }).status === 0;

const STATIONS = {
  type: "FeatureCollection",
  features: [
    { type: "Feature", geometry: { type: "Point", coordinates: [105.63, 10.46] }, properties: { ten: "Trạm Cao Lãnh", loai: "thuy-van", do_cao: 2.5 } },
    { type: "Feature", geometry: { type: "Point", coordinates: [105.76, 10.29] }, properties: { ten: "Trạm Sa Đéc", loai: "thuy-van", do_cao: 1.8 } },
    { type: "Feature", geometry: { type: "Point", coordinates: [106.35, 10.36] }, properties: { ten: "Trạm Mỹ Tho", loai: "khi-tuong", do_cao: 1.2 } },
    {
      type: "Feature",
      geometry: {
        type: "Polygon",
        coordinates: [
          [
            [105.5, 10.5],
            [105.6, 10.5],
            [105.6, 10.6],
            [105.5, 10.5],
          ],
        ],
      },
      properties: { ten: "Vùng ngập", loai: "vung", do_cao: 0.5 },
    },
  ],
};

for (const target of dbTargets()) {
  describe(`Catalog geo, DCAT and SQL on ${target.name}`, () => {
    let sen: TestSen;
    let key: string;
    let rid: string;
    beforeAll(async () => {
      sen = await startSen(target, { SEN_CATALOG_SQL: "1", SEN_CATALOG_UPLOAD_MB: "1" });
      key = await publisherKey(sen, "SNNMT");
      await createDataset(sen, key, {
        name: "tram-quan-trac",
        title: "Trạm quan trắc",
        title_translated: { en: "Monitoring stations" },
        notes: "Vị trí các trạm quan trắc.",
        owner_org: "SNNMT",
        tags: ["trạm"],
        groups: ["moi-truong"],
        frequency: "ANNUAL",
        spatial: "82",
        temporal_start: "2025-01-01",
        temporal_end: "2025-12-31",
        maintainer_email: "qt@dongthap.gov.vn",
      });
      rid = await addUploadResource(sen, key, "tram-quan-trac", "Trạm");
      const v = await publishFile(sen, key, rid, "tram.geojson", JSON.stringify(STATIONS));
      expect(v.status, v.error).toBe("ready");
      expect(v.geometry).toBe(true);
      await createDataset(sen, key, { name: "an-noi-bo", title: "Ẩn", owner_org: "SNNMT", private: true });
      const hid = await addUploadResource(sen, key, "an-noi-bo", "Ẩn");
      await publishFile(sen, key, hid, "an.csv", "lat,lon,ten\n10.4,105.6,bí mật\n");
      // A device, for the live collection of latest readings.
      await runWithContext({ actor: SYSTEM }, async () => {
        const profile = sen.services.iot.listProfiles()[0];
        await sen.services.iot.createDevice({ name: "Trạm đo thử", profileId: profile.id, lat: 10.45, lon: 105.64 } as never);
      });
    }, 120_000);
    afterAll(() => sen?.dispose());

    it("serves a geo dataset as an OGC API – Features collection with bbox, paging and property filters", async () => {
      const cols = (await sen.app.inject("/ogc/collections")).json().collections as Array<{ id: string; extent?: { spatial: { bbox: number[][] } } }>;
      const ids = cols.map((c) => c.id);
      expect(ids).toContain("tram-quan-trac");
      expect(ids).not.toContain("an-noi-bo");
      expect(cols.find((c) => c.id === "tram-quan-trac")?.extent?.spatial.bbox[0]).toEqual([105.5, 10.29, 106.35, 10.6]);
      const all = (await sen.app.inject("/ogc/collections/tram-quan-trac/items?limit=2")).json();
      expect(all).toMatchObject({ type: "FeatureCollection", numberMatched: 4, numberReturned: 2 });
      expect(all.features[0]).toMatchObject({ id: 1, geometry: { type: "Point" }, properties: { ten: "Trạm Cao Lãnh", do_cao: 2.5 } });
      expect(all.links.find((l: { rel: string }) => l.rel === "next").href).toContain("offset=2");
      const box = (await sen.app.inject("/ogc/collections/tram-quan-trac/items?bbox=105.7,10.2,106.5,10.4")).json();
      expect(box.features.map((f: { properties: { ten: string } }) => f.properties.ten)).toEqual(["Trạm Sa Đéc", "Trạm Mỹ Tho"]);
      const filtered = (await sen.app.inject(`/ogc/collections/tram-quan-trac/items?loai=thuy-van`)).json();
      expect(filtered.numberMatched).toBe(2);
      expect((await sen.app.inject("/ogc/collections/tram-quan-trac/items?khong_co=1")).statusCode).toBe(400);
      expect((await sen.app.inject("/ogc/collections/communes/items?loai=1")).statusCode).toBe(400);
      const one = (await sen.app.inject("/ogc/collections/tram-quan-trac/items/4")).json();
      expect(one.geometry.type).toBe("Polygon");
      expect((await sen.app.inject("/ogc/collections/tram-quan-trac/items/99")).statusCode).toBe(404);
      const html = await sen.app.inject("/ogc/collections/tram-quan-trac/items?f=html");
      expect(html.headers["content-type"]).toMatch(/text\/html/);
      expect(html.body).toContain("Trạm Sa Đéc");
      const gj = await sen.app.inject(`/api/catalog/resources/${rid}/download?format=geojson`);
      expect(JSON.parse(gj.body).features).toHaveLength(4);
    });

    it("refuses an upload larger than SEN_CATALOG_UPLOAD_MB with 413, keeping nothing", async () => {
      const versions = await sen.count("catalog.versions");
      const big = `a,b\n${"1,2\n".repeat(400_000)}`;
      const res = await upload(sen, key, rid, "lon.csv", big);
      expect(res.statusCode).toBe(413);
      expect(res.json().detail).toMatch(/larger than 1 MB/);
      expect(await sen.count("catalog.versions")).toBe(versions);
    });

    it("offers the latest device readings as a live collection", async () => {
      const cols = (await sen.app.inject("/ogc/collections")).json().collections as Array<{ id: string }>;
      const live = cols.find((c) => c.id.startsWith("latest-"));
      expect(live).toBeDefined();
      const items = (await sen.app.inject(`/ogc/collections/${live?.id}/items`)).json();
      expect(items.features.find((f: { properties: { name: string } }) => f.properties.name === "Trạm đo thử")?.geometry.coordinates).toEqual([105.64, 10.45]);
    });

    it(`is read by GDAL's ogrinfo${hasOgrinfo ? "" : " (ogrinfo missing: apt-get install gdal-bin)"}`, async () => {
      if (!hasOgrinfo) throw new Error("ogrinfo is required: install gdal-bin");
      await sen.app.listen({ port: 0, host: "127.0.0.1" });
      const { port } = sen.app.server.address() as { port: number };
      const { stdout } = await promisify(execFile)("ogrinfo", ["-ro", "-al", "-so", `OAPIF:http://127.0.0.1:${port}/ogc`, "tram-quan-trac"], {
        env: { ...process.env, NO_PROXY: "127.0.0.1,localhost", no_proxy: "127.0.0.1,localhost" },
        timeout: 60_000,
      });
      expect(stdout).toMatch(/Feature Count: 4\b/);
      expect(stdout).toMatch(/ten: String/);
      expect(stdout).toMatch(/do_cao: Real/);
      expect(stdout).toMatch(/loai: String/);
    });

    it("describes the catalogue in DCAT-AP 3 (JSON-LD and Turtle) with the mandatory properties", async () => {
      const res = await sen.app.inject({ url: "/catalog.jsonld", headers: { host: "opendata.dongthap.example.vn" } });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toMatch(/application\/ld\+json/);
      // biome-ignore lint/suspicious/noExplicitAny: JSON-LD nodes are checked property by property
      const doc = res.json() as { "@context": Record<string, string>; "@graph": Array<Record<string, any>> };
      const byType = (t: string) => doc["@graph"].filter((n) => (n["@type"] ?? []).includes(t));
      const [cat] = byType("dcat:Catalog");
      for (const p of ["dct:title", "dct:description", "dct:publisher", "dcat:dataset"]) expect(cat[p], p).toBeDefined();
      const ds = byType("dcat:Dataset");
      expect(ds).toHaveLength(1);
      const d = ds[0];
      expect(d["@id"]).toBe("http://opendata.dongthap.example.vn/dataset/tram-quan-trac");
      for (const p of [
        "dct:title",
        "dct:description",
        "dct:publisher",
        "dcat:distribution",
        "dcat:keyword",
        "dcat:theme",
        "dct:accrualPeriodicity",
        "dct:temporal",
        "dct:spatial",
        "dcat:contactPoint",
        "dct:issued",
        "dct:modified",
      ])
        expect(d[p], p).toBeDefined();
      expect(d["dct:title"]).toEqual(expect.arrayContaining([{ "@value": "Monitoring stations", "@language": "en" }]));
      expect(d["dcat:theme"]).toEqual(expect.arrayContaining([{ "@id": "http://publications.europa.eu/resource/authority/data-theme/ENVI" }]));
      const [dist] = byType("dcat:Distribution");
      for (const p of ["dcat:accessURL", "dcat:downloadURL", "dct:format", "dct:license", "dcat:mediaType", "dcat:byteSize"]) expect(dist[p], p).toBeDefined();
      for (const agent of byType("foaf:Agent")) expect(agent["foaf:name"]).toBeDefined();
      expect(byType("hydra:PartialCollectionView")[0]["hydra:totalItems"][0]["@value"]).toBe("1");
      const ttl = await sen.app.inject("/catalog.ttl?page=1");
      expect(ttl.headers["content-type"]).toMatch(/text\/turtle/);
      expect(ttl.body).toContain("@prefix dcat: <http://www.w3.org/ns/dcat#> .");
      expect(ttl.body).toMatch(/a dcat:Dataset/);
      expect(ttl.body).toContain('dct:title "Trạm quan trắc"@vi');
      const one = await sen.app.inject("/dataset/tram-quan-trac.ttl");
      expect(one.statusCode).toBe(200);
      expect(one.body).toContain("dcat:accessURL");
      expect((await sen.app.inject("/dataset/an-noi-bo.jsonld")).statusCode).toBe(404);
    });

    it("runs datastore_search_sql read-only, on public datastore tables only, with limits", async () => {
      if (target.name === "pglite") {
        // The embedded database cannot cancel a statement, so the action stays off there.
        const r = await action(sen, "datastore_search_sql", { sql: `SELECT * FROM "${rid}"` });
        expect(r.status).toBe(403);
        expect(r.body.error.message).toMatch(/PostgreSQL server/);
        return;
      }
      const ok = await action(sen, "datastore_search_sql", { sql: `SELECT ten, do_cao FROM "${rid}" WHERE do_cao > 1.5 ORDER BY ten` });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body.result.records).toEqual([
        { ten: "Trạm Cao Lãnh", do_cao: 2.5 },
        { ten: "Trạm Sa Đéc", do_cao: 1.8 },
      ]);
      const hostile = [
        "DELETE FROM catalog.datasets",
        `SELECT * FROM "${rid}"; DROP TABLE catalog.datasets`,
        "SELECT * FROM catalog.datasets",
        "SELECT * FROM core.users",
        "SELECT set_config('role', 'postgres', true)",
        "WITH x AS (DELETE FROM catalog.datasets RETURNING 1) SELECT * FROM x",
        "SELECT 1) AS q; DROP TABLE catalog.datasets; --",
        "SELECT pg_read_file('/etc/passwd')",
        "SELECT * FROM pg_catalog.pg_authid",
      ];
      for (const sql of hostile) {
        const r = await action(sen, "datastore_search_sql", { sql });
        expect(r.status, sql).toBe(409);
        expect(r.body.success, sql).toBe(false);
      }
      expect(await sen.count("catalog.datasets")).toBe(2);
      const slow = await action(sen, "datastore_search_sql", { sql: "SELECT pg_sleep(30)" });
      expect(slow.status).toBe(409);
      const many = await action(sen, "datastore_search_sql", { sql: "SELECT g FROM generate_series(1, 40000) g" });
      expect(many.body.result.records).toHaveLength(32000);
      expect(many.body.result.records_truncated).toBe(true);
    }, 60_000);
  });
}
