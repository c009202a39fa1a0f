// The open-data portal's front page: search (diacritics optional), facets by organisation, theme,
// tag, format and licence, and the matching datasets. The query lives in the address.
import { type FormEvent, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { formatDateTime } from "../../shared/format";
import { Link, navigate, useLocation } from "../../shared/router";
import { type CkanPackage, FACETS, type SearchResult, ckan, fqTerm, notes, orgName, title } from "./client";
import "./catalog.css";

const PAGE = 20;

export function CatalogSearch() {
  const { t, i18n } = useTranslation();
  const { search } = useLocation();
  const params = new URLSearchParams(search);
  const q = params.get("q") ?? "";
  const page = Math.max(1, Number(params.get("page") ?? 1) || 1);
  const sort = params.get("sort") ?? "";
  const chosen = FACETS.flatMap((f) => params.getAll(f).map((v) => [f, v] as const));
  const [text, setText] = useState(q);
  const [result, setResult] = useState<SearchResult | null>(null);
  const [failed, setFailed] = useState(false);
  const [showFacets, setShowFacets] = useState(false);

  useEffect(() => setText(q), [q]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the address is the state
  useEffect(() => {
    setFailed(false);
    ckan<SearchResult>("package_search", {
      q,
      fq: chosen.map(([f, v]) => fqTerm(f, v)).join(" "),
      "facet.field": JSON.stringify(FACETS),
      "facet.limit": "8",
      rows: String(PAGE),
      start: String((page - 1) * PAGE),
      sort: sort || (q ? "score desc, metadata_modified desc" : "metadata_modified desc"),
    }).then(setResult, () => setFailed(true));
  }, [search]);

  const go = (next: URLSearchParams) => {
    next.delete("page");
    const s = next.toString();
    navigate(`/app/catalog${s ? `?${s}` : ""}`);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next = new URLSearchParams(search);
    text.trim() ? next.set("q", text.trim()) : next.delete("q");
    go(next);
  };
  const toggle = (facet: string, value: string) => {
    const next = new URLSearchParams(search);
    const values = next.getAll(facet);
    next.delete(facet);
    for (const v of values.includes(value) ? values.filter((x) => x !== value) : [...values, value]) next.append(facet, v);
    go(next);
  };
  const pageTo = (n: number) => {
    const next = new URLSearchParams(search);
    next.set("page", String(n));
    navigate(`/app/catalog?${next}`);
  };

  return (
    <section className="catalog">
      <div className="catalog-hero">
        <h1>{t("catalog.portalTitle")}</h1>
        <p>{t("catalog.portalText")}</p>
        <form className="catalog-search" onSubmit={submit}>
          <input
            type="search"
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder={t("catalog.searchPlaceholder")}
            aria-label={t("catalog.searchPlaceholder")}
            maxLength={200}
          />
          <button type="submit" className="btn btn-primary">
            {t("catalog.search")}
          </button>
        </form>
      </div>

      {chosen.length > 0 && (
        <fieldset className="catalog-chosen" aria-label={t("catalog.activeFilters")}>
          {chosen.map(([f, v]) => (
            <button key={`${f}:${v}`} type="button" className="catalog-chip is-on" onClick={() => toggle(f, v)}>
              {displayOf(result, f, v)} ✕
            </button>
          ))}
        </fieldset>
      )}

      <div className="catalog-layout">
        <aside className={`catalog-facets${showFacets ? " is-open" : ""}`}>
          <button type="button" className="btn btn-secondary catalog-facets-toggle" onClick={() => setShowFacets((s) => !s)} aria-expanded={showFacets}>
            {t("catalog.filters")}
          </button>
          <div className="catalog-facet-groups">
            {FACETS.map((f) => {
              const items = result?.search_facets[f]?.items ?? [];
              if (!items.length) return null;
              return (
                <fieldset key={f} className="catalog-facet" data-facet={f}>
                  <legend>{t(`catalog.facets.${f}`)}</legend>
                  {items.map((i) => (
                    <label key={i.name}>
                      <input type="checkbox" checked={params.getAll(f).includes(i.name)} onChange={() => toggle(f, i.name)} />
                      <span>{f === "license_id" ? t(`catalog.licenses.${i.name}`, { defaultValue: i.display_name }) : i.display_name}</span>
                      <span className="catalog-count">{i.count}</span>
                    </label>
                  ))}
                </fieldset>
              );
            })}
          </div>
        </aside>

        <div className="catalog-results" aria-live="polite">
          {failed && <div className="result result-error">{t("catalog.loadError")}</div>}
          {result && (
            <div className="catalog-results-head">
              <span data-testid="catalog-count">{t("catalog.found", { count: result.count })}</span>
              <select
                aria-label={t("catalog.sort")}
                value={sort}
                onChange={(e) => {
                  const next = new URLSearchParams(search);
                  e.target.value ? next.set("sort", e.target.value) : next.delete("sort");
                  go(next);
                }}
              >
                <option value="">{t("catalog.sortRelevance")}</option>
                <option value="metadata_modified desc">{t("catalog.sortNewest")}</option>
                <option value="title_string asc">{t("catalog.sortTitle")}</option>
              </select>
            </div>
          )}
          {result?.results.map((p) => (
            <DatasetCard key={p.id} p={p} lang={i18n.language} />
          ))}
          {result && result.count === 0 && <p className="catalog-empty">{t("catalog.noResults")}</p>}
          {result && result.count > PAGE && (
            <nav className="catalog-pager" aria-label={t("catalog.pages")}>
              <button type="button" className="btn btn-secondary" disabled={page <= 1} onClick={() => pageTo(page - 1)}>
                ←
              </button>
              <span>{t("catalog.pageOf", { page, pages: Math.ceil(result.count / PAGE) })}</span>
              <button type="button" className="btn btn-secondary" disabled={page * PAGE >= result.count} onClick={() => pageTo(page + 1)}>
                →
              </button>
            </nav>
          )}
        </div>
      </div>
    </section>
  );
}

function displayOf(result: SearchResult | null, facet: string, value: string): string {
  return result?.search_facets[facet]?.items.find((i) => i.name === value)?.display_name ?? value;
}

function DatasetCard({ p, lang }: { p: CkanPackage; lang: string }) {
  const formats = [...new Set(p.resources.map((r) => r.format).filter(Boolean))];
  const text = notes(p, lang);
  return (
    <article className="catalog-card" data-testid="catalog-card">
      <h2>
        <Link to={`/app/catalog/${p.name}`}>{title(p, lang)}</Link>
      </h2>
      <div className="catalog-card-org">{orgName(p, lang)}</div>
      {text && <p>{text.length > 220 ? `${text.slice(0, 220)}…` : text}</p>}
      <div className="catalog-card-foot">
        {formats.map((f) => (
          <span key={f} className="catalog-format">
            {f}
          </span>
        ))}
        <span className="catalog-card-date">{formatDateTime(`${p.metadata_modified}Z`, lang)}</span>
      </div>
    </article>
  );
}
