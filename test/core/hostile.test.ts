// Every route of the API, attacked the way a hostile client would: no token, a wrong token, the
// wrong role, malformed JSON, wrong types, missing fields, oversized bodies and injection strings.
// Each attempt must get a 4xx problem+json and write nothing; denials are in the audit trail.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestSen, auth, dbTargets, startSen } from "../helpers.ts";

interface Operation {
  method: string;
  path: string;
  access: string;
  params: Array<{ name: string; in: string; schema?: { type?: string } }>;
  body?: { properties?: Record<string, { type?: string }>; required?: string[] };
}

const INJECTIONS = [
  "' OR '1'='1' --",
  "1; DROP TABLE core.users; --",
  "<script>alert(1)</script>",
  "../../../../etc/passwd",
  "$" + "{7*7}{{7*7}}",
  "%00\u0000",
  "x".repeat(5000),
];

// Tables a rejected request must leave alone.
const TABLES = ["core.users", "core.sessions", "core.api_keys", "core.agencies", "geo.units"];

/**
 * The error format each API speaks: RFC 9457 problem+json, except where a standard demands its
 * own (NGSI-LD ProblemDetails as application/json, CKAN's envelope, Open311's error array).
 */
function errorType(path: string): RegExp {
  if (path.startsWith("/ngsi-ld/") || path.startsWith("/api/3/") || path.startsWith("/open311/")) return /^application\/json/;
  return /application\/problem\+json/;
}

function operations(doc: { paths: Record<string, Record<string, Record<string, unknown>>> }): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const content = (op.requestBody as { content?: Record<string, { schema: Operation["body"] }> } | undefined)?.content;
      ops.push({
        method: method.toUpperCase(),
        path,
        access: String(op["x-access"]),
        params: (op.parameters as Operation["params"]) ?? [],
        body: content?.["application/json"]?.schema,
      });
    }
  }
  return ops;
}

const fill = (path: string, value: string) => path.replace(/\{[^}]+\}/g, encodeURIComponent(value));

for (const target of dbTargets()) {
  describe(`hostile input on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    let citizen: string;
    let ops: Operation[];
    const counts = async () => Promise.all(TABLES.map((t) => sen.count(t)));

    beforeAll(async () => {
      sen = await startSen(target);
      admin = await sen.login();
      await sen.app.inject({
        method: "POST",
        url: "/api/users",
        headers: auth(admin),
        payload: { username: "citizen1", displayName: "Citizen", password: "citizen-pass-1", roles: ["citizen"] },
      });
      citizen = await sen.login("citizen1", "citizen-pass-1");
      ops = operations((await sen.app.inject({ url: "/api/openapi.json" })).json());
    });
    afterAll(() => sen?.dispose());

    it("every route declares who may call it", () => {
      expect(ops.length).toBeGreaterThan(15);
      for (const op of ops) expect(op.access, `${op.method} ${op.path}`).toMatch(/^(public|authenticated|[a-z]+:[a-z]+)$/);
      const protectedOps = ops.filter((o) => o.access !== "public").map((o) => `${o.method} ${o.path}`);
      expect(protectedOps).toEqual(expect.arrayContaining(["GET /api/users", "POST /api/users", "GET /api/audit", "POST /api/apikeys", "GET /api/events"]));
    });

    it("no token, a wrong token, a revoked one → 401, recorded in the audit trail", async () => {
      for (const op of ops.filter((o) => o.access !== "public")) {
        const url = fill(op.path, "00000000-0000-0000-0000-000000000000");
        for (const headers of [
          {},
          { authorization: "Bearer not-a-real-token" },
          { "x-api-key": "sen_000000000000_forged" },
          { authorization: "Basic YWRtaW46YWRtaW4=" },
        ]) {
          const before = await sen.count("core.audit_log");
          const res = await sen.app.inject({ method: op.method as "GET", url, headers, payload: op.body ? {} : undefined });
          expect(res.statusCode, `${op.method} ${url} ${JSON.stringify(headers)}`).toBe(401);
          expect(res.headers["content-type"], `${op.method} ${url}`).toMatch(errorType(op.path));
          // The web's session probe without any credential is the one refusal not worth recording.
          if (op.path === "/api/auth/me" && Object.keys(headers).length === 0) {
            expect(await sen.count("core.audit_log")).toBe(before);
            continue;
          }
          const last = await sen.services.db.one<{ action: string; outcome: string; details: { path: string } }>(
            "SELECT action, outcome, details FROM core.audit_log ORDER BY id DESC LIMIT 1",
          );
          expect(await sen.count("core.audit_log")).toBe(before + 1);
          expect(last).toMatchObject({ action: "auth.denied", outcome: "denied", details: { path: url.split("?")[0] } });
        }
      }
    });

    it("the wrong role → 403, recorded in the audit trail, nothing changed", async () => {
      const before = await counts();
      for (const op of ops.filter((o) => o.access !== "public" && o.access !== "authenticated")) {
        const url = fill(op.path, "00000000-0000-0000-0000-000000000000");
        const res = await sen.app.inject({ method: op.method as "GET", url, headers: auth(citizen), payload: op.body ? {} : undefined });
        expect(res.statusCode, `${op.method} ${url}`).toBe(403);
        const last = await sen.services.db.one<{ action: string; actor_name: string }>(
          "SELECT action, actor_name FROM core.audit_log ORDER BY id DESC LIMIT 1",
        );
        expect(last).toEqual({ action: "access.denied", actor_name: "citizen1" });
      }
      expect(await counts()).toEqual(before);
    });

    it("malformed JSON, wrong types, missing fields and 10 MB bodies → 4xx problem, nothing written", async () => {
      const before = await counts();
      const auditBefore = await sen.count("core.audit_log");
      const big = JSON.stringify({ username: "a".repeat(10 * 1024 * 1024) });
      for (const op of ops.filter((o) => o.body)) {
        const url = fill(op.path, "00000000-0000-0000-0000-000000000000");
        const send = (payload: string, type = "application/json") =>
          sen.app.inject({ method: op.method as "POST", url, headers: { ...auth(admin), "content-type": type }, payload });
        const wrongTypes = Object.fromEntries(Object.keys(op.body?.properties ?? {}).map((k) => [k, { nested: [1, 2, 3] }]));
        const attempts: Array<[string, string, string?]> = [
          ["malformed", '{"username": "x",'],
          ["not an object", "[1,2,3]"],
          ["wrong types", JSON.stringify(wrongTypes)],
          ["numbers for strings", JSON.stringify(Object.fromEntries(Object.keys(wrongTypes).map((k) => [k, 12345])))],
          ["oversized", big],
          ["xml", "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>", "application/xml"],
        ];
        if (op.body?.required?.length) attempts.push(["missing fields", "{}"]);
        for (const [what, payload, type] of attempts) {
          const res = await send(payload, type);
          expect(res.statusCode, `${op.method} ${url} ${what}: ${res.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
          expect(res.statusCode, `${op.method} ${url} ${what}`).toBeLessThan(500);
          expect(res.headers["content-type"], `${op.method} ${url} ${what}`).toMatch(errorType(op.path));
          const body = res.json();
          if (errorType(op.path).source.includes("problem")) {
            expect(body.status).toBe(res.statusCode);
            expect(body.detail).toBeTruthy();
            expect(body.requestId).toBe(res.headers["x-request-id"]);
          } else expect(JSON.stringify(body).length, `${op.method} ${url} ${what}: an error that says what is wrong`).toBeGreaterThan(20);
          if (what === "oversized") expect(res.statusCode).toBe(413);
          if (what === "xml") expect(res.statusCode).toBe(415);
        }
      }
      expect(await counts()).toEqual(before);
      // Validation failures are not security events: only login attempts may have been recorded.
      const added = await sen.services.db.query<{ action: string }>("SELECT action FROM core.audit_log WHERE id > $1", [auditBefore]);
      expect(added.map((r) => r.action).filter((a) => a !== "auth.login")).toEqual([]);
    });

    it("text no database can store (a lone surrogate, NUL) in a valid body → 400, nothing written", async () => {
      // JSON can spell both; PostgreSQL refuses them in jsonb and turns a surrogate into U+FFFD in text.
      for (const name of ["Trạm \\ud800", "Trạm \\udc00 B", "Trạm \\u0000"]) {
        const res = await sen.app.inject({
          method: "POST",
          url: "/api/devices",
          headers: { ...auth(admin), "content-type": "application/json" },
          payload: `{"id":"unstorable-1","name":"${name}","profileId":"water-level-station","lat":10.46,"lon":105.63}`,
        });
        expect(res.statusCode, res.body).toBe(400);
        expect(res.json()).toMatchObject({ type: "urn:sen:problem:malformed-json", detail: expect.stringMatching(/lone surrogate/) });
      }
      expect((await sen.app.inject({ url: "/api/devices/unstorable-1", headers: auth(admin) })).statusCode).toBe(404);
      // A pair that spells one character is text like any other.
      const pair = await sen.app.inject({
        method: "POST",
        url: "/api/devices",
        headers: { ...auth(admin), "content-type": "application/json" },
        payload: '{"id":"storable-1","name":"Trạm \\ud83c\\udf0a","profileId":"water-level-station","lat":10.46,"lon":105.63}',
      });
      expect(pair.statusCode, pair.body).toBe(201);
      expect(pair.json().device.name).toBe("Trạm 🌊");
    });

    it("injection strings in every string parameter and field → never a 5xx, never a write", async () => {
      const before = await counts();
      for (const op of ops) {
        for (const bad of INJECTIONS) {
          // Path parameters
          if (op.path.includes("{")) {
            const url = fill(op.path, bad);
            const res = await sen.app.inject({ method: op.method as "GET", url, headers: auth(admin), payload: op.body ? {} : undefined });
            expect(res.statusCode, `${op.method} ${url.slice(0, 100)}`).toBeGreaterThanOrEqual(400);
            expect(res.statusCode, `${op.method} ${url.slice(0, 100)}`).toBeLessThan(500);
          }
          // Query parameters
          for (const p of op.params.filter((x) => x.in === "query")) {
            const url = `${fill(op.path, "29869")}?${p.name}=${encodeURIComponent(bad)}`;
            if (op.path === "/api/events") continue; // a valid query opens a stream; covered in events tests
            const res = await sen.app.inject({ method: op.method as "GET", url, headers: auth(admin) });
            expect(res.statusCode, `${op.method} ${url.slice(0, 120)}`).toBeLessThan(500);
            if (res.statusCode >= 400) expect(res.headers["content-type"], `${op.method} ${url.slice(0, 120)}`).toMatch(errorType(op.path));
          }
          // Body fields, one at a time
          for (const [name, schema] of Object.entries(op.body?.properties ?? {})) {
            if (schema.type !== "string" && schema.type !== undefined) continue;
            const url = fill(op.path, "00000000-0000-0000-0000-000000000000");
            const res = await sen.app.inject({ method: op.method as "POST", url, headers: auth(admin), payload: { [name]: bad } });
            expect(res.statusCode, `${op.method} ${url} ${name}=${bad.slice(0, 30)}`).toBeGreaterThanOrEqual(400);
            expect(res.statusCode).toBeLessThan(500);
          }
        }
      }
      expect(await counts()).toEqual(before.map((n, i) => (TABLES[i] === "core.sessions" ? expect.any(Number) : n)));
      // The tables survived.
      expect(await sen.count("core.users")).toBeGreaterThanOrEqual(2);
    });

    it("unknown routes and methods → 404 problem+json", async () => {
      for (const [method, url] of [
        ["GET", "/api/does-not-exist"],
        ["POST", "/api/users/x/y/z"],
        ["DELETE", "/api/geo/units"],
        ["GET", "/ogc/collections/communes/items/99999/extra"],
        ["PUT", "/"],
      ] as const) {
        const res = await sen.app.inject({ method, url, headers: auth(admin) });
        expect(res.statusCode, `${method} ${url}`).toBe(404);
        expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
      }
    });
  });
}
