// The embedded database has no autovacuum daemon: Sen's own VACUUM keeps an updated table from
// growing without end, and reaches every table (the system catalogs too, for wraparound).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Db, openDb } from "../../src/core/db.ts";
import { embeddedVacuum } from "../../src/core/vacuum.ts";

describe("VACUUM of the embedded database", () => {
  let db: Db;
  beforeAll(async () => {
    db = await openDb({});
    await db.exec("CREATE SCHEMA scratch; CREATE TABLE scratch.readings (id int PRIMARY KEY, v int NOT NULL)");
    await db.query("INSERT INTO scratch.readings SELECT g, 0 FROM generate_series(1, 20000) g");
  });
  afterAll(() => db?.close());

  const size = async () => Number((await db.one<{ n: number }>("SELECT pg_relation_size('scratch.readings')::int AS n"))?.n);
  const updateAll = async (times: number) => {
    for (let i = 0; i < times; i++) await db.query("UPDATE scratch.readings SET v = v + 1");
  };

  it("without it, every update leaves its old rows behind", async () => {
    const before = await size();
    await updateAll(4);
    // Five versions of every row: the table is about five times its size.
    expect(await size()).toBeGreaterThan(before * 4);
  });

  it("a round reaches every table, and updates after it reuse the space", async () => {
    const grown = await size();
    const vacuum = embeddedVacuum(db);
    const done = await vacuum.round();
    expect(done).toContain("scratch.readings");
    expect(done).toContain("pg_catalog.pg_class");
    const stats = await db.one<{ last_vacuum: Date | null }>(
      "SELECT last_vacuum FROM pg_stat_user_tables WHERE schemaname = 'scratch' AND relname = 'readings'",
    );
    expect(stats?.last_vacuum).toBeTruthy();
    await updateAll(4);
    expect(await size()).toBeLessThanOrEqual(grown * 1.05);
    expect(Number((await db.one<{ n: number }>("SELECT sum(v)::int AS n FROM scratch.readings"))?.n)).toBe(20000 * 8);
  });

  it("in the background, one table per tick, and stops cleanly", async () => {
    const vacuum = embeddedVacuum(db, { tickMs: 5 });
    await db.query("SELECT pg_stat_reset()");
    vacuum.start();
    await expect
      .poll(async () => Number((await db.one<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL"))?.n), {
        timeout: 20_000,
      })
      .toBeGreaterThan(0);
    await vacuum.stop();
  });
});
