// Report statistics (/reports/stats): received, resolved, on-time share, median handling time and
// satisfaction for a period, by agency, commune or category — the same numbers the indicators use.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../shared/api";
import { formatNumber } from "../../shared/format";
import { categoryName } from "../../app/reports/client";
import { ErrorMessage } from "../pages/Misc";
import { useAgencyName } from "../useAgencyName";
import { useCommuneName } from "../useCommuneName";
import { useCategories } from "./parts";

interface Row {
  key: string | null;
  received: number;
  resolved: number;
  onTime: number;
  onTimeShare: number | null;
  medianHandlingHours: number | null;
  satisfaction: number | null;
  open: number;
  overdue: number;
}

function periods(): string[] {
  const now = new Date(Date.now() + 7 * 3600_000);
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth() + 1;
  const q = Math.ceil(m / 3);
  const list = [`${y}${String(m).padStart(2, "0")}`, `${y}Q${q}`, String(y)];
  if (q > 1) list.push(`${y}Q${q - 1}`);
  list.push(String(y - 1));
  return list;
}

export function ReportStatsPage() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [period, setPeriod] = useState("");
  const [by, setBy] = useState<"agency" | "commune" | "category">("agency");
  const [data, setData] = useState<{ total: Row; rows: Row[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const agencyName = useAgencyName();
  const { name: communeName } = useCommuneName();
  const categories = useCategories();

  useEffect(() => {
    const q = new URLSearchParams({ by });
    if (period) q.set("period", period);
    api<{ total: Row; rows: Row[] }>(`/api/reports/statistics?${q}`).then(setData, setError);
  }, [period, by]);

  const label = (key: string | null) => {
    if (by === "agency") return agencyName(key);
    if (by === "commune") return communeName(key);
    const c = categories.find((x) => x.code === key);
    return c ? categoryName(c, lang) : (key ?? "—");
  };
  const max = Math.max(1, ...(data?.rows.map((r) => r.received) ?? [1]));
  const pct = (x: number | null) => (x === null ? "—" : `${formatNumber(x * 100, lang, 1)} %`);
  const cells = (r: Row) => (
    <>
      <td className="num">{formatNumber(r.received, lang, 0)}</td>
      <td className="num">{formatNumber(r.resolved, lang, 0)}</td>
      <td className="num">{pct(r.onTimeShare)}</td>
      <td className="num">{formatNumber(r.medianHandlingHours, lang, 1)}</td>
      <td className="num">{r.satisfaction === null ? "—" : `${formatNumber(r.satisfaction, lang, 1)}/5`}</td>
      <td className="num">{formatNumber(r.open, lang, 0)}</td>
      <td className="num">{formatNumber(r.overdue, lang, 0)}</td>
    </>
  );

  return (
    <div className="page page-wide">
      <header className="page-head">
        <div>
          <h1>{t("reports.statsTitle")}</h1>
          <p className="page-sub">{t("reports.statsSub")}</p>
        </div>
      </header>
      <div className="report-filters">
        <label>
          {t("reports.period")}{" "}
          <select value={period} onChange={(e) => setPeriod(e.target.value)}>
            <option value="">{t("reports.last30")}</option>
            {periods().map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("reports.groupBy")}{" "}
          <select value={by} onChange={(e) => setBy(e.target.value as typeof by)}>
            <option value="agency">{t("reports.byAgency")}</option>
            <option value="commune">{t("reports.byCommune")}</option>
            <option value="category">{t("reports.byCategory")}</option>
          </select>
        </label>
      </div>
      {error ? (
        <div className="alert alert-error" role="alert">
          <ErrorMessage error={error} />
        </div>
      ) : !data ? (
        <p className="muted">{t("common.loading")}</p>
      ) : (
        <div className="card table-card">
          <table className="table" data-testid="report-stats">
            <thead>
              <tr>
                <th />
                <th />
                <th className="num">{t("reports.received")}</th>
                <th className="num">{t("reports.resolvedCount")}</th>
                <th className="num">{t("reports.onTime")}</th>
                <th className="num">{t("reports.median")}</th>
                <th className="num">{t("reports.satisfaction")}</th>
                <th className="num">{t("reports.open")}</th>
                <th className="num">{t("reports.overdue")}</th>
              </tr>
            </thead>
            <tbody>
              <tr className="strong">
                <td>{t("reports.total")}</td>
                <td />
                {cells(data.total)}
              </tr>
              {data.rows.map((r) => (
                <tr key={r.key ?? "none"}>
                  <td>{label(r.key)}</td>
                  <td style={{ width: 120 }}>
                    <div className="report-bar" style={{ width: `${(100 * r.received) / max}%` }} />
                  </td>
                  {cells(r)}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
