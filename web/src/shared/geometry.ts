import type { Geometry, Position } from "geojson";

export type BBox = [number, number, number, number];

function visit(coords: unknown, box: BBox): void {
  if (Array.isArray(coords) && typeof coords[0] === "number") {
    const [x, y] = coords as Position;
    if (x < box[0]) box[0] = x;
    if (y < box[1]) box[1] = y;
    if (x > box[2]) box[2] = x;
    if (y > box[3]) box[3] = y;
  } else if (Array.isArray(coords)) {
    for (const c of coords) visit(c, box);
  }
}

/** The [minLon, minLat, maxLon, maxLat] box of geometries, or null when they are empty. */
export function bboxOf(geometries: (Geometry | null | undefined)[]): BBox | null {
  const box: BBox = [Infinity, Infinity, -Infinity, -Infinity];
  for (const g of geometries) {
    if (!g) continue;
    if (g.type === "GeometryCollection") {
      const inner = bboxOf(g.geometries);
      if (inner) visit([inner.slice(0, 2), inner.slice(2)], box);
    } else visit(g.coordinates, box);
  }
  return Number.isFinite(box[0]) ? box : null;
}
