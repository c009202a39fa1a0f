// SQL of administrative units.
import type { Geometry } from "geojson";
import type { Db } from "../core/db.ts";

export interface UnitRow {
  code: string;
  parent_code: string | null;
  level: "province" | "commune";
  name: string;
  name_en: string;
  full_name: string;
  full_name_en: string;
  unit_type: string;
  unit_type_en: string;
  code_name: string;
  area_km2: number | null;
  bbox: number[] | null;
  boundary?: Geometry | null;
}

export type NewUnit = Omit<UnitRow, "boundary"> & { boundary: Geometry | null; search: string };

const COLUMNS = "code, parent_code, level, name, name_en, full_name, full_name_en, unit_type, unit_type_en, code_name, area_km2, bbox";

export function geoStore(db: Db) {
  return {
    count: async () => Number((await db.one<{ n: number }>("SELECT count(*)::int AS n FROM geo.units"))?.n ?? 0),

    async insertMany(units: NewUnit[]): Promise<void> {
      // Multi-row inserts in chunks: one round trip per 200 units.
      for (let i = 0; i < units.length; i += 200) {
        const chunk = units.slice(i, i + 200);
        const params: unknown[] = [];
        const values = chunk.map((u) => {
          const row = [
            u.code,
            u.parent_code,
            u.level,
            u.name,
            u.name_en,
            u.full_name,
            u.full_name_en,
            u.unit_type,
            u.unit_type_en,
            u.code_name,
            u.area_km2,
            u.bbox,
            u.boundary ? JSON.stringify(u.boundary) : null,
            u.search,
          ];
          const start = params.length;
          params.push(...row);
          return `(${row.map((_, j) => `$${start + j + 1}`).join(",")})`;
        });
        await db.query(
          `INSERT INTO geo.units (${COLUMNS}, boundary, search) VALUES ${values.join(",")}
           ON CONFLICT (code) DO UPDATE SET parent_code = EXCLUDED.parent_code, level = EXCLUDED.level, name = EXCLUDED.name,
             name_en = EXCLUDED.name_en, full_name = EXCLUDED.full_name, full_name_en = EXCLUDED.full_name_en,
             unit_type = EXCLUDED.unit_type, unit_type_en = EXCLUDED.unit_type_en, code_name = EXCLUDED.code_name,
             area_km2 = EXCLUDED.area_km2, bbox = COALESCE(EXCLUDED.bbox, geo.units.bbox),
             boundary = COALESCE(EXCLUDED.boundary, geo.units.boundary), search = EXCLUDED.search, updated_at = now()`,
          params,
        );
      }
    },

    list: (f: { parent?: string; level?: string; search?: string; limit: number; offset: number }) =>
      db.query<UnitRow>(
        `SELECT ${COLUMNS} FROM geo.units
         WHERE ($1::text IS NULL OR parent_code = $1) AND ($2::text IS NULL OR level = $2) AND ($3::text IS NULL OR search LIKE $3)
         ORDER BY code LIMIT $4 OFFSET $5`,
        [f.parent ?? null, f.level ?? null, f.search ? `%${f.search.replace(/[%_\\]/g, "\\$&")}%` : null, f.limit, f.offset],
      ),

    get: (code: string) => db.one<UnitRow>(`SELECT ${COLUMNS}, boundary FROM geo.units WHERE code = $1`, [code]),

    /** Units with a boundary under a parent (the communes the locator indexes). */
    withBoundaries: (parent: string) =>
      db.query<UnitRow>(`SELECT ${COLUMNS}, boundary FROM geo.units WHERE parent_code = $1 AND boundary IS NOT NULL ORDER BY code`, [parent]),
  };
}
