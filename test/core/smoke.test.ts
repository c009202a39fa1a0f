import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestSen, auth, dbTargets, startSen } from "../helpers.ts";

for (const target of dbTargets()) {
  describe(`smoke on ${target.name}`, () => {
    let sen: TestSen;
    beforeAll(async () => {
      sen = await startSen(target);
    });
    afterAll(() => sen?.dispose());

    it("serves health and signs in the admin", async () => {
      const h = await sen.app.inject({ url: "/api/health" });
      expect(h.json()).toMatchObject({ status: "ok", database: { driver: target.name, ok: true } });
      const token = await sen.login();
      const me = await sen.app.inject({ url: "/api/auth/me", headers: auth(token) });
      expect(me.json()).toMatchObject({ type: "user", name: "admin", roles: ["admin"] });
    });
  });
}
