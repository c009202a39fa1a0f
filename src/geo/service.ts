// The province's geography: administrative units, their boundaries, and point → commune lookup.
// Boundaries live in the database; the locator keeps an R-tree of the communes' bounding boxes in
// memory (rebuilt from the database at start and after a reload), so a lookup never queries.
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import turfBbox from "@turf/bbox";
import { bboxPolygon } from "@turf/bbox-polygon";
import { booleanIntersects } from "@turf/boolean-intersects";
import Flatbush from "flatbush";
import type { Feature, FeatureCollection, Geometry, MultiPolygon, Polygon } from "geojson";
import type { Db } from "../core/db.ts";
import { type PackedBoundary, type PolygonGrid, packBoundary, polygonGrid, unpackBoundary } from "./grid.ts";
import { notFound } from "../core/errors.ts";
import { type NewUnit, type UnitRow, geoStore } from "./store.ts";

export interface UnitDto {
  code: string;
  name: string;
  nameEn: string;
  fullName: string;
  fullNameEn: string;
  level: UnitRow["level"];
  unitType: string;
  unitTypeEn: string;
  parentCode: string | null;
  areaKm2: number | null;
  bbox: number[] | null;
}

export type BBox = [number, number, number, number];

/** Lower-case, accents removed (đ → d), for accent-insensitive search of Vietnamese names. */
export function fold(s: string): string {
  return s.normalize("NFD").replace(/\p{M}/gu, "").replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();
}

export const toUnitDto = (u: UnitRow): UnitDto => ({
  code: u.code,
  name: u.name,
  nameEn: u.name_en,
  fullName: u.full_name,
  fullNameEn: u.full_name_en,
  level: u.level,
  unitType: u.unit_type,
  unitTypeEn: u.unit_type_en,
  parentCode: u.parent_code,
  areaKm2: u.area_km2,
  bbox: u.bbox,
});

interface IndexedUnit {
  unit: UnitDto;
  boundary: PackedBoundary;
  grid: PolygonGrid;
}

/** A commune of the province with its boundary, built as GeoJSON when asked for. */
export interface CommuneBoundary {
  unit: UnitDto;
  geometry(): Polygon | MultiPolygon;
}

/** Vietnam's administrative-unit file (34 provinces, 3,321 communes after July 2025). */
interface SourceProvince {
  Code: string;
  Name: string;
  NameEn: string;
  FullName: string;
  FullNameEn: string;
  CodeName: string;
  AdministrativeUnitShortName: string;
  AdministrativeUnitShortNameEn: string;
  Wards: Array<Omit<SourceProvince, "Wards">>;
}

export function geoService({ db, dataDir, province }: { db: Db; dataDir: string; province: string }) {
  const store = geoStore(db);
  let index: { tree: Flatbush; items: IndexedUnit[] } | undefined;

  function sourceUnits(): SourceProvince[] {
    return JSON.parse(readFileSync(path.join(dataDir, "admin", "vn-admin-units-2025.json"), "utf8"));
  }

  function boundaries(file: string): Map<string, { geometry: Geometry; areaKm2?: number }> {
    const p = path.join(dataDir, "admin", file);
    const out = new Map<string, { geometry: Geometry; areaKm2?: number }>();
    if (!existsSync(p)) return out;
    const fc = JSON.parse(readFileSync(p, "utf8")) as FeatureCollection;
    for (const f of fc.features) {
      const code = String(f.properties?.code ?? f.id);
      out.set(code, { geometry: f.geometry, areaKm2: f.properties?.areaKm2 });
    }
    return out;
  }

  return {
    /** The configured province's code exists in the national list. */
    provinceExists: (code: string) => sourceUnits().some((p) => p.Code === code),

    /** Load all provinces and communes, with boundaries for the configured province. Idempotent. */
    async seed(): Promise<{ provinces: number; communes: number; boundaries: number }> {
      const all = sourceUnits();
      const provinceShapes = boundaries(`${province}-province-2025.geojson`);
      const communeShapes = boundaries(`${province}-communes-2025.geojson`);
      const units: NewUnit[] = [];
      const unit = (
        s: Omit<SourceProvince, "Wards">,
        level: UnitRow["level"],
        parent: string | null,
        shape?: { geometry: Geometry; areaKm2?: number },
      ): NewUnit => ({
        code: s.Code,
        parent_code: parent,
        level,
        name: s.Name,
        name_en: s.NameEn,
        full_name: s.FullName,
        full_name_en: s.FullNameEn,
        unit_type: s.AdministrativeUnitShortName,
        unit_type_en: s.AdministrativeUnitShortNameEn,
        code_name: s.CodeName,
        area_km2: shape?.areaKm2 ?? null,
        bbox: shape ? (turfBbox(shape.geometry) as number[]) : null,
        boundary: shape?.geometry ?? null,
        search: fold(`${s.FullName} ${s.Name} ${s.Code}`),
      });
      for (const p of all) units.push(unit(p, "province", null, provinceShapes.get(p.Code)));
      for (const p of all) for (const w of p.Wards) units.push(unit(w, "commune", p.Code, p.Code === province ? communeShapes.get(w.Code) : undefined));
      await db.tx(() => store.insertMany(units));
      index = undefined;
      return { provinces: all.length, communes: units.length - all.length, boundaries: units.filter((u) => u.boundary).length };
    },

    isSeeded: async () => (await store.count()) > 0,

    /** Build the in-memory locator from the database. */
    async loadIndex(): Promise<number> {
      const rows = await store.withBoundaries(province);
      const items: IndexedUnit[] = rows
        .filter((r) => r.boundary && (r.boundary.type === "Polygon" || r.boundary.type === "MultiPolygon") && r.bbox)
        .map((r) => {
          const boundary = packBoundary(r.boundary as Polygon | MultiPolygon);
          return { unit: toUnitDto(r), boundary, grid: polygonGrid(boundary, r.bbox as number[]) };
        });
      const tree = new Flatbush(Math.max(items.length, 1));
      for (const it of items) {
        const [a, b, c, d] = it.unit.bbox as number[];
        tree.add(a, b, c, d);
      }
      if (!items.length) tree.add(0, 0, 0, 0);
      tree.finish();
      index = { tree, items };
      return items.length;
    },

    async list(f: { parent?: string; level?: string; q?: string; limit: number; offset: number }): Promise<UnitDto[]> {
      return (await store.list({ parent: f.parent, level: f.level, search: f.q ? fold(f.q) : undefined, limit: f.limit, offset: f.offset })).map(toUnitDto);
    },

    async get(code: string): Promise<UnitDto & { boundary: Geometry | null }> {
      const row = /^\d{2,5}$/.test(code) ? await store.get(code) : undefined;
      if (!row) throw notFound(`No administrative unit with code ${code}.`);
      return { ...toUnitDto(row), boundary: row.boundary ?? null };
    },

    /** The commune containing a point, or undefined outside the province. */
    locate(lat: number, lon: number): UnitDto | undefined {
      if (!index) throw new Error("geo index not loaded");
      const { tree, items } = index;
      for (const i of tree.search(lon, lat, lon, lat)) {
        const it = items[i];
        if (it?.grid.contains(lon, lat)) return it.unit;
      }
      return undefined;
    },

    /** Communes with boundaries as GeoJSON features, filtered by bbox, paged (OGC API Features). */
    communeFeatures(f: { bbox?: BBox; limit: number; offset: number }): { features: Feature[]; matched: number } {
      if (!index) throw new Error("geo index not loaded");
      const { tree, items } = index;
      if (!f.bbox) return { matched: items.length, features: items.slice(f.offset, f.offset + f.limit).map((it) => unitFeature(it)) };
      // Each candidate's GeoJSON is built once: for the intersection test, then for the response.
      const box = bboxPolygon(f.bbox);
      const chosen: Feature[] = [];
      for (const i of tree.search(...f.bbox).sort((a, b) => a - b)) {
        const geometry = unpackBoundary(items[i].boundary);
        if (booleanIntersects(box, geometry)) chosen.push(unitFeature(items[i], geometry));
      }
      return { matched: chosen.length, features: chosen.slice(f.offset, f.offset + f.limit) };
    },

    /** Every commune with a boundary (for alert areas). */
    communes(): CommuneBoundary[] {
      if (!index) throw new Error("geo index not loaded");
      return index.items.map((it) => ({ unit: it.unit, geometry: () => unpackBoundary(it.boundary) }));
    },

    communeFeature(code: string): Feature | undefined {
      const it = index?.items.find((x) => x.unit.code === code);
      return it && unitFeature(it);
    },

    province,
  };
}

function unitFeature(it: IndexedUnit, geometry: Polygon | MultiPolygon = unpackBoundary(it.boundary)): Feature {
  const u = it.unit;
  return {
    type: "Feature",
    id: u.code,
    bbox: u.bbox ?? undefined,
    geometry,
    properties: {
      code: u.code,
      name: u.name,
      nameEn: u.nameEn,
      fullName: u.fullName,
      fullNameEn: u.fullNameEn,
      unitType: u.unitType,
      unitTypeEn: u.unitTypeEn,
      areaKm2: u.areaKm2,
    },
  } as Feature;
}

export type GeoService = ReturnType<typeof geoService>;
