// A dataset's page in the portal: its description and metadata, and for each resource a table
// preview, a chart of a numeric column, a map when it has geometry, downloads in four formats,
// older versions, and examples of the API calls that return the same data.
import type { Feature, FeatureCollection, Geometry, Position } from "geojson";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { type AdminUnit, api } from "../../shared/api";
import { formatDateTime, formatNumber } from "../../shared/format";
import { type BBox, bboxOf } from "../../shared/geometry";
import { Link } from "../../shared/router";
import { type CkanPackage, type CkanResource, type DatastoreResult, ckan, downloadUrl, formatBytes, notes, orgName, title } from "./client";
import "./catalog.css";

interface Version {
  id: string;
  seq: number;
  filename: string;
  size: number;
  rowsLoaded: number;
  loadedAt: string | null;
}

export function CatalogDataset({ name }: { name: string }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [p, setP] = useState<CkanPackage | null>(null);
  const [missing, setMissing] = useState(false);
  const [active, setActive] = useState<string | null>(null);

  useEffect(() => {
    setP(null);
    ckan<CkanPackage>("package_show", { id: name }).then(
      (pkg) => {
        setP(pkg);
        setActive(pkg.resources.find((r) => r.datastore_active)?.id ?? pkg.resources[0]?.id ?? null);
        document.title = `${title(pkg, lang)} – ${t("catalog.portalTitle")}`;
      },
      () => setMissing(true),
    );
  }, [name, lang, t]);

  if (missing)
    return (
      <section className="catalog">
        <Link to="/app/catalog" className="btn-text">
          ← {t("catalog.back")}
        </Link>
        <p className="catalog-empty">{t("catalog.notFound")}</p>
      </section>
    );
  if (!p) return <p className="catalog-loading">{t("catalog.loading")}</p>;
  const resource = p.resources.find((r) => r.id === active);

  return (
    <section className="catalog catalog-dataset">
      <Link to="/app/catalog" className="btn-text">
        ← {t("catalog.back")}
      </Link>
      <h1>{title(p, lang)}</h1>
      <div className="catalog-card-org">{orgName(p, lang)}</div>
      {notes(p, lang) && <p className="catalog-notes">{notes(p, lang)}</p>}
      <dl className="catalog-meta">
        <dt>{t("catalog.license")}</dt>
        <dd>{p.license_url ? <a href={p.license_url}>{t(`catalog.licenses.${p.license_id}`, { defaultValue: p.license_title })}</a> : p.license_title}</dd>
        <dt>{t("catalog.updated")}</dt>
        <dd>{formatDateTime(`${p.metadata_modified}Z`, lang)}</dd>
        {p.frequency && (
          <>
            <dt>{t("catalog.frequency")}</dt>
            <dd>{t(`catalog.frequencies.${p.frequency}`)}</dd>
          </>
        )}
        {(p.temporal_start || p.temporal_end) && (
          <>
            <dt>{t("catalog.temporal")}</dt>
            <dd>
              {p.temporal_start ?? "…"} – {p.temporal_end ?? "…"}
            </dd>
          </>
        )}
        {p.maintainer_email && (
          <>
            <dt>{t("catalog.contact")}</dt>
            <dd>
              <a href={`mailto:${p.maintainer_email}`}>{p.maintainer || p.maintainer_email}</a>
            </dd>
          </>
        )}
        {p.tags.length > 0 && (
          <>
            <dt>{t("catalog.tags")}</dt>
            <dd>
              {p.tags.map((tag) => (
                <Link key={tag.name} className="catalog-chip" to={`/app/catalog?tags=${encodeURIComponent(tag.name)}`}>
                  {tag.name}
                </Link>
              ))}
            </dd>
          </>
        )}
      </dl>

      <h2 className="section-title">{t("catalog.resources")}</h2>
      <div className="catalog-tabs" role="tablist">
        {p.resources.map((r) => (
          <button
            key={r.id}
            type="button"
            role="tab"
            aria-selected={r.id === active}
            className={r.id === active ? "is-on" : ""}
            onClick={() => setActive(r.id)}
          >
            {lang === "en" && r.name_translated?.en ? r.name_translated.en : r.name} <span className="catalog-format">{r.format || r.sen_kind}</span>
          </button>
        ))}
      </div>
      {p.resources.length === 0 && <p className="catalog-empty">{t("catalog.noResources")}</p>}
      {resource && <ResourceView key={resource.id} p={p} r={resource} />}
    </section>
  );
}

function ResourceView({ p, r }: { p: CkanPackage; r: CkanResource }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [data, setData] = useState<DatastoreResult | null>(null);
  const [versions, setVersions] = useState<Version[]>([]);

  useEffect(() => {
    if (!r.datastore_active) return;
    ckan<DatastoreResult>("datastore_search", { resource_id: r.id, limit: "100" }).then(setData, () => setData(null));
    api<Version[]>(`/api/catalog/resources/${r.id}/versions`).then(setVersions, () => setVersions([]));
  }, [r.id, r.datastore_active]);

  const origin = window.location.origin;
  if (!r.datastore_active)
    return (
      <div className="catalog-resource">
        {r.description && <p>{r.description}</p>}
        {r.url && (
          <a className="btn btn-primary" href={r.url} rel="noopener noreferrer">
            {t("catalog.open")}
          </a>
        )}
      </div>
    );

  return (
    <div className="catalog-resource">
      {r.description && <p>{r.description}</p>}
      <div className="catalog-downloads">
        {(["csv", "json", "xlsx", ...(r.has_geometry ? ["geojson"] : [])] as const).map((f) => (
          <a key={f} className="btn btn-secondary" href={downloadUrl(r.id, f as "csv")} download>
            ⬇ {f.toUpperCase()}
          </a>
        ))}
        <span className="catalog-card-date">
          {t("catalog.rows", { count: r.datastore_rows ?? 0 })} · {formatBytes(r.size, lang)}
        </span>
      </div>

      {data && <Preview data={data} total={r.datastore_rows ?? data.records.length} />}
      {data && <ChartPreview data={data} />}
      {r.has_geometry && <MapPreview collection={p.name} />}

      <details className="catalog-api">
        <summary>{t("catalog.api")}</summary>
        <p>{t("catalog.apiText")}</p>
        <pre>{`curl '${origin}/api/3/action/datastore_search?resource_id=${r.id}&limit=5'
curl '${origin}/api/3/action/datastore_search?resource_id=${r.id}&filters=${encodeURIComponent(JSON.stringify({ [data?.fields[1]?.id ?? "field"]: "…" }))}'
curl '${origin}/api/3/action/package_show?id=${p.name}'
curl '${origin}/dataset/${p.name}.jsonld'${r.has_geometry ? `\nogrinfo OAPIF:${origin}/ogc ${p.name}` : ""}`}</pre>
      </details>

      {versions.length > 1 && (
        <details className="catalog-api">
          <summary>{t("catalog.versions", { count: versions.length })}</summary>
          <ul className="catalog-versions">
            {versions.map((v) => (
              <li key={v.id}>
                {t("catalog.version", { seq: v.seq })} · {v.filename} · {t("catalog.rows", { count: v.rowsLoaded })} ·{" "}
                {v.loadedAt ? formatDateTime(v.loadedAt, lang) : ""} <a href={downloadUrl(r.id, "csv", v.seq)}>CSV</a> ·{" "}
                <a href={`/api/catalog/versions/${v.id}/file`}>{t("catalog.original")}</a>
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

function cell(v: unknown, lang: string): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return formatNumber(v, lang, 6);
  if (typeof v === "boolean") return v ? "✓" : "✗";
  return String(v);
}

function Preview({ data, total }: { data: DatastoreResult; total: number }) {
  const { t, i18n } = useTranslation();
  const fields = data.fields.filter((f) => f.id !== "_id");
  return (
    <figure className="catalog-preview">
      <figcaption>{t("catalog.preview", { shown: Math.min(20, data.records.length), total })}</figcaption>
      <div className="catalog-table-scroll">
        <table className="catalog-table" data-testid="catalog-preview">
          <thead>
            <tr>
              {fields.map((f) => (
                <th key={f.id} scope="col">
                  {f.id}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {data.records.slice(0, 20).map((rec) => (
              <tr key={String(rec._id)}>
                {fields.map((f) => (
                  <td key={f.id} className={f.type === "int" || f.type === "numeric" ? "num" : undefined}>
                    {cell(rec[f.id], i18n.language)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

/** A bar chart of the first numeric column against the first label column (up to 30 rows). */
function ChartPreview({ data }: { data: DatastoreResult }) {
  const { t, i18n } = useTranslation();
  const value = data.fields.find((f) => f.id !== "_id" && (f.type === "numeric" || f.type === "int"));
  const label = data.fields.find((f) => f.id !== "_id" && (f.type === "text" || f.type === "date"));
  if (!value) return null;
  const rows = data.records.slice(0, 30).map((r) => ({ id: String(r._id), label: String(r[label?.id ?? "_id"] ?? ""), v: Number(r[value.id] ?? 0) }));
  const max = Math.max(...rows.map((r) => Math.abs(r.v)), 1);
  const W = 640;
  const H = 220;
  const bw = W / rows.length;
  return (
    <figure className="catalog-chart">
      <figcaption>{t("catalog.chart", { value: value.id, label: label?.id ?? "_id" })}</figcaption>
      <svg viewBox={`0 0 ${W} ${H + 20}`} role="img" aria-label={t("catalog.chart", { value: value.id, label: label?.id ?? "_id" })}>
        {rows.map((r, i) => {
          const h = (Math.abs(r.v) / max) * H;
          return (
            <rect key={r.id} x={i * bw + 2} y={H - h} width={Math.max(1, bw - 4)} height={h} rx={2}>
              <title>
                {r.label}: {formatNumber(r.v, i18n.language, 3)}
              </title>
            </rect>
          );
        })}
        <line x1={0} y1={H} x2={W} y2={H} />
      </svg>
    </figure>
  );
}

const MAP_W = 600;

/** The province's outline with the dataset's features (SVG: no map library on phones). */
function MapPreview({ collection }: { collection: string }) {
  const { t } = useTranslation();
  const [unit, setUnit] = useState<AdminUnit | null>(null);
  const [features, setFeatures] = useState<Feature[]>([]);
  useEffect(() => {
    api<AdminUnit>("/api/geo/units/82").then(setUnit, () => {});
    api<FeatureCollection>(`/ogc/collections/${encodeURIComponent(collection)}/items?limit=1000`).then(
      (fc) => setFeatures(fc.features),
      () => {},
    );
  }, [collection]);
  const drawn = useMemo(() => {
    const geoms = [unit?.boundary as Geometry | undefined, ...features.map((f) => f.geometry)].filter(Boolean) as Geometry[];
    const b = bboxOf(geoms);
    if (!b) return null;
    const box: BBox = [b[0] - 0.02, b[1] - 0.02, b[2] + 0.02, b[3] + 0.02];
    const kx = Math.cos((((box[1] + box[3]) / 2) * Math.PI) / 180);
    const scale = MAP_W / ((box[2] - box[0]) * kx);
    const xy = ([lon, lat]: Position) => `${((lon - box[0]) * kx * scale).toFixed(1)} ${((box[3] - lat) * scale).toFixed(1)}`;
    const path = (g: Geometry): string => {
      if (g.type === "Polygon") return g.coordinates.map((ring) => `M${ring.map(xy).join("L")}Z`).join("");
      if (g.type === "MultiPolygon") return g.coordinates.map((poly) => poly.map((ring) => `M${ring.map(xy).join("L")}Z`).join("")).join("");
      if (g.type === "LineString") return `M${g.coordinates.map(xy).join("L")}`;
      if (g.type === "MultiLineString") return g.coordinates.map((l) => `M${l.map(xy).join("L")}`).join("");
      return "";
    };
    const points = features.flatMap((f, i) =>
      f.geometry?.type === "Point" ? [{ id: String(f.id ?? i), at: xy(f.geometry.coordinates).split(" ").map(Number) }] : [],
    );
    const shapes = features.flatMap((f, i) => (f.geometry && f.geometry.type !== "Point" ? [{ id: String(f.id ?? i), d: path(f.geometry) }] : []));
    return { height: (box[3] - box[1]) * scale, outline: unit?.boundary ? path(unit.boundary as Geometry) : "", shapes, points };
  }, [unit, features]);
  if (!drawn) return null;
  return (
    <figure className="catalog-map">
      <figcaption>{t("catalog.map", { count: features.length })}</figcaption>
      <svg viewBox={`0 0 ${MAP_W} ${drawn.height.toFixed(0)}`} role="img" aria-label={t("catalog.map", { count: features.length })} data-testid="catalog-map">
        <path d={drawn.outline} className="catalog-map-land" />
        {drawn.shapes.map((s) => (
          <path key={s.id} d={s.d} className="catalog-map-shape" />
        ))}
        {drawn.points.map((p) => (
          <circle key={p.id} cx={p.at[0]} cy={p.at[1]} r={5} className="catalog-map-point" />
        ))}
      </svg>
    </figure>
  );
}
