// One report as the public sees it: status, photos, the public timeline; the citizen who filed it
// (tracking key on this device) may reopen it within 7 days of resolution and rate the result.
import { type FormEvent, useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, api } from "../../shared/api";
import { formatDateTime } from "../../shared/format";
import { Link } from "../../shared/router";
import { OPEN_STATUSES, type ReportDetail } from "./client";
import { keyOf } from "./mine";
import "./reports.css";

export function ReportView({ id }: { id: string }) {
  const { t, i18n } = useTranslation();
  const [report, setReport] = useState<ReportDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState("");
  const key = keyOf(id);

  const load = useCallback(() => {
    api<ReportDetail>(`/api/reports/public/${id}`).then(setReport, (e) => setError(e instanceof ApiError ? (e.problem.detail ?? e.message) : String(e)));
  }, [id]);
  useEffect(load, [load]);
  // Follow changes while the screen is open.
  useEffect(() => {
    const timer = window.setInterval(load, 15_000);
    return () => window.clearInterval(timer);
  }, [load]);

  const call = async (path: string, body: unknown) => {
    try {
      setReport(await api<ReportDetail>(`/api/reports/${id}/${path}`, { method: "POST", body }));
      setError(null);
    } catch (e) {
      setError(e instanceof ApiError ? (e.problem.detail ?? e.message) : String(e));
    }
  };
  const reopen = (e: FormEvent) => {
    e.preventDefault();
    void call("reopen", { note, key });
  };

  if (!report) return <p className="muted">{error ?? t("reports.citizen.loading")}</p>;
  const open = OPEN_STATUSES.includes(report.status);
  const resolvedRecently = report.status === "resolved" && report.resolvedAt && Date.now() - new Date(report.resolvedAt).getTime() < 7 * 86_400_000;

  return (
    <section data-testid="report-view">
      <Link to="/app/reports/mine" className="btn-text">
        ← {t("reports.back")}
      </Link>
      <h1 className="rp-title">
        #{report.id} · {report.categoryName}
      </h1>
      <p>
        <span className={`rp-status ${open ? "" : "closed"}`} data-testid="report-status">
          {t(`reports.statuses.${report.status}`)}
        </span>
      </p>
      <div className="rp-card">
        <p className="rp-text">{report.description}</p>
        {report.address && <p className="muted">{report.address}</p>}
        <p className="muted small">
          {t("reports.deadline")}: {formatDateTime(report.deadlineAt, i18n.language)}
        </p>
        {report.photos.length > 0 && (
          <div className="rp-photos">
            {report.photos.map((p) => (
              <a key={p.id} className="rp-photo" href={p.url} target="_blank" rel="noreferrer">
                <img src={p.thumbUrl} alt={t("reports.photos")} />
              </a>
            ))}
          </div>
        )}
      </div>
      <div className="rp-card">
        <h2>{t("reports.citizen.timeline")}</h2>
        <ol className="rp-timeline">
          {report.updates.map((u) => (
            <li key={u.id}>
              <div className="when">{formatDateTime(u.at, i18n.language)}</div>
              <strong>{u.status ? t(`reports.statuses.${u.status}`) : t(`reports.kinds.${u.kind}`, { defaultValue: u.kind })}</strong>
              {u.note && <div className="rp-text">{u.note}</div>}
            </li>
          ))}
        </ol>
      </div>
      {key && (report.status === "resolved" || report.status === "closed") && (
        <div className="rp-card">
          {report.rating !== null ? (
            <p className="rp-ok">{t("reports.citizen.rated", { rating: report.rating })}</p>
          ) : (
            <>
              <h2>{t("reports.citizen.rate")}</h2>
              <div className="rp-stars">
                {[1, 2, 3, 4, 5].map((n) => (
                  <button key={n} type="button" aria-label={t("reports.citizen.ratingLabel", { n })} onClick={() => void call("rate", { rating: n, key })}>
                    {"★"}
                  </button>
                ))}
              </div>
            </>
          )}
          {resolvedRecently && (
            <form onSubmit={reopen}>
              <label htmlFor="reopen-note">{t("reports.citizen.reopenNote")}</label>
              <textarea id="reopen-note" value={note} onChange={(e) => setNote(e.target.value)} required maxLength={4000} />
              <button type="submit" className="btn btn-secondary btn-block">
                {t("reports.citizen.reopen")}
              </button>
            </form>
          )}
        </div>
      )}
      {error && (
        <p className="result result-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
