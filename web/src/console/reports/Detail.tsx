// One report (/reports/:id): what the citizen said, where (map), photos, the timeline with public
// and internal notes, and the officer's actions (accept, start, resolve with photos of the fix,
// reject, duplicate, re-route, note, close).
import { Suspense, lazy, useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { type Agency, api } from "../../shared/api";
import { formatDateTime } from "../../shared/format";
import { Link } from "../../shared/router";
import { type ReportDetail, upload } from "../../app/reports/client";
import { loadAgencies } from "../data";
import { FormError } from "../deviceParts";
import { useLiveEvents } from "../live";
import { ErrorMessage } from "../pages/Misc";
import { useAgencyName } from "../useAgencyName";
import { useCommuneName } from "../useCommuneName";
import { Deadline, StatusChip } from "./parts";

// The map library is large: loaded only when a report with a position is opened.
const PointMap = lazy(() => import("./PointMap"));

type Action = "accept" | "start" | "resolve" | "reject" | "duplicate" | "reroute" | "note" | "close";

function actionsFor(status: ReportDetail["status"]): Action[] {
  switch (status) {
    case "new":
    case "reopened":
      return ["accept", "start", "resolve", "reject", "duplicate", "reroute"];
    case "assigned":
      return ["start", "resolve", "reject", "duplicate", "reroute"];
    case "in_progress":
      return ["resolve", "reject", "duplicate", "reroute"];
    case "resolved":
    case "rejected":
    case "duplicate":
      return ["close"];
    default:
      return [];
  }
}

export function ReportDetailPage({ id, canManage }: { id: string; canManage: boolean }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [report, setReport] = useState<ReportDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [agencies, setAgencies] = useState<Agency[]>([]);
  const agencyName = useAgencyName();
  const { name: communeName } = useCommuneName();
  const [note, setNote] = useState("");
  const [isPublic, setPublic] = useState(true);
  const [target, setTarget] = useState("");
  const [dupOf, setDupOf] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const [done, setDone] = useState(false);

  const load = useCallback(() => {
    api<ReportDetail>(`/api/reports/${id}`).then(setReport, setError);
  }, [id]);
  useEffect(load, [load]);
  useEffect(() => {
    loadAgencies().then(setAgencies, () => {});
  }, []);
  useLiveEvents((e) => {
    if (e.topic.startsWith("report.") && (e.payload as { id?: string }).id === id) load();
  });

  const act = async (action: Action) => {
    setBusy(true);
    setActionError(null);
    setDone(false);
    const body: Record<string, unknown> = { action, note: note.trim() || null, public: isPublic };
    if (action === "reroute") body.agency = target;
    if (action === "duplicate") body.duplicateOf = dupOf.trim();
    try {
      const next = files.length
        ? await upload<ReportDetail>(`/api/reports/${id}/actions`, "action", body, files)
        : await api<ReportDetail>(`/api/reports/${id}/actions`, { method: "POST", body });
      setReport(next);
      setNote("");
      setFiles([]);
      setDone(true);
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
    }
  };

  if (error)
    return (
      <div className="page">
        <div className="alert alert-error" role="alert">
          <ErrorMessage error={error} />
        </div>
      </div>
    );
  if (!report) return <div className="page muted">{t("common.loading")}</div>;
  const actions = canManage ? actionsFor(report.status) : [];

  return (
    <div className="page page-wide" data-testid="report-detail">
      <header className="page-head">
        <div>
          <Link to="/reports" className="btn-text">
            ← {t("reports.back")}
          </Link>
          <h1>
            #{report.id} · {report.categoryName}
          </h1>
          <p className="page-sub">
            <StatusChip status={report.status} /> · {t(`reports.channels.${report.channel}`)} · {formatDateTime(report.requestedAt, lang)}
          </p>
        </div>
      </header>
      <div className="report-detail">
        <div>
          <section className="card">
            <p className="report-text" data-testid="report-description">
              {report.description}
            </p>
            <dl className="facts">
              <dt>{t("reports.place")}</dt>
              <dd>
                {[report.address, communeName(report.commune)].filter((x) => x && x !== "—").join(", ") || "—"}
                {report.lat !== null && report.lon !== null && (
                  <span className="muted small">
                    {" "}
                    ({report.lat.toFixed(5)}, {report.lon.toFixed(5)})
                  </span>
                )}
              </dd>
              <dt>{t("reports.agency")}</dt>
              <dd>{agencyName(report.agency)}</dd>
              {report.supervisor && (
                <>
                  <dt>{t("reports.supervisor")}</dt>
                  <dd>{agencyName(report.supervisor)}</dd>
                </>
              )}
              <dt>{t("reports.deadline")}</dt>
              <dd>
                <Deadline report={report} />
              </dd>
              <dt>{t("reports.reporter")}</dt>
              <dd>{[report.reporter?.name, report.reporter?.phone, report.reporter?.email].filter(Boolean).join(" · ") || t("reports.anonymous")}</dd>
              {Object.entries(report.attributes).map(([k, v]) => (
                <div key={k} style={{ display: "contents" }}>
                  <dt>{k}</dt>
                  <dd>{Array.isArray(v) ? v.join(", ") : String(v)}</dd>
                </div>
              ))}
              {report.rating !== null && (
                <>
                  <dt>{t("reports.rating")}</dt>
                  <dd>
                    {"★".repeat(report.rating)}
                    {"☆".repeat(5 - report.rating)} {report.ratingComment}
                  </dd>
                </>
              )}
              {report.followers > 0 && (
                <>
                  <dt />
                  <dd>{t("reports.followers", { count: report.followers })}</dd>
                </>
              )}
            </dl>
            {report.photos.length > 0 && (
              <>
                <h2 className="panel-label">{t("reports.photos")}</h2>
                <div className="report-photos">
                  {report.photos.map((p) => (
                    <a key={p.id} href={p.url} target="_blank" rel="noreferrer">
                      <img src={p.thumbUrl} alt={t("reports.photos")} />
                    </a>
                  ))}
                </div>
              </>
            )}
            {report.lat !== null && report.lon !== null && (
              <Suspense fallback={<div className="report-map" />}>
                <PointMap lat={report.lat} lon={report.lon} />
              </Suspense>
            )}
          </section>
          <section className="card">
            <h2 className="panel-label">{t("reports.timeline")}</h2>
            <ol className="report-timeline" data-testid="report-timeline">
              {report.updates.map((u) => (
                <li key={u.id} className={u.public ? "" : "internal"}>
                  <div className="when">
                    {formatDateTime(u.at, lang)} · {u.actor}
                    {!u.public && ` · ${t("reports.internal")}`}
                  </div>
                  <div>
                    <strong>{u.status ? t(`reports.statuses.${u.status}`) : t(`reports.kinds.${u.kind}`, { defaultValue: u.kind })}</strong>
                    {u.kind === "rerouted" && u.agency && ` → ${agencyName(u.agency)}`}
                  </div>
                  {u.note && <div className="report-text">{u.note}</div>}
                </li>
              ))}
            </ol>
          </section>
        </div>
        {canManage && (
          <aside className="card report-actions" aria-label={t("reports.actions")}>
            <h2 className="panel-label">{t("reports.actions")}</h2>
            <label htmlFor="report-note">{t("reports.note")}</label>
            <textarea id="report-note" value={note} onChange={(e) => setNote(e.target.value)} maxLength={4000} />
            <label className="check">
              <input type="checkbox" checked={isPublic} onChange={(e) => setPublic(e.target.checked)} /> {t("reports.notePublic")}
            </label>
            <label htmlFor="report-fix-photos">{t("reports.fixPhotos")}</label>
            <input
              id="report-fix-photos"
              type="file"
              accept="image/jpeg,image/png,image/webp"
              multiple
              onChange={(e) => setFiles([...(e.target.files ?? [])].slice(0, 5))}
            />
            <div className="report-action-buttons">
              {actions
                .filter((a) => a !== "reroute" && a !== "duplicate")
                .map((a) => (
                  <button
                    key={a}
                    type="button"
                    className={`btn ${a === "resolve" ? "btn-primary" : "btn-secondary"} btn-sm`}
                    disabled={busy}
                    onClick={() => void act(a)}
                    data-testid={`action-${a}`}
                  >
                    {t(`reports.${a}`)}
                  </button>
                ))}
              <button type="button" className="btn btn-secondary btn-sm" disabled={busy || !note.trim()} onClick={() => void act("note")}>
                {t("reports.addNote")}
              </button>
            </div>
            {actions.includes("duplicate") && (
              <>
                <label htmlFor="report-dup">{t("reports.duplicateOf")}</label>
                <input id="report-dup" type="text" value={dupOf} onChange={(e) => setDupOf(e.target.value)} inputMode="numeric" />
                <button type="button" className="btn btn-secondary btn-sm" disabled={busy || !dupOf.trim()} onClick={() => void act("duplicate")}>
                  {t("reports.duplicate")}
                </button>
              </>
            )}
            {actions.includes("reroute") && (
              <>
                <label htmlFor="report-target">{t("reports.rerouteTo")}</label>
                <select id="report-target" value={target} onChange={(e) => setTarget(e.target.value)}>
                  <option value="" />
                  {agencies
                    .filter((a) => a.code !== report.agency)
                    .map((a) => (
                      <option key={a.code} value={a.code}>
                        {lang.startsWith("en") ? a.nameEn : a.name}
                      </option>
                    ))}
                </select>
                <button type="button" className="btn btn-secondary btn-sm" disabled={busy || !target} onClick={() => void act("reroute")}>
                  {t("reports.reroute")}
                </button>
              </>
            )}
            {done && (
              <p className="status status-ok" role="status">
                {t("reports.done")}
              </p>
            )}
            {actionError ? (
              <div className="alert alert-error" role="alert">
                <FormError error={actionError} />
              </div>
            ) : null}
          </aside>
        )}
      </div>
    </div>
  );
}
