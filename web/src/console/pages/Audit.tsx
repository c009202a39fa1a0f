// Administration: the audit trail, newest first, paged with the server's `next` cursor
// (GET /api/audit?before=<next>).
import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { type AuditEntry, type AuditPage as Page, api } from "../../shared/api";
import { formatDateTime } from "../../shared/format";
import { ErrorMessage } from "./Misc";

const PAGE_SIZE = 50;

export function AuditPage() {
  const { t, i18n } = useTranslation();
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<string | number | null>(null);
  const [loading, setLoading] = useState(true);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async (before: string | number | null) => {
    setLoading(true);
    setError(null);
    try {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (before !== null) query.set("before", String(before));
      const page = await api<Page>(`/api/audit?${query}`);
      setEntries((list) => (before === null ? page.entries : [...list, ...page.entries]));
      setNext(page.next ?? null);
      setLoaded(true);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    void load(null);
  }, [load]);

  const outcome = (o: string) => t(`audit.outcomes.${o}`, { defaultValue: o });

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>{t("audit.title")}</h1>
          <p className="page-sub">{t("audit.subtitle")}</p>
        </div>
        {loaded && <span className="page-meta">{t("audit.shown", { count: entries.length })}</span>}
      </header>
      {error !== null && (
        <div className="alert alert-error" role="alert">
          <ErrorMessage error={error} />
        </div>
      )}
      {loaded && entries.length === 0 ? (
        <p className="muted">{t("audit.empty")}</p>
      ) : (
        entries.length > 0 && (
          <div className="card table-card">
            <table className="table" data-testid="audit-table">
              <thead>
                <tr>
                  <th>{t("audit.at")}</th>
                  <th>{t("audit.actor")}</th>
                  <th>{t("audit.action")}</th>
                  <th>{t("audit.target")}</th>
                  <th>{t("audit.outcome")}</th>
                  <th>{t("audit.ip")}</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.id}>
                    <td className="nowrap">
                      <time dateTime={e.at}>{formatDateTime(e.at, i18n.language)}</time>
                    </td>
                    <td>{e.actorName || "—"}</td>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td className="muted">{e.targetType ? `${e.targetType}${e.targetId ? ` · ${e.targetId}` : ""}` : "—"}</td>
                    <td>
                      <span className={`status status-${e.outcome === "success" ? "ok" : e.outcome === "denied" ? "warn" : "bad"}`}>{outcome(e.outcome)}</span>
                    </td>
                    <td className="muted nowrap">{e.ip ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      )}
      <div className="pager">
        {loading ? (
          <span className="muted">{t("common.loading")}</span>
        ) : next !== null ? (
          <button type="button" className="btn btn-secondary" onClick={() => load(next)}>
            {t("common.loadMore")}
          </button>
        ) : (
          loaded && entries.length > 0 && <span className="muted">{t("audit.end")}</span>
        )}
      </div>
    </div>
  );
}
