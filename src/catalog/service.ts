// The catalog's rules: who may see and change which dataset, validation of metadata, uploads
// (inspect → confirm → load as a durable job), datastore queries and downloads. No HTTP here.
import { createHash, randomUUID } from "node:crypto";
import { createWriteStream, mkdirSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import type { AuditService } from "../core/audit/service.ts";
import type { Actor } from "../core/context.ts";
import { can } from "../core/context.ts";
import type { Db } from "../core/db.ts";
import { Problem, badRequest, conflict, forbidden, notFound } from "../core/errors.ts";
import type { EventBus } from "../core/events/bus.ts";
import { PermanentJobError, type jobQueue } from "../core/jobs/queue.ts";
import { datastoreStore } from "./datastore.ts";
import { COLUMN_TYPES, type Column, type ColumnType, IngestError, convert, formatOf, inspect } from "./ingest.ts";
import { loadBlocks } from "./load.ts";
import { type DatasetInput, type DatasetRow, type ResourceRow, type SearchQuery, type VersionRow, type Visibility, catalogStore } from "./store.ts";

declare module "../core/events/bus.ts" {
  interface SenEvents {
    "catalog.dataset": { id: string; name: string; action: "created" | "updated" | "deleted" };
    "catalog.version": { id: string; resourceId: string; status: VersionRow["status"]; rows: number };
  }
}

export const LOAD_QUEUE = "catalog.load";
const NAME = /^[a-z0-9][a-z0-9_-]{1,99}$/;
/**
 * Rows are copied into the datastore in blocks of this many bytes (two blocks per load). On the
 * embedded database a block holds its only connection for 20–40 ms, so other requests wait at
 * most that long during a load; bigger blocks load no faster.
 */
const BLOCK_BYTES = 512 * 1024;
/** How often a load records its progress (the upload page polls as often). */
const PROGRESS_MS = 250;

export const LICENSES: Record<string, { title: string; url: string; open: boolean }> = {
  "cc-by-4.0": { title: "Creative Commons Attribution 4.0", url: "https://creativecommons.org/licenses/by/4.0/", open: true },
  "cc-by-sa-4.0": { title: "Creative Commons Attribution Share-Alike 4.0", url: "https://creativecommons.org/licenses/by-sa/4.0/", open: true },
  "cc0-1.0": { title: "Creative Commons CCZero", url: "https://creativecommons.org/publicdomain/zero/1.0/", open: true },
  "odc-by": { title: "Open Data Commons Attribution License", url: "https://opendatacommons.org/licenses/by/", open: true },
  "odc-odbl": { title: "Open Data Commons Open Database License (ODbL)", url: "https://opendatacommons.org/licenses/odbl/", open: true },
  "other-open": { title: "Other (Open)", url: "", open: true },
  "other-closed": { title: "Other (Not Open)", url: "", open: false },
};

/** EU vocabulary of update frequencies (DCAT-AP accrualPeriodicity). */
export const FREQUENCIES = ["CONT", "DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "ANNUAL", "IRREG", "UNKNOWN"] as const;

/** Themes of the province's data (groups), created on first start. */
const THEMES: Array<[string, string, string]> = [
  ["moi-truong", "Môi trường", "Environment"],
  ["nong-nghiep", "Nông nghiệp", "Agriculture"],
  ["giao-thong", "Giao thông", "Transport"],
  ["y-te", "Y tế", "Health"],
  ["giao-duc", "Giáo dục", "Education"],
  ["du-lich", "Du lịch", "Tourism"],
  ["kinh-te", "Kinh tế", "Economy"],
  ["dan-cu", "Dân cư", "Population"],
  ["hanh-chinh", "Hành chính", "Government"],
  ["thoi-tiet-thuy-van", "Thời tiết, thủy văn", "Weather and hydrology"],
];

export interface CatalogDeps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  jobs: ReturnType<typeof jobQueue>;
  dataDir: string;
  agencyExists(code: string): Promise<boolean>;
  logger?: Logger;
  /** datastore_search_sql is offered only when this is set (SEN_CATALOG_SQL=1). */
  sqlEnabled: boolean;
  /** Largest upload in bytes. */
  maxUploadBytes: number;
}

/** A dataset as the service hands it out: the row with its resources and their current versions. */
export interface DatasetFull {
  row: DatasetRow;
  resources: Array<{ row: ResourceRow; version?: VersionRow }>;
}

export type DatasetPatch = Partial<{
  name: string;
  title: string;
  title_en: string;
  notes: string;
  notes_en: string;
  owner_org: string;
  license_id: string;
  private: boolean;
  state: "draft" | "active";
  frequency: string | null;
  temporal_start: string | null;
  temporal_end: string | null;
  spatial: string | null;
  contact_name: string | null;
  contact_email: string | null;
  version: string | null;
  url: string | null;
  tags: string[];
  groups: string[];
  extras: Record<string, string>;
}>;

export interface ResourceInput {
  name: string;
  name_en?: string;
  description?: string;
  format?: string;
  kind: "upload" | "link" | "api" | "live";
  url?: string | null;
}

export interface DatastoreQuery {
  filters?: Record<string, unknown>;
  q?: string;
  fields?: string[];
  sort?: string;
  limit: number;
  offset: number;
  includeTotal: boolean;
}

const invalid = (field: string, message: string) => new Problem(400, "validation", `${field}: ${message}`, { errors: [{ path: `/${field}`, message }] });

export function catalogService(deps: CatalogDeps) {
  const { db, audit, bus, jobs } = deps;
  const store = catalogStore(db);
  const ds = datastoreStore(db);
  const filesDir = path.join(deps.dataDir, "catalog", "files");
  const tmpDir = path.join(deps.dataDir, "catalog", "tmp");
  mkdirSync(filesDir, { recursive: true });
  mkdirSync(tmpDir, { recursive: true });
  const fileOf = (versionId: string) => path.join(filesDir, versionId);
  /** The read-only role of datastore_search_sql, set up once per process (views are granted as they are made). */
  let readerReady: Promise<boolean> | undefined;

  // ---------- access
  const isAdmin = (a: Actor) => a.type === "system" || can(a, "agencies:manage");
  function visibility(a: Actor, opts: { includePrivate?: boolean; includeDrafts?: boolean } = {}): Visibility {
    const mayPrivate = can(a, "datasets:read-private");
    return {
      orgs: isAdmin(a) ? null : a.agency ? [a.agency] : [],
      includePrivate: mayPrivate && (opts.includePrivate ?? true),
      includeDrafts: mayPrivate && (opts.includeDrafts ?? true),
    };
  }
  const mayEdit = (a: Actor, org: string) => can(a, "datasets:publish") && (isAdmin(a) || a.agency === org);
  function mayRead(a: Actor, d: DatasetRow): boolean {
    if (d.state === "deleted") return false;
    if (d.state === "active" && !d.private) return true;
    return can(a, "datasets:read-private") && (isAdmin(a) || a.agency === d.owner_org);
  }

  async function full(rows: DatasetRow[]): Promise<DatasetFull[]> {
    if (!rows.length) return [];
    const resources = await store.resourcesOf(rows.map((r) => r.id));
    const versionIds = resources.map((r) => r.current_version).filter((x): x is string => !!x);
    const versions = new Map((versionIds.length ? await store.getVersions(versionIds) : []).map((v) => [v.id, v]));
    return rows.map((row) => ({
      row,
      resources: resources
        .filter((r) => r.dataset_id === row.id)
        .map((r) => ({ row: r, version: r.current_version ? versions.get(r.current_version) : undefined })),
    }));
  }

  async function readable(idOrName: string, a: Actor): Promise<DatasetRow> {
    const d = await store.getDataset(idOrName);
    if (!d || !mayRead(a, d)) throw notFound(`No dataset ${idOrName}, or you have no access to it.`);
    return d;
  }

  async function editable(idOrName: string, a: Actor): Promise<DatasetRow> {
    const d = await readable(idOrName, a);
    if (!mayEdit(a, d.owner_org)) throw forbidden(`You may not change datasets of ${d.owner_org}.`);
    return d;
  }

  // ---------- validation
  function cleanText(v: unknown, field: string, max: number, required = false): string {
    if (v === undefined || v === null) {
      if (required) throw invalid(field, "Missing value");
      return "";
    }
    if (typeof v !== "string") throw invalid(field, "must be text");
    const s = v.trim();
    if (required && !s) throw invalid(field, "Missing value");
    if (s.length > max) throw invalid(field, `is longer than ${max} characters`);
    return s;
  }
  const optText = (v: unknown, field: string, max: number) => (v === undefined || v === null || v === "" ? null : cleanText(v, field, max));
  function optDate(v: unknown, field: string): string | null {
    if (v === undefined || v === null || v === "") return null;
    if (typeof v !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(v))) throw invalid(field, "must be a date YYYY-MM-DD");
    return v;
  }

  async function normalise(p: DatasetPatch, base?: DatasetRow): Promise<DatasetInput> {
    const name = cleanText(p.name ?? base?.name, "name", 100, true).toLowerCase();
    if (!NAME.test(name)) throw invalid("name", "Must be 2-100 lower-case letters, digits, - or _ (URL-friendly)");
    const owner = cleanText(p.owner_org ?? base?.owner_org, "owner_org", 40, true);
    if (!(await deps.agencyExists(owner))) throw invalid("owner_org", `Organisation ${owner} does not exist`);
    const license = cleanText(p.license_id ?? base?.license_id ?? "cc-by-4.0", "license_id", 40);
    if (!LICENSES[license]) throw invalid("license_id", `Unknown licence; use one of ${Object.keys(LICENSES).join(", ")}`);
    const frequency = p.frequency === undefined ? (base?.frequency ?? null) : p.frequency;
    if (frequency !== null && !(FREQUENCIES as readonly string[]).includes(frequency)) throw invalid("frequency", `must be one of ${FREQUENCIES.join(", ")}`);
    const tags = (p.tags ?? base?.tags ?? []).map((t, i) => cleanText(t, `tags/${i}`, 100, true));
    if (tags.length > 100) throw invalid("tags", "at most 100 tags");
    const groups = [...new Set(p.groups ?? base?.groups ?? [])];
    for (const g of groups) if (!(await store.getGroup(g))) throw invalid("groups", `Group ${g} does not exist`);
    const email = optText(p.contact_email === undefined ? base?.contact_email : p.contact_email, "contact_email", 200);
    if (email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw invalid("contact_email", "is not an email address");
    const url = optText(p.url === undefined ? base?.url : p.url, "url", 2000);
    if (url && !/^https?:\/\//.test(url)) throw invalid("url", "must be an http(s) URL");
    const extras = p.extras ?? base?.extras ?? {};
    if (Object.keys(extras).length > 50) throw invalid("extras", "at most 50 extras");
    for (const [k, v] of Object.entries(extras)) {
      cleanText(k, "extras/key", 100, true);
      cleanText(v, `extras/${k}`, 2000);
    }
    const ts = optDate(p.temporal_start === undefined ? base?.temporal_start : p.temporal_start, "temporal_start");
    const te = optDate(p.temporal_end === undefined ? base?.temporal_end : p.temporal_end, "temporal_end");
    if (ts && te && ts > te) throw invalid("temporal_end", "is before temporal_start");
    return {
      name,
      title: cleanText(p.title ?? base?.title ?? name, "title", 300, true),
      title_en: cleanText(p.title_en ?? base?.title_en, "title_en", 300),
      notes: cleanText(p.notes ?? base?.notes, "notes", 20_000),
      notes_en: cleanText(p.notes_en ?? base?.notes_en, "notes_en", 20_000),
      owner_org: owner,
      license_id: license,
      private: p.private ?? base?.private ?? false,
      state: p.state ?? (base?.state === "deleted" ? "active" : base?.state) ?? "active",
      frequency,
      temporal_start: ts,
      temporal_end: te,
      spatial: optText(p.spatial === undefined ? base?.spatial : p.spatial, "spatial", 200),
      contact_name: optText(p.contact_name === undefined ? base?.contact_name : p.contact_name, "contact_name", 200),
      contact_email: email,
      version: optText(p.version === undefined ? base?.version : p.version, "version", 100),
      url,
      tags: [...new Set(tags)],
      groups,
      extras,
    };
  }

  function validResource(r: ResourceInput): ResourceInput {
    const name = cleanText(r.name, "name", 300, true);
    if (!["upload", "link", "api", "live"].includes(r.kind)) throw invalid("kind", "must be upload, link, api or live");
    let url = r.url ?? null;
    if (r.kind === "link" || r.kind === "api") {
      url = cleanText(url, "url", 2000, true);
      if (!/^https?:\/\//.test(url)) throw invalid("url", "must be an http(s) URL");
    }
    if (r.kind === "live") {
      url = cleanText(url, "url", 100, true);
      if (!/^(iot|reports):[a-z0-9_-]{1,60}$/.test(url)) throw invalid("url", "a live resource names its Sen source, e.g. iot:water_level");
    }
    if (r.kind === "upload") url = null;
    return {
      name,
      name_en: cleanText(r.name_en, "name_en", 300),
      description: cleanText(r.description, "description", 5000),
      format: cleanText(r.format, "format", 40).toUpperCase(),
      kind: r.kind,
      url,
    };
  }

  // ---------- load worker
  async function load(versionId: string): Promise<void> {
    const v = await store.getVersion(versionId);
    if (v?.status !== "loading") return;
    const res = await store.getResource(v.resource_id);
    if (!res) return;
    const columns = v.columns;
    const t0 = Date.now();
    try {
      await ds.createTable(v.id, columns, v.geometry);
      // The file is read in a worker thread; its blocks of rows are copied into the table here.
      let lastProgress = Date.now();
      const { rows, bytesRead: bytes } = await loadBlocks(
        { file: fileOf(v.id), format: v.format, columns, geometry: v.geometry, blockBytes: BLOCK_BYTES },
        async (data, rowsSoFar, bytesRead) => {
          await ds.copy(v.id, columns, v.geometry, data);
          if (Date.now() - lastProgress >= PROGRESS_MS) {
            lastProgress = Date.now();
            await store.progress(v.id, rowsSoFar, bytesRead);
          }
        },
      );
      await ds.createIndexes(v.id, columns, v.geometry);
      const bbox = v.geometry ? await ds.bbox(v.id) : null;
      const dataset = await db.one<DatasetRow>("SELECT * FROM catalog.datasets WHERE id = $1", [res.dataset_id]);
      await db.tx(async () => {
        const done = await store.finishVersion(v.id, rows, bytes, bbox);
        await store.setCurrentVersion(res.id, v.id, v.format === "GEOJSON" ? "GeoJSON" : v.format);
        await ds.replaceView(res.id, v.id, columns, !!dataset && dataset.state === "active" && !dataset.private);
        await store.touchDataset(res.dataset_id);
        await audit.record({
          action: "catalog.version.load",
          targetType: "resource",
          targetId: res.id,
          details: { version: v.seq, rows, bytes, seconds: (Date.now() - t0) / 1000 },
        });
        await bus.publish("catalog.version", { id: v.id, resourceId: res.id, status: done.status, rows }, "all");
      });
      deps.logger?.info({ version: v.id, rows, seconds: (Date.now() - t0) / 1000 }, "datastore load finished");
    } catch (err) {
      await ds.dropTable(v.id).catch(() => undefined);
      const message = err instanceof IngestError ? err.message : `The load stopped: ${(err as Error).message}`;
      await db.tx(async () => {
        await store.failVersion(v.id, message);
        await audit.record({
          action: "catalog.version.load",
          targetType: "resource",
          targetId: res.id,
          outcome: "failure",
          details: { version: v.seq, error: message },
        });
        await bus.publish("catalog.version", { id: v.id, resourceId: res.id, status: "failed", rows: 0 }, "staff");
      });
      // Bad data never gets better by retrying; a database hiccup might.
      if (err instanceof IngestError || /invalid input syntax|out of range|violates/.test(String((err as Error).message))) throw new PermanentJobError(message);
      throw err;
    }
  }

  /** The ready version a datastore request reads, checking the reader may see the dataset. */
  async function readableVersion(resourceId: string, a: Actor, seq?: number): Promise<{ resource: ResourceRow; version: VersionRow; dataset: DatasetRow }> {
    const resource = await store.getResource(resourceId);
    if (!resource) throw notFound(`No resource ${resourceId}.`);
    const dataset = await db.one<DatasetRow>("SELECT * FROM catalog.datasets WHERE id = $1", [resource.dataset_id]);
    if (!dataset || !mayRead(a, dataset)) throw notFound(`No resource ${resourceId}, or you have no access to it.`);
    let version: VersionRow | undefined;
    if (seq !== undefined) version = (await store.versionsOf(resource.id)).find((x) => x.seq === seq && x.status === "ready");
    else if (resource.current_version) version = await store.getVersion(resource.current_version);
    if (version?.status !== "ready") throw notFound(`Resource ${resourceId} has no data in the datastore${seq !== undefined ? ` for version ${seq}` : ""}.`);
    return { resource, version, dataset };
  }

  return {
    store,
    datastore: ds,
    visibility,
    mayEdit,
    isAdmin,
    fileOf,
    sqlEnabled: deps.sqlEnabled,
    maxUploadBytes: deps.maxUploadBytes,

    async seedThemes(): Promise<void> {
      for (const [name, title, title_en] of THEMES) await store.upsertGroup({ name, title, title_en, description: "", description_en: "" });
    },

    startWorker(_logger?: Logger) {
      // A load of a 1 GB file takes minutes: a long lease keeps other nodes from starting it twice.
      return jobs.work<{ versionId: string }>(LOAD_QUEUE, (job) => load(job.payload.versionId), { concurrency: 1, leaseMs: 6 * 3_600_000 });
    },

    // ---------- datasets
    async search(s: SearchQuery, a: Actor, opts: { includePrivate?: boolean; includeDrafts?: boolean } = {}) {
      const r = await store.search(visibility(a, opts), s);
      return { count: r.count, datasets: await full(r.rows), facets: r.facets };
    },
    async show(idOrName: string, a: Actor): Promise<DatasetFull> {
      return (await full([await readable(idOrName, a)]))[0];
    },
    listNames: async (a: Actor, limit: number, offset: number) =>
      (await store.listNames(visibility(a, { includeDrafts: false, includePrivate: false }), limit, offset)).map((r) => r.name),
    listTags: (a: Actor, q?: string) => store.listTags(visibility(a, { includePrivate: false, includeDrafts: false }), q),

    async create(p: DatasetPatch, a: Actor): Promise<DatasetFull> {
      const input = await normalise(p);
      if (!mayEdit(a, input.owner_org)) throw forbidden(`You may not publish datasets for ${input.owner_org}.`);
      return db.tx(async () => {
        if (await store.nameTaken(input.name)) throw conflict(`The name ${input.name} is already used by another dataset.`);
        const row = await store.insertDataset(input, a.id ?? a.name);
        await audit.record({ action: "catalog.dataset.create", targetType: "dataset", targetId: row.id, details: { name: row.name, org: row.owner_org } });
        await bus.publish("catalog.dataset", { id: row.id, name: row.name, action: "created" }, "staff");
        return { row, resources: [] };
      });
    },

    /** package_update replaces the metadata (fields left out go back to defaults); patch keeps them. */
    async update(idOrName: string, p: DatasetPatch, a: Actor, mode: "update" | "patch"): Promise<DatasetFull> {
      const current = await editable(idOrName, a);
      const input = await normalise(p, mode === "patch" ? current : { ...current, ...blank(current) });
      if (input.owner_org !== current.owner_org && !mayEdit(a, input.owner_org)) throw forbidden(`You may not move datasets to ${input.owner_org}.`);
      return db.tx(async () => {
        if (input.name !== current.name && (await store.nameTaken(input.name, current.id)))
          throw conflict(`The name ${input.name} is already used by another dataset.`);
        const row = await store.updateDataset(current.id, input);
        // Who may query its rows by SQL follows whether it is public.
        const open = row.state === "active" && !row.private;
        if (open !== (current.state === "active" && !current.private)) for (const r of await store.resourcesOf([row.id])) await ds.setViewGrant(r.id, open);
        await audit.record({ action: `catalog.dataset.${mode}`, targetType: "dataset", targetId: row.id, details: { name: row.name, fields: Object.keys(p) } });
        await bus.publish("catalog.dataset", { id: row.id, name: row.name, action: "updated" }, "staff");
        return (await full([row]))[0];
      });
    },

    async remove(idOrName: string, a: Actor): Promise<void> {
      const d = await editable(idOrName, a);
      await db.tx(async () => {
        await db.query("UPDATE catalog.datasets SET state = 'deleted', modified_at = now() WHERE id = $1", [d.id]);
        for (const r of await store.resourcesOf([d.id])) await ds.setViewGrant(r.id, false);
        await audit.record({ action: "catalog.dataset.delete", targetType: "dataset", targetId: d.id, details: { name: d.name } });
        await bus.publish("catalog.dataset", { id: d.id, name: d.name, action: "deleted" }, "staff");
      });
    },

    // ---------- resources
    async addResource(datasetIdOrName: string, input: ResourceInput, a: Actor): Promise<ResourceRow> {
      const d = await editable(datasetIdOrName, a);
      const r = validResource(input);
      return db.tx(async () => {
        const row = await store.insertResource({
          dataset_id: d.id,
          name: r.name,
          name_en: r.name_en ?? "",
          description: r.description ?? "",
          format: r.format ?? "",
          kind: r.kind,
          url: r.url ?? null,
        });
        await store.touchDataset(d.id);
        await audit.record({ action: "catalog.resource.create", targetType: "resource", targetId: row.id, details: { dataset: d.name, kind: r.kind } });
        await bus.publish("catalog.dataset", { id: d.id, name: d.name, action: "updated" }, "staff");
        return row;
      });
    },

    async resource(id: string, a: Actor): Promise<{ resource: ResourceRow; dataset: DatasetRow; version?: VersionRow; versions: VersionRow[] }> {
      const resource = await store.getResource(id);
      const dataset = resource && (await db.one<DatasetRow>("SELECT * FROM catalog.datasets WHERE id = $1", [resource.dataset_id]));
      if (!resource || !dataset || !mayRead(a, dataset)) throw notFound(`No resource ${id}, or you have no access to it.`);
      const versions = await store.versionsOf(id);
      return { resource, dataset, version: versions.find((v) => v.id === resource.current_version), versions };
    },

    /** Receive an upload (streamed to disk, hashed, size-capped), inspect it, keep it as a pending version. */
    async upload(resourceId: string, filename: string, stream: Readable, a: Actor): Promise<VersionRow> {
      const resource = await store.getResource(resourceId);
      const dataset = resource && (await db.one<DatasetRow>("SELECT * FROM catalog.datasets WHERE id = $1", [resource.dataset_id]));
      if (!resource || !dataset || !mayRead(a, dataset)) {
        stream.resume();
        throw notFound(`No resource ${resourceId}, or you have no access to it.`);
      }
      if (!mayEdit(a, dataset.owner_org)) {
        stream.resume();
        throw forbidden(`You may not change datasets of ${dataset.owner_org}.`);
      }
      if (resource.kind !== "upload") {
        stream.resume();
        throw conflict("Only upload resources take files; this one is a link, API or live resource.");
      }
      const safeName =
        path
          .basename(filename || "upload")
          .replace(/[^\p{L}\p{N}._ -]/gu, "_")
          .slice(0, 200) || "upload";
      const tmp = path.join(tmpDir, randomUUID());
      const hash = createHash("sha256");
      let size = 0;
      let head = Buffer.alloc(0);
      const limit = deps.maxUploadBytes;
      const meter = new Transform({
        transform(chunk: Buffer, _e, cb) {
          size += chunk.length;
          if (size > limit) return cb(new Problem(413, "too-large", `The file is larger than ${Math.round(limit / 1048576)} MB.`));
          if (head.length < 4096) head = Buffer.concat([head, chunk.subarray(0, 4096 - head.length)]);
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      try {
        await pipeline(stream, meter, createWriteStream(tmp));
        if ((stream as Readable & { truncated?: boolean }).truncated)
          throw new Problem(413, "too-large", `The file is larger than ${Math.round(limit / 1048576)} MB.`);
        if (size === 0) throw badRequest("The file is empty.");
        const format = formatOf(safeName, head);
        const found = await inspect(tmp, format);
        return await db.tx(async () => {
          const v = await store.insertVersion({
            resource_id: resource.id,
            filename: safeName,
            format,
            encoding: found.encoding,
            size,
            sha256: hash.digest("hex"),
            columns: found.columns,
            geometry: found.geometry,
            created_by: a.id ?? a.name,
          });
          await rename(tmp, fileOf(v.id));
          await audit.record({
            action: "catalog.version.upload",
            targetType: "resource",
            targetId: resource.id,
            details: { version: v.seq, filename: safeName, size, format },
          });
          return v;
        });
      } catch (err) {
        await rm(tmp, { force: true });
        if (err instanceof IngestError) throw new Problem(400, "unreadable-file", err.message);
        throw err;
      }
    },

    /** The publisher confirms (or corrects) the column types; the rows load in the background. */
    async confirm(versionId: string, columns: Array<{ id: string; type: string; index?: boolean }> | undefined, a: Actor): Promise<VersionRow> {
      const v = await store.getVersion(versionId);
      const res = v && (await store.getResource(v.resource_id));
      const dataset = res && (await db.one<DatasetRow>("SELECT * FROM catalog.datasets WHERE id = $1", [res.dataset_id]));
      if (!v || !dataset || !mayRead(a, dataset)) throw notFound(`No version ${versionId}, or you have no access to it.`);
      if (!mayEdit(a, dataset.owner_org)) throw forbidden(`You may not change datasets of ${dataset.owner_org}.`);
      if (v.status === "loading" || v.status === "ready") throw conflict(`This version is already ${v.status}.`);
      let cols: Column[] = v.columns;
      if (columns) {
        if (columns.length !== v.columns.length) throw invalid("columns", `must list all ${v.columns.length} columns of the file, in order`);
        cols = v.columns.map((c, i) => {
          const given = columns[i];
          if (given.id !== c.id) throw invalid(`columns/${i}/id`, `expected "${c.id}" (columns keep the file's order and names)`);
          if (!(COLUMN_TYPES as readonly string[]).includes(given.type)) throw invalid(`columns/${i}/type`, `must be one of ${COLUMN_TYPES.join(", ")}`);
          return { ...c, type: given.type as ColumnType, index: given.index ?? c.index };
        });
      }
      return db.tx(async () => {
        const started = await store.startLoading(v.id, cols);
        if (!started) throw conflict("This version is already loading.");
        await jobs.enqueue(LOAD_QUEUE, { versionId: v.id });
        await audit.record({
          action: "catalog.version.confirm",
          targetType: "resource",
          targetId: v.resource_id,
          details: { version: v.seq, types: cols.map((c) => c.type) },
        });
        return started;
      });
    },

    async version(versionId: string, a: Actor): Promise<VersionRow> {
      const v = await store.getVersion(versionId);
      const res = v && (await store.getResource(v.resource_id));
      const dataset = res && (await db.one<DatasetRow>("SELECT * FROM catalog.datasets WHERE id = $1", [res.dataset_id]));
      if (!v || !dataset || !mayRead(a, dataset)) throw notFound(`No version ${versionId}, or you have no access to it.`);
      // Only the publishers see versions that are not loaded yet.
      if (v.status !== "ready" && !mayEdit(a, dataset.owner_org)) throw notFound(`No version ${versionId}, or you have no access to it.`);
      return v;
    },

    readableVersion,

    // ---------- datastore
    async datastoreSearch(resourceId: string, q: DatastoreQuery, a: Actor) {
      const { version } = await readableVersion(resourceId, a);
      const byId = new Map(version.columns.map((c) => [c.id, c]));
      const field = (id: string, what: string) => {
        const c = byId.get(id);
        if (!c) throw invalid(what, `field "${id}" does not exist`);
        return c;
      };
      const params: unknown[] = [];
      const where: string[] = [];
      const add = (v: unknown) => {
        params.push(v);
        return `$${params.length}`;
      };
      for (const [k, raw] of Object.entries(q.filters ?? {})) {
        if (k === "_id") {
          const ids = (Array.isArray(raw) ? raw : [raw]).map(Number);
          if (ids.some((n) => !Number.isInteger(n))) throw invalid("filters", "_id must be whole numbers");
          where.push(`_id = ANY(${add(ids)}::bigint[])`);
          continue;
        }
        const c = field(k, "filters");
        const values = (Array.isArray(raw) ? raw : [raw]).map((x) => {
          if (x === null) return null;
          if (typeof x === "object") throw invalid("filters", `the value for "${k}" must be text, a number or a list of them`);
          const cv = convert(x, c.type);
          if (cv !== null && typeof cv === "object") throw invalid("filters", `"${String(x).slice(0, 60)}" ${cv.error} (field "${k}")`);
          return cv;
        });
        if (values.length > 1000) throw invalid("filters", "at most 1000 values per field");
        const pgType = { text: "text", int8: "bigint", numeric: "numeric", bool: "boolean", date: "date", timestamp: "timestamptz" }[c.type];
        const nonNull = values.filter((x) => x !== null);
        const parts: string[] = [];
        if (nonNull.length === 1) parts.push(`${c.col} = ${add(nonNull[0])}::${pgType}`);
        else if (nonNull.length > 1) parts.push(`${c.col} = ANY(${add(nonNull)}::${pgType}[])`);
        if (values.includes(null)) parts.push(`${c.col} IS NULL`);
        where.push(parts.length ? `(${parts.join(" OR ")})` : "false");
      }
      if (q.q) {
        const text = version.columns.filter((c) => c.type === "text");
        if (text.length) {
          const words = q.q.split(/\s+/).filter(Boolean).slice(0, 10);
          for (const w of words) {
            const p = add(`%${w.replace(/[%_\\]/g, "\\$&")}%`);
            where.push(`unaccent(concat_ws(' ', ${text.map((c) => c.col).join(", ")})) ILIKE unaccent(${p})`);
          }
        } else where.push("false");
      }
      const select = q.fields?.length ? q.fields.filter((f) => f !== "_id").map((f) => field(f, "fields")) : version.columns;
      let order = "_id";
      if (q.sort) {
        const parts = q.sort
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
        if (parts.length > 10) throw invalid("sort", "at most 10 sort fields");
        order = parts
          .map((p) => {
            const m = /^"?(.+?)"?(?:\s+(asc|desc))?$/i.exec(p);
            if (!m) throw invalid("sort", `cannot read "${p}"`);
            const dir = (m[2] ?? "asc").toUpperCase();
            return m[1] === "_id" ? `_id ${dir}` : `${field(m[1], "sort").col} ${dir} NULLS LAST`;
          })
          .concat("_id")
          .join(", ");
      }
      const r = await ds.search(version.id, { select, where, params, order, limit: q.limit, offset: q.offset, total: q.includeTotal, geometry: false });
      return { version, select, rows: r.rows, total: q.includeTotal ? (r.total ?? version.rows_loaded) : undefined };
    },

    async datastoreSql(sql: string, a: Actor) {
      if (!deps.sqlEnabled) throw new Problem(403, "disabled", "datastore_search_sql is turned off on this portal (SEN_CATALOG_SQL).");
      // The embedded database cannot cancel a running statement, so no time limit could hold.
      if (db.driver === "pglite")
        throw new Problem(
          403,
          "disabled",
          "datastore_search_sql needs a PostgreSQL server (DATABASE_URL); the embedded database cannot enforce its time limit.",
        );
      void a;
      const s = sql.trim().replace(/;\s*$/, "");
      if (!/^(select|with)\b/i.test(s)) throw invalid("sql", "must be a single SELECT statement");
      if (s.length > 10_000) throw invalid("sql", "is longer than 10000 characters");
      if (/\bset_config\b|\bcurrent_setting\b/i.test(s)) throw invalid("sql", "may not change or read settings");
      readerReady ??= ds.ensureReaderRole(await store.publicResourceIds()).then((ok) => {
        if (!ok) readerReady = undefined;
        return ok;
      });
      if (!(await readerReady)) throw new Problem(503, "unavailable", "The database account cannot create the read-only role datastore_search_sql needs.");
      const max = 32_000;
      try {
        const rows = await ds.sql(s, max, 10_000);
        return { rows: rows.slice(0, max), truncated: rows.length > max };
      } catch (err) {
        const m = (err as Error).message;
        if (/statement timeout|canceling statement/i.test(m)) throw invalid("sql", "took longer than 10 seconds and was stopped");
        throw invalid("sql", m.replace(/v_[0-9a-f]{32}/g, "…"));
      }
    },

    /** Features of a public geo dataset's current version, for OGC API – Features. */
    async features(datasetName: string, q: { bbox?: number[]; limit: number; offset: number; filters: Record<string, string>; featureId?: string }) {
      const geo = (await store.geoResources()).find((g) => g.dataset === datasetName);
      if (!geo) return undefined;
      const version = await store.getVersion(geo.version_id);
      if (!version) return undefined;
      const byId = new Map(version.columns.map((c) => [c.id, c]));
      const params: unknown[] = [];
      const where: string[] = [];
      const add = (v: unknown) => {
        params.push(v);
        return `$${params.length}`;
      };
      for (const [k, raw] of Object.entries(q.filters)) {
        const c = byId.get(k);
        if (!c) throw badRequest(`Unknown parameter ${k}; filter on one of: ${version.columns.map((x) => x.id).join(", ")}.`);
        const cv = convert(raw, c.type);
        if (cv !== null && typeof cv === "object") throw badRequest(`${k}: "${raw.slice(0, 60)}" ${cv.error}.`);
        const pgType = { text: "text", int8: "bigint", numeric: "numeric", bool: "boolean", date: "date", timestamp: "timestamptz" }[c.type];
        where.push(cv === null ? `${c.col} IS NULL` : `${c.col} = ${add(cv)}::${pgType}`);
      }
      if (q.bbox) {
        const [minx, miny, maxx, maxy] = q.bbox;
        where.push(`_maxx >= ${add(minx)} AND _minx <= ${add(maxx)} AND _maxy >= ${add(miny)} AND _miny <= ${add(maxy)}`);
      }
      if (q.featureId !== undefined) {
        if (!/^\d{1,15}$/.test(q.featureId)) return { features: [], matched: 0, version };
        where.push(`_id = ${add(Number(q.featureId))}`);
      }
      const r = await ds.search(version.id, {
        select: version.columns,
        where,
        params,
        order: "_id",
        limit: q.limit,
        offset: q.offset,
        total: true,
        geometry: true,
      });
      const features = r.rows.map((row) => ({
        type: "Feature" as const,
        id: Number(row._id),
        geometry: (row._geom ?? null) as never,
        properties: Object.fromEntries(version.columns.map((c) => [c.id, row[c.col] instanceof Date ? (row[c.col] as Date).toISOString() : row[c.col]])),
      }));
      return { features, matched: r.total ?? version.rows_loaded, version };
    },

    geoCollections: () => store.geoResources(),

    async *exportRows(version: VersionRow) {
      yield* ds.scan(version.id, version.columns, version.geometry);
    },
  };
}

/** The metadata fields package_update resets when a request leaves them out. */
function blank(d: DatasetRow): Partial<DatasetRow> {
  return {
    title: d.name,
    title_en: "",
    notes: "",
    notes_en: "",
    license_id: "cc-by-4.0",
    private: false,
    frequency: null,
    temporal_start: null,
    temporal_end: null,
    spatial: null,
    contact_name: null,
    contact_email: null,
    version: null,
    url: null,
    tags: [],
    groups: [],
    extras: {},
    state: d.state,
  };
}

export type CatalogService = ReturnType<typeof catalogService>;
