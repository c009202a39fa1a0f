// The open-data portal talks to Sen's CKAN Action API (the same one harvesters use) and to the
// catalog's own routes for uploads and downloads.
import { ApiError, api } from "../../shared/api";

export interface CkanResource {
  id: string;
  package_id: string;
  name: string;
  name_translated?: { vi: string; en: string };
  description: string;
  format: string;
  url: string;
  url_type: string | null;
  datastore_active: boolean;
  datastore_rows: number | null;
  has_geometry: boolean;
  size: number | null;
  version: number | null;
  last_modified: string | null;
  sen_kind: "upload" | "link" | "api" | "live";
}

export interface CkanPackage {
  id: string;
  name: string;
  title: string;
  notes: string;
  title_translated: { vi: string; en: string };
  notes_translated: { vi: string; en: string };
  state: "draft" | "active";
  private: boolean;
  license_id: string;
  license_title: string;
  license_url: string;
  owner_org: string;
  organization: { name: string; title: string; title_translated: { vi: string; en: string } };
  maintainer: string | null;
  maintainer_email: string | null;
  metadata_created: string;
  metadata_modified: string;
  tags: Array<{ name: string }>;
  groups: Array<{ name: string; title: string }>;
  resources: CkanResource[];
  frequency: string | null;
  temporal_start: string | null;
  temporal_end: string | null;
  spatial: string | null;
  version: string | null;
}

export interface FacetItem {
  name: string;
  display_name: string;
  count: number;
}

export interface SearchResult {
  count: number;
  results: CkanPackage[];
  search_facets: Record<string, { items: FacetItem[] }>;
}

export interface DatastoreField {
  id: string;
  type: string;
}

export interface DatastoreResult {
  fields: DatastoreField[];
  records: Array<Record<string, unknown>>;
  total?: number;
}

/** Thrown for an action's failure, with CKAN's error object. */
export class CkanError extends Error {
  constructor(
    readonly status: number,
    readonly error: Record<string, unknown>,
  ) {
    super(String(error.message ?? error.__type ?? `HTTP ${status}`));
  }
}

/** Call a CKAN action: GET with a query, or POST with a JSON body. */
export async function ckan<T>(action: string, params?: Record<string, unknown>, post = false): Promise<T> {
  try {
    if (post) return (await api<{ result: T }>(`/api/3/action/${action}`, { method: "POST", body: params ?? {} })).result;
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== "") q.set(k, typeof v === "string" ? v : JSON.stringify(v));
    return (await api<{ result: T }>(`/api/3/action/${action}${q.size ? `?${q}` : ""}`)).result;
  } catch (err) {
    if (err instanceof ApiError && err.problem.error && typeof err.problem.error === "object")
      throw new CkanError(err.status, err.problem.error as Record<string, unknown>);
    throw err;
  }
}

export const FACETS = ["organization", "groups", "tags", "res_format", "license_id"] as const;

/** A Solr-style filter term (values quoted, quotes escaped). */
export const fqTerm = (field: string, value: string) => `${field}:"${value.replace(/["\\]/g, "\\$&")}"`;

export function title(p: { title: string; title_translated?: { en: string } }, lang: string): string {
  return lang === "en" && p.title_translated?.en ? p.title_translated.en : p.title;
}

export function notes(p: CkanPackage, lang: string): string {
  return lang === "en" && p.notes_translated?.en ? p.notes_translated.en : p.notes;
}

export function orgName(p: CkanPackage, lang: string): string {
  return lang === "en" ? p.organization.title_translated?.en || p.organization.title : p.organization.title;
}

export function downloadUrl(resourceId: string, format: "csv" | "json" | "geojson" | "xlsx", version?: number): string {
  return `/api/catalog/resources/${resourceId}/download?format=${format}${version ? `&version=${version}` : ""}`;
}

export function formatBytes(n: number | null | undefined, lang: string): string {
  if (!n) return "";
  const units = ["B", "kB", "MB", "GB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toLocaleString(lang === "en" ? "en-GB" : "vi-VN", { maximumFractionDigits: 1 })} ${units[i]}`;
}
