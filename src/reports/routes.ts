// HTTP routes of field reports: categories and routing, submission (JSON or multipart with photos),
// the public map and tracking, the citizen's follow-up, the agencies' queue and actions, photos,
// statistics and gateways. Open311 lives in open311.ts.
import multipart from "@fastify/multipart";
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { can } from "../core/context.ts";
import { storableJson } from "../core/text.ts";
import { Problem, badRequest } from "../core/errors.ts";
import { errors } from "../core/http/schemas.ts";
import { typed } from "../core/http/server.ts";
import { MAX_PHOTOS, MAX_PHOTO_BYTES, preparePhoto } from "./photos.ts";
import {
  ActionBody,
  CategoryBody,
  CategorySchema,
  CodeParams,
  FollowBody,
  IdParams,
  LookupBody,
  NearbyQuery,
  NearbyReport,
  NewReportBody,
  PhotoParams,
  PublicQuery,
  PublicReport,
  PublicReportDetail,
  QueueQuery,
  RateBody,
  ReopenBody,
  RouteBody,
  StaffReport,
  StaffReportDetail,
  StatsQuery,
  StatsSchema,
  SubmitResult,
  WebhookBody,
  WebhookSchema,
} from "./schemas.ts";
import type { ReportsService } from "./service.ts";
import { type PreparedPhoto, STATUSES, type Status, OPEN_STATUSES } from "./types.ts";

const UPLOAD_LIMIT = MAX_PHOTOS * MAX_PHOTO_BYTES + 1024 * 1024;
const JSON_LIMIT = 1024 * 1024;

/** Validate a body that did not go through the route schema (multipart's JSON field, or JSON on a multipart-capable route). */
function check<T extends TSchema>(schema: T, data: unknown, where: string): Static<T> {
  if (!storableJson(data)) throw badRequest("The request is not valid: text must not contain NUL characters or lone surrogates (\\ud800–\\udfff).");
  if (!Value.Check(schema, data)) {
    const errs = [...Value.Errors(schema, data)].slice(0, 5).map((e) => ({ path: `${where}${e.path}`, message: e.message }));
    throw badRequest(`The request is not valid: ${errs.map((e) => `${e.path} ${e.message}`).join("; ")}.`, { errors: errs });
  }
  return data as Static<T>;
}

const isMultipart = (req: FastifyRequest) => String(req.headers["content-type"] ?? "").startsWith("multipart/form-data");

/** Read a multipart form: one JSON field (`field`) and up to 5 photos, each validated and re-encoded. */
async function readForm(req: FastifyRequest, field: string): Promise<{ data: unknown; photos: PreparedPhoto[] }> {
  let data: unknown;
  const raw: Array<{ name: string; buf: Buffer }> = [];
  try {
    for await (const part of req.parts()) {
      if (part.type === "file") {
        if (raw.length >= MAX_PHOTOS) throw badRequest(`At most ${MAX_PHOTOS} photos per report.`);
        const buf = await part.toBuffer();
        if (buf.length) raw.push({ name: part.filename || `photo ${raw.length + 1}`, buf });
      } else if (part.fieldname === field) {
        try {
          data = JSON.parse(String(part.value));
        } catch {
          throw badRequest(`The field "${field}" must be JSON.`);
        }
      } else throw badRequest(`Unknown form field "${part.fieldname}"; send "${field}" (JSON) and photos.`);
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "FST_REQ_FILE_TOO_LARGE")
      throw new Problem(413, "photo-too-large", `A photo is larger than ${MAX_PHOTO_BYTES / 1024 / 1024} MB; send a smaller one.`);
    if (code === "FST_FILES_LIMIT") throw badRequest(`At most ${MAX_PHOTOS} photos per report.`);
    if (code === "FST_PARTS_LIMIT" || code === "FST_FIELDS_LIMIT") throw badRequest("Too many form fields.");
    throw err;
  }
  if (data === undefined) throw badRequest(`The form needs the field "${field}" (JSON).`);
  // Decoding is CPU work: one photo after the other keeps a burst of uploads from starving the process.
  const photos: PreparedPhoto[] = [];
  for (const p of raw) photos.push(await preparePhoto(p.buf, p.name));
  return { data, photos };
}

export function reportRoutes(parent: FastifyInstance, reports: ReportsService) {
  const plugin = async (instance: FastifyInstance) => {
    await instance.register(multipart, {
      limits: { fileSize: MAX_PHOTO_BYTES, files: MAX_PHOTOS + 1, fields: 5, parts: MAX_PHOTOS + 6, fieldSize: 64 * 1024 },
    });
    const app = typed(instance);
    const tags = ["reports"];

    // Uploads may be large; JSON on the same routes may not.
    const uploadRoute = {
      bodyLimit: UPLOAD_LIMIT,
      preParsing: async (req: FastifyRequest) => {
        if (!isMultipart(req) && Number(req.headers["content-length"] ?? 0) > JSON_LIMIT)
          throw new Problem(413, "body-too-large", `A JSON body may be at most ${JSON_LIMIT} bytes; send photos as multipart/form-data.`);
      },
    };

    // ---------- categories and routing
    app.get(
      "/api/reports/categories",
      {
        config: { access: "public" },
        schema: {
          tags,
          summary: "Report categories (active; all=true with reports:configure)",
          querystring: Type.Object({ all: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
          response: { 200: Type.Array(CategorySchema) },
        },
      },
      (req) => reports.listCategories(req.query.all === true && can(req.ctx.actor, "reports:configure")),
    );

    app.put(
      "/api/reports/categories/:code",
      {
        config: { access: "reports:configure" },
        schema: {
          tags,
          summary: "Create or change a category",
          params: CodeParams,
          body: CategoryBody,
          response: { 200: CategorySchema, ...errors(400, 401, 403) },
        },
      },
      (req) => reports.saveCategory({ ...req.body, code: req.params.code }),
    );

    app.get(
      "/api/reports/routes",
      {
        config: { access: "reports:read" },
        schema: {
          tags,
          summary: "Routing exceptions (category + commune → agency)",
          response: { 200: Type.Array(Type.Object({ category: Type.String(), commune: Type.String(), agency: Type.String() })), ...errors(401, 403) },
        },
      },
      async () => (await reports.store.listRoutes()).map((r) => ({ category: r.category_code, commune: r.commune_code, agency: r.agency_code })),
    );

    app.put(
      "/api/reports/routes",
      {
        config: { access: "reports:configure" },
        schema: {
          tags,
          summary: "Set (or with agency null, remove) a routing exception",
          body: RouteBody,
          response: { 204: Type.Null(), ...errors(400, 401, 403) },
        },
      },
      async (req, reply) => {
        await reports.setRoute(req.body.category, req.body.commune, req.body.agency);
        return reply.code(204).send(null);
      },
    );

    // ---------- submission
    app.post(
      "/api/reports",
      {
        config: { access: "public" },
        ...uploadRoute,
        schema: {
          tags,
          summary: "File a report (JSON, or multipart/form-data with a JSON field `report` and up to 5 photos)",
          description:
            "Anyone may file (signed in or not). Location: lat/lon inside the province, or an address. Photos: JPEG, PNG or WebP, 10 MB each, checked by content, EXIF removed. Channels other than app/web need reports:submit (hotline operators). An Idempotency-Key header (or clientKey) makes retries safe.",
          response: { 201: SubmitResult, 200: SubmitResult, ...errors(400, 404, 413, 415) },
        },
      },
      async (req, reply) => {
        const { data, photos } = isMultipart(req) ? await readForm(req, "report") : { data: req.body, photos: [] };
        const body = check(NewReportBody, data, "/report");
        const channel = body.channel ?? "web";
        const staff = can(req.ctx.actor, "reports:submit");
        if (channel !== "app" && channel !== "web" && !staff) throw new Problem(403, "forbidden", `Only staff may file reports for the ${channel} channel.`);
        if (body.commune && !staff) throw badRequest("commune is computed from the position; only staff may name it.");
        const idem = req.headers["idempotency-key"];
        const key = typeof idem === "string" && idem.length <= 100 ? idem : body.clientKey;
        const result = await reports.submit(
          {
            category: body.category,
            description: body.description,
            lat: body.lat,
            lon: body.lon,
            address: body.address,
            commune: body.commune,
            attributes: body.attributes,
            channel,
            name: body.name,
            phone: body.phone,
            email: body.email,
            clientKey: key ? `api:${key}` : null,
          },
          photos,
          req.ctx.actor,
        );
        return reply.code(result.duplicate ? 200 : 201).send(result);
      },
    );

    app.get(
      "/api/reports/nearby",
      {
        config: { access: "public" },
        schema: {
          tags,
          summary: "Open reports of a category within 200 m from the last 14 days (follow one instead of filing a duplicate)",
          querystring: NearbyQuery,
          response: { 200: Type.Array(NearbyReport), ...errors(400) },
        },
      },
      (req) => reports.nearby(req.query.category, req.query.lat, req.query.lon),
    );

    // ---------- public tracking and map
    app.get(
      "/api/reports/public",
      {
        config: { access: "public" },
        schema: {
          tags,
          summary: "Reports for the public map (no personal data)",
          querystring: PublicQuery,
          response: { 200: Type.Array(PublicReport), ...errors(400) },
        },
      },
      async (req) => {
        let bbox: [number, number, number, number] | undefined;
        if (req.query.bbox) {
          const n = req.query.bbox.split(",").map(Number);
          if (n.length !== 4 || n.some((x) => !Number.isFinite(x))) throw badRequest("bbox must be minLon,minLat,maxLon,maxLat.");
          bbox = n as [number, number, number, number];
        }
        const statuses: Status[] | undefined =
          req.query.status === "open" ? [...OPEN_STATUSES] : req.query.status === "closed" ? STATUSES.filter((s) => !OPEN_STATUSES.includes(s)) : undefined;
        const rows = await reports.getRows({
          bbox,
          statuses,
          categories: req.query.category?.split(",").filter(Boolean),
          from: new Date(Date.now() - (req.query.days ?? 90) * 86_400_000),
          limit: req.query.limit ?? 500,
          offset: 0,
          publicOnly: true,
        });
        return reports.toDtos(rows, false);
      },
    );

    app.get(
      "/api/reports/public/:id",
      {
        config: { access: "public" },
        schema: { tags, summary: "One report with its public timeline", params: IdParams, response: { 200: PublicReportDetail, ...errors(404) } },
      },
      (req) => reports.getPublic(req.params.id),
    );

    app.post(
      "/api/reports/lookup",
      {
        config: { access: "public" },
        schema: {
          tags,
          summary: "The reports an anonymous citizen filed, proven by id + tracking key",
          body: LookupBody,
          response: { 200: Type.Array(PublicReport), ...errors(400) },
        },
      },
      (req) => reports.lookup(req.body.items),
    );

    app.get(
      "/api/reports/mine",
      {
        config: { access: "authenticated" },
        schema: {
          tags,
          summary: "The signed-in citizen's reports",
          querystring: Type.Object(
            { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })), offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })) },
            { additionalProperties: false },
          ),
          response: { 200: Type.Array(PublicReport), ...errors(401) },
        },
      },
      (req) => reports.mine(req.ctx.actor, { limit: req.query.limit ?? 50, offset: req.query.offset ?? 0 }),
    );

    app.post(
      "/api/reports/:id/follow",
      {
        config: { access: "public" },
        schema: {
          tags,
          summary: "Follow a report (signed in, or with an email) instead of filing a duplicate",
          params: IdParams,
          body: FollowBody,
          response: { 200: Type.Object({ followers: Type.Integer(), added: Type.Boolean() }), ...errors(400, 404) },
        },
        preValidation: async (req) => {
          req.body ??= {};
        },
      },
      (req) => reports.follow(req.params.id, req.ctx.actor, req.body.email),
    );

    app.post(
      "/api/reports/:id/reopen",
      {
        config: { access: "public" },
        schema: {
          tags,
          summary: "The citizen reopens a resolved report (within 7 days)",
          params: IdParams,
          body: ReopenBody,
          response: { 200: PublicReportDetail, ...errors(400, 403, 404, 409) },
        },
      },
      (req) => reports.reopen(req.params.id, req.body.note, req.ctx.actor, req.body.key),
    );

    app.post(
      "/api/reports/:id/rate",
      {
        config: { access: "public" },
        schema: {
          tags,
          summary: "The citizen rates the handling (1–5)",
          params: IdParams,
          body: RateBody,
          response: { 200: PublicReportDetail, ...errors(400, 403, 404, 409) },
        },
      },
      (req) => reports.rate(req.params.id, req.body.rating, req.body.comment ?? null, req.ctx.actor, req.body.key),
    );

    app.get(
      "/api/reports/:id/photos/:photo",
      {
        config: { access: "public" },
        schema: {
          tags,
          summary: "A photo of a report (EXIF removed); size=thumb for the thumbnail",
          params: PhotoParams,
          querystring: Type.Object({ size: Type.Optional(Type.Literal("thumb")) }, { additionalProperties: false }),
        },
      },
      async (req, reply) => {
        const p = await reports.photo(req.params.id, req.params.photo, req.query.size === "thumb");
        return reply
          .type(p.mime)
          .header("cache-control", "public, max-age=86400, immutable")
          .header("content-security-policy", "default-src 'none'")
          .send(p.data);
      },
    );

    // ---------- the agencies' side
    app.get(
      "/api/reports",
      {
        config: { access: "reports:read" },
        schema: {
          tags,
          summary: "The queue: reports of the caller's agency (and those below it); admins and operators see all",
          querystring: QueueQuery,
          response: { 200: Type.Array(StaffReport), ...errors(400, 401, 403) },
        },
      },
      (req) => {
        const q = req.query;
        const statuses = q.status?.split(",").filter(Boolean);
        if (statuses?.some((s) => !(STATUSES as readonly string[]).includes(s))) throw badRequest(`status must be among ${STATUSES.join(", ")}.`);
        return reports.queue(
          {
            statuses: statuses as Status[] | undefined,
            categories: q.category?.split(",").filter(Boolean),
            agency: q.agency,
            commune: q.commune,
            overdue: q.overdue,
            q: q.q,
            order: q.order ?? "deadline",
            limit: q.limit ?? 50,
            offset: q.offset ?? 0,
          },
          req.ctx.actor,
        );
      },
    );

    app.get(
      "/api/reports/statistics",
      {
        config: { access: "reports:read" },
        schema: {
          tags,
          summary: "Received, resolved, on-time share, median handling time and satisfaction, by agency, commune or category",
          querystring: StatsQuery,
          response: { 200: StatsSchema, ...errors(400, 401, 403) },
        },
      },
      (req) => reports.statistics(req.query),
    );

    app.get(
      "/api/reports/webhooks",
      {
        config: { access: "reports:configure" },
        schema: { tags, summary: "Gateways told of status changes (Zalo OA, SMS)", response: { 200: Type.Array(WebhookSchema), ...errors(401, 403) } },
      },
      () => reports.listWebhooks(),
    );
    app.post(
      "/api/reports/webhooks",
      {
        config: { access: "reports:configure" },
        schema: {
          tags,
          summary: "Add a gateway: each status change is POSTed to it (signed with the secret) with the citizen's phone/email",
          body: WebhookBody,
          response: { 201: WebhookSchema, ...errors(400, 401, 403) },
        },
      },
      async (req, reply) => reply.code(201).send(await reports.addWebhook(req.body)),
    );
    app.delete(
      "/api/reports/webhooks/:id",
      {
        config: { access: "reports:configure" },
        schema: { tags, summary: "Remove a gateway", params: IdParams, response: { 204: Type.Null(), ...errors(401, 403, 404) } },
      },
      async (req, reply) => {
        await reports.deleteWebhook(req.params.id);
        return reply.code(204).send(null);
      },
    );

    app.get(
      "/api/reports/:id",
      {
        config: { access: "reports:read" },
        schema: { tags, summary: "A report with its full timeline (staff)", params: IdParams, response: { 200: StaffReportDetail, ...errors(401, 403, 404) } },
      },
      (req) => reports.get(req.params.id, req.ctx.actor),
    );

    app.post(
      "/api/reports/:id/actions",
      {
        config: { access: "reports:manage" },
        ...uploadRoute,
        schema: {
          tags,
          summary:
            "Act on a report: accept, start, resolve, reject, duplicate, reroute, note, close (JSON, or multipart with `action` JSON and photos of the fix)",
          params: IdParams,
          response: { 200: StaffReportDetail, ...errors(400, 401, 403, 404, 409, 413) },
        },
      },
      async (req) => {
        const { data, photos } = isMultipart(req) ? await readForm(req, "action") : { data: req.body, photos: [] };
        const body = check(ActionBody, data, "/action");
        return reports.act(req.params.id, body, req.ctx.actor, photos);
      },
    );
  };
  return parent.register(plugin);
}
