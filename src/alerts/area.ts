// Alert areas on the map: which communes an area (chosen communes, polygons, circles) touches,
// a commune's neighbours, and whether a point lies in an area. Commune boundaries come from geo;
// shapes are tested with turf after a bounding-box filter.
import { booleanIntersects } from "@turf/boolean-intersects";
import { booleanPointInPolygon } from "@turf/boolean-point-in-polygon";
import { circle as turfCircle } from "@turf/circle";
import { distance } from "@turf/distance";
import { point, polygon as turfPolygon } from "@turf/helpers";
import type { Feature, MultiPolygon, Polygon } from "geojson";
import type { LatLon } from "./cap.ts";

export interface CommuneShape {
  code: string;
  name: string;
  nameEn: string;
  bbox: [number, number, number, number];
  /** The boundary, built anew at each call (geo keeps it packed). */
  geometry(): Polygon | MultiPolygon;
}

export interface AreaInput {
  communes: string[];
  polygons: LatLon[][];
  circles: Array<{ lat: number; lon: number; radiusKm: number }>;
}

const boxesTouch = (a: number[], b: number[]) => a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];

/** A CAP polygon ([lat, lon] points) as a GeoJSON polygon. */
export function toGeoPolygon(pts: LatLon[]): Feature<Polygon> {
  return turfPolygon([pts.map(([lat, lon]) => [lon, lat])]);
}

export function toGeoCircle(c: { lat: number; lon: number; radiusKm: number }): Feature<Polygon> {
  return turfCircle([c.lon, c.lat], c.radiusKm, { steps: 48, units: "kilometers" });
}

const bboxOf = (f: Feature<Polygon>): number[] => {
  let [a, b, c, d] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const [x, y] of f.geometry.coordinates[0]) {
    a = Math.min(a, x);
    b = Math.min(b, y);
    c = Math.max(c, x);
    d = Math.max(d, y);
  }
  return [a, b, c, d];
};

export function areaIndex(load: () => CommuneShape[]) {
  let communes: CommuneShape[] | undefined;
  const neighbours = new Map<string, string[]>();
  const all = () => {
    communes ??= load();
    return communes;
  };

  /** Communes whose boundary meets a shape. */
  const touching = (shape: Feature<Polygon>): string[] => {
    const box = bboxOf(shape);
    return all()
      .filter((c) => boxesTouch(box, c.bbox) && booleanIntersects(shape, c.geometry()))
      .map((c) => c.code);
  };

  return {
    communes: all,
    byCode: (code: string) => all().find((c) => c.code === code),

    /** Every commune the area touches: those chosen plus those under a polygon or circle. */
    resolve(a: AreaInput): string[] {
      const out = new Set(a.communes);
      for (const p of a.polygons) for (const c of touching(toGeoPolygon(p))) out.add(c);
      for (const c of a.circles) for (const code of touching(toGeoCircle(c))) out.add(code);
      return [...out].sort();
    },

    /** Communes sharing a border with this one (computed once per commune). */
    neighboursOf(code: string): string[] {
      const hit = neighbours.get(code);
      if (hit) return hit;
      const me = all().find((c) => c.code === code);
      let list: string[] = [];
      if (me) {
        const mine = me.geometry();
        list = all()
          .filter((c) => c.code !== code && boxesTouch(me.bbox, c.bbox) && booleanIntersects(mine, c.geometry()))
          .map((c) => c.code);
      }
      neighbours.set(code, list);
      return list;
    },

    /** Communes within radiusKm of a point (their boundary, not their centre). */
    near(lat: number, lon: number, radiusKm: number): string[] {
      return touching(toGeoCircle({ lat, lon, radiusKm }));
    },

    /** Whether a point lies inside one of the area's shapes. */
    inShapes(a: Pick<AreaInput, "polygons" | "circles">, lat: number, lon: number): boolean {
      const pt = point([lon, lat]);
      if (a.circles.some((c) => distance(pt, point([c.lon, c.lat]), { units: "kilometers" }) <= c.radiusKm)) return true;
      return a.polygons.some((p) => booleanPointInPolygon(pt, toGeoPolygon(p)));
    },
  };
}

export type AreaIndex = ReturnType<typeof areaIndex>;
