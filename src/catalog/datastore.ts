// The datastore's SQL: one table per loaded version in the `datastore` schema, named from the
// version's uuid (`v_<hex>`), with physical columns c1…cN (the published field names live in
// catalog.versions.columns and, for SQL users, in a view per resource that renames the columns).
// Every identifier below is either generated here or passed through quoteIdent after validation.
import type { Db } from "../core/db.ts";
import type { Column, ColumnType } from "./ingest.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PHYSICAL = /^c[1-9]\d{0,3}$/;
export const SQL_READER_ROLE = "sen_datastore_reader";

const PG_TYPE: Record<ColumnType, string> = { text: "text", int8: "bigint", numeric: "numeric", bool: "boolean", date: "date", timestamp: "timestamptz" };

/** A double-quoted identifier; refuses anything PostgreSQL could not hold. */
export function quoteIdent(name: string): string {
  if (!name || name.length > 63 * 4 || name.includes("\u0000")) throw new Error(`invalid identifier: ${name}`);
  return `"${name.replace(/"/g, '""')}"`;
}

export function tableName(versionId: string): string {
  if (!UUID.test(versionId)) throw new Error(`invalid version id: ${versionId}`);
  return `datastore.v_${versionId.replace(/-/g, "")}`;
}

export function viewName(resourceId: string): string {
  if (!UUID.test(resourceId)) throw new Error(`invalid resource id: ${resourceId}`);
  return `datastore.${quoteIdent(resourceId)}`;
}

function col(c: Column): string {
  if (!PHYSICAL.test(c.col)) throw new Error(`invalid column: ${c.col}`);
  return c.col;
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/** One field in COPY text format: \N for null, backslash, tab and line breaks escaped. */
export function copyField(v: string | null): string {
  if (v === null) return "\\N";
  return COPY_SPECIAL.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]) : v;
}

export function datastoreStore(db: Db) {
  return {
    async createTable(versionId: string, columns: Column[], geometry: boolean): Promise<void> {
      const defs = columns.map((c) => `${col(c)} ${PG_TYPE[c.type]}`);
      if (geometry) defs.push("_geom jsonb", "_minx double precision", "_miny double precision", "_maxx double precision", "_maxy double precision");
      await db.query(`DROP TABLE IF EXISTS ${tableName(versionId)}`);
      await db.query(`CREATE TABLE ${tableName(versionId)} (_id bigint PRIMARY KEY, ${defs.join(", ")})`);
    },

    /** Indexes are built after the rows are in: faster than maintaining them row by row. */
    async createIndexes(versionId: string, columns: Column[], geometry: boolean): Promise<void> {
      const t = tableName(versionId);
      const short = `v_${versionId.replace(/-/g, "").slice(0, 20)}`;
      // (column, _id): a filter answers in _id order (datastore_search's default) from the index alone.
      for (const c of columns.filter((x) => x.index)) await db.query(`CREATE INDEX ${short}_${col(c)}_idx ON ${t} (${col(c)}, _id)`);
      if (geometry) await db.query(`CREATE INDEX ${short}_bbox_idx ON ${t} (_minx, _maxx, _miny, _maxy)`);
      // Statistics now, not when autovacuum gets to it (PGlite has none): the planner needs them.
      await db.query(`ANALYZE ${t}`);
    },

    async dropTable(versionId: string): Promise<void> {
      await db.query(`DROP TABLE IF EXISTS ${tableName(versionId)} CASCADE`);
    },

    /** The physical columns a COPY of the version's rows lists, in the order of copyField values. */
    copyColumns(columns: Column[], geometry: boolean): string[] {
      return ["_id", ...columns.map(col), ...(geometry ? ["_geom", "_minx", "_miny", "_maxx", "_maxy"] : [])];
    },

    /** Append a block of rows (COPY text format, fields in copyColumns order); PostgreSQL casts them. */
    async copy(versionId: string, columns: Column[], geometry: boolean, data: Buffer): Promise<void> {
      await db.copyFrom(tableName(versionId), this.copyColumns(columns, geometry), data);
    },

    async bbox(versionId: string): Promise<number[] | null> {
      const r = await db.one<{ a: number | null; b: number; c: number; d: number }>(
        `SELECT min(_minx) AS a, min(_miny) AS b, max(_maxx) AS c, max(_maxy) AS d FROM ${tableName(versionId)}`,
      );
      return r && r.a !== null ? [r.a, r.b, r.c, r.d] : null;
    },

    /** The SQL view of a resource's current version, with the published field names. */
    async replaceView(resourceId: string, versionId: string, columns: Column[], grant: boolean): Promise<void> {
      const v = viewName(resourceId);
      await db.query(`DROP VIEW IF EXISTS ${v}`);
      // numeric reads as float8 so JSON answers carry numbers, as datastore_search does.
      const cols = ["_id", ...columns.map((c) => `${col(c)}${c.type === "numeric" ? "::float8" : ""} AS ${quoteIdent(c.id)}`)];
      await db.query(`CREATE VIEW ${v} AS SELECT ${cols.join(", ")} FROM ${tableName(versionId)}`);
      if (grant && (await this.readerRoleExists())) await db.query(`GRANT SELECT ON ${v} TO ${SQL_READER_ROLE}`);
    },

    async dropView(resourceId: string): Promise<void> {
      await db.query(`DROP VIEW IF EXISTS ${viewName(resourceId)}`);
    },

    async setViewGrant(resourceId: string, grant: boolean): Promise<void> {
      if (!(await this.readerRoleExists())) return;
      const exists = await db.one("SELECT 1 FROM pg_views WHERE schemaname = 'datastore' AND viewname = $1", [resourceId]);
      if (!exists) return;
      await db.query(`${grant ? "GRANT" : "REVOKE"} SELECT ON ${viewName(resourceId)} ${grant ? "TO" : "FROM"} ${SQL_READER_ROLE}`);
    },

    async readerRoleExists(): Promise<boolean> {
      return !!(await db.one("SELECT 1 FROM pg_roles WHERE rolname = $1", [SQL_READER_ROLE]));
    },

    /** Create the role datastore_search_sql runs as: it may read granted views and nothing else. */
    async ensureReaderRole(publicResources: string[]): Promise<boolean> {
      try {
        if (!(await this.readerRoleExists())) await db.query(`CREATE ROLE ${SQL_READER_ROLE} NOLOGIN`);
        await db.query(`GRANT USAGE ON SCHEMA datastore TO ${SQL_READER_ROLE}`);
        // A server account that is not a superuser needs membership to SET ROLE to it.
        await db.query(`GRANT ${SQL_READER_ROLE} TO CURRENT_USER`).catch(() => undefined);
        // With a superuser session, set_config('role', …) would switch back: nobody else needs it.
        await db.query("REVOKE EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) FROM PUBLIC").catch(() => undefined);
        for (const r of publicResources) await this.setViewGrant(r, true);
        return true;
      } catch {
        return false;
      }
    },

    /** Rows of a table, in _id order, a page at a time (downloads stream through this). */
    async *scan(versionId: string, columns: Column[], geometry: boolean, pageSize = 5000): AsyncGenerator<Array<Record<string, unknown>>> {
      let after = 0;
      const sel = ["_id", ...columns.map((c) => selectExpr(c)), ...(geometry ? ["_geom"] : [])].join(", ");
      for (;;) {
        const rows = await db.query(`SELECT ${sel} FROM ${tableName(versionId)} WHERE _id > $1 ORDER BY _id LIMIT ${pageSize}`, [after]);
        if (!rows.length) return;
        after = Number(rows[rows.length - 1]._id);
        yield rows;
      }
    },

    async search(
      versionId: string,
      q: {
        select: Column[];
        where: string[];
        params: unknown[];
        order: string;
        limit: number;
        offset: number;
        total: boolean;
        geometry: boolean;
      },
    ): Promise<{ rows: Array<Record<string, unknown>>; total?: number }> {
      const t = tableName(versionId);
      const where = q.where.length ? `WHERE ${q.where.join(" AND ")}` : "";
      const sel = ["_id", ...q.select.map(selectExpr), ...(q.geometry ? ["_geom"] : [])].join(", ");
      const rows = await db.query(`SELECT ${sel} FROM ${t} ${where} ORDER BY ${q.order} LIMIT ${q.limit} OFFSET ${q.offset}`, q.params);
      let total: number | undefined;
      if (q.total) {
        if (!q.where.length) {
          // Unfiltered: the row count kept on the version is exact and free.
          total = undefined;
        } else total = Number((await db.one<{ n: number }>(`SELECT count(*)::bigint AS n FROM ${t} ${where}`, q.params))?.n ?? 0);
      }
      return { rows, total };
    },

    /** datastore_search_sql: one SELECT, read-only, as the reader role, with a timeout and a row cap. */
    async sql(sql: string, maxRows: number, timeoutMs: number): Promise<Array<Record<string, unknown>>> {
      return db.tx(async () => {
        await db.query("SET TRANSACTION READ ONLY");
        await db.query(`SET LOCAL statement_timeout = ${Math.floor(timeoutMs)}`);
        await db.query("SET LOCAL search_path = datastore");
        await db.query(`SET LOCAL ROLE ${SQL_READER_ROLE}`);
        // A parameter forces the extended protocol, which runs exactly one statement.
        return db.query(`SELECT * FROM (\n${sql}\n) AS q LIMIT $1`, [maxRows + 1]);
      });
    },
  };
}

/** How a column is read back: dates as text, numerics as numbers. */
function selectExpr(c: Column): string {
  const name = col(c);
  if (c.type === "date") return `${name}::text AS ${name}`;
  if (c.type === "numeric") return `${name}::float8 AS ${name}`;
  return name;
}

export type DatastoreStore = ReturnType<typeof datastoreStore>;
