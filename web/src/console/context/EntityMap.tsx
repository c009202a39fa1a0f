// Entities with a location as dots on the offline map over the commune outlines; the selected one
// highlighted. A click on a dot selects its entity.
import type { FeatureCollection } from "geojson";
import type { Map as MapLibreMap } from "maplibre-gl";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { emptyCollection, offlineStyle, setSourceData, useOfflineMap } from "../../shared/useOfflineMap";
import { type Communes, loadCommuneShapes } from "../data";
import { type Entity, pointOf } from "./client";

// The browser test looks for these colours at the entities' positions (test/browser/context.test.ts).
const DOT = "#0f766e";
const SELECTED_DOT = "#c2410c";

// Every source the map uses is declared here, filled later with setData.
const style = () =>
  offlineStyle({ communes: { type: "geojson", data: emptyCollection() }, entities: { type: "geojson", data: emptyCollection() } }, [
    { id: "communes-fill", type: "fill", source: "communes", paint: { "fill-color": "#eef3ea", "fill-opacity": 0.9 } },
    { id: "communes-line", type: "line", source: "communes", paint: { "line-color": "#9bb8a8", "line-width": 0.6 } },
    {
      id: "entities",
      type: "circle",
      source: "entities",
      paint: {
        "circle-radius": ["case", ["get", "selected"], 8, 5],
        "circle-color": ["case", ["get", "selected"], SELECTED_DOT, DOT],
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 1.5,
      },
      // the selected dot on top
      layout: { "circle-sort-key": ["case", ["get", "selected"], 1, 0] },
    },
  ]);

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
  const select = useRef(onSelect);
  select.current = onSelect;
  const [shapes, setShapes] = useState<Communes | null>(null);
  const { container, map, ready, failed } = useOfflineMap(style, {
    setup(m: MapLibreMap) {
      m.on("click", "entities", (ev) => {
        const id = ev.features?.[0]?.properties?.id;
        if (typeof id === "string") select.current(id);
      });
      m.on("mouseenter", "entities", () => (m.getCanvas().style.cursor = "pointer"));
      m.on("mouseleave", "entities", () => (m.getCanvas().style.cursor = ""));
    },
  });

  // Commune outlines for orientation (Sen's OGC API); the dots are shown without them if they fail.
  useEffect(() => {
    loadCommuneShapes().then(setShapes, () => undefined);
  }, []);

  useEffect(() => {
    if (ready && map.current && shapes) setSourceData(map.current, "communes", shapes);
  }, [ready, map, shapes]);

  useEffect(() => {
    if (ready && map.current) setSourceData(map.current, "entities", features(entities, selected));
  }, [ready, map, entities, selected]);

  return (
    <div className="ctx-map" data-testid="context-map" data-ready={ready ? "true" : "false"}>
      <div ref={container} className="ctx-map-canvas" />
      {failed && <p className="empty-state">{t("context.mapUnavailable")}</p>}
    </div>
  );
}
