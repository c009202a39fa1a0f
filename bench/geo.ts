// Geography: GET /api/geo/locate (point → commune) at points spread across the province.
import { readFileSync } from "node:fs";
import path from "node:path";
import { booleanPointInPolygon } from "@turf/turf";
import type { FeatureCollection, MultiPolygon, Polygon } from "geojson";
import { type Benchmark, ROOT, load } from "./lib.ts";
import { mulberry32 } from "../src/iot/simulator.ts";

const PROVINCE = "82"; // Đồng Tháp; Sen is started with SEN_PROVINCE=82
const POINTS = 200;
const SEED = 82;

export interface LocatePoint {
  lat: number;
  lon: number;
  /** The commune containing the point according to the boundary file Sen loads. */
  commune: string;
}

let cached: { points: LocatePoint[]; bbox: number[] } | undefined;

/**
 * `POINTS` pseudo-random points, uniform over the province's bounding box, keeping only those
 * inside exactly one commune: every request is a 200, and the mix covers the whole province
 * (large rural communes get more points than small urban wards, like real reports would).
 */
export function locatePoints(): { points: LocatePoint[]; bbox: number[] } {
  if (cached) return cached;
  const file = path.join(ROOT, "data/admin", `${PROVINCE}-communes-2025.geojson`);
  const fc = JSON.parse(readFileSync(file, "utf8")) as FeatureCollection<Polygon | MultiPolygon>;
  const communes = fc.features.map((f) => ({ code: String(f.properties?.code ?? f.id), bbox: f.bbox as number[], feature: f }));
  const bbox = [180, 90, -180, -90];
  for (const c of communes) {
    bbox[0] = Math.min(bbox[0] as number, c.bbox[0] as number);
    bbox[1] = Math.min(bbox[1] as number, c.bbox[1] as number);
    bbox[2] = Math.max(bbox[2] as number, c.bbox[2] as number);
    bbox[3] = Math.max(bbox[3] as number, c.bbox[3] as number);
  }
  const [w, s, e, n] = bbox as [number, number, number, number];
  const random = mulberry32(SEED);
  const points: LocatePoint[] = [];
  for (let tries = 0; points.length < POINTS && tries < POINTS * 100; tries++) {
    const lon = Math.round((w + random() * (e - w)) * 1e6) / 1e6;
    const lat = Math.round((s + random() * (n - s)) * 1e6) / 1e6;
    const inside = communes.filter(
      (c) =>
        lon >= (c.bbox[0] as number) &&
        lat >= (c.bbox[1] as number) &&
        lon <= (c.bbox[2] as number) &&
        lat <= (c.bbox[3] as number) &&
        booleanPointInPolygon([lon, lat], c.feature),
    );
    if (inside.length === 1) points.push({ lat, lon, commune: (inside[0] as { code: string }).code });
  }
  if (points.length < POINTS) throw new Error(`only ${points.length} of ${POINTS} points found inside the province's communes`);
  cached = { points, bbox };
  return cached;
}

export const locatePath = (p: LocatePoint) => `/api/geo/locate?lat=${p.lat}&lon=${p.lon}`;

export const geoBenchmark: Benchmark = {
  name: "geo",
  title: "Point → commune lookup",
  endpoints: ["GET /api/geo/locate"],
  async run(sen, settings) {
    const { points } = locatePoints();
    // Every point must answer 200 with the expected commune before anything is measured.
    const wrong: string[] = [];
    for (const p of points) {
      const res = await fetch(sen.url + locatePath(p));
      const body = (await res.json().catch(() => undefined)) as { commune?: { code?: string } } | undefined;
      if (res.status !== 200 || body?.commune?.code !== p.commune)
        wrong.push(`${locatePath(p)} → ${res.status} ${body?.commune?.code ?? ""} (expected 200 ${p.commune})`);
    }
    if (wrong.length) throw new Error(`${wrong.length} of ${points.length} locate checks failed, e.g.\n  ${wrong.slice(0, 5).join("\n  ")}`);

    const communes = new Set(points.map((p) => p.commune)).size;
    const result = await load({ server: sen, paths: points.map(locatePath), settings });
    return [{ endpoint: "GET /api/geo/locate", result, notes: [`${points.length} points in ${communes} communes, all checked = 200 first`] }];
  },
};
