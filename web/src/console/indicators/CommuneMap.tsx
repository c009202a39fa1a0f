// A choropleth of the communes for one indicator and period: the boundaries from the OGC API
// (offline style, as the map page), each commune filled by its value. The container gets
// data-map-ready="true" once the boundaries are drawn, and data-choropleth="<n>" with the number
// of communes that have a value once they are coloured (the browser test waits for both).
import "maplibre-gl/dist/maplibre-gl.css";
import { AttributionControl, type GeoJSONSource, Map as MapLibreMap, NavigationControl } from "maplibre-gl";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../shared/api";
import { formatNumber } from "../../shared/format";
import { bboxOf } from "../../shared/geometry";
import { loadCommuneShapes, loadProvinceShape } from "../data";
import { mapStyle } from "../mapStyle";

const LOW = "#fef0d9";
const MID = "#fc8d59";
const HIGH = "#b30000";
const NONE = "#e6e9ec";

interface MapData {
  values: Record<string, number>;
  min: number | null;
  max: number | null;
}

export function CommuneMap({
  indicator,
  period,
  onSelect,
}: {
  indicator: string;
  period: string;
  onSelect?: (code: string, name: { name: string; nameEn: string }) => void;
}) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const ref = useRef<HTMLDivElement>(null);
  const mapRef = useRef<MapLibreMap | null>(null);
  const namesRef = useRef(new Map<string, { name: string; nameEn: string }>());
  const [loaded, setLoaded] = useState(false);
  const [data, setData] = useState<MapData | null>(null);
  const [hover, setHover] = useState<{ code: string; x: number; y: number } | null>(null);
  const [failed, setFailed] = useState(false);
  // The map is created once; the latest click handler is read through a ref.
  const selectRef = useRef(onSelect);
  const hoverRef = useRef<string | null>(null);
  selectRef.current = onSelect;

  useEffect(() => {
    const container = ref.current;
    if (!container) return;
    let map: MapLibreMap;
    try {
      map = new MapLibreMap({
        container,
        style: mapStyle(),
        bounds: [105.18, 10.13, 106.82, 10.98],
        minZoom: 6,
        maxZoom: 13,
        dragRotate: false,
        attributionControl: false,
      });
    } catch {
      setFailed(true);
      return;
    }
    mapRef.current = map;
    map.addControl(new NavigationControl({ showCompass: false }), "top-right");
    map.addControl(new AttributionControl({ compact: true }), "bottom-right");
    let cancelled = false;
    map.once("load", () => {
      map.setPaintProperty("communes-fill", "fill-color", [
        "case",
        ["<", ["coalesce", ["feature-state", "v"], -1], 0],
        NONE,
        ["interpolate", ["linear"], ["feature-state", "v"], 0, LOW, 0.5, MID, 1, HIGH],
      ]);
      map.setPaintProperty("communes-fill", "fill-opacity", 0.9);
      Promise.all([loadProvinceShape(), loadCommuneShapes()])
        .then(([province, communes]) => {
          if (cancelled) return;
          for (const f of communes.features) namesRef.current.set(String(f.properties.code), { name: f.properties.fullName, nameEn: f.properties.fullNameEn });
          (map.getSource("province") as GeoJSONSource).setData(province);
          (map.getSource("communes") as GeoJSONSource).setData(communes);
          const box = bboxOf(province.features.map((f) => f.geometry));
          if (box) map.fitBounds(box, { padding: 16, duration: 0 });
          const ready = () => {
            if (!map.isSourceLoaded("communes") || map.querySourceFeatures("communes").length === 0) return;
            container.dataset.mapReady = "true";
            map.off("idle", ready);
            setLoaded(true);
          };
          map.on("idle", ready);
        })
        .catch(() => setFailed(true));
    });
    map.on("mousemove", "communes-fill", (e) => {
      const code = e.features?.[0]?.id;
      if (code !== undefined) {
        hoverRef.current = String(code);
        setHover({ code: String(code), x: e.point.x, y: e.point.y });
      }
    });
    map.on("mouseleave", "communes-fill", () => {
      hoverRef.current = null;
      setHover(null);
    });
    map.on("click", (e) => {
      if (!map.getLayer("communes-fill")) return;
      // The commune under the pointer, else the one the tooltip names (touch and some pointers
      // deliver the click without the rendered feature).
      const code = map.queryRenderedFeatures(e.point, { layers: ["communes-fill"] })[0]?.id ?? hoverRef.current ?? undefined;
      const name = code === undefined ? undefined : namesRef.current.get(String(code));
      if (code !== undefined && name) selectRef.current?.(String(code), name);
    });
    // The dashboard's columns settle after the data arrives: keep the map's size in step.
    const ro = new ResizeObserver(() => map.resize());
    ro.observe(container);
    return () => {
      ro.disconnect();
      cancelled = true;
      map.remove();
      mapRef.current = null;
    };
  }, []);

  useEffect(() => {
    if (!indicator || !period) return;
    const ctl = new AbortController();
    api<MapData>(`/api/indicators/map?dx=${encodeURIComponent(indicator)}&pe=${encodeURIComponent(period)}`, { signal: ctl.signal }).then(setData, () =>
      setData(null),
    );
    return () => ctl.abort();
  }, [indicator, period]);

  // Colour the communes once both the boundaries and the values are there.
  useEffect(() => {
    const map = mapRef.current;
    const container = ref.current;
    if (!map || !loaded || !container) return;
    const span = data && data.min !== null && data.max !== null ? data.max - data.min : 0;
    let n = 0;
    for (const code of namesRef.current.keys()) {
      const v = data?.values[code];
      if (v !== undefined) n++;
      map.setFeatureState({ source: "communes", id: code }, { v: v === undefined ? -1 : span > 0 ? (v - (data?.min ?? 0)) / span : 0.5 });
    }
    container.dataset.choropleth = String(n);
  }, [data, loaded]);

  const hovered = hover ? namesRef.current.get(hover.code) : undefined;
  const hv = hover ? data?.values[hover.code] : undefined;
  return (
    <div className="ind-map-wrap">
      <div ref={ref} className="ind-map" data-testid="commune-map" />
      {failed && <p className="ind-map-note">{t("common.error")}</p>}
      {hover && hovered && (
        <div className="map-tooltip ind-map-tip" style={{ left: hover.x + 12, top: hover.y + 12 }}>
          <strong>{lang === "en" ? hovered.nameEn : hovered.name}</strong>
          <div>{hv === undefined ? t("indicators.noValue") : formatNumber(hv, lang, 2)}</div>
        </div>
      )}
      <div className="ind-legend" aria-hidden="true">
        <span>{data?.min !== null && data?.min !== undefined ? formatNumber(data.min, lang, 1) : ""}</span>
        <span className="ind-legend-ramp" style={{ background: `linear-gradient(90deg, ${LOW}, ${MID}, ${HIGH})` }} />
        <span>{data?.max !== null && data?.max !== undefined ? formatNumber(data.max, lang, 1) : ""}</span>
      </div>
      {data && Object.keys(data.values).length === 0 && <p className="ind-map-note">{t("indicators.mapNoData")}</p>}
    </div>
  );
}
