// First-start data of the core: the province's agencies (departments and the communes' people's
// committees) and the first admin account.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { AccountsService } from "./accounts/service.ts";

interface AgencySource {
  code: string;
  name: string;
  nameEn: string;
  kind: "province" | "department" | "commune" | "other";
  parent?: string;
}

export interface CommuneRef {
  code: string;
  fullName: string;
  fullNameEn: string;
}

/** Load departments and one people's committee per commune. Idempotent. */
export async function seedAgencies(
  accounts: AccountsService,
  opts: { dataDir: string; province: { code: string; fullName: string; fullNameEn: string }; communes: CommuneRef[] },
): Promise<number> {
  const file = JSON.parse(readFileSync(path.join(opts.dataDir, "agencies", "departments.json"), "utf8")) as { agencies: AgencySource[] };
  const top = `UBND-${opts.province.code}`;
  const fill = (s: string) => s.replace("{province}", opts.province.fullName).replace("{provinceEn}", opts.province.fullNameEn);
  let n = 0;
  for (const a of file.agencies) {
    const code = a.code === "UBND" ? top : a.code;
    await accounts.store.upsertAgency({
      code,
      name: fill(a.name),
      name_en: fill(a.nameEn),
      kind: a.kind,
      unit_code: a.kind === "province" ? opts.province.code : null,
      parent_code: a.code === "UBND" ? null : (a.parent ?? top),
    });
    n++;
  }
  for (const c of opts.communes) {
    await accounts.store.upsertAgency({
      code: `UBND-${c.code}`,
      name: `Ủy ban nhân dân ${c.fullName}`,
      name_en: `${c.fullNameEn} People's Committee`,
      kind: "commune",
      unit_code: c.code,
      parent_code: top,
    });
    n++;
  }
  return n;
}

export interface FirstAdmin {
  username: string;
  password: string;
  generated: boolean;
}

/** Create user admin when there is none; returns its password when it was just created. */
export async function seedAdmin(accounts: AccountsService, password: string | undefined, agency: string): Promise<FirstAdmin | undefined> {
  if (await accounts.store.getUserByName("admin")) return undefined;
  const pw = password ?? randomBytes(12).toString("base64url");
  await accounts.createUser({ username: "admin", displayName: "Quản trị hệ thống", password: pw, roles: ["admin"], agency });
  return { username: "admin", password: pw, generated: password === undefined };
}

export const DEMO_PASSWORD = "sen-demo-2025";

/** Demo accounts for trying Sen out (SEN_DEMO=1): one per role. */
export async function seedDemoUsers(accounts: AccountsService, firstCommune: string | undefined): Promise<string[]> {
  const demo = [
    { username: "operator", displayName: "Trực ban IOC", roles: ["operator"], agency: "TTCDS" },
    { username: "officer", displayName: "Cán bộ Sở Nông nghiệp và Môi trường", roles: ["agency_officer"], agency: "SNNMT" },
    { username: "commune", displayName: "Cán bộ UBND xã", roles: ["agency_officer"], agency: firstCommune ? `UBND-${firstCommune}` : null },
    { username: "publisher", displayName: "Biên tập dữ liệu mở", roles: ["publisher"], agency: "SKHCN" },
    { username: "citizen", displayName: "Nguyễn Văn Dân", roles: ["citizen"], agency: null },
  ];
  const made: string[] = [];
  for (const u of demo) {
    if (await accounts.store.getUserByName(u.username)) continue;
    await accounts.createUser({ ...u, password: DEMO_PASSWORD });
    made.push(u.username);
  }
  return made;
}
