// The CKAN Action API (/api/3/action/{action}): CKAN's envelope, field names and HTTP statuses,
// so open-data clients, harvesters and portals built for CKAN work unchanged.
import multipart from "@fastify/multipart";
import formbody from "@fastify/formbody";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AgencyDto } from "../core/accounts/service.ts";
import type { Actor } from "../core/context.ts";
import { Problem } from "../core/errors.ts";
import { type CatalogService, type DatasetFull, type DatasetPatch, LICENSES } from "./service.ts";
import type { GroupRow, ResourceRow, SearchQuery, VersionRow } from "./store.ts";

const CKAN_VERSION = "2.10.4";
const FACETS = ["organization", "groups", "tags", "res_format", "license_id"] as const;
type Facet = (typeof FACETS)[number];
const SORTS: Record<string, string> = {
  score: "score",
  metadata_modified: "d.modified_at",
  metadata_created: "d.created_at",
  name: "d.name",
  title_string: "d.title",
  title: "d.title",
};
const CKAN_TYPE: Record<string, string> = { text: "text", int8: "int", numeric: "numeric", bool: "bool", date: "date", timestamp: "timestamp" };

export interface CkanDeps {
  catalog: CatalogService;
  agencies(): Promise<AgencyDto[]>;
  siteTitle(): Promise<string>;
}

/** An action's own failure, in CKAN's terms. */
class CkanError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly fields: Record<string, string[]> = {},
  ) {
    super(message);
  }
}

const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString().replace(/Z$/, "") : null);

export function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`;
}

// ---------------------------------------------------------------------------------------------
// Presenters

export function organizationDict(a: AgencyDto | undefined, code: string, packageCount?: number) {
  return {
    id: code,
    name: code,
    title: a?.name ?? code,
    display_name: a?.name ?? code,
    title_translated: { vi: a?.name ?? code, en: a?.nameEn ?? code },
    description: a?.nameEn ?? "",
    type: "organization",
    is_organization: true,
    state: a && !a.active ? "deleted" : "active",
    approval_status: "approved",
    image_url: "",
    image_display_url: "",
    created: null,
    ...(packageCount !== undefined ? { package_count: packageCount } : {}),
  };
}

export function groupDict(g: GroupRow, packageCount?: number) {
  return {
    id: g.id,
    name: g.name,
    title: g.title,
    display_name: g.title,
    title_translated: { vi: g.title, en: g.title_en },
    description: g.description,
    type: "group",
    is_organization: false,
    state: "active",
    approval_status: "approved",
    image_url: "",
    image_display_url: "",
    created: iso(g.created_at),
    ...(packageCount !== undefined ? { package_count: packageCount } : {}),
  };
}

export function resourceDict(r: ResourceRow, v: VersionRow | undefined, base: string) {
  const uploaded = r.kind === "upload";
  return {
    id: r.id,
    package_id: r.dataset_id,
    name: r.name,
    name_translated: { vi: r.name, en: r.name_en },
    description: r.description,
    format: r.format,
    url: uploaded ? `${base}/api/catalog/resources/${r.id}/download${v ? `/${encodeURIComponent(v.filename)}` : ""}` : (r.url ?? ""),
    url_type: uploaded ? "upload" : null,
    resource_type: r.kind === "api" ? "api" : r.kind === "live" ? "live" : null,
    mimetype: v
      ? {
          CSV: "text/csv",
          XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          JSON: "application/json",
          GEOJSON: "application/geo+json",
        }[v.format]
      : null,
    size: v?.size ?? null,
    hash: v ? `sha256:${v.sha256}` : "",
    datastore_active: v?.status === "ready",
    state: "active",
    position: r.position,
    created: iso(r.created_at),
    last_modified: iso(v?.loaded_at ?? r.modified_at),
    metadata_modified: iso(r.modified_at),
    // Sen: the version served, and how many rows it has
    version: v?.seq ?? null,
    datastore_rows: v?.status === "ready" ? v.rows_loaded : null,
    has_geometry: v?.geometry ?? false,
    sen_kind: r.kind,
  };
}

export function packageDict(p: DatasetFull, orgs: Map<string, AgencyDto>, groups: Map<string, GroupRow>, base: string) {
  const d = p.row;
  const lic = LICENSES[d.license_id];
  return {
    id: d.id,
    name: d.name,
    title: d.title,
    notes: d.notes,
    title_translated: { vi: d.title, en: d.title_en },
    notes_translated: { vi: d.notes, en: d.notes_en },
    type: "dataset",
    state: d.state,
    private: d.private,
    license_id: d.license_id,
    license_title: lic?.title ?? d.license_id,
    license_url: lic?.url ?? "",
    isopen: lic?.open ?? false,
    url: d.url ?? "",
    version: d.version,
    author: null,
    author_email: null,
    maintainer: d.contact_name,
    maintainer_email: d.contact_email,
    owner_org: d.owner_org,
    organization: organizationDict(orgs.get(d.owner_org), d.owner_org),
    creator_user_id: d.created_by,
    metadata_created: iso(d.created_at),
    metadata_modified: iso(d.modified_at),
    num_resources: p.resources.length,
    num_tags: d.tags.length,
    tags: d.tags.map((t) => ({ id: t, name: t, display_name: t, state: "active", vocabulary_id: null })),
    groups: d.groups.map((g) => {
      const row = groups.get(g);
      return { id: row?.id ?? g, name: g, title: row?.title ?? g, display_name: row?.title ?? g, description: row?.description ?? "", image_display_url: "" };
    }),
    resources: p.resources.map((r) => resourceDict(r.row, r.version, base)),
    extras: Object.entries(d.extras).map(([key, value]) => ({ key, value })),
    relationships_as_object: [],
    relationships_as_subject: [],
    // Sen's metadata (DCAT-AP): update frequency, temporal and spatial coverage
    frequency: d.frequency,
    temporal_start: d.temporal_start ? String(d.temporal_start).slice(0, 10) : null,
    temporal_end: d.temporal_end ? String(d.temporal_end).slice(0, 10) : null,
    spatial: d.spatial,
  };
}

// ---------------------------------------------------------------------------------------------
// Parameters: GET gives text, POST gives JSON; CKAN accepts both.

type Params = Record<string, unknown>;

function int(p: Params, name: string, def: number, min: number, max: number): number {
  const v = p[name];
  if (v === undefined || v === "") return def;
  const n = typeof v === "number" ? v : Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new CkanError(409, "Validation Error", `${name} must be a whole number ≥ ${min}`, { [name]: [`Must be a whole number from ${min}`] });
  return Math.min(n, max);
}

function bool(p: Params, name: string, def: boolean): boolean {
  const v = p[name];
  if (v === undefined || v === "") return def;
  if (typeof v === "boolean") return v;
  if (v === "true" || v === "True" || v === "1") return true;
  if (v === "false" || v === "False" || v === "0") return false;
  throw new CkanError(409, "Validation Error", `${name} must be true or false`, { [name]: ["Must be true or false"] });
}

function str(p: Params, name: string, required = false): string | undefined {
  const v = p[name];
  if (v === undefined || v === null || v === "") {
    if (required) throw new CkanError(409, "Validation Error", `Missing value: ${name}`, { [name]: ["Missing value"] });
    return undefined;
  }
  if (typeof v !== "string" && typeof v !== "number") throw new CkanError(409, "Validation Error", `${name} must be text`, { [name]: ["Must be text"] });
  const s = String(v);
  if (s.length > 20_000) throw new CkanError(409, "Validation Error", `${name} is too long`, { [name]: ["Too long"] });
  return s;
}

/** A list: JSON array, JSON text of one, or comma-separated text. */
function list(p: Params, name: string): string[] | undefined {
  let v = p[name];
  if (v === undefined || v === "") return undefined;
  if (typeof v === "string" && v.trim().startsWith("[")) {
    try {
      v = JSON.parse(v);
    } catch {
      throw new CkanError(409, "Validation Error", `${name} is not a JSON list`, { [name]: ["Not a JSON list"] });
    }
  }
  if (typeof v === "string") v = v.split(",");
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    throw new CkanError(409, "Validation Error", `${name} must be a list of text`, { [name]: ["Must be a list"] });
  return (v as string[]).map((s) => s.trim()).filter(Boolean);
}

function obj(p: Params, name: string): Record<string, unknown> | undefined {
  let v = p[name];
  if (v === undefined || v === "") return undefined;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      throw new CkanError(409, "Validation Error", `${name} is not a JSON object`, { [name]: ["Not a JSON object"] });
    }
  }
  if (!v || typeof v !== "object" || Array.isArray(v))
    throw new CkanError(409, "Validation Error", `${name} must be an object`, { [name]: ["Must be an object"] });
  return v as Record<string, unknown>;
}

/** Solr-style fq: `organization:sxd tags:"ngập lụt" +res_format:CSV` (AND between terms). */
export function parseFq(fq: string): Partial<SearchQuery> {
  const out: Partial<SearchQuery> = {};
  const keys: Record<string, keyof SearchQuery> = {
    organization: "orgs",
    owner_org: "orgs",
    groups: "groups",
    tags: "tags",
    res_format: "formats",
    license_id: "licenses",
    name: "names",
  };
  const re = /([+-]?)([a-z_]+):(?:"((?:[^"\\]|\\.)*)"|\(([^)]*)\)|(\S+))/g;
  let m: RegExpExecArray | null;
  let rest = fq;
  // biome-ignore lint/suspicious/noAssignInExpressions: the usual regex loop
  while ((m = re.exec(fq))) {
    rest = rest.replace(m[0], "");
    const key = keys[m[2]];
    if (!key) throw new CkanError(409, "Validation Error", `fq: cannot filter on ${m[2]}`, { fq: [`Unknown field ${m[2]}`] });
    if (m[1] === "-") throw new CkanError(409, "Validation Error", "fq: negative filters are not supported", { fq: ["Negation is not supported"] });
    const values = m[4] !== undefined ? m[4].split(/\s+OR\s+/).map((s) => s.replace(/^"|"$/g, "")) : [m[3] ?? m[5]];
    const arr = ((out[key] as string[] | undefined) ?? []).concat(values.map((v) => v.replace(/\\(.)/g, "$1")));
    (out[key] as string[]) = arr;
  }
  if (rest.replace(/\b(AND|OR)\b|[+\s]/g, "").trim() && fq.trim() !== "*:*")
    throw new CkanError(409, "Validation Error", "fq: use field:value terms (organization, groups, tags, res_format, license_id, name)", {
      fq: ["Cannot read this filter"],
    });
  return out;
}

function parseSort(sort: string | undefined): string {
  const s = (sort ?? "score desc, metadata_modified desc").trim();
  return s
    .split(",")
    .map((part) => {
      const [field, dir = "asc"] = part.trim().split(/\s+/);
      const col = SORTS[field];
      if (!col || !/^(asc|desc)$/i.test(dir))
        throw new CkanError(409, "Validation Error", `sort: cannot sort by "${part.trim()}"`, { sort: ["Unknown sort field or direction"] });
      return `${col} ${dir.toUpperCase()}`;
    })
    .join(", ");
}

// ---------------------------------------------------------------------------------------------
// Routes

export function ckanRoutes(fastify: FastifyInstance, deps: CkanDeps) {
  const { catalog } = deps;

  fastify.register(async (app) => {
    // CKAN clients post JSON, forms, or multipart (resource uploads); the last two only here.
    await app.register(formbody, { bodyLimit: 1_048_576 });
    await app.register(multipart, { limits: { fileSize: catalog.maxUploadBytes, files: 1, fields: 50, fieldSize: 100_000, parts: 60 } });

    const handler = async (req: FastifyRequest<{ Params: { action: string } }>, reply: FastifyReply) => {
      const action = req.params.action;
      const base = baseUrl(req);
      const help = `${base}/api/3/action/help_show?name=${encodeURIComponent(action.slice(0, 60))}`;
      reply.header("cache-control", "no-store");
      try {
        let params: Params;
        if (req.method === "GET") params = (req.query ?? {}) as Params;
        else if (req.isMultipart()) params = { __multipart: true };
        else params = (req.body ?? {}) as Params;
        if (typeof params !== "object" || Array.isArray(params))
          throw new CkanError(400, "Bad Request", "Bad request - JSON Error: the body must be a JSON object");
        const fn = ACTIONS[action];
        if (!fn) throw new CkanError(400, "Bad Request", `Bad request - Action name not known: ${action.slice(0, 60)}`);
        if (WRITES.has(action) && req.method !== "POST") throw new CkanError(400, "Bad Request", `Bad request - ${action} needs a POST`);
        const result = await fn(params, req, base);
        return reply.type("application/json; charset=utf-8").send({ help, success: true, result });
      } catch (err) {
        const e = toCkan(err);
        if (e.status === 500) req.log.error({ err }, "CKAN action failed");
        return reply
          .code(e.status)
          .type("application/json; charset=utf-8")
          .send({ help, success: false, error: { __type: e.type, message: e.message, ...e.fields } });
      }
    };

    for (const method of ["GET", "POST"] as const)
      app.route({
        method,
        url: "/api/3/action/:action",
        config: { access: "public" },
        schema: { tags: ["ckan"], summary: "CKAN Action API", description: "CKAN 2.10-compatible actions; see docs/catalog.md.", hide: method === "POST" },
        handler,
      });
  });

  function toCkan(err: unknown): CkanError {
    if (err instanceof CkanError) return err;
    if (err instanceof Problem) {
      const msg = err.message;
      if (err.status === 401 || err.status === 403) return new CkanError(403, "Authorization Error", `Access denied: ${msg}`);
      if (err.status === 404) return new CkanError(404, "Not Found Error", `Not found: ${msg}`);
      if (err.status === 409) return new CkanError(409, "Validation Error", msg, { name: [msg] });
      if (err.status === 413) return new CkanError(413, "Validation Error", msg, { upload: [msg] });
      if (err.status === 503) return new CkanError(503, "Service Unavailable", msg);
      const fields: Record<string, string[]> = {};
      for (const e of (err.extra.errors as Array<{ path: string; message: string }> | undefined) ?? [])
        fields[e.path.replace(/^\//, "") || "error"] = [e.message];
      return new CkanError(409, "Validation Error", msg, fields);
    }
    const e = err as { statusCode?: number; message?: string; code?: string };
    if (e?.code === "FST_REQ_FILE_TOO_LARGE") return new CkanError(413, "Validation Error", "The file is too large.", { upload: ["Too large"] });
    if (e?.statusCode && e.statusCode < 500) return new CkanError(400, "Bad Request", `Bad request - ${e.message}`);
    return new CkanError(500, "Internal Server Error", "Something went wrong on our side.");
  }

  // Organisation and group names change rarely: kept for a few seconds instead of read per request.
  let cached: { at: number; value: Promise<{ orgs: Map<string, AgencyDto>; groups: Map<string, GroupRow> }> } | undefined;
  function maps() {
    if (!cached || Date.now() - cached.at > 5000) {
      const value = Promise.all([deps.agencies(), catalog.store.listGroups()]).then(([agencies, groups]) => ({
        orgs: new Map(agencies.map((a) => [a.code, a])),
        groups: new Map(groups.map((g) => [g.name, g])),
      }));
      value.catch(() => {
        cached = undefined;
      });
      cached = { at: Date.now(), value };
    }
    return cached.value;
  }

  const actor = (req: FastifyRequest): Actor => req.ctx.actor;
  const requireUser = (req: FastifyRequest) => {
    if (actor(req).type === "anonymous") throw new CkanError(403, "Authorization Error", "Access denied: give an API key in the Authorization header");
  };

  function patchFrom(p: Params): DatasetPatch {
    const out: DatasetPatch = {};
    const text = (k: string) => {
      const v = p[k];
      if (v === undefined) return undefined;
      if (v !== null && typeof v !== "string") throw new CkanError(409, "Validation Error", `${k} must be text`, { [k]: ["Must be text"] });
      return v as string | null;
    };
    for (const k of [
      "name",
      "title",
      "notes",
      "owner_org",
      "license_id",
      "url",
      "version",
      "frequency",
      "temporal_start",
      "temporal_end",
      "spatial",
    ] as const) {
      const v = text(k);
      if (v !== undefined) (out as Record<string, unknown>)[k] = v;
    }
    if (p.maintainer !== undefined) out.contact_name = text("maintainer");
    if (p.maintainer_email !== undefined) out.contact_email = text("maintainer_email");
    for (const k of ["title_translated", "notes_translated"] as const) {
      const tr = p[k];
      if (tr && typeof tr === "object") {
        const t = tr as Record<string, unknown>;
        const field = k === "title_translated" ? "title" : "notes";
        if (typeof t.vi === "string") out[field] = t.vi;
        if (typeof t.en === "string") out[`${field}_en`] = t.en;
      }
    }
    if (typeof p.title_en === "string") out.title_en = p.title_en;
    if (typeof p.notes_en === "string") out.notes_en = p.notes_en;
    if (p.private !== undefined) out.private = bool(p, "private", false);
    if (p.state !== undefined) {
      if (p.state !== "draft" && p.state !== "active")
        throw new CkanError(409, "Validation Error", "state must be draft or active", { state: ["Must be draft or active"] });
      out.state = p.state;
    }
    if (p.tags !== undefined) {
      if (!Array.isArray(p.tags)) throw new CkanError(409, "Validation Error", "tags must be a list", { tags: ["Must be a list"] });
      out.tags = p.tags.map((t) => (typeof t === "string" ? t : String((t as { name?: unknown })?.name ?? "")));
    }
    if (p.groups !== undefined) {
      if (!Array.isArray(p.groups)) throw new CkanError(409, "Validation Error", "groups must be a list", { groups: ["Must be a list"] });
      out.groups = p.groups.map((g) =>
        typeof g === "string" ? g : String((g as { name?: unknown; id?: unknown })?.name ?? (g as { id?: unknown })?.id ?? ""),
      );
    }
    if (p.extras !== undefined) {
      if (!Array.isArray(p.extras)) throw new CkanError(409, "Validation Error", "extras must be a list of {key, value}", { extras: ["Must be a list"] });
      out.extras = Object.fromEntries(p.extras.map((e) => [String((e as { key?: unknown }).key ?? ""), String((e as { value?: unknown }).value ?? "")]));
    }
    return out;
  }

  const show = async (id: string, req: FastifyRequest, base: string) => {
    const { orgs, groups } = await maps();
    return packageDict(await catalog.show(id, actor(req)), orgs, groups, base);
  };

  const WRITES = new Set(["package_create", "package_update", "package_patch", "package_delete", "resource_create"]);

  const ACTIONS: Record<string, (p: Params, req: FastifyRequest, base: string) => Promise<unknown>> = {
    status_show: async (_p, _req, base) => ({
      site_title: await deps.siteTitle(),
      site_description: "Cổng dữ liệu mở – Open data portal",
      site_url: base,
      ckan_version: CKAN_VERSION,
      error_emails_to: null,
      locale_default: "vi",
      extensions: ["datastore", "dcat", "fluent", "sen"],
    }),

    package_search: async (p, req, base) => {
      let q = str(p, "q")?.trim();
      if (q === "*:*" || q === "*") q = undefined;
      const fq = [str(p, "fq"), ...(list(p, "fq_list") ?? [])].filter((x): x is string => !!x).map(parseFq);
      const merged: Partial<SearchQuery> = {};
      for (const f of fq)
        for (const [k, v] of Object.entries(f))
          (merged as Record<string, string[]>)[k] = [...((merged as Record<string, string[]>)[k] ?? []), ...(v as string[])];
      const facetFields = (list(p, "facet.field") ?? []).filter((f): f is Facet => (FACETS as readonly string[]).includes(f));
      const facetLimit = int(p, "facet.limit", 50, -1, 1000);
      const search: SearchQuery = {
        q,
        ...merged,
        sort: parseSort(str(p, "sort")),
        rows: int(p, "rows", 10, 0, 1000),
        start: int(p, "start", 0, 0, 1_000_000),
        facets: facetFields,
        facetLimit: facetLimit < 0 ? 1000 : facetLimit,
      };
      const includePrivate = bool(p, "include_private", false);
      const includeDrafts = bool(p, "include_drafts", false);
      const r = await catalog.search(search, actor(req), { includePrivate, includeDrafts });
      const { orgs, groups } = await maps();
      const facets: Record<string, Record<string, number>> = {};
      const searchFacets: Record<string, { title: string; items: Array<{ name: string; display_name: string; count: number }> }> = {};
      for (const [f, items] of Object.entries(r.facets)) {
        facets[f] = Object.fromEntries(items.map((i) => [i.name, i.count]));
        searchFacets[f] = {
          title: f,
          items: items.map((i) => ({
            name: i.name,
            display_name: f === "organization" ? (orgs.get(i.name)?.name ?? i.name) : f === "groups" ? (groups.get(i.name)?.title ?? i.name) : i.name,
            count: i.count,
          })),
        };
      }
      return {
        count: r.count,
        sort: str(p, "sort") ?? "score desc, metadata_modified desc",
        facets,
        search_facets: searchFacets,
        results: r.datasets.map((d) => packageDict(d, orgs, groups, base)),
      };
    },

    package_show: async (p, req, base) => show(str(p, "id", true) as string, req, base),

    package_list: async (p, req) => catalog.listNames(actor(req), int(p, "limit", 1000, 0, 10_000), int(p, "offset", 0, 0, 10_000_000)),

    organization_list: async (p, req) => {
      const all = bool(p, "all_fields", false);
      const only = list(p, "organizations");
      const counts = new Map(
        (await catalog.store.orgCounts(catalog.visibility(actor(req), { includePrivate: false, includeDrafts: false }))).map((r) => [r.name, r.n]),
      );
      let agencies = (await deps.agencies()).filter((a) => a.active && (!only || only.includes(a.code)));
      agencies = agencies.slice(int(p, "offset", 0, 0, 100_000), int(p, "offset", 0, 0, 100_000) + int(p, "limit", 1000, 0, 1000));
      return all ? agencies.map((a) => organizationDict(a, a.code, counts.get(a.code) ?? 0)) : agencies.map((a) => a.code);
    },

    organization_show: async (p, req, base) => {
      const id = str(p, "id", true) as string;
      const a = (await deps.agencies()).find((x) => x.code === id || x.code === id.toUpperCase());
      if (!a) throw new CkanError(404, "Not Found Error", "Not found: organization");
      const r = await catalog.search(
        { orgs: [a.code], sort: "d.modified_at DESC", rows: bool(p, "include_datasets", false) ? 1000 : 0, start: 0, facets: [], facetLimit: 0 },
        actor(req),
        { includePrivate: false, includeDrafts: false },
      );
      const { orgs, groups } = await maps();
      return { ...organizationDict(a, a.code, r.count), packages: r.datasets.map((d) => packageDict(d, orgs, groups, base)) };
    },

    group_list: async (p, req) => {
      const counts = new Map(
        (await catalog.store.groupCounts(catalog.visibility(actor(req), { includePrivate: false, includeDrafts: false }))).map((r) => [r.name, r.n]),
      );
      const groups = await catalog.store.listGroups();
      return bool(p, "all_fields", false) ? groups.map((g) => groupDict(g, counts.get(g.name) ?? 0)) : groups.map((g) => g.name);
    },

    group_show: async (p, req, base) => {
      const g = await catalog.store.getGroup(str(p, "id", true) as string);
      if (!g) throw new CkanError(404, "Not Found Error", "Not found: group");
      const r = await catalog.search(
        { groups: [g.name], sort: "d.modified_at DESC", rows: bool(p, "include_datasets", false) ? 1000 : 0, start: 0, facets: [], facetLimit: 0 },
        actor(req),
        { includePrivate: false, includeDrafts: false },
      );
      const { orgs, groups } = await maps();
      return { ...groupDict(g, r.count), packages: r.datasets.map((d) => packageDict(d, orgs, groups, base)) };
    },

    tag_list: async (p, req) => catalog.listTags(actor(req), str(p, "query")),

    resource_show: async (p, req, base) => {
      const r = await catalog.resource(str(p, "id", true) as string, actor(req));
      return resourceDict(r.resource, r.version, base);
    },

    datastore_search: async (p, req) => {
      const resourceId = str(p, "resource_id", true) as string;
      if (!/^[0-9a-f-]{36}$/.test(resourceId)) throw new CkanError(404, "Not Found Error", `Not found: Resource "${resourceId.slice(0, 60)}" was not found.`);
      const limit = int(p, "limit", 100, 0, 32_000);
      const offset = int(p, "offset", 0, 0, 100_000_000);
      const fields = list(p, "fields");
      const sort = str(p, "sort");
      const q = str(p, "q");
      const format = str(p, "records_format") ?? "objects";
      if (!["objects", "lists"].includes(format))
        throw new CkanError(409, "Validation Error", "records_format must be objects or lists", { records_format: ["Unsupported"] });
      const includeTotal = bool(p, "include_total", true);
      const r = await catalog.datastoreSearch(resourceId, { filters: obj(p, "filters"), q, fields, sort, limit, offset, includeTotal }, actor(req));
      const ids = ["_id", ...r.select.map((c) => c.id)];
      const records = r.rows.map((row) => {
        const vals = [Number(row._id), ...r.select.map((c) => out(row[c.col]))];
        return format === "lists" ? vals : Object.fromEntries(ids.map((id, i) => [id, vals[i]]));
      });
      const self = new URLSearchParams({ resource_id: resourceId, limit: String(limit) });
      const page = (o: number) => `/api/3/action/datastore_search?${new URLSearchParams([...self, ["offset", String(o)]])}`;
      return {
        include_total: includeTotal,
        resource_id: resourceId,
        fields: [{ id: "_id", type: "int" }, ...r.select.map((c) => ({ id: c.id, type: CKAN_TYPE[c.type] }))],
        records_format: format,
        records,
        ...(sort ? { sort } : {}),
        ...(q ? { q } : {}),
        ...(p.filters !== undefined ? { filters: obj(p, "filters") } : {}),
        limit,
        offset,
        _links: { start: page(0), next: page(offset + limit) },
        ...(includeTotal ? { total: r.total, total_was_estimated: false } : {}),
      };
    },

    datastore_search_sql: async (p, req) => {
      const sql = str(p, "sql", true) as string;
      const r = await catalog.datastoreSql(sql, actor(req));
      const fields = r.rows[0] ? Object.keys(r.rows[0]).map((id) => ({ id, type: typeof r.rows[0][id] === "number" ? "numeric" : "text" })) : [];
      return {
        sql,
        fields,
        records: r.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, out(v)]))),
        records_truncated: r.truncated,
      };
    },

    package_create: async (p, req, base) => {
      requireUser(req);
      const created = await catalog.create(patchFrom(p), actor(req));
      await addResources(p, created.row.id, req);
      return show(created.row.id, req, base);
    },

    package_update: async (p, req, base) => {
      requireUser(req);
      const id = str(p, "id", true) as string;
      const updated = await catalog.update(id, patchFrom(p), actor(req), "update");
      return show(updated.row.id, req, base);
    },

    package_patch: async (p, req, base) => {
      requireUser(req);
      const id = str(p, "id", true) as string;
      const updated = await catalog.update(id, patchFrom(p), actor(req), "patch");
      return show(updated.row.id, req, base);
    },

    package_delete: async (p, req) => {
      requireUser(req);
      await catalog.remove(str(p, "id", true) as string, actor(req));
      return null;
    },

    resource_create: async (p, req, base) => {
      requireUser(req);
      if (p.__multipart) return resourceUpload(req, base);
      const packageId = str(p, "package_id", true) as string;
      const url = str(p, "url", true) as string;
      const row = await catalog.addResource(
        packageId,
        {
          name: str(p, "name") ?? url.split("/").pop() ?? "resource",
          description: str(p, "description"),
          format: str(p, "format"),
          kind: str(p, "resource_type") === "api" ? "api" : "link",
          url,
        },
        actor(req),
      );
      return resourceDict(row, undefined, base);
    },
  };

  async function addResources(p: Params, datasetId: string, req: FastifyRequest) {
    if (p.resources === undefined) return;
    if (!Array.isArray(p.resources)) throw new CkanError(409, "Validation Error", "resources must be a list", { resources: ["Must be a list"] });
    for (const r of p.resources as Params[]) {
      const url = str(r, "url", true) as string;
      await catalog.addResource(
        datasetId,
        {
          name: str(r, "name") ?? url,
          description: str(r, "description"),
          format: str(r, "format"),
          kind: str(r, "resource_type") === "api" ? "api" : "link",
          url,
        },
        actor(req),
      );
    }
  }

  /** resource_create with a file (multipart, fields first): the file loads into the datastore. */
  async function resourceUpload(req: FastifyRequest, base: string) {
    const fields: Params = {};
    let result: unknown;
    for await (const part of req.parts()) {
      if (part.type === "field") {
        fields[part.fieldname] = part.value;
        continue;
      }
      if (part.fieldname !== "upload") {
        part.file.resume();
        continue;
      }
      const packageId = str(fields, "package_id", true) as string;
      const row = await catalog.addResource(
        packageId,
        { name: str(fields, "name") ?? part.filename, description: str(fields, "description"), format: str(fields, "format"), kind: "upload" },
        actor(req),
      );
      try {
        const v = await catalog.upload(row.id, part.filename, part.file, actor(req));
        // CKAN loads uploads into the datastore by itself (xloader): confirm the inferred types.
        await catalog.confirm(v.id, undefined, actor(req));
        result = resourceDict(row, undefined, base);
      } catch (err) {
        // The resource was made for this file: without it, it goes too.
        await catalog.store.deleteResource(row.id);
        throw err;
      }
    }
    if (!result) throw new CkanError(409, "Validation Error", "Send the fields (package_id, name) and then the file as 'upload'", { upload: ["Missing file"] });
    return result;
  }
}

/** Values as CKAN's JSON gives them. */
function out(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "bigint") return Number(v);
  return v;
}
