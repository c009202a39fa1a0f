// The alert area on the map (offline MapLibre): communes chosen (dark), communes the area touches
// (light), polygons and circles drawn. In "communes" mode a click toggles a commune; in "polygon"
// mode clicks add points and "finish" closes the shape; in "circle" mode a click sets the centre.
import "maplibre-gl/dist/maplibre-gl.css";
import type { Feature, FeatureCollection, Polygon } from "geojson";
import { type GeoJSONSource, Map as MapLibreMap, NavigationControl, type StyleSpecification } from "maplibre-gl";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { type Communes, loadCommuneShapes } from "../data";
import type { Circle } from "./types";

export type PickMode = "view" | "communes" | "polygon" | "circle";

const BOUNDS: [number, number, number, number] = [105.18, 10.13, 106.82, 10.98];
const empty = (): FeatureCollection => ({ type: "FeatureCollection", features: [] });

/** A circle as a 48-gon (good enough to draw; the server does the exact geometry). */
export function circlePolygon(c: Circle): Feature<Polygon> {
  const ring: Array<[number, number]> = [];
  for (let i = 0; i <= 48; i++) {
    const a = (i / 48) * 2 * Math.PI;
    const dLat = (c.radiusKm / 111.32) * Math.cos(a);
    const dLon = ((c.radiusKm / 111.32) * Math.sin(a)) / Math.cos((c.lat * Math.PI) / 180);
    ring.push([c.lon + dLon, c.lat + dLat]);
  }
  return { type: "Feature", properties: {}, geometry: { type: "Polygon", coordinates: [ring] } };
}

const style = (): StyleSpecification => ({
  version: 8,
  sources: {
    communes: { type: "geojson", data: empty(), promoteId: "code" },
    shapes: { type: "geojson", data: empty() },
    drawing: { type: "geojson", data: empty() },
  },
  layers: [
    { id: "bg", type: "background", paint: { "background-color": "#dce6ec" } },
    {
      id: "communes-fill",
      type: "fill",
      source: "communes",
      paint: {
        "fill-color": [
          "case",
          ["boolean", ["feature-state", "chosen"], false],
          "#c2410c",
          ["boolean", ["feature-state", "touched"], false],
          "#fdba74",
          "#eef3ea",
        ],
        "fill-opacity": 0.85,
      },
    },
    { id: "communes-line", type: "line", source: "communes", paint: { "line-color": "#7aa48f", "line-width": 0.7 } },
    { id: "shapes-fill", type: "fill", source: "shapes", paint: { "fill-color": "#7c3aed", "fill-opacity": 0.18 } },
    { id: "shapes-line", type: "line", source: "shapes", paint: { "line-color": "#6d28d9", "line-width": 2 } },
    { id: "drawing-line", type: "line", source: "drawing", paint: { "line-color": "#6d28d9", "line-width": 2, "line-dasharray": [2, 1] } },
    { id: "drawing-points", type: "circle", source: "drawing", paint: { "circle-radius": 4, "circle-color": "#6d28d9" } },
  ],
});

export interface AreaMapProps {
  chosen: string[];
  touched: string[];
  polygons: Array<Array<[number, number]>>;
  circles: Circle[];
  mode?: PickMode;
  /** Points of the polygon being drawn ([lat, lon]). */
  drawing?: Array<[number, number]>;
  onCommune?(code: string): void;
  onPoint?(lat: number, lon: number): void;
  height?: number;
}

export function AreaMap({ chosen, touched, polygons, circles, mode = "view", drawing = [], onCommune, onPoint, height = 380 }: AreaMapProps) {
  const { t } = useTranslation();
  const ref = useRef<HTMLDivElement>(null);
  const mapRef = useRef<MapLibreMap | null>(null);
  const [ready, setReady] = useState(false);
  const [failed, setFailed] = useState(false);
  const [shapes, setShapes] = useState<Communes | null>(null);
  const handlers = useRef({ mode, onCommune, onPoint });
  handlers.current = { mode, onCommune, onPoint };

  useEffect(() => {
    loadCommuneShapes().then(setShapes, () => setFailed(true));
  }, []);

  useEffect(() => {
    if (!ref.current) return;
    let map: MapLibreMap;
    try {
      map = new MapLibreMap({
        container: ref.current,
        style: style(),
        bounds: BOUNDS,
        fitBoundsOptions: { padding: 12 },
        dragRotate: false,
        attributionControl: false,
      });
    } catch {
      setFailed(true);
      return;
    }
    mapRef.current = map;
    map.addControl(new NavigationControl({ showCompass: false }), "top-right");
    map.once("load", () => setReady(true));
    map.on("click", (e) => {
      const h = handlers.current;
      if (h.mode === "communes") {
        const f = map.queryRenderedFeatures(e.point, { layers: ["communes-fill"] })[0];
        if (f?.id !== undefined) h.onCommune?.(String(f.id));
      } else if (h.mode === "polygon" || h.mode === "circle") h.onPoint?.(e.lngLat.lat, e.lngLat.lng);
    });
    return () => {
      map.remove();
      mapRef.current = null;
    };
  }, []);

  useEffect(() => {
    const map = mapRef.current;
    if (!map || !ready || !shapes) return;
    (map.getSource("communes") as GeoJSONSource).setData(shapes);
  }, [ready, shapes]);

  useEffect(() => {
    const map = mapRef.current;
    if (!map || !ready || !shapes) return;
    const chosenSet = new Set(chosen);
    const touchedSet = new Set(touched);
    for (const f of shapes.features) {
      const code = String(f.properties.code);
      map.setFeatureState({ source: "communes", id: code }, { chosen: chosenSet.has(code), touched: touchedSet.has(code) });
    }
  }, [ready, shapes, chosen, touched]);

  useEffect(() => {
    const map = mapRef.current;
    if (!map || !ready) return;
    const features: Feature[] = [
      ...polygons.map(
        (p): Feature => ({ type: "Feature", properties: {}, geometry: { type: "Polygon", coordinates: [[...p, p[0]].map(([lat, lon]) => [lon, lat])] } }),
      ),
      ...circles.map(circlePolygon),
    ];
    (map.getSource("shapes") as GeoJSONSource).setData({ type: "FeatureCollection", features });
    const pts = drawing.map(([lat, lon]) => [lon, lat]);
    (map.getSource("drawing") as GeoJSONSource).setData({
      type: "FeatureCollection",
      features: [
        ...(pts.length > 1 ? [{ type: "Feature" as const, properties: {}, geometry: { type: "LineString" as const, coordinates: pts } }] : []),
        ...pts.map((c) => ({ type: "Feature" as const, properties: {}, geometry: { type: "Point" as const, coordinates: c } })),
      ],
    });
  }, [ready, polygons, circles, drawing]);

  useEffect(() => {
    const canvas = mapRef.current?.getCanvas();
    if (canvas) canvas.style.cursor = mode === "view" ? "" : "crosshair";
  }, [mode]);

  return (
    <div className="alert-map" style={{ height }} data-testid="alert-area-map" data-ready={ready && shapes ? "true" : "false"}>
      <div ref={ref} className="alert-map-canvas" />
      {failed && <div className="map-overlay map-overlay-error">{t("alerts.mapFailed")}</div>}
    </div>
  );
}
