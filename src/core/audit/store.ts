// SQL of the audit trail. The head row is locked for the rest of the writer's transaction, so
// entries get gapless ids in commit order.
import type { Db } from "../db.ts";

export interface AuditRow {
  id: number;
  at: Date;
  actor_type: string;
  actor_id: string | null;
  actor_name: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: "success" | "denied" | "failure";
  ip: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export interface AuditFilter {
  actorId?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  outcome?: string;
  from?: Date;
  to?: Date;
  beforeId?: number;
  limit: number;
}

export function auditStore(db: Db) {
  return {
    lockHead: () => db.one<{ last_id: number; last_hash: string }>("SELECT last_id, last_hash FROM core.audit_head FOR UPDATE"),
    head: () => db.one<{ last_id: number; last_hash: string }>("SELECT last_id, last_hash FROM core.audit_head"),

    async append(r: AuditRow): Promise<void> {
      await db.query(
        `INSERT INTO core.audit_log (id, at, actor_type, actor_id, actor_name, action, target_type, target_id,
           outcome, ip, request_id, details, prev_hash, hash)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`,
        [
          r.id,
          r.at,
          r.actor_type,
          r.actor_id,
          r.actor_name,
          r.action,
          r.target_type,
          r.target_id,
          r.outcome,
          r.ip,
          r.request_id,
          JSON.stringify(r.details),
          r.prev_hash,
          r.hash,
        ],
      );
      await db.query("UPDATE core.audit_head SET last_id = $1, last_hash = $2", [r.id, r.hash]);
    },

    page: (afterId: number, limit: number) => db.query<AuditRow>("SELECT * FROM core.audit_log WHERE id > $1 ORDER BY id LIMIT $2", [afterId, limit]),

    list(f: AuditFilter): Promise<AuditRow[]> {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (sql: string, v: unknown) => {
        params.push(v);
        where.push(sql.replace("?", `$${params.length}`));
      };
      if (f.actorId) add("actor_id = ?", f.actorId);
      if (f.action) add("action LIKE ?", f.action.endsWith("*") ? `${f.action.slice(0, -1).replace(/[%_\\]/g, "\\$&")}%` : f.action.replace(/[%_\\]/g, "\\$&"));
      if (f.targetType) add("target_type = ?", f.targetType);
      if (f.targetId) add("target_id = ?", f.targetId);
      if (f.outcome) add("outcome = ?", f.outcome);
      if (f.from) add("at >= ?", f.from);
      if (f.to) add("at < ?", f.to);
      if (f.beforeId) add("id < ?", f.beforeId);
      params.push(f.limit);
      return db.query<AuditRow>(
        `SELECT * FROM core.audit_log ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT $${params.length}`,
        params,
      );
    },
  };
}
