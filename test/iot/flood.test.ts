// The done-when of the flood rule, end to end: a water-level station at Tân Châu publishes over
// MQTT; the alarm follows the official levels with hysteresis and never flaps.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SenEvent } from "../../src/core/events/bus.ts";
import { type TestSen, auth, dbTargets, startSen } from "../helpers.ts";
import { connectDevice, end, publish, registerTanChau } from "./util.ts";

for (const target of dbTargets()) {
  describe(`flood alarms on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    const events: SenEvent[] = [];
    beforeAll(async () => {
      sen = await startSen(target);
      admin = await sen.login();
      sen.services.bus.subscribe((e) => e.topic.startsWith("alarm.") && events.push(e));
      await registerTanChau(sen, admin, "TANCHAU-FLOOD-1");
    });
    afterAll(() => sen?.dispose());

    const active = async () =>
      (await sen.app.inject({ url: "/api/alarms?status=active&device=wl-tan-chau", headers: auth(admin) })).json() as Array<{
        id: string;
        severity: string;
        type: string;
      }>;

    it("raises at BĐ2, escalates at BĐ3, steps down with hysteresis, does not flap, clears below BĐ1", async () => {
      const c = await connectDevice(sen.mqttPort as number, "TANCHAU-FLOOD-1");
      const t0 = Date.now() - 600_000;
      let i = 0;
      const send = async (level: number) => {
        await publish(c, "v1/devices/me/telemetry", JSON.stringify({ ts: t0 + i++ * 10_000, values: { waterLevel: level } }));
      };
      const severityAfter = async (level: number) => {
        await send(level);
        await expect.poll(async () => (await active())[0]?.severity ?? "none").toBe(expected(level));
        return (await active())[0]?.severity ?? "none";
      };
      // What a person expects at each step of this sequence.
      const steps: Array<[number, string]> = [
        [3.2, "none"],
        [3.6, "minor"],
        [4.12, "major"],
        [4.6, "critical"],
        [4.2, "major"],
        [3.98, "major"],
        [4.02, "major"],
        [3.99, "major"],
        [4.01, "major"],
        [3.96, "major"],
        [3.94, "minor"],
        [3.47, "minor"],
        [3.44, "none"],
      ];
      let k = 0;
      const expected = (_: number) => steps[k][1];
      for (; k < steps.length; k++) expect(await severityAfter(steps[k][0]), `after ${steps[k][0]} m`).toBe(steps[k][1]);
      await end(c);

      const all = (await sen.app.inject({ url: "/api/alarms?device=wl-tan-chau", headers: auth(admin) })).json();
      expect(all).toHaveLength(1);
      const detail = (await sen.app.inject({ url: `/api/alarms/${all[0].id}`, headers: auth(admin) })).json();
      const kinds = detail.history.map((h: { kind: string }) => h.kind).filter((k: string) => k !== "value");
      expect(kinds).toEqual(["raised", "escalated", "escalated", "deescalated", "deescalated", "cleared"]);
      expect(detail).toMatchObject({ status: "cleared", type: "flood-level", commune: null, agency: "SNNMT" });
      expect(events.map((e) => e.topic)).toContain("alarm.raised");
      expect(events.map((e) => e.topic)).toContain("alarm.cleared");
    });

    it("an operator acknowledges and comments; the audit trail has it", async () => {
      const c = await connectDevice(sen.mqttPort as number, "TANCHAU-FLOOD-1");
      await publish(c, "v1/devices/me/telemetry", JSON.stringify({ waterLevel: 4.3 }));
      await end(c);
      await expect.poll(async () => (await active()).length).toBe(1);
      const [alarm] = await active();
      const ack = await sen.app.inject({ method: "POST", url: `/api/alarms/${alarm.id}/ack`, headers: auth(admin) });
      expect(ack.statusCode, ack.body).toBe(200);
      const note = await sen.app.inject({
        method: "POST",
        url: `/api/alarms/${alarm.id}/comments`,
        headers: auth(admin),
        payload: { text: "Đã báo UBND các xã ven sông." },
      });
      expect(note.statusCode).toBe(201);
      const audit = (await sen.app.inject({ url: `/api/audit?targetId=${alarm.id}`, headers: auth(admin) }))
        .json()
        .entries.map((e: { action: string }) => e.action);
      expect(audit).toEqual(["alarm.comment", "alarm.ack"]);
    });
  });
}
