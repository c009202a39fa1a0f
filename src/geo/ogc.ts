// OGC API – Features (Part 1: Core, GeoJSON) over the province's boundaries, so GIS clients such as
// QGIS and GDAL read them directly: ogrinfo OAPIF:http://host:8080/ogc communes
import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Feature } from "geojson";
import { badRequest, notFound } from "../core/errors.ts";
import { Str, errors } from "../core/http/schemas.ts";
import { typed } from "../core/http/server.ts";
import type { BBox, GeoService } from "./service.ts";

const GEOJSON = "application/geo+json";
const CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const CONFORMANCE = [
  "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
  "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
  "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
];

const Format = Type.Optional(Type.Union([Type.Literal("json"), Type.Literal("geojson")], { description: "Only JSON is offered" }));
// Collections and features of other modules may also be shown as a page (f=html).
const FormatHtml = Type.Optional(Type.Union([Type.Literal("json"), Type.Literal("geojson"), Type.Literal("html")]));

/**
 * Extra collections beside the boundaries, supplied by other modules through app.ts (catalog
 * datasets with geometry, latest IoT readings, open field reports). ogc.ts knows none of them.
 */
export interface OgcCollection {
  id: string;
  title: string;
  description: string;
  bbox?: number[] | null;
}
export interface OgcProvider {
  collections(): Promise<OgcCollection[]>;
  /** A page of features, or undefined when the collection is not this provider's. Unknown filters: throw a 400 Problem. */
  items(
    id: string,
    q: { bbox?: BBox; limit: number; offset: number; filters: Record<string, string> },
  ): Promise<{ features: Feature[]; matched: number } | undefined>;
  /** One feature; undefined when the collection is not this provider's, null when the feature is missing. */
  item(id: string, featureId: string): Promise<Feature | null | undefined>;
}

const esc = (s: unknown) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** A plain page listing features and their properties (f=html). */
function featuresHtml(title: string, features: Feature[], links: Array<{ href: string; rel: string }>): string {
  const keys = [...new Set(features.flatMap((f) => Object.keys(f.properties ?? {})))].slice(0, 30);
  const rows = features.map((f) => `<tr><td>${esc(f.id)}</td>${keys.map((k) => `<td>${esc(f.properties?.[k])}</td>`).join("")}</tr>`).join("");
  const nav = links
    .filter((l) => l.rel === "next" || l.rel === "prev")
    .map((l) => `<a href="${esc(l.href.replace("f=json", "f=html"))}">${l.rel}</a>`)
    .join(" ");
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1><table border="1"><tr><th>id</th>${keys.map((k) => `<th>${esc(k)}</th>`).join("")}</tr>${rows}</table><p>${nav}</p></body></html>`;
}

function base(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`;
}

function parseBbox(raw: string | undefined): BBox | undefined {
  if (raw === undefined) return undefined;
  const n = raw.split(",").map((s) => Number(s.trim()));
  if ((n.length !== 4 && n.length !== 6) || n.some((x) => !Number.isFinite(x)))
    throw badRequest("bbox must be four numbers: minLon,minLat,maxLon,maxLat (WGS 84).", { errors: [{ path: "querystring/bbox", message: "invalid" }] });
  const [minx, miny, maxx, maxy] = n.length === 6 ? [n[0], n[1], n[3], n[4]] : n;
  if (miny > maxy || minx > maxx || miny < -90 || maxy > 90)
    throw badRequest("bbox corners are out of order or out of range.", { errors: [{ path: "querystring/bbox", message: "invalid" }] });
  return [minx, miny, maxx, maxy];
}

export function ogcRoutes(fastify: FastifyInstance, geo: GeoService, meta: { provinceName: () => Promise<string> }, providers: OgcProvider[] = []) {
  const app = typed(fastify);

  const collections = async (b: string) => {
    const provinceName = await meta.provinceName();
    const extent = (await geo.get(geo.province)).bbox;
    const spatial = extent ? { bbox: [extent], crs: CRS84 } : undefined;
    const describe = (id: string, title: string, description: string, bbox?: number[] | null) => ({
      id,
      title,
      description,
      itemType: "feature",
      crs: [CRS84],
      extent: bbox ? { spatial: { bbox: [bbox], crs: CRS84 } } : spatial ? { spatial } : undefined,
      links: [
        { href: `${b}/ogc/collections/${id}`, rel: "self", type: "application/json", title },
        { href: `${b}/ogc/collections/${id}/items`, rel: "items", type: GEOJSON, title: `${title} (GeoJSON)` },
      ],
    });
    return [
      describe("communes", `Xã, phường – ${provinceName}`, `Communes and wards of ${provinceName} with their boundaries (since 1 July 2025).`),
      describe("province", provinceName, `Boundary of ${provinceName}.`),
      ...(await Promise.all(providers.map((p) => p.collections()))).flat().map((c) => describe(c.id, c.title, c.description, c.bbox)),
    ];
  };

  app.get(
    "/ogc",
    {
      config: { access: "public" },
      schema: { tags: ["ogc"], summary: "OGC API – Features landing page", querystring: Type.Object({ f: Format }, { additionalProperties: false }) },
    },
    async (req) => {
      const b = base(req);
      return {
        title: `Sen – ${await meta.provinceName()}`,
        description: "Administrative boundaries served as OGC API – Features.",
        links: [
          { href: `${b}/ogc`, rel: "self", type: "application/json", title: "This document" },
          { href: `${b}/api/openapi.json`, rel: "service-desc", type: "application/vnd.oai.openapi+json;version=3.1", title: "The API definition" },
          { href: `${b}/api/docs`, rel: "service-doc", type: "text/html", title: "The API documentation" },
          { href: `${b}/ogc/conformance`, rel: "conformance", type: "application/json", title: "Conformance classes" },
          { href: `${b}/ogc/collections`, rel: "data", type: "application/json", title: "Collections" },
        ],
      };
    },
  );

  app.get(
    "/ogc/conformance",
    {
      config: { access: "public" },
      schema: { tags: ["ogc"], summary: "Conformance classes", querystring: Type.Object({ f: Format }, { additionalProperties: false }) },
    },
    async () => ({ conformsTo: CONFORMANCE }),
  );

  app.get(
    "/ogc/collections",
    {
      config: { access: "public" },
      schema: { tags: ["ogc"], summary: "Feature collections", querystring: Type.Object({ f: Format }, { additionalProperties: false }) },
    },
    async (req) => {
      const b = base(req);
      return { links: [{ href: `${b}/ogc/collections`, rel: "self", type: "application/json" }], collections: await collections(b) };
    },
  );

  app.get(
    "/ogc/collections/:collectionId",
    {
      config: { access: "public" },
      schema: {
        tags: ["ogc"],
        summary: "One collection",
        params: Type.Object({ collectionId: Str(100) }),
        querystring: Type.Object({ f: Format }, { additionalProperties: false }),
        response: errors(404),
      },
    },
    async (req) => {
      const c = (await collections(base(req))).find((x) => x.id === req.params.collectionId);
      if (!c) throw notFound(`No collection ${req.params.collectionId}; there are communes and province.`);
      return c;
    },
  );

  app.get(
    "/ogc/collections/:collectionId/items",
    {
      config: { access: "public" },
      schema: {
        tags: ["ogc"],
        summary: "Features of a collection (GeoJSON), filtered by bbox and paged",
        params: Type.Object({ collectionId: Str(100) }),
        querystring: Type.Object(
          {
            bbox: Type.Optional(Str(200)),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 10 })),
            offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
            f: FormatHtml,
          },
          // Other parameters are property filters, for the collections that have properties to filter.
          { additionalProperties: Str(200) },
        ),
        response: errors(400, 404),
      },
    },
    async (req, reply) => {
      const { collectionId } = req.params;
      const bbox = parseBbox(req.query.bbox);
      const limit = req.query.limit ?? 10;
      const offset = req.query.offset ?? 0;
      const { bbox: _b, limit: _l, offset: _o, f: format, ...filters } = req.query as Record<string, string>;
      let page: { features: Feature[]; matched: number } | undefined;
      const builtIn = collectionId === "communes" || collectionId === "province";
      if (builtIn && Object.keys(filters).length)
        throw badRequest(`Unknown parameter ${Object.keys(filters)[0]}; ${collectionId} takes bbox, limit, offset and f.`, {
          errors: [{ path: `querystring/${Object.keys(filters)[0]}`, message: "unknown parameter" }],
        });
      if (collectionId === "communes") page = geo.communeFeatures({ bbox, limit, offset });
      else if (collectionId === "province") {
        const f = await provinceFeature();
        page = { features: f ? [f].slice(offset, offset + limit) : [], matched: f ? 1 : 0 };
      } else for (const p of providers) page ??= await p.items(collectionId, { bbox, limit, offset, filters });
      if (!page) throw notFound(`No collection ${collectionId}.`);

      const b = `${base(req)}/ogc/collections/${collectionId}/items`;
      const q = (o: number) => {
        const p = new URLSearchParams({ ...filters, limit: String(limit), offset: String(o), f: "json" });
        if (req.query.bbox) p.set("bbox", req.query.bbox);
        return `${b}?${p}`;
      };
      const links = [{ href: q(offset), rel: "self", type: GEOJSON, title: "This page" }];
      if (offset + page.features.length < page.matched) links.push({ href: q(offset + limit), rel: "next", type: GEOJSON, title: "Next page" });
      if (offset > 0) links.push({ href: q(Math.max(0, offset - limit)), rel: "prev", type: GEOJSON, title: "Previous page" });
      if (format === "html") return reply.type("text/html; charset=utf-8").send(featuresHtml(collectionId, page.features, links));
      reply.type(GEOJSON);
      return {
        type: "FeatureCollection",
        timeStamp: new Date().toISOString(),
        numberMatched: page.matched,
        numberReturned: page.features.length,
        features: page.features,
        links,
      };
    },
  );

  app.get(
    "/ogc/collections/:collectionId/items/:featureId",
    {
      config: { access: "public" },
      schema: {
        tags: ["ogc"],
        summary: "One feature",
        params: Type.Object({ collectionId: Str(100), featureId: Str(100) }),
        querystring: Type.Object({ f: Format }, { additionalProperties: false }),
        response: errors(404),
      },
    },
    async (req, reply) => {
      const { collectionId, featureId } = req.params;
      const f =
        collectionId === "communes"
          ? geo.communeFeature(featureId)
          : collectionId === "province" && featureId === geo.province
            ? await provinceFeature()
            : await (async () => {
                for (const p of providers) {
                  const found = await p.item(collectionId, featureId);
                  if (found !== undefined) return found ?? undefined;
                }
              })();
      if (!f) throw notFound(`No feature ${featureId} in ${collectionId}.`);
      const b = `${base(req)}/ogc/collections/${collectionId}`;
      reply.type(GEOJSON);
      return {
        ...f,
        links: [
          { href: `${b}/items/${featureId}`, rel: "self", type: GEOJSON },
          { href: b, rel: "collection", type: "application/json" },
        ],
      };
    },
  );

  async function provinceFeature(): Promise<Feature | undefined> {
    const p = await geo.get(geo.province);
    if (!p.boundary) return undefined;
    return {
      type: "Feature",
      id: p.code,
      bbox: (p.bbox ?? undefined) as Feature["bbox"],
      geometry: p.boundary,
      properties: { code: p.code, name: p.name, nameEn: p.nameEn, fullName: p.fullName, fullNameEn: p.fullNameEn, unitType: p.unitType, areaKm2: p.areaKm2 },
    };
  }
}
