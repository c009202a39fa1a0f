// The reports API as the console and the citizen app use it: types, and the multipart upload the
// shared JSON client does not do.
import { ApiError, type Problem } from "../../shared/api";

export type ReportStatus = "new" | "assigned" | "in_progress" | "resolved" | "closed" | "rejected" | "duplicate" | "reopened";
export const OPEN_STATUSES: ReportStatus[] = ["new", "assigned", "in_progress", "reopened"];
export const ALL_STATUSES: ReportStatus[] = ["new", "assigned", "in_progress", "reopened", "resolved", "closed", "rejected", "duplicate"];

export interface Attribute {
  code: string;
  datatype: "string" | "number" | "datetime" | "text" | "singlevaluelist" | "multivaluelist";
  required: boolean;
  description: string;
  descriptionEn?: string;
  order: number;
  variable?: boolean;
  values?: Array<{ key: string; name: string; nameEn?: string }>;
}

export interface Category {
  code: string;
  group: string;
  name: string;
  nameEn: string;
  description: string;
  descriptionEn: string;
  level: "commune" | "province";
  agency: string | null;
  deadlineHours: number;
  attributes: Attribute[];
  active: boolean;
}

export interface Photo {
  id: string;
  kind: "report" | "fix";
  url: string;
  thumbUrl: string;
  width: number;
  height: number;
}

export interface Report {
  id: string;
  category: string;
  categoryName: string;
  group: string;
  channel: string;
  status: ReportStatus;
  description: string;
  lat: number | null;
  lon: number | null;
  address: string | null;
  commune: string | null;
  attributes: Record<string, unknown>;
  agency: string;
  duplicateOf: string | null;
  statusNotes: string | null;
  requestedAt: string;
  updatedAt: string;
  deadlineAt: string;
  overdue: boolean;
  resolvedAt: string | null;
  closedAt: string | null;
  rating: number | null;
  ratingComment: string | null;
  followers: number;
  photos: Photo[];
  reporter?: { name: string | null; phone: string | null; email: string | null; userId: string | null };
}

export interface ReportUpdate {
  id: string;
  at: string;
  kind: string;
  status: ReportStatus | null;
  note: string | null;
  public: boolean;
  agency: string | null;
  actor: string;
}

export type ReportDetail = Report & { updates: ReportUpdate[]; supervisor?: string | null };

export interface SubmitResult {
  report: Report;
  trackingKey: string | null;
  duplicate: boolean;
}

/** POST a JSON field plus files as multipart/form-data; errors become ApiError like api(). */
export async function upload<T>(url: string, field: string, json: unknown, files: File[], headers: Record<string, string> = {}): Promise<T> {
  const fd = new FormData();
  fd.append(field, JSON.stringify(json));
  for (const f of files) fd.append("photo", f, f.name);
  const res = await fetch(url, { method: "POST", body: fd, credentials: "same-origin", headers: { accept: "application/json", ...headers } });
  const data: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const problem: Problem = data && typeof data === "object" ? { status: res.status, ...(data as object) } : { status: res.status, title: res.statusText };
    throw new ApiError(res.status, problem, null);
  }
  return data as T;
}

export const categoryName = (c: Pick<Category, "name" | "nameEn">, lang: string) => (lang.startsWith("en") ? c.nameEn || c.name : c.name);
