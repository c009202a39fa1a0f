// The map's device layer: a clustered GeoJSON source of devices and its layers. The map has no
// sprites or glyphs (see mapStyle.ts), so every symbol — a device's round type symbol in its
// state colour, a cluster bubble with its count, a value label — is drawn on a canvas when
// MapLibre first asks for it (styleimagemissing) and added with map.addImage.
import type { TFunction } from "i18next";
import type { ExpressionSpecification, LayerSpecification, Map as MapLibreMap, SourceSpecification } from "maplibre-gl";
import type { FeatureCollection, Point } from "geojson";
import { typeIconPath } from "./deviceIcons";
import { DEVICE_COLORS, type Device, deviceState, formatValue, primaryKey, SEVERITY_COLORS, SEVERITY_RANK, type Severity } from "./iot";
import type { Profiles } from "./useProfiles";

export const DEVICE_SOURCE = "devices";
export const DEVICE_LAYERS = ["devices-clusters", "devices-halo", "devices-selected", "devices-points", "devices-labels"] as const;
/** Layers a click or hover picks devices from. */
export const DEVICE_PICK_LAYERS = ["devices-points", "devices-clusters"];

const PIXEL_RATIO = 2;
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif';

export interface DeviceProps {
  id: string;
  name: string;
  type: string;
  /** The symbol image: dev:{type}:{fill}:{ring}. */
  icon: string;
  /** Worst active alarm (1 warning … 4 critical), 0 without. */
  rank: number;
  /** 1 when offline or disabled (cluster colour). */
  off: number;
  /** The latest value of the device's main key, e.g. "4,12 m". */
  label: string;
}

export function deviceFeatures(
  devices: Device[],
  worst: Map<string, Severity>,
  profiles: Profiles,
  lang: string,
  t: TFunction,
): FeatureCollection<Point, DeviceProps> {
  const features: FeatureCollection<Point, DeviceProps>["features"] = [];
  for (const d of devices) {
    if (d.lat === null || d.lon === null) continue;
    const state = deviceState(d);
    const alarm = state === "disabled" ? undefined : worst.get(d.id);
    const fill = state === "ok" ? (alarm ?? "ok") : state;
    const ring = state === "offline" && alarm ? alarm : "none";
    const profile = profiles.byId.get(d.profileId);
    const key = primaryKey(d, profile);
    const latest = key ? d.latest[key] : undefined;
    const label = latest && state !== "disabled" ? formatValue(latest.value, lang, t, profile?.keys[key as string]?.unit) : "";
    features.push({
      type: "Feature",
      id: d.id,
      geometry: { type: "Point", coordinates: [d.lon, d.lat] },
      properties: {
        id: d.id,
        name: d.name,
        type: d.type,
        icon: `dev:${d.type}:${fill}:${ring}`,
        rank: alarm ? SEVERITY_RANK[alarm] : 0,
        off: state === "ok" ? 0 : 1,
        label: label.length > 18 ? `${label.slice(0, 17)}…` : label,
      },
    });
  }
  return { type: "FeatureCollection", features };
}

export function deviceSource(): SourceSpecification {
  return {
    type: "geojson",
    data: { type: "FeatureCollection", features: [] },
    cluster: true,
    clusterRadius: 42,
    clusterMaxZoom: 11,
    clusterProperties: { worst: ["max", ["get", "rank"]], off: ["+", ["get", "off"]] },
  };
}

const clustered: ExpressionSpecification = ["has", "point_count"];
const single: ExpressionSpecification = ["!", ["has", "point_count"]];
const clusterTone: ExpressionSpecification = [
  "case",
  [">=", ["get", "worst"], 4],
  "critical",
  [">=", ["get", "worst"], 3],
  "major",
  [">=", ["get", "worst"], 2],
  "minor",
  [">=", ["get", "worst"], 1],
  "warning",
  ["==", ["get", "off"], ["get", "point_count"]],
  "off",
  "ok",
];
const rankColor: ExpressionSpecification = [
  "match",
  ["get", "rank"],
  4,
  SEVERITY_COLORS.critical,
  3,
  SEVERITY_COLORS.major,
  2,
  SEVERITY_COLORS.minor,
  SEVERITY_COLORS.warning,
];

export function deviceLayers(): LayerSpecification[] {
  return [
    {
      id: "devices-clusters",
      type: "symbol",
      source: DEVICE_SOURCE,
      filter: clustered,
      layout: {
        "icon-image": ["concat", "cluster:", clusterTone, ":", ["to-string", ["get", "point_count_abbreviated"]]],
        "icon-allow-overlap": true,
        "icon-ignore-placement": true,
        "symbol-sort-key": ["get", "worst"],
      },
    },
    {
      id: "devices-halo",
      type: "circle",
      source: DEVICE_SOURCE,
      filter: ["all", single, [">=", ["get", "rank"], 3]],
      paint: {
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 8, 17, 14, 22],
        "circle-color": rankColor,
        "circle-opacity": 0.22,
        "circle-stroke-color": rankColor,
        "circle-stroke-width": 1,
        "circle-stroke-opacity": 0.45,
      },
    },
    {
      id: "devices-selected",
      type: "circle",
      source: DEVICE_SOURCE,
      filter: ["==", ["get", "id"], ""],
      paint: {
        "circle-radius": 19,
        "circle-color": "rgba(0,0,0,0)",
        "circle-stroke-color": "#b0275a",
        "circle-stroke-width": 3,
      },
    },
    {
      id: "devices-points",
      type: "symbol",
      source: DEVICE_SOURCE,
      filter: single,
      layout: {
        "icon-image": ["get", "icon"],
        "icon-allow-overlap": true,
        "icon-ignore-placement": true,
        "symbol-sort-key": ["get", "rank"],
      },
    },
    {
      id: "devices-labels",
      type: "symbol",
      source: DEVICE_SOURCE,
      filter: ["all", single, ["!=", ["get", "label"], ""]],
      minzoom: 10.5,
      layout: {
        "icon-image": ["concat", "label:", ["get", "label"]],
        "icon-anchor": "left",
        "icon-offset": [16, 0],
        "icon-allow-overlap": false,
        "icon-padding": 1,
        "symbol-sort-key": ["-", 0, ["get", "rank"]],
      },
    },
  ];
}

function canvas(w: number, h: number): [HTMLCanvasElement, CanvasRenderingContext2D] {
  const c = document.createElement("canvas");
  c.width = Math.ceil(w * PIXEL_RATIO);
  c.height = Math.ceil(h * PIXEL_RATIO);
  const ctx = c.getContext("2d");
  if (!ctx) throw new Error("no 2d canvas");
  ctx.scale(PIXEL_RATIO, PIXEL_RATIO);
  return [c, ctx];
}

const fillOf = (fill: string): string =>
  fill === "ok"
    ? DEVICE_COLORS.ok
    : fill === "offline"
      ? DEVICE_COLORS.offline
      : fill === "disabled"
        ? DEVICE_COLORS.disabled
        : (SEVERITY_COLORS[fill as Severity] ?? DEVICE_COLORS.ok);

function drawDevice(type: string, fill: string, ring: string): HTMLCanvasElement {
  const size = 30;
  const [c, ctx] = canvas(size, size);
  const r = 11.5;
  const cx = size / 2;
  const cy = size / 2;
  ctx.save();
  ctx.shadowColor = "rgba(10, 30, 38, 0.4)";
  ctx.shadowBlur = 3;
  ctx.shadowOffsetY = 1;
  ctx.beginPath();
  ctx.arc(cx, cy, r, 0, Math.PI * 2);
  ctx.fillStyle = fillOf(fill);
  ctx.fill();
  ctx.restore();
  ctx.beginPath();
  ctx.arc(cx, cy, r, 0, Math.PI * 2);
  ctx.lineWidth = ring !== "none" ? 3 : 2;
  ctx.strokeStyle = ring !== "none" ? fillOf(ring) : fill === "disabled" ? DEVICE_COLORS.disabledLine : "#ffffff";
  if (fill === "disabled") ctx.setLineDash([3, 2]);
  ctx.stroke();
  ctx.setLineDash([]);
  // The type pictogram, 24-unit path data scaled into the circle.
  const icon = 14;
  ctx.save();
  ctx.translate(cx - icon / 2, cy - icon / 2);
  ctx.scale(icon / 24, icon / 24);
  ctx.lineWidth = 2.5;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = fill === "disabled" ? DEVICE_COLORS.disabledLine : "#ffffff";
  ctx.stroke(new Path2D(typeIconPath(type)));
  ctx.restore();
  return c;
}

const CLUSTER_COLORS: Record<string, string> = { ok: "#0e6b5c", off: DEVICE_COLORS.offline, ...SEVERITY_COLORS };

function drawCluster(tone: string, count: string): HTMLCanvasElement {
  const n = Number.parseFloat(count) * (count.endsWith("k") ? 1000 : 1) || 2;
  const r = 13 + Math.min(11, 2.6 * Math.log2(n));
  const size = (r + 6) * 2;
  const [c, ctx] = canvas(size, size);
  const color = CLUSTER_COLORS[tone] ?? CLUSTER_COLORS.ok;
  const cx = size / 2;
  ctx.beginPath();
  ctx.arc(cx, cx, r + 5, 0, Math.PI * 2);
  ctx.fillStyle = color;
  ctx.globalAlpha = 0.22;
  ctx.fill();
  ctx.globalAlpha = 1;
  ctx.save();
  ctx.shadowColor = "rgba(10, 30, 38, 0.35)";
  ctx.shadowBlur = 3;
  ctx.shadowOffsetY = 1;
  ctx.beginPath();
  ctx.arc(cx, cx, r, 0, Math.PI * 2);
  ctx.fillStyle = color;
  ctx.fill();
  ctx.restore();
  ctx.lineWidth = 2;
  ctx.strokeStyle = "#ffffff";
  ctx.stroke();
  ctx.fillStyle = "#ffffff";
  ctx.font = `700 ${r > 18 ? 13 : 12}px ${FONT}`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(count, cx, cx + 0.5);
  return c;
}

function drawLabel(text: string): HTMLCanvasElement {
  const probe = document.createElement("canvas").getContext("2d");
  const font = `600 11.5px ${FONT}`;
  let width = text.length * 7;
  if (probe) {
    probe.font = font;
    width = probe.measureText(text).width;
  }
  const w = Math.ceil(width) + 12;
  const h = 20;
  const [c, ctx] = canvas(w + 2, h + 2);
  ctx.beginPath();
  ctx.roundRect(1, 1, w, h, 5);
  ctx.fillStyle = "rgba(255, 255, 255, 0.95)";
  ctx.fill();
  ctx.lineWidth = 1;
  ctx.strokeStyle = "#b7c4cc";
  ctx.stroke();
  ctx.fillStyle = "#15252d";
  ctx.font = font;
  ctx.textBaseline = "middle";
  ctx.fillText(text, 7, 1 + h / 2 + 0.5);
  return c;
}

let labelImages = 0;

/** Draws the image MapLibre is missing, if it is one of the device layer's. */
export function provideDeviceImage(map: MapLibreMap, id: string): void {
  if (map.hasImage(id)) return;
  let c: HTMLCanvasElement | null = null;
  if (id.startsWith("dev:")) {
    const [, type, fill, ring] = id.split(":");
    c = drawDevice(type, fill, ring ?? "none");
  } else if (id.startsWith("cluster:")) {
    const [, tone, count] = id.split(":");
    c = drawCluster(tone, count);
  } else if (id.startsWith("label:")) {
    // Values change all the time: forget old labels now and then so images do not pile up.
    if (++labelImages > 3000) {
      labelImages = 0;
      for (const name of map.listImages()) if (name.startsWith("label:") && name !== id) map.removeImage(name);
    }
    c = drawLabel(id.slice(6));
  }
  if (!c) return;
  const ctx = c.getContext("2d");
  if (!ctx) return;
  map.addImage(id, ctx.getImageData(0, 0, c.width, c.height), { pixelRatio: PIXEL_RATIO });
}

/** Canvas data URL of a device symbol, for the legend. */
export function symbolDataUrl(type: string, fill: string, ring = "none"): string {
  return drawDevice(type, fill, ring).toDataURL();
}
