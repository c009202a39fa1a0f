// Accounts and access: agencies, users with argon2id passwords, sessions (bearer token and
// cookie) and API keys for machine clients. Every change is audited in its own transaction.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import argon2 from "argon2";
import { type Actor, currentContext } from "../context.ts";
import type { Db } from "../db.ts";
import { Problem, badRequest, conflict, notFound } from "../errors.ts";
import type { EventBus } from "../events/bus.ts";
import { type Permission, type Role, isPermission, isRole, permissionsOf } from "../policy.ts";
import type { AuditService } from "../audit/service.ts";
import { type AgencyRow, type ApiKeyRow, type UserRow, accountsStore } from "./store.ts";

// OWASP's recommended argon2id parameters (19 MiB, 2 passes, 1 lane).
const ARGON = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const LOCK_AFTER_FAILURES = 5;
const LOCK_MINUTES = 15;
const API_KEY_PREFIX = "sen_";

export interface UserDto {
  id: string;
  username: string;
  displayName: string;
  email: string | null;
  phone: string | null;
  agency: string | null;
  roles: Role[];
  active: boolean;
  lastLoginAt: string | null;
  createdAt: string;
}

export interface ApiKeyDto {
  id: string;
  name: string;
  prefix: string;
  agency: string | null;
  permissions: string[];
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface AgencyDto {
  code: string;
  name: string;
  nameEn: string;
  kind: AgencyRow["kind"];
  unitCode: string | null;
  parentCode: string | null;
  active: boolean;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export const toUserDto = (u: UserRow): UserDto => ({
  id: u.id,
  username: u.username,
  displayName: u.display_name,
  email: u.email,
  phone: u.phone,
  agency: u.agency_code,
  roles: u.roles.filter(isRole),
  active: u.active,
  lastLoginAt: iso(u.last_login_at),
  createdAt: iso(u.created_at) as string,
});

const toApiKeyDto = (k: ApiKeyRow): ApiKeyDto => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  agency: k.agency_code,
  permissions: k.permissions,
  createdBy: k.created_by,
  createdAt: iso(k.created_at) as string,
  expiresAt: iso(k.expires_at),
  revokedAt: iso(k.revoked_at),
  lastUsedAt: iso(k.last_used_at),
});

export const toAgencyDto = (a: AgencyRow): AgencyDto => ({
  code: a.code,
  name: a.name,
  nameEn: a.name_en,
  kind: a.kind,
  unitCode: a.unit_code,
  parentCode: a.parent_code,
  active: a.active,
});

export function userActor(u: UserRow, sessionId?: string): Actor {
  const roles = u.roles.filter(isRole);
  return { type: "user", id: u.id, name: u.username, roles, permissions: permissionsOf(roles), agency: u.agency_code ?? undefined, sessionId };
}

function checkPassword(password: string, username: string): void {
  if (password.length < 8) throw badRequest("The password must have at least 8 characters.", { errors: [{ path: "/password", message: "too short" }] });
  if (password.length > 256) throw badRequest("The password must have at most 256 characters.");
  if (password.toLowerCase() === username.toLowerCase()) throw badRequest("The password must not be the user name.");
}

export interface CreateUserInput {
  username: string;
  displayName: string;
  password: string;
  email?: string | null;
  phone?: string | null;
  agency?: string | null;
  roles: string[];
}

export interface UpdateUserInput {
  displayName?: string;
  email?: string | null;
  phone?: string | null;
  agency?: string | null;
  roles?: string[];
  active?: boolean;
  password?: string;
}

export interface CreateApiKeyInput {
  name: string;
  agency?: string | null;
  permissions: string[];
  /** ISO date-time; default one year from now. */
  expiresAt?: string | null;
}

export interface Deps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  sessionHours: number;
}

/** How long a resolved credential is trusted without asking the database again. */
const CREDENTIAL_CACHE_MS = 10_000;
const CREDENTIAL_CACHE_MAX = 10_000;

export function accountsService({ db, audit, bus, sessionHours }: Deps) {
  const store = accountsStore(db);

  // Credentials resolved in the last few seconds, by the hash of the credential, so an API client's
  // every request does not cost a database read. Any change to users, sessions or keys empties it:
  // at once in the process that made it, and in every other process when the change's event
  // arrives (after commit). An entry also lapses after CREDENTIAL_CACHE_MS, or when its session or
  // key expires, whichever comes first, in case an event was missed.
  const credentials = new Map<string, { actor: Actor; until: number }>();
  // A lookup that overlapped a change must not put what it read back into the cache.
  let generation = 0;
  const forgetCredentials = () => {
    generation++;
    credentials.clear();
  };
  bus.subscribe((e) => {
    if (e.topic === "user.updated" || e.topic === "apikey.revoked" || e.topic === "session.revoked") forgetCredentials();
  });
  const remember = (hash: string, actor: Actor, expiresAt: Date | string | null, lookedUpIn: number) => {
    if (lookedUpIn !== generation) return actor;
    if (credentials.size >= CREDENTIAL_CACHE_MAX) credentials.clear();
    const expiry = expiresAt ? new Date(expiresAt).getTime() : Number.POSITIVE_INFINITY;
    credentials.set(hash, { actor, until: Math.min(Date.now() + CREDENTIAL_CACHE_MS, expiry) });
    return actor;
  };
  // A stand-in hash so that an unknown user name costs the same time as a wrong password.
  const dummyHash = argon2.hash(randomBytes(16).toString("hex"), ARGON);

  async function validRoles(roles: string[]): Promise<Role[]> {
    const bad = roles.filter((r) => !isRole(r));
    if (bad.length) throw badRequest(`Unknown role: ${bad.join(", ")}.`, { errors: [{ path: "/roles", message: "unknown role" }] });
    return [...new Set(roles)] as Role[];
  }

  async function validAgency(code: string | null | undefined): Promise<void> {
    if (code && !(await store.getAgency(code))) throw badRequest(`Unknown agency: ${code}.`, { errors: [{ path: "/agency", message: "unknown agency" }] });
  }

  return {
    store,

    // ---------- agencies
    listAgencies: async (kind?: string) => (await store.listAgencies(kind)).map(toAgencyDto),

    async createAgency(input: { code: string; name: string; nameEn: string; kind: "department" | "other"; parentCode?: string | null }): Promise<AgencyDto> {
      const code = input.code.trim().toUpperCase();
      if (!/^[A-Z0-9][A-Z0-9_.-]{1,39}$/.test(code))
        throw badRequest("An agency code has 2–40 characters: A–Z, digits, dot, dash or underscore.", { errors: [{ path: "/code", message: "invalid" }] });
      await validAgency(input.parentCode);
      return db.tx(async () => {
        if (await store.getAgency(code)) throw conflict(`The agency code ${code} is taken.`);
        const row = await store.insertAgency({
          code,
          name: input.name.trim(),
          name_en: input.nameEn.trim(),
          kind: input.kind,
          unit_code: null,
          parent_code: input.parentCode ?? null,
        });
        if (!row) throw new Error("agency insert returned nothing");
        await audit.record({
          action: "agency.create",
          targetType: "agency",
          targetId: code,
          details: { name: row.name, kind: row.kind, parent: row.parent_code },
        });
        return toAgencyDto(row);
      });
    },

    async updateAgency(code: string, input: { name?: string; nameEn?: string; parentCode?: string | null; active?: boolean }): Promise<AgencyDto> {
      if (input.parentCode === code) throw badRequest("An agency cannot be its own parent.");
      await validAgency(input.parentCode);
      return db.tx(async () => {
        const row = await store.updateAgency(code, {
          name: input.name?.trim(),
          nameEn: input.nameEn?.trim(),
          parentCode: input.parentCode,
          active: input.active,
        });
        if (!row) throw notFound(`No agency with code ${code}.`);
        await audit.record({ action: "agency.update", targetType: "agency", targetId: code, details: { changed: Object.keys(input) } });
        return toAgencyDto(row);
      });
    },
    async getAgency(code: string) {
      const a = await store.getAgency(code);
      if (!a) throw notFound(`No agency with code ${code}.`);
      return toAgencyDto(a);
    },

    // ---------- users
    async createUser(input: CreateUserInput): Promise<UserDto> {
      const username = input.username.trim().toLowerCase();
      if (!/^[a-z0-9][a-z0-9._-]{1,63}$/.test(username))
        throw badRequest("A user name has 2–64 characters: letters a–z, digits, dot, dash or underscore.", {
          errors: [{ path: "/username", message: "invalid" }],
        });
      checkPassword(input.password, username);
      const roles = await validRoles(input.roles);
      await validAgency(input.agency);
      const passwordHash = await argon2.hash(input.password, ARGON);
      return db.tx(async () => {
        if (await store.getUserByName(username)) throw conflict(`The user name ${username} is taken.`);
        const row = await store.insertUser({
          username,
          displayName: input.displayName.trim(),
          email: input.email,
          phone: input.phone,
          agencyCode: input.agency,
          roles,
          passwordHash,
        });
        if (!row) throw new Error("user insert returned nothing");
        await audit.record({ action: "user.create", targetType: "user", targetId: row.id, details: { username, roles, agency: input.agency ?? null } });
        await bus.publish("user.created", { id: row.id, username }, "admin");
        return toUserDto(row);
      });
    },

    async updateUser(id: string, input: UpdateUserInput): Promise<UserDto> {
      const existing = await store.getUser(id);
      if (!existing) throw notFound();
      const roles = input.roles ? await validRoles(input.roles) : undefined;
      await validAgency(input.agency);
      if (input.password !== undefined) checkPassword(input.password, existing.username);
      const passwordHash = input.password !== undefined ? await argon2.hash(input.password, ARGON) : undefined;
      const updated = await db.tx(async () => {
        const row = await store.updateUser(id, {
          displayName: input.displayName?.trim(),
          email: input.email,
          phone: input.phone,
          agencyCode: input.agency,
          roles,
          active: input.active,
          passwordHash,
        });
        if (!row) throw notFound();
        // A disabled account or a new password ends every open session of that user.
        if (input.active === false || passwordHash) await store.revokeUserSessions(id);
        const changed = Object.keys(input).filter((k) => k !== "password");
        await audit.record({ action: "user.update", targetType: "user", targetId: id, details: { changed, passwordChanged: passwordHash !== undefined } });
        await bus.publish("user.updated", { id, username: row.username }, "admin");
        return toUserDto(row);
      });
      forgetCredentials();
      return updated;
    },

    async getUser(id: string): Promise<UserDto> {
      const row = /^[0-9a-f-]{36}$/i.test(id) ? await store.getUser(id) : undefined;
      if (!row) throw notFound();
      return toUserDto(row);
    },

    listUsers: async (f: { agency?: string; role?: string; search?: string; limit: number; offset: number }) => (await store.listUsers(f)).map(toUserDto),

    // ---------- sign-in
    async login(username: string, password: string, meta: { userAgent?: string }): Promise<{ token: string; user: UserDto; expiresAt: string }> {
      const name = username.trim().toLowerCase();
      const user = await store.getUserByName(name);
      const now = Date.now();
      if (user?.locked_until && new Date(user.locked_until).getTime() > now) {
        await audit.record({ action: "auth.login", targetType: "user", targetId: user.id, outcome: "denied", details: { username: name, reason: "locked" } });
        const until = new Date(user.locked_until).toISOString();
        throw new Problem(423, "account-locked", `This account is locked after repeated failed sign-ins until ${until}.`, { lockedUntil: until });
      }
      const ok = await argon2.verify(user?.password_hash ?? (await dummyHash), password).catch(() => false);
      if (!user || !ok || !user.active) {
        await db.tx(async () => {
          if (user && !ok) await store.loginFailed(user.id, LOCK_AFTER_FAILURES, LOCK_MINUTES);
          await audit.record({
            action: "auth.login",
            targetType: "user",
            targetId: user?.id,
            outcome: "failure",
            details: { username: name, reason: !user ? "unknown user" : !ok ? "wrong password" : "disabled" },
          });
        });
        throw new Problem(401, "login-failed", "Wrong user name or password.");
      }
      const token = randomBytes(32).toString("base64url");
      const ctx = currentContext();
      const { ip } = ctx;
      // From here on the request acts as the signed-in user, so the audit entry names them.
      ctx.actor = userActor(user);
      return db.tx(async () => {
        await store.loginSucceeded(user.id);
        const s = await store.insertSession({ userId: user.id, tokenHash: sha256(token), ip, userAgent: meta.userAgent?.slice(0, 300), hours: sessionHours });
        if (!s) throw new Error("session insert returned nothing");
        await audit.record({ action: "auth.login", targetType: "user", targetId: user.id, details: { username: name, sessionId: s.id } });
        return { token, user: toUserDto(user), expiresAt: new Date(s.expires_at).toISOString() };
      });
    },

    async logout(actor: Actor): Promise<void> {
      if (actor.type !== "user" || !actor.sessionId) throw badRequest("Only a signed-in user session can sign out.");
      const sessionId = actor.sessionId;
      await db.tx(async () => {
        await store.revokeSession(sessionId);
        await audit.record({ action: "auth.logout", targetType: "user", targetId: actor.id, details: { sessionId } });
        await bus.publish("session.revoked", { userId: actor.id ?? "" }, "admin");
      });
      forgetCredentials();
    },

    /** Resolve a bearer credential (session token or API key) to an actor, or undefined. */
    async authenticate(credential: string): Promise<Actor | undefined> {
      if (credential.length > 200) return undefined;
      const hash = sha256(credential);
      const known = credentials.get(hash);
      if (known && known.until > Date.now()) return known.actor;
      const lookedUpIn = generation;
      if (credential.startsWith(API_KEY_PREFIX)) {
        const [, prefix, secret] = credential.split("_");
        if (!prefix || !secret) return undefined;
        const key = await store.apiKeyByPrefix(prefix);
        if (!key || key.revoked_at || (key.expires_at && new Date(key.expires_at).getTime() <= Date.now())) return undefined;
        const a = Buffer.from(key.secret_hash, "hex");
        const b = Buffer.from(sha256(secret), "hex");
        if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
        void store.touchApiKey(key.id).catch(() => undefined);
        const actor: Actor = {
          type: "apikey",
          id: key.id,
          name: `apikey:${key.name}`,
          roles: [],
          permissions: new Set(key.permissions.filter(isPermission)),
          agency: key.agency_code ?? undefined,
        };
        return remember(hash, actor, key.expires_at, lookedUpIn);
      }
      const row = await store.sessionUser(hash);
      return row ? remember(hash, userActor(row, row.session_id), row.session_expires_at, lookedUpIn) : undefined;
    },

    // ---------- API keys
    async createApiKey(input: CreateApiKeyInput, creator: Actor): Promise<{ key: string; apiKey: ApiKeyDto }> {
      const name = input.name.trim();
      if (!name) throw badRequest("An API key needs a name.", { errors: [{ path: "/name", message: "empty" }] });
      const bad = input.permissions.filter((p) => !isPermission(p));
      if (bad.length) throw badRequest(`Unknown permission: ${bad.join(", ")}.`, { errors: [{ path: "/permissions", message: "unknown permission" }] });
      const beyond = input.permissions.filter((p) => creator.type !== "system" && !creator.permissions.has(p as Permission));
      if (beyond.length) throw badRequest(`You cannot grant a permission you do not hold: ${beyond.join(", ")}.`);
      await validAgency(input.agency);
      const expiresAt = input.expiresAt === null ? null : input.expiresAt ? new Date(input.expiresAt) : new Date(Date.now() + 365 * 86_400_000);
      if (expiresAt && (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now()))
        throw badRequest("expiresAt must be a date-time in the future.", { errors: [{ path: "/expiresAt", message: "not in the future" }] });
      const prefix = randomBytes(6).toString("hex");
      const secret = randomBytes(32).toString("base64url").replace(/_/g, "-");
      return db.tx(async () => {
        const row = await store.insertApiKey({
          name,
          prefix,
          secretHash: sha256(secret),
          agencyCode: input.agency ?? null,
          permissions: [...new Set(input.permissions)],
          createdBy: creator.name,
          expiresAt,
        });
        if (!row) throw new Error("api key insert returned nothing");
        await audit.record({
          action: "apikey.create",
          targetType: "apikey",
          targetId: row.id,
          details: { name, agency: row.agency_code, permissions: row.permissions, expiresAt: iso(expiresAt) },
        });
        await bus.publish("apikey.created", { id: row.id, name }, "admin");
        return { key: `${API_KEY_PREFIX}${prefix}_${secret}`, apiKey: toApiKeyDto(row) };
      });
    },

    listApiKeys: async () => (await store.listApiKeys()).map(toApiKeyDto),

    async revokeApiKey(id: string): Promise<ApiKeyDto> {
      if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound();
      const revoked = await db.tx(async () => {
        const row = await store.revokeApiKey(id);
        if (!row) {
          if (await store.getApiKey(id)) throw conflict("This API key is already revoked.");
          throw notFound();
        }
        await audit.record({ action: "apikey.revoke", targetType: "apikey", targetId: id, details: { name: row.name } });
        await bus.publish("apikey.revoked", { id }, "admin");
        return toApiKeyDto(row);
      });
      forgetCredentials();
      return revoked;
    },
  };
}

export type AccountsService = ReturnType<typeof accountsService>;
