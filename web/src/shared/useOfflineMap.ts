// A small MapLibre map inside a React component, offline: the whole style is given in code (GeoJSON
// sources filled by the component, no remote tiles, glyphs or sprites), so it works without the
// internet and under the server's Content-Security-Policy. The map opens fitted to the province,
// with zoom buttons and no rotation. Sources and layers belong in the style given here, not added
// afterwards: adding a source whose id the style already has throws, and nothing after it runs.
import "maplibre-gl/dist/maplibre-gl.css";
import type { FeatureCollection } from "geojson";
import {
  type GeoJSONSource,
  type LayerSpecification,
  Map as MapLibreMap,
  NavigationControl,
  type SourceSpecification,
  type StyleSpecification,
} from "maplibre-gl";
import { type RefObject, useEffect, useRef, useState } from "react";

/** The province's bounding box, [west, south, east, north]. */
export const PROVINCE_BOUNDS: [number, number, number, number] = [105.18, 10.13, 106.82, 10.98];

export const emptyCollection = (): FeatureCollection => ({ type: "FeatureCollection", features: [] });

/** A style with only the given sources and layers over a plain background. */
export function offlineStyle(sources: Record<string, SourceSpecification>, layers: LayerSpecification[], background = "#dce6ec"): StyleSpecification {
  return { version: 8, sources, layers: [{ id: "background", type: "background", paint: { "background-color": background } }, ...layers] };
}

/** Replaces the data of one of the style's GeoJSON sources. */
export function setSourceData(map: MapLibreMap, source: string, data: FeatureCollection): void {
  (map.getSource(source) as GeoJSONSource | undefined)?.setData(data);
}

export interface OfflineMap {
  /** The element the map draws in (give it a size). */
  container: RefObject<HTMLDivElement | null>;
  /** The map once created (null before, and when the browser cannot draw it). */
  map: RefObject<MapLibreMap | null>;
  /** True once the style is loaded: its sources can take data. */
  ready: boolean;
  /** True when the browser cannot show the map (no WebGL). */
  failed: boolean;
}

/**
 * Creates the map once, on mount, from `style()`; removes it on unmount. `setup` runs once the
 * style is loaded, before `ready` turns true (to add event handlers).
 */
export function useOfflineMap(style: () => StyleSpecification, options: { padding?: number; setup?(map: MapLibreMap): void } = {}): OfflineMap {
  const container = useRef<HTMLDivElement>(null);
  const map = useRef<MapLibreMap | null>(null);
  const [ready, setReady] = useState(false);
  const [failed, setFailed] = useState(false);
  const first = useRef({ style, options });

  useEffect(() => {
    if (!container.current) return;
    const { style, options } = first.current;
    let m: MapLibreMap;
    try {
      m = new MapLibreMap({
        container: container.current,
        style: style(),
        bounds: PROVINCE_BOUNDS,
        fitBoundsOptions: { padding: options.padding ?? 16 },
        dragRotate: false,
        attributionControl: false,
      });
    } catch {
      setFailed(true);
      return;
    }
    map.current = m;
    m.addControl(new NavigationControl({ showCompass: false }), "top-right");
    m.once("load", () => {
      options.setup?.(m);
      setReady(true);
    });
    return () => {
      m.remove();
      map.current = null;
      setReady(false);
    };
  }, []);

  return { container, map, ready, failed };
}
