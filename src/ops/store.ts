// SQL of alarms and their history.
import type { Db } from "../core/db.ts";
import type { Severity } from "../iot/types.ts";

export type AlarmStatus = "active" | "cleared";
export type HistoryKind = "raised" | "escalated" | "deescalated" | "acknowledged" | "cleared" | "assigned" | "commented" | "value";

export interface AlarmRow {
  id: string;
  device_id: string;
  device_name: string;
  device_type: string;
  rule_id: string;
  type: string;
  name: string;
  severity: Severity;
  status: AlarmStatus;
  acknowledged: boolean;
  commune: string | null;
  agency: string | null;
  value: unknown;
  threshold: Record<string, unknown> | null;
  started_at: Date;
  updated_at: Date;
  cleared_at: Date | null;
  cleared_by: string | null;
  acked_at: Date | null;
  acked_by: string | null;
  assignee_agency: string | null;
  assignee_user: string | null;
  details: Record<string, unknown>;
  notified_at: Date;
}

export interface HistoryRow {
  id: number;
  alarm_id: string;
  at: Date;
  kind: HistoryKind;
  actor: string;
  actor_id: string | null;
  details: Record<string, unknown>;
}

export interface NewAlarm {
  device_id: string;
  device_name: string;
  device_type: string;
  rule_id: string;
  type: string;
  name: string;
  severity: Severity;
  commune: string | null;
  agency: string | null;
  value: unknown;
  threshold: Record<string, unknown> | null;
  details: Record<string, unknown>;
  started_at: Date;
}

/** Who may see what: everything, or the alarms of one agency (its devices and those assigned to it or its user). */
export type Scope = { all: true } | { all: false; agency: string | null; userId: string | null };

export interface AlarmFilter {
  status?: AlarmStatus;
  acknowledged?: boolean;
  severities?: Severity[];
  device?: string;
  commune?: string;
  agency?: string;
  type?: string;
  from?: Date;
  to?: Date;
  limit: number;
  offset: number;
}

/** Updatable columns; jsonb ones are serialised here. */
export interface AlarmPatch {
  name?: string;
  device_name?: string;
  device_type?: string;
  commune?: string | null;
  agency?: string | null;
  severity?: Severity;
  acknowledged?: boolean;
  value?: unknown;
  threshold?: Record<string, unknown> | null;
  details?: Record<string, unknown>;
  status?: AlarmStatus;
  cleared_at?: Date;
  cleared_by?: string;
  acked_at?: Date | null;
  acked_by?: string | null;
  assignee_agency?: string | null;
  assignee_user?: string | null;
  /** Set notified_at to the current time. */
  notified?: boolean;
}

const JSON_COLUMNS = new Set(["value", "threshold", "details"]);
const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

/** Adds the visibility condition of a scope to a WHERE list; returns the list. */
function scoped(scope: Scope, where: string[], params: unknown[]): string[] {
  if (scope.all) return where;
  const ors: string[] = [];
  if (scope.agency) {
    params.push(scope.agency);
    ors.push(`agency = $${params.length}`, `assignee_agency = $${params.length}`);
  }
  if (scope.userId) {
    params.push(scope.userId);
    ors.push(`assignee_user = $${params.length}`);
  }
  where.push(ors.length ? `(${ors.join(" OR ")})` : "false");
  return where;
}

export function alarmsStore(db: Db) {
  return {
    /** Insert an active alarm unless one is active for the device and rule; undefined if one is. */
    insertActive: (a: NewAlarm) =>
      db.one<AlarmRow>(
        `INSERT INTO ops.alarms (device_id, device_name, device_type, rule_id, type, name, severity, commune, agency, value, threshold, details, started_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (device_id, rule_id) WHERE status = 'active' DO NOTHING
         RETURNING *`,
        [
          a.device_id,
          a.device_name,
          a.device_type,
          a.rule_id,
          a.type,
          a.name,
          a.severity,
          a.commune,
          a.agency,
          json(a.value),
          json(a.threshold),
          json(a.details),
          a.started_at,
        ],
      ),

    /** The active alarm of a device and rule, locked for the rest of the transaction. */
    lockActive: (deviceId: string, ruleId: string) =>
      db.one<AlarmRow>("SELECT * FROM ops.alarms WHERE device_id = $1 AND rule_id = $2 AND status = 'active' FOR UPDATE", [deviceId, ruleId]),

    /** One alarm, locked for the rest of the transaction. */
    lock: (id: string) => db.one<AlarmRow>("SELECT * FROM ops.alarms WHERE id = $1 FOR UPDATE", [id]),

    get: (id: string) => db.one<AlarmRow>("SELECT * FROM ops.alarms WHERE id = $1", [id]),

    activeForDevices: (deviceIds: string[]) =>
      db.query<AlarmRow>("SELECT * FROM ops.alarms WHERE device_id = ANY($1::text[]) AND status = 'active'", [deviceIds]),

    async update(id: string, patch: AlarmPatch): Promise<AlarmRow> {
      const sets: string[] = ["updated_at = clock_timestamp()"];
      const params: unknown[] = [id];
      for (const [col, v] of Object.entries(patch)) {
        if (v === undefined) continue;
        if (col === "notified") {
          if (v) sets.push("notified_at = clock_timestamp()");
          continue;
        }
        params.push(JSON_COLUMNS.has(col) ? json(v) : v);
        sets.push(`${col} = $${params.length}`);
      }
      const row = await db.one<AlarmRow>(`UPDATE ops.alarms SET ${sets.join(", ")} WHERE id = $1 RETURNING *`, params);
      if (!row) throw new Error(`alarm ${id} vanished during an update`);
      return row;
    },

    async addHistory(h: {
      alarmId: string;
      kind: HistoryKind;
      actor: string;
      actorId?: string | null;
      details?: Record<string, unknown>;
    }): Promise<HistoryRow> {
      const row = await db.one<HistoryRow>("INSERT INTO ops.alarm_history (alarm_id, kind, actor, actor_id, details) VALUES ($1, $2, $3, $4, $5) RETURNING *", [
        h.alarmId,
        h.kind,
        h.actor,
        h.actorId ?? null,
        JSON.stringify(h.details ?? {}),
      ]);
      if (!row) throw new Error("history insert returned nothing");
      return row;
    },

    history: (alarmId: string) => db.query<HistoryRow>("SELECT * FROM ops.alarm_history WHERE alarm_id = $1 ORDER BY id", [alarmId]),

    list(f: AlarmFilter, scope: Scope): Promise<AlarmRow[]> {
      const params: unknown[] = [];
      const where: string[] = [];
      const add = (sql: (n: string) => string, v: unknown) => {
        params.push(v);
        where.push(sql(`$${params.length}`));
      };
      if (f.status) add((n) => `status = ${n}`, f.status);
      if (f.acknowledged !== undefined) add((n) => `acknowledged = ${n}`, f.acknowledged);
      if (f.severities?.length) add((n) => `severity = ANY(${n}::text[])`, f.severities);
      if (f.device) add((n) => `device_id = ${n}`, f.device);
      if (f.commune) add((n) => `commune = ${n}`, f.commune);
      if (f.agency) add((n) => `agency = ${n}`, f.agency);
      if (f.type) add((n) => `type = ${n}`, f.type);
      if (f.from) add((n) => `started_at >= ${n}`, f.from);
      if (f.to) add((n) => `started_at < ${n}`, f.to);
      scoped(scope, where, params);
      params.push(f.limit, f.offset);
      return db.query<AlarmRow>(
        `SELECT * FROM ops.alarms ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY started_at DESC, id DESC LIMIT $${params.length - 1} OFFSET $${params.length}`,
        params,
      );
    },

    /** Active alarms by severity, with how many of them nobody has acknowledged. */
    summary(scope: Scope): Promise<Array<{ severity: Severity; n: number; unacked: number }>> {
      const params: unknown[] = [];
      const where = scoped(scope, ["status = 'active'"], params);
      return db.query(
        `SELECT severity, count(*)::int AS n, count(*) FILTER (WHERE NOT acknowledged)::int AS unacked
         FROM ops.alarms WHERE ${where.join(" AND ")} GROUP BY severity`,
        params,
      );
    },
  };
}

export type AlarmsStore = ReturnType<typeof alarmsStore>;
