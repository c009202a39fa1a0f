// Sen's own catalog routes (beside the CKAN Action API): the publisher's uploads with type
// confirmation and progress, resources of every kind, downloads in four formats and old
// versions, and the DCAT-AP documents.
import { createReadStream } from "node:fs";
import multipart from "@fastify/multipart";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AgencyDto } from "../core/accounts/service.ts";
import { Problem, badRequest, notFound } from "../core/errors.ts";
import { Str, errors } from "../core/http/schemas.ts";
import { typed } from "../core/http/server.ts";
import { baseUrl } from "./ckan.ts";
import { catalogGraph, datasetGraph, toJsonLd, toTurtle } from "./dcat.ts";
import { CONTENT_TYPES, EXPORT_FORMATS, type ExportFormat, exportStream } from "./export.ts";
import { COLUMN_TYPES } from "./ingest.ts";
import type { CatalogService } from "./service.ts";
import type { VersionRow } from "./store.ts";

const Uuid = Type.String({ format: "uuid" });
const Column = Type.Object({
  id: Type.String(),
  type: Type.Union(COLUMN_TYPES.map((t) => Type.Literal(t))),
  col: Type.String(),
  index: Type.Optional(Type.Boolean()),
  sample: Type.Optional(Type.Array(Type.String())),
});
const Version = Type.Object({
  id: Type.String(),
  resourceId: Type.String(),
  seq: Type.Integer(),
  filename: Type.String(),
  format: Type.String(),
  encoding: Type.String(),
  size: Type.Number(),
  sha256: Type.String(),
  status: Type.Union([Type.Literal("pending"), Type.Literal("loading"), Type.Literal("ready"), Type.Literal("failed")]),
  columns: Type.Array(Column),
  geometry: Type.Boolean(),
  rowsLoaded: Type.Number(),
  bytesRead: Type.Number(),
  progress: Type.Number({ description: "0…1, share of the file read" }),
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  loadedAt: Type.Union([Type.String(), Type.Null()]),
});

export function versionDto(v: VersionRow) {
  return {
    id: v.id,
    resourceId: v.resource_id,
    seq: v.seq,
    filename: v.filename,
    format: v.format,
    encoding: v.encoding,
    size: Number(v.size),
    sha256: v.sha256,
    status: v.status,
    columns: v.columns,
    geometry: v.geometry,
    rowsLoaded: Number(v.rows_loaded),
    bytesRead: Number(v.bytes_read),
    progress: v.status === "ready" ? 1 : Number(v.size) > 0 ? Math.min(1, Number(v.bytes_read) / Number(v.size)) : 0,
    error: v.error,
    createdAt: new Date(v.created_at).toISOString(),
    loadedAt: v.loaded_at ? new Date(v.loaded_at).toISOString() : null,
  };
}

export interface RouteDeps {
  catalog: CatalogService;
  agencies(): Promise<AgencyDto[]>;
  siteTitle(): Promise<string>;
}

export function catalogRoutes(fastify: FastifyInstance, deps: RouteDeps) {
  const { catalog } = deps;
  const app = typed(fastify);

  app.post(
    "/api/catalog/datasets/:id/resources",
    {
      config: { access: "datasets:publish" },
      schema: {
        tags: ["catalog"],
        summary: "Add a resource (upload, link, API or live data from Sen) to a dataset",
        params: Type.Object({ id: Str(100) }),
        body: Type.Object(
          {
            name: Str(300),
            name_en: Type.Optional(Str(300)),
            description: Type.Optional(Str(5000)),
            format: Type.Optional(Str(40)),
            kind: Type.Union([Type.Literal("upload"), Type.Literal("link"), Type.Literal("api"), Type.Literal("live")]),
            url: Type.Optional(Type.Union([Str(2000), Type.Null()])),
          },
          { additionalProperties: false },
        ),
        response: { ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      const r = await catalog.addResource(req.params.id, req.body, req.ctx.actor);
      return reply.code(201).send({ id: r.id, datasetId: r.dataset_id, name: r.name, kind: r.kind, format: r.format, url: r.url });
    },
  );

  fastify.register(async (scope) => {
    await scope.register(multipart, { limits: { fileSize: catalog.maxUploadBytes, files: 1, fields: 5, parts: 6 } });
    typed(scope).post(
      "/api/catalog/resources/:id/versions",
      {
        config: { access: "datasets:publish" },
        schema: {
          tags: ["catalog"],
          summary: "Upload a new version of a resource (multipart, field 'file')",
          description:
            "The file is streamed to disk and its first rows inspected: the answer lists the columns with their inferred types, for the publisher to confirm. Nothing is loaded until then.",
          params: Type.Object({ id: Uuid }),
          response: { 201: Version, ...errors(400, 401, 403, 404, 409, 413, 415) },
        },
      },
      async (req, reply) => {
        if (!req.isMultipart()) throw new Problem(415, "unsupported-media-type", "Send the file as multipart/form-data in the field 'file'.");
        let result: VersionRow | undefined;
        for await (const part of req.parts()) {
          if (part.type !== "file") continue;
          if (result || part.fieldname !== "file") {
            part.file.resume();
            continue;
          }
          try {
            result = await catalog.upload(req.params.id, part.filename, part.file, req.ctx.actor);
          } catch (err) {
            if ((err as { code?: string }).code === "FST_REQ_FILE_TOO_LARGE")
              throw new Problem(413, "too-large", `The file is larger than ${Math.round(catalog.maxUploadBytes / 1048576)} MB.`);
            throw err;
          }
        }
        if (!result) throw badRequest("No file in the field 'file'.");
        return reply.code(201).send(versionDto(result));
      },
    );
  });

  app.post(
    "/api/catalog/versions/:id/confirm",
    {
      config: { access: "datasets:publish" },
      schema: {
        tags: ["catalog"],
        summary: "Confirm (or correct) the column types of an uploaded version; its rows then load in the background",
        params: Type.Object({ id: Uuid }),
        body: Type.Object(
          {
            columns: Type.Optional(
              Type.Array(Type.Object({ id: Str(300), type: Str(20), index: Type.Optional(Type.Boolean()) }, { additionalProperties: false }), {
                maxItems: 1000,
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 202: Version, ...errors(400, 401, 403, 404, 409) },
      },
      preValidation: async (req) => {
        req.body ??= {};
      },
    },
    async (req, reply) => reply.code(202).send(versionDto(await catalog.confirm(req.params.id, req.body.columns, req.ctx.actor))),
  );

  app.get(
    "/api/catalog/versions/:id",
    {
      config: { access: "public" },
      schema: {
        tags: ["catalog"],
        summary: "One version: columns, status and load progress (the upload page polls this)",
        params: Type.Object({ id: Uuid }),
        response: { 200: Version, ...errors(404) },
      },
    },
    async (req) => versionDto(await catalog.version(req.params.id, req.ctx.actor)),
  );

  app.get(
    "/api/catalog/resources/:id/versions",
    {
      config: { access: "public" },
      schema: {
        tags: ["catalog"],
        summary: "Versions of a resource, newest first (publishers also see those not loaded)",
        params: Type.Object({ id: Uuid }),
        response: { 200: Type.Array(Version), ...errors(404) },
      },
    },
    async (req) => {
      const r = await catalog.resource(req.params.id, req.ctx.actor);
      const editor = catalog.mayEdit(req.ctx.actor, r.dataset.owner_org);
      return r.versions.filter((v) => editor || v.status === "ready").map(versionDto);
    },
  );

  const download = async (
    req: FastifyRequest<{ Params: { id: string }; Querystring: { format?: ExportFormat; version?: number } }>,
    reply: import("fastify").FastifyReply,
  ) => {
    const { version, dataset } = await catalog.readableVersion(req.params.id, req.ctx.actor, req.query.version);
    const format =
      req.query.format ?? (version.format === "GEOJSON" ? "geojson" : version.format === "XLSX" ? "xlsx" : version.format === "JSON" ? "json" : "csv");
    if (format === "geojson" && !version.geometry) throw badRequest("This resource has no geometry; download it as CSV, JSON or XLSX.");
    const name = `${dataset.name}-v${version.seq}.${format}`;
    reply.header("content-type", CONTENT_TYPES[format]);
    reply.header("content-disposition", `attachment; filename="${name}"`);
    reply.header("cache-control", dataset.private ? "private, no-store" : "public, max-age=60");
    return reply.send(exportStream(format, version.columns, version.geometry, catalog.exportRows(version)));
  };
  const downloadSchema = {
    tags: ["catalog"],
    params: Type.Object({ id: Uuid, filename: Type.Optional(Str(300)) }),
    querystring: Type.Object(
      {
        format: Type.Optional(Type.Union(EXPORT_FORMATS.map((f) => Type.Literal(f)))),
        version: Type.Optional(Type.Integer({ minimum: 1, description: "An older version's number; default the current one" })),
      },
      { additionalProperties: false },
    ),
    response: errors(400, 404),
  };
  app.get(
    "/api/catalog/resources/:id/download",
    { config: { access: "public" }, schema: { ...downloadSchema, summary: "Download a resource's data (CSV, JSON, GeoJSON, XLSX)" } },
    download,
  );
  app.get("/api/catalog/resources/:id/download/:filename", { config: { access: "public" }, schema: { ...downloadSchema, hide: true } }, download);

  app.get(
    "/api/catalog/versions/:id/file",
    {
      config: { access: "public" },
      schema: { tags: ["catalog"], summary: "The file of a version as it was uploaded", params: Type.Object({ id: Uuid }), response: errors(404) },
    },
    async (req, reply) => {
      const v = await catalog.version(req.params.id, req.ctx.actor);
      reply.header("content-type", { CSV: "text/csv", XLSX: CONTENT_TYPES.xlsx, JSON: "application/json", GEOJSON: "application/geo+json" }[v.format]);
      reply.header("content-disposition", `attachment; filename="${encodeURIComponent(v.filename)}"`);
      return reply.send(createReadStream(catalog.fileOf(v.id)));
    },
  );

  // ---------- DCAT-AP 3
  const PAGE = 100;
  async function context(req: FastifyRequest) {
    const [agencies, groups] = await Promise.all([deps.agencies(), catalog.store.listGroups()]);
    return {
      base: baseUrl(req),
      title: await deps.siteTitle(),
      orgs: new Map(agencies.map((a) => [a.code, a])),
      groups: new Map(groups.map((g) => [g.name, g])),
    };
  }
  for (const ext of ["jsonld", "ttl"] as const) {
    app.get(
      `/catalog.${ext}`,
      {
        config: { access: "public" },
        schema: {
          tags: ["catalog"],
          summary: `The catalogue in DCAT-AP 3 (${ext === "ttl" ? "Turtle" : "JSON-LD"}), ${PAGE} datasets a page`,
          querystring: Type.Object({ page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 1 })) }, { additionalProperties: false }),
        },
      },
      async (req, reply) => {
        const page = req.query.page ?? 1;
        const r = await catalog.search({ sort: "d.modified_at DESC", rows: PAGE, start: (page - 1) * PAGE, facets: [], facetLimit: 0 }, req.ctx.actor, {
          includePrivate: false,
          includeDrafts: false,
        });
        const g = catalogGraph(await context(req), r.datasets, { page, pageSize: PAGE, total: r.count, ext });
        return ext === "ttl" ? reply.type("text/turtle; charset=utf-8").send(toTurtle(g)) : reply.type("application/ld+json; charset=utf-8").send(toJsonLd(g));
      },
    );
  }
  app.get(
    "/dataset/:file",
    {
      config: { access: "public" },
      schema: {
        tags: ["catalog"],
        summary: "One dataset in DCAT-AP 3: /dataset/{name}.jsonld or .ttl",
        params: Type.Object({ file: Str(120) }),
        response: errors(404),
      },
    },
    async (req, reply) => {
      const m = /^([a-z0-9][a-z0-9_-]{1,99})\.(jsonld|ttl)$/.exec(req.params.file);
      if (!m) throw notFound("Ask for /dataset/{name}.jsonld or /dataset/{name}.ttl.");
      const d = await catalog.show(m[1], req.ctx.actor);
      if (d.row.private || d.row.state !== "active") throw notFound(`No dataset ${m[1]}.`);
      const g = datasetGraph(await context(req), d);
      return m[2] === "ttl" ? reply.type("text/turtle; charset=utf-8").send(toTurtle(g)) : reply.type("application/ld+json; charset=utf-8").send(toJsonLd(g));
    },
  );
}
