// The done-when of warnings, end to end: Tân Châu rises through 4.0 m over MQTT → a flood draft
// for the communes downstream; the author cannot approve it; a second officer publishes it as
// CAP 1.2 that validates against the official schema; feeds list it; cancel and update publish
// linked messages; expiry ends an alert.
import { pointOnFeature } from "@turf/turf";
import type { Feature } from "geojson";
import { XMLParser } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestSen, auth, dbTargets, startSen } from "../helpers.ts";
import { connectDevice, end, publish, registerTanChau } from "../iot/util.ts";
import { TAN_CHAU_INFLUENCE, draftBody, expectValidCap, post, user } from "./util.ts";

const atom = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@_", isArray: (n) => n === "entry" || n === "item" || n === "link" });

for (const target of dbTargets()) {
  describe(`alerts workflow on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    let op1: { token: string; id: string };
    let op2: { token: string; id: string };
    let officer: { token: string; id: string };
    let citizen: { token: string; id: string };
    let floodId: string;

    beforeAll(async () => {
      sen = await startSen(target);
      admin = await sen.login();
      op1 = await user(sen, admin, "op1", ["operator"], "TTCDS");
      op2 = await user(sen, admin, "op2", ["operator"], "TTCDS");
      officer = await user(sen, admin, "health1", ["agency_officer"], "SNNMT");
      citizen = await user(sen, admin, "dan1", ["citizen"], null);
      await registerTanChau(sen, admin, "TANCHAU-ALERT-1", { floodInfluence: TAN_CHAU_INFLUENCE });
    });
    afterAll(() => sen?.dispose());

    const drafts = async () =>
      (await sen.app.inject({ url: "/api/alerts?state=draft,submitted&hazard=flood", headers: auth(op1.token) })).json() as Array<
        Record<string, unknown> & {
          id: string;
          communes: string[];
          area: { communes: string[] };
          infos: Array<{ language: string; headline: string }>;
          source: { deviceId: string };
          severity: string;
        }
      >;

    it("Tân Châu rising through 4.0 m yields one flood draft for the communes of its area of influence", async () => {
      const c = await connectDevice(sen.mqttPort as number, "TANCHAU-ALERT-1");
      const t0 = Date.now() - 600_000;
      let i = 0;
      const send = (level: number) => publish(c, "v1/devices/me/telemetry", JSON.stringify({ ts: t0 + i++ * 10_000, values: { waterLevel: level } }));
      await send(3.6); // BĐ1: an alarm, no warning yet
      await send(3.8);
      await expect
        .poll(async () => (await sen.app.inject({ url: "/api/alarms?status=active&device=wl-tan-chau", headers: auth(admin) })).json().length)
        .toBe(1);
      expect(await drafts()).toHaveLength(0);
      await send(4.05); // BĐ2
      await expect.poll(async () => (await drafts()).length, { timeout: 10_000 }).toBe(1);
      let [d] = await drafts();
      expect(d).toMatchObject({ state: "draft", hazard: "flood", msgType: "Alert", severity: "Severe", categories: ["Met"], agency: "SNNMT" });
      expect(d.communes).toEqual([...TAN_CHAU_INFLUENCE].sort());
      expect(d.area.communes).toEqual(TAN_CHAU_INFLUENCE);
      expect(d.infos.map((x: { language: string }) => x.language)).toEqual(["vi-VN", "en-US"]);
      expect(d.infos[0].headline).toContain("4.05");
      expect(d.infos[0].headline).toContain("Tân Châu");
      expect(d.source.deviceId).toBe("wl-tan-chau");
      // BĐ3: the same alarm escalates; its draft follows, and there is still one draft.
      await send(4.6);
      await expect.poll(async () => (await drafts())[0]?.severity).toBe("Extreme");
      await send(4.7);
      await end(c);
      expect(await drafts()).toHaveLength(1);
      [d] = await drafts();
      floodId = d.id;
    });

    it("citizens do not see drafts", async () => {
      expect((await sen.app.inject({ url: "/api/alerts?state=draft", headers: auth(citizen.token) })).statusCode).toBe(403);
      expect((await sen.app.inject({ url: `/api/alerts/${floodId}`, headers: auth(citizen.token) })).statusCode).toBe(404);
      expect((await sen.app.inject({ url: `/api/alerts/${floodId}` })).statusCode).toBe(404);
      expect((await post(sen, citizen.token, `/api/alerts/${floodId}/submit`)).statusCode).toBe(403);
      expect((await sen.app.inject({ url: `/cap/alerts/${floodId}.xml` })).statusCode).toBe(404);
    });

    it("the author cannot approve; a second officer publishes CAP 1.2 that validates", async () => {
      const sub = await post(sen, op1.token, `/api/alerts/${floodId}/submit`);
      expect(sub.statusCode, sub.body).toBe(200);
      expect(sub.json().state).toBe("submitted");
      const self = await post(sen, op1.token, `/api/alerts/${floodId}/approve`);
      expect(self.statusCode).toBe(403);
      expect(self.json().type).toBe("urn:sen:problem:own-draft");
      // Agency officers may draft but not approve.
      expect((await post(sen, officer.token, `/api/alerts/${floodId}/approve`)).statusCode).toBe(403);
      expect((await sen.app.inject({ url: `/api/alerts/${floodId}` })).statusCode).toBe(404);
      const ok = await post(sen, op2.token, `/api/alerts/${floodId}/approve`);
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json()).toMatchObject({ state: "published", current: true, approvedBy: op2.id });
      // A second approval of the same alert is a conflict, not a second publication.
      expect((await post(sen, op2.token, `/api/alerts/${floodId}/approve`)).statusCode).toBe(409);

      const xml = await expectValidCap(sen, floodId);
      expect(xml).toMatch(/<sent>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00<\/sent>/);
      expect(xml).toContain("<msgType>Alert</msgType>");
      expect(xml).toContain("<language>vi-VN</language>");
      expect(xml).toContain("<language>en-US</language>");
      for (const c of TAN_CHAU_INFLUENCE) expect(xml).toContain(`<value>${c}</value>`);
      expect(xml).toContain("<severity>Extreme</severity>");
    });

    it("publishes feeds (Atom and RSS, per commune) and answers queries by commune and by point", async () => {
      const res = await sen.app.inject({ url: "/cap/feed.atom" });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toContain("application/atom+xml");
      expect(Buffer.byteLength(res.body)).toBeLessThan(100_000);
      const doc = atom.parse(res.body);
      expect(doc.feed["@_xmlns"]).toBe("http://www.w3.org/2005/Atom");
      expect(doc.feed.id).toBeTruthy();
      expect(doc.feed.updated).toMatch(/\+07:00$/);
      const entry = doc.feed.entry.find((e: { id: string }) => e.id === `urn:uuid:${floodId}`);
      expect(entry.link[0]).toMatchObject({ "@_type": "application/cap+xml", "@_href": expect.stringContaining(`/cap/alerts/${floodId}.xml`) });
      expect(new Set(doc.feed.entry.map((e: { id: string }) => e.id)).size).toBe(doc.feed.entry.length);

      const rss = atom.parse((await sen.app.inject({ url: "/cap/feed.rss?lang=en" })).body);
      expect(rss.rss.channel.item.map((x: { title: string }) => x.title)).toEqual([expect.stringContaining("Flood warning")]);

      const here = atom.parse((await sen.app.inject({ url: `/cap/communes/${TAN_CHAU_INFLUENCE[0]}/feed.atom` })).body);
      expect(here.feed.entry).toHaveLength(1);
      const elsewhere = atom.parse((await sen.app.inject({ url: "/cap/communes/28249/feed.atom" })).body);
      expect(elsewhere.feed.entry ?? []).toHaveLength(0);

      const byCommune = (await sen.app.inject({ url: `/api/alerts?commune=${TAN_CHAU_INFLUENCE[1]}&current=true` })).json();
      expect(byCommune.map((a: { id: string }) => a.id)).toEqual([floodId]);
      const commune = sen.services.geo.communeFeature(TAN_CHAU_INFLUENCE[2]) as Feature;
      const [lon, lat] = pointOnFeature(commune as never).geometry.coordinates;
      const byPoint = (await sen.app.inject({ url: `/api/alerts?lat=${lat}&lon=${lon}` })).json();
      expect(byPoint.map((a: { id: string }) => a.id)).toEqual([floodId]);
      const far = (await sen.app.inject({ url: "/api/alerts?lat=10.35&lon=106.36" })).json();
      expect(far).toEqual([]);
    });

    it("cancel publishes a Cancel referencing the alert, which ends", async () => {
      const before = (await sen.app.inject({ url: `/api/alerts/${floodId}` })).json();
      const res = await post(sen, op2.token, `/api/alerts/${floodId}/cancel`, { reason: "Nước đã rút dưới BĐ2." });
      expect(res.statusCode, res.body).toBe(200);
      const cancel = res.json();
      expect(cancel).toMatchObject({ msgType: "Cancel", state: "published", referencesId: floodId });
      expect(cancel.references).toBe(`${before.sender},${before.identifier},${toVn(before.sent)}`);
      const xml = await expectValidCap(sen, cancel.id);
      expect(xml).toContain("<msgType>Cancel</msgType>");
      expect(xml).toContain(`<references>${before.sender},${before.identifier},`);
      const after = (await sen.app.inject({ url: `/api/alerts/${floodId}` })).json();
      expect(after).toMatchObject({ current: false, endReason: "cancelled", supersededBy: cancel.id });
      // Cancelling twice is refused.
      expect((await post(sen, op2.token, `/api/alerts/${floodId}/cancel`, { reason: "again" })).statusCode).toBe(409);
      // The feed carries the Cancel (so consumers learn of it), not the cancelled alert.
      const ids = atom.parse((await sen.app.inject({ url: "/cap/feed.atom" })).body).feed.entry.map((e: { id: string }) => e.id);
      expect(ids).toEqual([`urn:uuid:${cancel.id}`]);

      const trail = (await sen.app.inject({ url: `/api/audit?targetId=${floodId}&limit=50`, headers: auth(admin) })).json().entries;
      const actions = trail.map((e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`);
      for (const a of [
        "alert.draft:success",
        "alert.escalate:success",
        "alert.submit:success",
        "alert.approve:denied",
        "alert.publish:success",
        "alert.end:success",
      ])
        expect(actions).toContain(a);
    });

    it("an agency officer drafts, an operator publishes, an update replaces it", async () => {
      const bad = await post(sen, officer.token, "/api/alerts", draftBody({ infos: [{ language: "en", event: "x", headline: "only English" }] }));
      expect(bad.statusCode).toBe(400);
      const before = await sen.count("alerts.alerts");
      expect((await post(sen, officer.token, "/api/alerts", draftBody({ area: { communes: ["99999"] } }))).statusCode).toBe(400);
      expect(
        (
          await post(
            sen,
            officer.token,
            "/api/alerts",
            draftBody({
              area: {
                polygons: [
                  [
                    [10, 105],
                    [10.1, 105],
                  ],
                ],
              },
            }),
          )
        ).statusCode,
      ).toBe(400);
      expect((await post(sen, officer.token, "/api/alerts", { ...draftBody(), extra: 1 })).statusCode).toBe(400);
      expect(await sen.count("alerts.alerts")).toBe(before);

      const created = await post(
        sen,
        officer.token,
        "/api/alerts",
        draftBody({
          area: {
            communes: ["29971"],
            circles: [{ lat: 10.45, lon: 105.63, radiusKm: 3 }],
            polygons: [
              [
                [10.3, 105.7],
                [10.3, 105.75],
                [10.35, 105.75],
              ],
            ],
          },
        }),
      );
      expect(created.statusCode, created.body).toBe(201);
      const d = created.json();
      expect(d.communes.length).toBeGreaterThan(2);
      expect(d.communes).toContain("29971");
      // Stale edits are refused.
      const edit = await sen.app.inject({
        method: "PATCH",
        url: `/api/alerts/${d.id}`,
        headers: auth(officer.token),
        payload: { version: d.version, severity: "Severe" },
      });
      expect(edit.statusCode, edit.body).toBe(200);
      const stale = await sen.app.inject({
        method: "PATCH",
        url: `/api/alerts/${d.id}`,
        headers: auth(officer.token),
        payload: { version: d.version, severity: "Minor" },
      });
      expect(stale.statusCode).toBe(409);
      expect((await post(sen, officer.token, `/api/alerts/${d.id}/submit`)).statusCode).toBe(200);
      // Returned with a reason, edited, submitted again, then approved.
      expect((await post(sen, op1.token, `/api/alerts/${d.id}/reject`, { reason: "Thêm hướng dẫn." })).json().state).toBe("draft");
      expect((await post(sen, officer.token, `/api/alerts/${d.id}/submit`)).statusCode).toBe(200);
      const pub = await post(sen, op1.token, `/api/alerts/${d.id}/approve`);
      expect(pub.statusCode, pub.body).toBe(200);
      const xml = await expectValidCap(sen, d.id);
      expect(xml).toContain("<circle>10.45,105.63 3</circle>");
      expect(xml).toContain("<polygon>10.3,105.7 10.3,105.75 10.35,105.75 10.3,105.7</polygon>");

      const up = await post(sen, officer.token, `/api/alerts/${d.id}/update`);
      expect(up.statusCode, up.body).toBe(201);
      expect(up.json()).toMatchObject({ msgType: "Update", state: "draft", referencesId: d.id });
      expect((await post(sen, officer.token, `/api/alerts/${d.id}/update`)).statusCode).toBe(409);
      const infos = up.json().infos.map((i: { language: string; event: string; headline: string; description: string }) => ({
        language: i.language.slice(0, 2),
        event: i.event,
        headline: `${i.headline} (cập nhật)`,
        description: i.description,
      }));
      expect(
        (
          await sen.app.inject({
            method: "PATCH",
            url: `/api/alerts/${up.json().id}`,
            headers: auth(officer.token),
            payload: { version: up.json().version, infos },
          })
        ).statusCode,
      ).toBe(200);
      expect((await post(sen, officer.token, `/api/alerts/${up.json().id}/submit`)).statusCode).toBe(200);
      const upd = await post(sen, op2.token, `/api/alerts/${up.json().id}/approve`);
      expect(upd.statusCode, upd.body).toBe(200);
      expect(upd.json().references).toContain(`urn:uuid:${d.id}`);
      const uxml = await expectValidCap(sen, up.json().id);
      expect(uxml).toContain("<msgType>Update</msgType>");
      expect((await sen.app.inject({ url: `/api/alerts/${d.id}` })).json()).toMatchObject({ current: false, endReason: "updated" });
    });

    it("expiry ends an alert", async () => {
      const created = await post(sen, officer.token, "/api/alerts", draftBody({ expires: new Date(Date.now() + 1500).toISOString() }));
      const id = created.json().id;
      await post(sen, officer.token, `/api/alerts/${id}/submit`);
      expect((await post(sen, op1.token, `/api/alerts/${id}/approve`)).statusCode).toBe(200);
      await expectValidCap(sen, id);
      await new Promise((r) => setTimeout(r, 1600));
      await expect
        .poll(() => sen.services.alerts.service.expireDue().then(async () => (await sen.app.inject({ url: `/api/alerts/${id}` })).json().endReason))
        .toBe("expired");
      expect((await sen.app.inject({ url: "/api/alerts?current=true" })).json().map((a: { id: string }) => a.id)).not.toContain(id);
    });
  });
}

/** An ISO instant as the CAP date Sen writes (+07:00, whole seconds). */
function toVn(isoUtc: string): string {
  const t = Date.parse(isoUtc);
  return `${new Date(t + 7 * 3_600_000).toISOString().slice(0, 19)}+07:00`;
}
