// Configuration comes from environment variables only; every variable has a safe default and is
// listed in the README. An invalid value stops start-up with a message naming the variable.
import path from "node:path";

export interface Config {
  port: number;
  host: string;
  mqttPort: number;
  /** An external broker (mqtt://…); unset = the embedded broker on mqttPort. */
  mqttUrl?: string;
  dataDir: string;
  databaseUrl?: string;
  adminPassword?: string;
  province: string;
  demo: boolean;
  /** Serve (and build when needed) the web console and citizen app. */
  web: boolean;
  logLevel: string;
  corsOrigins: string[];
  trustProxy: boolean;
  cookieSecure: boolean;
  bodyLimit: number;
  sessionHours: number;
  /** SMTP server for email notifications (smtp://user:pass@host:port); unset = no email. */
  smtpUrl?: string;
  smtpFrom: string;
  /** Public base URL of this Sen (links in emails, feeds, CAP documents). */
  publicUrl: string;
  /** Indicators: the Government reporting system's endpoint for approved values; unset = no push. */
  govReportUrl?: string;
  /** Indicators: HMAC-SHA256 key signing those pushes (X-Sen-Signature). */
  govReportSecret?: string;
  /** Indicators: minutes between refreshes of automatic indicators (and the export sweep). */
  indicatorsRefreshMinutes: number;
  /** Open data: offer CKAN's datastore_search_sql (read-only, one SELECT, time and row limits). */
  catalogSql: boolean;
  /** Open data: largest upload to the datastore, in MB. */
  catalogUploadMb: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return def;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  return Number(raw);
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return def;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(name, `must be 1 or 0 (true/false), got "${env[name]}"`);
}

/** An optional http(s) URL. */
function httpUrl(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  let ok = false;
  try {
    ok = ["http:", "https:"].includes(new URL(raw).protocol);
  } catch {}
  if (!ok) throw new ConfigError(name, `must be an http(s) URL, got "${raw}"`);
  return raw;
}

export function loadConfig(env: Env = process.env): Config {
  const host = env.HOST?.trim() || "0.0.0.0";
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) throw new ConfigError("HOST", `is not a host name or address: "${host}"`);

  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl) {
    let ok = false;
    try {
      ok = ["postgres:", "postgresql:"].includes(new URL(databaseUrl).protocol);
    } catch {}
    if (!ok) throw new ConfigError("DATABASE_URL", "must be a postgres:// or postgresql:// URL (unset it to use the embedded database)");
  }

  const adminPassword = env.SEN_ADMIN_PASSWORD || undefined;
  if (adminPassword !== undefined && adminPassword.length < 8) throw new ConfigError("SEN_ADMIN_PASSWORD", "must be at least 8 characters");

  const province = env.SEN_PROVINCE?.trim() || "82";
  if (!/^\d{2}$/.test(province)) throw new ConfigError("SEN_PROVINCE", `must be a two-digit province code such as 82, got "${province}"`);

  const logLevel = env.LOG_LEVEL?.trim().toLowerCase() || "info";
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError("LOG_LEVEL", `must be one of ${LOG_LEVELS.join(", ")}, got "${env.LOG_LEVEL}"`);

  const corsOrigins = (env.SEN_CORS_ORIGINS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const o of corsOrigins) {
    if (o === "*") continue;
    try {
      new URL(o);
    } catch {
      throw new ConfigError("SEN_CORS_ORIGINS", `"${o}" is not an origin such as https://example.gov.vn`);
    }
  }

  const mqttUrl = env.MQTT_URL?.trim() || undefined;
  if (mqttUrl) {
    let ok = false;
    try {
      ok = ["mqtt:", "mqtts:", "tcp:", "ssl:"].includes(new URL(mqttUrl).protocol);
    } catch {}
    if (!ok) throw new ConfigError("MQTT_URL", "must be an mqtt:// or mqtts:// URL (unset it to use the embedded broker)");
  }

  const smtpUrl = env.SMTP_URL?.trim() || undefined;
  if (smtpUrl) {
    let ok = false;
    try {
      ok = ["smtp:", "smtps:"].includes(new URL(smtpUrl).protocol);
    } catch {}
    if (!ok) throw new ConfigError("SMTP_URL", "must be an smtp:// or smtps:// URL (unset it to send no email)");
  }
  const smtpFrom = env.SMTP_FROM?.trim() || "Sen <no-reply@localhost>";

  const port = int(env, "PORT", 8080, 0, 65535);
  const publicUrl = (env.SEN_PUBLIC_URL?.trim() || `http://localhost:${port}`).replace(/\/+$/, "");
  try {
    if (!["http:", "https:"].includes(new URL(publicUrl).protocol)) throw new Error();
  } catch {
    throw new ConfigError("SEN_PUBLIC_URL", `must be an http(s) URL such as https://sen.dongthap.gov.vn, got "${publicUrl}"`);
  }

  return {
    port,
    smtpUrl,
    smtpFrom,
    publicUrl,
    mqttUrl,
    host,
    mqttPort: int(env, "MQTT_PORT", 1883, 0, 65535),
    dataDir: path.resolve(env.SEN_DATA_DIR?.trim() || "./var"),
    databaseUrl,
    adminPassword,
    province,
    demo: bool(env, "SEN_DEMO", false),
    web: bool(env, "SEN_WEB", true),
    logLevel,
    corsOrigins,
    trustProxy: bool(env, "SEN_TRUST_PROXY", false),
    cookieSecure: bool(env, "SEN_COOKIE_SECURE", false),
    bodyLimit: int(env, "SEN_BODY_LIMIT", 1_048_576, 1024, 104_857_600),
    sessionHours: int(env, "SEN_SESSION_HOURS", 12, 1, 24 * 90),
    govReportUrl: httpUrl(env, "SEN_GOV_REPORT_URL"),
    govReportSecret: env.SEN_GOV_REPORT_SECRET?.trim() || undefined,
    indicatorsRefreshMinutes: int(env, "SEN_INDICATORS_REFRESH_MINUTES", 15, 1, 1440),
    catalogSql: bool(env, "SEN_CATALOG_SQL", false),
    catalogUploadMb: int(env, "SEN_CATALOG_UPLOAD_MB", 2048, 1, 102_400),
  };
}
