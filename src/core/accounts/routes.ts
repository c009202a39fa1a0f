// HTTP routes of sign-in, users, agencies and API keys.
import { Type } from "@sinclair/typebox";
import { stringifySetCookie } from "cookie";
import type { FastifyInstance } from "fastify";
import { badRequest } from "../errors.ts";
import { PERMISSIONS, ROLE_PERMISSIONS, ROLES } from "../policy.ts";
import { Paging, Str, errors } from "../http/schemas.ts";
import { SESSION_COOKIE, typed } from "../http/server.ts";
import type { AccountsService } from "./service.ts";

const Role = Type.Union(ROLES.map((r) => Type.Literal(r)));
const Permission = Type.Union(PERMISSIONS.map((p) => Type.Literal(p)));
const Nullable = <T extends import("@sinclair/typebox").TSchema>(t: T) => Type.Union([t, Type.Null()]);

const User = Type.Object(
  {
    id: Type.String({ format: "uuid" }),
    username: Type.String(),
    displayName: Type.String(),
    email: Nullable(Type.String()),
    phone: Nullable(Type.String()),
    agency: Nullable(Type.String()),
    roles: Type.Array(Role),
    active: Type.Boolean(),
    lastLoginAt: Nullable(Type.String({ format: "date-time" })),
    createdAt: Type.String({ format: "date-time" }),
  },
  { $id: "User" },
);
const Agency = Type.Object(
  {
    code: Type.String(),
    name: Type.String(),
    nameEn: Type.String(),
    kind: Type.String(),
    unitCode: Nullable(Type.String()),
    parentCode: Nullable(Type.String()),
    active: Type.Boolean(),
  },
  { $id: "Agency" },
);
const ApiKey = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    prefix: Type.String(),
    agency: Nullable(Type.String()),
    permissions: Type.Array(Type.String()),
    createdBy: Type.String(),
    createdAt: Type.String(),
    expiresAt: Nullable(Type.String()),
    revokedAt: Nullable(Type.String()),
    lastUsedAt: Nullable(Type.String()),
  },
  { $id: "ApiKey" },
);

export function accountRoutes(fastify: FastifyInstance, accounts: AccountsService, opts: { cookieSecure: boolean; sessionHours: number }) {
  const app = typed(fastify);

  app.post(
    "/api/auth/login",
    {
      config: { access: "public", rateLimit: { max: 20, timeWindow: "1 minute" } },
      schema: {
        tags: ["auth"],
        summary: "Sign in with user name and password",
        description: "Returns a bearer token for API calls and sets an HttpOnly session cookie for the web. Repeated failures lock the account for 15 minutes.",
        body: Type.Object({ username: Str(64, { minLength: 1 }), password: Str(256, { minLength: 1 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ token: Type.String(), user: User, expiresAt: Type.String() }), ...errors(400, 401, 423, 429) },
      },
    },
    async (req, reply) => {
      const result = await accounts.login(req.body.username, req.body.password, { userAgent: req.headers["user-agent"] });
      reply.header(
        "set-cookie",
        stringifySetCookie({
          name: SESSION_COOKIE,
          value: result.token,
          httpOnly: true,
          sameSite: "strict",
          secure: opts.cookieSecure,
          path: "/",
          maxAge: opts.sessionHours * 3600,
        }),
      );
      return result;
    },
  );

  app.post(
    "/api/auth/logout",
    {
      config: { access: "authenticated" },
      schema: { tags: ["auth"], summary: "Sign out: revoke this session", response: { 204: Type.Null(), ...errors(400, 401) } },
    },
    async (req, reply) => {
      await accounts.logout(req.ctx.actor);
      reply.header("set-cookie", stringifySetCookie({ name: SESSION_COOKIE, value: "", path: "/", expires: new Date(0), maxAge: 0 }));
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/api/auth/me",
    {
      // The web asks this to learn whether it is signed in: a visitor without any credential is
      // not a security event, so it is not written to the audit trail (a wrong token still is).
      config: { access: "authenticated", auditAnonymous: false },
      schema: {
        tags: ["auth"],
        summary: "Who am I: the caller and what it may do",
        response: {
          200: Type.Object({
            type: Type.String(),
            id: Type.Optional(Type.String()),
            name: Type.String(),
            user: Type.Optional(User),
            roles: Type.Array(Type.String()),
            agency: Type.Optional(Type.String()),
            permissions: Type.Array(Type.String()),
          }),
          ...errors(401),
        },
      },
    },
    async (req) => {
      const a = req.ctx.actor;
      return {
        type: a.type,
        id: a.id,
        name: a.name,
        user: a.type === "user" && a.id ? await accounts.getUser(a.id) : undefined,
        roles: a.roles,
        agency: a.agency,
        permissions: [...a.permissions].sort(),
      };
    },
  );

  // ---------- users
  app.get(
    "/api/users",
    {
      config: { access: "users:read" },
      schema: {
        tags: ["users"],
        summary: "List users",
        querystring: Type.Object(
          { agency: Type.Optional(Str(40)), role: Type.Optional(Role), q: Type.Optional(Str(100)), ...Paging },
          { additionalProperties: false },
        ),
        response: { 200: Type.Array(User), ...errors(400, 401, 403) },
      },
    },
    (req) =>
      accounts.listUsers({ agency: req.query.agency, role: req.query.role, search: req.query.q, limit: req.query.limit ?? 50, offset: req.query.offset ?? 0 }),
  );

  app.post(
    "/api/users",
    {
      config: { access: "users:manage" },
      schema: {
        tags: ["users"],
        summary: "Create a user",
        body: Type.Object(
          {
            username: Str(64, { minLength: 2 }),
            displayName: Str(200, { minLength: 1 }),
            password: Str(256, { minLength: 8 }),
            email: Type.Optional(Nullable(Str(200, { format: "email" }))),
            phone: Type.Optional(Nullable(Str(30, { pattern: "^[0-9+ ()-]{3,30}$" }))),
            agency: Type.Optional(Nullable(Str(40))),
            roles: Type.Array(Role, { maxItems: 5 }),
          },
          { additionalProperties: false },
        ),
        response: { 201: User, ...errors(400, 401, 403, 409) },
      },
    },
    async (req, reply) => reply.code(201).send(await accounts.createUser(req.body)),
  );

  app.get(
    "/api/users/:id",
    {
      config: { access: "users:read" },
      schema: { tags: ["users"], summary: "One user", params: Type.Object({ id: Str(64) }), response: { 200: User, ...errors(401, 403, 404) } },
    },
    (req) => accounts.getUser(req.params.id),
  );

  app.patch(
    "/api/users/:id",
    {
      config: { access: "users:manage" },
      schema: {
        tags: ["users"],
        summary: "Change a user (name, contact, agency, roles, active, password)",
        params: Type.Object({ id: Str(64) }),
        body: Type.Object(
          {
            displayName: Type.Optional(Str(200, { minLength: 1 })),
            email: Type.Optional(Nullable(Str(200, { format: "email" }))),
            phone: Type.Optional(Nullable(Str(30, { pattern: "^[0-9+ ()-]{3,30}$" }))),
            agency: Type.Optional(Nullable(Str(40))),
            roles: Type.Optional(Type.Array(Role, { maxItems: 5 })),
            active: Type.Optional(Type.Boolean()),
            password: Type.Optional(Str(256, { minLength: 8 })),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: User, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      if (
        req.params.id === req.ctx.actor.id &&
        (req.body.active === false || (req.body.roles && !req.body.roles.includes("admin") && req.ctx.actor.roles.includes("admin")))
      )
        throw badRequest("You cannot disable your own account or remove your own admin role.");
      return accounts.getUser(req.params.id).then(() => accounts.updateUser(req.params.id, req.body));
    },
  );

  // ---------- agencies
  app.get(
    "/api/agencies",
    {
      config: { access: "authenticated" },
      schema: {
        tags: ["agencies"],
        summary: "Agencies: provincial departments and the communes' people's committees",
        querystring: Type.Object(
          { kind: Type.Optional(Type.Union([Type.Literal("province"), Type.Literal("department"), Type.Literal("commune"), Type.Literal("other")])) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Array(Agency), ...errors(400, 401) },
      },
    },
    (req) => accounts.listAgencies(req.query.kind),
  );

  app.get(
    "/api/agencies/:code",
    {
      config: { access: "authenticated" },
      schema: { tags: ["agencies"], summary: "One agency", params: Type.Object({ code: Str(40) }), response: { 200: Agency, ...errors(401, 404) } },
    },
    (req) => accounts.getAgency(req.params.code),
  );

  app.post(
    "/api/agencies",
    {
      config: { access: "agencies:manage" },
      schema: {
        tags: ["agencies"],
        summary: "Add an agency (departments and communes are loaded with the province)",
        body: Type.Object(
          {
            code: Str(40, { minLength: 2 }),
            name: Str(300, { minLength: 1 }),
            nameEn: Str(300, { minLength: 1 }),
            kind: Type.Union([Type.Literal("department"), Type.Literal("other")]),
            parentCode: Type.Optional(Nullable(Str(40))),
          },
          { additionalProperties: false },
        ),
        response: { 201: Agency, ...errors(400, 401, 403, 409) },
      },
    },
    async (req, reply) => reply.code(201).send(await accounts.createAgency(req.body)),
  );

  app.patch(
    "/api/agencies/:code",
    {
      config: { access: "agencies:manage" },
      schema: {
        tags: ["agencies"],
        summary: "Rename, re-parent, or deactivate an agency",
        params: Type.Object({ code: Str(40) }),
        body: Type.Object(
          {
            name: Type.Optional(Str(300, { minLength: 1 })),
            nameEn: Type.Optional(Str(300, { minLength: 1 })),
            parentCode: Type.Optional(Nullable(Str(40))),
            active: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Agency, ...errors(400, 401, 403, 404) },
      },
    },
    (req) => accounts.updateAgency(req.params.code, req.body),
  );

  app.get(
    "/api/roles",
    {
      config: { access: "authenticated" },
      schema: {
        tags: ["users"],
        summary: "The roles and the permissions each grants",
        response: { 200: Type.Array(Type.Object({ role: Type.String(), permissions: Type.Array(Type.String()) })), ...errors(401) },
      },
    },
    async () => ROLES.map((role) => ({ role, permissions: [...ROLE_PERMISSIONS[role]] })),
  );

  // ---------- API keys
  app.get(
    "/api/apikeys",
    {
      config: { access: "apikeys:manage" },
      schema: { tags: ["apikeys"], summary: "List API keys (never their secrets)", response: { 200: Type.Array(ApiKey), ...errors(401, 403) } },
    },
    () => accounts.listApiKeys(),
  );

  app.post(
    "/api/apikeys",
    {
      config: { access: "apikeys:manage" },
      schema: {
        tags: ["apikeys"],
        summary: "Create an API key: the key is shown once",
        body: Type.Object(
          {
            name: Str(100, { minLength: 1 }),
            agency: Type.Optional(Nullable(Str(40))),
            permissions: Type.Array(Permission, { maxItems: PERMISSIONS.length }),
            expiresAt: Type.Optional(Nullable(Type.String({ format: "date-time" }))),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ key: Type.String(), apiKey: ApiKey }), ...errors(400, 401, 403) },
      },
    },
    async (req, reply) => reply.code(201).send(await accounts.createApiKey(req.body, req.ctx.actor)),
  );

  app.delete(
    "/api/apikeys/:id",
    {
      config: { access: "apikeys:manage" },
      schema: {
        tags: ["apikeys"],
        summary: "Revoke an API key",
        params: Type.Object({ id: Str(64) }),
        response: { 200: ApiKey, ...errors(401, 403, 404, 409) },
      },
    },
    (req) => accounts.revokeApiKey(req.params.id),
  );
}
