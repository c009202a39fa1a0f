// Import of other authorities' CAP: the real example alerts import; hostile XML (XXE, billion
// laughs, depth bombs, oversize, malformed) is refused without reading files or exhausting
// memory; an invalid alert is refused with its reasons and nothing is written.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestSen, auth, dbTargets, startSen } from "../helpers.ts";
import { SPECS, user } from "./util.ts";

const EXAMPLES = path.join(SPECS, "examples");

const MINIMAL = (body: string, ns = "urn:oasis:names:tc:emergency:cap:1.2") => `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="${ns}">
  <identifier>KTTV-2025-0001</identifier>
  <sender>nchmf@kttv.gov.vn</sender>
  <sent>2025-10-01T08:00:00+07:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  ${body}
</alert>`;

for (const target of dbTargets()) {
  describe(`CAP import on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    beforeAll(async () => {
      sen = await startSen(target);
      admin = await sen.login();
    });
    afterAll(() => sen?.dispose());

    const send = (xml: string, token = admin, type = "application/xml") =>
      sen.app.inject({ method: "POST", url: "/api/alerts/import", headers: { ...auth(token), "content-type": type }, payload: xml });

    it("imports every example alert and feed of the CAP specification folder", async () => {
      const files = readdirSync(EXAMPLES).sort();
      expect(files.length).toBeGreaterThanOrEqual(10);
      let imported = 0;
      for (const f of files) {
        const xml = readFileSync(path.join(EXAMPLES, f), "utf8");
        const res = await send(xml, admin, f.endsWith(".atom") ? "application/atom+xml" : "application/cap+xml");
        expect(res.statusCode, `${f}: ${res.body}`).toBe(200);
        const body = res.json();
        expect(body.refused, f).toEqual([]);
        expect(body.imported.length, f).toBeGreaterThan(0);
        imported += body.imported.filter((x: { created: boolean }) => x.created).length;
      }
      expect(imported).toBe(11); // 8 alerts + 1 embedded in amber.atom + 2 index entries of weather_index.atom
      // Importing again creates nothing new.
      const again = await send(readFileSync(path.join(EXAMPLES, "canada.cap"), "utf8"));
      expect(again.json().imported[0].created).toBe(false);
      const list = (await sen.app.inject({ url: "/api/alerts?origin=import&limit=100" })).json();
      expect(list).toHaveLength(11);
      const quake = list.find((a: { identifier: string }) => a.identifier.startsWith("USGS-earthquakes"));
      expect(quake).toMatchObject({ origin: "import", state: "published", categories: ["Geo"], msgType: "Alert" });
      // An imported document is served as it came.
      const doc = await sen.app.inject({ url: `/cap/alerts/${quake.id}.xml` });
      expect(doc.body).toBe(readFileSync(path.join(EXAMPLES, "earthquake.cap"), "utf8"));
    });

    it("an alert for the province's communes is targeted by geocode and polygon", async () => {
      const xml = MINIMAL(`<info><language>vi-VN</language><category>Met</category><event>Lũ</event><urgency>Expected</urgency>
        <severity>Severe</severity><certainty>Likely</certainty><headline>Lũ trên sông Tiền</headline>
        <area><areaDesc>Hồng Ngự</areaDesc><polygon>10.80,105.30 10.80,105.36 10.84,105.36 10.84,105.30 10.80,105.30</polygon>
        <geocode><valueName>VN-DVHC</valueName><value>29971</value></geocode></area></info>`);
      const res = await send(xml);
      expect(res.statusCode, res.body).toBe(200);
      const a = (await sen.app.inject({ url: `/api/alerts/${res.json().imported[0].id}` })).json();
      expect(a.area.communes).toEqual(["29971"]);
      expect(a.communes.length).toBeGreaterThan(1);
      expect((await sen.app.inject({ url: "/api/alerts?commune=29971&origin=import" })).json().map((x: { id: string }) => x.id)).toContain(a.id);
    });

    it("reads texts written with character references", async () => {
      const xml = MINIMAL(`<info><language>vi-VN</language><category>Met</category><event>L&#361;</event><urgency>Expected</urgency>
        <severity>Severe</severity><certainty>Likely</certainty><headline>Ng&#x1EAD;p l&#7909;t &amp; s&#7841;t l&#7903;</headline>
        <area><areaDesc>H&#x1ED3;ng Ng&#x1EF1;</areaDesc><geocode><valueName>VN-DVHC</valueName><value>29971</value></geocode></area></info>`).replace(
        "KTTV-2025-0001",
        "KTTV-2025-0002",
      );
      const res = await send(xml);
      expect(res.statusCode, res.body).toBe(200);
      const a = JSON.stringify((await sen.app.inject({ url: `/api/alerts/${res.json().imported[0].id}` })).json());
      for (const t of ["Lũ", "Ngập lụt & sạt lở", "Hồng Ngự"]) expect(a).toContain(t);
      expect(a).not.toContain("&#");
    });

    it("refuses XXE without reading the file", async () => {
      const before = await sen.count("alerts.alerts");
      for (const xxe of [
        `<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${MINIMAL("<note>&xxe;</note>").replace(/^<\?xml[^>]*\?>/, "")}`,
        `<?xml version="1.0"?><!DOCTYPE alert SYSTEM "http://127.0.0.1:1/evil.dtd">${MINIMAL("").replace(/^<\?xml[^>]*\?>/, "")}`,
        `<?xml version="1.0"?><!doctype alert [<!entity % p SYSTEM "file:///etc/hostname"> %p;]><alert/>`,
      ]) {
        const res = await send(xxe);
        expect(res.statusCode, res.body).toBe(422);
        expect(res.json().reasons.join(" ")).toContain("DTD");
        expect(res.body).not.toContain("root:");
      }
      expect(await sen.count("alerts.alerts")).toBe(before);
    });

    it("refuses a billion-laughs payload at once, and depth and size bombs", async () => {
      const lol = [
        `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">`,
        ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ""};`.repeat(10)}">`),
        "]><alert>&lol9;</alert>",
      ].join("");
      const heap = process.memoryUsage().heapUsed;
      const res = await send(lol);
      expect(res.statusCode).toBe(422);
      expect(process.memoryUsage().heapUsed - heap).toBeLessThan(200 * 1024 * 1024);

      const deep = `<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">${"<a>".repeat(5000)}${"</a>".repeat(5000)}</alert>`;
      const d = await send(deep);
      expect(d.statusCode).toBe(422);
      expect(d.json().reasons[0]).toContain("nested deeper");

      const big = MINIMAL(`<note>${"x".repeat(2 * 1024 * 1024)}</note>`);
      expect((await send(big)).statusCode).toBe(413);
    });

    it("refuses malformed XML and invalid alerts with the reasons, writing nothing", async () => {
      const before = await sen.count("alerts.alerts");
      const broken = await send("<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x</identifier>");
      expect(broken.statusCode).toBe(422);
      expect(broken.json().reasons[0]).toContain("well-formed");

      const invalid = await send(
        MINIMAL(`<info><category>Weather</category><urgency>Now</urgency><severity>Severe</severity><certainty>Likely</certainty>
          <expires>2025-10-01 08:00</expires><area><polygon>1,2 3,4</polygon></area></info>`).replace("<msgType>Alert</msgType>", "<msgType>Cancel</msgType>"),
      );
      expect(invalid.statusCode).toBe(422);
      const reasons: string[] = invalid.json().reasons;
      for (const r of [
        "a Cancel needs references",
        'category[0] "Weather"',
        "event is missing",
        'urgency "Now"',
        'expires "2025-10-01 08:00"',
        "areaDesc is missing",
        "polygon[0]",
      ])
        expect(reasons.join("\n")).toContain(r);

      const notCap = await send(MINIMAL("", "urn:example:not-cap"));
      expect(notCap.statusCode).toBe(422);
      expect(notCap.json().reasons[0]).toContain("namespace");
      expect((await send("<html><body>hi</body></html>")).statusCode).toBe(422);
      expect((await send("{}", admin, "application/json")).statusCode).toBe(415);
      expect(await sen.count("alerts.alerts")).toBe(before);
    });

    it("only staff with alerts:manage import", async () => {
      const officer = await user(sen, admin, "imp-officer", ["agency_officer"], "SNNMT");
      expect((await send(MINIMAL(""), officer.token)).statusCode).toBe(403);
      expect(
        (await sen.app.inject({ method: "POST", url: "/api/alerts/import", headers: { "content-type": "application/xml" }, payload: MINIMAL("") })).statusCode,
      ).toBe(401);
    });
  });
}
