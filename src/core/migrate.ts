// Migration runner: ordered SQL files per module, each applied once in its own transaction and
// recorded with a checksum. An advisory lock keeps two processes starting at once on one
// PostgreSQL server from applying the same file twice.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Db } from "./db.ts";

export const MIGRATION_LOCK = 0x53454e01;

export interface MigrationSource {
  module: string;
  dir: string;
}

export interface Migration {
  module: string;
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {}

export function readMigrations(sources: MigrationSource[]): Migration[] {
  const all: Migration[] = [];
  for (const { module, dir } of sources) {
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith(".sql"));
    } catch {
      continue; // a module without migrations
    }
    for (const name of files.sort()) {
      if (!/^\d{3}_[a-z0-9_]+\.sql$/.test(name)) throw new MigrationError(`migration file name must look like 001_name.sql: ${path.join(dir, name)}`);
      const sql = readFileSync(path.join(dir, name), "utf8");
      all.push({ module, name, sql, checksum: createHash("sha256").update(sql).digest("hex") });
    }
  }
  return all;
}

/** Apply pending migrations; returns the names applied by this call. */
export async function migrate(db: Db, sources: MigrationSource[]): Promise<string[]> {
  const migrations = readMigrations(sources);
  return db.withLock(MIGRATION_LOCK, async () => {
    await db.exec(`CREATE TABLE IF NOT EXISTS sen_migrations (
      module text NOT NULL,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (module, name))`);
    const applied = new Map(
      (await db.query<{ module: string; name: string; checksum: string }>("SELECT module, name, checksum FROM sen_migrations")).map((r) => [
        `${r.module}/${r.name}`,
        r.checksum,
      ]),
    );
    const done: string[] = [];
    for (const m of migrations) {
      const key = `${m.module}/${m.name}`;
      const known = applied.get(key);
      if (known !== undefined) {
        if (known !== m.checksum)
          throw new MigrationError(
            `migration ${key} was changed after it was applied (checksum ${known.slice(0, 12)}… in the database, ${m.checksum.slice(0, 12)}… on disk). ` +
              "Applied migrations must never be edited: restore the file and add a new migration for the change.",
          );
        continue;
      }
      await db.tx(async () => {
        await db.exec(m.sql);
        await db.query("INSERT INTO sen_migrations (module, name, checksum) VALUES ($1, $2, $3)", [m.module, m.name, m.checksum]);
      });
      done.push(key);
    }
    return done;
  });
}
