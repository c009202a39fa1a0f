// Commune boundaries in memory, and point → commune without walking them.
//
// A boundary is kept packed: its vertices in one Float64Array (16 bytes a vertex, against ~64 as
// GeoJSON's nested arrays; the province's 161,000 vertices would otherwise hold ~10 MB for as long
// as Sen runs). Its GeoJSON is rebuilt when a caller asks for it.
//
// The grid: a coarse grid over one polygon answers most point-in-polygon questions without walking
// the boundary: cells crossed by an edge are "mixed" and fall back to the exact test; every other
// cell lies wholly inside or outside, decided once from its centre. Commune boundaries have
// thousands of vertices, so this turns point → commune from a boundary walk into an array lookup. In
// a mixed cell, the exact test (even–odd ray casting) needs only the edges spanning the point's
// latitude, which all lie in the cell's row: each row keeps its edges (by their first vertex), a few
// dozen instead of thousands.
import type { MultiPolygon, Polygon } from "geojson";

export interface PackedBoundary {
  type: "Polygon" | "MultiPolygon";
  /** x0, y0, x1, y1, … of every ring, one after another. */
  coords: Float64Array;
  /** Where each ring ends, in vertices (exclusive). */
  ringEnds: Uint32Array;
  /** Where each polygon ends, in rings (exclusive). */
  polygonEnds: Uint32Array;
}

/** Pack a (two-dimensional) Polygon or MultiPolygon; a third coordinate is not kept. */
export function packBoundary(geometry: Polygon | MultiPolygon): PackedBoundary {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  let vertices = 0;
  let rings = 0;
  for (const p of polygons) {
    rings += p.length;
    for (const ring of p) vertices += ring.length;
  }
  const coords = new Float64Array(vertices * 2);
  const ringEnds = new Uint32Array(rings);
  const polygonEnds = new Uint32Array(polygons.length);
  let v = 0;
  let r = 0;
  polygons.forEach((p, i) => {
    for (const ring of p) {
      for (const [x, y] of ring) {
        coords[v * 2] = x;
        coords[v * 2 + 1] = y;
        v++;
      }
      ringEnds[r++] = v;
    }
    polygonEnds[i] = r;
  });
  return { type: geometry.type, coords, ringEnds, polygonEnds };
}

/** The boundary as GeoJSON again, built anew at each call. */
export function unpackBoundary(b: PackedBoundary): Polygon | MultiPolygon {
  const polygons: number[][][][] = [];
  let v = 0;
  let r = 0;
  for (const polygonEnd of b.polygonEnds) {
    const rings: number[][][] = [];
    for (; r < polygonEnd; r++) {
      const ring: number[][] = [];
      for (; v < b.ringEnds[r]; v++) ring.push([b.coords[v * 2], b.coords[v * 2 + 1]]);
      rings.push(ring);
    }
    polygons.push(rings);
  }
  return b.type === "Polygon" ? { type: "Polygon", coordinates: polygons[0] } : { type: "MultiPolygon", coordinates: polygons };
}

const OUTSIDE = 0;
const INSIDE = 1;
const MIXED = 2;

export interface PolygonGrid {
  contains(lon: number, lat: number): boolean;
}

export function polygonGrid(boundary: PackedBoundary, bbox: number[], size = 64): PolygonGrid {
  const [minX, minY, maxX, maxY] = bbox;
  const xy = boundary.coords;
  const w = (maxX - minX) / size || 1e-9;
  const h = (maxY - minY) / size || 1e-9;
  const cells = new Uint8Array(size * size);
  const col = (x: number) => Math.min(size - 1, Math.max(0, Math.floor((x - minX) / w)));
  const row = (y: number) => Math.min(size - 1, Math.max(0, Math.floor((y - minY) / h)));

  // Mark every cell an edge's bounding box touches as mixed (conservative, never wrong), and file
  // the edge (the index of its first vertex; the second follows it) under every row its latitudes span.
  const rowEdges: number[][] = Array.from({ length: size }, () => []);
  let start = 0;
  for (const end of boundary.ringEnds) {
    for (let i = start + 1; i < end; i++) {
      const x1 = xy[(i - 1) * 2];
      const y1 = xy[(i - 1) * 2 + 1];
      const x2 = xy[i * 2];
      const y2 = xy[i * 2 + 1];
      for (let r = row(Math.min(y1, y2)); r <= row(Math.max(y1, y2)); r++) {
        rowEdges[r].push(i - 1);
        for (let c = col(Math.min(x1, x2)); c <= col(Math.max(x1, x2)); c++) cells[r * size + c] = MIXED;
      }
    }
    start = end;
  }
  const rows = rowEdges.map((e) => Uint32Array.from(e));

  /** Even–odd ray casting over the row's edges; a point on the boundary counts as inside. */
  const exact = (lon: number, lat: number): boolean => {
    const e = rows[row(lat)];
    let inside = false;
    for (let k = 0; k < e.length; k++) {
      const i = e[k] * 2;
      const x1 = xy[i];
      const y1 = xy[i + 1];
      const x2 = xy[i + 2];
      const y2 = xy[i + 3];
      // On the edge itself: collinear and within its extent.
      if (
        (x2 - x1) * (lat - y1) === (lon - x1) * (y2 - y1) &&
        lon >= Math.min(x1, x2) &&
        lon <= Math.max(x1, x2) &&
        lat >= Math.min(y1, y2) &&
        lat <= Math.max(y1, y2)
      )
        return true;
      if (y1 > lat !== y2 > lat && lon < ((x2 - x1) * (lat - y1)) / (y2 - y1) + x1) inside = !inside;
    }
    return inside;
  };
  // No edge crosses the other cells: their centre tells for the whole cell.
  for (let r = 0; r < size; r++)
    for (let c = 0; c < size; c++)
      if (cells[r * size + c] !== MIXED) cells[r * size + c] = exact(minX + (c + 0.5) * w, minY + (r + 0.5) * h) ? INSIDE : OUTSIDE;

  return {
    contains(lon, lat) {
      if (lon < minX || lon > maxX || lat < minY || lat > maxY) return false;
      const cell = cells[row(lat) * size + col(lon)];
      return cell === MIXED ? exact(lon, lat) : cell === INSIDE;
    },
  };
}
