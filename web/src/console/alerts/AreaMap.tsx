// The alert area on the map (offline MapLibre): communes chosen (dark), communes the area touches
// (light), polygons and circles drawn. In "communes" mode a click toggles a commune; in "polygon"
// mode clicks add points and "finish" closes the shape; in "circle" mode a click sets the centre.
import type { Feature, Polygon } from "geojson";
import type { Map as MapLibreMap } from "maplibre-gl";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { emptyCollection, offlineStyle, setSourceData, useOfflineMap } from "../../shared/useOfflineMap";
import { type Communes, loadCommuneShapes } from "../data";
import type { Circle } from "./types";

export type PickMode = "view" | "communes" | "polygon" | "circle";

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

const style = () =>
  offlineStyle(
    {
      communes: { type: "geojson", data: emptyCollection(), promoteId: "code" },
      shapes: { type: "geojson", data: emptyCollection() },
      drawing: { type: "geojson", data: emptyCollection() },
    },
    [
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
  );

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
  const [shapesFailed, setShapesFailed] = useState(false);
  const [shapes, setShapes] = useState<Communes | null>(null);
  const handlers = useRef({ mode, onCommune, onPoint });
  handlers.current = { mode, onCommune, onPoint };
  const {
    container,
    map: mapRef,
    ready,
    failed: mapFailed,
  } = useOfflineMap(style, {
    padding: 12,
    setup(map: MapLibreMap) {
      map.on("click", (e) => {
        const h = handlers.current;
        if (h.mode === "communes") {
          const f = map.queryRenderedFeatures(e.point, { layers: ["communes-fill"] })[0];
          if (f?.id !== undefined) h.onCommune?.(String(f.id));
        } else if (h.mode === "polygon" || h.mode === "circle") h.onPoint?.(e.lngLat.lat, e.lngLat.lng);
      });
    },
  });
  const failed = mapFailed || shapesFailed;

  useEffect(() => {
    loadCommuneShapes().then(setShapes, () => setShapesFailed(true));
  }, []);

  useEffect(() => {
    const map = mapRef.current;
    if (!map || !ready || !shapes) return;
    setSourceData(map, "communes", shapes);
  }, [ready, mapRef, shapes]);

  useEffect(() => {
    const map = mapRef.current;
    if (!map || !ready || !shapes) return;
    const chosenSet = new Set(chosen);
    const touchedSet = new Set(touched);
    for (const f of shapes.features) {
      const code = String(f.properties.code);
      map.setFeatureState({ source: "communes", id: code }, { chosen: chosenSet.has(code), touched: touchedSet.has(code) });
    }
  }, [ready, mapRef, shapes, chosen, touched]);

  useEffect(() => {
    const map = mapRef.current;
    if (!map || !ready) return;
    const features: Feature[] = [
      ...polygons.map(
        (p): Feature => ({ type: "Feature", properties: {}, geometry: { type: "Polygon", coordinates: [[...p, p[0]].map(([lat, lon]) => [lon, lat])] } }),
      ),
      ...circles.map(circlePolygon),
    ];
    setSourceData(map, "shapes", { type: "FeatureCollection", features });
    const pts = drawing.map(([lat, lon]) => [lon, lat]);
    setSourceData(map, "drawing", {
      type: "FeatureCollection",
      features: [
        ...(pts.length > 1 ? [{ type: "Feature" as const, properties: {}, geometry: { type: "LineString" as const, coordinates: pts } }] : []),
        ...pts.map((c) => ({ type: "Feature" as const, properties: {}, geometry: { type: "Point" as const, coordinates: c } })),
      ],
    });
  }, [ready, mapRef, polygons, circles, drawing]);

  useEffect(() => {
    const canvas = mapRef.current?.getCanvas();
    if (canvas) canvas.style.cursor = mode === "view" ? "" : "crosshair";
  }, [mapRef, mode]);

  return (
    <div className="alert-map" style={{ height }} data-testid="alert-area-map" data-ready={ready && shapes ? "true" : "false"}>
      <div ref={container} className="alert-map-canvas" />
      {failed && <div className="map-overlay map-overlay-error">{t("alerts.mapFailed")}</div>}
    </div>
  );
}
