// Helpers of the alerts tests: users with roles, the official CAP schema check, draft bodies.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { type TestSen, auth } from "../helpers.ts";

export const SPECS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../data/specs/cap");
export const XSD = path.join(SPECS, "CAP-v1.2.xsd");

/** Communes downstream of Tân Châu on the Tiền river (the demo fleet's floodInfluence). */
export const TAN_CHAU_INFLUENCE = ["29971", "29983", "29992", "29978", "29955", "29954", "30019", "30154"];

/** xmllint --noout --nonet --schema CAP-v1.2.xsd: resolves with the tool's verdict. */
export function xmllint(xml: string): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sen-cap-"));
  const file = path.join(dir, "alert.xml");
  writeFileSync(file, xml);
  return new Promise((resolve) =>
    execFile("xmllint", ["--noout", "--nonet", "--schema", XSD, file], (err, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ ok: !err, output: `${stdout}${stderr}` });
    }),
  );
}

export async function expectValidCap(sen: TestSen, id: string): Promise<string> {
  const res = await sen.app.inject({ url: `/cap/alerts/${id}.xml` });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers["content-type"]).toContain("application/cap+xml");
  const v = await xmllint(res.body);
  expect(v.output).toContain("validates");
  expect(v.ok, v.output).toBe(true);
  return res.body;
}

/** Create a user with roles and sign in; returns the bearer token and id. */
export async function user(sen: TestSen, admin: string, username: string, roles: string[], agency: string | null): Promise<{ token: string; id: string }> {
  const password = `${username}-password-1`;
  const res = await sen.app.inject({
    method: "POST",
    url: "/api/users",
    headers: auth(admin),
    payload: { username, displayName: username, password, roles, agency, email: `${username}@example.vn` },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { token: await sen.login(username, password), id: res.json().id };
}

export function draftBody(over: Record<string, unknown> = {}) {
  return {
    hazard: "epidemic",
    severity: "Moderate",
    infos: [
      { language: "vi", event: "Sốt xuất huyết", headline: "Cảnh báo sốt xuất huyết tăng", description: "Số ca mắc tăng.", instruction: "Diệt lăng quăng." },
      { language: "en", event: "Dengue fever", headline: "Dengue cases rising", description: "Cases are rising.", instruction: "Remove breeding sites." },
    ],
    area: { communes: ["29971", "29983"] },
    expires: new Date(Date.now() + 48 * 3_600_000).toISOString(),
    ...over,
  };
}

export async function post(sen: TestSen, token: string, url: string, payload?: unknown) {
  return sen.app.inject({ method: "POST", url, headers: auth(token), ...(payload === undefined ? {} : { payload: payload as object }) });
}
