// The console map's style, defined in code: no remote tiles, glyphs or sprites, so it works offline
// and under the server's Content-Security-Policy. Names are shown in the side panel, not on the map.
// Devices are drawn on top (mapDevices.ts), with symbols made on canvases.
import type { FeatureCollection } from "geojson";
import type { ExpressionSpecification, StyleSpecification } from "maplibre-gl";
import { DEVICE_SOURCE, deviceLayers, deviceSource } from "./mapDevices";

// Distinct colours. The browser test detects the commune fill and the province outline in a
// screenshot, so keep them in step with test/browser/console.test.ts when changing them.
export const COLORS = {
  background: "#dce6ec",
  provinceFill: "#eef3ea",
  communeFill: "#cfe6d4",
  communeHover: "#fbe0e9",
  communeSelected: "#f4b3c8",
  communeLine: "#7aa48f",
  provinceLine: "#0e4a5a",
  highlightLine: "#b0275a",
} as const;

const empty = (): FeatureCollection => ({ type: "FeatureCollection", features: [] });

const hover: ExpressionSpecification = ["boolean", ["feature-state", "hover"], false];
const selected: ExpressionSpecification = ["boolean", ["feature-state", "selected"], false];

export const ATTRIBUTION = "© thanglequoc/vietnamese-provinces-database (MIT), sapnhap.bando.com.vn";

export function mapStyle(): StyleSpecification {
  return {
    version: 8,
    name: "Sen – ranh giới hành chính",
    sources: {
      province: { type: "geojson", data: empty(), attribution: ATTRIBUTION },
      communes: { type: "geojson", data: empty(), promoteId: "code" },
      [DEVICE_SOURCE]: deviceSource(),
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": COLORS.background } },
      { id: "province-fill", type: "fill", source: "province", paint: { "fill-color": COLORS.provinceFill } },
      {
        id: "communes-fill",
        type: "fill",
        source: "communes",
        paint: {
          "fill-color": ["case", selected, COLORS.communeSelected, hover, COLORS.communeHover, COLORS.communeFill],
          "fill-antialias": false,
        },
      },
      {
        id: "communes-line",
        type: "line",
        source: "communes",
        layout: { "line-join": "round" },
        paint: { "line-color": COLORS.communeLine, "line-width": ["interpolate", ["linear"], ["zoom"], 7, 0.5, 10, 1, 14, 2] },
      },
      {
        id: "communes-highlight",
        type: "line",
        source: "communes",
        layout: { "line-join": "round" },
        paint: {
          "line-color": COLORS.highlightLine,
          "line-width": ["case", selected, 2.5, 1.5],
          "line-opacity": ["case", selected, 1, hover, 0.7, 0],
        },
      },
      {
        id: "province-line",
        type: "line",
        source: "province",
        layout: { "line-join": "round", "line-cap": "round" },
        paint: { "line-color": COLORS.provinceLine, "line-width": ["interpolate", ["linear"], ["zoom"], 7, 2, 10, 3, 14, 4.5] },
      },
      ...deviceLayers(),
    ],
  };
}
