// The entity explorer: entity types on the left, a q filter, the matching entities as a table and
// on the map, and the selected entity's attributes with the history of a numeric one. Changes
// committed anywhere (API writes, device telemetry) arrive as context.entities events and refresh
// what is on screen.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "../../shared/router";
import { formatDateTime, formatNumber } from "../../shared/format";
import { useLiveEvents } from "../live";
import { type Attr, type Entity, type EntityType, getEntity, instances, isAttr, listTypes, queryEntities } from "./client";
import { EntityMap } from "./EntityMap";
import { HistoryChart } from "./HistoryChart";

const PAGE = 50;

function shortType(t: string | string[]): string {
  const s = Array.isArray(t) ? t[0] : t;
  return s.includes("/") ? s.slice(s.lastIndexOf("/") + 1) : s;
}

function display(a: Attr, lang: string): string {
  if (a.type === "Relationship") return Array.isArray(a.object) ? a.object.join(", ") : String(a.object ?? "");
  if (a.type === "LanguageProperty") return a.languageMap?.[lang] ?? Object.values(a.languageMap ?? {})[0] ?? "";
  if (a.type === "GeoProperty") {
    const g = a.value as { type: string; coordinates: unknown };
    return g.type === "Point" ? (g.coordinates as number[]).map((c) => c.toFixed(5)).join(", ") : g.type;
  }
  if (typeof a.value === "number") return formatNumber(a.value, lang, 3);
  return typeof a.value === "string" ? a.value : JSON.stringify(a.value);
}

export function Explorer() {
  const { t, i18n } = useTranslation();
  const [types, setTypes] = useState<EntityType[] | null>(null);
  const [type, setType] = useState<string>("");
  const [qInput, setQInput] = useState("");
  const [q, setQ] = useState("");
  const [page, setPage] = useState(0);
  const [result, setResult] = useState<{ entities: Entity[]; count: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [selected, setSelected] = useState<Entity | null>(null);
  const [chartAttr, setChartAttr] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [live, setLive] = useState(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` is the refresh trigger (live events)
  useEffect(() => {
    const ctl = new AbortController();
    listTypes(ctl.signal)
      .then((list) => {
        setTypes(list);
        setType((cur) => cur || list[0]?.typeName || "");
      })
      .catch((e) => !ctl.signal.aborted && setError(String(e.message ?? e)));
    return () => ctl.abort();
  }, [version]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` is the refresh trigger (live events)
  useEffect(() => {
    if (!types) return;
    const ctl = new AbortController();
    queryEntities({ type: type || undefined, q: q || undefined, limit: PAGE, offset: page * PAGE }, ctl.signal)
      .then((r) => {
        setResult(r);
        setError(null);
      })
      .catch((e) => !ctl.signal.aborted && setError(String(e.message ?? e)));
    return () => ctl.abort();
  }, [types, type, q, page, version]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` is the refresh trigger (live events)
  useEffect(() => {
    if (!selectedId) return setSelected(null);
    const ctl = new AbortController();
    getEntity(selectedId, ctl.signal)
      .then((e) => {
        setSelected(e);
        setChartAttr((cur) => {
          if (cur && e[cur] !== undefined) return cur;
          const numeric = Object.keys(e).find((k) => isAttr(k) && typeof instances(e[k])[0]?.value === "number");
          return numeric ?? null;
        });
      })
      .catch(() => !ctl.signal.aborted && setSelected(null));
    return () => ctl.abort();
  }, [selectedId, version]);

  // Live: refresh at most every 2 s while changes arrive.
  const pending = useRef<number | undefined>(undefined);
  const refresh = useCallback(() => {
    if (pending.current !== undefined) return;
    pending.current = window.setTimeout(() => {
      pending.current = undefined;
      setVersion((v) => v + 1);
    }, 2000);
  }, []);
  useEffect(() => () => window.clearTimeout(pending.current), []);
  useLiveEvents((e) => {
    if (e.topic !== "context.entities") return;
    setLive((n) => n + 1);
    refresh();
  });

  const attrs = useMemo(() => (selected ? Object.keys(selected).filter(isAttr) : []), [selected]);

  return (
    <div className="page page-wide">
      <div className="page-head">
        <div>
          <h1>{t("context.title")}</h1>
          <p className="page-sub">{t("context.sub")}</p>
        </div>
        <div className="ctx-head-actions">
          <span className="live-badge live-open" title={t("context.liveHint")}>
            {t("context.live", { n: live })}
          </span>
          <Link to="/context/subscriptions" className="btn">
            {t("context.subscriptions")}
          </Link>
        </div>
      </div>
      {error && <p className="form-error">{error}</p>}
      <div className="ctx-layout">
        <aside className="card ctx-types" data-testid="context-types">
          <h2 className="section-title">{t("context.types")}</h2>
          {!types && <p className="page-loading">{t("common.loading")}</p>}
          {types?.length === 0 && <p className="empty-state">{t("context.noTypes")}</p>}
          <ul>
            {types?.map((ty) => (
              <li key={ty.id}>
                <button
                  type="button"
                  className={ty.typeName === type ? "ctx-type active" : "ctx-type"}
                  onClick={() => {
                    setType(ty.typeName);
                    setPage(0);
                    setSelectedId(null);
                  }}
                >
                  <span>{shortType(ty.typeName)}</span>
                  <span className="ctx-count">{ty.entityCount}</span>
                </button>
              </li>
            ))}
          </ul>
        </aside>
        <section className="ctx-main">
          <form
            className="ctx-filter"
            onSubmit={(ev) => {
              ev.preventDefault();
              setQ(qInput.trim());
              setPage(0);
            }}
          >
            <label>
              <span className="panel-label">{t("context.q")}</span>
              <input
                value={qInput}
                onChange={(e) => setQInput(e.target.value)}
                placeholder='waterLevel>3.5;status=="ok"'
                aria-label={t("context.q")}
                data-testid="context-q"
              />
            </label>
            <button type="submit" className="btn btn-primary">
              {t("context.filter")}
            </button>
          </form>
          <div className="ctx-split">
            <div className="card table-card">
              {!result && <p className="page-loading">{t("common.loading")}</p>}
              {result?.entities.length === 0 && <p className="empty-state">{t("context.empty")}</p>}
              {!!result?.entities.length && (
                <div className="table-scroll">
                  <table className="table" data-testid="context-entities">
                    <thead>
                      <tr>
                        <th>{t("context.id")}</th>
                        <th>{t("context.name")}</th>
                        <th>{t("context.modified")}</th>
                      </tr>
                    </thead>
                    <tbody>
                      {result.entities.map((e) => (
                        <tr key={e.id} className={e.id === selectedId ? "row-link ctx-selected" : "row-link"} onClick={() => setSelectedId(e.id)}>
                          <td className="ctx-id">{e.id}</td>
                          <td>{e.name ? display(instances(e.name)[0], i18n.language) : ""}</td>
                          <td>{formatDateTime(e.modifiedAt ?? null, i18n.language)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
              {result && result.count > PAGE && (
                <div className="pager">
                  <button type="button" className="btn" disabled={page === 0} onClick={() => setPage((p) => p - 1)}>
                    ‹
                  </button>
                  <span>{t("context.page", { from: page * PAGE + 1, to: Math.min(result.count, (page + 1) * PAGE), total: result.count })}</span>
                  <button type="button" className="btn" disabled={(page + 1) * PAGE >= result.count} onClick={() => setPage((p) => p + 1)}>
                    ›
                  </button>
                </div>
              )}
            </div>
            <EntityMap entities={result?.entities ?? []} selected={selectedId} onSelect={setSelectedId} />
          </div>
          {selected && (
            <section className="card" data-testid="context-entity">
              <div className="card-head">
                <h2 className="section-title ctx-entity-id">{selected.id}</h2>
                <span className="table-meta">{shortType(selected.type)}</span>
              </div>
              <table className="table">
                <thead>
                  <tr>
                    <th>{t("context.attribute")}</th>
                    <th>{t("context.kind")}</th>
                    <th>{t("context.value")}</th>
                    <th>{t("context.observedAt")}</th>
                  </tr>
                </thead>
                <tbody>
                  {attrs.flatMap((k) =>
                    instances(selected[k]).map((a, i) => (
                      <tr
                        key={`${k}-${a.datasetId ?? i}`}
                        className={typeof a.value === "number" ? "row-link" : undefined}
                        onClick={() => typeof a.value === "number" && setChartAttr(k)}
                      >
                        <td>
                          {k}
                          {a.datasetId && <div className="table-meta">{a.datasetId}</div>}
                        </td>
                        <td>{t(`context.kinds.${a.type ?? "Property"}`)}</td>
                        <td>
                          {display(a, i18n.language)} {a.unitCode && <span className="table-meta">{a.unitCode}</span>}
                        </td>
                        <td>{a.observedAt ? formatDateTime(a.observedAt, i18n.language) : ""}</td>
                      </tr>
                    )),
                  )}
                </tbody>
              </table>
              {chartAttr && (
                <>
                  <h3 className="section-title">{t("context.history", { attr: chartAttr })}</h3>
                  <HistoryChart id={selected.id} attr={chartAttr} version={version} />
                </>
              )}
            </section>
          )}
        </section>
      </div>
    </div>
  );
}
