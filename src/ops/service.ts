// Alarms: raised, escalated and cleared by rules (actor "system"); acknowledged, cleared,
// assigned and commented on by people (audited). Every change writes its history row and its
// bus event in the same transaction as the change itself.
import { type Actor, currentContext } from "../core/context.ts";
import type { AuditService } from "../core/audit/service.ts";
import type { Db } from "../core/db.ts";
import { badRequest, conflict, notFound } from "../core/errors.ts";
import type { Audience, EventBus } from "../core/events/bus.ts";
import type { DeviceInfo, Severity } from "../iot/types.ts";
import { SEVERITY_RANK } from "./rules.ts";
import { type AlarmFilter, type AlarmPatch, type AlarmRow, type AlarmStatus, type HistoryKind, type HistoryRow, type Scope, alarmsStore } from "./store.ts";

export type { AlarmStatus, HistoryKind, Scope };

export interface AlarmDto {
  id: string;
  deviceId: string;
  deviceName: string;
  deviceType: string;
  ruleId: string;
  type: string;
  name: string;
  severity: Severity;
  status: AlarmStatus;
  acknowledged: boolean;
  commune: string | null;
  agency: string | null;
  value: unknown;
  threshold: Record<string, unknown> | null;
  startedAt: string;
  updatedAt: string;
  clearedAt: string | null;
  /** Who cleared it by hand; null while active or when its rule cleared it. */
  clearedBy: string | null;
  ackedAt: string | null;
  ackedBy: string | null;
  assigneeAgency: string | null;
  assigneeUser: string | null;
  details: Record<string, unknown>;
}

export interface AlarmHistoryDto {
  id: number;
  at: string;
  kind: HistoryKind;
  actor: string;
  details: Record<string, unknown>;
}

/** The payload of alarm.* events: the alarm as it is after the change, and what the change was. */
export interface AlarmEvent extends AlarmDto {
  change: HistoryKind;
}

declare module "../core/events/bus.ts" {
  interface SenEvents {
    "alarm.raised": AlarmEvent;
    "alarm.updated": AlarmEvent;
    "alarm.cleared": AlarmEvent;
  }
}

export interface AlarmsDeps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  agencyExists(code: string): Promise<boolean>;
  userExists(id: string): Promise<boolean>;
}

/** A rule's wish for an alarm: raise it, or bring the active one to this severity and value. */
export interface RaiseInput {
  device: DeviceInfo;
  ruleId: string;
  /** Alarm type shown and filtered on, e.g. "flood-level". */
  type: string;
  name: string;
  severity: Severity;
  value: unknown;
  threshold: Record<string, unknown> | null;
  details?: Record<string, unknown>;
  /** When it happened (epoch ms, the reading's time); default now. */
  at?: number;
  /**
   * The active alarm the caller believes exists. When that alarm was cleared by a person in the
   * meantime, nothing is raised (change "suppressed"): a person's clear is not undone by the
   * next reading of the same condition.
   */
  expect?: string;
}

export type RaiseChange = "raised" | "escalated" | "deescalated" | "value" | "suppressed";

export interface RaiseResult {
  change: RaiseChange;
  /** The active alarm; for "suppressed", the alarm a person cleared. */
  alarm: AlarmDto;
}

export type AlarmListener = (alarm: AlarmDto, change: HistoryKind) => void;

/** Value-only updates of an active alarm are published (event and history) at most this often. */
export const VALUE_NOTIFY_SECONDS = 60;
const SYSTEM_NAME = "system";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export const toAlarmDto = (r: AlarmRow): AlarmDto => ({
  id: r.id,
  deviceId: r.device_id,
  deviceName: r.device_name,
  deviceType: r.device_type,
  ruleId: r.rule_id,
  type: r.type,
  name: r.name,
  severity: r.severity,
  status: r.status,
  acknowledged: r.acknowledged,
  commune: r.commune,
  agency: r.agency,
  value: r.value ?? null,
  threshold: r.threshold ?? null,
  startedAt: iso(r.started_at) as string,
  updatedAt: iso(r.updated_at) as string,
  clearedAt: iso(r.cleared_at),
  clearedBy: r.cleared_by,
  ackedAt: iso(r.acked_at),
  ackedBy: r.acked_by,
  assigneeAgency: r.assignee_agency,
  assigneeUser: r.assignee_user,
  details: r.details ?? {},
});

const toHistoryDto = (h: HistoryRow): AlarmHistoryDto => ({
  id: Number(h.id),
  at: iso(h.at) as string,
  kind: h.kind,
  actor: h.actor,
  details: h.details ?? {},
});

/**
 * What an actor may see: admins, operators and the system everything; an API key without an
 * agency everything it has the permission for; anyone else the alarms of their agency's devices
 * and those assigned to their agency or to them.
 */
export function scopeOf(actor: Actor): Scope {
  if (actor.type === "system" || actor.roles.includes("admin") || actor.roles.includes("operator")) return { all: true };
  if (actor.type === "apikey" && !actor.agency) return { all: true };
  return { all: false, agency: actor.agency ?? null, userId: actor.type === "user" ? (actor.id ?? null) : null };
}

function canSee(scope: Scope, r: AlarmRow): boolean {
  if (scope.all) return true;
  return (
    (scope.agency !== null && (r.agency === scope.agency || r.assignee_agency === scope.agency)) || (scope.userId !== null && r.assignee_user === scope.userId)
  );
}

export interface ListInput {
  status?: AlarmStatus;
  acknowledged?: boolean;
  /** Comma-separated severities. */
  severity?: string;
  device?: string;
  commune?: string;
  agency?: string;
  type?: string;
  from?: string;
  to?: string;
  limit?: number;
  offset?: number;
}

export interface AlarmSummary {
  total: number;
  unacknowledged: number;
  bySeverity: Record<Severity, number>;
  unacknowledgedBySeverity: Record<Severity, number>;
}

export function alarmsService({ db, audit, bus, agencyExists, userExists }: AlarmsDeps) {
  const store = alarmsStore(db);
  const listeners = new Set<AlarmListener>();
  // Ids of the events this instance published, so its rule engine can tell its own changes from
  // those of other Sen processes on the same database. Bounded: old ids fall out.
  const own = new Set<number>();

  async function publish(row: AlarmRow, change: HistoryKind, alsoAgencies: Array<string | null> = []): Promise<void> {
    const dto = toAlarmDto(row);
    const topic = change === "raised" ? "alarm.raised" : change === "cleared" ? "alarm.cleared" : "alarm.updated";
    const primary: Audience = row.agency ? `agency:${row.agency}` : "staff";
    const audiences = new Set<Audience>([primary]);
    // An agency the alarm is (or was just) assigned to follows it live too.
    if (primary !== "staff") for (const a of [row.assignee_agency, ...alsoAgencies]) if (a) audiences.add(`agency:${a}`);
    for (const audience of audiences) {
      own.add(await bus.publish(topic, { ...dto, change }, audience));
      if (own.size > 10_000) own.delete(own.values().next().value as number);
    }
    db.afterCommit(() => {
      for (const l of listeners) l(dto, change);
    });
  }

  const who = (actor: Actor) => ({ name: actor.name, id: actor.id ?? null });

  /** Lock an alarm the caller may see, or 404 without telling which. */
  async function lockVisible(id: string, actor: Actor): Promise<AlarmRow> {
    const row = UUID.test(id) ? await store.lock(id) : undefined;
    if (!row || !canSee(scopeOf(actor), row)) throw notFound("No such alarm, or you have no access to it.");
    return row;
  }

  async function getVisible(id: string, actor: Actor): Promise<AlarmRow> {
    const row = UUID.test(id) ? await store.get(id) : undefined;
    if (!row || !canSee(scopeOf(actor), row)) throw notFound("No such alarm, or you have no access to it.");
    return row;
  }

  function devicePatch(d: DeviceInfo): AlarmPatch {
    return { device_name: d.name, device_type: d.type, commune: d.commune, agency: d.agency };
  }

  return {
    store,

    /** Be told of every committed alarm change made through this instance (after commit). */
    onChange(listener: AlarmListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** Whether a bus event id was published by this instance. */
    isOwnEvent: (eventId: number) => own.has(eventId),

    // ---------- by rules (actor "system", no audit entry)

    /**
     * Ensure an active alarm for (device, rule) at this severity: raise it, escalate or
     * de-escalate it, or refresh its value. At most one active alarm per device and rule, even
     * when several processes raise it at once. Escalation resets the acknowledgement.
     */
    raise(input: RaiseInput): Promise<RaiseResult> {
      const d = input.device;
      const at = new Date(input.at ?? Date.now());
      return db.tx(async () => {
        let row = await store.lockActive(d.id, input.ruleId);
        if (!row && input.expect && UUID.test(input.expect)) {
          const prev = await store.get(input.expect);
          if (prev && prev.status === "cleared" && prev.cleared_by !== null) return { change: "suppressed" as const, alarm: toAlarmDto(prev) };
        }
        for (let attempt = 0; !row && attempt < 3; attempt++) {
          const inserted = await store.insertActive({
            device_id: d.id,
            device_name: d.name,
            device_type: d.type,
            rule_id: input.ruleId,
            type: input.type,
            name: input.name,
            severity: input.severity,
            commune: d.commune,
            agency: d.agency,
            value: input.value,
            threshold: input.threshold,
            details: input.details ?? {},
            started_at: at,
          });
          if (inserted) {
            await store.addHistory({ alarmId: inserted.id, kind: "raised", actor: SYSTEM_NAME, details: { severity: input.severity, value: input.value } });
            await publish(inserted, "raised");
            return { change: "raised" as const, alarm: toAlarmDto(inserted) };
          }
          // Another transaction raised it first: continue with that alarm.
          row = await store.lockActive(d.id, input.ruleId);
        }
        if (!row) throw new Error(`could not raise or find the alarm of ${d.id}/${input.ruleId}`);

        const diff = SEVERITY_RANK[input.severity] - SEVERITY_RANK[row.severity];
        const change = diff > 0 ? "escalated" : diff < 0 ? "deescalated" : "value";
        const patch: AlarmPatch = {
          ...devicePatch(d),
          name: input.name,
          severity: input.severity,
          value: input.value,
          threshold: input.threshold,
          details: { ...row.details, ...input.details },
        };
        // A new, worse state must be seen again.
        if (change === "escalated") Object.assign(patch, { acknowledged: false, acked_at: null, acked_by: null });
        const publishValue = change === "value" && Date.now() - new Date(row.notified_at).getTime() >= VALUE_NOTIFY_SECONDS * 1000;
        if (change !== "value" || publishValue) patch.notified = true;
        const updated = await store.update(row.id, patch);
        if (change !== "value" || publishValue) {
          await store.addHistory({
            alarmId: row.id,
            kind: change,
            actor: SYSTEM_NAME,
            details: change === "value" ? { value: input.value } : { from: row.severity, to: input.severity, value: input.value },
          });
          await publish(updated, change);
        }
        return { change, alarm: toAlarmDto(updated) };
      });
    },

    /** Clear the active alarm of (device, rule) because its condition ended; undefined if none is active. */
    clearByRule(
      deviceId: string,
      ruleId: string,
      opts: { value?: unknown; details?: Record<string, unknown>; at?: number } = {},
    ): Promise<AlarmDto | undefined> {
      return db.tx(async () => {
        const row = await store.lockActive(deviceId, ruleId);
        if (!row) return undefined;
        const at = new Date(Math.max(opts.at ?? Date.now(), new Date(row.started_at).getTime()));
        const updated = await store.update(row.id, {
          status: "cleared",
          cleared_at: at,
          value: opts.value,
          details: opts.details ? { ...row.details, ...opts.details } : undefined,
        });
        await store.addHistory({ alarmId: row.id, kind: "cleared", actor: SYSTEM_NAME, details: { value: opts.value ?? null, by: "rule" } });
        await publish(updated, "cleared");
        return toAlarmDto(updated);
      });
    },

    /** Active alarms of some devices (to rebuild rule state after a restart). */
    activeForDevices: async (deviceIds: string[]) => (await store.activeForDevices(deviceIds)).map(toAlarmDto),

    // ---------- by people (audited)

    ack(id: string, actor: Actor = currentContext().actor): Promise<AlarmDto> {
      return db.tx(async () => {
        const row = await lockVisible(id, actor);
        if (row.acknowledged) throw conflict("This alarm is already acknowledged.");
        const w = who(actor);
        const updated = await store.update(row.id, { acknowledged: true, acked_at: new Date(), acked_by: w.name });
        await store.addHistory({ alarmId: row.id, kind: "acknowledged", actor: w.name, actorId: w.id, details: { severity: row.severity } });
        await audit.record({
          action: "alarm.ack",
          targetType: "alarm",
          targetId: row.id,
          details: { device: row.device_id, type: row.type, severity: row.severity },
        });
        await publish(updated, "acknowledged");
        return toAlarmDto(updated);
      });
    },

    /** Clear by hand (the condition may persist: the rule then raises again only if it gets worse). */
    clear(id: string, comment?: string, actor: Actor = currentContext().actor): Promise<AlarmDto> {
      const text = comment?.trim() || undefined;
      return db.tx(async () => {
        const row = await lockVisible(id, actor);
        if (row.status === "cleared") throw conflict("This alarm is already cleared.");
        const w = who(actor);
        const updated = await store.update(row.id, { status: "cleared", cleared_at: new Date(), cleared_by: w.name });
        await store.addHistory({ alarmId: row.id, kind: "cleared", actor: w.name, actorId: w.id, details: { by: "person", comment: text ?? null } });
        await audit.record({
          action: "alarm.clear",
          targetType: "alarm",
          targetId: row.id,
          details: { device: row.device_id, type: row.type, severity: row.severity, comment: text ?? null },
        });
        await publish(updated, "cleared");
        return toAlarmDto(updated);
      });
    },

    /** Assign to an agency and/or a user; null removes that assignee. */
    async assign(id: string, to: { agency?: string | null; user?: string | null }, actor: Actor = currentContext().actor): Promise<AlarmDto> {
      if (to.agency === undefined && to.user === undefined) throw badRequest("Give an agency or a user to assign the alarm to (null to unassign).");
      if (to.agency && !(await agencyExists(to.agency)))
        throw badRequest(`Unknown agency: ${to.agency}.`, { errors: [{ path: "/agency", message: "unknown agency" }] });
      if (to.user && !(UUID.test(to.user) && (await userExists(to.user))))
        throw badRequest(`Unknown user: ${to.user}.`, { errors: [{ path: "/user", message: "unknown user" }] });
      return db.tx(async () => {
        const row = await lockVisible(id, actor);
        const agency = to.agency === undefined ? row.assignee_agency : to.agency;
        const user = to.user === undefined ? row.assignee_user : to.user;
        if (agency === row.assignee_agency && user === row.assignee_user) return toAlarmDto(row);
        const w = who(actor);
        const updated = await store.update(row.id, { assignee_agency: agency, assignee_user: user });
        const details = { agency: { from: row.assignee_agency, to: agency }, user: { from: row.assignee_user, to: user } };
        await store.addHistory({ alarmId: row.id, kind: "assigned", actor: w.name, actorId: w.id, details });
        await audit.record({ action: "alarm.assign", targetType: "alarm", targetId: row.id, details: { device: row.device_id, ...details } });
        await publish(updated, "assigned", [row.assignee_agency]);
        return toAlarmDto(updated);
      });
    },

    async comment(id: string, text: string, actor: Actor = currentContext().actor): Promise<AlarmHistoryDto> {
      const body = text.trim();
      if (!body) throw badRequest("A comment needs some text.", { errors: [{ path: "/text", message: "empty" }] });
      if (body.length > 2000) throw badRequest("A comment has at most 2000 characters.", { errors: [{ path: "/text", message: "too long" }] });
      return db.tx(async () => {
        const row = await lockVisible(id, actor);
        const w = who(actor);
        const updated = await store.update(row.id, {});
        const entry = await store.addHistory({ alarmId: row.id, kind: "commented", actor: w.name, actorId: w.id, details: { text: body } });
        await audit.record({ action: "alarm.comment", targetType: "alarm", targetId: row.id, details: { device: row.device_id, length: body.length } });
        await publish(updated, "commented");
        return toHistoryDto(entry);
      });
    },

    // ---------- reading

    async list(input: ListInput, actor: Actor = currentContext().actor): Promise<AlarmDto[]> {
      const severities = input.severity
        ?.split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = severities?.filter((s) => !(s in SEVERITY_RANK)) ?? [];
      if (bad.length)
        throw badRequest(`Unknown severity: ${bad.join(", ")} (use critical, major, minor, warning).`, {
          errors: [{ path: "/severity", message: "unknown severity" }],
        });
      const date = (s: string | undefined, path: string) => {
        if (s === undefined) return undefined;
        const d = new Date(s);
        if (Number.isNaN(d.getTime())) throw badRequest(`${path.slice(1)} is not a date-time.`, { errors: [{ path, message: "not a date-time" }] });
        return d;
      };
      const filter: AlarmFilter = {
        status: input.status,
        acknowledged: input.acknowledged,
        severities: severities as Severity[] | undefined,
        device: input.device,
        commune: input.commune,
        agency: input.agency,
        type: input.type,
        from: date(input.from, "/from"),
        to: date(input.to, "/to"),
        limit: input.limit ?? 50,
        offset: input.offset ?? 0,
      };
      return (await store.list(filter, scopeOf(actor))).map(toAlarmDto);
    },

    async get(id: string, actor: Actor = currentContext().actor): Promise<AlarmDto & { history: AlarmHistoryDto[] }> {
      const row = await getVisible(id, actor);
      return { ...toAlarmDto(row), history: (await store.history(row.id)).map(toHistoryDto) };
    },

    async history(id: string, actor: Actor = currentContext().actor): Promise<AlarmHistoryDto[]> {
      const row = await getVisible(id, actor);
      return (await store.history(row.id)).map(toHistoryDto);
    },

    async summary(actor: Actor = currentContext().actor): Promise<AlarmSummary> {
      const zero = (): Record<Severity, number> => ({ critical: 0, major: 0, minor: 0, warning: 0 });
      const out: AlarmSummary = { total: 0, unacknowledged: 0, bySeverity: zero(), unacknowledgedBySeverity: zero() };
      for (const r of await store.summary(scopeOf(actor))) {
        out.total += r.n;
        out.unacknowledged += r.unacked;
        out.bySeverity[r.severity] = r.n;
        out.unacknowledgedBySeverity[r.severity] = r.unacked;
      }
      return out;
    },
  };
}

export type AlarmsService = ReturnType<typeof alarmsService>;
