// A small client for Sen's same-origin API. The session lives in an HttpOnly cookie set by the
// server, so requests only need the browser's default same-origin credentials.
import type { Geometry } from "geojson";

/** An RFC 9457 problem document, as every Sen API error is. */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  requestId?: string;
  errors?: unknown;
  [extra: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    readonly retryAfter: number | null,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

/** Dispatched on window when an API call answers 401 outside the sign-in endpoints. */
export const UNAUTHORIZED_EVENT = "sen:unauthorized";

/** Thrown when the server cannot be reached at all. */
export class NetworkError extends Error {}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
}

export async function api<T>(url: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json, application/geo+json;q=0.9, application/problem+json;q=0.8" };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  let res: Response;
  try {
    res = await fetch(url, { method: options.method ?? "GET", headers, body, signal: options.signal, credentials: "same-origin" });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new NetworkError(String(err));
  }
  if (res.status === 204) return undefined as T;
  const type = res.headers.get("content-type") ?? "";
  const data: unknown = type.includes("json") ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) {
    const problem: Problem = data && typeof data === "object" ? { status: res.status, ...(data as object) } : { status: res.status, title: res.statusText };
    // A session that ended (expired, revoked, signed out elsewhere): let the app send the user to sign in.
    if (res.status === 401 && !url.startsWith("/api/auth/")) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    const ra = res.headers.get("retry-after");
    const retryAfter = ra !== null && /^\d+$/.test(ra) ? Number(ra) : null;
    throw new ApiError(res.status, problem, retryAfter);
  }
  return data as T;
}

export interface User {
  id: string;
  username: string;
  displayName: string;
  email: string | null;
  phone: string | null;
  agency: string | null;
  roles: string[];
  active: boolean;
  lastLoginAt: string | null;
  createdAt: string;
}

export interface Me {
  type: string;
  id: string;
  name: string;
  user?: User | null;
  roles: string[];
  agency: string | null;
  permissions: string[];
}

export interface AdminUnit {
  code: string;
  name: string;
  nameEn: string;
  fullName: string;
  fullNameEn: string;
  level: string | number;
  unitType: string;
  unitTypeEn: string;
  parentCode: string | null;
  areaKm2: number | null;
  bbox: [number, number, number, number] | null;
  boundary?: Geometry;
}

export interface Agency {
  code: string;
  name: string;
  nameEn: string;
  kind: string;
  unitCode: string | null;
}

export interface AuditEntry {
  id: string | number;
  at: string;
  actorName: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: string;
  ip: string | null;
  details: unknown;
}

export interface AuditPage {
  entries: AuditEntry[];
  next: string | number | null;
}

export interface Health {
  status: string;
  database?: { driver?: string; ok?: boolean };
  version?: string;
}

export interface LocateResult {
  commune: AdminUnit;
  province: AdminUnit;
}
