// SQL of the catalog: groups, datasets (with their search document), resources and versions.
import type { Db } from "../core/db.ts";
import type { Column } from "./ingest.ts";

export interface GroupRow {
  id: string;
  name: string;
  title: string;
  title_en: string;
  description: string;
  description_en: string;
  created_at: Date;
}

export interface DatasetRow {
  id: string;
  name: string;
  title: string;
  title_en: string;
  notes: string;
  notes_en: string;
  owner_org: string;
  license_id: string;
  private: boolean;
  state: "draft" | "active" | "deleted";
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
  formats: string[];
  extras: Record<string, string>;
  created_by: string | null;
  created_at: Date;
  modified_at: Date;
}

export interface ResourceRow {
  id: string;
  dataset_id: string;
  position: number;
  name: string;
  name_en: string;
  description: string;
  format: string;
  kind: "upload" | "link" | "api" | "live";
  url: string | null;
  current_version: string | null;
  created_at: Date;
  modified_at: Date;
}

export interface VersionRow {
  id: string;
  resource_id: string;
  seq: number;
  filename: string;
  format: "CSV" | "XLSX" | "JSON" | "GEOJSON";
  encoding: string;
  size: number;
  sha256: string;
  status: "pending" | "loading" | "ready" | "failed";
  columns: Column[];
  geometry: boolean;
  bbox: number[] | null;
  rows_loaded: number;
  bytes_read: number;
  error: string | null;
  created_by: string | null;
  created_at: Date;
  loaded_at: Date | null;
}

export type DatasetInput = Omit<DatasetRow, "id" | "created_at" | "modified_at" | "formats" | "created_by">;

/** Who may see what: everyone sees public active datasets; members of these organisations see more. */
export interface Visibility {
  /** null: every organisation (administrators). */
  orgs: string[] | null;
  includePrivate: boolean;
  includeDrafts: boolean;
}

export interface SearchQuery {
  q?: string;
  orgs?: string[];
  groups?: string[];
  tags?: string[];
  formats?: string[];
  licenses?: string[];
  names?: string[];
  sort: string;
  rows: number;
  start: number;
  facets: Array<"organization" | "groups" | "tags" | "res_format" | "license_id">;
  facetLimit: number;
}

const FACET_COLUMN = {
  organization: "owner_org",
  groups: "unnest(groups)",
  tags: "unnest(tags)",
  res_format: "unnest(formats)",
  license_id: "license_id",
} as const;

// The search document: unaccented so "ngap lut" finds "ngập lụt" and "Dong Thap" "Đồng Tháp".
const TSV = `setweight(to_tsvector('simple', unaccent(coalesce($T.title,'') || ' ' || coalesce($T.title_en,'') || ' ' || $T.name)), 'A')
  || setweight(to_tsvector('simple', unaccent(array_to_string($T.tags, ' ') || ' ' || array_to_string($T.groups, ' '))), 'B')
  || setweight(to_tsvector('simple', unaccent(coalesce($T.notes,'') || ' ' || coalesce($T.notes_en,'') || ' ' || coalesce($T.owner_org,''))), 'C')`;

/** A dataset's columns in the order insertDataset ($1…$20) and updateDataset ($2…$21) list them. */
function datasetValues(d: DatasetInput): unknown[] {
  return [
    d.name,
    d.title,
    d.title_en,
    d.notes,
    d.notes_en,
    d.owner_org,
    d.license_id,
    d.private,
    d.state,
    d.frequency,
    d.temporal_start,
    d.temporal_end,
    d.spatial,
    d.contact_name,
    d.contact_email,
    d.version,
    d.url,
    d.tags,
    d.groups,
    JSON.stringify(d.extras),
  ];
}

export function catalogStore(db: Db) {
  const refreshTsv = (id: string) => db.query(`UPDATE catalog.datasets d SET tsv = ${TSV.replace(/\$T/g, "d")} WHERE id = $1`, [id]);

  /** WHERE clauses for the visibility and filters of a search; params are appended to `p`. */
  function conditions(v: Visibility, s: Partial<SearchQuery>, p: unknown[]): string[] {
    const add = (x: unknown) => {
      p.push(x);
      return `$${p.length}`;
    };
    const w: string[] = [];
    // The organisation parameter is added only when a clause uses it.
    let orgParam: string | undefined;
    const orgOk = () => {
      if (v.orgs === null) return "true";
      orgParam ??= add(v.orgs);
      return `d.owner_org = ANY(${orgParam}::text[])`;
    };
    const states = [`(d.state = 'active' AND (NOT d.private${v.includePrivate ? ` OR ${orgOk()}` : ""}))`];
    if (v.includeDrafts) states.push(`(d.state = 'draft' AND ${orgOk()})`);
    w.push(`(${states.join(" OR ")})`);
    if (s.orgs?.length) w.push(`d.owner_org = ANY(${add(s.orgs)}::text[])`);
    if (s.groups?.length) w.push(`d.groups && ${add(s.groups)}::text[]`);
    if (s.tags?.length) w.push(`d.tags @> ${add(s.tags)}::text[]`);
    if (s.formats?.length) w.push(`d.formats && ${add(s.formats.map((f) => f.toUpperCase()))}::text[]`);
    if (s.licenses?.length) w.push(`d.license_id = ANY(${add(s.licenses)}::text[])`);
    if (s.names?.length) w.push(`d.name = ANY(${add(s.names)}::text[])`);
    if (s.q) w.push(`d.tsv @@ (SELECT tq FROM query)`);
    return w;
  }

  const queryCte = (p: unknown[], q: string | undefined) => {
    if (!q) return "";
    p.push(q);
    // Each word matches as a prefix; words come from the unaccented query, letters and digits only.
    return `WITH query AS (SELECT coalesce(to_tsquery('simple', (SELECT string_agg(w || ':*', ' & ') FROM regexp_split_to_table(lower(unaccent($${p.length})), '[^[:alnum:]]+') AS w WHERE w <> '')), ''::tsquery) AS tq) `;
  };

  return {
    // ---------- groups
    listGroups: () => db.query<GroupRow>("SELECT * FROM catalog.groups ORDER BY name"),
    getGroup: (idOrName: string) => db.one<GroupRow>("SELECT * FROM catalog.groups WHERE name = $1 OR id::text = $1", [idOrName]),
    upsertGroup: (g: Pick<GroupRow, "name" | "title" | "title_en" | "description" | "description_en">) =>
      db.one<GroupRow>(
        `INSERT INTO catalog.groups (name, title, title_en, description, description_en) VALUES ($1,$2,$3,$4,$5)
         ON CONFLICT (name) DO UPDATE SET title = EXCLUDED.title, title_en = EXCLUDED.title_en RETURNING *`,
        [g.name, g.title, g.title_en, g.description, g.description_en],
      ),
    groupCounts: (v: Visibility) => {
      const p: unknown[] = [];
      const w = conditions(v, {}, p);
      return db.query<{ name: string; n: number }>(
        `SELECT unnest(groups) AS name, count(*)::int AS n FROM catalog.datasets d WHERE ${w.join(" AND ")} GROUP BY 1`,
        p,
      );
    },
    orgCounts: (v: Visibility) => {
      const p: unknown[] = [];
      const w = conditions(v, {}, p);
      return db.query<{ name: string; n: number }>(
        `SELECT owner_org AS name, count(*)::int AS n FROM catalog.datasets d WHERE ${w.join(" AND ")} GROUP BY 1`,
        p,
      );
    },

    // ---------- datasets
    async insertDataset(d: DatasetInput, createdBy: string | null): Promise<DatasetRow> {
      const row = await db.one<DatasetRow>(
        `INSERT INTO catalog.datasets (name, title, title_en, notes, notes_en, owner_org, license_id, private, state, frequency, temporal_start, temporal_end,
           spatial, contact_name, contact_email, version, url, tags, groups, extras, created_by)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21) RETURNING *`,
        [...datasetValues(d), createdBy],
      );
      if (!row) throw new Error("dataset insert returned nothing");
      await refreshTsv(row.id);
      return row;
    },
    async updateDataset(id: string, d: DatasetInput): Promise<DatasetRow> {
      const row = await db.one<DatasetRow>(
        `UPDATE catalog.datasets SET name=$2, title=$3, title_en=$4, notes=$5, notes_en=$6, owner_org=$7, license_id=$8, private=$9, state=$10,
           frequency=$11, temporal_start=$12, temporal_end=$13, spatial=$14, contact_name=$15, contact_email=$16, version=$17, url=$18, tags=$19,
           groups=$20, extras=$21, modified_at=now() WHERE id=$1 RETURNING *`,
        [id, ...datasetValues(d)],
      );
      if (!row) throw new Error("dataset vanished");
      await refreshTsv(id);
      return row;
    },
    touchDataset: (id: string) =>
      db.query(
        `UPDATE catalog.datasets SET modified_at = now(),
           formats = coalesce((SELECT array_agg(DISTINCT upper(format)) FROM catalog.resources WHERE dataset_id = $1 AND format <> ''), '{}')
         WHERE id = $1`,
        [id],
      ),
    getDataset: (idOrName: string) =>
      db.one<DatasetRow>("SELECT * FROM catalog.datasets WHERE (name = $1 OR id::text = $1) AND state <> 'deleted'", [idOrName.toLowerCase()]),
    nameTaken: async (name: string, except?: string) =>
      !!(await db.one("SELECT 1 FROM catalog.datasets WHERE name = $1 AND id::text <> coalesce($2, '')", [name, except ?? null])),
    listNames: (v: Visibility, limit: number, offset: number) => {
      const p: unknown[] = [];
      const w = conditions(v, {}, p);
      return db.query<{ name: string }>(`SELECT name FROM catalog.datasets d WHERE ${w.join(" AND ")} ORDER BY name LIMIT ${limit} OFFSET ${offset}`, p);
    },
    listTags: async (v: Visibility, q?: string) => {
      const p: unknown[] = [];
      const w = conditions(v, {}, p);
      if (q) {
        p.push(`%${q.replace(/[%_\\]/g, "\\$&")}%`);
        w.push(`unaccent(t) ILIKE unaccent($${p.length})`);
      }
      return (
        await db.query<{ t: string }>(`SELECT DISTINCT t FROM catalog.datasets d, unnest(d.tags) AS t WHERE ${w.join(" AND ")} ORDER BY t LIMIT 1000`, p)
      ).map((r) => r.t);
    },

    async search(
      v: Visibility,
      s: SearchQuery,
    ): Promise<{ count: number; rows: DatasetRow[]; facets: Record<string, Array<{ name: string; count: number }>> }> {
      const p: unknown[] = [];
      const cte = queryCte(p, s.q);
      const w = conditions(v, s, p).join(" AND ");
      const rank = s.q ? "ts_rank(d.tsv, (SELECT tq FROM query))" : "0::real";
      const order = s.sort.replace(/\bscore\b/g, rank);
      const rows = await db.query<DatasetRow & { total: number }>(
        `${cte}SELECT d.*, count(*) OVER ()::int AS total FROM catalog.datasets d WHERE ${w} ORDER BY ${order}, d.id LIMIT ${s.rows} OFFSET ${s.start}`,
        p,
      );
      let count = rows[0]?.total ?? 0;
      if (!rows.length) count = Number((await db.one<{ n: number }>(`${cte}SELECT count(*)::int AS n FROM catalog.datasets d WHERE ${w}`, p))?.n ?? 0);
      const facets: Record<string, Array<{ name: string; count: number }>> = Object.fromEntries(s.facets.map((f) => [f, []]));
      if (s.facets.length) {
        // Every facet in one statement over the matching datasets.
        const m = cte ? cte.replace(/^WITH /, "WITH ").replace(/\) $/, "), ") : "WITH ";
        const parts = s.facets.map(
          (f) => `SELECT '${f}' AS facet, ${FACET_COLUMN[f].replace(/\b(groups|tags|formats|owner_org|license_id)\b/, "m.$1")} AS name FROM m`,
        );
        const r = await db.query<{ facet: string; name: string; count: number }>(
          `${m}m AS (SELECT d.owner_org, d.groups, d.tags, d.formats, d.license_id FROM catalog.datasets d WHERE ${w}),
           f AS (SELECT facet, name, count(*)::int AS count FROM (${parts.join(" UNION ALL ")}) x GROUP BY facet, name),
           ranked AS (SELECT *, row_number() OVER (PARTITION BY facet ORDER BY count DESC, name) AS n FROM f)
           SELECT facet, name, count FROM ranked WHERE n <= ${s.facetLimit} ORDER BY facet, n`,
          p,
        );
        for (const row of r) facets[row.facet]?.push({ name: row.name, count: row.count });
      }
      return { count, rows, facets };
    },

    // ---------- resources
    resourcesOf: (datasetIds: string[]) =>
      db.query<ResourceRow>("SELECT * FROM catalog.resources WHERE dataset_id = ANY($1::uuid[]) ORDER BY dataset_id, position, created_at", [datasetIds]),
    getResource: (id: string) => db.one<ResourceRow>("SELECT * FROM catalog.resources WHERE id::text = $1", [id]),
    insertResource: (r: Omit<ResourceRow, "id" | "created_at" | "modified_at" | "current_version" | "position">) =>
      db.one<ResourceRow>(
        `INSERT INTO catalog.resources (dataset_id, position, name, name_en, description, format, kind, url)
         VALUES ($1, (SELECT coalesce(max(position) + 1, 0) FROM catalog.resources WHERE dataset_id = $1), $2, $3, $4, $5, $6, $7) RETURNING *`,
        [r.dataset_id, r.name, r.name_en, r.description, r.format, r.kind, r.url],
      ) as Promise<ResourceRow>,
    updateResource: (id: string, r: Pick<ResourceRow, "name" | "name_en" | "description" | "format" | "url">) =>
      db.one<ResourceRow>("UPDATE catalog.resources SET name=$2, name_en=$3, description=$4, format=$5, url=$6, modified_at=now() WHERE id=$1 RETURNING *", [
        id,
        r.name,
        r.name_en,
        r.description,
        r.format,
        r.url,
      ]) as Promise<ResourceRow>,
    setCurrentVersion: (id: string, versionId: string, format: string) =>
      db.query("UPDATE catalog.resources SET current_version = $2, format = $3, modified_at = now() WHERE id = $1", [id, versionId, format]),
    deleteResource: (id: string) => db.query("DELETE FROM catalog.resources WHERE id = $1", [id]),
    /** Resources whose current version has a geometry, with their dataset (for OGC collections). */
    geoResources: () =>
      db.query<{
        dataset: string;
        dataset_id: string;
        title: string;
        notes: string;
        resource_id: string;
        version_id: string;
        bbox: number[] | null;
        rows_loaded: number;
      }>(
        `SELECT DISTINCT ON (d.id) d.name AS dataset, d.id AS dataset_id, d.title, d.notes, r.id AS resource_id, v.id AS version_id, v.bbox, v.rows_loaded
         FROM catalog.datasets d JOIN catalog.resources r ON r.dataset_id = d.id JOIN catalog.versions v ON v.id = r.current_version
         WHERE d.state = 'active' AND NOT d.private AND v.geometry AND v.status = 'ready' ORDER BY d.id, r.position`,
      ),
    publicResourceIds: async () =>
      (
        await db.query<{ id: string }>(
          "SELECT r.id FROM catalog.resources r JOIN catalog.datasets d ON d.id = r.dataset_id WHERE d.state = 'active' AND NOT d.private AND r.current_version IS NOT NULL",
        )
      ).map((r) => r.id),

    // ---------- versions
    insertVersion: (v: Pick<VersionRow, "resource_id" | "filename" | "format" | "encoding" | "size" | "sha256" | "columns" | "geometry" | "created_by">) =>
      db.one<VersionRow>(
        `INSERT INTO catalog.versions (resource_id, seq, filename, format, encoding, size, sha256, status, columns, geometry, created_by)
         VALUES ($1, (SELECT coalesce(max(seq), 0) + 1 FROM catalog.versions WHERE resource_id = $1), $2, $3, $4, $5, $6, 'pending', $7, $8, $9) RETURNING *`,
        [v.resource_id, v.filename, v.format, v.encoding, v.size, v.sha256, JSON.stringify(v.columns), v.geometry, v.created_by],
      ) as Promise<VersionRow>,
    getVersion: (id: string) => db.one<VersionRow>("SELECT * FROM catalog.versions WHERE id::text = $1", [id]),
    getVersions: (ids: string[]) => db.query<VersionRow>("SELECT * FROM catalog.versions WHERE id = ANY($1::uuid[])", [ids]),
    versionsOf: (resourceId: string) => db.query<VersionRow>("SELECT * FROM catalog.versions WHERE resource_id = $1 ORDER BY seq DESC", [resourceId]),
    startLoading: (id: string, columns: Column[]) =>
      db.one<VersionRow>(
        "UPDATE catalog.versions SET status = 'loading', columns = $2, error = NULL, rows_loaded = 0, bytes_read = 0 WHERE id = $1 AND status IN ('pending', 'failed') RETURNING *",
        [id, JSON.stringify(columns)],
      ),
    progress: (id: string, rows: number, bytes: number) =>
      db.query("UPDATE catalog.versions SET rows_loaded = $2, bytes_read = $3 WHERE id = $1", [id, rows, bytes]),
    finishVersion: (id: string, rows: number, bytes: number, bbox: number[] | null) =>
      db.one<VersionRow>(
        "UPDATE catalog.versions SET status = 'ready', rows_loaded = $2, bytes_read = $3, bbox = $4, loaded_at = now(), error = NULL WHERE id = $1 RETURNING *",
        [id, rows, bytes, bbox],
      ) as Promise<VersionRow>,
    failVersion: (id: string, error: string) =>
      db.query("UPDATE catalog.versions SET status = 'failed', error = $2, rows_loaded = 0 WHERE id = $1", [id, error.slice(0, 2000)]),
  };
}

export type CatalogStore = ReturnType<typeof catalogStore>;
