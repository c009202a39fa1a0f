// Entities through the NGSI-LD API: create, read in every format, update in every way, batch,
// q and geo-queries, @context handling, tenants and access.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestSen, dbTargets, startSen } from "../helpers.ts";
import { LD, call, station } from "./util.ts";

for (const target of dbTargets()) {
  describe(`NGSI-LD entities on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    beforeAll(async () => {
      sen = await startSen(target);
      admin = await sen.login();
    });
    afterAll(() => sen?.dispose());

    it("creates, reads and refuses a duplicate", async () => {
      const res = await call(sen, "POST", "/ngsi-ld/v1/entities", { token: admin, body: station("urn:ngsi-ld:WaterObserved:a1", 3.2) });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.headers.location).toBe("/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:a1");
      expect(res.body).toBe("");
      const dup = await call(sen, "POST", "/ngsi-ld/v1/entities", { token: admin, body: station("urn:ngsi-ld:WaterObserved:a1", 3.2) });
      expect(dup.statusCode).toBe(409);
      expect(dup.headers["content-type"]).toMatch(/^application\/json/);
      expect(dup.json().type).toBe("https://uri.etsi.org/ngsi-ld/errors/AlreadyExists");

      const get = await call(sen, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:a1", { token: admin });
      expect(get.statusCode).toBe(200);
      expect(get.headers.link).toContain("ngsi-ld-core-context");
      const e = get.json();
      expect(e.type).toBe("WaterObserved");
      expect(e.waterLevel).toEqual({ type: "Property", value: 3.2, unitCode: "MTR", observedAt: "2026-11-01T00:00:00.000Z" });
      const kv = await call(sen, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:a1?options=keyValues", { token: admin });
      expect(kv.json().waterLevel).toBe(3.2);
      const concise = await call(sen, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:a1?format=concise&options=sysAttrs", { token: admin });
      expect(concise.json().name.value).toBe("Trạm urn:ngsi-ld:WaterObserved:a1");
      expect(concise.json().createdAt).toBeTruthy();
      const ld = await call(sen, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:a1?pick=id,waterLevel", { token: admin, headers: { accept: LD } });
      expect(ld.headers["content-type"]).toMatch(/^application\/ld\+json/);
      expect(Object.keys(ld.json()).sort()).toEqual(["@context", "id", "waterLevel"]);
      const nope = await call(sen, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:a1", { token: admin, headers: { accept: "text/html" } });
      expect(nope.statusCode).toBe(406);
    });

    it("updates attributes in every way the spec has, with datasetId instances", async () => {
      const id = "urn:ngsi-ld:WaterObserved:u1";
      expect((await call(sen, "POST", "/ngsi-ld/v1/entities", { token: admin, body: station(id, 1) })).statusCode).toBe(201);
      const read = async () => (await call(sen, "GET", `/ngsi-ld/v1/entities/${id}`, { token: admin })).json();
      // PATCH /attrs: existing ones updated, unknown ones reported (207)
      let res = await call(sen, "PATCH", `/ngsi-ld/v1/entities/${id}/attrs`, {
        token: admin,
        body: { waterLevel: { type: "Property", value: 2 }, nothere: { type: "Property", value: 1 } },
      });
      expect(res.statusCode).toBe(207);
      expect(res.json()).toMatchObject({ updated: ["waterLevel"], notUpdated: [{ attributeName: "nothere" }] });
      expect((await read()).waterLevel.value).toBe(2);
      // POST /attrs appends; noOverwrite keeps
      res = await call(sen, "POST", `/ngsi-ld/v1/entities/${id}/attrs`, {
        token: admin,
        body: { battery: { type: "Property", value: 90 }, refPoint: { type: "Relationship", object: "urn:ngsi-ld:Point:1" } },
      });
      expect(res.statusCode).toBe(204);
      res = await call(sen, "POST", `/ngsi-ld/v1/entities/${id}/attrs?options=noOverwrite`, {
        token: admin,
        body: { battery: { type: "Property", value: 10 } },
      });
      expect(res.statusCode).toBe(207);
      expect((await read()).battery.value).toBe(90);
      // a second instance with a datasetId
      res = await call(sen, "POST", `/ngsi-ld/v1/entities/${id}/attrs`, {
        token: admin,
        body: { waterLevel: { type: "Property", value: 5, datasetId: "urn:ngsi-ld:Dataset:radar" } },
      });
      expect(res.statusCode).toBe(204);
      let e = await read();
      expect(e.waterLevel).toHaveLength(2);
      // partial attribute update of that instance, then a sub-property
      res = await call(sen, "PATCH", `/ngsi-ld/v1/entities/${id}/attrs/waterLevel`, {
        token: admin,
        body: { value: 6, datasetId: "urn:ngsi-ld:Dataset:radar", accuracy: { type: "Property", value: 0.05 } },
      });
      expect(res.statusCode, res.body).toBe(204);
      e = await read();
      const radar = e.waterLevel.find((x: { datasetId?: string }) => x.datasetId);
      expect(radar).toMatchObject({ value: 6, accuracy: { type: "Property", value: 0.05 } });
      // q on a sub-property and on a datasetId instance
      const q = await call(sen, "GET", "/ngsi-ld/v1/entities?type=WaterObserved&q=waterLevel.accuracy<0.1", { token: admin });
      expect(q.json().map((x: { id: string }) => x.id)).toEqual([id]);
      // delete one instance, then the whole attribute
      res = await call(sen, "DELETE", `/ngsi-ld/v1/entities/${id}/attrs/waterLevel?datasetId=urn:ngsi-ld:Dataset:radar`, { token: admin });
      expect(res.statusCode).toBe(204);
      expect((await read()).waterLevel.value).toBe(2);
      // PUT an attribute, merge-patch the entity with urn:ngsi-ld:null
      res = await call(sen, "PUT", `/ngsi-ld/v1/entities/${id}/attrs/battery`, { token: admin, body: { type: "Property", value: 50, unitCode: "P1" } });
      expect(res.statusCode).toBe(204);
      res = await call(sen, "PATCH", `/ngsi-ld/v1/entities/${id}`, {
        token: admin,
        body: { battery: "urn:ngsi-ld:null", name: { value: "Tân Châu" }, label: { languageMap: { vi: "Trạm", en: "Station" } } },
      });
      expect(res.statusCode, res.body).toBe(204);
      e = await read();
      expect(e.battery).toBeUndefined();
      expect(e.name.value).toBe("Tân Châu");
      expect(e.label).toEqual({ type: "LanguageProperty", languageMap: { vi: "Trạm", en: "Station" } });
      expect((await call(sen, "GET", `/ngsi-ld/v1/entities/${id}?lang=en&options=keyValues`, { token: admin })).json().label).toBe("Station");
      // PUT the entity replaces everything
      res = await call(sen, "PUT", `/ngsi-ld/v1/entities/${id}`, { token: admin, body: { type: "WaterObserved", waterLevel: { type: "Property", value: 9 } } });
      expect(res.statusCode, res.body).toBe(204);
      expect(Object.keys(await read()).sort()).toEqual(["id", "type", "waterLevel"]);
      expect((await call(sen, "DELETE", `/ngsi-ld/v1/entities/${id}/attrs/nothere`, { token: admin })).statusCode).toBe(404);
      expect((await call(sen, "DELETE", `/ngsi-ld/v1/entities/${id}`, { token: admin })).statusCode).toBe(204);
      expect((await call(sen, "GET", `/ngsi-ld/v1/entities/${id}`, { token: admin })).statusCode).toBe(404);
    });

    it("runs batches with 201, 204 and 207", async () => {
      const ids = [1, 2, 3].map((i) => `urn:ngsi-ld:WaterObserved:b${i}`);
      let res = await call(sen, "POST", "/ngsi-ld/v1/entityOperations/create", { token: admin, body: ids.map((id, i) => station(id, i)) });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toEqual(ids);
      res = await call(sen, "POST", "/ngsi-ld/v1/entityOperations/create", {
        token: admin,
        body: [station(ids[0], 1), station("urn:ngsi-ld:WaterObserved:b4", 4), { id: "bad id", type: "X" }],
      });
      expect(res.statusCode).toBe(207);
      expect(res.json().success).toEqual(["urn:ngsi-ld:WaterObserved:b4"]);
      expect(
        res
          .json()
          .errors.map((e: { entityId: string }) => e.entityId)
          .sort(),
      ).toEqual(["bad id", ids[0]].sort());
      res = await call(sen, "POST", "/ngsi-ld/v1/entityOperations/upsert", {
        token: admin,
        body: [station(ids[0], 7), station("urn:ngsi-ld:WaterObserved:b5", 5)],
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toEqual(["urn:ngsi-ld:WaterObserved:b5"]);
      res = await call(sen, "POST", "/ngsi-ld/v1/entityOperations/upsert?options=update", { token: admin, body: [station(ids[0], 8)] });
      expect(res.statusCode).toBe(204);
      res = await call(sen, "POST", "/ngsi-ld/v1/entityOperations/update", {
        token: admin,
        body: [{ id: ids[1], waterLevel: { type: "Property", value: 11 } }],
      });
      expect(res.statusCode).toBe(204);
      res = await call(sen, "POST", "/ngsi-ld/v1/entityOperations/query", {
        token: admin,
        body: { type: "Query", entities: [{ type: "WaterObserved" }], q: "waterLevel>=8" },
      });
      expect(res.json().map((e: { id: string }) => e.id)).toEqual([ids[0], ids[1]]);
      res = await call(sen, "POST", "/ngsi-ld/v1/entityOperations/delete", { token: admin, body: [ids[2], "urn:ngsi-ld:WaterObserved:none"] });
      expect(res.statusCode).toBe(207);
      expect(res.json().success).toEqual([ids[2]]);
    });

    it("answers q and geo-queries, with pagination and counts", async () => {
      const body = Array.from({ length: 30 }, (_, i) => ({
        ...station(`urn:ngsi-ld:WaterObserved:g${String(i).padStart(2, "0")}`, i / 10, 105.2 + i * 0.01, 10.5),
        status: { type: "Property", value: i % 2 ? "ok" : "alarm" },
        address: { type: "Property", value: { commune: i < 10 ? "Tân Châu" : "Cao Lãnh" } },
      }));
      expect((await call(sen, "POST", "/ngsi-ld/v1/entityOperations/upsert", { token: admin, body })).statusCode).toBe(201);
      const ids = async (qs: string, limit = 100) => {
        const r = await call(sen, "GET", `/ngsi-ld/v1/entities?type=WaterObserved&idPattern=:g&limit=${limit}&${qs}`, { token: admin });
        expect(r.statusCode, r.body).toBe(200);
        return r.json().map((e: { id: string }) => Number(e.id.slice(-2)));
      };
      expect(await ids(`q=${encodeURIComponent("waterLevel>2.5")}`)).toEqual([26, 27, 28, 29]);
      expect(await ids(`q=${encodeURIComponent('waterLevel==0.1..0.3;status=="ok"')}`)).toEqual([1, 3]);
      expect(await ids(`q=${encodeURIComponent('(status=="alarm"|waterLevel<0.2);address[commune]=="Tân Châu"')}`)).toEqual([0, 1, 2, 4, 6, 8]);
      expect(await ids(`q=${encodeURIComponent('address[commune]~="(?i)^cao"')}`, 3)).toEqual([10, 11, 12]);
      expect(await ids(`q=${encodeURIComponent('status!="ok";waterLevel>=2.6')}`)).toEqual([26, 28]);
      expect(await ids(`q=${encodeURIComponent("waterLevel==0.5,0.7")}`)).toEqual([5, 7]);
      expect(await ids(`q=${encodeURIComponent("waterLevel.observedAt>2026-10-01T00:00:00Z")}`, 2)).toEqual([0, 1]);
      // geo: 3 km around g10 (105.30, 10.5) holds g08..g12 (≈1.1 km apart)
      expect(await ids("georel=near;maxDistance==2500&geometry=Point&coordinates=[105.30,10.5]")).toEqual([8, 9, 10, 11, 12]);
      expect(await ids("georel=near;minDistance==30000&geometry=Point&coordinates=[105.2,10.5]")).toEqual([28, 29]);
      const poly = JSON.stringify([
        [
          [105.195, 10.4],
          [105.225, 10.4],
          [105.225, 10.6],
          [105.195, 10.6],
          [105.195, 10.4],
        ],
      ]);
      expect(await ids(`georel=within&geometry=Polygon&coordinates=${encodeURIComponent(poly)}`)).toEqual([0, 1, 2]);
      expect(await ids(`georel=intersects&geometry=LineString&coordinates=${encodeURIComponent("[[105.25,10.4],[105.25,10.6]]")}`)).toEqual([5]);
      const disjoint = await ids(`georel=disjoint&geometry=Polygon&coordinates=${encodeURIComponent(poly)}`);
      expect(disjoint).toHaveLength(27);
      // pagination and count
      const page = await call(sen, "GET", "/ngsi-ld/v1/entities?type=WaterObserved&idPattern=:g&limit=5&offset=5&count=true", { token: admin });
      expect(page.headers["ngsild-results-count"]).toBe("30");
      expect(page.json().map((e: { id: string }) => e.id.slice(-2))).toEqual(["05", "06", "07", "08", "09"]);
      const onlyCount = await call(sen, "GET", "/ngsi-ld/v1/entities?type=WaterObserved&idPattern=:g&q=waterLevel>1&limit=0&count=true", { token: admin });
      expect(onlyCount.headers["ngsild-results-count"]).toBe("19");
      expect((await call(sen, "GET", "/ngsi-ld/v1/entities?type=WaterObserved&limit=5000", { token: admin })).json().type).toBe(
        "https://uri.etsi.org/ngsi-ld/errors/TooManyResults",
      );
      const geojson = await call(sen, "GET", "/ngsi-ld/v1/entities?type=WaterObserved&idPattern=:g0&limit=2", {
        token: admin,
        headers: { accept: "application/geo+json" },
      });
      expect(geojson.json()).toMatchObject({ type: "FeatureCollection", features: [{ type: "Feature", geometry: { type: "Point" } }, {}] });
    });

    it("commits concurrent writes without losing one, and every read after a write sees it", async () => {
      const ids = Array.from({ length: 12 }, (_, i) => `urn:ngsi-ld:WaterObserved:grp-${i}`);
      for (const id of ids) expect((await call(sen, "POST", "/ngsi-ld/v1/entities", { token: admin, body: station(id, 1) })).statusCode).toBe(201);
      const read = async (id: string) => (await call(sen, "GET", `/ngsi-ld/v1/entities/${id}`, { token: admin })).json();
      const high = () => call(sen, "GET", "/ngsi-ld/v1/entities?type=WaterObserved&idPattern=:grp-&q=waterLevel%3E=5&limit=100&count=true", { token: admin });
      // Read everything first: whatever a reader keeps must give way to the writes that follow.
      for (const id of ids) expect((await read(id)).waterLevel.value).toBe(1);
      expect((await high()).json()).toEqual([]);

      // At once: one PATCH per entity, five appends of different attributes to the first one, and
      // a write to an entity that does not exist.
      const results = await Promise.all([
        ...ids.map((id, i) =>
          call(sen, "PATCH", `/ngsi-ld/v1/entities/${id}/attrs`, { token: admin, body: { waterLevel: { type: "Property", value: 5 + i } } }),
        ),
        ...[1, 2, 3, 4, 5].map((k) =>
          call(sen, "POST", `/ngsi-ld/v1/entities/${ids[0]}/attrs`, { token: admin, body: { [`extra${k}`]: { type: "Property", value: k } } }),
        ),
        call(sen, "PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:nobody/attrs", {
          token: admin,
          body: { waterLevel: { type: "Property", value: 1 } },
        }),
      ]);
      expect(results.map((r) => r.statusCode)).toEqual([...Array(17).fill(204), 404]);
      for (const [i, id] of ids.entries()) expect((await read(id)).waterLevel.value).toBe(5 + i);
      const first = await read(ids[0]);
      for (const k of [1, 2, 3, 4, 5]) expect(first[`extra${k}`].value).toBe(k);
      const after = await high();
      expect(after.headers["ngsild-results-count"]).toBe("12");
      expect(after.json()).toHaveLength(12);
      // Each write is in the attribute history.
      const history = await call(sen, "GET", `/ngsi-ld/v1/temporal/entities/${ids[3]}?attrs=waterLevel`, { token: admin });
      expect((history.json().waterLevel as Array<{ value: number }>).map((v) => v.value)).toEqual([1, 8]);

      // A type added by a merge is queryable by that type; a deleted entity leaves every type.
      const byType = async (t: string) =>
        ((await call(sen, "GET", `/ngsi-ld/v1/entities?type=${t}&idPattern=:grp-&limit=100`, { token: admin })).json() as Array<{ id: string }>).map(
          (e) => e.id,
        );
      expect((await call(sen, "PATCH", `/ngsi-ld/v1/entities/${ids[1]}`, { token: admin, body: { type: "FloodSensor" } })).statusCode).toBe(204);
      expect(await byType("FloodSensor")).toEqual([ids[1]]);
      expect(await byType("WaterObserved")).toHaveLength(12);
      expect((await read(ids[1])).type).toEqual(["WaterObserved", "FloodSensor"]);
      expect((await call(sen, "DELETE", `/ngsi-ld/v1/entities/${ids[1]}`, { token: admin })).statusCode).toBe(204);
      expect(await byType("FloodSensor")).toEqual([]);
      expect(await byType("WaterObserved")).toHaveLength(11);
      expect((await call(sen, "GET", `/ngsi-ld/v1/entities/${ids[1]}`, { token: admin })).statusCode).toBe(404);
    });

    it("reads an entity the same by id, right after each kind of write, as a query reads it from the database", async () => {
      // GET by id answers from memory where it can (on PGlite every write puts its document
      // there); a query by id reads the database. Key order counts: the texts must be equal.
      const id = "urn:ngsi-ld:WaterObserved:same-both-ways";
      const both = async () => {
        const byId = await call(sen, "GET", `/ngsi-ld/v1/entities/${id}?options=sysAttrs`, { token: admin });
        const query = await call(sen, "GET", `/ngsi-ld/v1/entities?id=${id}&options=sysAttrs`, { token: admin });
        expect(byId.statusCode).toBe(200);
        return [JSON.stringify(byId.json()), JSON.stringify(query.json()[0])];
      };
      const expectSame = async () => {
        const [a, b] = await both();
        expect(a).toBe(b);
        return JSON.parse(a);
      };
      const created = await call(sen, "POST", "/ngsi-ld/v1/entities", { token: admin, body: station(id, 2) });
      expect(created.statusCode).toBe(201);
      await expectSame();
      const nested = { zeta: 1, b: { yy: true, a: [3, { z: 1, "10": "x", ab: null }] }, mựcNước: "cao", "2": 2 };
      const writes: Array<[string, string, unknown]> = [
        ["PATCH", `/ngsi-ld/v1/entities/${id}/attrs`, { waterLevel: { type: "Property", value: 3.5, unitCode: "MTR", observedAt: "2026-11-02T00:00:00Z" } }],
        ["POST", `/ngsi-ld/v1/entities/${id}/attrs`, { mựcNước: { type: "Property", value: nested }, a: { type: "Property", value: "ngắn" } }],
        ["POST", `/ngsi-ld/v1/entities/${id}/attrs`, { waterLevel: { type: "Property", value: 9, datasetId: "urn:ngsi-ld:Dataset:radar" } }],
        ["PATCH", `/ngsi-ld/v1/entities/${id}/attrs/waterLevel`, { value: 4.1, quality: { type: "Property", value: "tốt" } }],
        ["PATCH", `/ngsi-ld/v1/entities/${id}`, { status: { type: "Property", value: { ok: true, code: 7 } }, a: "urn:ngsi-ld:null" }],
        ["PUT", `/ngsi-ld/v1/entities/${id}/attrs/name`, { type: "LanguageProperty", languageMap: { vi: "Trạm Tân Châu", en: "Tan Chau station" } }],
      ];
      for (const [method, url, body] of writes) {
        expect((await call(sen, method, url, { token: admin, body })).statusCode, `${method} ${url}`).toBe(204);
        await expectSame();
      }
      const batch = await call(sen, "POST", "/ngsi-ld/v1/entityOperations/update", {
        token: admin,
        body: [{ id, type: "WaterObserved", waterLevel: { type: "Property", value: 4.6 } }],
      });
      expect(batch.statusCode).toBe(204);
      const last = await expectSame();
      expect(last.waterLevel.map((i: { value: number }) => i.value).sort()).toEqual([4.6, 9]);
      expect(last["mựcNước"].value).toEqual(nested);
      expect(last.a).toBeUndefined();
      expect((await call(sen, "DELETE", `/ngsi-ld/v1/entities/${id}`, { token: admin })).statusCode).toBe(204);
      expect((await call(sen, "GET", `/ngsi-ld/v1/entities/${id}`, { token: admin })).statusCode).toBe(404);
    });

    it("refreshes the planner's statistics after many entities are created, not after attribute updates", async () => {
      // Statistics only move when entities come, go or change type; an ANALYZE of a large table
      // holds the embedded database for a noticeable moment, so updates must not keep asking for one.
      const analyzed = async () =>
        Number(
          (await sen.services.db.one<{ n: string }>("SELECT analyze_count AS n FROM pg_stat_user_tables WHERE schemaname = 'context' AND relname = 'entities'"))
            ?.n,
        );
      const ids = Array.from({ length: 5000 }, (_, i) => `urn:ngsi-ld:WaterObserved:stats-${i}`);
      const batches = (body: (id: string) => unknown) => Array.from({ length: 5 }, (_, k) => ids.slice(k * 1000, (k + 1) * 1000).map(body));
      const before = await analyzed();
      for (const b of batches((id) => station(id, 1)))
        expect((await call(sen, "POST", "/ngsi-ld/v1/entityOperations/create", { token: admin, body: b })).statusCode).toBe(201);
      await expect.poll(analyzed, { timeout: 15_000, interval: 200 }).toBeGreaterThan(before);
      const afterCreate = await analyzed();
      for (const b of batches((id) => ({ id, type: "WaterObserved", waterLevel: { type: "Property", value: 2 } })))
        expect((await call(sen, "POST", "/ngsi-ld/v1/entityOperations/update", { token: admin, body: b })).statusCode).toBe(204);
      expect((await call(sen, "GET", `/ngsi-ld/v1/entities/${ids[4999]}`, { token: admin })).json().waterLevel.value).toBe(2);
      // The refresh would have come two seconds after the 5,000th write.
      await new Promise((r) => setTimeout(r, 3000));
      expect(await analyzed()).toBe(afterCreate);
    });

    it("expands names with the @context given inline, by Link header, or registered — never fetched", async () => {
      const inline = {
        "@context": [{ level: "https://smartdatamodels.org/dataModel.Environment/waterLevel", Station: "https://smartdatamodels.org/Station" }],
      };
      let res = await call(sen, "POST", "/ngsi-ld/v1/entities", {
        token: admin,
        type: LD,
        body: { id: "urn:ngsi-ld:Station:c1", type: "Station", level: { type: "Property", value: 4.1 }, ...inline },
      });
      expect(res.statusCode, res.body).toBe(201);
      // Without that context the long names show
      const plain = (await call(sen, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:Station:c1", { token: admin })).json();
      expect(plain.type).toBe("https://smartdatamodels.org/Station");
      expect(plain["https://smartdatamodels.org/dataModel.Environment/waterLevel"].value).toBe(4.1);
      // Register the context under its URL: then a Link header works, for reads and q
      const url = "https://smartdatamodels.org/context.jsonld";
      const link = { link: `<${url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"` };
      res = await call(sen, "GET", "/ngsi-ld/v1/entities?type=Station", { token: admin, headers: link });
      expect(res.statusCode).toBe(503);
      expect(res.json().type).toBe("https://uri.etsi.org/ngsi-ld/errors/LdContextNotAvailable");
      res = await call(sen, "POST", `/ngsi-ld/v1/jsonldContexts?url=${encodeURIComponent(url)}`, { token: admin, body: inline });
      expect(res.statusCode, res.body).toBe(201);
      res = await call(sen, "GET", "/ngsi-ld/v1/entities?type=Station&q=level>4", { token: admin, headers: link });
      expect(res.json()).toEqual([{ id: "urn:ngsi-ld:Station:c1", type: "Station", level: { type: "Property", value: 4.1 } }]);
      expect(res.headers.link).toContain(url);
      const ldRes = await call(sen, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:Station:c1", { token: admin, headers: { ...link, accept: LD } });
      expect(ldRes.json()["@context"]).toBe(url);
      // Hosted contexts get a Sen URL
      res = await call(sen, "POST", "/ngsi-ld/v1/jsonldContexts", { token: admin, body: { "@context": { x: "urn:x" } } });
      expect(res.statusCode).toBe(201);
      expect(res.json().url).toMatch(/\/ngsi-ld\/v1\/jsonldContexts\//);
      expect((await call(sen, "GET", res.headers.location as string)).json()).toEqual({ "@context": { x: "urn:x" } });
      // Content-type rules
      res = await call(sen, "POST", "/ngsi-ld/v1/entities", { token: admin, body: { id: "urn:x:1", type: "T", "@context": [] } });
      expect(res.json().type).toBe("https://uri.etsi.org/ngsi-ld/errors/BadRequestData");
      res = await call(sen, "POST", "/ngsi-ld/v1/entities", { token: admin, type: LD, body: { id: "urn:x:1", type: "T" } });
      expect(res.statusCode).toBe(400);
      res = await call(sen, "POST", "/ngsi-ld/v1/entities", { token: admin, type: "text/plain", body: "hello" });
      expect(res.statusCode).toBe(415);
    });

    it("keeps tenants apart and reads anonymously only the types an agency made public", async () => {
      const body = station("urn:ngsi-ld:WaterObserved:t1", 1);
      expect((await call(sen, "POST", "/ngsi-ld/v1/entities", { token: admin, body, headers: { "ngsild-tenant": "SNNMT" } })).statusCode).toBe(201);
      expect((await call(sen, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:t1", { token: admin })).statusCode).toBe(404);
      expect(
        (await call(sen, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:t1", { token: admin, headers: { "ngsild-tenant": "SNNMT" } })).statusCode,
      ).toBe(200);
      const none = await call(sen, "GET", "/ngsi-ld/v1/entities?type=X", { headers: { "ngsild-tenant": "NOPE" } });
      expect(none.statusCode).toBe(404);
      expect(none.json().type).toBe("https://uri.etsi.org/ngsi-ld/errors/NonexistentTenant");
      // anonymous: nothing until the type is public
      expect((await call(sen, "GET", "/ngsi-ld/v1/entities?type=WaterObserved&limit=1000")).json()).toEqual([]);
      expect((await call(sen, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:b1")).statusCode).toBe(404);
      expect((await call(sen, "PUT", "/api/context/public-types/WaterObserved", { token: admin })).statusCode).toBe(204);
      expect((await call(sen, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:b1")).statusCode).toBe(200);
      expect((await call(sen, "GET", "/ngsi-ld/v1/entities?type=Station")).json()).toEqual([]);
      // anonymous writes are refused, as NGSI-LD JSON
      const anon = await call(sen, "POST", "/ngsi-ld/v1/entities", { body: station("urn:ngsi-ld:WaterObserved:anon", 1) });
      expect(anon.statusCode).toBe(401);
      expect(anon.headers["content-type"]).toMatch(/^application\/json/);
      expect((await call(sen, "DELETE", "/api/context/public-types/WaterObserved", { token: admin })).statusCode).toBe(204);
      expect((await call(sen, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:b1")).statusCode).toBe(404);
    });
  });
}
