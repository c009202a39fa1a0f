// The last day of one numeric attribute, from the temporal API (telemetry for devices, the
// broker's attribute history for other entities).
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { formatDateTime } from "../../shared/format";
import { init, toVietnamWallClock } from "../chart";
import { history } from "./client";

export function HistoryChart({ id, attr, version }: { id: string; attr: string; version: number }) {
  const { t, i18n } = useTranslation();
  const ref = useRef<HTMLDivElement>(null);
  const [points, setPoints] = useState<Array<[number, string]> | null>(null);
  const [error, setError] = useState<string | null>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` is the refresh trigger (live events)
  useEffect(() => {
    const ctl = new AbortController();
    history(id, attr, new Date(Date.now() - 86_400_000), ctl.signal)
      .then((p) => {
        setPoints(p);
        setError(null);
      })
      .catch((e) => !ctl.signal.aborted && setError(String(e.message ?? e)));
    return () => ctl.abort();
  }, [id, attr, version]);

  useEffect(() => {
    if (!ref.current || !points?.length) return;
    const chart = init(ref.current);
    chart.setOption({
      grid: { left: 48, right: 16, top: 16, bottom: 28 },
      tooltip: { trigger: "axis", valueFormatter: (v: unknown) => String(v) },
      xAxis: { type: "time" },
      yAxis: { type: "value", scale: true },
      series: [{ type: "line", showSymbol: points.length < 50, data: points.map(([v, ts]) => [toVietnamWallClock(Date.parse(ts)), v]) }],
    } as never);
    const resize = () => chart.resize();
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      chart.dispose();
    };
  }, [points]);

  if (error) return <p className="empty-state">{error}</p>;
  if (!points) return <p className="page-loading">{t("common.loading")}</p>;
  if (!points.length) return <p className="empty-state">{t("context.noHistory")}</p>;
  return (
    <div>
      <div ref={ref} className="ctx-chart" data-testid="context-history" />
      <p className="table-meta">{t("context.historyNote", { n: points.length, last: formatDateTime(points[points.length - 1][1], i18n.language) })}</p>
    </div>
  );
}
