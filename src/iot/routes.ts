// HTTP routes of the IoT module: the device registry, telemetry reads, commands, and the
// ThingsBoard-compatible HTTP device API (POST /api/v1/{accessToken}/telemetry).
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import Papa from "papaparse";
import type { Actor } from "../core/context.ts";
import { Problem, badRequest, notFound, unauthorized } from "../core/errors.ts";
import { Str, errors } from "../core/http/schemas.ts";
import { typed } from "../core/http/server.ts";
import type { CommandService } from "./commands.ts";
import { LIMITS, PayloadError } from "./payload.ts";
import type { CreateDeviceInput, IotService } from "./service.ts";
import type { Agg, ProfileRow } from "./store.ts";
import { SEVERITIES } from "./types.ts";

const Nullable = <T extends import("@sinclair/typebox").TSchema>(t: T) => Type.Union([Type.Null(), t]);
const Id = Str(64, { pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$" });
const Lat = Type.Number({ minimum: -90, maximum: 90 });
const Lon = Type.Number({ minimum: -180, maximum: 180 });
const Severity = Type.Union(SEVERITIES.map((x) => Type.Literal(x)));
const Key = Str(64, { pattern: "^[A-Za-z][A-Za-z0-9_.-]*$" });
/** The three kinds of rule; their meaning is checked by the rules' owner (ops). */
const Rule = Type.Union([
  Type.Object(
    {
      id: Str(64),
      kind: Type.Literal("threshold"),
      name: Type.Optional(Str(200)),
      key: Key,
      direction: Type.Union([Type.Literal("above"), Type.Literal("below")]),
      levels: Type.Array(Type.Object({ value: Type.Number(), severity: Severity, label: Type.Optional(Str(50)) }, { additionalProperties: false }), {
        minItems: 1,
        maxItems: 10,
      }),
      hysteresis: Type.Optional(Type.Number({ minimum: 0 })),
      sustainSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 86_400 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      id: Str(64),
      kind: Type.Literal("nodata"),
      name: Type.Optional(Str(200)),
      key: Type.Optional(Key),
      minutes: Type.Number({ exclusiveMinimum: 0 }),
      severity: Severity,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      id: Str(64),
      kind: Type.Literal("rate"),
      name: Type.Optional(Str(200)),
      key: Key,
      maxChangePerMinute: Type.Number({ exclusiveMinimum: 0 }),
      severity: Severity,
    },
    { additionalProperties: false },
  ),
]);
const Device = Type.Object({}, { additionalProperties: true, $id: "Device", description: "A device with its state and latest values" });

/** Agency officers see their own agency's devices; the operations center sees all. */
export function agencyScope(actor: Actor): string | undefined {
  if (actor.type === "system" || actor.roles.includes("admin") || actor.roles.includes("operator") || actor.roles.includes("publisher")) return undefined;
  if (actor.type === "apikey" && !actor.agency) return undefined;
  return actor.agency ?? "\u0000none";
}

const INTERVALS: Record<string, number> = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21_600, "1d": 86_400, "7d": 604_800 };

const profileDto = (p: ProfileRow) => ({
  id: p.id,
  name: p.name,
  nameEn: p.name_en,
  type: p.type,
  keys: p.keys,
  inactivityTimeoutSeconds: p.inactivity_timeout_s,
  retentionDays: p.retention_days,
  rules: p.rules,
});

export function iotRoutes(fastify: FastifyInstance, iot: IotService, commands: CommandService) {
  const app = typed(fastify);
  const visible = (actor: Actor, id: string) => {
    const d = iot.get(id);
    const scope = agencyScope(actor);
    if (scope !== undefined && d.agency !== scope) throw notFound(`No device ${id}, or you have no access to it.`);
    return d;
  };

  app.get(
    "/api/device-profiles",
    { config: { access: "devices:read" }, schema: { tags: ["iot"], summary: "Device profiles: expected keys, units, ranges, inactivity timeout, rules" } },
    async () => iot.listProfiles().map(profileDto),
  );

  app.put(
    "/api/device-profiles/:id",
    {
      config: { access: "devices:manage" },
      schema: {
        tags: ["iot"],
        summary: "Create or replace a device profile",
        params: Type.Object({ id: Str(64, { pattern: "^[a-z0-9][a-z0-9-]{1,63}$" }) }),
        body: Type.Object(
          {
            name: Str(200, { minLength: 1 }),
            nameEn: Str(200, { minLength: 1 }),
            type: Str(64, { minLength: 1 }),
            keys: Type.Record(
              Str(64),
              Type.Object(
                { label: Type.Optional(Str(100)), unit: Type.Optional(Str(20)), min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()) },
                { additionalProperties: false },
              ),
            ),
            inactivityTimeoutSeconds: Type.Integer({ minimum: 10, maximum: 30 * 86_400 }),
            retentionDays: Type.Integer({ minimum: 1, maximum: 36_500 }),
            rules: Type.Array(Rule, { maxItems: 50 }),
          },
          { additionalProperties: false },
        ),
        response: errors(400, 401, 403),
      },
    },
    async (req) => {
      const b = req.body;
      const row = await iot.upsertProfile({
        id: req.params.id,
        name: b.name,
        name_en: b.nameEn,
        type: b.type,
        keys: b.keys,
        inactivity_timeout_s: b.inactivityTimeoutSeconds,
        retention_days: b.retentionDays,
        rules: b.rules as never,
      });
      return row && profileDto(row);
    },
  );

  app.get(
    "/api/devices",
    {
      config: { access: "devices:read" },
      schema: {
        tags: ["iot"],
        summary: "Devices, with state and latest values",
        querystring: Type.Object(
          {
            type: Type.Optional(Str(64)),
            commune: Type.Optional(Str(5)),
            agency: Type.Optional(Str(40)),
            online: Type.Optional(Type.Boolean()),
            q: Type.Optional(Str(100)),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, default: 500 })),
            offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const q = req.query;
      const scope = agencyScope(req.ctx.actor);
      if (scope !== undefined && q.agency && q.agency !== scope) return { devices: [], total: 0 };
      return iot.list({ ...q, agency: scope ?? q.agency, limit: q.limit ?? 500, offset: q.offset ?? 0 });
    },
  );

  const CreateBody = Type.Object(
    {
      id: Type.Optional(Id),
      name: Str(200, { minLength: 1 }),
      type: Type.Optional(Str(64)),
      profileId: Str(64),
      lat: Type.Optional(Nullable(Lat)),
      lon: Type.Optional(Nullable(Lon)),
      agency: Type.Optional(Nullable(Str(40))),
      accessToken: Type.Optional(Str(64, { pattern: "^[A-Za-z0-9_-]{8,64}$" })),
      mqttUsername: Type.Optional(Nullable(Str(64, { pattern: "^[A-Za-z0-9_.-]{3,64}$" }))),
      mqttPassword: Type.Optional(Nullable(Str(200, { minLength: 8 }))),
      serverAttributes: Type.Optional(Type.Record(Str(64), Type.Unknown())),
      rules: Type.Optional(Type.Array(Rule, { maxItems: 50 })),
    },
    { additionalProperties: false },
  );

  app.post(
    "/api/devices",
    {
      config: { access: "devices:manage" },
      schema: {
        tags: ["iot"],
        summary: "Register a device; its access token is returned once",
        body: CreateBody,
        response: { 201: Type.Object({ device: Device, accessToken: Type.String() }), ...errors(400, 401, 403, 409) },
      },
    },
    async (req, reply) => reply.code(201).send(await iot.createDevice(req.body as CreateDeviceInput)),
  );

  // CSV import lives in its own context so only it accepts text/csv.
  fastify.register(async (sub) => {
    sub.addContentTypeParser("text/csv", { parseAs: "string", bodyLimit: 5 * 1024 * 1024 }, (_req, body, done) => done(null, body));
    typed(sub).post(
      "/api/devices/import",
      {
        config: { access: "devices:manage" },
        schema: {
          tags: ["iot"],
          summary: "Register many devices from CSV (all or nothing)",
          description:
            "Columns: id,name,type,profileId,lat,lon,agency,accessToken (header row required; id, type, lat/lon, agency and accessToken may be empty). Returns each device's access token once.",
          consumes: ["text/csv"],
          response: {
            201: Type.Object({ created: Type.Array(Type.Object({ id: Type.String(), accessToken: Type.String() })) }),
            ...errors(400, 401, 403, 409, 415),
          },
        },
      },
      async (req, reply) => {
        if (typeof req.body !== "string") throw new Problem(415, "unsupported-media-type", "Send the devices as text/csv.");
        const parsed = Papa.parse<Record<string, string>>(req.body.trim(), { header: true, skipEmptyLines: true, transformHeader: (h) => h.trim() });
        const errs: Array<{ path: string; message: string }> = parsed.errors.map((e) => ({ path: `line ${(e.row ?? 0) + 2}`, message: e.message }));
        if (!parsed.meta.fields?.includes("name") || !parsed.meta.fields?.includes("profileId"))
          throw badRequest("The CSV needs a header row with at least name and profileId.");
        if (parsed.data.length > 10_000) throw badRequest("At most 10,000 devices per import.");
        const inputs: CreateDeviceInput[] = parsed.data.map((r, i) => {
          const num = (s: string | undefined, what: string) => {
            if (!s?.trim()) return null;
            const n = Number(s);
            if (!Number.isFinite(n)) errs.push({ path: `line ${i + 2}`, message: `${what} is not a number` });
            return n;
          };
          if (!r.name?.trim()) errs.push({ path: `line ${i + 2}`, message: "name is empty" });
          return {
            id: r.id?.trim() || undefined,
            name: r.name?.trim() ?? "",
            type: r.type?.trim() || undefined,
            profileId: r.profileId?.trim() ?? "",
            lat: num(r.lat, "lat"),
            lon: num(r.lon, "lon"),
            agency: r.agency?.trim() || null,
            accessToken: r.accessToken?.trim() || undefined,
          };
        });
        if (errs.length) throw badRequest(`The CSV has ${errs.length} problem(s); nothing was imported.`, { errors: errs.slice(0, 100) });
        const created = await iot.createMany(inputs);
        return reply.code(201).send({ created });
      },
    );
  });

  app.get(
    "/api/devices/:id",
    {
      config: { access: "devices:read" },
      schema: { tags: ["iot"], summary: "One device", params: Type.Object({ id: Id }), response: { 200: Device, ...errors(401, 403, 404) } },
    },
    async (req) => visible(req.ctx.actor, req.params.id),
  );

  app.patch(
    "/api/devices/:id",
    {
      config: { access: "devices:manage" },
      schema: {
        tags: ["iot"],
        summary: "Change a device: name, place, agency, enabled, server attributes, rules",
        params: Type.Object({ id: Id }),
        body: Type.Object(
          {
            name: Type.Optional(Str(200, { minLength: 1 })),
            lat: Type.Optional(Nullable(Lat)),
            lon: Type.Optional(Nullable(Lon)),
            agency: Type.Optional(Nullable(Str(40))),
            enabled: Type.Optional(Type.Boolean()),
            profileId: Type.Optional(Str(64)),
            serverAttributes: Type.Optional(Type.Record(Str(64), Type.Unknown())),
            rules: Type.Optional(Type.Array(Rule, { maxItems: 50 })),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Device, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      visible(req.ctx.actor, req.params.id);
      return iot.updateDevice(req.params.id, req.body as never);
    },
  );

  app.delete(
    "/api/devices/:id",
    {
      config: { access: "devices:manage" },
      schema: { tags: ["iot"], summary: "Delete a device and its history", params: Type.Object({ id: Id }), response: errors(401, 403, 404) },
    },
    async (req, reply) => {
      visible(req.ctx.actor, req.params.id);
      await iot.deleteDevice(req.params.id);
      return reply.code(204).send();
    },
  );

  app.post(
    "/api/devices/:id/token",
    {
      config: { access: "devices:manage" },
      schema: {
        tags: ["iot"],
        summary: "Issue a new access token (the old one stops working)",
        params: Type.Object({ id: Id }),
        response: errors(401, 403, 404),
      },
    },
    async (req) => {
      visible(req.ctx.actor, req.params.id);
      return iot.regenerateToken(req.params.id);
    },
  );

  app.get(
    "/api/devices/:id/latest",
    {
      config: { access: "devices:read" },
      schema: { tags: ["iot"], summary: "Latest value of each key", params: Type.Object({ id: Id }), response: errors(401, 403, 404) },
    },
    async (req) => {
      visible(req.ctx.actor, req.params.id);
      return iot.latest(req.params.id);
    },
  );

  app.get(
    "/api/devices/:id/telemetry",
    {
      config: { access: "devices:read" },
      schema: {
        tags: ["iot"],
        summary: "Telemetry history: raw points, or aggregates by interval",
        description:
          "Without `interval`: raw points (up to `limit`). With `interval` (1m, 5m, 15m, 1h, 6h, 1d, 7d) and `agg` (avg, min, max, sum, count): one value per bucket; hours and days are served from rollups. `format=csv` downloads CSV.",
        params: Type.Object({ id: Id }),
        querystring: Type.Object(
          {
            keys: Type.Optional(Str(1000)),
            from: Type.Optional(Type.String({ format: "date-time" })),
            to: Type.Optional(Type.String({ format: "date-time" })),
            interval: Type.Optional(Type.Union(Object.keys(INTERVALS).map((k) => Type.Literal(k)))),
            agg: Type.Optional(Type.Union(["avg", "min", "max", "sum", "count"].map((k) => Type.Literal(k)))),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 })),
            format: Type.Optional(Type.Union([Type.Literal("json"), Type.Literal("csv")])),
          },
          { additionalProperties: false },
        ),
        response: errors(400, 401, 403, 404),
      },
    },
    async (req, reply) => {
      const q = req.query;
      const d = visible(req.ctx.actor, req.params.id);
      const to = q.to ? new Date(q.to) : new Date();
      const from = q.from ? new Date(q.from) : new Date(to.getTime() - 86_400_000);
      if (from >= to) throw badRequest("from must be before to.");
      const keys = q.keys
        ?.split(",")
        .map((k) => k.trim())
        .filter(Boolean);
      const data = q.interval
        ? await iot.aggregate(d.id, { keys, from, to, intervalSeconds: INTERVALS[q.interval], agg: (q.agg ?? "avg") as Agg })
        : await iot.history(d.id, { keys, from, to, limit: q.limit ?? 10_000 });
      if (q.format !== "csv") return data;
      const rows = Object.entries(data).flatMap(([key, pts]) =>
        (pts as Array<{ ts: string; value: unknown }>).map((p) => ({ device: d.id, key, ts: p.ts, value: p.value })),
      );
      reply.header("Content-Disposition", `attachment; filename="${d.id}-telemetry.csv"`);
      return reply.type("text/csv; charset=utf-8").send(Papa.unparse(rows, { columns: ["device", "key", "ts", "value"] }));
    },
  );

  app.post(
    "/api/devices/:id/rpc",
    {
      config: { access: "devices:command" },
      schema: {
        tags: ["iot"],
        summary: "Send a command to a device (server-side RPC over MQTT)",
        description:
          "Two-way by default: waits for the device's reply up to timeoutMs. `oneway: true` returns once delivered. 409 when the device is not connected, 504 on timeout.",
        params: Type.Object({ id: Id }),
        body: Type.Object(
          {
            method: Str(100, { minLength: 1 }),
            params: Type.Optional(Type.Unknown()),
            oneway: Type.Optional(Type.Boolean()),
            timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
          },
          { additionalProperties: false },
        ),
        response: errors(400, 401, 403, 404, 409, 504),
      },
    },
    async (req, reply) => {
      visible(req.ctx.actor, req.params.id);
      const c = await commands.send(req.params.id, req.body, req.ctx.actor);
      if (c.status === "offline") throw new Problem(409, "device-offline", `${req.params.id} is not connected; the command was not delivered.`, { command: c });
      if (c.status === "timeout")
        throw new Problem(504, "device-timeout", `${req.params.id} did not answer within ${req.body.timeoutMs ?? 10_000} ms.`, { command: c });
      return reply.send(c);
    },
  );

  app.get(
    "/api/devices/:id/commands",
    {
      config: { access: "devices:read" },
      schema: { tags: ["iot"], summary: "Commands sent to a device, newest first", params: Type.Object({ id: Id }), response: errors(401, 403, 404) },
    },
    async (req) => {
      visible(req.ctx.actor, req.params.id);
      return commands.list(req.params.id, 100);
    },
  );

  app.get("/api/iot/stats", { config: { access: "devices:read" }, schema: { tags: ["iot"], summary: "Ingest counters of this Sen process" } }, async () => ({
    ...iot.stats,
    devices: iot.all().length,
    online: iot.all().filter((d) => d.online).length,
  }));

  // ---------- ThingsBoard-compatible HTTP device API: the access token in the path authenticates.
  const deviceApi = (kind: "telemetry" | "attributes") =>
    app.post(
      `/api/v1/:token/${kind}`,
      {
        config: { access: "public" },
        bodyLimit: LIMITS.maxBytes,
        schema: {
          tags: ["device API"],
          summary: `Device ${kind} over HTTP (ThingsBoard-compatible)`,
          params: Type.Object({ token: Str(200) }),
          response: errors(400, 401, 413),
        },
      },
      async (req) => {
        const device = iot.byToken(req.params.token);
        if (!device) throw unauthorized("Unknown device access token.");
        try {
          if (kind === "telemetry") await iot.ingestTelemetry(device, req.body, true);
          else await iot.ingestAttributes(device, req.body, true);
        } catch (err) {
          if (err instanceof PayloadError) throw badRequest(err.message);
          throw new Problem(503, "unavailable", "The data could not be stored now; send it again.");
        }
        return {};
      },
    );
  deviceApi("telemetry");
  deviceApi("attributes");
}
