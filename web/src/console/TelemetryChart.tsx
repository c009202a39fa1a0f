// A device's history for one key (ECharts): the last hour or day as raw points, the last week as
// hourly averages with the min–max band, the last year as daily ones. Points arriving live
// (iot.telemetry) are appended to the raw views; the aggregated views are fetched again at most
// once a minute while data flows. Alarm levels (a water-level station's BĐ1–BĐ3, or the rules'
// thresholds) are drawn as mark lines.
import { useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../shared/api";
import { formatDateTime, formatNumber } from "../shared/format";
import { type ChartOption, init, type LineSeriesOption, toVietnamWallClock } from "./chart";
import { digitsFor, type Level, SEVERITY_COLORS } from "./iot";
import { throttle, useLiveEvents } from "./live";

export type RangeKey = "1h" | "24h" | "7d" | "1y";

export const RANGES: Record<RangeKey, { ms: number; interval: string | null }> = {
  "1h": { ms: 3_600_000, interval: null },
  "24h": { ms: 86_400_000, interval: null },
  "7d": { ms: 7 * 86_400_000, interval: "1h" },
  "1y": { ms: 365 * 86_400_000, interval: "1d" },
};

const RAW_LIMIT = 20_000;

type RawPoint = { ts: number; v: number };
type AggPoint = { ts: number; avg: number | null; min: number | null; max: number | null };
type Series = { kind: "raw"; points: RawPoint[]; downsampled?: boolean } | { kind: "agg"; points: AggPoint[] };

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The address of the history of a key over a range, as JSON or CSV. */
export function telemetryUrl(
  deviceId: string,
  key: string,
  range: RangeKey,
  opts: { to?: number; agg?: string; csv?: boolean; interval?: string } = {},
): string {
  const to = opts.to ?? Date.now();
  const r = RANGES[range];
  const q = new URLSearchParams({ keys: key, from: new Date(to - r.ms).toISOString(), to: new Date(to).toISOString() });
  const interval = opts.interval ?? r.interval;
  if (interval) {
    q.set("interval", interval);
    q.set("agg", opts.agg ?? "avg");
  } else q.set("limit", String(RAW_LIMIT));
  if (opts.csv) q.set("format", "csv");
  return `/api/devices/${encodeURIComponent(deviceId)}/telemetry?${q}`;
}

async function fetchSeries(deviceId: string, key: string, range: RangeKey, signal: AbortSignal): Promise<Series> {
  const to = Date.now();
  if (!RANGES[range].interval) {
    const body = await api<Record<string, { ts: string; value: unknown }[]>>(telemetryUrl(deviceId, key, range, { to }), { signal });
    const list = body[key] ?? [];
    if (list.length < RAW_LIMIT) {
      const points: RawPoint[] = [];
      for (const p of list) {
        const v = num(p.value);
        if (v !== null) points.push({ ts: Date.parse(p.ts), v });
      }
      return { kind: "raw", points };
    }
    // Too many points for a readable chart: one-minute averages instead.
    const agg = await api<Record<string, { ts: string; value: number | null }[]>>(telemetryUrl(deviceId, key, range, { to, interval: "1m" }), { signal });
    const points: RawPoint[] = [];
    for (const p of agg[key] ?? []) if (p.value !== null) points.push({ ts: Date.parse(p.ts), v: p.value });
    return { kind: "raw", points, downsampled: true };
  }
  const [avg, min, max] = await Promise.all(
    ["avg", "min", "max"].map((agg) =>
      api<Record<string, { ts: string; value: number | null }[]>>(telemetryUrl(deviceId, key, range, { to, agg }), { signal }),
    ),
  );
  const byTs = new Map<number, AggPoint>();
  const put = (list: { ts: string; value: number | null }[] | undefined, field: "avg" | "min" | "max") => {
    for (const p of list ?? []) {
      const ts = Date.parse(p.ts);
      const item = byTs.get(ts) ?? { ts, avg: null, min: null, max: null };
      item[field] = num(p.value);
      byTs.set(ts, item);
    }
  };
  put(avg[key], "avg");
  put(min[key], "min");
  put(max[key], "max");
  return { kind: "agg", points: [...byTs.values()].sort((a, b) => a.ts - b.ts) };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function hexToRgba(hex: string, alpha: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/** Levels worth drawing: all official ones; otherwise those within the data and the nearest on each side. */
function visibleLevels(levels: Level[], lo: number, hi: number, official: boolean): Level[] {
  if (official || !Number.isFinite(lo)) return levels;
  const inside = levels.filter((l) => l.value >= lo && l.value <= hi);
  const above = levels.filter((l) => l.value > hi).sort((a, b) => a.value - b.value)[0];
  const below = levels.filter((l) => l.value < lo).sort((a, b) => b.value - a.value)[0];
  return [...inside, ...(above ? [above] : []), ...(below ? [below] : [])];
}

/** A 1–2–5 tick step giving about five ticks over a span. */
function niceStep(span: number): number {
  const raw = span / 5;
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
}

export interface TelemetryChartProps {
  deviceId: string;
  keyName: string;
  label: string;
  unit: string;
  range: RangeKey;
  levels: Level[];
  /** The levels are a water-level station's official ones: always drawn, with coloured bands. */
  officialLevels: boolean;
  /** The key's valid range (from its profile): the axis does not go past it needlessly (no −20 %). */
  bounds?: { min?: number; max?: number };
}

export function TelemetryChart({ deviceId, keyName, label, unit, range, levels, officialLevels, bounds }: TelemetryChartProps) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const boxRef = useRef<HTMLDivElement>(null);
  const chartRef = useRef<ReturnType<typeof init> | null>(null);
  const seriesRef = useRef<Series | null>(null);
  const [version, setVersion] = useState(0);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(false);
  const [reload, setReload] = useState(0);

  const redraw = useMemo(() => throttle(() => setVersion((v) => v + 1), 1000), []);
  const refetch = useMemo(() => throttle(() => setReload((n) => n + 1), 60_000), []);
  useEffect(
    () => () => {
      redraw.cancel();
      refetch.cancel();
    },
    [redraw, refetch],
  );

  // The chart instance lives as long as the component.
  useEffect(() => {
    const el = boxRef.current;
    if (!el) return;
    const chart = init(el, undefined, { renderer: "canvas" });
    chartRef.current = chart;
    chart.on("finished", () => {
      if (seriesRef.current) el.dataset.chartReady = "true";
    });
    const ro = new ResizeObserver(() => chart.resize());
    ro.observe(el);
    return () => {
      ro.disconnect();
      chart.dispose();
      chartRef.current = null;
    };
  }, []);

  // Load the history when the key or the range changes (and again, for aggregates, while data flows).
  const loadedFor = useRef("");
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload is the refetch trigger
  useEffect(() => {
    const controller = new AbortController();
    const what = `${deviceId}|${keyName}|${range}`;
    const first = loadedFor.current !== what;
    loadedFor.current = what;
    if (first) {
      seriesRef.current = null;
      setLoading(true);
      if (boxRef.current) delete boxRef.current.dataset.chartReady;
    }
    setError(false);
    fetchSeries(deviceId, keyName, range, controller.signal).then(
      (s) => {
        seriesRef.current = s;
        setLoading(false);
        setVersion((v) => v + 1);
      },
      (err) => {
        if (controller.signal.aborted || (err instanceof DOMException && err.name === "AbortError")) return;
        setError(true);
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [deviceId, keyName, range, reload]);

  useLiveEvents((e) => {
    if (e.topic !== "iot.telemetry") return;
    const items = (e.payload as { devices?: { id: string; ts: number; values: Record<string, unknown> }[] })?.devices ?? [];
    const item = items.find((d) => d.id === deviceId);
    const v = item ? num(item.values[keyName]) : null;
    const s = seriesRef.current;
    if (!item || v === null || !s) return;
    if (s.kind === "raw" && !s.downsampled) {
      const last = s.points[s.points.length - 1];
      if (!last || item.ts > last.ts) s.points.push({ ts: item.ts, v });
      else if (item.ts >= s.points[0].ts) {
        s.points.push({ ts: item.ts, v });
        s.points.sort((a, b) => a.ts - b.ts);
      }
      const start = Date.now() - RANGES[range].ms;
      while (s.points.length && s.points[0].ts < start) s.points.shift();
      redraw.run();
    } else refetch.run();
  });

  // Draw.
  // biome-ignore lint/correctness/useExhaustiveDependencies: version marks new data in seriesRef
  useEffect(() => {
    const chart = chartRef.current;
    const s = seriesRef.current;
    if (!chart) return;
    const now = Date.now();
    const digits = (v: number) => digitsFor(v);
    const fmt = (v: number | null) => (v === null ? "—" : formatNumber(v, lang, digits(v)));
    const withUnit = (v: number | null) => (v === null ? "—" : unit ? (unit === "%" ? `${fmt(v)}%` : `${fmt(v)} ${unit}`) : fmt(v));

    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    const see = (v: number | null) => {
      if (v === null) return;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    };
    if (s?.kind === "raw") for (const p of s.points) see(p.v);
    if (s?.kind === "agg")
      for (const p of s.points) {
        see(p.min);
        see(p.max);
        see(p.avg);
      }
    const shown = visibleLevels(levels, lo, hi, officialLevels);
    for (const l of shown) see(l.value);
    if (!Number.isFinite(lo)) {
      lo = 0;
      hi = 1;
    }
    const step = niceStep(Math.max(hi - lo, Math.abs(hi) * 0.05, 1e-6));
    const snap = (v: number) => Number(v.toFixed(10));
    let yMin = snap(Math.floor(snap((lo - step * 0.3) / step)) * step);
    let yMax = snap(Math.ceil(snap((hi + step * 0.3) / step)) * step);
    if (bounds?.min !== undefined && lo >= bounds.min) yMin = Math.max(yMin, bounds.min);
    if (bounds?.max !== undefined && hi <= bounds.max) yMax = Math.min(yMax, bounds.max);

    const markLine = shown.length
      ? {
          silent: true,
          symbol: ["none", "none"] as [string, string],
          animation: false,
          data: shown.map((l) => ({
            yAxis: l.value,
            lineStyle: { color: SEVERITY_COLORS[l.severity], type: "dashed" as const, width: 1.5 },
            label: {
              formatter: `${l.label} ${fmt(l.value)}`,
              position: "insideEndTop" as const,
              color: SEVERITY_COLORS[l.severity],
              fontWeight: 700,
              fontSize: 11.5,
            },
          })),
        }
      : undefined;
    const markArea =
      officialLevels && shown.length
        ? {
            silent: true,
            animation: false,
            data: shown.map((l, i) => [
              { yAxis: l.value, itemStyle: { color: hexToRgba(SEVERITY_COLORS[l.severity], 0.07) } },
              { yAxis: shown[i + 1]?.value ?? yMax },
            ]) as never,
          }
        : undefined;

    const primary = "#0e4a5a";
    const series: LineSeriesOption[] = [];
    if (s?.kind === "raw") {
      series.push({
        name: label,
        type: "line",
        data: s.points.map((p) => [toVietnamWallClock(p.ts), p.v, p.ts]),
        showSymbol: s.points.length < 40,
        symbolSize: 5,
        sampling: "lttb",
        lineStyle: { width: 2, color: primary },
        itemStyle: { color: primary },
        areaStyle: { color: "rgba(14, 74, 90, 0.08)" },
        markLine,
        markArea,
      });
    } else if (s?.kind === "agg") {
      const band = s.points.filter((p) => p.min !== null && p.max !== null);
      series.push(
        {
          name: "min",
          type: "line",
          data: band.map((p) => [toVietnamWallClock(p.ts), p.min]),
          stack: "band",
          symbol: "none",
          lineStyle: { opacity: 0 },
          silent: true,
          tooltip: { show: false },
        },
        {
          name: "band",
          type: "line",
          data: band.map((p) => [toVietnamWallClock(p.ts), (p.max as number) - (p.min as number)]),
          stack: "band",
          symbol: "none",
          lineStyle: { opacity: 0 },
          areaStyle: { color: "rgba(14, 74, 90, 0.16)" },
          silent: true,
          tooltip: { show: false },
        },
        {
          name: label,
          type: "line",
          data: s.points.filter((p) => p.avg !== null).map((p) => [toVietnamWallClock(p.ts), p.avg, p.ts, p.min, p.max]),
          showSymbol: s.points.length < 40,
          symbolSize: 5,
          lineStyle: { width: 2, color: primary },
          itemStyle: { color: primary },
          markLine,
          markArea,
        },
      );
    }

    const axisTime = {
      year: "{yyyy}",
      month: "{MM}/{yyyy}",
      day: "{dd}/{MM}",
      hour: "{HH}:{mm}",
      minute: "{HH}:{mm}",
      second: "{HH}:{mm}:{ss}",
      millisecond: "{HH}:{mm}:{ss}",
    };
    const option: ChartOption = {
      animation: false,
      grid: { left: 12, right: 16, top: 28, bottom: 8, containLabel: true },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "line", lineStyle: { color: "#8aa0aa" } },
        formatter: (params) => {
          const list = (Array.isArray(params) ? params : [params]) as { seriesName?: string; data: unknown }[];
          const main = list.find((p) => p.seriesName === label);
          if (!main) return "";
          const d = main.data as [number, number, number, number?, number?];
          const when = formatDateTime(d[2], lang);
          let html = `<div class="chart-tip"><div class="chart-tip-time">${escapeHtml(when)}</div><div><span class="chart-tip-label">${escapeHtml(
            s?.kind === "agg" ? t("device.chart.avg") : label,
          )}</span> <b>${escapeHtml(withUnit(d[1]))}</b></div>`;
          if (s?.kind === "agg")
            html += `<div class="chart-tip-range">${escapeHtml(t("device.chart.min"))} ${escapeHtml(withUnit(d[3] ?? null))} · ${escapeHtml(t("device.chart.max"))} ${escapeHtml(withUnit(d[4] ?? null))}</div>`;
          return `${html}</div>`;
        },
      },
      dataZoom: [{ type: "inside", zoomOnMouseWheel: "shift", moveOnMouseWheel: false, moveOnMouseMove: true }],
      xAxis: {
        type: "time",
        min: toVietnamWallClock(now - RANGES[range].ms),
        max: toVietnamWallClock(now),
        axisLabel: { formatter: axisTime, color: "#5d6d75", hideOverlap: true },
        axisLine: { lineStyle: { color: "#c4cfd6" } },
        splitLine: { show: false },
      },
      yAxis: {
        type: "value",
        min: yMin,
        max: yMax,
        interval: step,
        name: unit || undefined,
        nameTextStyle: { color: "#5d6d75", align: "right", padding: [0, 6, 0, 0] },
        axisLabel: { color: "#5d6d75", formatter: (v: number) => formatNumber(v, lang, Math.max(0, -Math.floor(Math.log10(step)))) },
        splitLine: { lineStyle: { color: "#e6ecef" } },
      },
      series,
    };
    chart.setOption(option, { notMerge: true });
  }, [version, lang, label, unit, levels, officialLevels, range, t, bounds?.min, bounds?.max]);

  const s = seriesRef.current;
  const empty = !loading && !error && s !== null && s.points.length === 0;
  return (
    <div className="chart-wrap">
      <div ref={boxRef} className="chart" data-testid="telemetry-chart" role="img" aria-label={t("device.chart.aria", { key: label })} />
      {loading && (
        <div className="chart-overlay" role="status">
          <span className="spinner" aria-hidden="true" /> {t("common.loading")}
        </div>
      )}
      {error && (
        <div className="chart-overlay chart-overlay-error" role="alert">
          {t("device.chart.error")}
        </div>
      )}
      {empty && <div className="chart-overlay">{t("device.chart.empty")}</div>}
      {s?.kind === "raw" && s.downsampled && <div className="chart-note">{t("device.chart.downsampled")}</div>}
    </div>
  );
}
