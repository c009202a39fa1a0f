// Test support: a real Sen on a real database. Every database suite runs on embedded PGlite and,
// when TEST_DATABASE_URL is set, again on a fresh database of that PostgreSQL server.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import pino from "pino";
import { type Sen, createSen } from "../src/app.ts";
import { type Config, loadConfig } from "../src/core/config.ts";
import { type Db, openDb } from "../src/core/db.ts";

export const ADMIN_PASSWORD = "test-admin-password";

export interface DbTarget {
  name: "pglite" | "postgres";
  /** A fresh, empty database; close() drops it. */
  open(): Promise<{ db: Db; url?: string; close(): Promise<void> }>;
}

/** The database targets every database suite runs on. */
export function dbTargets(): DbTarget[] {
  const targets: DbTarget[] = [
    {
      name: "pglite",
      async open() {
        const db = await openDb({});
        return { db, close: () => db.close() };
      },
    },
  ];
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (serverUrl)
    targets.push({
      name: "postgres",
      async open() {
        const url = await createDatabase(serverUrl);
        const db = await openDb({ url, poolSize: 5 });
        return {
          db,
          url,
          async close() {
            await db.close();
            await dropDatabase(serverUrl, url);
          },
        };
      },
    });
  return targets;
}

/** CREATE DATABASE with a random name on the server of `serverUrl`; returns its URL. */
export async function createDatabase(serverUrl: string): Promise<string> {
  const name = `sen_t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function dropDatabase(serverUrl: string, url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  if (!/^sen_t_[0-9a-f]+$/.test(name)) return;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ SEN_ADMIN_PASSWORD: ADMIN_PASSWORD, LOG_LEVEL: "silent", SEN_DATA_DIR: tmpDir(), PORT: "0", MQTT_PORT: "0", ...overrides });
}

export function tmpDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), "sen-test-"));
}

export interface TestSen extends Sen {
  target: DbTarget["name"];
  /** The PostgreSQL database's URL (undefined on PGlite), for a second Sen process on it. */
  databaseUrl?: string;
  /** Sign in and return the bearer token. */
  login(username?: string, password?: string): Promise<string>;
  /** Count rows of a table (to check that a rejected request wrote nothing). */
  count(table: string): Promise<number>;
  dispose(): Promise<void>;
}

/** A Sen (no web console) on a fresh database of the given target. */
export async function startSen(target: DbTarget, env: Record<string, string> = {}, opts: { heartbeatMs?: number } = {}): Promise<TestSen> {
  const handle = await target.open();
  const config = testConfig(env);
  let sen: Sen;
  try {
    sen = await createSen({ config, db: handle.db, web: false, logger: pino({ level: "silent" }), heartbeatMs: opts.heartbeatMs });
  } catch (err) {
    await handle.close().catch(() => undefined);
    rmSync(config.dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    ...sen,
    target: target.name,
    databaseUrl: handle.url,
    async login(username = "admin", password = ADMIN_PASSWORD) {
      const res = await sen.app.inject({ method: "POST", url: "/api/auth/login", payload: { username, password } });
      if (res.statusCode !== 200) throw new Error(`login ${username} failed: ${res.statusCode} ${res.body}`);
      return res.json().token as string;
    },
    async count(table: string) {
      if (!/^[a-z_]+\.[a-z_]+$/.test(table)) throw new Error("bad table name");
      const row = await handle.db.one<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
      return Number(row?.n ?? 0);
    },
    async dispose() {
      await sen.app.close();
      await sen.services.bus.stop();
      await handle.close();
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

export const auth = (token: string) => ({ authorization: `Bearer ${token}` });
