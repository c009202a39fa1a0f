// Indicators on a real Sen and database: a commune's monthly form from entry to locked approval,
// analytics equal to hand-computed values, bad data refused whole, the plan's targets, automatic
// indicators and the push to the Government reporting system.
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signBody } from "../../src/core/jobs/outbound.ts";
import { seedDemo } from "../../src/indicators/demo.ts";
import { auth, dbTargets, startSen, type TestSen } from "../helpers.ts";

const PASSWORD = "officer-password-1";
const SECRET = "gov-secret";
const WAIT = { timeout: 20_000, interval: 100 };

interface Received {
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

for (const target of dbTargets()) {
  describe(`indicators on ${target.name}`, () => {
    let sen: TestSen;
    let gov: Server;
    const received: Received[] = [];
    let failNext = 1; // the receiver fails once, then acknowledges
    const tokens: Record<string, string> = {};
    let c1 = "";
    let c2 = "";
    let c3 = "";

    beforeAll(async () => {
      gov = createServer((req, res) => {
        let body = "";
        req.on("data", (d) => (body += d));
        req.on("end", () => {
          if (failNext > 0) {
            failNext--;
            res.writeHead(503).end();
            return;
          }
          received.push({ body, headers: req.headers });
          res.writeHead(200).end("ok");
        });
      });
      await new Promise<void>((r) => gov.listen(0, "127.0.0.1", r));
      const url = `http://127.0.0.1:${(gov.address() as AddressInfo).port}/report`;
      sen = await startSen(target, { SEN_GOV_REPORT_URL: url, SEN_GOV_REPORT_SECRET: SECRET });
      const communes = (await sen.services.geo.list({ parent: "82", limit: 5, offset: 0 })).map((c) => c.code);
      [c1, c2, c3] = communes as [string, string, string];
      for (const [username, agency] of [
        ["xa1", `UBND-${c1}`],
        ["xa2", `UBND-${c2}`],
        ["syt", "SYT"],
        ["tinh", "UBND-82"],
      ] as const)
        await sen.services.accounts.createUser({ username, displayName: username, password: PASSWORD, roles: ["agency_officer"], agency });
      await sen.services.accounts.createUser({ username: "pub", displayName: "pub", password: PASSWORD, roles: ["publisher"], agency: "SKHCN" });
      tokens.admin = await sen.login();
      for (const u of ["xa1", "xa2", "syt", "tinh", "pub"]) tokens[u] = await sen.login(u, PASSWORD);

      // The model: births by sex, births in a facility, health workers (a stock), a note.
      const put = async (url: string, payload: object) => {
        const res = await sen.app.inject({ method: "PUT", url, headers: auth(tokens.admin as string), payload });
        expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
      };
      await put("/api/indicators/categories/sex", {
        name: "Giới tính",
        nameEn: "Sex",
        options: [
          { code: "male", name: "Nam", nameEn: "Male" },
          { code: "female", name: "Nữ", nameEn: "Female" },
        ],
      });
      await put("/api/indicators/elements/births", { name: "Số ca sinh", nameEn: "Births", valueType: "integer", categories: ["sex"] });
      await put("/api/indicators/elements/births_facility", { name: "Số ca sinh tại cơ sở y tế", nameEn: "Births in a facility", valueType: "integer" });
      await put("/api/indicators/elements/health_workers", { name: "Nhân viên y tế", nameEn: "Health workers", valueType: "integer", aggregation: "last" });
      await put("/api/indicators/elements/notes", { name: "Ghi chú", nameEn: "Notes", valueType: "text" });
      await put("/api/indicators/definitions/facility_birth_rate", {
        name: "Tỷ lệ sinh tại cơ sở y tế",
        nameEn: "Facility birth rate",
        numerator: "#{births_facility}",
        denominator: "#{births}",
        factor: 100,
        decimals: 2,
      });
      await put("/api/indicators/definitions/female_share", {
        name: "Tỷ lệ bé gái",
        nameEn: "Female share of births",
        numerator: "#{births.female}",
        denominator: "#{births}",
        factor: 100,
        decimals: 2,
      });
      await put("/api/indicators/forms/health-monthly", {
        name: "Báo cáo y tế tháng",
        nameEn: "Monthly health report",
        periodType: "monthly",
        elements: ["births", "births_facility", "health_workers", "notes"],
        units: ["OU_GROUP-communes"],
        approverAgency: "SYT",
        dueDays: 10,
      });
      await put("/api/indicators/rules/facility-le-births", {
        dataSet: "health-monthly",
        name: "Sinh tại cơ sở ≤ tổng số sinh",
        left: "#{births_facility}",
        operator: "<=",
        right: "#{births}",
        message: "Số ca sinh tại cơ sở y tế không được lớn hơn tổng số ca sinh",
        messageEn: "Births in a facility cannot exceed all births",
      });
    }, 120_000);

    afterAll(async () => {
      await sen?.dispose();
      gov?.close();
    });

    const api = (user: string, method: "GET" | "POST" | "PUT" | "PATCH", url: string, payload?: unknown, headers: Record<string, string> = {}) =>
      sen.app.inject({
        method,
        url,
        headers: { ...auth(tokens[user] as string), ...headers },
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
    const form = (ou: string, pe: string) => `/api/indicators/forms/health-monthly/${ou}/${pe}`;

    it("loads all 26 targets of the plan with their goals, units and years", async () => {
      const res = await api("pub", "GET", "/api/indicators/scorecard?date=2025-07-01");
      expect(res.statusCode).toBe(200);
      const card = res.json();
      expect(card.targets).toHaveLength(26);
      const villages = card.targets.find((t: { id: string }) => t.id === "agri.smart_villages");
      expect(villages).toMatchObject({
        sector: "agriculture",
        unit: "count",
        goals: [
          { year: 2025, value: 7 },
          { year: 2030, value: 14 },
        ],
        status: "no_data",
      });
      expect(card.targets.find((t: { id: string }) => t.id === "society.dx_day").nextDate).toBe("2025-10-10");
      const sectors = card.sectors.map((s: { sector: string }) => s.sector);
      expect(sectors).toEqual(expect.arrayContaining(["agriculture", "health", "education", "industry_trade", "environment", "security"]));
      const tasks = (await api("pub", "GET", "/api/indicators/tasks")).json();
      expect(tasks.map((t: { id: string }) => t.id)).toEqual(expect.arrayContaining(["S1", "S9", "S22", "P-DX-DAY"]));
    });

    it("a target with data shows its status and forecast", async () => {
      const values = [
        ["agri.smart_villages", "2022", 1],
        ["agri.smart_villages", "2023", 3],
        ["agri.smart_villages", "2024", 5],
        ["commerce.online_shoppers", "2023", 48],
        ["commerce.online_shoppers", "2024", 57],
        ["commerce.ecommerce_enterprises", "2022", 20],
        ["commerce.ecommerce_enterprises", "2023", 21],
        ["commerce.ecommerce_enterprises", "2024", 22],
        ["commerce.ecommerce_enterprises", "2025", 23],
      ].map(([dataElement, period, value]) => ({ dataElement, period, orgUnit: "82", value }));
      const imp = await api("admin", "POST", "/api/dataValueSets", { dataValues: values });
      expect(imp.statusCode, imp.body).toBe(200);
      const card = (await api("pub", "GET", "/api/indicators/scorecard?date=2025-07-01")).json();
      const by = (id: string) => card.targets.find((t: { id: string }) => t.id === id);
      // 1, 3, 5: two a year; 7 by the end of 2025 is exactly the pace.
      expect(by("agri.smart_villages")).toMatchObject({ status: "on_track", latest: { period: "2024", value: 5 }, goal: { year: 2025, value: 7 } });
      expect(by("agri.smart_villages").forecast).toMatchObject({ method: "linear", year: 2025, slopePerYear: 2 });
      expect(by("agri.smart_villages").forecast.value).toBeCloseTo(7);
      expect(by("agri.smart_villages").forecast.reachesYear).toBeCloseTo(2025);
      expect(by("commerce.online_shoppers").status).toBe("met");
      // 20 → 23 over four years: 50% by 2025 is out of reach.
      expect(by("commerce.ecommerce_enterprises")).toMatchObject({ status: "off_track" });
      expect(by("commerce.ecommerce_enterprises").forecast.method).toBe("holt");
      expect(by("agri.smart_villages").series).toEqual([
        { period: "2022", value: 1 },
        { period: "2023", value: 3 },
        { period: "2024", value: 5 },
      ]);
    });

    it("a commune officer fills the monthly form; the rule fires; agency and province approve; the values lock", async () => {
      // The officer's page lists the form.
      const mine = (await api("xa1", "GET", "/api/indicators/my-forms")).json();
      expect(mine.orgUnit).toBe(c1);
      expect(mine.forms.some((f: { dataSet: string }) => f.dataSet === "health-monthly")).toBe(true);

      // Inconsistent values: saved as a draft, the rule fires with its message.
      let res = await api("xa1", "PUT", `${form(c1, "202501")}/values`, {
        values: [
          { dataElement: "births", categoryOptionCombo: "male", value: 4 },
          { dataElement: "births", categoryOptionCombo: "female", value: 5 },
          { dataElement: "births_facility", value: "12" },
          { dataElement: "notes", value: "Tháng Giêng" },
        ],
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().violations).toEqual([
        expect.objectContaining({ rule: "facility-le-births", message: "Số ca sinh tại cơ sở y tế không được lớn hơn tổng số ca sinh", left: 12, right: 9 }),
      ]);
      res = await api("xa1", "POST", `${form(c1, "202501")}/submit`);
      expect(res.statusCode).toBe(422);
      expect(res.json().detail).toContain("không được lớn hơn");

      // Another commune's officer cannot touch this one; a publisher cannot enter at all.
      expect((await api("xa2", "PUT", `${form(c1, "202501")}/values`, { values: [] })).statusCode).toBe(403);
      expect((await api("pub", "PUT", `${form(c1, "202501")}/values`, { values: [] })).statusCode).toBe(403);

      res = await api("xa1", "PUT", `${form(c1, "202501")}/values`, { values: [{ dataElement: "births_facility", value: 8 }] });
      expect(res.json().violations).toEqual([]);
      res = await api("xa1", "POST", `${form(c1, "202501")}/submit`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ state: "submitted", locked: true, needsAgencyApproval: true });

      // Locked while it goes up.
      res = await api("xa1", "PUT", `${form(c1, "202501")}/values`, { values: [{ dataElement: "births_facility", value: 7 }] });
      expect(res.statusCode).toBe(423);

      // The province cannot skip the agency; the commune cannot approve itself.
      expect((await api("tinh", "POST", `${form(c1, "202501")}/approve`)).statusCode).toBe(403);
      expect((await api("xa1", "POST", `${form(c1, "202501")}/approve`)).statusCode).toBe(403);
      const waiting = (await api("syt", "GET", "/api/indicators/approvals")).json();
      expect(waiting.map((w: { orgUnit: string }) => w.orgUnit)).toContain(c1);
      res = await api("syt", "POST", `${form(c1, "202501")}/approve`);
      expect(res.json()).toMatchObject({ state: "agency_approved", agencyApprovedBy: "syt" });
      expect((await api("syt", "POST", `${form(c1, "202501")}/approve`)).statusCode).toBe(403);
      res = await api("tinh", "POST", `${form(c1, "202501")}/approve`);
      expect(res.json()).toMatchObject({ state: "approved", approvedBy: "tinh", locked: true });

      // Locked for good: the form, and an import into the same period.
      expect((await api("xa1", "PUT", `${form(c1, "202501")}/values`, { values: [{ dataElement: "notes", value: "x" }] })).statusCode).toBe(423);
      const imp = await api("admin", "POST", "/api/dataValueSets", {
        dataValues: [{ dataElement: "births_facility", period: "202501", orgUnit: c1, value: 1 }],
      });
      expect(imp.statusCode).toBe(409);
      expect(imp.json().conflicts).toEqual([expect.objectContaining({ row: 1, field: "period", message: expect.stringContaining("locked") })]);
      const f = (await api("pub", "GET", form(c1, "202501"))).json();
      expect(f.values.find((v: { dataElement: string }) => v.dataElement === "births_facility").value).toBe("8");
      expect(f.canEdit).toBe(false);

      // Every change is kept with who and when.
      const hist = (await api("pub", "GET", `/api/indicators/history?de=births_facility&ou=${c1}&pe=202501`)).json();
      expect(hist.map((h: { previousValue: string | null; value: string; changedBy: string }) => [h.previousValue, h.value, h.changedBy])).toEqual([
        ["12", "8", "xa1"],
        [null, "12", "xa1"],
      ]);
    });

    it("returns a report for correction with a reason, which unlocks it", async () => {
      let res = await api("xa2", "PUT", `${form(c2, "202501")}/values`, { values: [{ dataElement: "births", categoryOptionCombo: "male", value: 3 }] });
      expect(res.statusCode).toBe(200);
      expect((await api("xa2", "POST", `${form(c2, "202501")}/submit`)).statusCode).toBe(200);
      expect((await api("syt", "POST", `${form(c2, "202501")}/return`, {})).statusCode).toBe(400);
      res = await api("syt", "POST", `${form(c2, "202501")}/return`, { reason: "Thiếu số liệu bé gái" });
      expect(res.json()).toMatchObject({ state: "returned", locked: false, returnReason: "Thiếu số liệu bé gái", returnedBy: "syt" });
      res = await api("xa2", "PUT", `${form(c2, "202501")}/values`, { values: [{ dataElement: "births", categoryOptionCombo: "female", value: 2 }] });
      expect(res.statusCode).toBe(200);
      const f = (await api("xa2", "GET", form(c2, "202501"))).json();
      expect(f.history.map((h: { action: string }) => h.action)).toEqual(["submit", "return"]);
      expect(f.history[1].reason).toBe("Thiếu số liệu bé gái");
    });

    it("pushes approved values to the Government reporting system, signed, retried until acknowledged", async () => {
      await expect.poll(() => received.length, WAIT).toBeGreaterThan(0);
      const r = received[0] as Received;
      expect(r.headers["x-sen-signature"]).toBe(signBody(SECRET, r.body));
      const doc = JSON.parse(r.body);
      expect(doc).toMatchObject({ schema: "sen.gov-report/1", province: "82", period: "202501", periodType: "monthly" });
      expect(doc.dataSets[0].reports).toEqual([
        expect.objectContaining({
          orgUnit: c1,
          values: expect.arrayContaining([
            { dataElement: "births", categoryOptionCombo: "female", value: "5" },
            { dataElement: "births_facility", categoryOptionCombo: "default", value: "8" },
          ]),
        }),
      ]);
      await expect.poll(async () => (await api("pub", "GET", "/api/indicators/gov-exports")).json()[0]?.status, WAIT).toBe("acknowledged");
      // The same content is not pushed twice.
      expect((await api("admin", "POST", "/api/indicators/gov-exports", { period: "202501" })).json()).toEqual({ queued: false });
      const exp = (await api("pub", "GET", "/api/indicators/gov-export/202501")).json();
      expect(exp.contentHash).toBe(doc.contentHash);
    });

    describe("analytics equal hand-computed values", () => {
      // c1..c3 in 2024: births male m, female f, facility b, health workers w, per month.
      const data: Array<{ ou: string; month: number; m: number; f: number; b: number; w: number }> = [];
      beforeAll(async () => {
        const dataValues: object[] = [];
        for (const [k, ou] of [c1, c2, c3].entries())
          for (let month = 1; month <= 12; month++) {
            const row = { ou, month, m: month + k, f: 2 * month, b: month + 2, w: 10 * (k + 1) + month };
            data.push(row);
            const pe = `2024${String(month).padStart(2, "0")}`;
            dataValues.push(
              { dataElement: "births", categoryOptionCombo: "male", period: pe, orgUnit: ou, value: String(row.m) },
              { dataElement: "births", categoryOptionCombo: "female", period: pe, orgUnit: ou, value: String(row.f) },
              { dataElement: "births_facility", period: pe, orgUnit: ou, value: String(row.b) },
              { dataElement: "health_workers", period: pe, orgUnit: ou, value: String(row.w) },
            );
          }
        const res = await api("admin", "POST", "/api/dataValueSets", { dataValues });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json().importCount.imported).toBe(144);
      });
      const sum = (f: (r: (typeof data)[number]) => number, keep: (r: (typeof data)[number]) => boolean) => data.filter(keep).reduce((s, r) => s + f(r), 0);
      const q = async (query: string) => {
        const res = await api("pub", "GET", `/api/analytics?${query}`);
        expect(res.statusCode, res.body).toBe(200);
        return res.json() as { rows: Array<Array<string | number>>; headers: Array<{ name: string }> };
      };
      const cell = (rows: Array<Array<string | number>>, ...key: string[]) => rows.find((r) => key.every((k, i) => r[i] === k))?.at(-1);

      it("sums months into a year and quarters, communes into the province", async () => {
        const r = await q(`dx=births;births_facility&pe=2024;2024Q2&ou=82;${c1}`);
        expect(r.headers.map((h) => h.name)).toEqual(["dx", "pe", "ou", "value"]);
        expect(cell(r.rows, "births", "2024", c1)).toBe(
          sum(
            (x) => x.m + x.f,
            (x) => x.ou === c1,
          ),
        );
        expect(cell(r.rows, "births", "2024", "82")).toBe(
          sum(
            (x) => x.m + x.f,
            () => true,
          ),
        );
        expect(cell(r.rows, "births_facility", "2024Q2", "82")).toBe(
          sum(
            (x) => x.b,
            (x) => x.month >= 4 && x.month <= 6,
          ),
        );
      });

      it("divides summed numerators by summed denominators for ratios", async () => {
        const r = await q(`dx=facility_birth_rate;female_share&pe=2024&ou=${c2}`);
        const b = sum(
          (x) => x.b,
          (x) => x.ou === c2,
        );
        const all = sum(
          (x) => x.m + x.f,
          (x) => x.ou === c2,
        );
        const fem = sum(
          (x) => x.f,
          (x) => x.ou === c2,
        );
        expect(cell(r.rows, "facility_birth_rate", "2024", c2)).toBeCloseTo(Math.round((b / all) * 10000) / 100, 2);
        expect(cell(r.rows, "female_share", "2024", c2)).toBeCloseTo(Math.round((fem / all) * 10000) / 100, 2);
      });

      it("breaks down by disaggregation", async () => {
        const r = await q(`dx=births.male;births.female&pe=2024&ou=${c3}`);
        expect(cell(r.rows, "births.male", "2024", c3)).toBe(
          sum(
            (x) => x.m,
            (x) => x.ou === c3,
          ),
        );
        expect(cell(r.rows, "births.female", "2024", c3)).toBe(
          sum(
            (x) => x.f,
            (x) => x.ou === c3,
          ),
        );
      });

      it("takes the last value of a stock over time, summed over units", async () => {
        const r = await q(`dx=health_workers&pe=2024;2024Q1&ou=82`);
        expect(cell(r.rows, "health_workers", "2024", "82")).toBe(
          sum(
            (x) => x.w,
            (x) => x.month === 12,
          ),
        );
        expect(cell(r.rows, "health_workers", "2024Q1", "82")).toBe(
          sum(
            (x) => x.w,
            (x) => x.month === 3,
          ),
        );
        // Periods that do not overlap take the single-scan path; the answer is the same.
        const d = await q(`dx=health_workers;births&pe=2024Q1;2024Q4&ou=${c1}`);
        expect(cell(d.rows, "health_workers", "2024Q4", c1)).toBe(
          sum(
            (x) => x.w,
            (x) => x.ou === c1 && x.month === 12,
          ),
        );
        expect(cell(d.rows, "births", "2024Q1", c1)).toBe(
          sum(
            (x) => x.m + x.f,
            (x) => x.ou === c1 && x.month <= 3,
          ),
        );
      });

      it("resolves relative periods against the reference date", async () => {
        let r = await q(`dx=births_facility&pe=LAST_YEAR&ou=${c1}&date=2025-03-10`);
        expect(cell(r.rows, "births_facility", "2024", c1)).toBe(
          sum(
            (x) => x.b,
            (x) => x.ou === c1,
          ),
        );
        r = await q(`dx=births_facility&pe=LAST_12_MONTHS&ou=${c1}&date=2024-07-15`);
        expect(r.rows.map((x) => x[1])).toEqual(["202401", "202402", "202403", "202404", "202405", "202406"]); // only months with data
        r = await q(`dx=births_facility&pe=THIS_YEAR&ou=${c1}&date=2024-05-01`);
        expect(cell(r.rows, "births_facility", "2024", c1)).toBe(
          sum(
            (x) => x.b,
            (x) => x.ou === c1,
          ),
        );
      });

      it("aggregates over filters and lists units by level and group", async () => {
        let r = await q(`dx=births&filter=pe:2024Q1;2024Q2&ou=${c1}`);
        expect(r.headers.map((h) => h.name)).toEqual(["dx", "ou", "value"]);
        expect(r.rows[0]?.at(-1)).toBe(
          sum(
            (x) => x.m + x.f,
            (x) => x.ou === c1 && x.month <= 6,
          ),
        );
        r = await q(`dx=births&pe=2024&filter=ou:${c1};${c2}`);
        expect(r.rows[0]?.at(-1)).toBe(
          sum(
            (x) => x.m + x.f,
            (x) => x.ou === c1 || x.ou === c2,
          ),
        );
        r = await q("dx=births&pe=2024&ou=LEVEL-2");
        expect(r.rows).toHaveLength(3);
        r = await q("dx=births&pe=2024&ou=OU_GROUP-communes");
        expect(r.rows).toHaveLength(3);
      });

      it("exports the table as CSV and XLSX, and the values as dataValueSets", async () => {
        const csv = await api("pub", "GET", `/api/analytics.csv?dx=births&pe=2024&ou=${c1}`);
        expect(csv.headers["content-type"]).toContain("text/csv");
        expect(csv.body.split(/\r?\n/)[0]).toBe("dx,dxname,pe,pename,ou,ouname,value");
        const xlsx = await api("pub", "GET", `/api/analytics.xlsx?dx=births&pe=2024&ou=${c1}`);
        expect(xlsx.statusCode).toBe(200);
        expect(xlsx.rawPayload.subarray(0, 2).toString()).toBe("PK");
        const dvs = (await api("pub", "GET", `/api/dataValueSets?dataSet=health-monthly&period=202403&orgUnit=${c2}`)).json();
        expect(dvs.dataValues).toHaveLength(4);
        const dcsv = await api("pub", "GET", `/api/dataValueSets.csv?dataSet=health-monthly&period=202403&orgUnit=${c2}`);
        expect(dcsv.body.split(/\r?\n/)).toHaveLength(5);
      });

      it("refuses bad queries with a clear message", async () => {
        for (const [query, msg] of [
          ["dx=nope&pe=2024", "dx"],
          ["dx=births&pe=2024Q9", "pe"],
          ["dx=births&pe=2024&ou=nowhere", "ou"],
          ["dx=births&pe=2024&filter=xx:1", "filter"],
        ]) {
          const res = await api("pub", "GET", `/api/analytics?${query}`);
          expect(res.statusCode).toBe(400);
          expect(res.json().detail).toContain(msg);
        }
        expect((await sen.app.inject({ method: "GET", url: "/api/analytics?dx=births&pe=2024" })).statusCode).toBe(401);
      });

      it("reports completeness: expected, received, on time", async () => {
        const r = (await api("pub", "GET", "/api/indicators/completeness?dataSet=health-monthly&pe=202501")).json();
        expect(r[0]).toMatchObject({ period: "202501", expected: 102, received: 1, approved: 1 });
        expect(r[0].units.find((u: { orgUnit: string }) => u.orgUnit === c1)).toMatchObject({ received: true, state: "approved" });
        expect(r[0].units.find((u: { orgUnit: string }) => u.orgUnit === c2)).toMatchObject({ received: false, state: "returned" });
      });
    });

    describe("bad data: clear errors naming row and field, nothing partly imported", () => {
      const stored = () => sen.count("indicators.data_values");
      const conflictsOf = async (payload: unknown, headers: Record<string, string> = {}) => {
        const n = await stored();
        const res = await api("admin", "POST", "/api/dataValueSets", payload, headers);
        expect(res.statusCode, res.body).toBe(409);
        expect(await stored()).toBe(n);
        return res.json().conflicts as Array<{ row: number; field: string; message: string }>;
      };
      const good = () => ({ dataElement: "births_facility", period: "202406", orgUnit: c3, value: "99" });

      it("text in a number field", async () => {
        const c = await conflictsOf({ dataValues: [good(), { ...good(), period: "202407", value: "mười hai" }] });
        expect(c).toEqual([expect.objectContaining({ row: 2, field: "value", message: expect.stringContaining("not a number") })]);
      });
      it("a period in the future", async () => {
        const c = await conflictsOf({ dataValues: [good(), { ...good(), period: "209901" }] });
        expect(c).toEqual([expect.objectContaining({ row: 2, field: "period", message: expect.stringContaining("future") })]);
      });
      it("a unit not assigned to the form", async () => {
        const c = await conflictsOf({ dataValues: [{ ...good(), orgUnit: "SYT" }, good()] });
        expect(c).toEqual([expect.objectContaining({ row: 1, field: "orgUnit", message: expect.stringContaining("not assigned") })]);
      });
      it("a locked period", async () => {
        const c = await conflictsOf({ dataValues: [good(), { ...good(), period: "202501", orgUnit: c1 }] });
        expect(c).toEqual([expect.objectContaining({ row: 2, field: "period", message: expect.stringContaining("locked") })]);
      });
      it("a malformed CSV file", async () => {
        const csv = [
          "dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value",
          `births_facility,202406,${c3},,,5`,
          `births,202406,${c3},unknown,,5`,
          "just-one-column",
          `births_facility,2024-06,${c3},,,5`,
        ].join("\n");
        const c = await conflictsOf(csv, { "content-type": "text/csv" });
        expect(c).toEqual([expect.objectContaining({ row: 4, field: "csv" })]);
        const csv2 = [
          "dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value",
          `births_facility,202406,${c3},,,5`,
          `births,202406,${c3},unknown,,5`,
          `births_facility,2024-06,${c3},,,5`,
          `ghost,202406,${c3},,,5`,
        ].join("\n");
        const c2 = await conflictsOf(csv2, { "content-type": "text/csv" });
        expect(c2.map((x) => [x.row, x.field])).toEqual([
          [3, "categoryOptionCombo"],
          [4, "period"],
          [5, "dataElement"],
        ]);
      });
      it("a malformed JSON file", async () => {
        const n = await stored();
        const res = await api("admin", "POST", "/api/dataValueSets", '{"dataValues": [', { "content-type": "application/json" });
        expect(res.statusCode).toBe(400);
        const c = await conflictsOf({
          dataValues: [good(), { dataElement: "births_facility", period: 202406, orgUnit: c3, value: 1 }, { ...good(), colour: "red" }],
        });
        expect(c.map((x) => [x.row, x.field])).toEqual([
          [2, "period"],
          [3, "colour"],
        ]);
        expect(await stored()).toBe(n);
      });
      it("form entry refuses text in a number field and names the field", async () => {
        const res = await api("xa2", "PUT", `${form(c2, "202502")}/values`, { values: [{ dataElement: "births_facility", value: "abc" }] });
        expect(res.statusCode).toBe(400);
        expect(res.json().errors).toEqual([{ path: "/values/0/value", message: expect.stringContaining("not a number") }]);
        expect((await api("xa2", "PUT", `${form(c2, "209901")}/values`, { values: [] })).statusCode).toBe(400);
        expect((await api("xa2", "PUT", `/api/indicators/forms/health-monthly/${c2}/2025/values`, { values: [] })).statusCode).toBe(400);
      });
      it("a dry run checks without writing", async () => {
        const n = await stored();
        const res = await api("admin", "POST", "/api/dataValueSets?dryRun=true", { dataValues: [good()] });
        expect(res.json()).toMatchObject({ status: "SUCCESS", dryRun: true });
        expect(await stored()).toBe(n);
      });
      it("refuses bad metadata naming the field", async () => {
        let res = await api("admin", "PUT", "/api/indicators/definitions/bad", { name: "x", nameEn: "x", numerator: "#{births} +" });
        expect(res.statusCode).toBe(400);
        expect(res.json().errors[0].path).toBe("/numerator");
        res = await api("admin", "PUT", "/api/indicators/definitions/loop", { name: "x", nameEn: "x", numerator: "N{loop}" });
        expect(res.statusCode).toBe(400);
        res = await api("admin", "PUT", "/api/indicators/rules/r2", {
          dataSet: "health-monthly",
          name: "x",
          left: "#{ghost}",
          operator: "<",
          right: "1",
          message: "m",
          messageEn: "m",
        });
        expect(res.json().errors[0]).toMatchObject({ path: "/left" });
        expect((await api("syt", "PUT", "/api/indicators/elements/x", { name: "x", nameEn: "x", valueType: "number" })).statusCode).toBe(403);
      });
    });

    it("computes automatic indicators from IoT devices, idempotently", async () => {
      const unit = await sen.services.geo.get(c3);
      const [w, s, e, n] = unit.bbox as number[];
      const lat = ((s as number) + (n as number)) / 2;
      const lon = ((w as number) + (e as number)) / 2;
      const located = sen.services.geo.locate(lat, lon)?.code;
      const profile = sen.services.iot.listProfiles()[0];
      await sen.services.iot.createDevice({ name: "Trạm thử", profileId: profile?.id as string, lat, lon });
      let res = await api("admin", "POST", "/api/indicators/sources/refresh", {});
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().written.iot).toBeGreaterThan(0);
      expect(res.json().errors).toEqual({}); // the reports source too
      // A second refresh with nothing new writes nothing.
      res = await api("admin", "POST", "/api/indicators/sources/refresh", { source: "iot" });
      expect(res.json().written.iot).toBe(0);
      const r = (await api("pub", "GET", `/api/analytics?dx=iot.devices;iot.devices_online&pe=THIS_MONTH&ou=82${located ? `;${located}` : ""}`)).json();
      const total = sen.services.iot.all().filter((d) => d.row.enabled).length;
      expect(r.rows.find((x: unknown[]) => x[0] === "iot.devices" && x[2] === "82")?.[3]).toBe(total);
      if (located) expect(r.rows.find((x: unknown[]) => x[0] === "iot.devices" && x[2] === located)?.[3]).toBeGreaterThanOrEqual(1);
      const sources = (await api("pub", "GET", "/api/indicators/sources")).json();
      expect(sources.map((x: { id: string }) => x.id)).toEqual(expect.arrayContaining(["iot", "reports"]));
    });

    it("withstands hostile input: injection strings, wrong tokens, oversized bodies, concurrent writers", async () => {
      const n = await sen.count("indicators.data_values");
      for (const url of [
        "/api/analytics?dx=births';DROP TABLE indicators.data_values;--&pe=2024",
        "/api/analytics?dx=births&pe=2024&ou=82');DELETE FROM indicators.data_values;--",
        "/api/analytics?dx=births&pe=2024Q1%27%20OR%201=1",
        `/api/indicators/forms/health-monthly/${c1}/2024'--`,
      ])
        expect((await api("pub", "GET", url)).statusCode).toBe(400);
      expect(await sen.count("indicators.data_values")).toBe(n);
      expect((await sen.app.inject({ method: "GET", url: "/api/indicators/scorecard", headers: auth("not-a-token") })).statusCode).toBe(401);
      const big = { values: [{ dataElement: "notes", value: "x".repeat(2_000_000) }] };
      expect((await api("xa2", "PUT", `${form(c2, "202503")}/values`, big)).statusCode).toBe(413);
      // Two officers' saves of the same form at once: both land, one after the other, both in the history.
      const [a, b] = await Promise.all([
        api("xa2", "PUT", `${form(c2, "202503")}/values`, { values: [{ dataElement: "births_facility", value: 1 }] }),
        api("admin", "PUT", `${form(c2, "202503")}/values`, { values: [{ dataElement: "births_facility", value: 2 }] }),
      ]);
      expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
      const hist = (await api("pub", "GET", `/api/indicators/history?de=births_facility&ou=${c2}&pe=202503`)).json();
      expect(hist).toHaveLength(2);
      const final = (await api("pub", "GET", form(c2, "202503"))).json().values.find((v: { dataElement: string }) => v.dataElement === "births_facility").value;
      expect(final).toBe(hist[0].value);
    });

    it("loads the demo (SEN_DEMO=1): targets with history and a commune form for the map", async () => {
      expect(await seedDemo(sen.services.indicators.service)).toBe(true);
      expect(await seedDemo(sen.services.indicators.service)).toBe(false); // once
      const card = (await api("pub", "GET", "/api/indicators/scorecard")).json();
      const statuses = new Set(card.targets.map((t: { status: string }) => t.status));
      expect(statuses.size).toBeGreaterThanOrEqual(3);
      const year = new Date(Date.now() + 7 * 3600_000).getUTCFullYear();
      const map = (await api("pub", "GET", `/api/indicators/map?dx=demo.fiber_rate&pe=LAST_12_MONTHS`)).json();
      expect(map).toMatchObject({ communes: 102 });
      expect(Object.keys(map.values).length).toBeGreaterThan(90);
      expect(year).toBeGreaterThan(2024);
    });

    it("lets the lead agency update its plan task with evidence", async () => {
      let res = await api("syt", "PATCH", "/api/indicators/tasks/S19", {
        status: "in_progress",
        percent: 40,
        evidence: [{ title: "Kế hoạch", url: "https://syt.dongthap.gov.vn/kh" }],
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ status: "in_progress", percent: 40, updatedBy: "syt" });
      expect((await api("xa1", "PATCH", "/api/indicators/tasks/S19", { percent: 90 })).statusCode).toBe(403);
      res = await api("syt", "PATCH", "/api/indicators/tasks/S19", { evidence: [{ title: "x", url: "javascript:alert(1)" }] });
      expect(res.statusCode).toBe(400);
    });
  });
}
