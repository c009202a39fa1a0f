// Sen remembers a resolved credential for a few seconds so API clients do not cost a database read
// per request. Revoking must still take effect at once: in the process that revoked, and in every
// other Sen process on the same PostgreSQL database.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sen, createSen } from "../../src/app.ts";
import { openDb } from "../../src/core/db.ts";
import { type TestSen, auth, dbTargets, startSen, testConfig } from "../helpers.ts";

for (const target of dbTargets()) {
  describe(`remembered credentials on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    beforeAll(async () => {
      sen = await startSen(target);
      admin = await sen.login();
    }, 120_000);
    afterAll(() => sen?.dispose());

    const newKey = async () => {
      const res = await sen.app.inject({
        method: "POST",
        url: "/api/apikeys",
        headers: auth(admin),
        payload: { name: "cache-probe", permissions: ["audit:read"] },
      });
      expect(res.statusCode).toBe(201);
      return res.json() as { key: string; apiKey: { id: string } };
    };

    it("a key used a moment ago stops working the moment it is revoked", async () => {
      const { key, apiKey } = await newKey();
      for (let i = 0; i < 3; i++) expect((await sen.app.inject({ url: "/api/audit?limit=1", headers: { "x-api-key": key } })).statusCode).toBe(200);
      expect((await sen.app.inject({ method: "DELETE", url: `/api/apikeys/${apiKey.id}`, headers: auth(admin) })).statusCode).toBe(200);
      expect((await sen.app.inject({ url: "/api/audit?limit=1", headers: { "x-api-key": key } })).statusCode).toBe(401);
    });

    it("a role taken away applies to the very next request", async () => {
      const created = await sen.app.inject({
        method: "POST",
        url: "/api/users",
        headers: auth(admin),
        payload: { username: "auditor1", displayName: "Auditor", password: "correct-horse-1", roles: ["admin"], agency: "TTCDS" },
      });
      expect(created.statusCode).toBe(201);
      const token = await sen.login("auditor1", "correct-horse-1");
      expect((await sen.app.inject({ url: "/api/audit?limit=1", headers: auth(token) })).statusCode).toBe(200);
      const patch = await sen.app.inject({ method: "PATCH", url: `/api/users/${created.json().id}`, headers: auth(admin), payload: { roles: ["citizen"] } });
      expect(patch.statusCode).toBe(200);
      expect((await sen.app.inject({ url: "/api/audit?limit=1", headers: auth(token) })).statusCode).toBe(403);
    });

    it.skipIf(target.name !== "postgres")("a revocation on one Sen process reaches the others on the same database", async () => {
      const url = sen.databaseUrl as string;
      const db = await openDb({ url, poolSize: 2 });
      let other: Sen | undefined;
      try {
        other = await createSen({ config: testConfig({ DATABASE_URL: url }), db, web: false, logger: pino({ level: "silent" }) });
        const { key, apiKey } = await newKey();
        // The other process has resolved (and remembered) the key.
        expect((await other.app.inject({ url: "/api/audit?limit=1", headers: { "x-api-key": key } })).statusCode).toBe(200);
        expect((await sen.app.inject({ method: "DELETE", url: `/api/apikeys/${apiKey.id}`, headers: auth(admin) })).statusCode).toBe(200);
        // The revocation event arrives after commit and the key is refused from then on, well
        // before the few seconds an entry may be remembered (10 s) run out.
        let status = 200;
        for (let i = 0; i < 200 && status === 200; i++) {
          status = (await other.app.inject({ url: "/api/audit?limit=1", headers: { "x-api-key": key } })).statusCode;
          if (status === 200) await new Promise((r) => setTimeout(r, 25));
        }
        expect(status).toBe(401);
      } finally {
        await other?.app.close();
        await other?.services.bus.stop();
        await db.close();
      }
    });
  });
}
