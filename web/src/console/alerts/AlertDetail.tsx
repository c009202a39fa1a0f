// One alert (/alerts/:id): the text as citizens read it (vi and en side by side), its area on the
// map, the workflow actions the user may take (edit, submit, approve, return, discard, update,
// cancel), the CAP document, and delivery progress for published alerts.
import { useCallback, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, api } from "../../shared/api";
import { formatDateTime, formatNumber } from "../../shared/format";
import { Link, navigate } from "../../shared/router";
import { useAuth } from "../auth";
import { throttle, useLiveEvents } from "../live";
import { ErrorMessage } from "../pages/Misc";
import { AreaMap } from "./AreaMap";
import { AlertCard, CapSeverity, StateLabel } from "./parts";
import type { Alert, Progress } from "./types";

function DeliveryProgress({ id }: { id: string }) {
  const { t, i18n } = useTranslation();
  const [p, setP] = useState<Progress | null>(null);
  const load = useCallback(() => void api<Progress>(`/api/alerts/${id}/deliveries`).then(setP, () => undefined), [id]);
  useEffect(() => {
    load();
    const timer = window.setInterval(load, 3000);
    return () => window.clearInterval(timer);
  }, [load]);
  if (!p) return null;
  const done = p.sent + p.failed;
  const pct = p.matched ? Math.round((done / p.matched) * 100) : 100;
  return (
    <section className="card" data-testid="delivery-progress">
      <h2 className="section-title">{t("alerts.delivery")}</h2>
      <div className="alert-progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
        <div className="alert-progress-bar" style={{ width: `${pct}%` }} />
      </div>
      <p>
        {t("alerts.deliveryText", {
          sent: formatNumber(p.sent, i18n.language, 0),
          matched: formatNumber(p.matched, i18n.language, 0),
          failed: formatNumber(p.failed, i18n.language, 0),
          pending: formatNumber(p.pending, i18n.language, 0),
        })}
      </p>
      {Object.keys(p.byChannel).length > 0 && (
        <ul className="alert-channels">
          {Object.entries(p.byChannel).map(([ch, c]) => (
            <li key={ch}>
              {t(`alerts.channel.${ch}`)}: {formatNumber(c.sent, i18n.language, 0)}
              {c.failed > 0 && ` (${t("alerts.failedN", { n: c.failed })})`}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function AlertDetail({ id }: { id: string }) {
  const { t, i18n } = useTranslation();
  const { can, me } = useAuth();
  const [alert, setAlert] = useState<Alert | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [reason, setReason] = useState("");
  const lang = i18n.language === "en" ? "en" : "vi";

  const load = useCallback(() => void api<Alert>(`/api/alerts/${id}`).then(setAlert, setError), [id]);
  useEffect(load, [load]);
  const reload = useMemo(() => throttle(load, 800), [load]);
  useEffect(() => () => reload.cancel(), [reload]);
  useLiveEvents((e) => {
    if (e.topic.startsWith("alert.") && (e.payload as { id?: string }).id === id) reload.run();
  });

  const act = async (path: string, body?: unknown) => {
    setBusy(true);
    setActionError(null);
    try {
      const res = await api<Alert>(`/api/alerts/${id}/${path}`, { method: "POST", body });
      if (res.id !== id) navigate(path === "update" ? `/alerts/${res.id}/edit` : `/alerts/${res.id}`);
      else setAlert(res);
      setReason("");
    } catch (err) {
      setActionError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  if (error) return <ErrorMessage error={error} />;
  if (!alert) return <p className="page-loading">{t("common.loading")}</p>;
  const own = me && (alert.createdBy === me.id || alert.submittedBy === me.id);

  return (
    <div className="page page-wide">
      <div className="breadcrumb">
        <Link to="/alerts">{t("alerts.title")}</Link>
      </div>
      <div className="page-head">
        <div>
          <h1>
            <CapSeverity severity={alert.severity} /> {alert.infos.find((i) => i.language.startsWith(lang))?.headline ?? alert.infos[0]?.headline}
          </h1>
          <p className="page-meta">
            <StateLabel alert={alert} /> · {t(`alerts.msgType.${alert.msgType}`)} · {alert.senderName} · {t("alerts.createdBy", { name: alert.createdByName })}
            {alert.approvedByName && ` · ${t("alerts.approvedBy", { name: alert.approvedByName })}`}
            {alert.sent && ` · ${formatDateTime(alert.sent, lang)}`}
          </p>
        </div>
      </div>

      {alert.state === "submitted" && own && <p className="alert-warn">{t("alerts.needsSecondLong")}</p>}
      {actionError && (
        <p className="field-error" role="alert">
          {actionError}
        </p>
      )}
      <div className="panel-actions alert-actions">
        {alert.state === "draft" && can("alerts:draft") && (
          <>
            <Link to={`/alerts/${id}/edit`} className="btn">
              {t("alerts.edit")}
            </Link>
            <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void act("submit")}>
              {t("alerts.submit")}
            </button>
          </>
        )}
        {alert.state === "submitted" && can("alerts:approve") && (
          <button type="button" className="btn btn-primary" disabled={busy || Boolean(own)} onClick={() => void act("approve")}>
            {t("alerts.approve")}
          </button>
        )}
        {(alert.state === "draft" || alert.state === "submitted") && can("alerts:draft") && (
          <button type="button" className="btn btn-danger" disabled={busy} onClick={() => void act("discard")}>
            {t("alerts.discard")}
          </button>
        )}
        {alert.state === "published" && alert.current && alert.origin === "sen" && alert.msgType !== "Cancel" && can("alerts:draft") && (
          <button type="button" className="btn" disabled={busy} onClick={() => void act("update")}>
            {t("alerts.update")}
          </button>
        )}
        {alert.capUrl && (
          <a className="btn" href={`/cap/alerts/${alert.id}.xml`} target="_blank" rel="noreferrer">
            {t("alerts.capDocument")}
          </a>
        )}
      </div>
      {((alert.state === "submitted" && can("alerts:approve")) ||
        (alert.state === "published" && alert.current && alert.origin === "sen" && alert.msgType !== "Cancel" && can("alerts:approve"))) && (
        <form
          className="inline-form alert-reason"
          onSubmit={(e) => {
            e.preventDefault();
            void act(alert.state === "submitted" ? "reject" : "cancel", { reason });
          }}
        >
          <input
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            maxLength={2000}
            required
            placeholder={t(alert.state === "submitted" ? "alerts.rejectReason" : "alerts.cancelReason")}
            name="reason"
          />
          <button type="submit" className="btn btn-danger" disabled={busy || !reason.trim()}>
            {t(alert.state === "submitted" ? "alerts.reject" : "alerts.cancel")}
          </button>
        </form>
      )}

      <div className="alert-previews">
        <AlertCard alert={alert} lang="vi" />
        {alert.infos.some((i) => i.language.startsWith("en")) && <AlertCard alert={alert} lang="en" />}
      </div>

      <section className="card">
        <h2 className="section-title">{t("alerts.touched", { count: alert.communes.length })}</h2>
        <AreaMap
          chosen={alert.area.communes}
          touched={alert.communes}
          polygons={alert.area.polygons.map((p) => p.slice(0, -1) as Array<[number, number]>)}
          circles={alert.area.circles}
          height={300}
        />
      </section>

      {alert.state === "published" && alert.origin === "sen" && can("alerts:read") && <DeliveryProgress id={alert.id} />}

      <section className="card">
        <h2 className="section-title">{t("alerts.capCodes")}</h2>
        <dl className="facts facts-compact">
          <dt>identifier</dt>
          <dd className="mono">{alert.identifier}</dd>
          <dt>sender</dt>
          <dd className="mono">{alert.sender}</dd>
          <dt>status · msgType</dt>
          <dd>
            {alert.status} · {alert.msgType}
          </dd>
          <dt>category</dt>
          <dd>{alert.categories.join(", ")}</dd>
          <dt>urgency · severity · certainty</dt>
          <dd>
            {alert.urgency} · {alert.severity} · {alert.certainty}
          </dd>
          {alert.references && (
            <>
              <dt>references</dt>
              <dd className="mono break">{alert.references}</dd>
            </>
          )}
          <dt>expires</dt>
          <dd>{formatDateTime(alert.expires, lang)}</dd>
        </dl>
      </section>
    </div>
  );
}
