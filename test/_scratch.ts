import { readFileSync } from "node:fs";
import { booleanPointInPolygon, pointOnFeature } from "@turf/turf";
const communes = JSON.parse(readFileSync("data/admin/82-communes-2025.geojson", "utf8")).features;
const clear = communes.map((f: any) => ({ f, p: pointOnFeature(f).geometry.coordinates })).filter(({ f, p }: any) => booleanPointInPolygon(p, f, { ignoreBoundary: true }) && communes.every((g: any) => g === f || !booleanPointInPolygon(p, g)));
console.log(clear.length);
