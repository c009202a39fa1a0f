// The datastore as a publisher meets it: upload → inferred types → confirm → load with progress,
// versions with old ones downloadable, downloads in four formats with formula cells escaped, and
// hostile files refused with a clear error and nothing half-created.
import ExcelJS from "exceljs";
import JSZip from "jszip";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestSen, dbTargets, startSen } from "../helpers.ts";
import { action, addUploadResource, createDataset, datastoreTables, publishFile, publisherKey, upload, waitLoaded } from "./support.ts";

async function xlsxOf(rows: unknown[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet("Sheet1");
  for (const r of rows) ws.addRow(r);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

for (const target of dbTargets()) {
  describe(`Datastore uploads on ${target.name}`, () => {
    let sen: TestSen;
    let key: string;
    let otherKey: string;
    beforeAll(async () => {
      sen = await startSen(target);
      key = await publisherKey(sen, "SNNMT");
      otherKey = await publisherKey(sen, "SKHCN");
      await createDataset(sen, key, { name: "thu-nghiem", title: "Thử nghiệm", owner_org: "SNNMT" });
    }, 120_000);
    afterAll(() => sen?.dispose());

    const bearer = () => ({ authorization: `Bearer ${key}` });

    it("infers types for the publisher to confirm, loads after confirmation, keeps old versions", async () => {
      const rid = await addUploadResource(sen, key, "thu-nghiem");
      const up = await upload(
        sen,
        key,
        rid,
        "so-lieu.csv",
        "ma,ten,so,ti_le,ngay,luc\n001,Một,1,1.5,01/10/2025,2025-10-01 08:00\n002,Hai,2,2,02/10/2025,2025-10-01T09:30:00Z\n",
      );
      expect(up.statusCode, up.body).toBe(201);
      const v = up.json();
      expect(v).toMatchObject({ status: "pending", seq: 1, format: "CSV", encoding: "utf-8" });
      expect(v.columns.map((c: { id: string; type: string }) => [c.id, c.type])).toEqual([
        ["ma", "text"], // leading zeros stay text
        ["ten", "text"],
        ["so", "int8"],
        ["ti_le", "numeric"],
        ["ngay", "date"],
        ["luc", "timestamp"],
      ]);
      expect(v.columns[1].sample).toEqual(["Một", "Hai"]);
      // Nothing is in the datastore before the publisher confirms.
      expect((await action(sen, `datastore_search?resource_id=${rid}`)).status).toBe(404);
      // Another agency's publisher may not confirm it; a wrong column list is refused.
      expect(
        (await sen.app.inject({ method: "POST", url: `/api/catalog/versions/${v.id}/confirm`, headers: { authorization: `Bearer ${otherKey}` }, payload: {} }))
          .statusCode,
      ).toBe(403);
      const wrong = await sen.app.inject({
        method: "POST",
        url: `/api/catalog/versions/${v.id}/confirm`,
        headers: bearer(),
        payload: { columns: [{ id: "ma", type: "int8" }] },
      });
      expect(wrong.statusCode).toBe(400);
      const columns = v.columns.map((c: { id: string; type: string }) => ({ id: c.id, type: c.id === "so" ? "numeric" : c.type }));
      const ok = await sen.app.inject({ method: "POST", url: `/api/catalog/versions/${v.id}/confirm`, headers: bearer(), payload: { columns } });
      expect(ok.statusCode, ok.body).toBe(202);
      const done = await waitLoaded(sen, v.id, key);
      expect(done).toMatchObject({ status: "ready", rowsLoaded: 2, progress: 1 });
      const r1 = (await action(sen, `datastore_search?resource_id=${rid}`)).body.result;
      expect(r1.fields.find((f: { id: string }) => f.id === "so").type).toBe("numeric");
      expect(r1.records[0]).toMatchObject({ ma: "001", ngay: "2025-10-01", luc: "2025-10-01T01:00:00.000Z" });

      // A second upload is version 2; version 1 stays downloadable.
      const v2 = await publishFile(sen, key, rid, "so-lieu-2.csv", "ma,ten,so,ti_le,ngay,luc\n003,Ba,3,3.5,03/10/2025,2025-10-03 08:00\n");
      expect(v2).toMatchObject({ status: "ready", seq: 2, rowsLoaded: 1 });
      expect((await action(sen, `datastore_search?resource_id=${rid}`)).body.result.total).toBe(1);
      const old = await sen.app.inject({ url: `/api/catalog/resources/${rid}/download?format=csv&version=1` });
      expect(old.statusCode).toBe(200);
      expect(old.body).toContain("001,Một");
      const versions = (await sen.app.inject({ url: `/api/catalog/resources/${rid}/versions` })).json();
      expect(versions.map((x: { seq: number }) => x.seq)).toEqual([2, 1]);
      const original = await sen.app.inject({ url: `/api/catalog/versions/${v.id}/file` });
      expect(original.body).toContain("01/10/2025");
    });

    it("keeps text exactly as published: tabs, backslashes, line breaks, \\N and \\. in cells", async () => {
      const rid = await addUploadResource(sen, key, "thu-nghiem", "Ký tự đặc biệt");
      const cells = ["a\tb", "C:\\thư mục\\tệp", "dòng 1\ndòng 2\r\ndòng 3", "\\N", "\\.", ""];
      const csv = `stt,ghi_chu\n${cells.map((c, i) => `${i + 1},"${c}"`).join("\n")}\n`;
      const v = await publishFile(sen, key, rid, "dac-biet.csv", csv);
      expect(v).toMatchObject({ status: "ready", rowsLoaded: cells.length });
      const r = (await action(sen, `datastore_search?resource_id=${rid}&sort=stt`)).body.result;
      expect(r.records.map((x: { ghi_chu: string | null }) => x.ghi_chu)).toEqual([...cells.slice(0, -1), null]);
    });

    it("tells the publisher which row breaks a confirmed type, and keeps nothing of it", async () => {
      const rid = await addUploadResource(sen, key, "thu-nghiem", "Sai kiểu");
      const rows = ["id,gia_tri", ...Array.from({ length: 1500 }, (_, i) => `${i + 1},${i + 1}`), "1501,không rõ"];
      const tablesBefore = await datastoreTables(sen);
      const v = await publishFile(sen, key, rid, "sai.csv", rows.join("\n"));
      expect(v.status).toBe("failed");
      expect(v.error).toMatch(/Row 1502, column "gia_tri": "không rõ" is not a whole number/);
      expect(await datastoreTables(sen)).toBe(tablesBefore);
      expect((await action(sen, `resource_show?id=${rid}`)).body.result.datastore_active).toBe(false);
      // Corrected to text, the same file loads.
      const again = await sen.app.inject({
        method: "POST",
        url: `/api/catalog/versions/${v.id}/confirm`,
        headers: bearer(),
        payload: {
          columns: [
            { id: "id", type: "int8" },
            { id: "gia_tri", type: "text" },
          ],
        },
      });
      expect(again.statusCode).toBe(202);
      expect((await waitLoaded(sen, v.id, key)).rowsLoaded).toBe(1501);
    });

    it("reads UTF-8 with a BOM, UTF-16 and XLSX; takes a formula's result, not the formula", async () => {
      const rid = await addUploadResource(sen, key, "thu-nghiem", "Mã hóa");
      const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("Xã,Dân số\nMỹ Thọ,12000\n")]);
      const a = await publishFile(sen, key, rid, "bom.csv", bom);
      expect(a.columns[0].id).toBe("Xã");
      const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("Xã,Dân số\nSa Đéc,34000\n", "utf16le")]);
      const b = await publishFile(sen, key, rid, "utf16.csv", le);
      expect(b.encoding).toBe("utf-16le");
      expect((await action(sen, `datastore_search?resource_id=${rid}`)).body.result.records[0]).toMatchObject({ Xã: "Sa Đéc", "Dân số": 34000 });
      const wb = new ExcelJS.Workbook();
      const ws = wb.addWorksheet("Dữ liệu");
      ws.addRow(["Tên", "Số lượng", "Ngày"]);
      ws.addRow(["Cao Lãnh", 10, new Date(Date.UTC(2025, 9, 1))]);
      ws.addRow(["Hồng Ngự", { formula: "A1", result: 20 }, new Date(Date.UTC(2025, 9, 2))]);
      const x = await publishFile(sen, key, rid, "bang.xlsx", Buffer.from(await wb.xlsx.writeBuffer()));
      expect(x).toMatchObject({ status: "ready", format: "XLSX", rowsLoaded: 2 });
      expect(x.columns.map((c: { type: string }) => c.type)).toEqual(["text", "int8", "date"]);
      const recs = (await action(sen, `datastore_search?resource_id=${rid}`)).body.result.records;
      expect(recs[1]).toMatchObject({ Tên: "Hồng Ngự", "Số lượng": 20, Ngày: "2025-10-02" });
    });

    it("escapes cells that spreadsheets would run as formulas, in CSV and XLSX downloads", async () => {
      const rid = await addUploadResource(sen, key, "thu-nghiem", "Công thức");
      const csv = 'ten,ghi_chu,so\nA,"=HYPERLINK(""http://evil"",""x"")",-5\nB,+1+2,3\nC,-2+3,4\nD,@SUM(A1),5\nE,bình thường,6\n';
      const v = await publishFile(sen, key, rid, "cong-thuc.csv", csv);
      expect(v.status).toBe("ready");
      // The datastore keeps the values as they are.
      expect((await action(sen, `datastore_search?resource_id=${rid}`)).body.result.records[0].ghi_chu).toBe('=HYPERLINK("http://evil","x")');
      const out = await sen.app.inject({ url: `/api/catalog/resources/${rid}/download?format=csv` });
      expect(out.headers["content-type"]).toMatch(/text\/csv/);
      const lines = out.body
        .replace(/^\uFEFF/, "")
        .trim()
        .split("\r\n");
      expect(lines[1]).toBe(`1,A,"'=HYPERLINK(""http://evil"",""x"")",-5`);
      expect(lines[2]).toBe("2,B,'+1+2,3");
      expect(lines[3]).toBe("3,C,'-2+3,4");
      expect(lines[4]).toBe("4,D,'@SUM(A1),5");
      expect(lines[5]).toBe("5,E,bình thường,6");
      const x = await sen.app.inject({ url: `/api/catalog/resources/${rid}/download?format=xlsx` });
      expect(x.statusCode).toBe(200);
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(x.rawPayload as unknown as ArrayBuffer);
      const ws = wb.worksheets[0];
      expect(ws.getCell("C2").value).toBe(`'=HYPERLINK("http://evil","x")`);
      expect(ws.getCell("C3").value).toBe("'+1+2");
      expect(ws.getCell("D2").value).toBe(-5);
      expect(ws.getCell("C2").formula).toBeUndefined();
      const json = await sen.app.inject({ url: `/api/catalog/resources/${rid}/download?format=json` });
      expect(JSON.parse(json.body)[0]).toEqual({ _id: 1, ten: "A", ghi_chu: '=HYPERLINK("http://evil","x")', so: -5 });
      expect((await sen.app.inject({ url: `/api/catalog/resources/${rid}/download?format=geojson` })).statusCode).toBe(400);
    });

    describe("hostile uploads", () => {
      let rid: string;
      beforeAll(async () => {
        rid = await addUploadResource(sen, key, "thu-nghiem", "Thù địch");
      });

      async function refused(filename: string, content: Buffer | string, message: RegExp, status = 400) {
        const versions = await sen.count("catalog.versions");
        const tables = await datastoreTables(sen);
        const res = await upload(sen, key, rid, filename, content);
        expect(res.statusCode, res.body).toBe(status);
        expect(res.headers["content-type"]).toMatch(/problem\+json/);
        expect(res.json().detail).toMatch(message);
        expect(await sen.count("catalog.versions")).toBe(versions);
        expect(await datastoreTables(sen)).toBe(tables);
      }

      it("refuses a malformed CSV", async () => {
        await refused("hong.csv", 'a,b,c\n1,2,3\n4,"5,6\n7,8,9\n', /Row \d+ has \d+ fields but the header has 3/);
        await refused("lech.csv", "a,b,c\n1,2,3\n4,5\n", /Row 3 has 2 fields but the header has 3/);
        await refused("rong.csv", "\n\n", /empty|no header/i);
        await refused("nhi-phan.csv", Buffer.from([0x61, 0x2c, 0x62, 0x0a, 0xc3, 0x28, 0x2c, 0x31, 0x0a]), /not valid UTF-8/);
        await refused("x.exe", "MZ", /cannot be loaded/);
      });

      it("refuses a 100,000-column header", async () => {
        const header = Array.from({ length: 100_000 }, (_, i) => `c${i}`).join(",");
        await refused("rong.csv", `${header}\n${"1,".repeat(99_999)}1\n`, /header has 100000 columns; at most 1000/);
      });

      it("refuses a zip bomb posing as XLSX", async () => {
        // A real workbook with a 64 MB part of spaces: tiny compressed, huge inflated.
        const zip = await JSZip.loadAsync(await xlsxOf([["a"], [1]]));
        zip.file("xl/worksheets/sheet2.xml", Buffer.alloc(64 * 1024 * 1024, 0x20));
        const bomb = await zip.generateAsync({ type: "nodebuffer", compression: "DEFLATE", compressionOptions: { level: 9 } });
        expect(bomb.length).toBeLessThan(1024 * 1024);
        await refused("bang.xlsx", bomb, /zip bomb/);
        await refused("gia.xlsx", "a,b\n1,2\n", /not an XLSX/);
        await refused("hong.xlsx", Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(100)]), /not a valid XLSX|damaged/);
      });

      it("refuses files larger than the limit and uploads by strangers", async () => {
        const anon = await sen.app.inject({ method: "POST", url: `/api/catalog/resources/${rid}/versions`, payload: "x" });
        expect(anon.statusCode).toBe(401);
        const foreign = await upload(sen, otherKey, rid, "a.csv", "a\n1\n");
        expect(foreign.statusCode).toBe(403);
        const json = await upload(sen, key, rid, "a.json", '{"not": "rows"}');
        expect(json.statusCode).toBe(400);
        expect(json.json().detail).toMatch(/array of objects/);
      });
    });
  });
}
