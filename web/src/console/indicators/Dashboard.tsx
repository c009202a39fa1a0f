// The leaders' dashboard (/indicators): the plan scorecard by sector (green/amber/red, sparkline,
// forecast), the chart of the chosen target with its goal lines, a choropleth of the communes for
// any indicator, and the plan's tasks.
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../shared/api";
import { formatNumber } from "../../shared/format";
import { ErrorMessage } from "../pages/Misc";
import { useAgencyName } from "../useAgencyName";
import { type Scorecard, type Target, type Task, pick, recentPeriods, statusTone } from "./client";
import { CommuneMap } from "./CommuneMap";
import { TargetChart } from "./TargetChart";
import "./indicators.css";

function Sparkline({ values, tone }: { values: number[]; tone: string }) {
  if (values.length < 2) return <svg className="ind-spark" width="96" height="28" aria-hidden="true" />;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const pts = values.map((v, i) => `${(i / (values.length - 1)) * 92 + 2},${26 - ((v - min) / span) * 22}`).join(" ");
  const last = pts.split(" ").at(-1)?.split(",") ?? ["0", "0"];
  return (
    <svg className={`ind-spark ind-tone-${tone}`} width="96" height="28" viewBox="0 0 96 28" aria-hidden="true">
      <polyline points={pts} fill="none" strokeWidth="2" />
      <circle cx={last[0]} cy={last[1]} r="2.5" />
    </svg>
  );
}

function fmtValue(target: Target, v: number | null | undefined, lang: string): string {
  if (v === null || v === undefined) return "—";
  if (target.unit === "event") return v >= 1 ? "✓" : "—";
  const pct = target.unit === "percent" || target.unit === "done" || target.unit === "percent_per_year";
  return `${formatNumber(v, lang, target.unit === "fraction" ? 3 : 1)}${pct ? " %" : ""}`;
}

/** Drill-down: the chosen indicator in one commune, month by month over the last year. */
function CommuneDetail({ commune, indicator }: { commune: { code: string; name: string; nameEn: string }; indicator: string }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [rows, setRows] = useState<Array<[string, number]> | null>(null);
  useEffect(() => {
    setRows(null);
    api<{ rows: Array<[string, string, string, number]> }>(
      `/api/analytics?dx=${encodeURIComponent(indicator)}&pe=LAST_12_MONTHS&ou=${encodeURIComponent(commune.code)}`,
    ).then(
      (r) => setRows(r.rows.map((x) => [x[1], x[3]] as [string, number]).sort((a, b) => a[0].localeCompare(b[0]))),
      () => setRows([]),
    );
  }, [commune.code, indicator]);
  return (
    <div className="ind-commune" data-testid="commune-detail">
      <strong>{pick(commune, lang)}</strong> · {t("indicators.relative.LAST_12_MONTHS")}
      {rows && rows.length === 0 && <p className="ind-map-note">{t("indicators.noValue")}</p>}
      {rows && rows.length > 0 && (
        <div className="ind-commune-body">
          <Sparkline values={rows.map((r) => r[1])} tone="green" />
          <span>
            {rows.at(-1)?.[0]}: <strong>{formatNumber(rows.at(-1)?.[1], lang, 2)}</strong>
          </span>
        </div>
      )}
    </div>
  );
}

export function IndicatorsDashboard() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const agencyName = useAgencyName();
  const [card, setCard] = useState<Scorecard | null>(null);
  const [tasks, setTasks] = useState<Task[]>([]);
  const [indicators, setIndicators] = useState<Array<{ id: string; name: string; nameEn: string }>>([]);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [mapDx, setMapDx] = useState("");
  const [mapPe, setMapPe] = useState("LAST_12_MONTHS");
  const [commune, setCommune] = useState<{ code: string; name: string; nameEn: string } | null>(null);

  useEffect(() => {
    api<Scorecard>("/api/indicators/scorecard").then((c) => {
      setCard(c);
      setSelected((s) => s ?? c.targets.find((x) => x.series.length > 1)?.id ?? c.targets[0]?.id ?? null);
    }, setError);
    api<Task[]>("/api/indicators/tasks").then(setTasks, () => undefined);
    api<{ indicators: Array<{ id: string; name: string; nameEn: string; sector: string | null }> }>("/api/indicators/metadata").then((m) => {
      setIndicators(m.indicators);
      const preferred = ["demo.fiber_rate", "reports.on_time_rate", "iot.online_rate"].map((id) => m.indicators.find((x) => x.id === id)).find(Boolean);
      setMapDx((d) => d || (preferred ?? m.indicators[0])?.id || "");
    }, setError);
  }, []);

  const bySector = useMemo(() => {
    const m = new Map<string, Target[]>();
    for (const x of card?.targets ?? []) m.set(x.sector, [...(m.get(x.sector) ?? []), x]);
    return [...m.entries()];
  }, [card]);
  const target = card?.targets.find((x) => x.id === selected) ?? null;
  const totals = card
    ? (["met", "on_track", "at_risk", "off_track", "no_data"] as const).map((s) => [s, card.targets.filter((x) => x.status === s).length] as const)
    : [];

  const forecastText = (x: Target) => {
    const f = x.forecast;
    if (x.unit === "event") return x.nextDate ? t("indicators.dxDay", { date: x.nextDate.split("-").reverse().join("/") }) : "";
    if (!f) return x.latest ? t("indicators.noForecast") : "";
    const reach =
      f.reachesYear === null
        ? t("indicators.neverAtPace")
        : t("indicators.reachesIn", { year: Math.ceil(Math.max(f.reachesYear, Number(x.latest?.period ?? 0))) });
    return `${t("indicators.forecastAt", { value: fmtValue(x, f.value, lang), low: formatNumber(f.low, lang, 1), high: formatNumber(f.high, lang, 1), year: f.year })} · ${reach} · ${t(`indicators.method.${f.method}`)}`;
  };

  return (
    <div className="page page-wide ind-page">
      <header className="page-head">
        <div>
          <h1>{t("indicators.dashTitle")}</h1>
          <p className="page-sub">
            {t("indicators.dashSub")}
            {card && <> · {t("indicators.dxDay", { date: card.nextDxDay.split("-").reverse().join("/") })}</>}
          </p>
        </div>
      </header>
      {error ? (
        <div className="alert alert-error" role="alert">
          <ErrorMessage error={error} />
        </div>
      ) : null}
      {card && (
        <div className="ind-totals" data-testid="scorecard-totals">
          {totals.map(([s, n]) => (
            <div key={s} className={`ind-total ind-tone-${statusTone(s)}`}>
              <span className="ind-total-value">{n}</span>
              <span className="ind-total-label">{t(`indicators.status.${s}`)}</span>
            </div>
          ))}
        </div>
      )}
      <div className="ind-grid">
        <section className="card ind-scorecard" aria-label={t("indicators.dashTitle")} data-testid="scorecard">
          {!card && !error && <p className="muted">{t("common.loading")}</p>}
          {bySector.map(([sector, list]) => (
            <div key={sector} className="ind-sector">
              <h2 className="ind-sector-title">{t(`indicators.sector.${sector}`, { defaultValue: sector })}</h2>
              <table className="table table-compact ind-table">
                <thead>
                  <tr>
                    <th>{t("indicators.target")}</th>
                    <th className="num">{t("indicators.latest")}</th>
                    <th className="num">{t("indicators.goal")}</th>
                    <th>{t("indicators.trend")}</th>
                    <th>{t("indicators.forecast")}</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((x) => (
                    <tr
                      key={x.id}
                      className={`ind-row${x.id === selected ? " ind-row-selected" : ""}`}
                      data-status={x.status}
                      data-target={x.id}
                      tabIndex={0}
                      onClick={() => setSelected(x.id)}
                      onKeyDown={(e) => {
                        if (e.key === "Enter" || e.key === " ") {
                          e.preventDefault();
                          setSelected(x.id);
                        }
                      }}
                    >
                      <td>
                        <span className={`ind-chip ind-tone-${statusTone(x.status)}`}>{t(`indicators.status.${x.status}`)}</span>
                        <span className="ind-name">{pick(x, lang)}</span>
                        {x.system && <span className="ind-system">{x.system}</span>}
                      </td>
                      <td className="num">
                        {fmtValue(x, x.latest?.value, lang)}
                        {x.latest && <div className="ind-sub">{x.latest.period}</div>}
                      </td>
                      <td className="num">
                        {x.goal ? (x.unit === "event" ? "10/10" : fmtValue(x, x.goal.value, lang)) : "—"}
                        {x.goal && <div className="ind-sub">{x.goal.year}</div>}
                      </td>
                      <td>
                        <Sparkline values={x.series.map((p) => p.value)} tone={statusTone(x.status)} />
                      </td>
                      <td className="ind-forecast">{forecastText(x)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
        </section>
        <aside className="ind-side">
          <section className="card ind-card">
            <h2 className="section-title">{t("indicators.chartTitle")}</h2>
            {target ? <TargetChart target={target} /> : <p className="muted">{t("indicators.chartHint")}</p>}
            {target?.forecast && (
              <p className="ind-note">
                {t("indicators.perYear", { value: formatNumber(target.forecast.slopePerYear, lang, 2) })} · {forecastText(target)}
              </p>
            )}
          </section>
          <section className="card ind-card">
            <h2 className="section-title">{t("indicators.mapTitle")}</h2>
            <div className="ind-map-controls">
              <label>
                {t("indicators.mapIndicator")}{" "}
                <select aria-label={t("indicators.mapIndicator")} value={mapDx} onChange={(e) => setMapDx(e.target.value)}>
                  {indicators.map((i) => (
                    <option key={i.id} value={i.id}>
                      {pick(i, lang)}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                {t("indicators.mapPeriod")}{" "}
                <select aria-label={t("indicators.mapPeriod")} value={mapPe} onChange={(e) => setMapPe(e.target.value)}>
                  {[
                    "LAST_12_MONTHS",
                    "THIS_YEAR",
                    "LAST_YEAR",
                    ...recentPeriods("yearly", 3),
                    ...recentPeriods("quarterly", 4),
                    ...recentPeriods("monthly", 12),
                  ].map((p) => (
                    <option key={p} value={p}>
                      {t(`indicators.relative.${p}`, { defaultValue: p })}
                    </option>
                  ))}
                </select>
              </label>
            </div>
            <CommuneMap indicator={mapDx} period={mapPe} onSelect={(code, name) => setCommune({ code, ...name })} />
            {commune && <CommuneDetail commune={commune} indicator={mapDx} />}
          </section>
        </aside>
      </div>
      <section className="card table-card ind-tasks">
        <h2 className="section-title">{t("indicators.tasksTitle")}</h2>
        <div className="table-scroll">
          <table className="table table-compact">
            <thead>
              <tr>
                <th>{t("indicators.task")}</th>
                <th>{t("indicators.leadAgency")}</th>
                <th>{t("indicators.deadline")}</th>
                <th>{t("indicators.progress")}</th>
                <th>{t("indicators.evidence")}</th>
              </tr>
            </thead>
            <tbody>
              {tasks.map((x) => (
                <tr key={x.id}>
                  <td>
                    {x.system && <span className="ind-system">{x.system}</span>} {lang === "en" ? x.titleEn : x.title}
                    {x.nextDate && <div className="ind-sub">{t("indicators.dxDay", { date: x.nextDate.split("-").reverse().join("/") })}</div>}
                  </td>
                  <td>{x.leadAgency ? agencyName(x.leadAgency) : "—"}</td>
                  <td className={x.overdue ? "tone-bad" : undefined}>
                    {x.deadline ? x.deadline.split("-").reverse().join("/") : "—"}
                    {x.overdue && <div className="ind-sub">{t("indicators.overdue")}</div>}
                  </td>
                  <td>
                    <div className="ind-progress" title={`${x.percent}%`}>
                      <span style={{ width: `${x.percent}%` }} />
                    </div>
                    <div className="ind-sub">
                      {t(`indicators.taskStatus.${x.status}`)} · {x.percent}%
                    </div>
                  </td>
                  <td>
                    {x.evidence.map((e) => (
                      <a key={e.url} href={e.url} target="_blank" rel="noreferrer noopener">
                        {e.title}
                      </a>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
}
