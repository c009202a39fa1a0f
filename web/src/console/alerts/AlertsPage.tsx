// Warnings (/alerts): the approval queue, drafts, alerts in force (with their areas on the map)
// and the full list. Live: the page reloads when an alert changes anywhere.
import { useCallback, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../shared/api";
import { formatDateTime } from "../../shared/format";
import { Link, navigate, useLocation } from "../../shared/router";
import { useAuth } from "../auth";
import { Icon } from "../icons";
import { throttle, useLiveEvents } from "../live";
import { ErrorMessage } from "../pages/Misc";
import { AreaMap } from "./AreaMap";
import { CapSeverity, StateLabel } from "./parts";
import { type Alert, infoIn } from "./types";

const TABS = ["queue", "drafts", "current", "all"] as const;
type Tab = (typeof TABS)[number];

const query: Record<Tab, string> = {
  queue: "state=submitted",
  drafts: "state=draft",
  current: "current=true",
  all: "state=draft,submitted,published",
};

export function AlertsPage() {
  const { t, i18n } = useTranslation();
  const { can, me } = useAuth();
  const { search } = useLocation();
  const tab = (new URLSearchParams(search).get("tab") as Tab) || "queue";
  const [alerts, setAlerts] = useState<Alert[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const lang = i18n.language === "en" ? "en" : "vi";

  const load = useCallback(() => {
    api<Alert[]>(`/api/alerts?${query[TABS.includes(tab) ? tab : "queue"]}&limit=200`).then(setAlerts, setError);
  }, [tab]);
  useEffect(load, [load]);
  const reload = useMemo(() => throttle(load, 1000), [load]);
  useEffect(() => () => reload.cancel(), [reload]);
  useLiveEvents((e) => {
    if (e.topic.startsWith("alert.")) reload.run();
  });

  const current = tab === "current" ? (alerts ?? []) : [];

  return (
    <div className="page page-wide">
      <div className="page-head">
        <div>
          <h1>{t("alerts.title")}</h1>
          <p className="page-sub">{t("alerts.sub")}</p>
        </div>
        {can("alerts:draft") && (
          <Link to="/alerts/new" className="btn btn-primary">
            <Icon name="plus" size={18} /> {t("alerts.new")}
          </Link>
        )}
      </div>
      <div className="segmented" role="tablist">
        {TABS.map((k) => (
          <button
            key={k}
            type="button"
            role="tab"
            aria-selected={tab === k}
            className={tab === k ? "active" : ""}
            onClick={() => navigate(`/alerts?tab=${k}`, { replace: true })}
          >
            {t(`alerts.tab.${k}`)}
          </button>
        ))}
      </div>
      {error ? <ErrorMessage error={error} /> : null}
      {tab === "current" && (
        <section className="card">
          <h2 className="section-title">{t("alerts.activeLayer")}</h2>
          <AreaMap
            chosen={current.filter((a) => a.severity === "Extreme" || a.severity === "Severe").flatMap((a) => a.communes)}
            touched={current.flatMap((a) => a.communes)}
            polygons={current.flatMap((a) => a.area.polygons.map((p) => p.slice(0, -1) as Array<[number, number]>))}
            circles={current.flatMap((a) => a.area.circles)}
            height={320}
          />
        </section>
      )}
      <section className="card table-card">
        {alerts === null ? (
          <p className="page-loading">{t("common.loading")}</p>
        ) : alerts.length === 0 ? (
          <p className="empty-state">{t(`alerts.empty.${tab}`)}</p>
        ) : (
          <div className="table-scroll">
            <table className="table" data-testid="alerts-table">
              <thead>
                <tr>
                  <th>{t("alerts.severityLabel")}</th>
                  <th>{t("alerts.headline")}</th>
                  <th>{t("alerts.stateLabel")}</th>
                  <th>{t("alerts.communesCol")}</th>
                  <th>{t("alerts.when")}</th>
                  <th>{t("alerts.by")}</th>
                </tr>
              </thead>
              <tbody>
                {alerts.map((a) => (
                  <tr key={a.id} className="row-link" onClick={() => navigate(`/alerts/${a.id}`)}>
                    <td>
                      <CapSeverity severity={a.severity} />
                    </td>
                    <td>
                      <Link to={`/alerts/${a.id}`}>{infoIn(a, lang)?.headline}</Link>
                      <div className="table-meta">
                        {t(`alerts.hazard.${a.hazard}`, { defaultValue: a.hazard })}
                        {a.msgType !== "Alert" && ` · ${t(`alerts.msgType.${a.msgType}`)}`}
                        {a.source?.deviceId && ` · ${t("alerts.fromSensor", { device: a.source.deviceId })}`}
                        {a.origin === "import" && ` · ${t("alerts.imported")}`}
                      </div>
                    </td>
                    <td>
                      <StateLabel alert={a} />
                      {a.state === "submitted" && me && (a.createdBy === me.id || a.submittedBy === me.id) && (
                        <div className="table-meta">{t("alerts.needsSecond")}</div>
                      )}
                    </td>
                    <td className="num">{a.communes.length}</td>
                    <td>{formatDateTime(a.sent ?? a.updatedAt, lang)}</td>
                    <td>{a.approvedByName ?? a.createdByName}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}
