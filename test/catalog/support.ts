// Helpers of the catalog suites: publishers with API keys, multipart uploads, waiting for loads.
import { SYSTEM } from "../../src/core/context.ts";
import type { TestSen } from "../helpers.ts";

export const CKAN = "/api/3/action";

/** An API key of a publisher of `agency` (raw, as CKAN clients send it in Authorization). */
export async function publisherKey(sen: TestSen, agency: string, permissions = ["datasets:publish", "datasets:read-private"]): Promise<string> {
  const { key } = await sen.services.accounts.createApiKey({ name: `pub-${agency}-${Math.random().toString(36).slice(2, 8)}`, agency, permissions }, SYSTEM);
  return key;
}

export async function action(sen: TestSen, name: string, body?: unknown, key?: string) {
  const res = await sen.app.inject({
    method: body === undefined ? "GET" : "POST",
    url: `${CKAN}/${name}`,
    headers: { ...(key ? { authorization: key } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    payload: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: CKAN results are checked field by field in the tests
  return { status: res.statusCode, body: res.json() as { success: boolean; result: any; error?: any; help: string } };
}

export function multipart(filename: string, content: Buffer | string, field = "file", fields: Record<string, string> = {}) {
  const boundary = `----sen${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  parts.push(
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
  );
  parts.push(Buffer.isBuffer(content) ? content : Buffer.from(content));
  parts.push(Buffer.from(`\r\n--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { "content-type": `multipart/form-data; boundary=${boundary}` } };
}

export async function createDataset(sen: TestSen, key: string, body: Record<string, unknown>) {
  const r = await action(sen, "package_create", body, key);
  if (!r.body.success) throw new Error(`package_create failed: ${JSON.stringify(r.body.error)}`);
  return r.body.result;
}

export async function addUploadResource(sen: TestSen, key: string, dataset: string, name = "Dữ liệu") {
  const res = await sen.app.inject({
    method: "POST",
    url: `/api/catalog/datasets/${dataset}/resources`,
    headers: { authorization: `Bearer ${key}` },
    payload: { name, kind: "upload" },
  });
  if (res.statusCode !== 201) throw new Error(`resource create failed: ${res.statusCode} ${res.body}`);
  return res.json().id as string;
}

export async function upload(sen: TestSen, key: string, resourceId: string, filename: string, content: Buffer | string) {
  const m = multipart(filename, content);
  return sen.app.inject({
    method: "POST",
    url: `/api/catalog/resources/${resourceId}/versions`,
    headers: { ...m.headers, authorization: `Bearer ${key}` },
    payload: m.payload,
  });
}

/** Wait until a version is loaded (or failed); returns it. */
export async function waitLoaded(sen: TestSen, versionId: string, key: string, ms = 60_000) {
  const until = Date.now() + ms;
  for (;;) {
    const v = (await sen.app.inject({ url: `/api/catalog/versions/${versionId}`, headers: { authorization: `Bearer ${key}` } })).json();
    if (v.status === "ready" || v.status === "failed") return v;
    if (Date.now() > until) throw new Error(`version ${versionId} still ${v.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Upload, confirm with the inferred types, wait for the load. */
export async function publishFile(sen: TestSen, key: string, resourceId: string, filename: string, content: Buffer | string) {
  const up = await upload(sen, key, resourceId, filename, content);
  if (up.statusCode !== 201) throw new Error(`upload failed: ${up.statusCode} ${up.body}`);
  const v = up.json();
  const c = await sen.app.inject({ method: "POST", url: `/api/catalog/versions/${v.id}/confirm`, headers: { authorization: `Bearer ${key}` }, payload: {} });
  if (c.statusCode !== 202) throw new Error(`confirm failed: ${c.statusCode} ${c.body}`);
  return waitLoaded(sen, v.id, key);
}

export async function datastoreTables(sen: TestSen): Promise<number> {
  const r = await sen.services.db.one<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'datastore'");
  return Number(r?.n ?? 0);
}
