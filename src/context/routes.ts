// HTTP of the NGSI-LD API (/ngsi-ld/v1/…), in its own encapsulated plugin: its own JSON and
// JSON-LD body parsers, content negotiation (application/json with a Link header,
// application/ld+json with @context in the body, application/geo+json), and errors as NGSI-LD
// ProblemDetails (application/json), as the standard fixes them.
import { Type } from "@sinclair/typebox";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import sjson from "secure-json-parse";
import { Problem } from "../core/errors.ts";
import { errors } from "../core/http/schemas.ts";
import { typed } from "../core/http/server.ts";
import { type RenderOptions, type StoredEntity, checkShape, renderEntity, renderFeature } from "./entity.ts";
import { LdProblem, badRequestData, invalidRequest, notFound } from "./errors.ts";
import { type ActiveContext, CORE, CORE_CONTEXT_URL, coreContextDocument, isCoreUrl, linkHeader, parseLinkHeader } from "./jsonld.ts";
import type { ContextService, QueryParams } from "./service.ts";
import type { SubscriptionService } from "./subscriptions.ts";
import type { TemporalParams, TemporalService } from "./temporal.ts";

const JSON_TYPES = ["application/json", "application/ld+json", "application/merge-patch+json"];

const S = (max = 4000) => Type.Optional(Type.String({ maxLength: max }));
const QueryString = Type.Object(
  {
    id: S(50_000),
    idPattern: S(300),
    type: S(),
    attrs: S(),
    q: S(4000),
    georel: S(200),
    geometry: S(50),
    coordinates: S(200_000),
    geoproperty: S(300),
    limit: Type.Optional(Type.Integer()),
    offset: Type.Optional(Type.Integer()),
    count: Type.Optional(Type.Boolean()),
    options: S(200),
    format: S(50),
    pick: S(),
    omit: S(),
    lang: S(100),
    local: Type.Optional(Type.Boolean()),
    csf: S(10),
    scopeQ: S(),
  },
  { additionalProperties: false },
);
const TemporalQuery = Type.Object(
  {
    ...QueryString.properties,
    timerel: S(20),
    timeAt: S(60),
    endTimeAt: S(60),
    timeproperty: S(40),
    lastN: Type.Optional(Type.Integer()),
    aggrMethods: S(200),
    aggrPeriodDuration: S(60),
  },
  { additionalProperties: false },
);
const EntityOptions = Type.Object(
  { options: S(200), format: S(50), attrs: S(), pick: S(), omit: S(), lang: S(100), type: S(), geometryProperty: S(300) },
  { additionalProperties: false },
);
const WriteOptions = Type.Object({ options: S(200) }, { additionalProperties: false });
const AttrOptions = Type.Object({ datasetId: S(512), deleteAll: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 512 }) });
const AttrParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 512 }), attr: Type.String({ minLength: 1, maxLength: 512 }) });
const Page = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    offset: Type.Optional(Type.Integer({ minimum: 0 })),
    count: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
const ContextRegister = Type.Object({ url: S(1000) }, { additionalProperties: false });
// Bodies carry no schema on purpose: NGSI-LD bodies are open JSON-LD, checked by entity.ts after
// checkShape bounds their depth and size (a schema validator would walk a hostile body first).

type Media = "application/json" | "application/ld+json" | "application/geo+json";

/** The media type to answer in, from Accept (406 when none fits). */
function negotiate(req: FastifyRequest, geo = false): Media {
  const accept = req.headers.accept;
  if (!accept) return "application/json";
  const offers: Media[] = geo ? ["application/json", "application/ld+json", "application/geo+json"] : ["application/json", "application/ld+json"];
  const ranges = accept
    .split(",")
    .map((part, i) => {
      const [type, ...params] = part.trim().split(";");
      const qp = params.map((x) => x.trim()).find((x) => x.startsWith("q="));
      return { type: type.trim().toLowerCase(), q: qp ? Number(qp.slice(2)) : 1, i };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const r of ranges) {
    if (r.type === "*/*" || r.type === "application/*") return "application/json";
    const hit = offers.find((o) => o === r.type);
    if (hit) return hit;
  }
  throw new LdProblem("NotAcceptable", 406, `Sen answers ${offers.join(", ")}.`);
}

export interface ContextRoutesDeps {
  service: ContextService;
  subscriptions: SubscriptionService;
  temporal: TemporalService;
  publicUrl: string;
}

export function contextRoutes(app: FastifyInstance, deps: ContextRoutesDeps) {
  const { service, subscriptions, temporal, publicUrl } = deps;

  /** The @context of a request: Link header (application/json, GET) or the body (application/ld+json). */
  function contextOf(req: FastifyRequest, body?: unknown, perItem = false): ActiveContext {
    const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    const link = parseLinkHeader(req.headers.link as string | undefined);
    if (body !== undefined && type === "application/ld+json") {
      if (link) throw badRequestData("With Content-Type application/ld+json the @context goes in the body, not in a Link header.");
      if (perItem) return CORE; // batches: each entity carries its own
      const ctx = (body as { "@context"?: unknown })?.["@context"];
      if (ctx === undefined) throw badRequestData("An application/ld+json body needs an @context.");
      return service.resolve(ctx);
    }
    if (body !== undefined && body && typeof body === "object" && !Array.isArray(body) && "@context" in body)
      throw badRequestData("An application/json body must not carry @context; use application/ld+json or a Link header.");
    return link ? service.resolve(link) : CORE;
  }

  function itemContext(req: FastifyRequest) {
    const ld = (req.headers["content-type"] ?? "").toLowerCase().startsWith("application/ld+json");
    const link = parseLinkHeader(req.headers.link as string | undefined);
    return (item: unknown): ActiveContext => {
      const c = (item as { "@context"?: unknown })?.["@context"];
      if (ld) {
        if (c === undefined) throw badRequestData("Each entity of an application/ld+json batch needs an @context.");
        return service.resolve(c);
      }
      if (c !== undefined) throw badRequestData("An application/json body must not carry @context.");
      return link ? service.resolve(link) : CORE;
    };
  }

  function send(reply: FastifyReply, media: Media, ctx: ActiveContext, body: unknown, status = 200) {
    reply.code(status);
    if (media === "application/ld+json") {
      const c = ctx.source.length ? (ctx.source.length === 1 ? ctx.source[0] : ctx.source) : CORE_CONTEXT_URL;
      const withCtx = (x: unknown) => (x && typeof x === "object" && !Array.isArray(x) ? { ...(x as object), "@context": c } : x);
      return reply.type("application/ld+json").send(Array.isArray(body) ? body.map(withCtx) : withCtx(body));
    }
    if (media === "application/json") reply.header("Link", linkHeader(ctx.linkUrl));
    return reply.type(media === "application/geo+json" ? "application/geo+json" : "application/json").send(body);
  }

  const tenant = (req: FastifyRequest) => service.tenantOf(req.headers["ngsild-tenant"] as string | undefined);
  const body = (req: FastifyRequest) => {
    checkShape(req.body);
    return req.body;
  };
  const entityPath = (id: string) => `/ngsi-ld/v1/entities/${encodeURI(id)}`;

  app.register(
    async (instance) => {
      const ngsi = typed(instance);
      // Bodies: JSON, JSON-LD and merge-patch, parsed here with prototype poisoning refused.
      ngsi.removeAllContentTypeParsers();
      ngsi.addContentTypeParser(JSON_TYPES, { parseAs: "string" }, (_req, raw, done) => {
        const text = raw as string;
        if (!text.trim()) return done(invalidRequest("The body is empty."), undefined);
        try {
          done(null, sjson.parse(text, undefined, { protoAction: "error", constructorAction: "error" }));
        } catch (err) {
          done(invalidRequest(`The body is not valid JSON: ${(err as Error).message.slice(0, 200)}`), undefined);
        }
      });
      ngsi.addContentTypeParser("*", (_req, _payload, done) =>
        done(new LdProblem("UnsupportedMediaType", 415, "Send application/json or application/ld+json."), undefined),
      );

      ngsi.setErrorHandler((err: FastifyError, req, reply) => {
        let body: Record<string, unknown>;
        if (err instanceof LdProblem) body = err.toBody();
        else if (err instanceof Problem) body = { ...err.toBody() };
        else if (err.validation) body = badRequestData(`The request is not valid: ${err.validationContext ?? ""} ${err.message}`).toBody();
        else if (err.statusCode === 413) body = { ...badRequestData(`The body is larger than the limit (${err.message}).`).toBody(), status: 413 };
        else if (err.statusCode === 415) body = new LdProblem("UnsupportedMediaType", 415, "Send application/json or application/ld+json.").toBody();
        else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) body = invalidRequest(err.message).toBody();
        else {
          req.log.error({ err }, "NGSI-LD request failed");
          body = { ...new LdProblem("InternalError", 500, "Something went wrong on our side; the request id helps us find it.").toBody() };
        }
        return reply
          .code(body.status as number)
          .type("application/json")
          .send({ ...body, instance: req.url.split("?")[0].slice(0, 300), requestId: req.id });
      });
      // Sign-in refusals come from the core access hook as problem+json; NGSI-LD clients get JSON.
      ngsi.addHook("onSend", async (_req, reply, payload) => {
        if (String(reply.getHeader("content-type") ?? "").startsWith("application/problem+json")) reply.type("application/json");
        return payload;
      });
      // Anything else under /ngsi-ld/v1 is an NGSI-LD ResourceNotFound (the root 404 is problem+json).
      ngsi.route({
        method: ["GET", "POST", "PUT", "PATCH", "DELETE"],
        url: "/*",
        config: { access: "public" },
        schema: { hide: true },
        handler: async (req) => {
          throw notFound(`There is nothing at ${req.method} ${req.url.split("?")[0].slice(0, 200)}.`);
        },
      });

      const tags = ["ngsi-ld"];
      const reads = { 200: Type.Unknown(), ...errors(400, 404) };

      // ---------------------------------------------------------------- entities
      ngsi.get(
        "/entities",
        {
          config: { access: "public" },
          schema: {
            tags,
            summary: "Query entities (id, idPattern, type, attrs, q, geo-query, pagination, formats)",
            description: "Anonymous callers see the entity types an agency made public; holders of context:read see all. NGSILD-Results-Count with count=true.",
            querystring: QueryString,
            response: reads,
          },
        },
        async (req, reply) => {
          const media = negotiate(req, true);
          const ctx = contextOf(req);
          const t = await tenant(req);
          if (req.query.scopeQ !== undefined) throw new LdProblem("OperationNotSupported", 422, "scopeQ is not supported.");
          const r = await service.query(req.ctx.actor, t, req.query as QueryParams, ctx);
          if (r.count !== undefined) reply.header("NGSILD-Results-Count", String(r.count));
          if (media === "application/geo+json")
            return send(reply, media, ctx, { type: "FeatureCollection", features: r.entities.map((e) => renderFeature(e, ctx, r.render, r.geoIri)) });
          return send(
            reply,
            media,
            ctx,
            r.entities.map((e) => renderEntity(e, ctx, r.render)),
          );
        },
      );

      ngsi.post(
        "/entities",
        { config: { access: "context:write" }, schema: { tags, summary: "Create an entity", response: { 201: Type.Null(), ...errors(400, 401, 403, 409) } } },
        async (req, reply) => {
          const b = body(req);
          const ctx = contextOf(req, b);
          const id = await service.createEntity(req.ctx.actor, await tenant(req), b, ctx);
          return (reply as FastifyReply).code(201).header("Location", entityPath(id)).send();
        },
      );

      ngsi.get(
        "/entities/:id",
        { config: { access: "public" }, schema: { tags, summary: "One entity", params: IdParams, querystring: EntityOptions, response: reads } },
        async (req, reply) => {
          const media = negotiate(req, true);
          const ctx = contextOf(req);
          const { e, render } = await service.getEntity(req.ctx.actor, await tenant(req), req.params.id, req.query, ctx);
          if (media === "application/geo+json") return send(reply, media, ctx, renderFeature(e, ctx, render));
          return send(reply, media, ctx, renderEntity(e, ctx, render));
        },
      );

      const noContent = (reply: FastifyReply) => (reply as FastifyReply).code(204).send();
      const partial = (reply: FastifyReply, ctx: ActiveContext, r: { updated: string[]; notUpdated: Array<{ attributeName: string; reason: string }> }) => {
        if (!r.notUpdated.length) return noContent(reply);
        const c = (x: string) => (x.startsWith(ctx.vocab) ? x.slice(ctx.vocab.length) : (ctx.reverse.get(x) ?? x));
        return reply
          .code(207)
          .type("application/json")
          .send({ updated: r.updated.map(c), notUpdated: r.notUpdated.map((n) => ({ ...n, attributeName: c(n.attributeName) })) });
      };

      ngsi.put(
        "/entities/:id",
        {
          config: { access: "context:write" },
          schema: { tags, summary: "Replace an entity", params: IdParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } },
        },
        async (req, reply) => {
          const b = body(req);
          await service.replaceEntity(req.ctx.actor, await tenant(req), req.params.id, b, contextOf(req, b));
          return noContent(reply);
        },
      );
      ngsi.patch(
        "/entities/:id",
        {
          config: { access: "context:write" },
          schema: {
            tags,
            summary: "Merge into an entity (urn:ngsi-ld:null deletes)",
            params: IdParams,
            response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
          },
        },
        async (req, reply) => {
          const b = body(req);
          await service.mergeEntity(req.ctx.actor, await tenant(req), req.params.id, b, contextOf(req, b));
          return noContent(reply);
        },
      );
      ngsi.delete(
        "/entities/:id",
        {
          config: { access: "context:write" },
          schema: { tags, summary: "Delete an entity", params: IdParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } },
        },
        async (req, reply) => {
          await service.deleteEntity(req.ctx.actor, await tenant(req), req.params.id);
          return noContent(reply);
        },
      );
      ngsi.post(
        "/entities/:id/attrs",
        {
          config: { access: "context:write" },
          schema: { tags, summary: "Append attributes (options=noOverwrite keeps existing ones)", params: IdParams, querystring: WriteOptions },
        },
        async (req, reply) => {
          const b = body(req);
          const ctx = contextOf(req, b);
          const r = await service.appendAttrs(
            req.ctx.actor,
            await tenant(req),
            req.params.id,
            b,
            ctx,
            (req.query.options ?? "").split(",").includes("noOverwrite"),
          );
          return partial(reply, ctx, r);
        },
      );
      ngsi.patch(
        "/entities/:id/attrs",
        { config: { access: "context:write" }, schema: { tags, summary: "Update existing attributes", params: IdParams } },
        async (req, reply) => {
          const b = body(req);
          const ctx = contextOf(req, b);
          return partial(reply, ctx, await service.updateAttrs(req.ctx.actor, await tenant(req), req.params.id, b, ctx));
        },
      );
      ngsi.patch(
        "/entities/:id/attrs/:attr",
        { config: { access: "context:write" }, schema: { tags, summary: "Partial update of one attribute", params: AttrParams } },
        async (req, reply) => {
          const b = body(req);
          await service.patchAttr(req.ctx.actor, await tenant(req), req.params.id, req.params.attr, b, contextOf(req, b));
          return noContent(reply);
        },
      );
      ngsi.put(
        "/entities/:id/attrs/:attr",
        { config: { access: "context:write" }, schema: { tags, summary: "Replace one attribute", params: AttrParams } },
        async (req, reply) => {
          const b = body(req);
          await service.replaceAttr(req.ctx.actor, await tenant(req), req.params.id, req.params.attr, b, contextOf(req, b));
          return noContent(reply);
        },
      );
      ngsi.delete(
        "/entities/:id/attrs/:attr",
        {
          config: { access: "context:write" },
          schema: { tags, summary: "Delete an attribute (datasetId, deleteAll)", params: AttrParams, querystring: AttrOptions },
        },
        async (req, reply) => {
          await service.deleteAttr(req.ctx.actor, await tenant(req), req.params.id, req.params.attr, contextOf(req), req.query);
          return noContent(reply);
        },
      );

      // ---------------------------------------------------------------- batch operations
      const batchResult = (reply: FastifyReply, op: string, r: Awaited<ReturnType<ContextService["batch"]>>) => {
        if (r.errors.length) return reply.code(207).type("application/json").send({ success: r.success, errors: r.errors });
        if (op === "create") return reply.code(201).type("application/json").send(r.success);
        if (op === "upsert" && r.created.length) return reply.code(201).type("application/json").send(r.created);
        return (reply as FastifyReply).code(204).send();
      };
      for (const op of ["create", "upsert", "update", "delete"] as const)
        ngsi.post(
          `/entityOperations/${op}`,
          {
            config: { access: "context:write" },
            schema: { tags, summary: `Batch ${op} (201/204, or 207 with the errors of single entities)`, querystring: WriteOptions },
          },
          async (req, reply) => {
            const b = body(req);
            const options = (req.query.options ?? "").split(",");
            const r = await service.batch(req.ctx.actor, await tenant(req), op, b, itemContext(req), {
              replace: !options.includes("update"),
              noOverwrite: options.includes("noOverwrite"),
            });
            return batchResult(reply, op, r);
          },
        );
      ngsi.post(
        "/entityOperations/query",
        { config: { access: "public" }, schema: { tags, summary: "Query entities with a Query body (POST)", querystring: Page, response: reads } },
        async (req, reply) => {
          const media = negotiate(req);
          const b = body(req) as Record<string, unknown>;
          if (!b || typeof b !== "object" || Array.isArray(b) || b.type !== "Query") throw badRequestData('The body is a Query: {"type": "Query", …}.');
          const ctx = contextOf(req, b);
          const ents = (b.entities as Array<Record<string, unknown>> | undefined) ?? [];
          if (!Array.isArray(ents) || ents.length > 1) throw new LdProblem("OperationNotSupported", 422, "Give at most one entities selector.");
          const sel = ents[0] ?? {};
          const geoQ = (b.geoQ ?? {}) as Record<string, unknown>;
          const str = (v: unknown, what: string) => {
            if (v === undefined) return undefined;
            if (typeof v !== "string") throw badRequestData(`${what} must be a string.`);
            return v;
          };
          const attrs = b.attrs === undefined ? undefined : Array.isArray(b.attrs) ? (b.attrs as string[]).join(",") : str(b.attrs, "attrs");
          const p: QueryParams = {
            id: str(sel.id, "entities[0].id"),
            idPattern: str(sel.idPattern, "entities[0].idPattern"),
            type: str(sel.type, "entities[0].type"),
            attrs,
            q: str(b.q, "q"),
            georel: str(geoQ.georel, "geoQ.georel"),
            geometry: str(geoQ.geometry, "geoQ.geometry"),
            coordinates:
              geoQ.coordinates === undefined ? undefined : typeof geoQ.coordinates === "string" ? geoQ.coordinates : JSON.stringify(geoQ.coordinates),
            geoproperty: str(geoQ.geoproperty, "geoQ.geoproperty"),
            limit: req.query.limit,
            offset: req.query.offset,
            count: req.query.count,
          };
          const r = await service.query(req.ctx.actor, await tenant(req), p, ctx);
          if (r.count !== undefined) reply.header("NGSILD-Results-Count", String(r.count));
          return send(
            reply,
            media,
            ctx,
            r.entities.map((e: StoredEntity) => renderEntity(e, ctx, r.render as RenderOptions)),
          );
        },
      );

      // ---------------------------------------------------------------- types and attributes
      ngsi.get(
        "/types",
        {
          config: { access: "public" },
          schema: {
            tags,
            summary: "Entity types present",
            querystring: Type.Object({ details: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
            response: reads,
          },
        },
        async (req, reply) => {
          const media = negotiate(req);
          const ctx = contextOf(req);
          const rows = await service.types(req.ctx.actor, await tenant(req));
          const c = (iri: string) => ctx.reverse.get(iri) ?? (iri.startsWith(ctx.vocab) ? iri.slice(ctx.vocab.length) : iri);
          if (req.query.details)
            return send(
              reply,
              media,
              ctx,
              rows.map((r) => ({ id: r.type, type: "EntityType", typeName: c(r.type), attributeNames: r.attrs.map(c), entityCount: Number(r.n) })),
            );
          return send(reply, media, ctx, { id: `urn:ngsi-ld:EntityTypeList:${Date.now()}`, type: "EntityTypeList", typeList: rows.map((r) => c(r.type)) });
        },
      );
      ngsi.get("/attributes", { config: { access: "public" }, schema: { tags, summary: "Attributes present", response: reads } }, async (req, reply) => {
        const media = negotiate(req);
        const ctx = contextOf(req);
        const rows = await service.attributes(req.ctx.actor, await tenant(req));
        const c = (iri: string) => ctx.reverse.get(iri) ?? (iri.startsWith(ctx.vocab) ? iri.slice(ctx.vocab.length) : iri);
        return send(reply, media, ctx, { id: `urn:ngsi-ld:AttributeList:${Date.now()}`, type: "AttributeList", attributeList: rows.map((r) => c(r.attr)) });
      });

      // ---------------------------------------------------------------- subscriptions
      ngsi.post(
        "/subscriptions",
        {
          config: { access: "context:write" },
          schema: { tags, summary: "Create a subscription (HTTP or MQTT notifications)", response: { 201: Type.Null(), ...errors(400, 401, 403, 409) } },
        },
        async (req, reply) => {
          const b = body(req);
          const ctx = contextOf(req, b);
          const t = await tenant(req);
          service.checkWrite(req.ctx.actor, t);
          const id = await subscriptions.create(req.ctx.actor, t, b, ctx);
          return (reply as FastifyReply)
            .code(201)
            .header("Location", `/ngsi-ld/v1/subscriptions/${encodeURI(id)}`)
            .send();
        },
      );
      ngsi.get(
        "/subscriptions",
        { config: { access: "context:read" }, schema: { tags, summary: "List subscriptions", querystring: Page, response: reads } },
        async (req, reply) => {
          const media = negotiate(req);
          const ctx = contextOf(req);
          const r = await subscriptions.list(await tenant(req), ctx, req.query.limit ?? 20, req.query.offset ?? 0);
          if (req.query.count) reply.header("NGSILD-Results-Count", String(r.count));
          return send(reply, media, ctx, r.items);
        },
      );
      ngsi.get(
        "/subscriptions/:id",
        { config: { access: "context:read" }, schema: { tags, summary: "One subscription with its notification status", params: IdParams, response: reads } },
        async (req, reply) => {
          const media = negotiate(req);
          const ctx = contextOf(req);
          return send(reply, media, ctx, await subscriptions.get(await tenant(req), req.params.id, ctx));
        },
      );
      ngsi.patch(
        "/subscriptions/:id",
        { config: { access: "context:write" }, schema: { tags, summary: "Update a subscription", params: IdParams } },
        async (req, reply) => {
          const b = body(req);
          const t = await tenant(req);
          service.checkWrite(req.ctx.actor, t);
          await subscriptions.update(t, req.params.id, b, contextOf(req, b));
          return noContent(reply);
        },
      );
      ngsi.delete(
        "/subscriptions/:id",
        { config: { access: "context:write" }, schema: { tags, summary: "Delete a subscription", params: IdParams } },
        async (req, reply) => {
          const t = await tenant(req);
          service.checkWrite(req.ctx.actor, t);
          await subscriptions.remove(t, req.params.id);
          return noContent(reply);
        },
      );

      // ---------------------------------------------------------------- temporal
      ngsi.get(
        "/temporal/entities",
        { config: { access: "public" }, schema: { tags, summary: "Query the history of entities", querystring: TemporalQuery, response: reads } },
        async (req, reply) => {
          const media = negotiate(req);
          const ctx = contextOf(req);
          const r = await temporal.query(req.ctx.actor, await tenant(req), req.query as TemporalParams, ctx);
          if (r.count !== undefined) reply.header("NGSILD-Results-Count", String(r.count));
          return send(reply, media, ctx, r.items);
        },
      );
      ngsi.get(
        "/temporal/entities/:id",
        {
          config: { access: "public" },
          schema: { tags, summary: "The history of one entity (timerel, lastN, aggrMethods)", params: IdParams, querystring: TemporalQuery, response: reads },
        },
        async (req, reply) => {
          const media = negotiate(req);
          const ctx = contextOf(req);
          return send(reply, media, ctx, await temporal.entity(req.ctx.actor, await tenant(req), req.params.id, req.query as TemporalParams, ctx));
        },
      );

      // ---------------------------------------------------------------- @contexts
      ngsi.get(
        "/jsonldContexts",
        {
          config: { access: "public" },
          schema: {
            tags,
            summary: "Registered JSON-LD contexts (URLs)",
            querystring: Type.Object({ details: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
          },
        },
        async (req, reply) => {
          const list = service.contextsList();
          const body = req.query.details
            ? [
                { url: CORE_CONTEXT_URL, kind: "ImplicitlyCreated", localId: "core" },
                ...list.map((c) => ({ url: c.url, localId: c.id, kind: c.kind === "hosted" ? "Hosted" : "Cached" })),
              ]
            : [CORE_CONTEXT_URL, ...list.map((c) => c.url)];
          return reply.type("application/json").send(body);
        },
      );
      ngsi.get(
        "/jsonldContexts/:id",
        { config: { access: "public" }, schema: { tags, summary: "One JSON-LD context document", params: IdParams } },
        async (req, reply) => {
          if (req.params.id === "core" || isCoreUrl(req.params.id)) return reply.type("application/ld+json").send(coreContextDocument());
          const hit = service.contextsList().find((c) => c.id === req.params.id || c.url === req.params.id);
          if (!hit) throw notFound(`No registered context ${req.params.id}.`);
          return reply.type("application/ld+json").send(hit.body);
        },
      );
      ngsi.post(
        "/jsonldContexts",
        {
          config: { access: "context:manage" },
          schema: {
            tags,
            summary: "Register a JSON-LD context (hosted by Sen, or ?url= a local copy of a remote one)",
            description:
              "Sen never fetches remote @contexts. Register the content of one that clients reference by URL with ?url=<that URL>; without url, Sen hosts the context at /ngsi-ld/v1/jsonldContexts/{id}.",
            querystring: ContextRegister,
          },
        },
        async (req, reply) => {
          const b = body(req);
          const r = await service.registerContext(req.ctx.actor, b, req.query.url, publicUrl);
          return reply.code(201).header("Location", `/ngsi-ld/v1/jsonldContexts/${r.id}`).type("application/json").send({ id: r.id, url: r.url });
        },
      );
      ngsi.delete(
        "/jsonldContexts/:id",
        { config: { access: "context:manage" }, schema: { tags, summary: "Remove a registered context", params: IdParams } },
        async (req, reply) => {
          await service.deleteContext(req.params.id);
          return (reply as FastifyReply).code(204).send();
        },
      );
    },
    { prefix: "/ngsi-ld/v1" },
  );

  // ---------------------------------------------------------------- Sen's own admin API (problem+json)
  const api = typed(app);
  const PublicType = Type.Object({ tenant: Type.String(), type: Type.String() });
  api.get(
    "/api/context/public-types",
    {
      config: { access: "public" },
      schema: { tags: ["ngsi-ld"], summary: "Entity types readable without signing in", response: { 200: Type.Array(PublicType) } },
    },
    async () => service.publicTypesList().map((p) => ({ tenant: p.tenant, type: p.type.startsWith(CORE.vocab) ? p.type.slice(CORE.vocab.length) : p.type })),
  );
  // A type is a term (WaterLevelObserved) or an absolute IRI (https://smartdatamodels.org/…).
  const TypeParams = Type.Object({
    type: Type.String({ minLength: 1, maxLength: 256, pattern: '^(?:[A-Za-z_][A-Za-z0-9_.-]*|[A-Za-z][A-Za-z0-9+.-]*:[^\\s<>"{}|\\\\^`]+)$' }),
  });
  const TenantQuery = Type.Object({ tenant: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false });
  for (const method of ["put", "delete"] as const)
    api[method](
      "/api/context/public-types/:type",
      {
        config: { access: "context:manage" },
        schema: {
          tags: ["ngsi-ld"],
          summary: method === "put" ? "Make an entity type public (anonymous NGSI-LD reads)" : "Make an entity type private again",
          params: TypeParams,
          querystring: TenantQuery,
          response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
        },
      },
      async (req, reply) => {
        try {
          const t = await service.tenantOf(req.query.tenant);
          await service.setPublic(req.ctx.actor, t, req.params.type, method === "put");
        } catch (err) {
          if (err instanceof LdProblem) throw new Problem(err.status, err.ldType === "ResourceNotFound" ? "not-found" : "bad-request", err.message);
          throw err;
        }
        return (reply as FastifyReply).code(204).send();
      },
    );
  api.get(
    "/api/context/status",
    {
      config: { access: "context:read" },
      schema: {
        tags: ["ngsi-ld"],
        summary: "Broker status for the console",
        response: { 200: Type.Object({ subscriptions: Type.Integer(), contexts: Type.Integer(), publicTypes: Type.Integer() }) },
      },
    },
    async () => ({ subscriptions: subscriptions.activeCount(), contexts: service.contextsList().length, publicTypes: service.publicTypesList().length }),
  );
}
