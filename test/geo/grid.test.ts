// The grid index behind point → commune must answer exactly what the exact test answers.
import { readFileSync } from "node:fs";
import { booleanPointInPolygon, bbox } from "@turf/turf";
import type { FeatureCollection, MultiPolygon, Polygon } from "geojson";
import { describe, expect, it } from "vitest";
import { packBoundary, polygonGrid, unpackBoundary } from "../../src/geo/grid.ts";

const communes = JSON.parse(readFileSync(new URL("../../data/admin/82-communes-2025.geojson", import.meta.url), "utf8")) as FeatureCollection<
  Polygon | MultiPolygon
>;

describe("polygon grid", () => {
  it("agrees with the exact point-in-polygon test everywhere, boundaries included", () => {
    // A deterministic pseudo-random sequence, so a failure can be replayed.
    let seed = 82;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let inside = 0;
    for (const f of communes.features.slice(0, 40)) {
      const box = bbox(f);
      const grid = polygonGrid(packBoundary(f.geometry), box, 64);
      // Random points in (and a little beyond) the bounding box, plus the boundary's own vertices.
      const ring = f.geometry.type === "Polygon" ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
      const points: Array<[number, number]> = ring.filter((_, i) => i % 25 === 0).map(([x, y]) => [x, y]);
      for (let i = 0; i < 400; i++) {
        const dx = (box[2] - box[0]) * 1.1;
        const dy = (box[3] - box[1]) * 1.1;
        points.push([box[0] - dx * 0.05 + rand() * dx, box[1] - dy * 0.05 + rand() * dy]);
      }
      for (const [x, y] of points) {
        const exact = booleanPointInPolygon([x, y], f.geometry);
        if (exact) inside++;
        expect(grid.contains(x, y), `${f.properties?.code} at ${x},${y}`).toBe(exact);
      }
    }
    expect(inside).toBeGreaterThan(1000);
  });

  it("gives every commune's boundary back exactly as the data file has it", () => {
    for (const f of communes.features) expect(unpackBoundary(packBoundary(f.geometry)), String(f.properties?.code)).toEqual(f.geometry);
    const multi: MultiPolygon = {
      type: "MultiPolygon",
      coordinates: [
        [
          [
            [0, 0],
            [4, 0],
            [4, 4],
            [0, 0],
          ],
          [
            [1, 1],
            [2, 1],
            [2, 2],
            [1, 1],
          ],
        ],
        [
          [
            [10, 10],
            [11, 10],
            [11, 11],
            [10, 10],
          ],
        ],
      ],
    };
    expect(unpackBoundary(packBoundary(multi))).toEqual(multi);
    const grid = polygonGrid(packBoundary(multi), [0, 0, 11, 11], 8);
    expect([grid.contains(3, 1), grid.contains(1.5, 1.2), grid.contains(10.8, 10.5), grid.contains(7, 7)]).toEqual([true, false, true, false]);
  });
});
