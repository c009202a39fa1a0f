// Hostile input against the NGSI-LD API: every attempt gets an NGSI-LD ProblemDetails answer and
// leaves nothing written.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mulberry32 } from "../../src/iot/simulator.ts";
import { type TestSen, dbTargets, startSen } from "../helpers.ts";
import { LD, call, station } from "./util.ts";

for (const target of dbTargets()) {
  describe(`NGSI-LD hostile input on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    beforeAll(async () => {
      sen = await startSen(target);
      admin = await sen.login();
      expect((await call(sen, "POST", "/ngsi-ld/v1/entities", { token: admin, body: station("urn:ngsi-ld:WaterObserved:h1", 1) })).statusCode).toBe(201);
    });
    afterAll(() => sen?.dispose());

    const state = async () => [await sen.count("context.entities"), await sen.count("context.attr_history"), await sen.count("context.subscriptions")];
    const problem = (res: { statusCode: number; body: string; headers: Record<string, unknown>; json(): { type: string } }, type: string, status: number) => {
      expect(res.statusCode, res.body).toBe(status);
      expect(res.headers["content-type"]).toMatch(/^application\/json/);
      expect(res.json().type).toBe(`https://uri.etsi.org/ngsi-ld/errors/${type}`);
    };

    it("refuses malformed bodies, JSON-LD and contexts, writing nothing", async () => {
      const before = await state();
      const post = (body: unknown, type?: string, headers?: Record<string, string>) =>
        call(sen, "POST", "/ngsi-ld/v1/entities", { token: admin, body, type, headers });
      problem(await post('{"id": "urn:x:1", "type": '), "InvalidRequest", 400);
      problem(await call(sen, "GET", "/ngsi-ld/v1/nothing/here"), "ResourceNotFound", 404);
      problem(await post('{"id":"urn:x:1","type":"T","__proto__":{"admin":true}}'), "InvalidRequest", 400);
      problem(await post({ id: "urn:x:1", type: "T", "@context": "https://example.org/ctx.jsonld" }, LD), "LdContextNotAvailable", 503);
      problem(await post({ id: "urn:x:1", type: "T", "@context": [{ a: 5 }] }, LD), "BadRequestData", 400);
      problem(await post({ id: "urn:x:1", type: "T", "@context": 42 }, LD), "BadRequestData", 400);
      problem(
        await post({ id: "urn:x:1", type: "T" }, "application/json", { link: '<http://169.254.169.254/latest>; rel="http://www.w3.org/ns/json-ld#context"' }),
        "LdContextNotAvailable",
        503,
      );
      problem(await post({ id: "urn:x:1", type: "T", a: { type: "Property" } }), "BadRequestData", 400);
      problem(await post({ id: "urn:x:1", type: "T", a: { type: "Bogus", value: 1 } }), "BadRequestData", 400);
      problem(
        await post({ id: "urn:x:1", type: "T", location: { type: "GeoProperty", value: { type: "Point", coordinates: [500, 1] } } }),
        "BadRequestData",
        400,
      );
      problem(await post({ id: "urn:x:1", type: "T", r: { type: "Relationship", object: "not a uri" } }), "BadRequestData", 400);
      problem(await post({ id: "not a uri", type: "T" }), "BadRequestData", 400);
      problem(await post({ id: "urn:x:1", type: "T", a: "nul\u0000" }), "BadRequestData", 400);
      // JSON can spell a lone surrogate, which no UTF-8 text holds: the database would refuse it.
      problem(await post('{"id":"urn:x:1","type":"T","a":"\\ud800"}'), "BadRequestData", 400);
      problem(await post('{"id":"urn:x:1","type":"T","a":{"type":"Property","value":{"\\udc00k":1}}}'), "BadRequestData", 400);
      const lone = '{"waterLevel":{"type":"Property","value":"\\ud800"}}';
      problem(await call(sen, "PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:h1/attrs", { token: admin, body: lone }), "BadRequestData", 400);
      problem(await post({ id: "urn:x:1", type: "T", "bad name": 1 }), "BadRequestData", 400);
      problem(await post({ id: "urn:x:1", type: "T'; DROP TABLE context.entities; --" }), "BadRequestData", 400);
      // deep nesting: in a value, and in sub-attributes
      const deep = `{"id":"urn:x:1","type":"T","a":{"type":"Property","value":${"[".repeat(5000)}1${"]".repeat(5000)}}}`;
      problem(await post(deep), "BadRequestData", 400);
      let sub: Record<string, unknown> = { type: "Property", value: 1 };
      for (let i = 0; i < 10; i++) sub = { type: "Property", value: 1, s: sub };
      problem(await post({ id: "urn:x:1", type: "T", a: sub }), "BadRequestData", 400);
      // 10,000 attributes
      const big: Record<string, unknown> = { id: "urn:x:big", type: "T" };
      for (let i = 0; i < 10_000; i++) big[`a${i}`] = i;
      problem(await post(big), "BadRequestData", 400);
      // … also when they arrive bit by bit
      const many: Record<string, unknown> = {};
      for (let i = 0; i < 1001; i++) many[`m${i}`] = i;
      problem(await call(sen, "POST", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:h1/attrs", { token: admin, body: many }), "BadRequestData", 400);
      // batches with poison
      problem(
        await call(sen, "POST", "/ngsi-ld/v1/entityOperations/create", {
          token: admin,
          body: Array.from({ length: 1001 }, (_, i) => ({ id: `urn:x:${i}`, type: "T" })),
        }),
        "BadRequestData",
        400,
      );
      expect(await state()).toEqual(before);
      // the entity is unchanged
      expect((await call(sen, "GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:WaterObserved:h1?options=keyValues", { token: admin })).json()).toMatchObject({
        waterLevel: 1,
      });
    });

    it("answers fuzzed q strings and catastrophic regexes with BadRequestData only", async () => {
      const rand = mulberry32(4);
      const chars = [..."();|=<>!~.,[]\"'\\$-:aZ09 %_*+?{}"];
      for (let i = 0; i < 200; i++) {
        const q = Array.from({ length: 1 + Math.floor(rand() * 30) }, () => chars[Math.floor(rand() * chars.length)]).join("");
        const res = await call(sen, "GET", `/ngsi-ld/v1/entities?type=WaterObserved&q=${encodeURIComponent(q)}`, { token: admin });
        expect([200, 400], q).toContain(res.statusCode);
        if (res.statusCode === 400) expect(res.json().type, q).toBe("https://uri.etsi.org/ngsi-ld/errors/BadRequestData");
      }
      for (const re of ["(a+)+$", "(x|xx)*y", "(.*a){20}", "[", "a{2,99999}"]) {
        const res = await call(sen, "GET", `/ngsi-ld/v1/entities?type=WaterObserved&q=${encodeURIComponent(`name~="${re}"`)}`, { token: admin });
        problem(res, "BadRequestData", 400);
        const pattern = await call(sen, "GET", `/ngsi-ld/v1/entities?idPattern=${encodeURIComponent(re)}`, { token: admin });
        expect(pattern.statusCode, re).toBe(400);
      }
      // a regex PostgreSQL refuses is BadRequestData, not a 500
      problem(
        await call(sen, "GET", `/ngsi-ld/v1/entities?type=WaterObserved&q=${encodeURIComponent('name~="\\\\p{L}"')}`, { token: admin }),
        "BadRequestData",
        400,
      );
    });

    it("refuses wrong tokens, foreign tenants and hostile subscriptions", async () => {
      const res = await call(sen, "POST", "/ngsi-ld/v1/entities", { token: "nope", body: station("urn:x:t", 1) });
      expect(res.statusCode).toBe(401);
      const officer = await sen.app.inject({
        method: "POST",
        url: "/api/users",
        headers: { authorization: `Bearer ${admin}` },
        payload: { username: "ctx.officer", password: "officer-password-1", roles: ["agency_officer"], agency: "SNNMT", displayName: "Officer" },
      });
      expect(officer.statusCode, officer.body).toBe(201);
      const token = await sen.login("ctx.officer", "officer-password-1");
      const foreign = await call(sen, "POST", "/ngsi-ld/v1/entities", { token, body: station("urn:x:t", 1), headers: { "ngsild-tenant": "SYT" } });
      expect(foreign.statusCode).toBe(403);
      const own = await call(sen, "POST", "/ngsi-ld/v1/entities", { token, body: station("urn:x:own", 1), headers: { "ngsild-tenant": "SNNMT" } });
      expect(own.statusCode).toBe(201);
      await call(sen, "DELETE", "/ngsi-ld/v1/entities/urn:x:own", { token, headers: { "ngsild-tenant": "SNNMT" } });
      const before = await state();
      for (const sub of [
        { type: "Subscription", entities: [{ type: "T" }], notification: { endpoint: { uri: "file:///etc/passwd" } } },
        {
          type: "Subscription",
          entities: [{ type: "T" }],
          notification: { endpoint: { uri: "http://x", receiverInfo: [{ key: "X-A", value: "a\r\nInjected: 1" }] } },
        },
        { type: "Subscription", entities: [{ type: "T" }], q: "a==(", notification: { endpoint: { uri: "http://x" } } },
        { type: "Subscription", entities: [{ type: "T", idPattern: "(a+)+" }], notification: { endpoint: { uri: "http://x" } } },
        { type: "Subscription", entities: [{ type: "T" }], expiresAt: "2000-01-01T00:00:00Z", notification: { endpoint: { uri: "http://x" } } },
        { type: "Subscription", notification: { endpoint: { uri: "http://x" } } },
      ])
        problem(await call(sen, "POST", "/ngsi-ld/v1/subscriptions", { token: admin, body: sub }), "BadRequestData", 400);
      expect(await state()).toEqual(before);
    });
  });
}
