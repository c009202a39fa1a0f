// Geo-queries (NGSI-LD clause 4.10): georel near/within/contains/intersects/equals/disjoint/
// overlaps on Point, LineString and Polygon. SQL narrows the candidates with a GiST index on the
// bounding box of each entity's location (cube); the exact test runs here with turf.
import turfBbox from "@turf/bbox";
import { booleanContains } from "@turf/boolean-contains";
import { booleanDisjoint } from "@turf/boolean-disjoint";
import { booleanEqual } from "@turf/boolean-equal";
import { booleanIntersects } from "@turf/boolean-intersects";
import { booleanOverlap } from "@turf/boolean-overlap";
import { booleanWithin } from "@turf/boolean-within";
import { distance } from "@turf/distance";
import { lineString, point as turfPoint, polygon as turfPolygon } from "@turf/helpers";
import { pointToLineDistance } from "@turf/point-to-line-distance";
import { pointToPolygonDistance } from "@turf/point-to-polygon-distance";
import type { Feature, Geometry, LineString, Point, Polygon } from "geojson";
import { badRequestData } from "./errors.ts";

export type GeoRel = "near" | "within" | "contains" | "intersects" | "equals" | "disjoint" | "overlaps";
export interface GeoQuery {
  georel: GeoRel;
  maxDistance?: number;
  minDistance?: number;
  geometry: Geometry;
  /** Attribute name as written (expanded by the caller). */
  geoproperty: string;
}
export type BBox = [number, number, number, number];

const GEOMETRY_TYPES = new Set(["Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"]);
const MAX_POSITIONS = 10_000;

function checkPosition(p: unknown, where: string): asserts p is number[] {
  if (!Array.isArray(p) || p.length < 2 || p.length > 3 || !p.every((x) => typeof x === "number" && Number.isFinite(x)))
    throw badRequestData(`${where}: a position is [longitude, latitude] with numbers.`);
  if (p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90) throw badRequestData(`${where}: longitude must be within ±180 and latitude within ±90.`);
}

/** Validate a GeoJSON geometry (the value of a GeoProperty or a query's geometry). */
export function checkGeometry(g: unknown, where: string): Geometry {
  if (!g || typeof g !== "object" || Array.isArray(g)) throw badRequestData(`${where}: a GeoJSON geometry object is expected.`);
  const { type, coordinates } = g as { type?: unknown; coordinates?: unknown };
  if (typeof type !== "string" || !GEOMETRY_TYPES.has(type)) throw badRequestData(`${where}: geometry type must be one of ${[...GEOMETRY_TYPES].join(", ")}.`);
  let count = 0;
  const positions = (c: unknown, depth: number) => {
    if (!Array.isArray(c)) throw badRequestData(`${where}: coordinates of a ${type} are nested arrays.`);
    if (depth === 0) {
      checkPosition(c, where);
      if (++count > MAX_POSITIONS) throw badRequestData(`${where}: at most ${MAX_POSITIONS} positions.`);
      return;
    }
    for (const x of c) positions(x, depth - 1);
  };
  const depth = { Point: 0, LineString: 1, MultiPoint: 1, Polygon: 2, MultiLineString: 2, MultiPolygon: 3 }[type] as number;
  positions(coordinates, depth);
  const c = coordinates as unknown[];
  if (type === "LineString" && c.length < 2) throw badRequestData(`${where}: a LineString needs at least 2 positions.`);
  if (type === "Polygon") {
    for (const ring of c as number[][][]) {
      if (ring.length < 4) throw badRequestData(`${where}: a Polygon ring needs at least 4 positions.`);
      const [a, z] = [ring[0], ring[ring.length - 1]];
      if (a[0] !== z[0] || a[1] !== z[1]) throw badRequestData(`${where}: a Polygon ring must end where it starts.`);
    }
    if (!c.length) throw badRequestData(`${where}: a Polygon needs a ring.`);
  }
  return { type, coordinates } as Geometry;
}

export function bboxOf(g: Geometry): BBox {
  return turfBbox(g) as BBox;
}

/** Parse georel/geometry/coordinates/geoproperty (query parameters or a geoQ object). */
export function parseGeoQuery(p: { georel?: unknown; geometry?: unknown; coordinates?: unknown; geoproperty?: unknown }): GeoQuery | undefined {
  if (p.georel === undefined && p.geometry === undefined && p.coordinates === undefined) return undefined;
  if (typeof p.georel !== "string" || typeof p.geometry !== "string" || p.coordinates === undefined)
    throw badRequestData("A geo-query needs georel, geometry and coordinates together.");
  const parts = p.georel.split(";");
  const rel = parts[0] as GeoRel;
  if (!["near", "within", "contains", "intersects", "equals", "disjoint", "overlaps"].includes(rel))
    throw badRequestData(`Unknown georel "${rel.slice(0, 50)}".`);
  const q: GeoQuery = { georel: rel, geometry: { type: "Point", coordinates: [0, 0] }, geoproperty: "location" };
  if (rel === "near") {
    for (const mod of parts.slice(1)) {
      const m = /^(maxDistance|minDistance)==(\d+(?:\.\d+)?)$/.exec(mod);
      if (!m) throw badRequestData(`near needs maxDistance==<metres> or minDistance==<metres>, got "${mod.slice(0, 50)}".`);
      q[m[1] as "maxDistance" | "minDistance"] = Number(m[2]);
    }
    if (q.maxDistance === undefined && q.minDistance === undefined) throw badRequestData("near needs maxDistance or minDistance.");
  } else if (parts.length > 1) throw badRequestData(`georel ${rel} takes no modifiers.`);
  let coords: unknown = p.coordinates;
  if (typeof coords === "string") {
    if (coords.length > 200_000) throw badRequestData("coordinates are too long.");
    try {
      coords = JSON.parse(coords);
    } catch {
      throw badRequestData("coordinates must be a JSON array such as [105.63,10.46].");
    }
  }
  q.geometry = checkGeometry({ type: p.geometry, coordinates: coords }, "geometry");
  if (!["Point", "LineString", "Polygon", "MultiPolygon"].includes(q.geometry.type)) throw badRequestData("Geo-queries take a Point, LineString or Polygon.");
  if (rel === "near" && q.geometry.type !== "Point") throw badRequestData("near needs a Point.");
  if (p.geoproperty !== undefined) {
    if (typeof p.geoproperty !== "string" || !/^[\w:#/.-]{1,256}$/.test(p.geoproperty)) throw badRequestData("geoproperty must be an attribute name.");
    q.geoproperty = p.geoproperty;
  }
  return q;
}

export type BoxTest = { box: BBox; op: "&&" | "@>" | "<@" } | undefined;

/** The bounding-box test that every match passes (none for disjoint and minDistance). */
export function prefilter(q: GeoQuery): BoxTest {
  const box = bboxOf(q.geometry);
  switch (q.georel) {
    case "near": {
      if (q.maxDistance === undefined) return undefined;
      const [lon, lat] = (q.geometry as Point).coordinates;
      // Degrees for the distance, a little generous (the exact test follows).
      const dLat = (q.maxDistance / 111_000) * 1.01;
      const dLon = dLat / Math.max(0.01, Math.cos((Math.min(89, Math.abs(lat) + dLat) * Math.PI) / 180));
      return { box: [lon - dLon, lat - dLat, lon + dLon, lat + dLat], op: "&&" };
    }
    case "within":
      return { box, op: "<@" };
    case "contains":
      return { box, op: "@>" };
    case "disjoint":
      return undefined;
    default:
      return { box, op: "&&" };
  }
}

const feature = (g: Geometry): Feature => ({ type: "Feature", properties: {}, geometry: g });

/** Distance in metres from a point to a geometry (0 inside a polygon or on a line). */
function distanceTo(point: Point, g: Geometry): number {
  const pt = turfPoint(point.coordinates);
  switch (g.type) {
    case "Point":
      return distance(pt, turfPoint(g.coordinates), { units: "meters" });
    case "LineString":
      return pointToLineDistance(pt, lineString(g.coordinates), { units: "meters" });
    case "Polygon":
      return Math.max(0, pointToPolygonDistance(pt, turfPolygon(g.coordinates), { units: "meters" }));
    case "MultiPoint":
      return Math.min(...g.coordinates.map((c) => distance(pt, turfPoint(c), { units: "meters" })));
    case "MultiLineString":
      return Math.min(...g.coordinates.map((c) => pointToLineDistance(pt, lineString(c), { units: "meters" })));
    case "MultiPolygon":
      return Math.min(...g.coordinates.map((c) => Math.max(0, pointToPolygonDistance(pt, turfPolygon(c), { units: "meters" }))));
    default:
      return Number.POSITIVE_INFINITY;
  }
}

/** The exact test of an entity geometry against the query. */
export function geoMatches(q: GeoQuery, g: Geometry): boolean {
  try {
    const a = feature(g);
    const b = feature(q.geometry);
    switch (q.georel) {
      case "near": {
        const d = distanceTo(q.geometry as Point, g);
        return (q.maxDistance === undefined || d <= q.maxDistance) && (q.minDistance === undefined || d >= q.minDistance);
      }
      case "within":
        return booleanWithin(a, b);
      case "contains":
        return booleanContains(a, b);
      case "intersects":
        return booleanIntersects(a, b);
      case "disjoint":
        return booleanDisjoint(a, b);
      case "equals":
        return booleanEqual(a, b);
      case "overlaps":
        return g.type === q.geometry.type && booleanOverlap(a as Feature<Polygon | LineString>, b as Feature<Polygon | LineString>);
    }
  } catch {
    // turf refuses some pairs (e.g. within for a MultiPolygon); they do not match.
    return false;
  }
  return false;
}
