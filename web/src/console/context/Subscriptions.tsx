// NGSI-LD subscriptions and their delivery status (times sent, last success and failure).
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "../../shared/router";
import { formatDateTime } from "../../shared/format";
import { type Subscription, listSubscriptions } from "./client";

export function Subscriptions() {
  const { t, i18n } = useTranslation();
  const [subs, setSubs] = useState<Subscription[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const ctl = new AbortController();
    const load = () =>
      listSubscriptions(ctl.signal)
        .then(setSubs)
        .catch((e) => !ctl.signal.aborted && setError(String(e.message ?? e)));
    void load();
    const timer = window.setInterval(load, 10_000);
    return () => {
      ctl.abort();
      window.clearInterval(timer);
    };
  }, []);
  return (
    <div className="page page-wide">
      <div className="page-head">
        <div>
          <h1>{t("context.subscriptions")}</h1>
          <p className="page-sub">{t("context.subscriptionsSub")}</p>
        </div>
        <Link to="/context" className="btn">
          {t("context.backToExplorer")}
        </Link>
      </div>
      {error && <p className="form-error">{error}</p>}
      <section className="card table-card">
        {!subs && <p className="page-loading">{t("common.loading")}</p>}
        {subs?.length === 0 && <p className="empty-state">{t("context.noSubscriptions")}</p>}
        {!!subs?.length && (
          <div className="table-scroll">
            <table className="table" data-testid="context-subscriptions">
              <thead>
                <tr>
                  <th>{t("context.subscription")}</th>
                  <th>{t("context.watches")}</th>
                  <th>{t("context.endpoint")}</th>
                  <th>{t("context.state")}</th>
                  <th className="num">{t("context.sent")}</th>
                  <th>{t("context.lastSuccess")}</th>
                  <th>{t("context.lastFailure")}</th>
                </tr>
              </thead>
              <tbody>
                {subs.map((s) => (
                  <tr key={s.id}>
                    <td>
                      {s.subscriptionName ?? s.id}
                      {s.subscriptionName && <div className="table-meta">{s.id}</div>}
                    </td>
                    <td>
                      {(s.entities ?? []).map((e) => e.type).join(", ")}
                      {s.watchedAttributes && <div className="table-meta">{s.watchedAttributes.join(", ")}</div>}
                      {s.q && <div className="table-meta">q: {s.q}</div>}
                    </td>
                    <td className="ctx-id">{s.notification.endpoint.uri}</td>
                    <td>
                      <span className={`ctx-status ctx-status-${s.notification.status === "failed" ? "failed" : s.status}`}>
                        {t(`context.status.${s.notification.status === "failed" ? "failed" : s.status}`)}
                      </span>
                      {s.notification.lastErrorReason && s.notification.consecutiveErrors > 0 && (
                        <div className="table-meta">{s.notification.lastErrorReason}</div>
                      )}
                    </td>
                    <td className="num">
                      {s.notification.timesSent}
                      {s.notification.timesFailed > 0 && <div className="table-meta">{t("context.failedTimes", { n: s.notification.timesFailed })}</div>}
                    </td>
                    <td>{formatDateTime(s.notification.lastSuccess ?? null, i18n.language)}</td>
                    <td>{formatDateTime(s.notification.lastFailure ?? null, i18n.language)}</td>
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
