// A coarse grid over one polygon that answers most point-in-polygon questions without walking the
// boundary: cells crossed by an edge are "mixed" and fall back to the exact test; every other cell
// lies wholly inside or outside, decided once from its centre. Commune boundaries have thousands of
// vertices, so this turns point → commune from a boundary walk into an array lookup. In a mixed
// cell, the exact test (even–odd ray casting) needs only the edges spanning the point's latitude,
// which all lie in the cell's row: each row keeps its edges, a few dozen instead of thousands.
import type { MultiPolygon, Polygon } from "geojson";

const OUTSIDE = 0;
const INSIDE = 1;
const MIXED = 2;

export interface PolygonGrid {
  contains(lon: number, lat: number): boolean;
}

export function polygonGrid(geometry: Polygon | MultiPolygon, bbox: number[], size = 64): PolygonGrid {
  const [minX, minY, maxX, maxY] = bbox;
  const w = (maxX - minX) / size || 1e-9;
  const h = (maxY - minY) / size || 1e-9;
  const cells = new Uint8Array(size * size);
  const col = (x: number) => Math.min(size - 1, Math.max(0, Math.floor((x - minX) / w)));
  const row = (y: number) => Math.min(size - 1, Math.max(0, Math.floor((y - minY) / h)));

  // Mark every cell an edge's bounding box touches as mixed (conservative, never wrong), and file
  // the edge under every row its latitudes span.
  const rowEdges: number[][] = Array.from({ length: size }, () => []);
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  for (const rings of polygons)
    for (const ring of rings)
      for (let i = 1; i < ring.length; i++) {
        const [x1, y1] = ring[i - 1];
        const [x2, y2] = ring[i];
        for (let r = row(Math.min(y1, y2)); r <= row(Math.max(y1, y2)); r++) {
          rowEdges[r].push(x1, y1, x2, y2);
          for (let c = col(Math.min(x1, x2)); c <= col(Math.max(x1, x2)); c++) cells[r * size + c] = MIXED;
        }
      }
  const rows = rowEdges.map((e) => Float64Array.from(e));

  /** Even–odd ray casting over the row's edges; a point on the boundary counts as inside. */
  const exact = (lon: number, lat: number): boolean => {
    const e = rows[row(lat)];
    let inside = false;
    for (let i = 0; i < e.length; i += 4) {
      const x1 = e[i];
      const y1 = e[i + 1];
      const x2 = e[i + 2];
      const y2 = e[i + 3];
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
