// The HTTP surface: Fastify 5 with TypeBox schemas, OpenAPI 3.1 from those schemas, RFC 9457
// errors, security headers, compression, optional CORS, and access control that denies any route
// which does not declare who may call it.
import { randomUUID } from "node:crypto";
import zlib from "node:zlib";
import compress from "@fastify/compress";
import cors from "@fastify/cors";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { parseCookie } from "cookie";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { AccountsService } from "../accounts/service.ts";
import type { AuditService } from "../audit/service.ts";
import type { Config } from "../config.ts";
import { ANONYMOUS, type Actor, type RequestContext, can, runWithContext } from "../context.ts";
import { Problem, type ProblemBody } from "../errors.ts";
import type { Permission } from "../policy.ts";
import { storableJson } from "../text.ts";

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Who may call a route: anyone, anyone signed in, or holders of one permission. */
export type Access = "public" | "authenticated" | Permission;

declare module "fastify" {
  interface FastifyContextConfig {
    access?: Access;
    /** false: a request with no credential at all is refused without an audit entry (session probes). */
    auditAnonymous?: boolean;
  }
  interface FastifyRequest {
    ctx: RequestContext;
    /** The request's cookies (Sen reads only its session cookie). */
    cookies: Record<string, string | undefined>;
  }
}

export type App = FastifyInstance & { withTypeProvider: FastifyInstance["withTypeProvider"] };
export type TypedApp = ReturnType<typeof typed>;
export const typed = (app: FastifyInstance) => app.withTypeProvider<TypeBoxTypeProvider>();

export const SESSION_COOKIE = "sen_session";

// Routes registered by plugins (API docs) that cannot carry a route config of their own.
const PUBLIC_PLUGIN_PREFIXES = ["/api/docs"];

export function problemReply(status: number, code: string, detail: string, req: FastifyRequest, extra: Record<string, unknown> = {}): ProblemBody {
  return new Problem(status, code, detail, { ...extra, instance: req.url.split("?")[0], requestId: req.id }).toBody();
}

/** What helmet sends by default, with a CSP that allows nothing remote (the console works offline). */
function staticSecurityHeaders(https: boolean): Record<string, string> {
  const csp = [
    "default-src 'self'",
    "base-uri 'self'",
    "script-src 'self'",
    "script-src-attr 'none'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "worker-src 'self' blob:",
    "child-src 'self' blob:",
    "connect-src 'self'",
    "form-action 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join(";");
  return {
    "content-security-policy": csp,
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "origin-agent-cluster": "?1",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-dns-prefetch-control": "off",
    "x-download-options": "noopen",
    "x-frame-options": "DENY",
    "x-permitted-cross-domain-policies": "none",
    "x-xss-protection": "0",
    ...(https ? { "strict-transport-security": "max-age=31536000; includeSubDomains" } : {}),
  };
}

function makeAjv(coerceTypes: false | "array"): Ajv {
  const ajv = new Ajv({ coerceTypes, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  addFormats(ajv);
  return ajv;
}

function hasNul(v: unknown): boolean {
  if (typeof v === "string") return v.includes("\u0000");
  if (v && typeof v === "object") {
    for (const k in v) if (k.includes("\u0000") || hasNul((v as Record<string, unknown>)[k])) return true;
  }
  return false;
}

type LogFn = (...args: unknown[]) => void;

/**
 * A request's logger that becomes a real pino child (bound to the request id) only when something
 * is logged at an enabled level. Most requests log nothing, and a pino child costs more to create
 * than the whole route of a hot endpoint.
 */
class RequestLogger {
  #child: Logger | undefined;
  constructor(
    private readonly parent: Logger,
    private readonly bindings: Record<string, unknown>,
  ) {}
  get level() {
    return this.parent.level;
  }
  isLevelEnabled(level: string) {
    return this.parent.isLevelEnabled(level);
  }
  child(bindings: Record<string, unknown>, opts?: Record<string, unknown>) {
    return this.real().child(bindings, opts);
  }
  private real(): Logger {
    this.#child ??= this.parent.child(this.bindings);
    return this.#child;
  }
  private at(level: "fatal" | "error" | "warn" | "info" | "debug" | "trace", args: unknown[]) {
    if (this.parent.isLevelEnabled(level)) (this.real()[level] as LogFn)(...args);
  }
  fatal(...args: unknown[]) {
    this.at("fatal", args);
  }
  error(...args: unknown[]) {
    this.at("error", args);
  }
  warn(...args: unknown[]) {
    this.at("warn", args);
  }
  info(...args: unknown[]) {
    this.at("info", args);
  }
  debug(...args: unknown[]) {
    this.at("debug", args);
  }
  trace(...args: unknown[]) {
    this.at("trace", args);
  }
  silent() {}
}

/** PostgreSQL text cannot hold NUL; refuse it at the edge like any other invalid input. */
function withoutNul(validate: ValidateFunction): ValidateFunction {
  const wrapped = ((data: unknown) => {
    if (hasNul(data)) {
      wrapped.errors = [{ instancePath: "", schemaPath: "", keyword: "nul", params: {}, message: "must not contain NUL characters" }];
      return false;
    }
    const ok = validate(data);
    wrapped.errors = validate.errors;
    return ok;
  }) as ValidateFunction;
  return wrapped;
}

export interface HttpDeps {
  config: Config;
  logger: Logger;
  accounts: AccountsService;
  audit: AuditService;
  version: string;
}

export async function createHttpServer({ config, logger, accounts, audit, version }: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && /^[A-Za-z0-9._-]{8,64}$/.test(given) ? given : randomUUID();
    },
    // Per-route log levels and serializers are not used in Sen; the lazy logger keeps the parent's.
    childLoggerFactory: (logger, bindings) => new RequestLogger(logger as Logger, bindings) as unknown as typeof logger,
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    forceCloseConnections: "idle",
    // Fastify's default gives each plugin 10 s to register. On a busy 2-core machine the embedded
    // database's start-up work held the event loop past that, and Sen exited (seen in CI); a plugin
    // that truly hangs is still caught.
    pluginTimeout: 60_000,
  });

  // Query strings and path parameters arrive as text and are coerced to their schema's types;
  // bodies are JSON and must carry the right types as they are ("5" is not a number).
  const textAjv = makeAjv("array");
  const bodyAjv = makeAjv(false);
  app.setValidatorCompiler(({ schema, httpPart }) => withoutNul((httpPart === "body" ? bodyAjv : textAjv).compile(schema)));

  // Deny by default: a route without an access declaration is a programming error.
  app.addHook("onRoute", (route) => {
    route.config ??= {};
    const cfg = route.config as { access?: Access };
    if (!cfg.access) {
      // The CORS preflight answers only what the configured origins may do; it reads no data.
      const corsPreflight = route.method === "OPTIONS" && route.url === "*";
      if (corsPreflight || PUBLIC_PLUGIN_PREFIXES.some((p) => route.url.startsWith(p))) cfg.access = "public";
      else throw new Error(`route ${route.method} ${route.url} does not declare config.access`);
    }
    // The OpenAPI document tells clients who may call each operation.
    if (route.schema && !route.schema.hide) {
      const schema = route.schema as Record<string, unknown>;
      schema["x-access"] = cfg.access;
      if (cfg.access !== "public") schema.security = [{ bearer: [] }, { apiKey: [] }, { cookie: [] }];
    }
  });

  // Sen's APIs speak JSON; other media types are refused with 415 unless a module adds a parser.
  app.removeContentTypeParser("text/plain");
  // JSON can spell text that no database text holds: a lone UTF-16 surrogate ("\ud800") or NUL.
  // PostgreSQL would refuse it in the middle of a write (or store U+FFFD instead): such a body is
  // refused as malformed, before anything reads it. Only a body that spells one is walked.
  const parseJson = app.getDefaultJsonParser("error", "error");
  const SUSPECT = /\\u(?:0000|[dD][89a-fA-F])/;
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) =>
    parseJson(req, body as string, (err: Error | null, value?: unknown) => {
      if (err) return done(err);
      if (SUSPECT.test(body as string) && !storableJson(value))
        return done(
          Object.assign(new Error("The body holds text no database can store: a lone surrogate (\\ud800–\\udfff) or a NUL character."), {
            statusCode: 400,
            code: "FST_ERR_CTP_INVALID_JSON_BODY",
          }),
        );
      done(null, value);
    }),
  );

  // Security headers, the same on every response: computed once here rather than per request.
  const securityHeaders = staticSecurityHeaders(config.cookieSecure);
  // JSON answers are never rendered as pages: a short set protects them (OWASP REST guidance) and
  // spares the hot API paths a dozen header writes.
  const apiHeaders: Record<string, string> = {
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    ...(config.cookieSecure ? { "strict-transport-security": securityHeaders["strict-transport-security"] } : {}),
  };
  const isApi = (url: string) => (url.startsWith("/api/") && !url.startsWith("/api/docs")) || url.startsWith("/ogc");
  if (config.corsOrigins.length) {
    await app.register(cors, {
      origin: config.corsOrigins.includes("*") ? true : config.corsOrigins,
      credentials: !config.corsOrigins.includes("*"),
      exposedHeaders: ["X-Request-Id", "NGSILD-Results-Count", "Link"],
    });
  }
  // Responses are compressed; request bodies are never (no decompression hook on every request).
  // Brotli's default quality (11) is meant for static files: on a 5 KB JSON answer it costs tens of
  // milliseconds. Quality 4 compresses about as well as gzip -6, in a fraction of the time.
  await app.register(compress, {
    threshold: 1024,
    encodings: ["br", "gzip", "deflate"],
    globalDecompression: false,
    brotliOptions: { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } },
    zlibOptions: { level: 6 },
  });
  await app.register(rateLimit, {
    global: false,
    // The plugin throws what this returns; a Problem renders as problem+json like every error.
    errorResponseBuilder: (_req, ctx) =>
      new Problem(429, "rate-limited", `Too many requests; try again in ${Math.ceil(ctx.ttl / 1000)} s.`, { retryAfterSeconds: Math.ceil(ctx.ttl / 1000) }),
  });
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Sen API",
        version,
        description: "Sen: the province's digital operations platform. Errors are RFC 9457 problem+json.",
        license: { name: "Apache-2.0", identifier: "Apache-2.0" },
      },
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer", description: "Session token from POST /api/auth/login, or an API key" },
          apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
          cookie: { type: "apiKey", in: "cookie", name: SESSION_COOKIE },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/api/docs", staticCSP: false });

  // Every request: security headers, the request id, the request's context (who is asking, bound
  // for the audit trail), then who is asking, checked before the body is read so strangers cannot
  // make Sen parse anything. A visitor with no credential on a public route is the hot path:
  // settled without a promise.
  app.addHook("onRequest", (req, reply, done) => {
    reply.headers(isApi(req.url) ? apiHeaders : securityHeaders);
    reply.header("X-Request-Id", req.id);
    const cookieHeader = req.headers.cookie;
    req.cookies = cookieHeader ? parseCookie(cookieHeader) : {};
    const ctx: RequestContext = { requestId: req.id, ip: req.ip, actor: ANONYMOUS };
    req.ctx = ctx;
    runWithContext(ctx, () => {
      const access = req.routeOptions.config?.access;
      const noCredential = req.headers.authorization === undefined && req.headers["x-api-key"] === undefined && !req.cookies[SESSION_COOKIE];
      if (noCredential && (!access || access === "public")) return done();
      authorize(req, reply, access).then((answered) => {
        if (!answered) done();
      }, done);
    });
  });

  /** Resolve the caller and check the route's access; true when it answered the request itself. */
  async function authorize(req: FastifyRequest, reply: FastifyReply, access: Access | undefined): Promise<boolean> {
    const header = req.headers.authorization;
    const keyHeader = req.headers["x-api-key"];
    let credential: string | undefined;
    let fromHeader = false;
    if (typeof header === "string") {
      // CKAN clients send the bare API key in Authorization; everywhere else it is a Bearer token.
      if (/^bearer /i.test(header)) credential = header.slice(7).trim();
      else if (req.url.startsWith("/api/3/action/")) credential = header.trim();
      else return deny(req, reply, 401, "Only Bearer tokens are accepted in the Authorization header.");
      fromHeader = true;
    } else if (typeof keyHeader === "string") {
      credential = keyHeader.trim();
      fromHeader = true;
    } else credential = req.cookies?.[SESSION_COOKIE];

    let actor: Actor = ANONYMOUS;
    if (credential) {
      const found = await accounts.authenticate(credential);
      if (found) actor = found;
      else if (fromHeader) return deny(req, reply, 401, "The token or API key is not valid (unknown, expired or revoked).");
    }
    req.ctx.actor = actor;
    if (!access || access === "public") return false;
    if (actor.type === "anonymous") {
      if (!credential && req.routeOptions.config?.auditAnonymous === false) {
        reply
          .code(401)
          .type("application/problem+json")
          .send(problemReply(401, "unauthorized", "Not signed in.", req));
        return true;
      }
      return deny(req, reply, 401, "Sign in or give a valid token or API key.");
    }
    if (access !== "authenticated" && !can(actor, access)) return deny(req, reply, 403, `This needs the permission ${access}.`);
    return false;
  }

  async function deny(req: FastifyRequest, reply: FastifyReply, status: 401 | 403, detail: string): Promise<true> {
    await audit
      .record({
        action: status === 401 ? "auth.denied" : "access.denied",
        outcome: "denied",
        details: { method: req.method, path: req.url.split("?")[0].slice(0, 300), route: req.routeOptions.url ?? null },
      })
      .catch((err) => req.log.error({ err }, "audit write failed"));
    const body = problemReply(status, status === 401 ? "unauthorized" : "forbidden", detail, req);
    if (status === 401) reply.header("WWW-Authenticate", 'Bearer realm="sen"');
    reply.code(status).type("application/problem+json").send(body);
    return true;
  }

  app.setNotFoundHandler((req, reply) => reply.code(404).type("application/problem+json").send(notFoundProblem(req)));

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof Problem) {
      return reply
        .code(err.status)
        .type("application/problem+json")
        .send({ ...err.toBody(), instance: req.url.split("?")[0], requestId: req.id });
    }
    if (err.validation) {
      const errors = err.validation.map((v) => ({
        path: `${err.validationContext ?? ""}${v.instancePath || ""}${v.params && "missingProperty" in v.params ? `/${v.params.missingProperty}` : ""}${v.params && "additionalProperty" in v.params ? `/${v.params.additionalProperty}` : ""}`,
        message: v.message ?? "invalid",
      }));
      return reply
        .code(400)
        .type("application/problem+json")
        .send(problemReply(400, "validation", `The request is not valid: ${errors.map((e) => `${e.path} ${e.message}`).join("; ")}.`, req, { errors }));
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      req.log.error({ err }, "request failed");
      return reply
        .code(500)
        .type("application/problem+json")
        .send(problemReply(500, "internal", "Something went wrong on our side; the request id helps us find it.", req));
    }
    const code =
      err.code === "FST_ERR_CTP_INVALID_JSON_BODY" || err instanceof SyntaxError
        ? "malformed-json"
        : (err.code ?? "bad-request")
            .replace(/^FST_ERR_(CTP_)?/, "")
            .toLowerCase()
            .replace(/_/g, "-");
    return reply
      .code(status)
      .type("application/problem+json")
      .send(problemReply(status, code, err.message, req));
  });

  return app as unknown as FastifyInstance;
}

/** Problem+json for an unknown route (registered last, after the web fallback has had its say). */
export function notFoundProblem(req: FastifyRequest) {
  return problemReply(404, "not-found", `There is nothing at ${req.method} ${req.url.split("?")[0].slice(0, 200)}.`, req);
}
