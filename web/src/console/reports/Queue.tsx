// The agency's queue (/reports): reports sorted by deadline, with filters kept in the address,
// refreshed live when reports arrive, change or go overdue.
import { useCallback, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../shared/api";
import { formatDateTime } from "../../shared/format";
import { navigate, useLocation } from "../../shared/router";
import { ALL_STATUSES, OPEN_STATUSES, type Report, categoryName } from "../../app/reports/client";
import { throttle, useLiveEvents } from "../live";
import { ErrorMessage } from "../pages/Misc";
import { useAgencyName } from "../useAgencyName";
import { useCommuneName } from "../useCommuneName";
import { Deadline, StatusChip, useCategories } from "./parts";

export function ReportQueuePage() {
  const { t, i18n } = useTranslation();
  const { search } = useLocation();
  const p = new URLSearchParams(search);
  const status = p.get("status") ?? "open";
  const category = p.get("category") ?? "";
  const overdue = p.get("overdue") === "1";
  const q = p.get("q") ?? "";
  const [reports, setReports] = useState<Report[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const categories = useCategories();
  const agencyName = useAgencyName();
  const { name: communeName } = useCommuneName();

  const set = (patch: Record<string, string>) => {
    const next = new URLSearchParams(search);
    for (const [k, v] of Object.entries(patch)) v ? next.set(k, v) : next.delete(k);
    const qs = next.toString();
    navigate(`/reports${qs ? `?${qs}` : ""}`, { replace: true });
  };

  const load = useCallback(() => {
    const query = new URLSearchParams({ limit: "200", order: "deadline" });
    if (status === "open") query.set("status", OPEN_STATUSES.join(","));
    else if (status !== "all") query.set("status", status);
    if (category) query.set("category", category);
    if (overdue) query.set("overdue", "true");
    if (q) query.set("q", q);
    api<Report[]>(`/api/reports?${query}`).then((r) => {
      setReports(r);
      setError(null);
    }, setError);
  }, [status, category, overdue, q]);

  useEffect(load, [load]);
  const refresh = useMemo(() => throttle(load, 1000), [load]);
  useEffect(() => () => refresh.cancel(), [refresh]);
  useLiveEvents((e) => {
    if (e.topic.startsWith("report.")) refresh.run();
  });

  return (
    <div className="page page-wide">
      <header className="page-head">
        <div>
          <h1>{t("reports.queueTitle")}</h1>
          <p className="page-sub">{t("reports.queueSub")}</p>
        </div>
        {reports && <span className="page-meta">{t("reports.count", { count: reports.length })}</span>}
      </header>
      <div className="report-filters">
        <select aria-label={t("reports.status")} value={status} onChange={(e) => set({ status: e.target.value === "open" ? "" : e.target.value })}>
          <option value="open">{t("reports.openOnly")}</option>
          <option value="all">{t("reports.allStatuses")}</option>
          {ALL_STATUSES.map((s) => (
            <option key={s} value={s}>
              {t(`reports.statuses.${s}`)}
            </option>
          ))}
        </select>
        <select aria-label={t("reports.category")} value={category} onChange={(e) => set({ category: e.target.value })}>
          <option value="">{t("reports.allCategories")}</option>
          {categories.map((c) => (
            <option key={c.code} value={c.code}>
              {categoryName(c, i18n.language)}
            </option>
          ))}
        </select>
        <label className="check">
          <input type="checkbox" checked={overdue} onChange={(e) => set({ overdue: e.target.checked ? "1" : "" })} /> {t("reports.overdueOnly")}
        </label>
        <input
          type="search"
          placeholder={t("reports.search")}
          defaultValue={q}
          onKeyDown={(e) => e.key === "Enter" && set({ q: (e.target as HTMLInputElement).value })}
        />
      </div>
      {error ? (
        <div className="alert alert-error" role="alert">
          <ErrorMessage error={error} />
        </div>
      ) : !reports ? (
        <p className="muted">{t("common.loading")}</p>
      ) : reports.length === 0 ? (
        <p className="muted">{t("reports.empty")}</p>
      ) : (
        <div className="card table-card">
          <table className="table" data-testid="report-queue">
            <thead>
              <tr>
                <th>{t("reports.id")}</th>
                <th>{t("reports.category")}</th>
                <th>{t("reports.description")}</th>
                <th>{t("reports.place")}</th>
                <th>{t("reports.agency")}</th>
                <th>{t("reports.received")}</th>
                <th>{t("reports.deadline")}</th>
                <th>{t("reports.status")}</th>
              </tr>
            </thead>
            <tbody>
              {reports.map((r) => (
                <tr key={r.id} className="report-row" onClick={() => navigate(`/reports/${r.id}`)} data-testid={`report-row-${r.id}`}>
                  <td>
                    <a href={`/reports/${r.id}`} onClick={(e) => e.preventDefault()}>
                      #{r.id}
                    </a>
                  </td>
                  <td>{r.categoryName}</td>
                  <td className="report-desc" title={r.description}>
                    {r.description}
                  </td>
                  <td>{communeName(r.commune)}</td>
                  <td>{agencyName(r.agency)}</td>
                  <td className="nowrap">{formatDateTime(r.requestedAt, i18n.language)}</td>
                  <td className="nowrap">
                    <Deadline report={r} />
                  </td>
                  <td>
                    <StatusChip status={r.status} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
