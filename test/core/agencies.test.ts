// Agencies: the province's departments and its communes' people's committees, loaded on first start.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestSen, auth, dbTargets, startSen } from "../helpers.ts";

for (const target of dbTargets()) {
  describe(`agencies on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    beforeAll(async () => {
      sen = await startSen(target);
      admin = await sen.login();
    });
    afterAll(() => sen?.dispose());

    it("has one people's committee per commune and the provincial departments", async () => {
      const communes = (await sen.app.inject({ url: "/api/agencies?kind=commune", headers: auth(admin) })).json();
      expect(communes).toHaveLength(102);
      const caoLanh = communes.find((a: { unitCode: string }) => a.unitCode === "29869");
      expect(caoLanh).toMatchObject({ code: "UBND-29869", name: "Ủy ban nhân dân Phường Cao Lãnh", parentCode: "UBND-82" });
      const all = (await sen.app.inject({ url: "/api/agencies", headers: auth(admin) })).json();
      const codes = all.map((a: { code: string }) => a.code);
      expect(codes).toEqual(expect.arrayContaining(["UBND-82", "SYT", "SNNMT", "SGDDT", "TTCDS"]));
      const province = all.find((a: { code: string }) => a.code === "UBND-82");
      expect(province.name).toBe("Ủy ban nhân dân Tỉnh Đồng Tháp");
      expect((await sen.app.inject({ url: "/api/agencies/SYT", headers: auth(admin) })).json().nameEn).toBe("Department of Health");
      expect((await sen.app.inject({ url: "/api/agencies/NOPE", headers: auth(admin) })).statusCode).toBe(404);
    });

    it("an admin adds and renames an agency; both are audited; a taken code is refused", async () => {
      const made = await sen.app.inject({
        method: "POST",
        url: "/api/agencies",
        headers: auth(admin),
        payload: { code: "bqlkkt", name: "Ban Quản lý các Khu kinh tế", nameEn: "Economic Zones Authority", kind: "department" },
      });
      expect(made.statusCode, made.body).toBe(201);
      expect(made.json()).toMatchObject({ code: "BQLKKT", parentCode: null, active: true });
      const again = await sen.app.inject({
        method: "POST",
        url: "/api/agencies",
        headers: auth(admin),
        payload: { code: "BQLKKT", name: "x", nameEn: "x", kind: "other" },
      });
      expect(again.statusCode).toBe(409);
      const renamed = await sen.app.inject({
        method: "PATCH",
        url: "/api/agencies/BQLKKT",
        headers: auth(admin),
        payload: { parentCode: "UBND-82", active: false },
      });
      expect(renamed.json()).toMatchObject({ parentCode: "UBND-82", active: false, name: "Ban Quản lý các Khu kinh tế" });
      const actions = await sen.services.db.query<{ action: string }>("SELECT action FROM core.audit_log WHERE target_id = 'BQLKKT' ORDER BY id");
      expect(actions.map((a) => a.action)).toEqual(["agency.create", "agency.update"]);
    });

    it("lists roles with their permissions", async () => {
      const roles = (await sen.app.inject({ url: "/api/roles", headers: auth(admin) })).json();
      expect(roles.map((r: { role: string }) => r.role)).toEqual(["admin", "operator", "agency_officer", "publisher", "citizen"]);
      expect(roles.find((r: { role: string }) => r.role === "citizen").permissions).toEqual([]);
    });
  });
}
