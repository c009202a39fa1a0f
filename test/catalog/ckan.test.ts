// The CKAN Action API as open-data clients use it: search with Vietnamese text and facets,
// packages, organisations, groups, tags, the datastore, write actions with an API key, and
// CKAN's envelope and statuses. An independent client (@portaljs/ckan-api-client-js) reads it.
import * as ckanClient from "@portaljs/ckan-api-client-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestSen, dbTargets, startSen } from "../helpers.ts";
import { action, addUploadResource, createDataset, publishFile, publisherKey } from "./support.ts";

const CSV = `Mã trạm,Tên trạm,Ngày,Mực nước (cm),Cảnh báo
TC01,Tân Châu,2025-10-01,412,false
TC01,Tân Châu,2025-10-02,430,true
CD02,Châu Đốc,2025-10-01,380,false
CD02,Châu Đốc,2025-10-02,395,false
CL03,Cao Lãnh,2025-10-01,210,false
`;

// The package is CommonJS with a default export: reach it the same way under Vite and Node.
type Options = { ckanUrl: string; apiKey?: string; json?: unknown };
const mod = ckanClient as unknown as { default: unknown; CkanRequestError: new (...a: never[]) => Error };
const CkanRequest = ((mod.default as { default?: unknown }).default ?? mod.default) as {
  get<T>(action: string, options: Options): Promise<T>;
  post<T>(action: string, options: Options): Promise<T>;
};
const CkanRequestError = mod.CkanRequestError ?? (mod.default as { CkanRequestError: typeof Error }).CkanRequestError;

for (const target of dbTargets()) {
  describe(`CKAN Action API on ${target.name}`, () => {
    let sen: TestSen;
    let key: string;
    let otherKey: string;
    let resourceId: string;
    beforeAll(async () => {
      sen = await startSen(target);
      key = await publisherKey(sen, "SNNMT");
      otherKey = await publisherKey(sen, "SKHCN");
      await createDataset(sen, key, {
        name: "muc-nuoc-song-tien",
        title: "Mực nước sông Tiền – ngập lụt Đồng Tháp",
        title_translated: { vi: "Mực nước sông Tiền – ngập lụt Đồng Tháp", en: "Tien River water levels – Dong Thap floods" },
        notes: "Số liệu quan trắc mực nước hằng ngày tại các trạm thủy văn.",
        owner_org: "SNNMT",
        tags: [{ name: "thủy văn" }, { name: "ngập lụt" }],
        groups: [{ name: "thoi-tiet-thuy-van" }],
        frequency: "DAILY",
        temporal_start: "2025-01-01",
        maintainer: "Phòng Thủy lợi",
        maintainer_email: "thuyloi@dongthap.gov.vn",
      });
      await createDataset(sen, key, { name: "diem-sat-lo", title: "Điểm sạt lở bờ sông", owner_org: "SNNMT", tags: ["sạt lở"], groups: ["moi-truong"] });
      await createDataset(sen, otherKey, {
        name: "truong-hoc",
        title: "Danh sách trường học",
        owner_org: "SKHCN",
        tags: ["giáo dục"],
        groups: ["giao-duc"],
        license_id: "cc0-1.0",
      });
      await createDataset(sen, key, { name: "ho-so-noi-bo", title: "Hồ sơ nội bộ ngập lụt", owner_org: "SNNMT", private: true });
      const pkg = (await action(sen, "package_show", undefined)).body;
      expect(pkg.success).toBe(false);
      resourceId = await addUploadResource(sen, key, "muc-nuoc-song-tien", "Mực nước 2025");
      const v = await publishFile(sen, key, resourceId, "muc-nuoc.csv", CSV);
      expect(v.status, v.error).toBe("ready");
    }, 120_000);
    afterAll(() => sen?.dispose());

    it("finds datasets without diacritics, ranked, with facets", async () => {
      for (const q of ["ngap lut", "Dong Thap", "NGẬP LỤT", "song tien"]) {
        const r = await action(sen, `package_search?q=${encodeURIComponent(q)}`);
        expect(r.status, q).toBe(200);
        expect(r.body.success).toBe(true);
        expect(r.body.result.results[0]?.name, q).toBe("muc-nuoc-song-tien");
      }
      // The private dataset matches "ngap lut" too, but strangers do not see it.
      const all = await action(sen, `package_search?q=ngap%20lut`);
      expect(all.body.result.results.map((d: { name: string }) => d.name)).not.toContain("ho-so-noi-bo");
      const facets = await action(
        sen,
        `package_search?facet.field=${encodeURIComponent('["organization","tags","groups","license_id","res_format"]')}&facet.limit=10&rows=0`,
      );
      const f = facets.body.result;
      expect(f.count).toBe(3);
      expect(f.results).toEqual([]);
      expect(f.facets.organization).toEqual({ SNNMT: 2, SKHCN: 1 });
      expect(f.facets.res_format).toEqual({ CSV: 1 });
      expect(f.facets.license_id).toEqual({ "cc-by-4.0": 2, "cc0-1.0": 1 });
      expect(f.search_facets.organization.items.find((i: { name: string }) => i.name === "SNNMT").display_name).toMatch(/Sở/);
      const fq = await action(sen, `package_search?fq=${encodeURIComponent('organization:SNNMT tags:"sạt lở"')}`);
      expect(fq.body.result.results.map((d: { name: string }) => d.name)).toEqual(["diem-sat-lo"]);
      const sorted = await action(sen, "package_search?sort=name%20asc&rows=2&start=1");
      expect(sorted.body.result.results.map((d: { name: string }) => d.name)).toEqual(["muc-nuoc-song-tien", "truong-hoc"]);
      expect(sorted.body.result.count).toBe(3);
      // The publisher's own private dataset, on request.
      const mine = await action(sen, "package_search", { q: "noi bo", include_private: true }, key);
      expect(mine.body.result.results.map((d: { name: string }) => d.name)).toEqual(["ho-so-noi-bo"]);
    });

    it("shows a package with CKAN's field names", async () => {
      const r = await action(sen, "package_show?id=muc-nuoc-song-tien");
      expect(r.status).toBe(200);
      expect(r.body.help).toMatch(/\/api\/3\/action\/help_show\?name=package_show$/);
      const p = r.body.result;
      expect(p).toMatchObject({
        name: "muc-nuoc-song-tien",
        type: "dataset",
        state: "active",
        private: false,
        license_id: "cc-by-4.0",
        isopen: true,
        owner_org: "SNNMT",
        organization: { name: "SNNMT", is_organization: true },
        maintainer_email: "thuyloi@dongthap.gov.vn",
        num_resources: 1,
        num_tags: 2,
        frequency: "DAILY",
        title_translated: { en: "Tien River water levels – Dong Thap floods" },
      });
      expect(p.tags.map((t: { name: string }) => t.name).sort()).toEqual(["ngập lụt", "thủy văn"]);
      expect(p.groups[0]).toMatchObject({ name: "thoi-tiet-thuy-van", title: "Thời tiết, thủy văn" });
      expect(p.resources[0]).toMatchObject({ id: resourceId, format: "CSV", datastore_active: true, url_type: "upload", datastore_rows: 5 });
      expect(p.metadata_modified).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      const byId = await action(sen, `package_show?id=${p.id}`);
      expect(byId.body.result.name).toBe("muc-nuoc-song-tien");
    });

    it("lists packages, organisations, groups and tags; shows resources; reports its status", async () => {
      expect((await action(sen, "package_list")).body.result).toEqual(["diem-sat-lo", "muc-nuoc-song-tien", "truong-hoc"]);
      const orgs = (await action(sen, "organization_list?all_fields=true")).body.result as Array<{ name: string; package_count: number }>;
      expect(orgs.find((o) => o.name === "SNNMT")?.package_count).toBe(2);
      expect((await action(sen, "organization_list")).body.result).toContain("SKHCN");
      const org = (await action(sen, "organization_show?id=SNNMT&include_datasets=true")).body.result;
      expect(org.packages.map((d: { name: string }) => d.name).sort()).toEqual(["diem-sat-lo", "muc-nuoc-song-tien"]);
      expect((await action(sen, "group_list")).body.result).toContain("moi-truong");
      const g = (await action(sen, "group_show?id=giao-duc&include_datasets=true")).body.result;
      expect(g).toMatchObject({ name: "giao-duc", package_count: 1 });
      expect((await action(sen, "tag_list")).body.result).toEqual(["giáo dục", "ngập lụt", "sạt lở", "thủy văn"]);
      expect((await action(sen, "tag_list?query=lu")).body.result).toEqual(["ngập lụt"]);
      expect((await action(sen, `resource_show?id=${resourceId}`)).body.result).toMatchObject({ id: resourceId, datastore_active: true });
      const st = (await action(sen, "status_show")).body.result;
      expect(st.ckan_version).toMatch(/^2\./);
      expect(st.extensions).toContain("datastore");
    });

    it("reads the datastore with filters, full text, fields, sort, paging and totals", async () => {
      const base = `datastore_search?resource_id=${resourceId}`;
      const all = (await action(sen, base)).body.result;
      expect(all.total).toBe(5);
      expect(all.fields).toEqual([
        { id: "_id", type: "int" },
        { id: "Mã trạm", type: "text" },
        { id: "Tên trạm", type: "text" },
        { id: "Ngày", type: "date" },
        { id: "Mực nước (cm)", type: "int" },
        { id: "Cảnh báo", type: "bool" },
      ]);
      expect(all.records[1]).toEqual({ _id: 2, "Mã trạm": "TC01", "Tên trạm": "Tân Châu", Ngày: "2025-10-02", "Mực nước (cm)": 430, "Cảnh báo": true });
      const filtered = (
        await action(
          sen,
          `${base}&filters=${encodeURIComponent(JSON.stringify({ "Mã trạm": ["TC01", "CL03"] }))}&sort=${encodeURIComponent("Mực nước (cm) desc")}`,
        )
      ).body.result;
      expect(filtered.total).toBe(3);
      expect(filtered.records.map((r: Record<string, unknown>) => r["Mực nước (cm)"])).toEqual([430, 412, 210]);
      const text = (await action(sen, `${base}&q=${encodeURIComponent("chau doc")}&fields=${encodeURIComponent("Tên trạm,Ngày")}`)).body.result;
      expect(text.records).toEqual([
        { _id: 3, "Tên trạm": "Châu Đốc", Ngày: "2025-10-01" },
        { _id: 4, "Tên trạm": "Châu Đốc", Ngày: "2025-10-02" },
      ]);
      const paged = (await action(sen, "datastore_search", { resource_id: resourceId, limit: 2, offset: 2, include_total: false })).body.result;
      expect(paged.records.map((r: { _id: number }) => r._id)).toEqual([3, 4]);
      expect(paged.total).toBeUndefined();
      expect(paged._links.next).toContain("offset=4");
      const bad = await action(sen, `${base}&filters=${encodeURIComponent(JSON.stringify({ "Mực nước (cm)": "cao" }))}`);
      expect(bad.status).toBe(409);
      expect(bad.body.error.__type).toBe("Validation Error");
      const unknown = await action(sen, `${base}&filters=${encodeURIComponent(JSON.stringify({ "'; DROP TABLE x; --": 1 }))}`);
      expect(unknown.status).toBe(409);
      expect(unknown.body.error.message).toMatch(/does not exist/);
      const sortInjection = await action(sen, `${base}&sort=${encodeURIComponent("_id; DROP TABLE catalog.datasets")}`);
      expect(sortInjection.status).toBe(409);
    });

    it("answers errors in CKAN's envelope with CKAN's statuses", async () => {
      const nf = await action(sen, "package_show?id=khong-co");
      expect(nf.status).toBe(404);
      expect(nf.body).toMatchObject({ success: false, error: { __type: "Not Found Error" } });
      const priv = await action(sen, "package_show?id=ho-so-noi-bo");
      expect(priv.status).toBe(404);
      expect((await action(sen, "package_show?id=ho-so-noi-bo", undefined, key)).status).toBe(200);
      expect((await action(sen, "package_show?id=ho-so-noi-bo", undefined, otherKey)).status).toBe(404);
      const anon = await action(sen, "package_create", { name: "x-y", owner_org: "SNNMT" });
      expect(anon.status).toBe(403);
      expect(anon.body.error.__type).toBe("Authorization Error");
      const foreign = await action(sen, "package_create", { name: "x-y", owner_org: "SNNMT" }, otherKey);
      expect(foreign.status).toBe(403);
      const taken = await action(sen, "package_create", { name: "truong-hoc", owner_org: "SKHCN" }, otherKey);
      expect(taken.status).toBe(409);
      expect(taken.body.error.__type).toBe("Validation Error");
      expect(taken.body.error.name).toBeDefined();
      const badName = await action(sen, "package_create", { name: "Tên có dấu!", owner_org: "SKHCN" }, otherKey);
      expect(badName.status).toBe(409);
      expect(badName.body.error.name[0]).toMatch(/lower-case/);
      const unknown = await action(sen, "no_such_action");
      expect(unknown.status).toBe(400);
      expect(unknown.body.success).toBe(false);
      const getWrite = await action(sen, "package_delete?id=truong-hoc");
      expect(getWrite.status).toBe(400);
      const wrongKey = await sen.app.inject({ url: "/api/3/action/status_show", headers: { authorization: "sen_nope_nope" } });
      expect(wrongKey.statusCode).toBe(401);
      const sql = await action(sen, `datastore_search_sql?sql=${encodeURIComponent(`SELECT * FROM "${resourceId}"`)}`);
      expect(sql.status).toBe(403);
      expect(sql.body.error.message).toMatch(/turned off/);
      expect(await sen.count("catalog.datasets")).toBe(4);
    });

    it("updates, patches and deletes packages with an API key", async () => {
      const created = await createDataset(sen, otherKey, { name: "tam-thoi", title: "Tạm thời", owner_org: "SKHCN", tags: ["a"], notes: "Ghi chú" });
      const patched = await action(sen, "package_patch", { id: created.id, title: "Đã sửa" }, otherKey);
      expect(patched.body.result).toMatchObject({ title: "Đã sửa", notes: "Ghi chú" });
      expect(patched.body.result.tags).toHaveLength(1);
      const updated = await action(sen, "package_update", { id: "tam-thoi", name: "tam-thoi", title: "Thay hết", owner_org: "SKHCN" }, otherKey);
      expect(updated.body.result).toMatchObject({ title: "Thay hết", notes: "" });
      expect(updated.body.result.tags).toEqual([]);
      expect((await action(sen, "package_delete", { id: "tam-thoi" }, key)).status).toBe(403);
      const del = await action(sen, "package_delete", { id: "tam-thoi" }, otherKey);
      expect(del.body).toMatchObject({ success: true, result: null });
      expect((await action(sen, "package_show?id=tam-thoi")).status).toBe(404);
      const link = await action(
        sen,
        "resource_create",
        { package_id: "truong-hoc", url: "https://example.gov.vn/truong.pdf", name: "Danh sách PDF", format: "PDF" },
        otherKey,
      );
      expect(link.body.result).toMatchObject({ url: "https://example.gov.vn/truong.pdf", format: "PDF", datastore_active: false });
    });

    it("is read by an independent CKAN client", async () => {
      await sen.app.listen({ port: 0, host: "127.0.0.1" });
      const { port } = sen.app.server.address() as { port: number };
      const ckanUrl = `http://127.0.0.1:${port}`;
      type R<T> = { success: boolean; result: T };
      const search = await CkanRequest.get<R<{ count: number; results: Array<{ name: string; resources: Array<{ id: string }> }> }>>(
        "package_search?q=ngap%20lut",
        { ckanUrl },
      );
      expect(search.success).toBe(true);
      expect(search.result.results[0].name).toBe("muc-nuoc-song-tien");
      const show = await CkanRequest.post<R<{ name: string; organization: { title: string } }>>("package_show", {
        ckanUrl,
        json: { id: "muc-nuoc-song-tien" },
      });
      expect(show.result.organization.title).toMatch(/Sở/);
      const rows = await CkanRequest.post<R<{ total: number; records: Array<Record<string, unknown>> }>>("datastore_search", {
        ckanUrl,
        json: { resource_id: search.result.results[0].resources[0].id, filters: { "Tên trạm": "Cao Lãnh" } },
      });
      expect(rows.result.total).toBe(1);
      expect(rows.result.records[0]["Mực nước (cm)"]).toBe(210);
      // The client sends the bare API key in Authorization, as CKAN expects.
      const made = await CkanRequest.post<R<{ name: string }>>("package_create", {
        ckanUrl,
        apiKey: otherKey,
        json: { name: "tu-client", title: "Từ client", owner_org: "SKHCN" },
      });
      expect(made.result.name).toBe("tu-client");
      const silence = console.error;
      console.error = () => undefined;
      try {
        await expect(CkanRequest.get("package_show?id=khong-co", { ckanUrl })).rejects.toThrow(CkanRequestError);
        await expect(CkanRequest.post("package_create", { ckanUrl, json: { name: "khong-duoc", owner_org: "SKHCN" } })).rejects.toThrow(/Access denied/);
      } finally {
        console.error = silence;
      }
    });
  });
}
