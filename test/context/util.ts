// Helpers for the context broker tests.
import type { TestSen } from "../helpers.ts";

export const LD = "application/ld+json";

/** Inject with a JSON body (the content type given, application/json by default). */
export function call(
  sen: TestSen,
  method: string,
  url: string,
  opts: { token?: string; body?: unknown; type?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] = opts.type ?? "application/json";
  return sen.app.inject({
    method: method as "GET",
    url,
    headers,
    payload: opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body),
  });
}

export const station = (id: string, level: number, lon = 105.248, lat = 10.8006) => ({
  id,
  type: "WaterObserved",
  name: { type: "Property", value: `Trạm ${id}` },
  waterLevel: { type: "Property", value: level, unitCode: "MTR", observedAt: "2026-11-01T00:00:00Z" },
  location: { type: "GeoProperty", value: { type: "Point", coordinates: [lon, lat] } },
});
