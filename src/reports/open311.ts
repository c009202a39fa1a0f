// Open311 GeoReport v2 at /open311/v2/ (data/specs/open311/GeoReport-v2.md): services,
// service definitions, requests (GET with filters, POST form-encoded with an api_key), one
// request, tokens, and FixMyStreet's servicerequestupdates. JSON and XML; errors are the spec's
// array of {code, description} with 400/403/404, not problem+json. No personal data goes out.
import formbody from "@fastify/formbody";
import { Type } from "@sinclair/typebox";
import { XMLBuilder } from "fast-xml-parser";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AccountsService } from "../core/accounts/service.ts";
import { can } from "../core/context.ts";
import { Problem } from "../core/errors.ts";
import { typed } from "../core/http/server.ts";
import type { ReportsService } from "./service.ts";
import type { ReportRow } from "./store.ts";
import { type Category, OPEN_STATUSES, STATUSES, type Status } from "./types.ts";

export const OPEN311_PREFIX = "/open311/v2";
const FORMATS = ["json", "xml"] as const;
type Format = (typeof FORMATS)[number];
const MAX_RANGE_DAYS = 90;
const DEFAULT_LIMIT = 1000;

const xml = new XMLBuilder({ ignoreAttributes: false, format: true, indentBy: "  ", suppressEmptyNode: false, processEntities: true });

/** W3C date-time in Vietnam's offset, as the spec wants (timezone always given). */
export function w3(d: Date | string | null): string | null {
  if (d === null) return null;
  const t = new Date(d).getTime() + 7 * 3600_000;
  return `${new Date(t).toISOString().slice(0, 19)}+07:00`;
}

class Open311Error extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 413 | 429 | 500,
    readonly description: string,
  ) {
    super(description);
  }
}

/** The element of each item of a list-valued field in XML (JSON has a plain array there). */
const XML_ITEM: Record<string, string> = { attributes: "attribute", values: "value" };

/** JSON → the spec's XML shape: empty elements where JSON has null, lists wrapped in their item element. */
function nullsToEmpty(v: unknown): unknown {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.map(nullsToEmpty);
  if (typeof v === "object")
    return Object.fromEntries(
      Object.entries(v as object).map(([k, x]) => [k, Array.isArray(x) && XML_ITEM[k] ? { [XML_ITEM[k]]: nullsToEmpty(x) } : nullsToEmpty(x)]),
    );
  return v;
}

function send(reply: FastifyReply, format: Format, root: string, item: string | null, data: unknown, status = 200) {
  reply.code(status);
  if (format === "json") return reply.type("application/json; charset=utf-8").send(JSON.stringify(data));
  const body = item ? { [root]: { [item]: nullsToEmpty(data) } } : { [root]: nullsToEmpty(data) };
  return reply.type("text/xml; charset=utf-8").send(`<?xml version="1.0" encoding="utf-8"?>\n${xml.build(body)}`);
}

function sendErrors(reply: FastifyReply, format: Format, status: number, errors: Array<{ code: number; description: string }>) {
  return send(reply, format, "errors", "error", errors, status);
}

const formatOf = (url: string): Format => (url.split("?")[0].endsWith(".xml") ? "xml" : "json");

/** "name.json" → ["name", "json"]; anything else → undefined. */
function splitFile(file: string): [string, Format] | undefined {
  const m = /^(.+)\.(json|xml)$/.exec(file);
  return m ? [m[1], m[2] as Format] : undefined;
}

const openOrClosed = (s: Status) => (OPEN_STATUSES.includes(s) ? "open" : "closed");

/** FixMyStreet's update statuses. */
const FMS_STATUS: Record<Status, string> = {
  new: "open",
  assigned: "action_scheduled",
  in_progress: "in_progress",
  resolved: "fixed",
  closed: "closed",
  rejected: "no_further_action",
  duplicate: "duplicate",
  reopened: "open",
};

const str = (v: unknown): string | undefined => {
  if (Array.isArray(v)) v = v[v.length - 1];
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
};

/** A parameter that "can be declared multiple times, comma delimited": all its values, comma-joined. */
const many = (v: unknown): string | undefined => (Array.isArray(v) ? str(v.filter((x) => typeof x === "string" && x.trim()).join(",")) : str(v));

function parseDate(v: string | undefined, name: string): Date | undefined {
  if (v === undefined) return undefined;
  // w3 format with a timezone (Z or ±hh:mm), as the spec requires.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v) || Number.isNaN(Date.parse(v)))
    throw new Open311Error(400, `${name} must be a w3 date-time with a timezone, e.g. 2010-01-01T00:00:00Z.`);
  return new Date(v);
}

function numberParam(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new Open311Error(400, `${name} must be a number between ${min} and ${max}.`);
  return n;
}

export function open311Routes(parent: FastifyInstance, reports: ReportsService, accounts: AccountsService, opts: { publicUrl: string }) {
  const isEn = (req: FastifyRequest) => {
    const q = req.query as Record<string, unknown>;
    const locale = str(q?.locale);
    if (locale) return locale.toLowerCase().startsWith("en");
    return /^en\b/i.test(String(req.headers["accept-language"] ?? ""));
  };

  const service = (c: Category, en: boolean) => ({
    service_code: c.code,
    service_name: en ? c.nameEn : c.name,
    description: en ? c.descriptionEn : c.description,
    metadata: c.attributes.length > 0,
    type: "realtime",
    keywords: c.keywords,
    group: c.group,
  });

  const definition = (c: Category, en: boolean) => ({
    service_code: c.code,
    attributes: [...c.attributes]
      .sort((a, b) => a.order - b.order)
      .map((a) => ({
        variable: a.variable !== false,
        code: a.code,
        datatype: a.datatype,
        required: a.required,
        datatype_description: a.datatypeDescription ?? null,
        order: a.order,
        description: en ? (a.descriptionEn ?? a.description) : a.description,
        ...(a.values?.length ? { values: a.values.map((v) => ({ key: v.key, name: en ? (v.nameEn ?? v.name) : v.name })) } : {}),
      })),
  });

  async function requestsOut(rows: ReportRow[], en: boolean) {
    const cats = new Map((await reports.listCategories(true)).map((c) => [c.code, c]));
    const dtos = await reports.toDtos(rows, false);
    const out = [];
    for (const [i, r] of rows.entries()) {
      const c = cats.get(r.category_code);
      out.push({
        service_request_id: String(r.id),
        status: openOrClosed(r.status),
        status_notes: r.status_notes,
        service_name: c ? (en ? c.nameEn : c.name) : r.category_code,
        service_code: r.category_code,
        description: r.description,
        agency_responsible: await reports.agencyName(r.agency_code, en),
        service_notice: c ? (en ? `To be handled within ${c.deadlineHours} hours.` : `Thời hạn xử lý: ${c.deadlineHours} giờ.`) : null,
        requested_datetime: w3(r.requested_at),
        updated_datetime: w3(r.closed_at ?? r.updated_at),
        expected_datetime: w3(r.deadline_at),
        address: r.address,
        address_id: null,
        zipcode: null,
        lat: r.lat,
        long: r.lon,
        media_url: dtos[i].mediaUrl,
      });
    }
    return out;
  }

  const plugin = async (instance: FastifyInstance) => {
    // Form-encoded bodies only here (POST requests); the rest of Sen keeps refusing them.
    await instance.register(formbody, { bodyLimit: 64 * 1024 });
    const app = typed(instance);

    instance.setErrorHandler((err: FastifyError | Open311Error | Problem, req, reply) => {
      const format = formatOf(req.url);
      if (err instanceof Open311Error) return sendErrors(reply, format, err.status, [{ code: err.status, description: err.description }]);
      if (err instanceof Problem) {
        const status = err.status === 403 || err.status === 404 || err.status === 429 ? err.status : err.status >= 500 ? 500 : 400;
        return sendErrors(reply, format, status, [{ code: err.status, description: err.message }]);
      }
      const fe = err as FastifyError;
      if (fe.validation)
        return sendErrors(
          reply,
          format,
          400,
          fe.validation.map((v) => ({ code: 400, description: `${fe.validationContext ?? ""}${v.instancePath} ${v.message ?? "invalid"}`.trim() })),
        );
      const status = fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : 500;
      if (status === 500) req.log.error({ err }, "open311 request failed");
      return sendErrors(reply, format, status === 500 ? 500 : status === 404 || status === 403 ? status : 400, [
        { code: status, description: status === 500 ? "Something went wrong on our side; the request id helps us find it." : fe.message },
      ]);
    });
    const nothingHere = (req: FastifyRequest, reply: FastifyReply) =>
      sendErrors(reply, formatOf(req.url), 404, [{ code: 404, description: `There is nothing at ${req.method} ${req.url.split("?")[0].slice(0, 200)}.` }]);
    instance.setNotFoundHandler(nothingHere);
    // The web fallback answers every other GET; under this prefix the answer is Open311's.
    instance.get("/*", { config: { access: "public" }, schema: { hide: true } }, nothingHere);

    const tags = ["open311"];
    const query = Type.Object({}, { additionalProperties: true });

    for (const format of FORMATS) {
      app.get(
        `/services.${format}`,
        { config: { access: "public" }, schema: { tags, summary: `Service list (${format.toUpperCase()})`, querystring: query } },
        async (req, reply) => {
          const en = isEn(req);
          return send(
            reply,
            format,
            "services",
            "service",
            (await reports.listCategories()).map((c) => service(c, en)),
          );
        },
      );

      app.get(
        `/requests.${format}`,
        {
          config: { access: "public" },
          schema: {
            tags,
            summary: `Service requests (${format.toUpperCase()})`,
            description:
              "Filters of the spec (service_request_id, service_code, start_date, end_date, status) and the extensions page, page_size (≤ 1000) and bbox=minLon,minLat,maxLon,maxLat. Without dates: the last 90 days.",
            querystring: query,
          },
        },
        async (req, reply) => {
          const q = req.query as Record<string, unknown>;
          const en = isEn(req);
          const ids = many(q.service_request_id);
          let rows: ReportRow[];
          if (ids) {
            const list = ids.split(",").map((s) => s.trim());
            if (list.length > 1000 || !list.every((s) => /^\d{1,18}$/.test(s)))
              throw new Open311Error(400, "service_request_id must be a comma-separated list of request ids.");
            rows = await reports.getRows({ ids: list, limit: 1000, offset: 0, publicOnly: true });
          } else {
            const codes = many(q.service_code)
              ?.split(",")
              .map((s) => s.trim())
              .filter(Boolean);
            const statusList = many(q.status)
              ?.split(",")
              .map((s) => s.trim().toLowerCase())
              .filter(Boolean);
            if (statusList?.some((s) => s !== "open" && s !== "closed")) throw new Open311Error(400, "status must be open, closed or both (comma-separated).");
            let start = parseDate(str(q.start_date), "start_date");
            let end = parseDate(str(q.end_date), "end_date");
            if (!start && !end) {
              end = new Date();
              start = new Date(end.getTime() - MAX_RANGE_DAYS * 86_400_000);
            } else if (!start) start = new Date((end as Date).getTime() - MAX_RANGE_DAYS * 86_400_000);
            else if (!end) end = new Date(Math.min(Date.now(), start.getTime() + MAX_RANGE_DAYS * 86_400_000));
            if ((start as Date) > (end as Date)) throw new Open311Error(400, "start_date must be before end_date.");
            if ((end as Date).getTime() - (start as Date).getTime() > MAX_RANGE_DAYS * 86_400_000)
              throw new Open311Error(400, `start_date and end_date may not span more than ${MAX_RANGE_DAYS} days.`);
            const pageSize = numberParam(str(q.page_size), "page_size", 1, DEFAULT_LIMIT) ?? DEFAULT_LIMIT;
            const page = numberParam(str(q.page), "page", 1, 100_000) ?? 1;
            let bbox: [number, number, number, number] | undefined;
            const b = str(q.bbox);
            if (b) {
              const n = b.split(",").map(Number);
              if (n.length !== 4 || n.some((x) => !Number.isFinite(x)) || n[0] > n[2] || n[1] > n[3])
                throw new Open311Error(400, "bbox must be minLon,minLat,maxLon,maxLat.");
              bbox = n as [number, number, number, number];
            }
            const statuses = statusList && statusList.length === 1 ? STATUSES.filter((s) => openOrClosed(s) === statusList[0]) : undefined;
            rows = await reports.getRows({
              categories: codes,
              statuses,
              from: start,
              to: end,
              bbox,
              publicOnly: true,
              limit: Math.floor(pageSize),
              offset: (Math.floor(page) - 1) * Math.floor(pageSize),
            });
          }
          return send(reply, format, "service_requests", "request", await requestsOut(rows, en));
        },
      );

      app.post(
        `/requests.${format}`,
        {
          config: { access: "public" },
          schema: {
            tags,
            summary: `Create a service request (${format.toUpperCase()})`,
            description:
              "Form-encoded (application/x-www-form-urlencoded) as the spec says; api_key (an API key holding reports:submit) is required. attribute[code]=value, attribute[code][]=v for lists. An Idempotency-Key header makes retries safe.",
          },
        },
        async (req, reply) => {
          const body = (req.body ?? {}) as Record<string, unknown>;
          if (typeof body !== "object" || Array.isArray(body)) throw new Open311Error(400, "The body must be form-encoded fields.");
          const key = str(body.api_key);
          const actor = key ? await accounts.authenticate(key) : undefined;
          if (actor?.type !== "apikey" || !can(actor, "reports:submit"))
            throw new Open311Error(
              403,
              key ? "Invalid api_key received -- can't proceed with create_request." : "api_key was not provided -- can't proceed with create_request.",
            );
          req.ctx.actor = actor;
          const code = str(body.service_code);
          if (!code) throw new Open311Error(400, "service_code was not provided.");
          const attributes: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(body)) {
            const m = /^attribute\[([^\]]{1,64})\](\[\])?$/.exec(k);
            if (!m) continue;
            const vals = (Array.isArray(v) ? v : [v]).map(String);
            attributes[m[1]] = m[2] || vals.length > 1 ? vals : vals[0];
          }
          const lat = str(body.lat);
          const lon = str(body.long);
          if ((lat === undefined) !== (lon === undefined)) throw new Open311Error(400, "lat and long must both be sent.");
          const latN = numberParam(lat, "lat", -90, 90);
          const lonN = numberParam(lon, "long", -180, 180);
          const addressString = str(body.address_string) ?? (str(body.address_id) ? `address_id ${str(body.address_id)}` : undefined);
          if (latN === undefined && !addressString) throw new Open311Error(400, "A location is required: lat & long, address_string or address_id.");
          const description = str(body.description);
          if (description && description.length > 4000) throw new Open311Error(400, "description is limited to 4,000 characters.");
          const mediaUrl = str(body.media_url);
          if (mediaUrl && (mediaUrl.length > 2000 || !/^https?:\/\//i.test(mediaUrl))) throw new Open311Error(400, "media_url must be an http(s) URL.");
          const email = str(body.email);
          if (email && (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))) throw new Open311Error(400, "email is not an email address.");
          const first = str(body.first_name);
          const last = str(body.last_name);
          const idem = req.headers["idempotency-key"];
          const { report } = await reports.submit(
            {
              category: code,
              description: description ?? "",
              descriptionOptional: true,
              lat: latN,
              lon: lonN,
              address: addressString?.slice(0, 500),
              attributes,
              mediaUrl,
              channel: "open311",
              name: [first, last].filter(Boolean).join(" ").slice(0, 200) || null,
              phone: str(body.phone)?.slice(0, 40),
              email,
              deviceId: str(body.device_id)?.slice(0, 200),
              clientKey: typeof idem === "string" && idem.length <= 200 ? `open311:${actor.id}:${idem}` : null,
            },
            [],
            actor,
          );
          const cat = await reports.getCategory(report.category);
          const en = isEn(req);
          return send(
            reply,
            format,
            "service_requests",
            "request",
            [
              {
                service_request_id: report.id,
                service_notice: en ? `To be handled within ${cat.deadlineHours} hours.` : `Thời hạn xử lý: ${cat.deadlineHours} giờ.`,
                account_id: null,
              },
            ],
            201,
          );
        },
      );

      app.get(
        `/servicerequestupdates.${format}`,
        {
          config: { access: "public" },
          schema: {
            tags,
            summary: `Public updates of requests, FixMyStreet style (${format.toUpperCase()})`,
            description: "start_date, end_date (w3); default the last 24 hours; at most 1000 updates.",
            querystring: query,
          },
        },
        async (req, reply) => {
          const q = req.query as Record<string, unknown>;
          const end = parseDate(str(q.end_date), "end_date") ?? new Date();
          const start = parseDate(str(q.start_date), "start_date") ?? new Date(end.getTime() - 86_400_000);
          if (start > end) throw new Open311Error(400, "start_date must be before end_date.");
          const rows = await reports.store.publicUpdates(start, end, 1000);
          return send(
            reply,
            format,
            "service_request_updates",
            "request_update",
            rows.map((u) => ({
              update_id: String(u.id),
              service_request_id: String(u.report_id),
              status: FMS_STATUS[u.status ?? u.report_status] ?? "open",
              updated_datetime: w3(u.at),
              description: u.note ?? "",
              media_url: null,
            })),
          );
        },
      );
    }

    app.get(
      "/services/:file",
      {
        config: { access: "public" },
        schema: {
          tags,
          summary: "Service definition (services/{code}.json or .xml)",
          params: Type.Object({ file: Type.String({ maxLength: 80 }) }),
          querystring: query,
        },
      },
      async (req, reply) => {
        const f = splitFile(req.params.file);
        if (!f) throw new Open311Error(404, "Use services/{service_code}.json or .xml.");
        const c = (await reports.listCategories()).find((x) => x.code === f[0]);
        if (!c) return sendErrors(reply, f[1], 404, [{ code: 404, description: `service_code ${f[0]} was not found.` }]);
        return send(reply, f[1], "service_definition", null, definition(c, isEn(req)));
      },
    );

    app.get(
      "/requests/:file",
      {
        config: { access: "public" },
        schema: {
          tags,
          summary: "One service request (requests/{id}.json or .xml)",
          params: Type.Object({ file: Type.String({ maxLength: 80 }) }),
          querystring: query,
        },
      },
      async (req, reply) => {
        const f = splitFile(req.params.file);
        if (!f) throw new Open311Error(404, "Use requests/{service_request_id}.json or .xml.");
        const rows = /^\d{1,18}$/.test(f[0]) ? await reports.getRows({ ids: [f[0]], limit: 1, offset: 0, publicOnly: true }) : [];
        if (!rows.length) return sendErrors(reply, f[1], 404, [{ code: 404, description: `service_request_id ${f[0]} was not found.` }]);
        return send(reply, f[1], "service_requests", "request", await requestsOut(rows, isEn(req)));
      },
    );

    app.get(
      "/tokens/:file",
      {
        config: { access: "public" },
        schema: {
          tags,
          summary: "Service request id from a token (tokens/{token}.json or .xml)",
          params: Type.Object({ file: Type.String({ maxLength: 80 }) }),
          querystring: query,
        },
      },
      async (req, reply) => {
        const f = splitFile(req.params.file);
        if (!f) throw new Open311Error(404, "Use tokens/{token}.json or .xml.");
        const r = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(f[0]) ? await reports.store.byToken(f[0]) : undefined;
        if (!r) return sendErrors(reply, f[1], 404, [{ code: 404, description: `token ${f[0]} was not found.` }]);
        return send(reply, f[1], "service_requests", "request", [{ service_request_id: String(r.id), token: r.token }]);
      },
    );
  };

  // Open311 Service Discovery: where this endpoint is and what it speaks.
  typed(parent).get(
    "/open311/discovery.json",
    { config: { access: "public" }, schema: { tags: ["open311"], summary: "Open311 service discovery" } },
    async () => ({
      changeset: "2025-07-01T00:00:00+07:00",
      contact: "Trung tâm Chuyển đổi số / Digital Transformation Center",
      key_service: `${opts.publicUrl}/console`,
      endpoints: [
        {
          specification: "http://wiki.open311.org/GeoReport_v2",
          url: `${opts.publicUrl}${OPEN311_PREFIX}`,
          changeset: "2025-07-01T00:00:00+07:00",
          type: "production",
          formats: ["application/json", "text/xml"],
        },
      ],
    }),
  );

  return parent.register(plugin, { prefix: OPEN311_PREFIX });
}
