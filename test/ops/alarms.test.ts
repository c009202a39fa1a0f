// Alarms on a real database: the rule engine raising, escalating and clearing them, restarts and
// concurrent processes, the people's actions through the HTTP API, and who sees what.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { RuleSpec, TelemetryPoint } from "../../src/iot/types.ts";
import { TAN_CHAU_LEVELS, hydrologyRule } from "../../src/ops/index.ts";
import type { AlarmEvent } from "../../src/ops/index.ts";
import { auth, dbTargets } from "../helpers.ts";
import { type OpsHarness, device, startOps } from "./harness.ts";

const MIN = 60_000;
/** Events arrive after commit through LISTEN/NOTIFY: wait for them (not a timing assertion). */
const WAIT = { timeout: 10_000 };
const FLOOD = hydrologyRule(TAN_CHAU_LEVELS);
const SILENT: RuleSpec = { id: "silent", kind: "nodata", name: "Trạm không gửi dữ liệu", key: "waterLevel", minutes: 30, severity: "warning" };
const SURGE: RuleSpec = { id: "surge", kind: "rate", key: "waterLevel", maxChangePerMinute: 0.1, severity: "major" };

interface Row {
  id: string;
  severity: string;
  status: string;
  acknowledged: boolean;
  acked_by: string | null;
  value: unknown;
  type: string;
  name: string;
  cleared_by: string | null;
  started_at: Date;
}

/** Readings one minute apart, starting an hour ago unless told. */
let clock = Date.now() - 6 * 3600_000;
const readings = (values: Array<number>, key = "waterLevel"): TelemetryPoint[] =>
  values.map((value) => {
    clock += MIN;
    return { key, value, ts: clock, outOfRange: false };
  });

for (const target of dbTargets()) {
  describe(`alarms on ${target.name}`, () => {
    let h: OpsHarness;
    beforeAll(async () => {
      h = await startOps(target);
    }, 60_000);
    afterAll(() => h?.dispose());

    const alarmsOf = (deviceId: string) => h.db.query<Row>("SELECT * FROM ops.alarms WHERE device_id = $1 ORDER BY started_at, updated_at", [deviceId]);
    const active = async (deviceId: string) => (await alarmsOf(deviceId)).filter((a) => a.status === "active");
    const historyOf = (alarmId: string) =>
      h.db.query<{ kind: string; actor: string; details: Record<string, unknown> }>(
        "SELECT kind, actor, details FROM ops.alarm_history WHERE alarm_id = $1 ORDER BY id",
        [alarmId],
      );
    /** Alarm events of a device, without the throttled value updates. */
    const eventsOf = (deviceId: string) =>
      h.events.filter((e) => e.topic.startsWith("alarm.") && (e.payload as AlarmEvent).deviceId === deviceId && (e.payload as AlarmEvent).change !== "value");
    const feed = (dev: ReturnType<typeof device>, rules: RuleSpec[], values: number[]) => h.ops.rules.onPoints(dev, rules, readings(values));
    const api = async (user: string, method: "GET" | "POST", url: string, payload?: unknown) =>
      h.app.inject({ method, url, headers: auth(await h.token(user)), ...(payload === undefined ? {} : { payload: payload as object }) });

    it("Tân Châu: BĐ1 raises minor, 4.12 m escalates to major, 4.6 m to critical; it steps down after the hysteresis, never flaps at 4.0 m, and clears below 3.45 m", async () => {
      const dev = device({ name: "Trạm Tân Châu" });
      const steps: Array<[number, string | null]> = [
        [3.2, null],
        [3.6, "minor"],
        [4.12, "major"],
        [4.6, "critical"],
        [4.47, "critical"],
        [4.2, "major"],
        [3.98, "major"],
        [4.02, "major"],
        [3.99, "major"],
        [4.01, "major"],
        [3.47, "minor"],
        [3.44, null],
      ];
      for (const [value, severity] of steps) {
        await feed(dev, [FLOOD], [value]);
        const now = await active(dev.id);
        expect(
          now.map((a) => a.severity),
          `after ${value}`,
        ).toEqual(severity ? [severity] : []);
      }
      const all = await alarmsOf(dev.id);
      expect(all).toHaveLength(1);
      expect(all[0]).toMatchObject({ status: "cleared", type: "flood-level", name: FLOOD.name, value: 3.44, cleared_by: null });
      expect((await historyOf(all[0].id)).filter((x) => x.kind !== "value").map((x) => `${x.kind}:${x.details.to ?? x.details.severity ?? ""}`)).toEqual([
        "raised:minor",
        "escalated:major",
        "escalated:critical",
        "deescalated:major",
        "deescalated:minor",
        "cleared:",
      ]);
      expect((await historyOf(all[0].id)).every((x) => x.actor === "system")).toBe(true);

      await vi.waitFor(() => expect(eventsOf(dev.id).map((e) => e.topic)).toContain("alarm.cleared"), WAIT);
      const events = eventsOf(dev.id);
      expect(events.map((e) => `${e.topic}/${(e.payload as AlarmEvent).change}/${(e.payload as AlarmEvent).severity}`)).toEqual([
        "alarm.raised/raised/minor",
        "alarm.updated/escalated/major",
        "alarm.updated/escalated/critical",
        "alarm.updated/deescalated/major",
        "alarm.updated/deescalated/minor",
        "alarm.cleared/cleared/minor",
      ]);
      expect(events.every((e) => e.audience === "agency:SNNMT")).toBe(true);
      expect(events[0].payload).toMatchObject({ deviceId: dev.id, deviceName: "Trạm Tân Châu", ruleId: "flood-level", status: "active", agency: "SNNMT" });
    });

    it("the same readings in one batch give the same history", async () => {
      const dev = device();
      await feed(dev, [FLOOD], [3.2, 3.6, 4.12, 4.6, 4.47, 4.2, 3.98, 4.02, 3.99, 4.01, 3.47, 3.44]);
      const all = await alarmsOf(dev.id);
      expect(all).toHaveLength(1);
      expect((await historyOf(all[0].id)).map((x) => x.kind)).toEqual(["raised", "escalated", "escalated", "deescalated", "deescalated", "cleared"]);
    });

    it("keeps the latest reading on the active alarm without new history", async () => {
      const dev = device();
      await feed(dev, [FLOOD], [4.2]);
      await feed(dev, [FLOOD], [4.25, 4.31]);
      const [a] = await active(dev.id);
      expect(a).toMatchObject({ severity: "major", value: 4.31 });
      expect((await historyOf(a.id)).map((x) => x.kind)).toEqual(["raised"]);
      // Readings seconds apart rewrite the alarm at most every 10 s of readings' time; a clear always carries its reading.
      const at = clock;
      const sec = (value: number, s: number) => ({ key: "waterLevel", value, ts: at + s * 1000, outOfRange: false });
      await h.ops.rules.onPoints(dev, [FLOOD], [sec(4.32, 1), sec(4.33, 2)]);
      expect((await active(dev.id))[0].value).toBe(4.31);
      await h.ops.rules.onPoints(dev, [FLOOD], [sec(4.34, 12)]);
      expect((await active(dev.id))[0].value).toBe(4.34);
      await h.ops.rules.onPoints(dev, [FLOOD], [sec(3.1, 13)]);
      expect((await alarmsOf(dev.id))[0]).toMatchObject({ status: "cleared", value: 3.1 });
      clock += 60_000;
    });

    it("a device without an agency publishes to staff; an alarm of another agency's device reaches both agencies once assigned", async () => {
      const dev = device({ agency: null });
      await feed(dev, [FLOOD], [4.2]);
      await vi.waitFor(() => expect(eventsOf(dev.id)).toHaveLength(1), WAIT);
      expect(eventsOf(dev.id)[0].audience).toBe("staff");

      const syt = device({ agency: "SYT" });
      await feed(syt, [FLOOD], [4.2]);
      const [a] = await active(syt.id);
      const res = await api("admin", "POST", `/api/alarms/${a.id}/assign`, { agency: "SNNMT" });
      expect(res.statusCode, res.body).toBe(200);
      await vi.waitFor(() => expect(eventsOf(syt.id).filter((e) => (e.payload as AlarmEvent).change === "assigned")).toHaveLength(2), WAIT);
      expect(
        eventsOf(syt.id)
          .filter((e) => (e.payload as AlarmEvent).change === "assigned")
          .map((e) => e.audience)
          .sort(),
      ).toEqual(["agency:SNNMT", "agency:SYT"]);
    });

    it("acknowledging is audited; an escalation makes the alarm unacknowledged again, a de-escalation does not", async () => {
      const dev = device();
      await feed(dev, [FLOOD], [3.7]);
      const [a] = await active(dev.id);
      await h.token("op"); // signing in is audited too: do it first
      const auditBefore = await h.count("core.audit_log");
      const res = await api("op", "POST", `/api/alarms/${a.id}/ack`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ id: a.id, acknowledged: true, ackedBy: "op", severity: "minor" });
      expect(res.json().ackedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(await h.count("core.audit_log")).toBe(auditBefore + 1);
      const entry = await h.db.one<{ action: string; actor_name: string; target_id: string }>(
        "SELECT action, actor_name, target_id FROM core.audit_log ORDER BY id DESC LIMIT 1",
      );
      expect(entry).toEqual({ action: "alarm.ack", actor_name: "op", target_id: a.id });

      await feed(dev, [FLOOD], [4.1]);
      expect((await active(dev.id))[0]).toMatchObject({ id: a.id, severity: "major", acknowledged: false, acked_by: null });
      expect((await api("op", "POST", `/api/alarms/${a.id}/ack`)).statusCode).toBe(200);
      await feed(dev, [FLOOD], [3.8]);
      expect((await active(dev.id))[0]).toMatchObject({ id: a.id, severity: "minor", acknowledged: true });
      expect((await historyOf(a.id)).map((x) => `${x.kind}/${x.actor}`)).toEqual([
        "raised/system",
        "acknowledged/op",
        "escalated/system",
        "acknowledged/op",
        "deescalated/system",
      ]);
    });

    it("keeps one active alarm per device and rule when batches arrive at once, in one process and in two", async () => {
      const dev = device();
      const other = await h.another();
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? other.ops : h.ops).rules.onPoints(dev, [FLOOD], [{ key: "waterLevel", value: 4.2 + i / 1000, ts: clock + i, outOfRange: false }]),
        ),
      );
      clock += 20;
      expect(await active(dev.id)).toHaveLength(1);
      const [a] = await active(dev.id);
      expect((await historyOf(a.id)).filter((x) => x.kind === "raised")).toHaveLength(1);
      await Promise.all([feed(dev, [FLOOD], [3.0]), other.ops.rules.onPoints(dev, [FLOOD], readings([3.0]))]);
      expect(await active(dev.id)).toHaveLength(0);
      expect(await alarmsOf(dev.id)).toHaveLength(1);
      await other.stop();
    });

    it("after a restart, continues the same alarm (hysteresis included) and clears it", async () => {
      const dev = device();
      await feed(dev, [FLOOD], [3.6, 4.2]);
      const [a] = await active(dev.id);
      // A new process: nothing in memory, the database holds the active major alarm.
      const restarted = await h.another();
      await restarted.ops.rules.onPoints(dev, [FLOOD], readings([3.97])); // within 5 cm of BĐ2: still major
      expect(await active(dev.id)).toEqual([expect.objectContaining({ id: a.id, severity: "major", value: 3.97 })]);
      await restarted.ops.rules.onPoints(dev, [FLOOD], readings([3.9]));
      expect(await active(dev.id)).toEqual([expect.objectContaining({ id: a.id, severity: "minor" })]);
      await restarted.ops.rules.onPoints(dev, [FLOOD], readings([3.3]));
      expect(await active(dev.id)).toEqual([]);
      expect(await alarmsOf(dev.id)).toHaveLength(1);
      expect((await historyOf(a.id)).map((x) => x.kind)).toEqual(["raised", "escalated", "deescalated", "cleared"]);
      await restarted.stop();
    });

    it("follows alarm changes made by another process on the same database", async () => {
      const dev = device();
      const other = await h.another();
      await other.ops.rules.onPoints(dev, [FLOOD], readings([3.0])); // the other process knows the device, no alarm
      const seen: string[] = [];
      other.bus.subscribe((e) => e.topic.startsWith("alarm.") && (e.payload as AlarmEvent).deviceId === dev.id && seen.push(e.topic));
      await feed(dev, [FLOOD], [4.2]); // this process raises major
      await vi.waitFor(() => expect(seen).toContain("alarm.raised"), WAIT);
      // 3.97 is above BĐ2 − 0.05: the other process, now knowing the alarm is major, keeps it major.
      await other.ops.rules.onPoints(dev, [FLOOD], readings([3.97]));
      expect((await active(dev.id)).map((a) => a.severity)).toEqual(["major"]);
      await other.ops.rules.onPoints(dev, [FLOOD], readings([3.2]));
      expect(await active(dev.id)).toEqual([]);
      await other.stop();
    });

    it("a person's clear is not undone by the same condition; a worse one raises a new alarm, and so does the next flood", async () => {
      const dev = device();
      await feed(dev, [FLOOD], [4.2]);
      const [first] = await active(dev.id);
      await h.token("op");
      const auditBefore = await h.count("core.audit_log");
      const res = await api("op", "POST", `/api/alarms/${first.id}/clear`, { comment: "Đã thông báo cho xã" });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ status: "cleared", clearedBy: "op" });
      expect(await h.count("core.audit_log")).toBe(auditBefore + 1);
      expect((await historyOf(first.id)).at(-1)).toMatchObject({ kind: "cleared", actor: "op", details: { comment: "Đã thông báo cho xã" } });

      await feed(dev, [FLOOD], [4.25, 4.3, 3.8]);
      expect(await active(dev.id)).toEqual([]);
      await feed(dev, [FLOOD], [4.6]);
      const [second] = await active(dev.id);
      expect(second).toMatchObject({ severity: "critical" });
      expect(second.id).not.toBe(first.id);
      await feed(dev, [FLOOD], [3.3, 4.1]);
      const [third] = await active(dev.id);
      expect(third).toMatchObject({ severity: "major" });
      expect(new Set([first.id, second.id, third.id]).size).toBe(3);
    });

    it("a person's clear made through another process is respected, even before its event arrives", async () => {
      // This process hears no events: only the database can tell it the alarm was cleared by a person.
      const deaf = await h.another({ listen: false });
      const dev = device();
      await deaf.ops.rules.onPoints(dev, [FLOOD], readings([4.2]));
      const [a] = await active(dev.id);
      await h.ops.alarms.clear(a.id, "kiểm tra cảm biến", { type: "system", name: "system", roles: [], permissions: new Set() });
      await deaf.ops.rules.onPoints(dev, [FLOOD], readings([4.22, 4.1]));
      expect(await active(dev.id)).toEqual([]);
      // Worse than what was cleared: a new alarm.
      await deaf.ops.rules.onPoints(dev, [FLOOD], readings([4.7]));
      expect((await active(dev.id)).map((x) => x.severity)).toEqual(["critical"]);
      await deaf.stop();
    });

    it("no data for 30 minutes raises a warning once; data coming back clears it, also after a restart", async () => {
      const dev = device();
      const now = Date.now();
      await h.ops.rules.checkSilence([{ device: dev, rules: [FLOOD, SILENT], lastSeen: new Map([["waterLevel", now - 29 * MIN]]) }], now);
      expect(await active(dev.id)).toEqual([]);
      await h.ops.rules.checkSilence([{ device: dev, rules: [FLOOD, SILENT], lastSeen: new Map([["waterLevel", now - 31 * MIN]]) }], now);
      await h.ops.rules.checkSilence([{ device: dev, rules: [FLOOD, SILENT], lastSeen: new Map([["waterLevel", now - 32 * MIN]]) }], now + MIN);
      const [a] = await active(dev.id);
      expect(a).toMatchObject({ type: "silent", severity: "warning", name: "Trạm không gửi dữ liệu", value: null });
      expect(await active(dev.id)).toHaveLength(1);
      expect((await historyOf(a.id)).map((x) => x.kind)).toEqual(["raised"]);

      // A device never heard from is not judged.
      const fresh = device();
      await h.ops.rules.checkSilence([{ device: fresh, rules: [SILENT], lastSeen: new Map() }], now);
      expect(await alarmsOf(fresh.id)).toEqual([]);

      const restarted = await h.another();
      await restarted.ops.rules.onPoints(dev, [FLOOD, SILENT], [{ key: "waterLevel", value: 3.1, ts: now, outOfRange: false }]);
      expect(await active(dev.id)).toEqual([]);
      await restarted.stop();
    });

    it("a key-less no-data rule watches any key", async () => {
      const dev = device({ type: "Camera" });
      const offline: RuleSpec = { id: "offline", kind: "nodata", minutes: 10, severity: "minor" };
      const now = Date.now();
      await h.ops.rules.checkSilence([{ device: dev, rules: [offline], lastSeen: new Map([["*", now - 11 * MIN]]) }], now);
      expect((await active(dev.id)).map((a) => a.type)).toEqual(["offline"]);
      await h.ops.rules.onPoints(dev, [offline], [{ key: "status", value: "ok", ts: now, outOfRange: false }]);
      expect(await active(dev.id)).toEqual([]);
    });

    it("a rate-of-change alarm is raised by a surge and cleared by the next calm reading", async () => {
      const dev = device();
      await feed(dev, [FLOOD, SURGE], [3.0, 3.02, 3.4]);
      const [a] = await active(dev.id);
      expect(a).toMatchObject({ type: "surge", severity: "major", value: 3.4 });
      expect(
        (await h.db.one<{ details: { ratePerMinute: number } }>("SELECT details FROM ops.alarms WHERE id = $1", [a.id]))?.details.ratePerMinute,
      ).toBeCloseTo(0.38);
      await feed(dev, [FLOOD, SURGE], [3.41]);
      expect(await active(dev.id)).toEqual([]);
    });

    it("sensor faults do not raise a flood alarm", async () => {
      const dev = device();
      const [fault] = readings([99]);
      await h.ops.rules.onPoints(dev, [FLOOD], [{ ...fault, outOfRange: true }]);
      expect(await alarmsOf(dev.id)).toEqual([]);
    });

    describe("through the API", () => {
      const devs = { snn: device({ agency: "SNNMT", commune: "30001" }), syt: device({ agency: "SYT", commune: "30002" }), none: device({ agency: null }) };
      const ids: Record<string, string> = {};
      beforeAll(async () => {
        for (const [k, dev] of Object.entries(devs)) {
          await feed(dev, [FLOOD], [k === "snn" ? 4.6 : 4.2]);
          ids[k] = (await active(dev.id))[0].id;
        }
      });

      const listIds = async (user: string, query = "") => {
        const res = await api(user, "GET", `/api/alarms?limit=500${query}`);
        expect(res.statusCode, res.body).toBe(200);
        return (res.json() as Array<{ id: string }>).map((a) => a.id);
      };

      it("lists alarms with filters, newest first", async () => {
        const res = await api("admin", "GET", `/api/alarms?device=${devs.snn.id}`);
        expect(res.statusCode).toBe(200);
        const [a] = res.json();
        expect(a).toMatchObject({
          id: ids.snn,
          deviceId: devs.snn.id,
          deviceType: "WaterLevelObserved",
          ruleId: "flood-level",
          type: "flood-level",
          severity: "critical",
          status: "active",
          acknowledged: false,
          commune: "30001",
          agency: "SNNMT",
          value: 4.6,
          threshold: { value: 4.5, direction: "above", hysteresis: 0.05 },
          clearedAt: null,
          assigneeAgency: null,
        });
        expect(new Date(a.startedAt).toISOString()).toBe(a.startedAt);

        const all = await listIds("admin");
        expect(all).toEqual(expect.arrayContaining(Object.values(ids)));
        const rows = await h.db.query<{ id: string }>("SELECT id FROM ops.alarms ORDER BY started_at DESC, id DESC");
        expect(all).toEqual(rows.map((r) => r.id));

        expect(await listIds("admin", "&severity=critical")).toContain(ids.snn);
        expect(await listIds("admin", "&severity=critical")).not.toContain(ids.syt);
        expect(await listIds("admin", "&severity=major,critical")).toEqual(expect.arrayContaining([ids.snn, ids.syt]));
        expect(await listIds("admin", "&commune=30002")).toEqual([ids.syt]);
        expect(await listIds("admin", "&agency=SYT")).toContain(ids.syt);
        expect(await listIds("admin", "&agency=SYT")).not.toContain(ids.snn);
        expect(await listIds("admin", "&type=flood-level&status=active&acknowledged=false")).toEqual(expect.arrayContaining(Object.values(ids)));
        expect(await listIds("admin", "&status=cleared")).not.toContain(ids.snn);
        const future = new Date(Date.now() + 3600_000).toISOString();
        expect(await listIds("admin", `&from=${encodeURIComponent(future)}`)).toEqual([]);
        expect(await listIds("admin", `&to=${encodeURIComponent(future)}&device=${devs.none.id}`)).toEqual([ids.none]);
        const page = await listIds("admin", "&offset=1");
        expect(page[0]).toBe(all[1]);
      });

      it("an agency officer sees only their agency's alarms and those assigned to them; admins and operators see all", async () => {
        expect(await listIds("op")).toEqual(expect.arrayContaining(Object.values(ids)));
        const snn = await listIds("snn");
        expect(snn).toContain(ids.snn);
        expect(snn).not.toContain(ids.syt);
        expect(snn).not.toContain(ids.none);
        expect((await api("snn", "GET", `/api/alarms/${ids.syt}`)).statusCode).toBe(404);
        expect((await api("syt", "GET", `/api/alarms/${ids.syt}`)).statusCode).toBe(200);

        const expected = await h.db.query<{ severity: string; n: number }>(
          "SELECT severity, count(*)::int AS n FROM ops.alarms WHERE status = 'active' AND (agency = 'SNNMT' OR assignee_agency = 'SNNMT') GROUP BY severity",
        );
        const summary = (await api("snn", "GET", "/api/alarms/summary")).json();
        expect(summary.total).toBe(expected.reduce((s, r) => s + r.n, 0));
        for (const r of expected) expect(summary.bySeverity[r.severity]).toBe(r.n);
        const all = (await api("admin", "GET", "/api/alarms/summary")).json();
        expect(all.total).toBe(await h.db.one<{ n: number }>("SELECT count(*)::int AS n FROM ops.alarms WHERE status = 'active'").then((r) => r?.n));
        expect(all.total).toBeGreaterThan(summary.total);

        // Assigned to the officer's agency, or to the officer: now visible.
        expect((await api("admin", "POST", `/api/alarms/${ids.syt}/assign`, { agency: "SNNMT" })).statusCode).toBe(200);
        expect((await api("admin", "POST", `/api/alarms/${ids.none}/assign`, { user: await h.userId("snn") })).statusCode).toBe(200);
        expect(await listIds("snn")).toEqual(expect.arrayContaining([ids.snn, ids.syt, ids.none]));
        expect((await api("snn", "GET", `/api/alarms/${ids.none}`)).json()).toMatchObject({ assigneeUser: await h.userId("snn"), assigneeAgency: null });

        // A publisher may read (its agency's alarms: none here) but not act.
        expect(await listIds("pub")).not.toContain(ids.snn);
        expect((await api("pub", "POST", `/api/alarms/${ids.snn}/ack`)).statusCode).toBe(403);
      });

      it("an officer cannot act on an alarm they cannot see: 404, nothing written", async () => {
        const other = device({ agency: "SXD" });
        await feed(other, [FLOOD], [4.2]);
        const [a] = await active(other.id);
        const before = [await h.count("ops.alarm_history"), await h.count("core.audit_log"), await h.count("core.events")];
        for (const [url, payload] of [
          [`/api/alarms/${a.id}/ack`, undefined],
          [`/api/alarms/${a.id}/clear`, {}],
          [`/api/alarms/${a.id}/assign`, { agency: "SNNMT" }],
          [`/api/alarms/${a.id}/comments`, { text: "xem" }],
        ] as const) {
          const res = await api("snn", "POST", url, payload);
          expect(res.statusCode, url).toBe(404);
          expect(res.headers["content-type"]).toMatch(/problem\+json/);
          expect(res.json().detail).toMatch(/no access/);
        }
        expect([await h.count("ops.alarm_history"), await h.count("core.audit_log"), await h.count("core.events")]).toEqual(before);
        expect((await active(other.id))[0]).toMatchObject({ acknowledged: false, status: "active" });
      });

      it("comments, assignment and the detail view with history", async () => {
        const c = await api("snn", "POST", `/api/alarms/${ids.snn}/comments`, { text: "  Đã cử cán bộ xuống hiện trường  " });
        expect(c.statusCode, c.body).toBe(201);
        expect(c.json()).toMatchObject({ kind: "commented", actor: "snn", details: { text: "Đã cử cán bộ xuống hiện trường" } });
        const as = await api("snn", "POST", `/api/alarms/${ids.snn}/assign`, { agency: "SXD", user: await h.userId("pub") });
        expect(as.statusCode, as.body).toBe(200);
        expect(as.json()).toMatchObject({ assigneeAgency: "SXD", assigneeUser: await h.userId("pub") });
        const d = await api("admin", "GET", `/api/alarms/${ids.snn}`);
        expect(d.statusCode).toBe(200);
        expect(d.json().history.map((x: { kind: string; actor: string }) => `${x.kind}/${x.actor}`)).toEqual([
          "raised/system",
          "commented/snn",
          "assigned/snn",
        ]);
        expect(d.json().history[2].details).toEqual({ agency: { from: null, to: "SXD" }, user: { from: null, to: await h.userId("pub") } });
        const actions = await h.db.query<{ action: string }>("SELECT action FROM core.audit_log WHERE target_id = $1 ORDER BY id", [ids.snn]);
        expect(actions.map((a) => a.action)).toEqual(["alarm.comment", "alarm.assign"]);
        // Unassign.
        const un = await api("admin", "POST", `/api/alarms/${ids.snn}/assign`, { agency: null, user: null });
        expect(un.json()).toMatchObject({ assigneeAgency: null, assigneeUser: null });
      });

      it("bad input gets a 4xx problem and writes nothing", async () => {
        const id = ids.syt;
        const before = [await h.count("ops.alarm_history"), await h.count("core.audit_log"), await h.count("core.events")];
        const cases: Array<[string, "GET" | "POST", string, unknown, number]> = [
          ["unknown severity", "GET", "/api/alarms?severity=critical,bogus", undefined, 400],
          ["unknown status", "GET", "/api/alarms?status=open", undefined, 400],
          ["bad date", "GET", "/api/alarms?from=yesterday", undefined, 400],
          ["limit 0", "GET", "/api/alarms?limit=0", undefined, 400],
          ["unknown filter", "GET", "/api/alarms?colour=red", undefined, 400],
          ["unknown id", "GET", `/api/alarms/${randomUUID()}`, undefined, 404],
          ["not an id", "GET", "/api/alarms/abc", undefined, 404],
          ["ack unknown", "POST", `/api/alarms/${randomUUID()}/ack`, undefined, 404],
          ["unknown agency", "POST", `/api/alarms/${id}/assign`, { agency: "NOPE" }, 400],
          ["unknown user", "POST", `/api/alarms/${id}/assign`, { user: randomUUID() }, 400],
          ["user not a uuid", "POST", `/api/alarms/${id}/assign`, { user: "snn" }, 400],
          ["empty assign", "POST", `/api/alarms/${id}/assign`, {}, 400],
          ["extra property", "POST", `/api/alarms/${id}/assign`, { agency: "SYT", colour: "red" }, 400],
          ["empty comment", "POST", `/api/alarms/${id}/comments`, { text: "" }, 400],
          ["blank comment", "POST", `/api/alarms/${id}/comments`, { text: "   " }, 400],
          ["long comment", "POST", `/api/alarms/${id}/comments`, { text: "x".repeat(2001) }, 400],
          ["no comment body", "POST", `/api/alarms/${id}/comments`, undefined, 400],
          ["comment not text", "POST", `/api/alarms/${id}/clear`, { comment: 5 }, 400],
        ];
        for (const [what, method, url, payload, status] of cases) {
          const res = await api("admin", method, url, payload);
          expect(res.statusCode, `${what}: ${res.body}`).toBe(status);
          expect(res.headers["content-type"], what).toMatch(/application\/problem\+json/);
        }
        expect([await h.count("ops.alarm_history"), await h.count("core.audit_log"), await h.count("core.events")]).toEqual(before);
        expect((await h.app.inject({ url: "/api/alarms" })).statusCode).toBe(401);
        expect((await active(devs.syt.id))[0]).toMatchObject({ id, acknowledged: false, status: "active" });
      });

      it("acknowledging or clearing twice is a conflict", async () => {
        expect((await api("op", "POST", `/api/alarms/${ids.syt}/ack`)).statusCode).toBe(200);
        const again = await api("op", "POST", `/api/alarms/${ids.syt}/ack`);
        expect(again.statusCode).toBe(409);
        expect(again.json().detail).toMatch(/already acknowledged/);
        expect((await api("op", "POST", `/api/alarms/${ids.syt}/clear`)).statusCode).toBe(200);
        expect((await api("op", "POST", `/api/alarms/${ids.syt}/clear`, { comment: "again" })).statusCode).toBe(409);
        const d = (await api("op", "GET", `/api/alarms/${ids.syt}`)).json();
        expect(d).toMatchObject({ status: "cleared", acknowledged: true, clearedBy: "op" });
        expect(d.clearedAt).toBeTruthy();
      });

      it("publishes its routes in the OpenAPI document with their access", async () => {
        const spec = h.app.swagger() as unknown as { paths: Record<string, Record<string, { "x-access": string }>> };
        expect(spec.paths["/api/alarms"].get["x-access"]).toBe("alarms:read");
        expect(spec.paths["/api/alarms/{id}/ack"].post["x-access"]).toBe("alarms:manage");
      });
    });
  });
}
