// A target's yearly values with its goals as lines and the forecast (dashed, with its 80%
// interval) up to the goal's year (ECharts).
import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { formatNumber } from "../../shared/format";
import { type ChartOption, init, type LineSeriesOption } from "../chart";
import { STATUS_COLORS, type Target, pick } from "./client";

export function TargetChart({ target }: { target: Target }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const chart = init(el, undefined, { renderer: "canvas" });
    const s = target.series;
    const f = target.forecast;
    const lastYear = s.length ? Number(s[s.length - 1]?.period) : new Date().getFullYear();
    const goalYears = target.goals.map((g) => g.year).filter((y): y is number => typeof y === "number");
    const endYear = Math.max(lastYear, f ? Math.ceil(f.year) : lastYear, ...goalYears, target.goal?.year ?? lastYear);
    const firstYear = s.length ? Number(s[0]?.period) : lastYear;
    const years: string[] = [];
    for (let y = firstYear; y <= endYear; y++) years.push(String(y));
    const at = (y: string) => s.find((p) => p.period === y)?.value ?? null;
    const series: LineSeriesOption[] = [
      {
        name: t("indicators.series"),
        type: "line",
        data: years.map(at),
        symbolSize: 7,
        lineStyle: { width: 2.5, color: "#0e4a5a" },
        itemStyle: { color: "#0e4a5a" },
        connectNulls: true,
        markLine: {
          symbol: "none",
          silent: true,
          lineStyle: { type: "solid", color: STATUS_COLORS.met, width: 1.5 },
          label: { formatter: "{b}", position: "insideEndTop" },
          data: target.goals
            .filter((g) => typeof g.value === "number" || typeof g.min === "number")
            .map((g) => ({ name: t("indicators.goalLine", { year: g.year ?? 2030 }), yAxis: (typeof g.value === "number" ? g.value : g.min) as number })),
        },
      },
    ];
    if (f && s.length) {
      const fy = String(Math.round(f.year));
      const line = years.map((y) => (y === String(lastYear) ? at(y) : y === fy ? f.value : null));
      series.push(
        {
          name: t("indicators.forecastLine"),
          type: "line",
          data: line,
          connectNulls: true,
          lineStyle: { type: "dashed", color: "#b0275a" },
          itemStyle: { color: "#b0275a" },
        },
        {
          name: t("indicators.interval"),
          type: "line",
          data: years.map((y) => (y === String(lastYear) ? at(y) : y === fy ? f.high : null)),
          connectNulls: true,
          symbol: "none",
          lineStyle: { type: "dotted", color: "#d98aa8", width: 1 },
        },
        {
          name: t("indicators.interval"),
          type: "line",
          data: years.map((y) => (y === String(lastYear) ? at(y) : y === fy ? f.low : null)),
          connectNulls: true,
          symbol: "none",
          lineStyle: { type: "dotted", color: "#d98aa8", width: 1 },
        },
      );
    }
    const option: ChartOption = {
      animation: false,
      grid: { left: 48, right: 24, top: 24, bottom: 32 },
      tooltip: { trigger: "axis", valueFormatter: (v) => (typeof v === "number" ? formatNumber(v, lang, 2) : "—") },
      xAxis: { type: "category", data: years },
      yAxis: { type: "value", scale: false },
      series,
    } as ChartOption;
    chart.setOption(option);
    const ro = new ResizeObserver(() => chart.resize());
    ro.observe(el);
    return () => {
      ro.disconnect();
      chart.dispose();
    };
  }, [target, t, lang]);

  return (
    <figure className="ind-chart-figure">
      <div ref={ref} className="ind-chart" role="img" aria-label={`${t("indicators.chartTitle")}: ${pick(target, lang)}`} data-testid="target-chart" />
      <figcaption className="chart-caption">{pick(target, lang)}</figcaption>
    </figure>
  );
}
