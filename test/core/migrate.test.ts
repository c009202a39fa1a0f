// The migration runner: each file once, in order, checksummed; an edited applied file is refused.
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../src/app.ts";
import { type Db, openDb } from "../../src/core/db.ts";
import { migrate, readMigrations } from "../../src/core/migrate.ts";
import { type DbTarget, dbTargets } from "../helpers.ts";

function tempModule(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sen-mig-"));
  for (const [name, sql] of Object.entries(files)) writeFileSync(path.join(dir, name), sql);
  return dir;
}

for (const target of dbTargets()) {
  describe(`migrations on ${target.name}`, () => {
    let handle: Awaited<ReturnType<DbTarget["open"]>>;
    let db: Db;
    beforeAll(async () => {
      handle = await target.open();
      db = handle.db;
    });
    afterAll(() => handle?.close());

    it("applies every module's files once, in order, with checksums", async () => {
      const first = await migrate(db, MIGRATIONS);
      expect(first).toEqual(readMigrations(MIGRATIONS).map((m) => `${m.module}/${m.name}`));
      expect(first[0]).toBe("core/001_core.sql");
      expect(await migrate(db, MIGRATIONS)).toEqual([]);
      const rows = await db.query<{ module: string; name: string; checksum: string }>(
        "SELECT module, name, checksum FROM sen_migrations ORDER BY applied_at, module",
      );
      expect(rows.map((r) => `${r.module}/${r.name}`)).toEqual(first);
      expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.checksum))).toBe(true);
    });

    it("runs a failing migration in a transaction: nothing of it stays", async () => {
      const dir = tempModule({
        "001_ok.sql": "CREATE TABLE t_ok (id int);",
        "002_bad.sql": "CREATE TABLE t_half (id int); SELECT no_such_function();",
      });
      await expect(migrate(db, [{ module: "tmpbad", dir }])).rejects.toThrow(/no_such_function/);
      expect(await db.one("SELECT to_regclass('t_ok') AS t")).toEqual({ t: "t_ok" });
      expect(await db.one("SELECT to_regclass('t_half') AS t")).toEqual({ t: null });
      const applied = await db.query<{ name: string }>("SELECT name FROM sen_migrations WHERE module = 'tmpbad'");
      expect(applied.map((r) => r.name)).toEqual(["001_ok.sql"]);
    });

    it("refuses an applied migration that was edited, with a clear message", async () => {
      const dir = tempModule({ "001_a.sql": "CREATE TABLE t_edit (id int);" });
      await migrate(db, [{ module: "tmpedit", dir }]);
      writeFileSync(path.join(dir, "001_a.sql"), "CREATE TABLE t_edit (id int, extra text);");
      await expect(migrate(db, [{ module: "tmpedit", dir }])).rejects.toThrow(/tmpedit\/001_a\.sql was changed after it was applied/);
    });

    it("refuses badly named files", () => {
      const dir = tempModule({ "1-oops.sql": "SELECT 1;" });
      expect(() => readMigrations([{ module: "tmpname", dir }])).toThrow(/001_name\.sql/);
    });

    it.runIf(target.name === "postgres")("two processes migrating at the same moment apply each file once", async () => {
      const url = handle.url as string;
      const dir = tempModule({
        "001_slow.sql": "SELECT pg_sleep(0.3); CREATE TABLE t_race (id int);",
        "002_more.sql": "INSERT INTO t_race VALUES (1);",
      });
      const [a, b] = await Promise.all([openDb({ url, poolSize: 2 }), openDb({ url, poolSize: 2 })]);
      const results = await Promise.all([migrate(a, [{ module: "race", dir }]), migrate(b, [{ module: "race", dir }])]);
      expect(results.flat().sort()).toEqual(["race/001_slow.sql", "race/002_more.sql"]);
      expect(await db.one<{ n: number }>("SELECT count(*)::int AS n FROM t_race")).toEqual({ n: 1 });
      await Promise.all([a.close(), b.close()]);
    });
  });
}
