// HTTP routes of the audit trail (admins only).
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { Str, errors } from "../http/schemas.ts";
import { typed } from "../http/server.ts";
import type { AuditService } from "./service.ts";

const Entry = Type.Object(
  {
    id: Type.Integer(),
    at: Type.String({ format: "date-time" }),
    actorType: Type.String(),
    actorId: Type.Union([Type.String(), Type.Null()]),
    actorName: Type.String(),
    action: Type.String(),
    targetType: Type.Union([Type.String(), Type.Null()]),
    targetId: Type.Union([Type.String(), Type.Null()]),
    outcome: Type.String(),
    ip: Type.Union([Type.String(), Type.Null()]),
    requestId: Type.Union([Type.String(), Type.Null()]),
    details: Type.Record(Type.String(), Type.Unknown()),
    hash: Type.String(),
  },
  { $id: "AuditEntry" },
);

export function auditRoutes(fastify: FastifyInstance, audit: AuditService) {
  const app = typed(fastify);
  app.get(
    "/api/audit",
    {
      config: { access: "audit:read" },
      schema: {
        tags: ["audit"],
        summary: "The audit trail, newest first",
        description:
          "Filter by actor, action (a trailing * matches a prefix, e.g. auth.*), target, outcome and time. Page with `before` = the smallest id of the previous page.",
        querystring: Type.Object(
          {
            actor: Type.Optional(Str(64)),
            action: Type.Optional(Str(100)),
            targetType: Type.Optional(Str(50)),
            targetId: Type.Optional(Str(100)),
            outcome: Type.Optional(Type.Union([Type.Literal("success"), Type.Literal("denied"), Type.Literal("failure")])),
            from: Type.Optional(Type.String({ format: "date-time" })),
            to: Type.Optional(Type.String({ format: "date-time" })),
            before: Type.Optional(Type.Integer({ minimum: 1 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ entries: Type.Array(Entry), next: Type.Union([Type.Integer(), Type.Null()]) }), ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = q.limit ?? 50;
      const rows = await audit.list({
        actorId: q.actor,
        action: q.action,
        targetType: q.targetType,
        targetId: q.targetId,
        outcome: q.outcome,
        from: q.from ? new Date(q.from) : undefined,
        to: q.to ? new Date(q.to) : undefined,
        beforeId: q.before,
        limit,
      });
      return {
        entries: rows.map((r) => ({
          id: r.id,
          at: new Date(r.at).toISOString(),
          actorType: r.actor_type,
          actorId: r.actor_id,
          actorName: r.actor_name,
          action: r.action,
          targetType: r.target_type,
          targetId: r.target_id,
          outcome: r.outcome,
          ip: r.ip,
          requestId: r.request_id,
          details: r.details,
          hash: r.hash,
        })),
        next: rows.length === limit ? rows[rows.length - 1].id : null,
      };
    },
  );

  app.get(
    "/api/audit/verify",
    {
      config: { access: "audit:read" },
      schema: {
        tags: ["audit"],
        summary: "Walk the hash chain and report the first altered or removed entry",
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            entries: Type.Integer(),
            badId: Type.Optional(Type.Integer()),
            reason: Type.Optional(Type.String()),
            lastHash: Type.Optional(Type.String()),
          }),
          ...errors(401, 403),
        },
      },
    },
    () => audit.verify(),
  );
}
