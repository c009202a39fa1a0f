// The audit trail: a hash chain that shows the first entry someone altered or removed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestSen, auth, dbTargets, startSen } from "../helpers.ts";

for (const target of dbTargets()) {
  describe(`audit trail on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    beforeAll(async () => {
      sen = await startSen(target);
      admin = await sen.login();
      for (const name of ["an", "binh", "chi"]) {
        await sen.app.inject({
          method: "POST",
          url: "/api/users",
          headers: auth(admin),
          payload: { username: name, displayName: name, password: "password-for-test", roles: ["operator"], agency: "TTCDS" },
        });
      }
      await sen.app.inject({ url: "/api/users", headers: { authorization: "Bearer forged" } });
    });
    afterAll(() => sen?.dispose());

    it("records who did what, when, from where, with a request id", async () => {
      const res = await sen.app.inject({ url: "/api/audit?action=user.create", headers: auth(admin) });
      expect(res.statusCode).toBe(200);
      const entries = res.json().entries;
      const binh = entries.find((e: { details: { username: string } }) => e.details.username === "binh");
      expect(binh).toMatchObject({ actorType: "user", actorName: "admin", action: "user.create", targetType: "user", outcome: "success", ip: "127.0.0.1" });
      expect(binh.requestId).toMatch(/.{8,}/);
      expect(new Date(binh.at).getTime()).toBeGreaterThan(Date.now() - 600_000);
      expect(JSON.stringify(entries)).not.toContain("password-for-test");
    });

    it("filters and pages newest first", async () => {
      const denied = await sen.app.inject({ url: "/api/audit?outcome=denied", headers: auth(admin) });
      expect(denied.json().entries.length).toBeGreaterThanOrEqual(1);
      expect(denied.json().entries.every((e: { outcome: string }) => e.outcome === "denied")).toBe(true);
      const auth_ = await sen.app.inject({ url: "/api/audit?action=auth.*", headers: auth(admin) });
      expect(auth_.json().entries.every((e: { action: string }) => e.action.startsWith("auth."))).toBe(true);

      const p1 = (await sen.app.inject({ url: "/api/audit?limit=2", headers: auth(admin) })).json();
      expect(p1.entries).toHaveLength(2);
      expect(p1.entries[0].id).toBeGreaterThan(p1.entries[1].id);
      const p2 = (await sen.app.inject({ url: `/api/audit?limit=2&before=${p1.next}`, headers: auth(admin) })).json();
      expect(p2.entries[0].id).toBe(p1.entries[1].id - 1);
    });

    it("verifies an intact chain", async () => {
      const res = await sen.app.inject({ url: "/api/audit/verify", headers: auth(admin) });
      expect(res.json()).toMatchObject({ ok: true });
      expect(res.json().entries).toBe(await sen.count("core.audit_log"));
    });

    it("names the entry that was edited directly in the database", async () => {
      await sen.services.db.query("UPDATE core.audit_log SET actor_name = 'someone-else' WHERE id = 3");
      const r = await sen.services.audit.verify();
      expect(r).toMatchObject({ ok: false, badId: 3, entries: 2 });
      if (!r.ok) expect(r.reason).toMatch(/entry 3 was altered/);
    });

    it("names a removed entry, and a removed tail", async () => {
      const target = await sen.services.db.one<{ id: number; actor_name: string }>("SELECT id, actor_name FROM core.audit_log WHERE id = 3");
      expect(target).toBeTruthy();
      // Restore entry 3 by recomputing nothing: delete entry 5 instead and make 3 valid again is not
      // possible without the hash, so work on a fresh chain position: delete a later entry.
      await sen.services.db.query("DELETE FROM core.audit_log WHERE id >= 3 AND id <= 4");
      const mid = await sen.services.audit.verify();
      expect(mid).toMatchObject({ ok: false, badId: 3 });
      if (!mid.ok) expect(mid.reason).toMatch(/entry 3 is missing/);

      await sen.services.db.query("DELETE FROM core.audit_log WHERE id >= 3");
      const tail = await sen.services.audit.verify();
      expect(tail).toMatchObject({ ok: false, badId: 3 });
      if (!tail.ok) expect(tail.reason).toMatch(/removed/);
    });

    it("keeps ids gapless and the chain whole under concurrent writers", async () => {
      await sen.services.db.query("DELETE FROM core.audit_log");
      await sen.services.db.query("UPDATE core.audit_head SET last_id = 0, last_hash = repeat('0', 64)");
      await Promise.all(Array.from({ length: 40 }, (_, i) => sen.services.audit.record({ action: "test.concurrent", details: { i } })));
      const r = await sen.services.audit.verify();
      expect(r).toMatchObject({ ok: true, entries: 40 });
    });
  });
}
