// Open311 GeoReport v2 against Sen: the spec's examples (service list, a service definition, POST
// with api_key, GET by id, list with filters) in JSON and XML, with the spec's field names; errors
// as the spec's array of {code, description}.
import { XMLParser } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM, runWithContext } from "../../src/core/context.ts";
import { type TestSen, dbTargets, startSen } from "../helpers.ts";

const CAO_LANH = { lat: 10.46, long: 105.63 };
const parser = new XMLParser({
  parseTagValue: false,
  isArray: (name) => ["service", "request", "attribute", "value", "error", "request_update"].includes(name),
});
const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
const FORM = { "content-type": "application/x-www-form-urlencoded; charset=utf-8" };
const W3 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/;

for (const target of dbTargets()) {
  describe(`Open311 GeoReport v2 on ${target.name}`, () => {
    let sen: TestSen;
    let apiKey: string;
    let id: string;
    beforeAll(async () => {
      sen = await startSen(target);
      const made = await runWithContext({ actor: SYSTEM }, () =>
        sen.services.accounts.createApiKey({ name: "fixmystreet", permissions: ["reports:submit"] }, SYSTEM),
      );
      apiKey = made.key;
    }, 120_000);
    afterAll(() => sen?.dispose());

    it("GET services.json and services.xml list the services with the spec's fields", async () => {
      const res = await sen.app.inject({ url: "/open311/v2/services.json" });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
      const list = res.json() as Array<Record<string, unknown>>;
      expect(list.length).toBeGreaterThanOrEqual(10);
      const flood = list.find((s) => s.service_code === "MT01");
      expect(flood).toEqual({
        service_code: "MT01",
        service_name: "Ngập úng",
        description: expect.any(String),
        metadata: true,
        type: "realtime",
        keywords: expect.any(String),
        group: "environment",
      });
      expect(list.find((s) => s.service_code === "MT02")?.metadata).toBe(false);

      const en = (await sen.app.inject({ url: "/open311/v2/services.json?locale=en" })).json() as Array<Record<string, unknown>>;
      expect(en.find((s) => s.service_code === "MT01")?.service_name).toBe("Flooding");

      const xml = await sen.app.inject({ url: "/open311/v2/services.xml?jurisdiction_id=dongthap.gov.vn" });
      expect(xml.statusCode).toBe(200);
      expect(xml.headers["content-type"]).toBe("text/xml; charset=utf-8");
      expect(xml.body.startsWith('<?xml version="1.0" encoding="utf-8"?>')).toBe(true);
      const doc = parser.parse(xml.body);
      const svc = doc.services.service.find((s: Record<string, string>) => s.service_code === "MT01");
      expect(Object.keys(svc).sort()).toEqual(["description", "group", "keywords", "metadata", "service_code", "service_name", "type"]);
      expect(svc.metadata).toBe("true");
    });

    it("GET services/{code}.json and .xml give the service definition", async () => {
      const res = await sen.app.inject({ url: "/open311/v2/services/GT01.json" });
      expect(res.statusCode).toBe(200);
      const def = res.json();
      expect(def.service_code).toBe("GT01");
      expect(def.attributes[0]).toEqual({
        variable: true,
        code: "road",
        datatype: "singlevaluelist",
        required: true,
        datatype_description: null,
        order: 1,
        description: "Loại đường",
        values: [
          { key: "national", name: "Quốc lộ" },
          { key: "provincial", name: "Đường tỉnh" },
          { key: "local", name: "Đường xã, hẻm" },
        ],
      });
      const xml = parser.parse((await sen.app.inject({ url: "/open311/v2/services/GT01.xml" })).body);
      expect(xml.service_definition.service_code).toBe("GT01");
      expect(xml.service_definition.attributes.attribute[0].values.value.map((v: { key: string }) => v.key)).toEqual(["national", "provincial", "local"]);

      const missing = await sen.app.inject({ url: "/open311/v2/services/NOPE.xml" });
      expect(missing.statusCode).toBe(404);
      expect(parser.parse(missing.body).errors.error[0].code).toBe("404");
    });

    it("POST requests.json with api_key (form-encoded, attribute[code]) creates a request routed to the commune's agency", async () => {
      const res = await sen.app.inject({
        method: "POST",
        url: "/open311/v2/requests.json",
        headers: FORM,
        payload: form({
          api_key: apiKey,
          jurisdiction_id: "dongthap.gov.vn",
          service_code: "GT01",
          lat: String(CAO_LANH.lat),
          long: String(CAO_LANH.long),
          address_string: "Đường Nguyễn Huệ, phường Cao Lãnh",
          email: "smit333@example.vn",
          device_id: "tt222111",
          account_id: "123456",
          first_name: "john",
          last_name: "smith",
          phone: "0901234567",
          description: "A large sinkhole is destroying the street",
          media_url: "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg",
          "attribute[road]": "provincial",
        }),
      });
      expect(res.statusCode).toBe(201);
      const [created] = res.json();
      expect(Object.keys(created).sort()).toEqual(["account_id", "service_notice", "service_request_id"]);
      expect(created.account_id).toBeNull();
      id = created.service_request_id;
      const row = await sen.services.db.one<{ agency_code: string; channel: string; attributes: unknown; reporter_phone: string }>(
        "SELECT * FROM reports.reports WHERE id = $1",
        [id],
      );
      expect(row).toMatchObject({ agency_code: "SXD", channel: "open311", attributes: { road: "provincial" }, reporter_phone: "0901234567" });
    });

    it("POST requests.xml answers in XML; multivaluelist attributes and a commune-level service", async () => {
      const res = await sen.app.inject({
        method: "POST",
        url: "/open311/v2/requests.xml",
        headers: FORM,
        payload: `api_key=${encodeURIComponent(apiKey)}&service_code=MT01&lat=10.46&long=105.63&description=Ng%E1%BA%ADp+s%C3%A2u&attribute[depth_cm]=40`,
      });
      expect(res.statusCode).toBe(201);
      const doc = parser.parse(res.body);
      const rid = doc.service_requests.request[0].service_request_id;
      expect(rid).toMatch(/^\d+$/);
      const row = await sen.services.db.one<{ agency_code: string; commune_code: string }>("SELECT * FROM reports.reports WHERE id = $1", [rid]);
      expect(row?.agency_code).toBe(`UBND-${row?.commune_code}`);
    });

    it("a bad or missing api_key gives 403 in the spec's error format, JSON and XML, and stores nothing", async () => {
      const before = await sen.count("reports.reports");
      const bad = await sen.app.inject({
        method: "POST",
        url: "/open311/v2/requests.json",
        headers: FORM,
        payload: form({ api_key: "sen_bad_key", service_code: "MT01", lat: "10.46", long: "105.63", description: "x" }),
      });
      expect(bad.statusCode).toBe(403);
      expect(bad.json()).toEqual([{ code: 403, description: "Invalid api_key received -- can't proceed with create_request." }]);
      const none = await sen.app.inject({
        method: "POST",
        url: "/open311/v2/requests.xml",
        headers: FORM,
        payload: form({ service_code: "MT01", lat: "10.46", long: "105.63" }),
      });
      expect(none.statusCode).toBe(403);
      const doc = parser.parse(none.body);
      expect(doc.errors.error[0].code).toBe("403");
      expect(doc.errors.error[0].description).toMatch(/api_key/);
      // A session token of a user is not an Open311 api_key.
      const token = await sen.login();
      const session = await sen.app.inject({
        method: "POST",
        url: "/open311/v2/requests.json",
        headers: FORM,
        payload: form({ api_key: token, service_code: "MT01", lat: "10.46", long: "105.63" }),
      });
      expect(session.statusCode).toBe(403);
      expect(await sen.count("reports.reports")).toBe(before);
    });

    it("bad requests give 400/404 in the spec's format: unknown service, no location, outside the province, bad attribute", async () => {
      const post = (fields: Record<string, string>) =>
        sen.app.inject({ method: "POST", url: "/open311/v2/requests.json", headers: FORM, payload: form({ api_key: apiKey, ...fields }) });
      const unknown = await post({ service_code: "NOPE", lat: "10.46", long: "105.63" });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()[0]).toEqual({ code: 404, description: expect.stringContaining("NOPE") });
      const noLocation = await post({ service_code: "MT01", description: "ngập" });
      expect(noLocation.statusCode).toBe(400);
      expect(noLocation.json()[0].description).toMatch(/location/);
      const cambodia = await post({ service_code: "MT01", lat: "11.56", long: "104.92", description: "Phnom Penh" });
      expect(cambodia.statusCode).toBe(400);
      expect(cambodia.json()[0].description).toMatch(/outside the province/);
      const badAttr = await post({ service_code: "GT01", lat: "10.46", long: "105.63", description: "x", "attribute[road]": "motorway" });
      expect(badAttr.statusCode).toBe(400);
      const missingAttr = await post({ service_code: "GT01", lat: "10.46", long: "105.63", description: "x" });
      expect(missingAttr.statusCode).toBe(400);
      expect(missingAttr.json()[0].description).toMatch(/road.*required/);
    });

    it("GET requests/{id}.json and .xml: the spec's fields, w3 dates, no personal data", async () => {
      const res = await sen.app.inject({ url: `/open311/v2/requests/${id}.json` });
      expect(res.statusCode).toBe(200);
      const [r] = res.json();
      expect(Object.keys(r).sort()).toEqual(
        [
          "service_request_id",
          "status",
          "status_notes",
          "service_name",
          "service_code",
          "description",
          "agency_responsible",
          "service_notice",
          "requested_datetime",
          "updated_datetime",
          "expected_datetime",
          "address",
          "address_id",
          "zipcode",
          "lat",
          "long",
          "media_url",
        ].sort(),
      );
      expect(r).toMatchObject({ service_request_id: id, status: "open", service_code: "GT01", agency_responsible: "Sở Xây dựng", lat: 10.46, long: 105.63 });
      expect(r.requested_datetime).toMatch(W3);
      expect(r.expected_datetime).toMatch(W3);
      expect(new Date(r.expected_datetime).getTime() - new Date(r.requested_datetime).getTime()).toBeCloseTo(120 * 3600_000, -4);
      expect(r.media_url).toBe("http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg");
      for (const body of [
        res.body,
        (await sen.app.inject({ url: `/open311/v2/requests/${id}.xml` })).body,
        (await sen.app.inject({ url: "/open311/v2/requests.json" })).body,
      ])
        for (const secret of ["smit333", "0901234567", "john", "smith", "tt222111"]) expect(body).not.toContain(secret);
      const xml = parser.parse((await sen.app.inject({ url: `/open311/v2/requests/${id}.xml` })).body);
      expect(xml.service_requests.request[0].service_request_id).toBe(id);
      expect(xml.service_requests.request[0].zipcode).toBe("");
      expect((await sen.app.inject({ url: "/open311/v2/requests/999999999.json" })).statusCode).toBe(404);
      expect((await sen.app.inject({ url: "/open311/v2/requests/abc.xml" })).statusCode).toBe(404);
    });

    it("GET requests.json/xml filters: service_request_id, service_code, status, start_date/end_date, bbox, page_size", async () => {
      const get = async (q: string) => {
        const res = await sen.app.inject({ url: `/open311/v2/requests.json?${q}` });
        expect(res.statusCode, res.body).toBe(200);
        return (res.json() as Array<{ service_request_id: string; service_code: string; status: string }>).map((r) => r);
      };
      expect((await get(`service_request_id=${id}`)).map((r) => r.service_request_id)).toEqual([id]);
      expect((await get("service_code=GT01")).every((r) => r.service_code === "GT01")).toBe(true);
      expect((await get("service_code=GT01,MT01")).length).toBeGreaterThanOrEqual(2);
      expect((await get("status=open")).length).toBeGreaterThanOrEqual(2);
      expect((await get("status=open&status=closed")).length).toBe((await get("status=open,closed")).length);
      expect((await get("service_code=GT01&service_code=MT01")).length).toBe((await get("service_code=GT01,MT01")).length);
      expect(await get("status=closed")).toEqual([]);
      const now = Date.now();
      const start = new Date(now - 3600_000).toISOString().replace(/\.\d+Z$/, "Z");
      const end = new Date(now + 3600_000).toISOString().replace(/\.\d+Z$/, "Z");
      expect((await get(`start_date=${start}&end_date=${end}`)).length).toBeGreaterThanOrEqual(2);
      expect(await get("start_date=2010-05-24T00:00:00Z&end_date=2010-06-24T00:00:00Z")).toEqual([]);
      expect((await get("bbox=105.6,10.4,105.7,10.5")).length).toBeGreaterThanOrEqual(2);
      expect(await get("bbox=106.3,10.3,106.4,10.4")).toEqual([]);
      expect((await get("page_size=1")).length).toBe(1);
      expect((await get("page_size=1&page=2")).length).toBe(1);

      const xml = await sen.app.inject({ url: `/open311/v2/requests.xml?start_date=${start}&end_date=${end}&status=open&jurisdiction_id=dongthap.gov.vn` });
      expect(parser.parse(xml.body).service_requests.request.length).toBeGreaterThanOrEqual(2);

      for (const q of [
        "start_date=yesterday",
        "start_date=2010-01-01T00:00:00",
        "start_date=2010-01-01T00:00:00Z&end_date=2010-12-01T00:00:00Z",
        "status=pending",
        "page_size=5000",
        "bbox=1,2,3",
      ]) {
        const res = await sen.app.inject({ url: `/open311/v2/requests.json?${q}` });
        expect(res.statusCode, q).toBe(400);
        expect(res.json()[0].code).toBe(400);
      }
    });

    it("tokens/{token} gives the request id; servicerequestupdates lists public updates", async () => {
      const { token } = (await sen.services.db.one<{ token: string }>("SELECT token FROM reports.reports WHERE id = $1", [id])) as { token: string };
      const res = await sen.app.inject({ url: `/open311/v2/tokens/${token}.json` });
      expect(res.json()).toEqual([{ service_request_id: id, token }]);
      expect((await sen.app.inject({ url: "/open311/v2/tokens/12345.json" })).statusCode).toBe(404);
      const upd = await sen.app.inject({ url: "/open311/v2/servicerequestupdates.xml" });
      const list = parser.parse(upd.body).service_request_updates.request_update;
      expect(list.some((u: { service_request_id: string; status: string }) => u.service_request_id === id && u.status === "open")).toBe(true);
    });

    it("unknown paths under /open311/v2 answer in the spec's format; form bodies stay refused elsewhere", async () => {
      const res = await sen.app.inject({ url: "/open311/v2/nothing.xml" });
      expect(res.statusCode).toBe(404);
      expect(parser.parse(res.body).errors.error[0].code).toBe("404");
      const elsewhere = await sen.app.inject({ method: "POST", url: "/api/auth/login", headers: FORM, payload: "username=admin&password=x" });
      expect(elsewhere.statusCode).toBe(415);
    });

    it("HTML in a description is stored as text and escaped in XML", async () => {
      const evil = `<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"`;
      const res = await sen.app.inject({
        method: "POST",
        url: "/open311/v2/requests.json",
        headers: FORM,
        payload: form({ api_key: apiKey, service_code: "MT02", lat: "10.46", long: "105.63", description: evil }),
      });
      expect(res.statusCode).toBe(201);
      const rid = res.json()[0].service_request_id;
      expect((await sen.app.inject({ url: `/open311/v2/requests/${rid}.json` })).json()[0].description).toBe(evil);
      const xml = (await sen.app.inject({ url: `/open311/v2/requests/${rid}.xml` })).body;
      expect(xml).not.toContain("<script>");
      expect(xml).toContain("&lt;script&gt;");
      expect(parser.parse(xml).service_requests.request[0].description).toBe(evil.replace(/&/g, "&amp;").replace(/&amp;/g, "&"));
    });
  });
}
