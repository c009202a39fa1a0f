// "My reports": those filed on this device (by tracking key) and, when signed in, the account's.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../shared/api";
import { formatDateTime } from "../../shared/format";
import { Link } from "../../shared/router";
import { OPEN_STATUSES, type Report } from "./client";
import { myReports } from "./mine";
import "./reports.css";

export function ReportList({ reports }: { reports: Report[] }) {
  const { t, i18n } = useTranslation();
  return (
    <ul className="rp-list" data-testid="my-reports">
      {reports.map((r) => (
        <li key={r.id}>
          <Link to={`/app/reports/${r.id}`}>
            <span className={`rp-status ${OPEN_STATUSES.includes(r.status) ? "" : "closed"}`}>{t(`reports.statuses.${r.status}`)}</span>{" "}
            <strong>#{r.id}</strong> {r.categoryName}
            <span className="rp-desc">{r.description}</span>
            <span className="muted small">{formatDateTime(r.requestedAt, i18n.language)}</span>
          </Link>
        </li>
      ))}
    </ul>
  );
}

export function MyReports() {
  const { t } = useTranslation();
  const [reports, setReports] = useState<Report[] | null>(null);
  useEffect(() => {
    const items = myReports();
    Promise.all([
      items.length ? api<Report[]>("/api/reports/lookup", { method: "POST", body: { items } }) : Promise.resolve([]),
      api<Report[]>("/api/reports/mine").catch(() => [] as Report[]),
    ]).then(
      ([a, b]) => {
        const seen = new Set<string>();
        setReports([...a, ...b].filter((r) => !seen.has(r.id) && seen.add(r.id)).sort((x, y) => y.requestedAt.localeCompare(x.requestedAt)));
      },
      () => setReports([]),
    );
  }, []);
  return (
    <section>
      <Link to="/app/reports" className="btn-text">
        ← {t("reports.back")}
      </Link>
      <h1 className="rp-title">{t("reports.citizen.mine")}</h1>
      {!reports ? (
        <p className="muted">{t("reports.citizen.loading")}</p>
      ) : reports.length === 0 ? (
        <p className="muted">{t("reports.citizen.none")}</p>
      ) : (
        <ReportList reports={reports} />
      )}
      <Link to="/app/reports/new" className="btn btn-primary btn-block">
        {t("reports.citizen.new")}
      </Link>
    </section>
  );
}
