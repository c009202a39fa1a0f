// HTTP routes of the geography: administrative units and point → commune lookup.
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { Problem } from "../core/errors.ts";
import { Str, errors } from "../core/http/schemas.ts";
import { typed } from "../core/http/server.ts";
import type { GeoService } from "./service.ts";

const Nullable = <T extends import("@sinclair/typebox").TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Unit = Type.Object(
  {
    code: Type.String(),
    name: Type.String(),
    nameEn: Type.String(),
    fullName: Type.String(),
    fullNameEn: Type.String(),
    level: Type.String(),
    unitType: Type.String(),
    unitTypeEn: Type.String(),
    parentCode: Nullable(Type.String()),
    areaKm2: Nullable(Type.Number()),
    bbox: Nullable(Type.Array(Type.Number())),
  },
  { $id: "AdminUnit" },
);

export function geoRoutes(fastify: FastifyInstance, geo: GeoService) {
  const app = typed(fastify);

  app.get(
    "/api/geo/units",
    {
      config: { access: "public" },
      schema: {
        tags: ["geo"],
        summary: "Administrative units",
        description:
          'Without `parent`, the 34 provinces. With `parent=82`, that province\'s communes and wards. `q` searches names without accents ("cao lanh" finds "Cao Lãnh").',
        querystring: Type.Object(
          {
            parent: Type.Optional(Str(5, { pattern: "^[0-9]{2,5}$" })),
            q: Type.Optional(Str(100)),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, default: 1000 })),
            offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000, default: 0 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Array(Unit), ...errors(400) },
      },
    },
    (req) => {
      const q = req.query;
      return geo.list({ parent: q.parent, level: q.parent ? undefined : q.q ? undefined : "province", q: q.q, limit: q.limit ?? 1000, offset: q.offset ?? 0 });
    },
  );

  app.get(
    "/api/geo/units/:code",
    {
      config: { access: "public" },
      schema: {
        tags: ["geo"],
        summary: "One administrative unit with its GeoJSON boundary (null when Sen has none)",
        params: Type.Object({ code: Str(10) }),
        response: { 200: Type.Intersect([Unit, Type.Object({ boundary: Nullable(Type.Unknown()) })]), ...errors(404) },
      },
    },
    (req) => geo.get(req.params.code),
  );

  app.get(
    "/api/geo/locate",
    {
      config: { access: "public" },
      // Its answer is a few hundred bytes: below the compression threshold, so skip the hook.
      compress: false,
      schema: {
        tags: ["geo"],
        summary: "The commune containing a point (WGS 84)",
        querystring: Type.Object(
          { lat: Type.Number({ minimum: -90, maximum: 90 }), lon: Type.Number({ minimum: -180, maximum: 180 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ commune: Unit, province: Type.Object({ code: Type.String(), name: Type.String(), fullName: Type.String() }) }),
          ...errors(400, 404),
        },
      },
    },
    // Not async: once a commune's answer is built, the hot path creates no promise at all.
    (req, reply) => {
      const commune = geo.locate(req.query.lat, req.query.lon);
      if (!commune)
        throw new Problem(404, "outside-province", `The point ${req.query.lat}, ${req.query.lon} is outside the province (no commune contains it).`);
      // The answer depends only on the commune: its JSON is built once and kept as UTF-8 bytes, sent
      // as they are (not serialized or encoded again per request; the schema still documents it).
      const body = answers.get(commune.code);
      if (body) {
        reply.type("application/json; charset=utf-8").send(body as never);
        return;
      }
      provinceSummary().then(
        (province) => {
          const built = Buffer.from(JSON.stringify({ commune, province }));
          answers.set(commune.code, built);
          reply.type("application/json; charset=utf-8").send(built as never);
        },
        (err) => reply.send(err),
      );
    },
  );
  const answers = new Map<string, Buffer>();

  let cachedProvince: { code: string; name: string; fullName: string } | undefined;
  async function provinceSummary() {
    if (!cachedProvince) {
      const p = await geo.get(geo.province);
      cachedProvince = { code: p.code, name: p.name, fullName: p.fullName };
    }
    return cachedProvince;
  }
}
