// The map page (/map): the province and its communes from the OGC API, the IoT devices on top
// (clustered at low zoom, coloured by state and alarm, live), a search box and a side panel with
// the selected commune's or device's details (?device=<id> selects a device). When the data is
// drawn and the map is idle, the container gets data-map-ready="true", and data-devices-ready="true"
// once the devices are drawn too (the browser tests wait for them).
import "maplibre-gl/dist/maplibre-gl.css";
import {
  AttributionControl,
  Map as MapLibreMap,
  type MapGeoJSONFeature,
  type MapMouseEvent,
  NavigationControl,
  type PointLike,
  ScaleControl,
} from "maplibre-gl";
import type { GeoJSONSource } from "maplibre-gl";
import { type KeyboardEvent, useEffect, useMemo, useRef, useState } from "react";
import type { TFunction } from "i18next";
import { useTranslation } from "react-i18next";
import type { AdminUnit } from "../../shared/api";
import { formatNumber } from "../../shared/format";
import { useAlarms } from "../alarms";
import { useAuth } from "../auth";
import { SEVERITIES } from "../iot";
import { MapDevicePanel } from "../MapDevicePanel";
import { DEVICE_LAYERS, DEVICE_PICK_LAYERS, DEVICE_SOURCE, type DeviceProps, deviceFeatures, provideDeviceImage, symbolDataUrl } from "../mapDevices";
import { navigate, useLocation } from "../../shared/router";
import { useDevices } from "../useDevices";
import { useProfiles } from "../useProfiles";
import { type BBox, bboxOf } from "../../shared/geometry";
import { fold } from "../../shared/text";
import { type CommuneProperties, loadCommuneShapes, loadCommuneUnits, loadProvince, loadProvinceShape } from "../data";
import { Icon } from "../icons";
import { COLORS, mapStyle } from "../mapStyle";
import { ErrorMessage } from "./Misc";

interface Commune extends CommuneProperties {
  bbox: BBox | null;
  folded: string;
}

// Rough bounds of Đồng Tháp, used until the boundary arrives.
const INITIAL_BOUNDS: BBox = [105.18, 10.13, 106.82, 10.98];
const SHOW_DEVICES_KEY = "sen.map.devices";

function storedShowDevices(): boolean {
  try {
    return localStorage.getItem(SHOW_DEVICES_KEY) !== "off";
  } catch {
    return true;
  }
}

/** Devices or clusters near a point (a few pixels of slack make small symbols easy to hit). */
function pickDevice(map: MapLibreMap, point: { x: number; y: number }): MapGeoJSONFeature | undefined {
  if (!map.getLayer("devices-points")) return undefined;
  const box: [PointLike, PointLike] = [
    [point.x - 5, point.y - 5],
    [point.x + 5, point.y + 5],
  ];
  const found = map.queryRenderedFeatures(box, { layers: DEVICE_PICK_LAYERS });
  // Points before clusters; among points the worst alarm first.
  return found.sort((a, b) => Number(!!a.properties.cluster) - Number(!!b.properties.cluster) || (b.properties.rank ?? 0) - (a.properties.rank ?? 0))[0];
}

function unitTypeLabel(c: CommuneProperties, unit: AdminUnit | undefined, lang: string, t: TFunction): string {
  if (lang === "en") {
    if (unit?.unitTypeEn) return unit.unitTypeEn;
    const derived = c.fullNameEn?.replace(c.nameEn, "").trim();
    return derived || t(`unitType.${c.unitType}`, { defaultValue: c.unitType });
  }
  const raw = unit?.unitType ?? c.unitType;
  const derived = c.fullName?.replace(c.name, "").trim();
  return t(`unitType.${raw}`, { defaultValue: /[a-z_]/.test(raw ?? "") && derived ? derived : raw || derived });
}

export default function MapPage() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const containerRef = useRef<HTMLElement>(null);
  const tooltipRef = useRef<HTMLDivElement>(null);
  const mapRef = useRef<MapLibreMap | null>(null);
  const provinceBoxRef = useRef<BBox>(INITIAL_BOUNDS);
  /** The device the map flew to because the address named it (?device=). */
  const flownTo = useRef<string | null>(null);
  const [communes, setCommunes] = useState<Commune[]>([]);
  const [units, setUnits] = useState<Map<string, AdminUnit>>(new Map());
  const [province, setProvince] = useState<AdminUnit | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [webglError, setWebglError] = useState(false);
  const [loading, setLoading] = useState(true);
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const { can } = useAuth();
  const canDevices = can("devices:read");
  const { devices, byId: devicesById } = useDevices({ enabled: canDevices });
  const alarms = useAlarms();
  const profiles = useProfiles(canDevices);
  const [selectedDevice, setSelectedDevice] = useState<string | null>(null);
  const [showDevices, setShowDevices] = useState(storedShowDevices);
  const [mapLoaded, setMapLoaded] = useState(false);
  const { search } = useLocation();
  const deviceParam = new URLSearchParams(search).get("device");

  const byCode = useMemo(() => new Map(communes.map((c) => [c.code, c])), [communes]);

  // The map's tooltip reads the current language without re-creating the map.
  const langRef = useRef(lang);
  langRef.current = lang;

  // Create the map once, then load the boundaries into it.
  useEffect(() => {
    const container = containerRef.current;
    if (!container) return;
    let map: MapLibreMap;
    try {
      map = new MapLibreMap({
        container,
        style: mapStyle(),
        bounds: INITIAL_BOUNDS,
        fitBoundsOptions: { padding: 24 },
        minZoom: 6,
        maxZoom: 16,
        dragRotate: false,
        pitchWithRotate: false,
        touchPitch: false,
        attributionControl: false,
      });
    } catch {
      setWebglError(true);
      setLoading(false);
      return;
    }
    mapRef.current = map;
    map.touchZoomRotate.disableRotation();
    map.keyboard.disableRotation();
    map.addControl(new NavigationControl({ showCompass: false }), "top-right");
    map.addControl(new ScaleControl({ unit: "metric" }), "bottom-left");
    map.addControl(new AttributionControl({ compact: true }), "bottom-right");
    // On a phone the open attribution would cover the map: start it folded (the ⓘ button opens it).
    map.once("load", () => {
      if (container.clientWidth < 640) container.querySelector(".maplibregl-ctrl-attrib")?.classList.remove("maplibregl-compact-show");
    });

    let cancelled = false;
    let hovered: string | number | undefined;
    const setHover = (id: string | number | undefined) => {
      if (hovered === id) return;
      if (hovered !== undefined) map.setFeatureState({ source: "communes", id: hovered }, { hover: false });
      hovered = id;
      if (id !== undefined) map.setFeatureState({ source: "communes", id }, { hover: true });
    };

    map.on("styleimagemissing", (e) => provideDeviceImage(map, e.id));
    // Whether "load" has fired. map.isStyleLoaded() is no guide: it is false whenever a source is
    // updating, which the live device source does all the time.
    let styleLoaded = false;
    map.once("load", () => {
      styleLoaded = true;
      setMapLoaded(true);
    });

    map.on("mousemove", "communes-fill", (e) => {
      const device = pickDevice(map, e.point);
      if (device) {
        setHover(undefined);
        map.getCanvas().style.cursor = "pointer";
        const tip = tooltipRef.current;
        if (tip) {
          const p = device.properties as DeviceProps & { cluster?: boolean; point_count?: number };
          tip.textContent = p.cluster ? tooltipClusterRef.current(p.point_count ?? 0) : p.label ? `${p.name} · ${p.label}` : p.name;
          tip.style.transform = `translate(${e.point.x + 14}px, ${e.point.y + 14}px)`;
          tip.hidden = false;
        }
        return;
      }
      const f = e.features?.[0];
      setHover(f?.id);
      map.getCanvas().style.cursor = f ? "pointer" : "";
      const tip = tooltipRef.current;
      if (tip && f) {
        const p = f.properties as CommuneProperties;
        tip.textContent = langRef.current === "en" ? p.fullNameEn || p.fullName : p.fullName;
        tip.style.transform = `translate(${e.point.x + 14}px, ${e.point.y + 14}px)`;
        tip.hidden = false;
      }
    });
    // Devices outside every commune (e.g. a station across the provincial border) get their tooltip here.
    map.on("mousemove", "devices-points", (e) => {
      const p = e.features?.[0]?.properties as DeviceProps | undefined;
      const tip = tooltipRef.current;
      if (!p || !tip) return;
      map.getCanvas().style.cursor = "pointer";
      tip.textContent = p.label ? `${p.name} · ${p.label}` : p.name;
      tip.style.transform = `translate(${e.point.x + 14}px, ${e.point.y + 14}px)`;
      tip.hidden = false;
    });
    map.on("mouseleave", "devices-points", (e) => {
      // Over a commune, its own handler has already put up the commune's name.
      if (map.queryRenderedFeatures(e.point, { layers: ["communes-fill"] }).length) return;
      map.getCanvas().style.cursor = "";
      if (tooltipRef.current) tooltipRef.current.hidden = true;
    });
    map.on("mouseleave", "communes-fill", () => {
      setHover(undefined);
      map.getCanvas().style.cursor = "";
      if (tooltipRef.current) tooltipRef.current.hidden = true;
    });
    map.on("click", (e: MapMouseEvent) => {
      const device = pickDevice(map, e.point);
      if (device) {
        const p = device.properties;
        if (p.cluster) {
          const center = (device.geometry as GeoJSON.Point).coordinates as [number, number];
          (map.getSource(DEVICE_SOURCE) as GeoJSONSource)
            .getClusterExpansionZoom(p.cluster_id)
            .then((zoom) => map.easeTo({ center, zoom: Math.min(zoom + 0.5, 15), duration: 600 }))
            .catch(() => {});
        } else setSelectedDevice(String(p.id));
        return;
      }
      const f: MapGeoJSONFeature | undefined = map.queryRenderedFeatures(e.point, { layers: ["communes-fill"] })[0];
      setSelected(f ? String(f.properties.code ?? f.id) : null);
      setSelectedDevice(null);
    });

    const ready = () => {
      if (cancelled || !map.isSourceLoaded("communes") || !map.isSourceLoaded("province")) return;
      if (map.querySourceFeatures("communes").length === 0) return;
      container.dataset.mapReady = "true";
      map.off("idle", ready);
    };

    Promise.all([loadProvinceShape(), loadCommuneShapes()])
      .then(([provinceShape, communeShapes]) => {
        if (cancelled) return;
        const load = () => {
          (map.getSource("province") as GeoJSONSource).setData(provinceShape);
          (map.getSource("communes") as GeoJSONSource).setData(communeShapes);
          const box = bboxOf(provinceShape.features.map((f) => f.geometry)) ?? INITIAL_BOUNDS;
          provinceBoxRef.current = box;
          // Not when the page opened on a device (?device=): the map is already flying to it.
          if (!flownTo.current) map.fitBounds(box, { padding: 24, duration: 0 });
          map.on("idle", ready);
          setLoading(false);
        };
        if (styleLoaded) load();
        else map.once("load", load);
        setCommunes(
          communeShapes.features.map((f) => {
            const p = f.properties;
            return { ...p, code: String(p.code ?? f.id), bbox: bboxOf([f.geometry]), folded: fold(`${p.name} ${p.fullName} ${p.nameEn ?? ""}`) };
          }),
        );
      })
      .catch((err) => {
        if (!cancelled) {
          setError(err);
          setLoading(false);
        }
      });

    return () => {
      cancelled = true;
      mapRef.current = null;
      map.remove();
    };
  }, []);

  // The cluster tooltip reads the current language too.
  const tooltipClusterRef = useRef((n: number) => String(n));
  tooltipClusterRef.current = (n: number) => t("map.clusterTooltip", { count: n });

  // Draw the devices, again whenever their state, their alarms or the language change (useDevices
  // passes changes on at most once a second).
  useEffect(() => {
    const map = mapRef.current;
    const container = containerRef.current;
    if (!map || !mapLoaded || !devices || !container) return;
    const source = map.getSource(DEVICE_SOURCE) as GeoJSONSource | undefined;
    if (!source) return;
    source.setData(deviceFeatures(devices, alarms.worstByDevice, profiles, lang, t));
    if (container.dataset.devicesReady !== "true") map.once("idle", () => (container.dataset.devicesReady = "true"));
  }, [mapLoaded, devices, alarms.worstByDevice, profiles, lang, t]);

  useEffect(() => {
    const map = mapRef.current;
    if (!map || !mapLoaded) return;
    for (const id of DEVICE_LAYERS) if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", showDevices && canDevices ? "visible" : "none");
    try {
      localStorage.setItem(SHOW_DEVICES_KEY, showDevices ? "on" : "off");
    } catch {}
  }, [mapLoaded, showDevices, canDevices]);

  useEffect(() => {
    const map = mapRef.current;
    if (!map || !mapLoaded || !map.getLayer("devices-selected")) return;
    map.setFilter("devices-selected", ["==", ["get", "id"], selectedDevice ?? ""]);
  }, [mapLoaded, selectedDevice]);

  // ?device=<id>: select that device and fly to it, once it is known.
  useEffect(() => {
    const map = mapRef.current;
    if (!deviceParam || !map || !mapLoaded || flownTo.current === deviceParam) return;
    const d = devicesById.get(deviceParam);
    if (!d) return;
    flownTo.current = deviceParam;
    setSelectedDevice(d.id);
    setShowDevices(true);
    if (d.lat !== null && d.lon !== null) map.flyTo({ center: [d.lon, d.lat], zoom: Math.max(map.getZoom(), 12.5), duration: 900 });
  }, [deviceParam, devicesById, mapLoaded]);

  useEffect(() => {
    loadCommuneUnits().then(
      (list) => setUnits(new Map(list.map((u) => [u.code, u]))),
      () => {},
    );
    loadProvince().then(setProvince, () => {});
  }, []);

  // Mirror the selection into the map's feature state.
  useEffect(() => {
    const map = mapRef.current;
    if (!map || !selected || !mapLoaded) return;
    map.setFeatureState({ source: "communes", id: selected }, { selected: true });
    return () => {
      if (mapRef.current && map.getSource("communes")) map.setFeatureState({ source: "communes", id: selected }, { selected: false });
    };
  }, [selected, mapLoaded]);

  const results = useMemo(() => {
    const q = fold(query);
    if (!q) return [];
    const starts = (c: Commune) => fold(c.name).startsWith(q);
    return communes
      .filter((c) => c.folded.includes(q) || c.code.startsWith(q))
      .sort((a, b) => Number(starts(b)) - Number(starts(a)) || a.name.localeCompare(b.name, "vi"))
      .slice(0, 8);
  }, [communes, query]);

  const flyTo = (code: string) => {
    const c = byCode.get(code);
    const map = mapRef.current;
    setSelected(code);
    setQuery("");
    const box = c?.bbox ?? units.get(code)?.bbox;
    if (map && box) map.fitBounds(box, { padding: 80, maxZoom: 12.5, duration: 900 });
  };

  const onSearchKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      setActive((i) => Math.min(i + 1, results.length - 1));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setActive((i) => Math.max(i - 1, 0));
    } else if (e.key === "Enter" && results.length) {
      e.preventDefault();
      flyTo(results[Math.min(active, results.length - 1)].code);
    } else if (e.key === "Escape") {
      setQuery("");
    }
  };

  const wholeProvince = () => {
    setSelected(null);
    mapRef.current?.fitBounds(provinceBoxRef.current, { padding: 24, duration: 700 });
  };

  const current = selected ? byCode.get(selected) : undefined;
  const currentDevice = selectedDevice ? devicesById.get(selectedDevice) : undefined;
  const closeDevice = () => {
    setSelectedDevice(null);
    if (deviceParam) navigate("/map", { replace: true });
  };
  const deviceCounts = useMemo(() => {
    const c = { total: 0, online: 0, alarm: 0 };
    for (const d of devices ?? []) {
      c.total++;
      if (d.enabled && d.online) c.online++;
      if (alarms.worstByDevice.has(d.id)) c.alarm++;
    }
    return c;
  }, [devices, alarms.worstByDevice]);
  const legendSymbols = useMemo(
    () =>
      canDevices
        ? {
            ok: symbolDataUrl("default", "ok"),
            offline: symbolDataUrl("default", "offline"),
            disabled: symbolDataUrl("default", "disabled"),
            ...Object.fromEntries(SEVERITIES.map((s) => [s, symbolDataUrl("default", s)])),
          }
        : null,
    [canDevices],
  ) as Record<string, string> | null;
  const unit = selected ? units.get(selected) : undefined;
  const name = (c: Commune) => (lang === "en" ? c.fullNameEn || c.fullName : c.fullName);
  const area = current?.areaKm2 ?? unit?.areaKm2 ?? null;

  return (
    <div className="map-page">
      <div className="map-wrap">
        <section ref={containerRef} className="map" data-testid="map" aria-label={t("map.label")} />
        <div ref={tooltipRef} className="map-tooltip" hidden />
        {loading && (
          <div className="map-overlay" role="status">
            <span className="spinner" aria-hidden="true" /> {t("map.loading")}
          </div>
        )}
        {(error !== null || webglError) && (
          <div className="map-overlay map-overlay-error" role="alert">
            {webglError ? t("map.webglError") : <ErrorMessage error={error} />}
          </div>
        )}
      </div>
      <aside className="map-panel" aria-label={t("map.panel")}>
        <div className="search">
          <label htmlFor="commune-search" className="panel-label">
            {t("map.search")}
          </label>
          <div className="search-box">
            <span className="search-icon">
              <Icon name="search" size={18} />
            </span>
            <input
              id="commune-search"
              type="search"
              aria-controls="commune-results"
              autoComplete="off"
              placeholder={t("map.searchPlaceholder")}
              value={query}
              onChange={(e) => {
                setQuery(e.target.value);
                setActive(0);
              }}
              onKeyDown={onSearchKey}
            />
          </div>
          {query.trim() && (
            <ul className="search-results" id="commune-results">
              {results.length === 0 ? (
                <li className="muted search-empty">{t("map.noResults")}</li>
              ) : (
                results.map((c, i) => (
                  <li key={c.code}>
                    <button type="button" className={i === active ? "active" : ""} onClick={() => flyTo(c.code)} onMouseEnter={() => setActive(i)}>
                      <span>{name(c)}</span>
                      <span className="muted small">{c.code}</span>
                    </button>
                  </li>
                ))
              )}
            </ul>
          )}
        </div>

        {currentDevice ? (
          <MapDevicePanel device={currentDevice} profiles={profiles} onClose={closeDevice} />
        ) : current ? (
          <section className="panel-card" data-testid="commune-panel" aria-live="polite">
            <div className="panel-kicker">{unitTypeLabel(current, unit, lang, t)}</div>
            <h2 data-testid="commune-name">{name(current)}</h2>
            {lang !== "en" && current.fullNameEn && (
              <div className="muted" lang="en">
                {current.fullNameEn}
              </div>
            )}
            <dl className="facts">
              <dt>{t("map.code")}</dt>
              <dd data-testid="commune-code">{current.code}</dd>
              <dt>{t("map.area")}</dt>
              <dd>{area === null ? "—" : t("map.areaValue", { value: formatNumber(area, lang) })}</dd>
              <dt>{t("map.unitType")}</dt>
              <dd>{unitTypeLabel(current, unit, lang, t)}</dd>
            </dl>
            <div className="panel-actions">
              <button type="button" className="btn btn-secondary" onClick={() => setSelected(null)}>
                {t("map.clearSelection")}
              </button>
              <button type="button" className="btn btn-ghost" onClick={wholeProvince}>
                <Icon name="expand" size={16} /> {t("map.zoomToProvince")}
              </button>
            </div>
          </section>
        ) : (
          <section className="panel-card" data-testid="province-panel">
            <div className="panel-kicker">{t("map.province")}</div>
            <h2>{province ? (lang === "en" ? province.fullNameEn || province.fullName : province.fullName) : t("app.provinceFallback")}</h2>
            <dl className="facts">
              <dt>{t("map.communeCount")}</dt>
              <dd>{communes.length ? formatNumber(communes.length, lang, 0) : "…"}</dd>
              {province?.areaKm2 != null && (
                <>
                  <dt>{t("map.area")}</dt>
                  <dd>{t("map.areaValue", { value: formatNumber(province.areaKm2, lang) })}</dd>
                </>
              )}
              {canDevices && devices && (
                <>
                  <dt>{t("map.devices")}</dt>
                  <dd data-testid="map-device-count">
                    {t("map.devicesValue", { count: deviceCounts.total, online: formatNumber(deviceCounts.online, lang, 0) })}
                    {deviceCounts.alarm > 0 && <span className="map-alarm-count"> · {t("map.devicesAlarm", { count: deviceCounts.alarm })}</span>}
                  </dd>
                </>
              )}
            </dl>
            <p className="muted small">{t("map.clickHint")}</p>
          </section>
        )}

        <section className="legend" aria-label={t("map.legend")}>
          <div className="panel-label">{t("map.legend")}</div>
          <ul>
            <li>
              <span className="swatch swatch-line" style={{ borderColor: COLORS.provinceLine }} /> {t("map.legendProvince")}
            </li>
            <li>
              <span className="swatch" style={{ background: COLORS.communeFill, borderColor: COLORS.communeLine }} /> {t("map.legendCommune")}
            </li>
            <li>
              <span className="swatch" style={{ background: COLORS.communeSelected, borderColor: COLORS.highlightLine }} /> {t("map.legendSelected")}
            </li>
          </ul>
          {legendSymbols && (
            <div className="legend-devices">
              <label className="check legend-toggle">
                <input type="checkbox" checked={showDevices} onChange={(e) => setShowDevices(e.target.checked)} data-testid="toggle-devices" />
                <span>{t("map.legendDevices")}</span>
              </label>
              {showDevices && (
                <ul>
                  <li>
                    <img src={legendSymbols.ok} alt="" width={22} height={22} /> {t("map.legendOnline")}
                  </li>
                  {SEVERITIES.map((s) => (
                    <li key={s}>
                      <img src={legendSymbols[s]} alt="" width={22} height={22} /> {t("map.legendAlarm", { severity: t(`severity.${s}`) })}
                    </li>
                  ))}
                  <li>
                    <img src={legendSymbols.offline} alt="" width={22} height={22} /> {t("map.legendOffline")}
                  </li>
                  <li>
                    <img src={legendSymbols.disabled} alt="" width={22} height={22} /> {t("map.legendDisabled")}
                  </li>
                  <li>
                    <span className="legend-cluster" style={{ background: "#0e6b5c" }} aria-hidden="true">
                      5
                    </span>{" "}
                    {t("map.legendCluster")}
                  </li>
                </ul>
              )}
            </div>
          )}
        </section>
      </aside>
    </div>
  );
}
