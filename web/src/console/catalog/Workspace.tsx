// The publisher's workspace: the agency's datasets (drafts and private ones too), a form to create
// or edit one, and its page where files are uploaded (with progress), column types confirmed,
// the load followed, and the dataset published.
import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { type CkanPackage, type CkanResource, type SearchResult, ckan, CkanError, fqTerm, title } from "../../app/catalog/client";
import { ApiError, api } from "../../shared/api";
import { formatDateTime, formatNumber } from "../../shared/format";
import { Link, navigate } from "../../shared/router";
import { useAuth } from "../auth";
import { ErrorMessage } from "../pages/Misc";
import { useAgencyName } from "../useAgencyName";
import "./catalog.css";

const LICENSES = ["cc-by-4.0", "cc-by-sa-4.0", "cc0-1.0", "odc-by", "odc-odbl", "other-open", "other-closed"];
const FREQUENCIES = ["", "CONT", "DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "ANNUAL", "IRREG"];
const TYPES = ["text", "int8", "numeric", "bool", "date", "timestamp"];

interface Column {
  id: string;
  type: string;
  index?: boolean;
  sample?: string[];
}
interface Version {
  id: string;
  seq: number;
  filename: string;
  status: "pending" | "loading" | "ready" | "failed";
  columns: Column[];
  rowsLoaded: number;
  progress: number;
  error: string | null;
  encoding: string;
  format: string;
  size: number;
}

function errorText(err: unknown): string {
  if (err instanceof CkanError) {
    const fields = Object.entries(err.error).filter(([k]) => !k.startsWith("__") && k !== "message");
    return fields.length ? fields.map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : String(v)}`).join("; ") : err.message;
  }
  if (err instanceof ApiError) return err.problem.detail ?? err.message;
  return String(err);
}

/** A URL name from a title: "Mực nước sông Tiền" → "muc-nuoc-song-tien". */
export function slugify(s: string): string {
  return s
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/đ/g, "d")
    .replace(/Đ/g, "D")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 90);
}

// ---------------------------------------------------------------------------------------------

export function CatalogWorkspace() {
  const { t, i18n } = useTranslation();
  const { me, can } = useAuth();
  const [result, setResult] = useState<SearchResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const admin = can("agencies:manage");
  const agencyName = useAgencyName();

  useEffect(() => {
    ckan<SearchResult>(
      "package_search",
      {
        fq: admin || !me?.agency ? "" : fqTerm("organization", me.agency),
        include_private: true,
        include_drafts: true,
        rows: 200,
        sort: "metadata_modified desc",
      },
      true,
    ).then(setResult, setError);
  }, [admin, me?.agency]);

  return (
    <div className="page page-wide">
      <header className="page-head">
        <div>
          <h1>{t("catalog.workspaceTitle")}</h1>
          <p className="page-sub">{admin ? t("catalog.workspaceSubAll") : t("catalog.workspaceSub", { agency: agencyName(me?.agency) })}</p>
        </div>
        <Link to="/catalog/new" className="btn btn-primary">
          {t("catalog.newDataset")}
        </Link>
      </header>
      {error ? <ErrorMessage error={error} /> : null}
      <div className="card table-card">
        <table className="table">
          <thead>
            <tr>
              <th>{t("catalog.titleField")}</th>
              <th>{t("catalog.organization")}</th>
              <th>{t("catalog.state")}</th>
              <th>{t("catalog.resources")}</th>
              <th>{t("catalog.updated")}</th>
            </tr>
          </thead>
          <tbody>
            {result?.results.map((p) => (
              <tr key={p.id} data-testid="workspace-row">
                <td>
                  <Link to={`/catalog/d/${p.name}`}>{title(p, i18n.language)}</Link>
                </td>
                <td>{agencyName(p.owner_org)}</td>
                <td>
                  <StateChip p={p} />
                </td>
                <td className="num">{p.resources.length}</td>
                <td>{formatDateTime(`${p.metadata_modified}Z`, i18n.language)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {result && result.count === 0 && <p className="empty-state">{t("catalog.noDatasetsYet")}</p>}
      </div>
    </div>
  );
}

function StateChip({ p }: { p: CkanPackage }) {
  const { t } = useTranslation();
  if (p.state === "draft") return <span className="catalog-state is-draft">{t("catalog.draft")}</span>;
  if (p.private) return <span className="catalog-state is-private">{t("catalog.private")}</span>;
  return <span className="catalog-state is-public">{t("catalog.public")}</span>;
}

// ---------------------------------------------------------------------------------------------

interface Group {
  name: string;
  title: string;
  title_translated: { vi: string; en: string };
}

export function DatasetForm({ existing }: { existing?: CkanPackage }) {
  const { t, i18n } = useTranslation();
  const { me, can } = useAuth();
  const admin = can("agencies:manage");
  const [groups, setGroups] = useState<Group[]>([]);
  const [agencies, setAgencies] = useState<Array<{ code: string; name: string; nameEn: string }>>([]);
  const [f, setF] = useState(() => ({
    title: existing?.title ?? "",
    title_en: existing?.title_translated.en ?? "",
    name: existing?.name ?? "",
    notes: existing?.notes ?? "",
    notes_en: existing?.notes_translated.en ?? "",
    owner_org: existing?.owner_org ?? me?.agency ?? "",
    license_id: existing?.license_id ?? "cc-by-4.0",
    frequency: existing?.frequency ?? "",
    tags: existing?.tags.map((x) => x.name).join(", ") ?? "",
    groups: existing?.groups.map((g) => g.name) ?? [],
    maintainer: existing?.maintainer ?? "",
    maintainer_email: existing?.maintainer_email ?? "",
    temporal_start: existing?.temporal_start ?? "",
    temporal_end: existing?.temporal_end ?? "",
    private: existing?.private ?? false,
  }));
  const [nameTouched, setNameTouched] = useState(!!existing);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");

  useEffect(() => {
    ckan<Group[]>("group_list", { all_fields: "true" }).then(setGroups, () => {});
    if (admin) api<Array<{ code: string; name: string; nameEn: string }>>("/api/agencies").then(setAgencies, () => {});
  }, [admin]);

  const set = (patch: Partial<typeof f>) => setF((x) => ({ ...x, ...patch }));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    const body = {
      name: f.name,
      title: f.title,
      title_en: f.title_en,
      notes: f.notes,
      notes_en: f.notes_en,
      owner_org: f.owner_org,
      license_id: f.license_id,
      frequency: f.frequency || null,
      tags: f.tags
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
      groups: f.groups,
      maintainer: f.maintainer || null,
      maintainer_email: f.maintainer_email || null,
      temporal_start: f.temporal_start || null,
      temporal_end: f.temporal_end || null,
      private: f.private,
    };
    try {
      const p = existing
        ? await ckan<CkanPackage>("package_patch", { id: existing.id, ...body }, true)
        : await ckan<CkanPackage>("package_create", { ...body, state: "draft" }, true);
      navigate(`/catalog/d/${p.name}`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>{existing ? t("catalog.editDataset") : t("catalog.newDataset")}</h1>
          <p className="page-sub">{t("catalog.formSub")}</p>
        </div>
      </header>
      <form className="card catalog-form" onSubmit={(e) => void submit(e)}>
        <div className="field">
          <label htmlFor="ds-title">{t("catalog.titleField")}</label>
          <input
            id="ds-title"
            value={f.title}
            required
            maxLength={300}
            onChange={(e) => set({ title: e.target.value, ...(nameTouched ? {} : { name: slugify(e.target.value) }) })}
          />
        </div>
        <div className="field">
          <label htmlFor="ds-title-en">{t("catalog.titleEn")}</label>
          <input id="ds-title-en" value={f.title_en} maxLength={300} onChange={(e) => set({ title_en: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="ds-name">{t("catalog.urlName")}</label>
          <input
            id="ds-name"
            value={f.name}
            required
            pattern="[a-z0-9][a-z0-9_\-]{1,99}"
            onChange={(e) => {
              setNameTouched(true);
              set({ name: e.target.value });
            }}
          />
          <small className="muted">/app/catalog/{f.name || "…"}</small>
        </div>
        <div className="field">
          <label htmlFor="ds-notes">{t("catalog.description")}</label>
          <textarea id="ds-notes" value={f.notes} maxLength={20000} onChange={(e) => set({ notes: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="ds-notes-en">{t("catalog.descriptionEn")}</label>
          <textarea id="ds-notes-en" value={f.notes_en} maxLength={20000} onChange={(e) => set({ notes_en: e.target.value })} />
        </div>
        <div className="row">
          {admin && (
            <div className="field">
              <label htmlFor="ds-org">{t("catalog.organization")}</label>
              <select id="ds-org" value={f.owner_org} required onChange={(e) => set({ owner_org: e.target.value })}>
                <option value="" />
                {agencies.map((a) => (
                  <option key={a.code} value={a.code}>
                    {i18n.language === "en" ? a.nameEn : a.name}
                  </option>
                ))}
              </select>
            </div>
          )}
          <div className="field">
            <label htmlFor="ds-license">{t("catalog.license")}</label>
            <select id="ds-license" value={f.license_id} onChange={(e) => set({ license_id: e.target.value })}>
              {LICENSES.map((l) => (
                <option key={l} value={l}>
                  {t(`catalog.licenses.${l}`)}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="ds-freq">{t("catalog.frequency")}</label>
            <select id="ds-freq" value={f.frequency} onChange={(e) => set({ frequency: e.target.value })}>
              {FREQUENCIES.map((x) => (
                <option key={x} value={x}>
                  {x ? t(`catalog.frequencies.${x}`) : "—"}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="field">
          <label htmlFor="ds-tags">{t("catalog.tagsField")}</label>
          <input id="ds-tags" value={f.tags} onChange={(e) => set({ tags: e.target.value })} placeholder="ngập lụt, thủy văn" />
        </div>
        <fieldset className="field catalog-groups">
          <legend>{t("catalog.themes")}</legend>
          {groups.map((g) => (
            <label key={g.name} className="check">
              <input
                type="checkbox"
                checked={f.groups.includes(g.name)}
                onChange={(e) => set({ groups: e.target.checked ? [...f.groups, g.name] : f.groups.filter((x) => x !== g.name) })}
              />
              {i18n.language === "en" ? g.title_translated.en || g.title : g.title}
            </label>
          ))}
        </fieldset>
        <div className="row">
          <div className="field">
            <label htmlFor="ds-from">{t("catalog.temporalStart")}</label>
            <input id="ds-from" type="date" value={f.temporal_start} onChange={(e) => set({ temporal_start: e.target.value })} />
          </div>
          <div className="field">
            <label htmlFor="ds-to">{t("catalog.temporalEnd")}</label>
            <input id="ds-to" type="date" value={f.temporal_end} onChange={(e) => set({ temporal_end: e.target.value })} />
          </div>
        </div>
        <div className="row">
          <div className="field">
            <label htmlFor="ds-contact">{t("catalog.contactName")}</label>
            <input id="ds-contact" value={f.maintainer} maxLength={200} onChange={(e) => set({ maintainer: e.target.value })} />
          </div>
          <div className="field">
            <label htmlFor="ds-email">{t("catalog.contactEmail")}</label>
            <input id="ds-email" type="email" value={f.maintainer_email} maxLength={200} onChange={(e) => set({ maintainer_email: e.target.value })} />
          </div>
        </div>
        <label className="check">
          <input type="checkbox" checked={f.private} onChange={(e) => set({ private: e.target.checked })} />
          {t("catalog.privateField")}
        </label>
        {error && (
          <div className="alert alert-error" role="alert">
            {error}
          </div>
        )}
        <div className="catalog-form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {existing ? t("catalog.save") : t("catalog.createDraft")}
          </button>
          <Link to={existing ? `/catalog/d/${existing.name}` : "/catalog"} className="btn">
            {t("catalog.cancel")}
          </Link>
        </div>
      </form>
    </div>
  );
}

export function EditDataset({ name }: { name: string }) {
  const [p, setP] = useState<CkanPackage | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    ckan<CkanPackage>("package_show", { id: name }).then(setP, setError);
  }, [name]);
  if (error) return <ErrorMessage error={error} />;
  return p ? <DatasetForm existing={p} /> : null;
}

// ---------------------------------------------------------------------------------------------

export function DatasetWorkspace({ name }: { name: string }) {
  const { t, i18n } = useTranslation();
  const [p, setP] = useState<CkanPackage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [adding, setAdding] = useState<"file" | "link" | null>(null);
  const agencyName = useAgencyName();

  const load = useCallback(() => {
    ckan<CkanPackage>("package_show", { id: name }).then(setP, setError);
  }, [name]);
  useEffect(load, [load]);

  const patch = async (body: Record<string, unknown>) => {
    if (!p) return;
    setBusy(true);
    try {
      setP(await ckan<CkanPackage>("package_patch", { id: p.id, ...body }, true));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (error && !p) return <ErrorMessage error={error} />;
  if (!p) return null;
  const ready = p.resources.some((r) => r.datastore_active || r.sen_kind !== "upload");
  return (
    <div className="page page-wide">
      <header className="page-head">
        <div>
          <div className="breadcrumb">
            <Link to="/catalog">{t("catalog.workspaceTitle")}</Link>
          </div>
          <h1>{title(p, i18n.language)}</h1>
          <p className="page-sub">
            {agencyName(p.owner_org)} · <StateChip p={p} />
          </p>
        </div>
        <div className="catalog-head-actions">
          <Link to={`/catalog/d/${p.name}/edit`} className="btn">
            {t("catalog.edit")}
          </Link>
          {p.state === "active" && !p.private && (
            <a className="btn" href={`/app/catalog/${p.name}`} target="_blank" rel="noreferrer">
              {t("catalog.viewPublic")}
            </a>
          )}
          {p.state === "draft" ? (
            <button
              type="button"
              className="btn btn-primary"
              disabled={busy || !ready}
              title={ready ? "" : t("catalog.publishNeedsData")}
              onClick={() => void patch({ state: "active" })}
            >
              {t("catalog.publish")}
            </button>
          ) : (
            <button type="button" className="btn" disabled={busy} onClick={() => void patch({ state: "draft" })}>
              {t("catalog.unpublish")}
            </button>
          )}
        </div>
      </header>
      {error ? <ErrorMessage error={error} /> : null}

      <section className="card catalog-section">
        <div className="card-head">
          <h2 className="section-title">{t("catalog.resources")}</h2>
          <div className="catalog-head-actions">
            <button type="button" className="btn btn-primary btn-sm" onClick={() => setAdding("file")}>
              {t("catalog.addFile")}
            </button>
            <button type="button" className="btn btn-sm" onClick={() => setAdding("link")}>
              {t("catalog.addLink")}
            </button>
          </div>
        </div>
        {adding === "file" && (
          <NewFileResource
            datasetId={p.id}
            onDone={() => {
              setAdding(null);
              load();
            }}
          />
        )}
        {adding === "link" && (
          <NewLinkResource
            datasetId={p.id}
            onDone={() => {
              setAdding(null);
              load();
            }}
          />
        )}
        {p.resources.length === 0 && !adding && <p className="empty-state">{t("catalog.noResourcesYet")}</p>}
        {p.resources.map((r) => (
          <ResourceRow key={r.id} r={r} onChange={load} />
        ))}
      </section>
    </div>
  );
}

function ResourceRow({ r, onChange }: { r: CkanResource; onChange: () => void }) {
  const { t, i18n } = useTranslation();
  const [uploading, setUploading] = useState(false);
  return (
    <div className="catalog-resource-row" data-testid="resource-row">
      <div className="catalog-resource-main">
        <strong>{r.name}</strong> <span className="catalog-format">{r.format || r.sen_kind}</span>
        <div className="muted small">
          {r.sen_kind === "upload"
            ? r.datastore_active
              ? t("catalog.loadedRows", { count: r.datastore_rows ?? 0, version: r.version })
              : t("catalog.noDataYet")
            : r.url}
        </div>
      </div>
      {r.sen_kind === "upload" && (
        <button type="button" className="btn btn-sm" onClick={() => setUploading((x) => !x)}>
          {t("catalog.newVersion")}
        </button>
      )}
      {uploading && (
        <Uploader
          resourceId={r.id}
          onDone={() => {
            setUploading(false);
            onChange();
          }}
          lang={i18n.language}
        />
      )}
    </div>
  );
}

function NewLinkResource({ datasetId, onDone }: { datasetId: string; onDone: () => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [format, setFormat] = useState("");
  const [error, setError] = useState("");
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await ckan("resource_create", { package_id: datasetId, name, url, format }, true);
      onDone();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form className="catalog-inline" onSubmit={(e) => void submit(e)}>
      <input aria-label={t("catalog.resourceName")} placeholder={t("catalog.resourceName")} value={name} onChange={(e) => setName(e.target.value)} required />
      <input aria-label="URL" placeholder="https://…" type="url" value={url} onChange={(e) => setUrl(e.target.value)} required />
      <input aria-label={t("catalog.format")} placeholder="PDF" value={format} onChange={(e) => setFormat(e.target.value)} size={6} />
      <button type="submit" className="btn btn-primary btn-sm">
        {t("catalog.add")}
      </button>
      {error && <span className="field-error">{error}</span>}
    </form>
  );
}

function NewFileResource({ datasetId, onDone }: { datasetId: string; onDone: () => void }) {
  const { t, i18n } = useTranslation();
  const [name, setName] = useState("");
  const [resourceId, setResourceId] = useState<string | null>(null);
  const [error, setError] = useState("");
  const create = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const r = await api<{ id: string }>(`/api/catalog/datasets/${datasetId}/resources`, { method: "POST", body: { name, kind: "upload" } });
      setResourceId(r.id);
    } catch (err) {
      setError(errorText(err));
    }
  };
  if (resourceId) return <Uploader resourceId={resourceId} onDone={onDone} lang={i18n.language} />;
  return (
    <form className="catalog-inline" onSubmit={(e) => void create(e)}>
      <input
        aria-label={t("catalog.resourceName")}
        placeholder={t("catalog.resourceName")}
        value={name}
        onChange={(e) => setName(e.target.value)}
        required
        maxLength={300}
      />
      <button type="submit" className="btn btn-primary btn-sm">
        {t("catalog.next")}
      </button>
      {error && <span className="field-error">{error}</span>}
    </form>
  );
}

type Stage =
  | { s: "choose" }
  | { s: "uploading"; sent: number; total: number }
  | { s: "confirm"; v: Version }
  | { s: "loading"; v: Version }
  | { s: "done"; v: Version };

/** Choose a file → upload with progress → confirm the column types → follow the load. */
function Uploader({ resourceId, onDone, lang }: { resourceId: string; onDone: () => void; lang: string }) {
  const { t } = useTranslation();
  const [stage, setStage] = useState<Stage>({ s: "choose" });
  const [columns, setColumns] = useState<Column[]>([]);
  const [error, setError] = useState("");
  const xhrRef = useRef<XMLHttpRequest | null>(null);

  useEffect(() => () => xhrRef.current?.abort(), []);

  const upload = (file: File) => {
    setError("");
    const form = new FormData();
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhrRef.current = xhr;
    xhr.open("POST", `/api/catalog/resources/${resourceId}/versions`);
    xhr.upload.onprogress = (e) => setStage({ s: "uploading", sent: e.loaded, total: e.total || file.size });
    xhr.onload = () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {}
      if (xhr.status === 201) {
        const v = body as unknown as Version;
        setColumns(v.columns.map((c) => ({ ...c })));
        setStage({ s: "confirm", v });
      } else {
        setError(String(body.detail ?? `HTTP ${xhr.status}`));
        setStage({ s: "choose" });
      }
    };
    xhr.onerror = () => {
      setError(t("catalog.uploadFailed"));
      setStage({ s: "choose" });
    };
    setStage({ s: "uploading", sent: 0, total: file.size });
    xhr.send(form);
  };

  const confirm = async (v: Version) => {
    setError("");
    try {
      const loading = await api<Version>(`/api/catalog/versions/${v.id}/confirm`, {
        method: "POST",
        body: { columns: columns.map((c) => ({ id: c.id, type: c.type, index: !!c.index })) },
      });
      setStage({ s: "loading", v: loading });
    } catch (err) {
      setError(errorText(err));
    }
  };

  // Follow the load: the version row carries the bytes read and rows loaded.
  useEffect(() => {
    if (stage.s !== "loading") return;
    const timer = setInterval(() => {
      api<Version>(`/api/catalog/versions/${stage.v.id}`).then(
        (v) => {
          if (v.status === "ready") setStage({ s: "done", v });
          else if (v.status === "failed") {
            setError(v.error ?? "");
            setColumns(v.columns.map((c) => ({ ...c })));
            setStage({ s: "confirm", v });
          } else setStage({ s: "loading", v });
        },
        () => {},
      );
    }, 250);
    return () => clearInterval(timer);
  }, [stage]);

  return (
    <div className="catalog-uploader" data-testid="uploader">
      {stage.s === "choose" && (
        <label className="catalog-drop">
          <input
            type="file"
            accept=".csv,.tsv,.txt,.xlsx,.json,.geojson"
            onChange={(e) => e.target.files?.[0] && upload(e.target.files[0])}
            data-testid="file-input"
          />
          <span>{t("catalog.chooseFile")}</span>
          <small className="muted">{t("catalog.fileTypes")}</small>
        </label>
      )}
      {stage.s === "uploading" && (
        <Progress
          label={t("catalog.uploading")}
          value={stage.total ? stage.sent / stage.total : 0}
          detail={`${formatNumber(stage.sent / 1048576, lang, 1)} / ${formatNumber(stage.total / 1048576, lang, 1)} MB`}
        />
      )}
      {stage.s === "confirm" && (
        <div>
          <p>{t("catalog.confirmText", { file: stage.v.filename, encoding: stage.v.encoding })}</p>
          <div className="table-scroll">
            <table className="table table-compact" data-testid="columns">
              <thead>
                <tr>
                  <th>{t("catalog.column")}</th>
                  <th>{t("catalog.type")}</th>
                  <th>{t("catalog.indexed")}</th>
                  <th>{t("catalog.examples")}</th>
                </tr>
              </thead>
              <tbody>
                {columns.map((c, i) => (
                  <tr key={c.id}>
                    <td>{c.id}</td>
                    <td>
                      <select
                        aria-label={t("catalog.typeOf", { column: c.id })}
                        value={c.type}
                        onChange={(e) => setColumns((cs) => cs.map((x, j) => (j === i ? { ...x, type: e.target.value } : x)))}
                      >
                        {TYPES.map((ty) => (
                          <option key={ty} value={ty}>
                            {t(`catalog.types.${ty}`)}
                          </option>
                        ))}
                      </select>
                    </td>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={t("catalog.indexed")}
                        checked={!!c.index}
                        onChange={(e) => setColumns((cs) => cs.map((x, j) => (j === i ? { ...x, index: e.target.checked } : x)))}
                      />
                    </td>
                    <td className="muted">{(c.sample ?? []).join(" · ")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <button type="button" className="btn btn-primary" onClick={() => void confirm(stage.v)}>
            {t("catalog.confirmLoad")}
          </button>
        </div>
      )}
      {stage.s === "loading" && (
        <Progress label={t("catalog.loadingRows", { count: stage.v.rowsLoaded })} value={stage.v.progress} detail={`${Math.round(stage.v.progress * 100)} %`} />
      )}
      {stage.s === "done" && (
        <div className="alert" role="status">
          {t("catalog.loaded", { count: stage.v.rowsLoaded })}{" "}
          <button type="button" className="btn btn-sm" onClick={onDone}>
            {t("catalog.close")}
          </button>
        </div>
      )}
      {error && (
        <div className="alert alert-error" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

function Progress({ label, value, detail }: { label: string; value: number; detail: string }) {
  return (
    <div className="catalog-progress">
      <div className="catalog-progress-label">
        <span>{label}</span>
        <span>{detail}</span>
      </div>
      <div className="catalog-progress-bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(value * 100)} aria-label={label}>
        <div style={{ width: `${Math.round(value * 100)}%` }} />
      </div>
    </div>
  );
}
