// HTTP routes of alerts: the JSON API (/api/alerts…), the CAP documents and index feeds (/cap/…),
// subscriptions, and import of other authorities' CAP.
import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { Actor } from "../core/context.ts";
import { Problem, notFound } from "../core/errors.ts";
import { errors } from "../core/http/schemas.ts";
import { typed } from "../core/http/server.ts";
import { MAX_XML_BYTES } from "./cap.ts";
import type { DeliveryService, SubscriptionInput } from "./delivery.ts";
import { renderFeed } from "./feeds.ts";
import {
  Alert,
  AlertQuery,
  AreaCommunes,
  AreaInput,
  BulkSubscriptionBody,
  CancelBody,
  DraftBody,
  EditBody,
  IdParams,
  ImportResult,
  Progress,
  RejectBody,
  Subscription,
  SubscriptionBody,
} from "./schemas.ts";
import type { AlertsService, DraftInput } from "./service.ts";
import { TEMPLATES } from "./templates.ts";

const Str64 = Type.String({ maxLength: 64 });
const XML_TYPES = ["application/xml", "text/xml", "application/cap+xml", "application/atom+xml", "application/rss+xml"];

export function alertRoutes(
  fastify: FastifyInstance,
  alerts: AlertsService,
  delivery: DeliveryService,
  opts: { publicUrl: string; provinceName(): Promise<string> },
) {
  const app = typed(fastify);
  const tags = ["alerts"];

  app.get(
    "/api/alerts",
    {
      config: { access: "public" },
      schema: {
        tags,
        summary: "Alerts, newest first (published ones for everyone; drafts for staff with alerts:read)",
        description: "Filter by commune (codes the area touches) or by a point (lat, lon: alerts whose area contains it).",
        querystring: AlertQuery,
        response: { 200: Type.Array(Alert), ...errors(400, 403) },
      },
    },
    (req) => alerts.list(req.query as Parameters<AlertsService["list"]>[0], req.ctx.actor),
  );

  app.get(
    "/api/alerts/templates",
    {
      config: { access: "public" },
      schema: { tags, summary: "Texts and CAP codes to start from, per hazard (vi and en)", response: { 200: Type.Record(Type.String(), Type.Unknown()) } },
    },
    async () => TEMPLATES,
  );

  app.post(
    "/api/alerts/area",
    {
      config: { access: "alerts:draft" },
      schema: {
        tags,
        summary: "The communes an area touches (chosen communes, polygons, circles)",
        body: AreaInput,
        response: { 200: AreaCommunes, ...errors(400, 401, 403) },
      },
    },
    async (req) => alerts.resolveArea(req.body),
  );

  app.get(
    "/api/alerts/push-key",
    {
      config: { access: "public" },
      schema: { tags, summary: "The VAPID public key for web-push subscriptions", response: { 200: Type.Object({ publicKey: Type.String() }) } },
    },
    async () => ({ publicKey: await delivery.vapidPublicKey() }),
  );

  // ---------- subscriptions (before /:id so the paths do not collide)

  app.get(
    "/api/alerts/subscriptions",
    {
      config: { access: "authenticated" },
      schema: {
        tags,
        summary: "My subscriptions (staff with alerts:manage: all, with ?all=true)",
        querystring: Type.Object(
          {
            all: Type.Optional(Type.Boolean()),
            channel: Type.Optional(Type.String({ maxLength: 20 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
            offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Array(Subscription), ...errors(401, 403) },
      },
    },
    async (req) =>
      req.query.all && req.ctx.actor.permissions.has("alerts:manage")
        ? delivery.list({ channel: req.query.channel, limit: req.query.limit ?? 100, offset: req.query.offset ?? 0 })
        : delivery.mine(req.ctx.actor),
  );

  app.post(
    "/api/alerts/subscriptions",
    {
      config: { access: "authenticated" },
      schema: {
        tags,
        summary: "Subscribe to alerts for communes or a place, by category (web push, email; webhooks for staff)",
        body: SubscriptionBody,
        response: { 201: Subscription, ...errors(400, 401, 403) },
      },
    },
    async (req, reply) => reply.code(201).send(await delivery.subscribe(req.body as SubscriptionInput, req.ctx.actor)),
  );

  app.post(
    "/api/alerts/subscriptions/bulk",
    {
      config: { access: "alerts:manage" },
      bodyLimit: 8 * 1024 * 1024,
      schema: {
        tags,
        summary: "Register many system subscriptions at once (up to 10,000)",
        body: BulkSubscriptionBody,
        response: { 201: Type.Object({ created: Type.Integer() }), ...errors(400, 401, 403, 413) },
      },
    },
    async (req, reply) => reply.code(201).send({ created: await delivery.subscribeMany(req.body.subscriptions as SubscriptionInput[], req.ctx.actor) }),
  );

  app.delete(
    "/api/alerts/subscriptions/:id",
    {
      config: { access: "authenticated" },
      schema: { tags, summary: "Unsubscribe", params: IdParams, response: { 204: Type.Null(), ...errors(401, 404) } },
    },
    async (req, reply) => {
      await delivery.unsubscribe(req.params.id, req.ctx.actor);
      return reply.code(204).send(null);
    },
  );

  // ---------- drafting and the workflow

  app.post(
    "/api/alerts",
    {
      config: { access: "alerts:draft" },
      schema: {
        tags,
        summary: "Write a draft alert (Vietnamese info first, English second)",
        body: DraftBody,
        response: { 201: Alert, ...errors(400, 401, 403) },
      },
    },
    async (req, reply) => reply.code(201).send(await alerts.create(req.body as DraftInput, req.ctx.actor)),
  );

  app.get(
    "/api/alerts/:id",
    {
      config: { access: "public" },
      schema: { tags, summary: "One alert (drafts for staff with alerts:read)", params: IdParams, response: { 200: Alert, ...errors(404) } },
    },
    (req) => alerts.get(req.params.id, req.ctx.actor),
  );

  app.patch(
    "/api/alerts/:id",
    {
      config: { access: "alerts:draft" },
      schema: {
        tags,
        summary: "Edit a draft (give the version you edited)",
        params: IdParams,
        body: EditBody,
        response: { 200: Alert, ...errors(400, 401, 403, 404, 409) },
      },
    },
    (req) => alerts.edit(req.params.id, req.body as DraftInput & { version: number }, req.ctx.actor),
  );

  const action = (path: string, access: "alerts:draft" | "alerts:approve", summary: string, run: (id: string, actor: Actor) => Promise<unknown>) =>
    app.post(
      `/api/alerts/:id/${path}`,
      { config: { access }, schema: { tags, summary, params: IdParams, response: { 200: Alert, ...errors(400, 401, 403, 404, 409) } } },
      (req) => run(req.params.id, req.ctx.actor) as Promise<never>,
    );
  action("submit", "alerts:draft", "Submit a draft for approval", (id, actor) => alerts.submit(id, actor));
  action("approve", "alerts:approve", "Approve and publish a submitted alert (not your own)", (id, actor) => alerts.approve(id, actor));
  action("discard", "alerts:draft", "Discard a draft", (id, actor) => alerts.discard(id, actor));

  app.post(
    "/api/alerts/:id/update",
    {
      config: { access: "alerts:draft" },
      schema: {
        tags,
        summary: "Start an Update of a published alert (a draft that references it)",
        params: IdParams,
        response: { 201: Alert, ...errors(401, 403, 404, 409) },
      },
    },
    async (req, reply) => reply.code(201).send(await alerts.startUpdate(req.params.id, req.ctx.actor)),
  );

  app.post(
    "/api/alerts/:id/reject",
    {
      config: { access: "alerts:approve" },
      schema: {
        tags,
        summary: "Return a submitted alert to its author as a draft",
        params: IdParams,
        body: RejectBody,
        response: { 200: Alert, ...errors(400, 401, 403, 404, 409) },
      },
    },
    (req) => alerts.reject(req.params.id, req.body.reason, req.ctx.actor),
  );

  app.post(
    "/api/alerts/:id/cancel",
    {
      config: { access: "alerts:approve" },
      schema: {
        tags,
        summary: "Cancel a published alert: publishes a Cancel that references it",
        params: IdParams,
        body: CancelBody,
        response: { 200: Alert, ...errors(400, 401, 403, 404, 409) },
      },
    },
    (req) => alerts.cancel(req.params.id, req.body, req.ctx.actor),
  );

  app.get(
    "/api/alerts/:id/deliveries",
    {
      config: { access: "alerts:read" },
      schema: {
        tags,
        summary: "Delivery progress of a published alert, with the latest log entries",
        params: IdParams,
        response: { 200: Progress, ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      await alerts.published(req.params.id);
      return delivery.progress(req.params.id);
    },
  );

  // ---------- import (XML bodies, in a scope of their own so no other route parses XML)

  fastify.register(async (scope) => {
    scope.addContentTypeParser(XML_TYPES, { parseAs: "string", bodyLimit: MAX_XML_BYTES }, (_req, body, done) => done(null, body));
    typed(scope).post(
      "/api/alerts/import",
      {
        config: { access: "alerts:manage" },
        bodyLimit: MAX_XML_BYTES,
        schema: {
          tags,
          summary: "Import a CAP alert (1.0–1.2) or an Atom/RSS feed of alerts from another authority",
          description:
            "DTDs and entity declarations are refused (XXE), as are documents over 2 MiB or nested deeper than 32 levels. An invalid alert is refused with its reasons.",
          querystring: Type.Object({ source: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
          consumes: XML_TYPES,
          response: { 200: ImportResult, ...errors(400, 401, 403, 413, 415, 422) },
        },
      },
      async (req) => {
        if (typeof req.body !== "string") throw new Problem(415, "unsupported-media-type", `Send the document as ${XML_TYPES.join(", ")}.`);
        return alerts.importXml(req.body, req.query.source ?? `upload by ${req.ctx.actor.name}`);
      },
    );
  });

  // ---------- CAP documents and feeds

  const xml = (reply: FastifyReply, type: string, body: string) =>
    reply.header("content-type", `${type}; charset=utf-8`).header("cache-control", "public, max-age=60").send(body);

  app.get(
    "/cap/alerts/:file",
    {
      config: { access: "public" },
      schema: {
        tags: ["cap"],
        summary: "One published alert as a CAP 1.2 document ({id}.xml)",
        params: Type.Object({ file: Str64 }),
        produces: ["application/cap+xml"],
      },
    },
    async (req, reply) => {
      const m = req.params.file.match(/^([0-9a-f-]{36})\.xml$/i);
      if (!m) throw notFound("No such CAP document.");
      const r = await alerts.published(m[1]);
      return xml(reply, "application/cap+xml", r.xml ?? "");
    },
  );

  const feed = async (kind: "atom" | "rss", reply: FastifyReply, lang: "vi" | "en" | undefined, commune?: string) => {
    const l = lang ?? "vi";
    const rows = await alerts.store.list({ current: true, origin: "sen", communes: commune ? [commune] : undefined, limit: 500, offset: 0 });
    const province = await opts.provinceName();
    const self = `${opts.publicUrl}/cap/${commune ? `communes/${commune}/` : ""}feed.${kind}${lang ? `?lang=${lang}` : ""}`;
    const title =
      l === "vi"
        ? `Cảnh báo đang hiệu lực – ${province}${commune ? ` (xã ${commune})` : ""}`
        : `Current alerts – ${province}${commune ? ` (commune ${commune})` : ""}`;
    return xml(
      reply,
      kind === "atom" ? "application/atom+xml" : "application/rss+xml",
      renderFeed(kind, { self, title, publicUrl: opts.publicUrl, lang: l }, rows),
    );
  };
  const FeedQuery = Type.Object({ lang: Type.Optional(Type.Union([Type.Literal("vi"), Type.Literal("en")])) }, { additionalProperties: false });

  for (const kind of ["atom", "rss"] as const) {
    app.get(
      `/cap/feed.${kind}`,
      {
        config: { access: "public" },
        schema: { tags: ["cap"], summary: `Current alerts of the province (${kind === "atom" ? "Atom" : "RSS 2.0"}, CAP index feed)`, querystring: FeedQuery },
      },
      (req, reply) => feed(kind, reply, req.query.lang),
    );
    app.get(
      `/cap/communes/:code/feed.${kind}`,
      {
        config: { access: "public" },
        schema: {
          tags: ["cap"],
          summary: `Current alerts touching one commune (${kind === "atom" ? "Atom" : "RSS 2.0"})`,
          params: Type.Object({ code: Type.String({ pattern: "^\\d{5}$" }) }),
          querystring: FeedQuery,
        },
      },
      (req, reply) => feed(kind, reply, req.query.lang, req.params.code),
    );
  }
}
