// The audit trail: every state change and security event, appended in the caller's transaction
// with who, what, when and from where, chained by hash so an edit or removal can be found.
import { createHash } from "node:crypto";
import type { Db } from "../db.ts";
import { currentContext } from "../context.ts";
import { type AuditFilter, type AuditRow, auditStore } from "./store.ts";

export interface AuditInput {
  action: string;
  targetType?: string;
  targetId?: string;
  outcome?: AuditRow["outcome"];
  details?: Record<string, unknown>;
}

export type VerifyResult = { ok: true; entries: number; lastHash: string } | { ok: false; entries: number; badId: number; reason: string };

/** JSON with object keys sorted, so a jsonb round trip hashes the same. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(",")}}`;
}

export function entryHash(r: Omit<AuditRow, "hash">): string {
  const fields = [
    r.id,
    new Date(r.at).toISOString(),
    r.actor_type,
    r.actor_id,
    r.actor_name,
    r.action,
    r.target_type,
    r.target_id,
    r.outcome,
    r.ip,
    r.request_id,
    canonicalJson(r.details),
    r.prev_hash,
  ];
  return createHash("sha256").update(JSON.stringify(fields)).digest("hex");
}

export function auditService(db: Db) {
  const store = auditStore(db);
  return {
    /** Append an entry inside the current transaction (or a new one). */
    record(input: AuditInput): Promise<number> {
      return db.tx(async () => {
        const head = await store.lockHead();
        if (!head) throw new Error("audit head row is missing");
        const { actor, ip, requestId } = currentContext();
        const row: Omit<AuditRow, "hash"> = {
          id: head.last_id + 1,
          at: new Date(),
          actor_type: actor.type,
          actor_id: actor.id ?? null,
          actor_name: actor.name,
          action: input.action,
          target_type: input.targetType ?? null,
          target_id: input.targetId ?? null,
          outcome: input.outcome ?? "success",
          ip: ip ?? null,
          request_id: requestId ?? null,
          details: JSON.parse(canonicalJson(input.details ?? {})),
          prev_hash: head.last_hash,
        };
        await store.append({ ...row, hash: entryHash(row) });
        return row.id;
      });
    },

    list: (f: AuditFilter) => store.list(f),

    /** Walk the chain from the start; report the first entry that was altered or removed. */
    async verify(): Promise<VerifyResult> {
      let prevHash = "0".repeat(64);
      let expectedId = 1;
      let count = 0;
      for (;;) {
        const rows = await store.page(expectedId - 1, 2000);
        for (const r of rows) {
          if (r.id !== expectedId) return { ok: false, entries: count, badId: expectedId, reason: `entry ${expectedId} is missing (next is ${r.id})` };
          if (r.prev_hash !== prevHash)
            return { ok: false, entries: count, badId: r.id, reason: `entry ${r.id} does not follow entry ${r.id - 1} (previous hash differs)` };
          if (entryHash(r) !== r.hash)
            return { ok: false, entries: count, badId: r.id, reason: `entry ${r.id} was altered (its content no longer matches its hash)` };
          prevHash = r.hash;
          expectedId++;
          count++;
        }
        if (rows.length < 2000) break;
      }
      const head = await store.head();
      if (head && (head.last_id !== count || head.last_hash !== prevHash))
        return { ok: false, entries: count, badId: count + 1, reason: `entries after ${count} were removed (the chain head records entry ${head.last_id})` };
      return { ok: true, entries: count, lastHash: prevHash };
    },
  };
}

export type AuditService = ReturnType<typeof auditService>;
