// Entities with a location as dots on the offline map; the selected one highlighted. A click
// selects an entity.
import "maplibre-gl/dist/maplibre-gl.css";
import type { FeatureCollection } from "geojson";
import { type GeoJSONSource, Map as MapLibreMap, NavigationControl } from "maplibre-gl";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { loadCommuneShapes } from "../data";
import { mapStyle } from "../mapStyle";
import { type Entity, pointOf } from "./client";

const BOUNDS: [number, number, number, number] = [105.18, 10.13, 106.82, 10.98];

function features(entities: Entity[], selected: string | null): FeatureCollection {
  return {
    type: "FeatureCollection",
    features: entities.flatMap((e) => {
      const p = pointOf(e);
      return p
        ? [{ type: "Feature" as const, properties: { id: e.id, selected: e.id === selected }, geometry: { type: "Point" as const, coordinates: p } }]
        : [];
    }),
  };
}

export function EntityMap({ entities, selected, onSelect }: { entities: Entity[]; selected: string | null; onSelect(id: string): void }) {
  const { t } = useTranslation();
  const ref = useRef<HTMLDivElement>(null);
  const mapRef = useRef<MapLibreMap | null>(null);
  const [ready, setReady] = useState(false);
  const [failed, setFailed] = useState(false);
  const select = useRef(onSelect);
  select.current = onSelect;

  useEffect(() => {
    if (!ref.current) return;
    let map: MapLibreMap;
    try {
      map = new MapLibreMap({
        container: ref.current,
        style: mapStyle(),
        bounds: BOUNDS,
        fitBoundsOptions: { padding: 16 },
        dragRotate: false,
        attributionControl: false,
      });
    } catch {
      setFailed(true);
      return;
    }
    mapRef.current = map;
    map.addControl(new NavigationControl({ showCompass: false }), "top-right");
    map.on("load", () => {
      // Commune outlines for orientation (served by Sen's OGC API; the style has no remote tiles).
      map.addSource("communes", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
      map.addLayer({ id: "communes-fill", type: "fill", source: "communes", paint: { "fill-color": "#eef3ea", "fill-opacity": 0.9 } });
      map.addLayer({ id: "communes-line", type: "line", source: "communes", paint: { "line-color": "#9bb8a8", "line-width": 0.6 } });
      loadCommuneShapes().then(
        (shapes) => (map.getSource("communes") as GeoJSONSource | undefined)?.setData(shapes),
        () => undefined,
      );
      map.addSource("entities", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
      map.addLayer({
        id: "entities",
        type: "circle",
        source: "entities",
        paint: {
          "circle-radius": ["case", ["get", "selected"], 8, 5],
          "circle-color": ["case", ["get", "selected"], "#c2410c", "#0f766e"],
          "circle-stroke-color": "#ffffff",
          "circle-stroke-width": 1.5,
        },
      });
      map.on("click", "entities", (ev) => {
        const id = ev.features?.[0]?.properties?.id;
        if (typeof id === "string") select.current(id);
      });
      map.on("mouseenter", "entities", () => (map.getCanvas().style.cursor = "pointer"));
      map.on("mouseleave", "entities", () => (map.getCanvas().style.cursor = ""));
      setReady(true);
    });
    return () => map.remove();
  }, []);

  useEffect(() => {
    if (!ready) return;
    (mapRef.current?.getSource("entities") as GeoJSONSource | undefined)?.setData(features(entities, selected));
  }, [ready, entities, selected]);

  return (
    <div className="ctx-map" data-testid="context-map">
      <div ref={ref} className="ctx-map-canvas" />
      {failed && <p className="empty-state">{t("context.mapUnavailable")}</p>}
    </div>
  );
}
