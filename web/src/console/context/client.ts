// The console talks to the broker through its standard NGSI-LD API (same origin, session cookie).
import { api } from "../../shared/api";

export interface EntityType {
  id: string;
  typeName: string;
  attributeNames: string[];
  entityCount: number;
}

export type Attr = {
  type?: string;
  value?: unknown;
  object?: string | string[];
  languageMap?: Record<string, string>;
  observedAt?: string;
  unitCode?: string;
  datasetId?: string;
  modifiedAt?: string;
  [sub: string]: unknown;
};
export type Entity = { id: string; type: string | string[]; createdAt?: string; modifiedAt?: string } & Record<string, unknown>;

export interface Subscription {
  id: string;
  subscriptionName?: string;
  description?: string;
  entities?: Array<{ type: string; id?: string; idPattern?: string }>;
  watchedAttributes?: string[];
  q?: string;
  status: string;
  isActive: boolean;
  throttling?: number;
  timeInterval?: number;
  expiresAt?: string;
  notification: {
    format: string;
    endpoint: { uri: string; accept: string };
    status: string;
    timesSent: number;
    timesFailed: number;
    lastNotification?: string;
    lastSuccess?: string;
    lastFailure?: string;
    consecutiveErrors: number;
    lastErrorReason?: string;
  };
}

const base = "/ngsi-ld/v1";

export const listTypes = (signal?: AbortSignal) => api<EntityType[]>(`${base}/types?details=true`, { signal });

export async function queryEntities(
  p: { type?: string; q?: string; limit: number; offset: number },
  signal?: AbortSignal,
): Promise<{ entities: Entity[]; count: number }> {
  const qs = new URLSearchParams({ limit: String(p.limit), offset: String(p.offset), count: "true", options: "sysAttrs" });
  if (p.type) qs.set("type", p.type);
  if (p.q) qs.set("q", p.q);
  if (!p.type && !p.q) qs.set("idPattern", ".*");
  const res = await fetch(`${base}/entities?${qs}`, { headers: { accept: "application/json" }, credentials: "same-origin", signal });
  const body = await res.json();
  if (!res.ok) throw new Error(body?.detail ?? `HTTP ${res.status}`);
  return { entities: body as Entity[], count: Number(res.headers.get("NGSILD-Results-Count") ?? body.length) };
}

export const getEntity = (id: string, signal?: AbortSignal) => api<Entity>(`${base}/entities/${encodeURIComponent(id)}?options=sysAttrs`, { signal });

export async function history(id: string, attr: string, from: Date, signal?: AbortSignal): Promise<Array<[number, string]>> {
  const qs = new URLSearchParams({ attrs: attr, timerel: "after", timeAt: from.toISOString(), options: "temporalValues" });
  const body = await api<Record<string, { values?: Array<[number, string]> }>>(`${base}/temporal/entities/${encodeURIComponent(id)}?${qs}`, { signal });
  return body[attr]?.values ?? [];
}

export const listSubscriptions = (signal?: AbortSignal) => api<Subscription[]>(`${base}/subscriptions?limit=1000`, { signal });

/** Instances of an attribute (multi-attributes come as arrays). */
export const instances = (v: unknown): Attr[] => (Array.isArray(v) ? (v as Attr[]) : [v as Attr]);
export const isAttr = (k: string) => !["id", "type", "createdAt", "modifiedAt", "@context"].includes(k);

export function pointOf(e: Entity): [number, number] | null {
  const loc = e.location ? instances(e.location)[0] : undefined;
  const g = loc?.value as { type?: string; coordinates?: unknown } | undefined;
  if (g?.type === "Point" && Array.isArray(g.coordinates)) return [Number(g.coordinates[0]), Number(g.coordinates[1])];
  return null;
}
