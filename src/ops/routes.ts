// HTTP routes of alarms: list, summary, one alarm with its history, and the operator actions.
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { errors } from "../core/http/schemas.ts";
import { typed } from "../core/http/server.ts";
import { Alarm, AlarmDetail, AlarmHistoryEntry, AlarmParams, AlarmQuery, AlarmSummary, AssignBody, ClearBody, CommentBody } from "./schemas.ts";
import type { AlarmsService } from "./service.ts";

export function alarmRoutes(fastify: FastifyInstance, alarms: AlarmsService) {
  const app = typed(fastify);

  app.get(
    "/api/alarms",
    {
      config: { access: "alarms:read" },
      schema: {
        tags: ["alarms"],
        summary: "List alarms, newest first",
        description: "An agency officer sees the alarms of their agency's devices and those assigned to their agency or to them.",
        querystring: AlarmQuery,
        response: { 200: Type.Array(Alarm), ...errors(400, 401, 403) },
      },
    },
    (req) => alarms.list(req.query, req.ctx.actor),
  );

  app.get(
    "/api/alarms/summary",
    {
      config: { access: "alarms:read" },
      schema: {
        tags: ["alarms"],
        summary: "Active alarms by severity (for the console badge)",
        response: { 200: AlarmSummary, ...errors(401, 403) },
      },
    },
    (req) => alarms.summary(req.ctx.actor),
  );

  app.get(
    "/api/alarms/:id",
    {
      config: { access: "alarms:read" },
      schema: {
        tags: ["alarms"],
        summary: "One alarm with its history",
        params: AlarmParams,
        response: { 200: AlarmDetail, ...errors(401, 403, 404) },
      },
    },
    (req) => alarms.get(req.params.id, req.ctx.actor),
  );

  app.post(
    "/api/alarms/:id/ack",
    {
      config: { access: "alarms:manage" },
      schema: {
        tags: ["alarms"],
        summary: "Acknowledge an alarm",
        params: AlarmParams,
        response: { 200: Alarm, ...errors(401, 403, 404, 409) },
      },
    },
    (req) => alarms.ack(req.params.id, req.ctx.actor),
  );

  app.post(
    "/api/alarms/:id/clear",
    {
      config: { access: "alarms:manage" },
      schema: {
        tags: ["alarms"],
        summary: "Clear an alarm by hand",
        description: "While the condition lasts, its rule raises a new alarm only if it gets worse than the cleared one.",
        params: AlarmParams,
        body: ClearBody,
        response: { 200: Alarm, ...errors(400, 401, 403, 404, 409) },
      },
      // The body is optional: no body is an empty one.
      preValidation: async (req) => {
        req.body ??= {};
      },
    },
    (req) => alarms.clear(req.params.id, req.body.comment, req.ctx.actor),
  );

  app.post(
    "/api/alarms/:id/assign",
    {
      config: { access: "alarms:manage" },
      schema: {
        tags: ["alarms"],
        summary: "Assign an alarm to an agency and/or a user (null unassigns)",
        params: AlarmParams,
        body: AssignBody,
        response: { 200: Alarm, ...errors(400, 401, 403, 404) },
      },
    },
    (req) => alarms.assign(req.params.id, req.body, req.ctx.actor),
  );

  app.post(
    "/api/alarms/:id/comments",
    {
      config: { access: "alarms:manage" },
      schema: {
        tags: ["alarms"],
        summary: "Comment on an alarm",
        params: AlarmParams,
        body: CommentBody,
        response: { 201: AlarmHistoryEntry, ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => reply.code(201).send(await alarms.comment(req.params.id, req.body.text, req.ctx.actor)),
  );
}
