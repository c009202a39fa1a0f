// The HTTP surface every client meets: the API description, security headers, request ids, errors as
// RFC 9457 problems, compression, CORS and body limits.
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestSen, dbTargets, startSen } from "../helpers.ts";

const problemType = /^application\/problem\+json/;

for (const target of dbTargets()) {
  describe(`HTTP surface on ${target.name}`, () => {
    let sen: TestSen;
    beforeAll(async () => {
      sen = await startSen(target);
    });
    afterAll(() => sen?.dispose());

    it("publishes an OpenAPI 3.1 description of the API with its security schemes", async () => {
      const res = await sen.app.inject({ url: "/api/openapi.json" });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toMatch(/json/);
      const doc = res.json();
      expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
      expect(doc.paths["/api/auth/login"]?.post).toBeDefined();
      expect(doc.paths["/api/geo/locate"]?.get).toBeDefined();
      expect(doc.paths["/api/audit"]?.get).toBeDefined();
      const schemes = Object.values(doc.components?.securitySchemes ?? {}) as Array<{ type: string; scheme?: string; in?: string; name?: string }>;
      expect(schemes.some((s) => s.type === "http" && s.scheme === "bearer")).toBe(true);
      expect(schemes.some((s) => s.type === "apiKey" && s.in === "header" && s.name === "X-API-Key")).toBe(true);
    });

    it("serves interactive API docs as HTML", async () => {
      let res = await sen.app.inject({ url: "/api/docs" });
      for (let hops = 0; res.statusCode >= 300 && res.statusCode < 400 && hops < 5; hops++) {
        res = await sen.app.inject({ url: new URL(String(res.headers.location), "http://localhost/api/docs").pathname });
      }
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^text\/html/);
      expect(res.body).toMatch(/<html/i);
    });

    it("sends security headers on JSON, problem and HTML responses", async () => {
      for (const url of ["/api/health", "/api/no-such-thing", "/api/docs/", "/ogc"]) {
        const res = await sen.app.inject({ url });
        const csp = String(res.headers["content-security-policy"] ?? "");
        expect(csp, url).toContain("default-src");
        expect(res.headers["x-content-type-options"], url).toBe("nosniff");
        expect(Boolean(res.headers["x-frame-options"]) || /frame-ancestors/.test(csp), url).toBe(true);
        expect(res.headers["referrer-policy"], url).toBeTruthy();
      }
    });

    it("gives every response an X-Request-Id, and problems carry the same requestId", async () => {
      const requests = [
        { url: "/api/health" },
        { url: "/api/no-such-thing" },
        { url: "/api/geo/locate?lat=abc&lon=1" },
        { url: "/api/audit" },
        { method: "POST" as const, url: "/api/auth/login", payload: { username: "admin", password: "wrong-password" } },
      ];
      const ids = new Set<string>();
      for (const r of requests) {
        const res = await sen.app.inject(r);
        const id = res.headers["x-request-id"];
        expect(typeof id === "string" && id.length >= 8, r.url).toBe(true);
        ids.add(String(id));
        if (res.statusCode >= 400) {
          expect(res.headers["content-type"], r.url).toMatch(problemType);
          expect(res.json().requestId, r.url).toBe(id);
        }
      }
      expect(ids.size).toBe(requests.length);
      // A caller's own request id (e.g. from a gateway) is kept.
      const given = "gw-7f3a9c21-req";
      const res = await sen.app.inject({ url: "/api/no-such-thing", headers: { "x-request-id": given } });
      expect(res.headers["x-request-id"]).toBe(given);
      expect(res.json().requestId).toBe(given);
    });

    it("answers unknown routes with a 404 problem, whatever the method", async () => {
      for (const method of ["GET", "POST", "DELETE"] as const) {
        for (const url of ["/api/no-such-thing", "/ogc/no-such-thing"]) {
          const res = await sen.app.inject({ method, url, ...(method === "POST" ? { payload: {} } : {}) });
          expect(res.statusCode, `${method} ${url}`).toBe(404);
          expect(res.headers["content-type"], `${method} ${url}`).toMatch(problemType);
          expect(res.json(), `${method} ${url}`).toMatchObject({ status: 404, instance: url });
        }
      }
    });

    it("compresses large responses for clients that accept gzip", async () => {
      const url = "/ogc/collections/communes/items?limit=200";
      const res = await sen.app.inject({ url, headers: { "accept-encoding": "gzip" } });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-encoding"]).toBe("gzip");
      const body = JSON.parse(gunzipSync(res.rawPayload).toString("utf8"));
      expect(body).toMatchObject({ numberMatched: 102, numberReturned: 102 });
      const plain = await sen.app.inject({ url });
      expect(plain.headers["content-encoding"]).toBeUndefined();
      expect(plain.json().numberReturned).toBe(102);
    });

    it("does not allow cross-origin calls unless configured", async () => {
      const origin = "https://portal.example.vn";
      const res = await sen.app.inject({ url: "/api/health", headers: { origin } });
      expect(res.statusCode).toBe(200);
      expect(res.headers["access-control-allow-origin"]).toBeUndefined();
      const preflight = await sen.app.inject({ method: "OPTIONS", url: "/api/auth/login", headers: { origin, "access-control-request-method": "POST" } });
      expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
    });

    it("refuses a 10 MB body with a 413 problem and signs nobody in", async () => {
      const sessions = await sen.count("core.sessions");
      const payload = JSON.stringify({ username: "admin", password: "x".repeat(10 * 1024 * 1024) });
      const res = await sen.app.inject({ method: "POST", url: "/api/auth/login", headers: { "content-type": "application/json" }, payload });
      expect(res.statusCode).toBe(413);
      expect(res.headers["content-type"]).toMatch(problemType);
      expect(res.json()).toMatchObject({ status: 413 });
      expect(await sen.count("core.sessions")).toBe(sessions);
    });

    it("answers malformed JSON with a 400 malformed-json problem", async () => {
      const res = await sen.app.inject({
        method: "POST",
        url: "/api/auth/login",
        headers: { "content-type": "application/json" },
        payload: '{"username": "admin", ',
      });
      expect(res.statusCode).toBe(400);
      expect(res.headers["content-type"]).toMatch(problemType);
      expect(res.json().type).toMatch(/malformed-json$/);
    });

    it("answers a body of the wrong content type with a 415 problem", async () => {
      for (const type of ["text/plain", "application/xml"]) {
        const res = await sen.app.inject({ method: "POST", url: "/api/auth/login", headers: { "content-type": type }, payload: "username=admin&password=x" });
        expect(res.statusCode, type).toBe(415);
        expect(res.headers["content-type"], type).toMatch(problemType);
        expect(res.json(), type).toMatchObject({ status: 415 });
      }
    });
  });

  describe(`CORS for configured origins on ${target.name}`, () => {
    const allowed = "https://portal.example.vn";
    let sen: TestSen;
    beforeAll(async () => {
      sen = await startSen(target, { SEN_CORS_ORIGINS: allowed });
    });
    afterAll(() => sen?.dispose());

    it("allows the configured origin", async () => {
      const res = await sen.app.inject({ url: "/api/health", headers: { origin: allowed } });
      expect(res.statusCode).toBe(200);
      expect(res.headers["access-control-allow-origin"]).toBe(allowed);
      const preflight = await sen.app.inject({
        method: "OPTIONS",
        url: "/api/auth/login",
        headers: { origin: allowed, "access-control-request-method": "POST" },
      });
      expect(preflight.statusCode).toBeLessThan(300);
      expect(preflight.headers["access-control-allow-origin"]).toBe(allowed);
      expect(String(preflight.headers["access-control-allow-methods"])).toContain("POST");
    });

    it("does not allow any other origin", async () => {
      for (const origin of ["https://evil.example.com", "https://portal.example.vn.evil.example.com"]) {
        const res = await sen.app.inject({ url: "/api/health", headers: { origin } });
        expect(res.headers["access-control-allow-origin"], origin).toBeUndefined();
        const preflight = await sen.app.inject({ method: "OPTIONS", url: "/api/auth/login", headers: { origin, "access-control-request-method": "POST" } });
        expect(preflight.headers["access-control-allow-origin"], origin).toBeUndefined();
      }
    });
  });
}
