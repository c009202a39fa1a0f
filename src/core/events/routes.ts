// GET /api/events: server-sent events for the console, filtered by topic and by what the caller
// may see, with heartbeats and replay from Last-Event-ID.
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import type { Actor } from "../context.ts";
import { Str, errors } from "../http/schemas.ts";
import { typed } from "../http/server.ts";
import type { EventBus, SenEvent } from "./bus.ts";

export function canSee(actor: Actor, e: Pick<SenEvent, "audience">): boolean {
  const staff = actor.type === "system" || actor.permissions.has("console:use");
  const admin = actor.type === "system" || actor.roles.includes("admin");
  switch (true) {
    case e.audience === "all":
      return true;
    case e.audience === "staff":
      return staff;
    case e.audience === "admin":
      return admin;
    case e.audience.startsWith("agency:"):
      return admin || actor.roles.includes("operator") || actor.agency === e.audience.slice(7);
    default:
      return false;
  }
}

function topicMatcher(spec: string | undefined): (topic: string) => boolean {
  const patterns = (spec ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (!patterns.length) return () => true;
  return (topic) => patterns.some((p) => (p.endsWith("*") ? topic.startsWith(p.slice(0, -1)) : topic === p));
}

export function eventRoutes(fastify: FastifyInstance, bus: EventBus, opts: { heartbeatMs: number }) {
  const app = typed(fastify);
  // Open streams end when the server shuts down, so a graceful stop does not wait for them.
  const open = new Set<import("node:http").ServerResponse>();
  fastify.addHook("preClose", async () => {
    for (const res of open) res.end();
  });
  app.get(
    "/api/events",
    {
      config: { access: "events:read" },
      schema: {
        tags: ["events"],
        summary: "Live events as server-sent events (text/event-stream)",
        description:
          "`topics` is a comma-separated list; a trailing * matches a prefix (e.g. `iot.*`). Reconnect with the `Last-Event-ID` header (or `lastEventId`) to receive what was missed. A comment line is sent as a heartbeat.",
        querystring: Type.Object(
          { topics: Type.Optional(Str(500)), lastEventId: Type.Optional(Type.Integer({ minimum: 0 })) },
          { additionalProperties: false },
        ),
        response: { 200: { type: "string", description: "text/event-stream" }, ...errors(400, 401, 403) },
      },
    },
    async (req, reply) => {
      const actor = req.ctx.actor;
      const matches = topicMatcher(req.query.topics);
      const headerId = Number(req.headers["last-event-id"]);
      const lastId = Number.isSafeInteger(headerId) && headerId >= 0 ? headerId : req.query.lastEventId;
      const visible = (e: SenEvent) => matches(e.topic) && canSee(actor, e);

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache, no-transform",
        Connection: "keep-alive",
        "X-Accel-Buffering": "no",
        "X-Request-Id": req.id,
      });
      res.write("retry: 3000\n\n");
      let sentUpTo = lastId ?? 0;
      const send = (e: SenEvent) => {
        if (e.id <= sentUpTo || !visible(e)) return;
        sentUpTo = e.id;
        // Unnamed events (type "message"), so a plain EventSource's onmessage receives them all;
        // the topic is in the data.
        res.write(`id: ${e.id}\ndata: ${JSON.stringify({ ...e, audience: undefined })}\n\n`);
      };
      // Buffer live events while the replay runs so none falls between the two.
      const pending: SenEvent[] = [];
      let replaying = lastId !== undefined;
      const unsubscribe = bus.subscribe((e) => (replaying ? pending.push(e) : send(e)));
      if (lastId !== undefined) {
        let after = lastId;
        for (;;) {
          const batch = await bus.since(after, 1000);
          for (const e of batch) send(e);
          if (batch.length < 1000) break;
          after = batch[batch.length - 1].id;
        }
        replaying = false;
        for (const e of pending.splice(0)) send(e);
      }
      const heartbeat = setInterval(() => res.write(`: heartbeat ${new Date().toISOString()}\n\n`), opts.heartbeatMs);
      open.add(res);
      const close = () => {
        open.delete(res);
        clearInterval(heartbeat);
        unsubscribe();
      };
      req.raw.on("close", close);
      res.on("error", close);
    },
  );
}
