// SQL of agencies, users, sessions and API keys.
import type { Db } from "../db.ts";

export interface AgencyRow {
  code: string;
  name: string;
  name_en: string;
  kind: "province" | "department" | "commune" | "other";
  unit_code: string | null;
  parent_code: string | null;
  active: boolean;
}

export interface UserRow {
  id: string;
  username: string;
  display_name: string;
  email: string | null;
  phone: string | null;
  agency_code: string | null;
  roles: string[];
  active: boolean;
  password_hash: string;
  failed_logins: number;
  locked_until: Date | null;
  last_login_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  agency_code: string | null;
  permissions: string[];
  created_by: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export interface NewUser {
  username: string;
  displayName: string;
  email?: string | null;
  phone?: string | null;
  agencyCode?: string | null;
  roles: string[];
  passwordHash: string;
}

export interface UserPatch {
  displayName?: string;
  email?: string | null;
  phone?: string | null;
  agencyCode?: string | null;
  roles?: string[];
  active?: boolean;
  passwordHash?: string;
}

export function accountsStore(db: Db) {
  return {
    // agencies
    upsertAgency: (a: Omit<AgencyRow, "active">) =>
      db.query(
        `INSERT INTO core.agencies (code, name, name_en, kind, unit_code, parent_code) VALUES ($1,$2,$3,$4,$5,$6)
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, name_en = EXCLUDED.name_en, kind = EXCLUDED.kind,
           unit_code = EXCLUDED.unit_code, parent_code = EXCLUDED.parent_code`,
        [a.code, a.name, a.name_en, a.kind, a.unit_code, a.parent_code],
      ),
    listAgencies: (kind?: string) =>
      db.query<AgencyRow>("SELECT * FROM core.agencies WHERE ($1::text IS NULL OR kind = $1) ORDER BY kind, code", [kind ?? null]),
    insertAgency: (a: Omit<AgencyRow, "active">) =>
      db.one<AgencyRow>("INSERT INTO core.agencies (code, name, name_en, kind, unit_code, parent_code) VALUES ($1,$2,$3,$4,$5,$6) RETURNING *", [
        a.code,
        a.name,
        a.name_en,
        a.kind,
        a.unit_code,
        a.parent_code,
      ]),
    updateAgency: (code: string, p: { name?: string; nameEn?: string; parentCode?: string | null; active?: boolean }) =>
      db.one<AgencyRow>(
        `UPDATE core.agencies SET name = COALESCE($2, name), name_en = COALESCE($3, name_en),
           parent_code = CASE WHEN $4::boolean THEN $5 ELSE parent_code END, active = COALESCE($6, active)
         WHERE code = $1 RETURNING *`,
        [code, p.name ?? null, p.nameEn ?? null, p.parentCode !== undefined, p.parentCode ?? null, p.active ?? null],
      ),
    getAgency: (code: string) => db.one<AgencyRow>("SELECT * FROM core.agencies WHERE code = $1", [code]),
    countAgencies: async () => Number((await db.one<{ n: number }>("SELECT count(*)::int AS n FROM core.agencies"))?.n ?? 0),

    // users
    insertUser: (u: NewUser) =>
      db.one<UserRow>(
        `INSERT INTO core.users (username, display_name, email, phone, agency_code, roles, password_hash)
         VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING *`,
        [u.username, u.displayName, u.email ?? null, u.phone ?? null, u.agencyCode ?? null, u.roles, u.passwordHash],
      ),
    updateUser(id: string, p: UserPatch) {
      const sets: string[] = [];
      const params: unknown[] = [id];
      const set = (col: string, v: unknown) => {
        params.push(v);
        sets.push(`${col} = $${params.length}`);
      };
      if (p.displayName !== undefined) set("display_name", p.displayName);
      if (p.email !== undefined) set("email", p.email);
      if (p.phone !== undefined) set("phone", p.phone);
      if (p.agencyCode !== undefined) set("agency_code", p.agencyCode);
      if (p.roles !== undefined) set("roles", p.roles);
      if (p.active !== undefined) set("active", p.active);
      if (p.passwordHash !== undefined) set("password_hash", p.passwordHash);
      sets.push("updated_at = now()");
      return db.one<UserRow>(`UPDATE core.users SET ${sets.join(", ")} WHERE id = $1 RETURNING *`, params);
    },
    getUser: (id: string) => db.one<UserRow>("SELECT * FROM core.users WHERE id = $1", [id]),
    getUserByName: (username: string) => db.one<UserRow>("SELECT * FROM core.users WHERE username = $1", [username]),
    listUsers: (f: { agency?: string; role?: string; search?: string; limit: number; offset: number }) =>
      db.query<UserRow>(
        `SELECT * FROM core.users
         WHERE ($1::text IS NULL OR agency_code = $1) AND ($2::text IS NULL OR $2 = ANY (roles))
           AND ($3::text IS NULL OR username ILIKE $3 OR display_name ILIKE $3)
         ORDER BY username LIMIT $4 OFFSET $5`,
        [f.agency ?? null, f.role ?? null, f.search ? `%${f.search.replace(/[%_\\]/g, "\\$&")}%` : null, f.limit, f.offset],
      ),
    countUsers: async () => Number((await db.one<{ n: number }>("SELECT count(*)::int AS n FROM core.users"))?.n ?? 0),
    loginFailed: (id: string, lockAfter: number, lockMinutes: number) =>
      db.one<UserRow>(
        `UPDATE core.users SET failed_logins = failed_logins + 1,
           locked_until = CASE WHEN failed_logins + 1 >= $2 THEN now() + make_interval(mins => $3) ELSE locked_until END
         WHERE id = $1 RETURNING *`,
        [id, lockAfter, lockMinutes],
      ),
    loginSucceeded: (id: string) => db.query("UPDATE core.users SET failed_logins = 0, locked_until = NULL, last_login_at = now() WHERE id = $1", [id]),

    // sessions
    insertSession: (s: { userId: string; tokenHash: string; ip?: string; userAgent?: string; hours: number }) =>
      db.one<{ id: string; expires_at: Date }>(
        `INSERT INTO core.sessions (user_id, token_hash, ip, user_agent, expires_at)
         VALUES ($1,$2,$3,$4, now() + make_interval(hours => $5)) RETURNING id, expires_at`,
        [s.userId, s.tokenHash, s.ip ?? null, s.userAgent ?? null, s.hours],
      ),
    sessionUser: (tokenHash: string) =>
      db.one<UserRow & { session_id: string; session_expires_at: Date | string }>(
        `SELECT u.*, s.id AS session_id, s.expires_at AS session_expires_at FROM core.sessions s JOIN core.users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND u.active`,
        [tokenHash],
      ),
    revokeSession: (id: string) => db.query("UPDATE core.sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", [id]),
    deleteOldSessions: () => db.query("DELETE FROM core.sessions WHERE expires_at < now() - interval '1 day' OR revoked_at < now() - interval '1 day'"),
    revokeUserSessions: (userId: string) => db.query("UPDATE core.sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", [userId]),

    // API keys
    insertApiKey: (k: {
      name: string;
      prefix: string;
      secretHash: string;
      agencyCode: string | null;
      permissions: string[];
      createdBy: string;
      expiresAt: Date | null;
    }) =>
      db.one<ApiKeyRow>(
        `INSERT INTO core.api_keys (name, prefix, secret_hash, agency_code, permissions, created_by, expires_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING *`,
        [k.name, k.prefix, k.secretHash, k.agencyCode, k.permissions, k.createdBy, k.expiresAt],
      ),
    apiKeyByPrefix: (prefix: string) => db.one<ApiKeyRow>("SELECT * FROM core.api_keys WHERE prefix = $1", [prefix]),
    listApiKeys: () => db.query<ApiKeyRow>("SELECT * FROM core.api_keys ORDER BY created_at DESC"),
    getApiKey: (id: string) => db.one<ApiKeyRow>("SELECT * FROM core.api_keys WHERE id = $1", [id]),
    revokeApiKey: (id: string) => db.one<ApiKeyRow>("UPDATE core.api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING *", [id]),
    touchApiKey: (id: string) =>
      db.query("UPDATE core.api_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')", [id]),
  };
}

export type AccountsStore = ReturnType<typeof accountsStore>;
