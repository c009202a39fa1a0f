// The database layer runs a statement Sen repeats as a prepared statement (PGlite): what a caller
// sees must not change with it — the same rows and types, the same errors, schema changes seen at
// once, transactions intact — and the database keeps only a bounded number of them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/core/db.ts";
import { dbTargets } from "../helpers.ts";

for (const target of dbTargets()) {
  describe(`database layer on ${target.name}`, () => {
    let db: Db;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ db, close } = await target.open());
      await db.exec(`CREATE SCHEMA scratch;
        CREATE TABLE scratch.readings (id int PRIMARY KEY, station text NOT NULL, at timestamptz NOT NULL, value double precision, tags text[], doc jsonb)`);
    });
    afterAll(() => close?.());

    it("a repeated statement gives the same rows and types every time, whatever its parameters hold", async () => {
      const insert =
        "INSERT INTO scratch.readings (id, station, at, value, tags, doc) SELECT * FROM unnest($1::int[], $2::text[], $3::timestamptz[], $4::float8[]) AS t, LATERAL (SELECT $5::text[], $6::jsonb) x RETURNING id";
      const doc = { name: "Tân Châu", quote: 'a "b" \\ c', nested: { list: [1, null, "x"] } };
      for (let i = 0; i < 4; i++) {
        const rows = await db.query<{ id: number }>(insert, [
          [i],
          [`trạm-${i}`],
          [new Date(Date.UTC(2026, 10, 27, i))],
          [i === 2 ? null : 3.5 + i],
          ["a,b", 'q"uote', "{brace}"],
          doc,
        ]);
        expect(rows).toEqual([{ id: i }]);
      }
      const select = "SELECT id, station, at, value, tags, doc FROM scratch.readings WHERE id = ANY($1::int[]) ORDER BY id";
      const first = await db.query(select, [[0, 1, 2, 3]]);
      for (let i = 0; i < 3; i++) expect(await db.query(select, [[0, 1, 2, 3]])).toEqual(first);
      expect(first).toHaveLength(4);
      expect(first[2]).toEqual({ id: 2, station: "trạm-2", at: new Date(Date.UTC(2026, 10, 27, 2)), value: null, tags: ["a,b", 'q"uote', "{brace}"], doc });
      expect(first[3].value).toBe(6.5);
    });

    it("a repeated statement that fails keeps its error code, and its transaction rolls back", async () => {
      const insert = "INSERT INTO scratch.readings (id, station, at) VALUES ($1, $2, now())";
      for (let i = 0; i < 3; i++) await expect(db.query(insert, [0, "again"])).rejects.toMatchObject({ code: "23505" });
      await expect(
        db.tx(async () => {
          await db.query(insert, [100, "kept?"]);
          await db.query(insert, [101, "kept?"]);
          await db.query(insert, [0, "duplicate"]);
        }),
      ).rejects.toMatchObject({ code: "23505" });
      expect(await db.query("SELECT id FROM scratch.readings WHERE station = $1", ["kept?"])).toEqual([]);
      // The layer still works after the failed transaction.
      await db.query(insert, [102, "after"]);
      expect(await db.one("SELECT station FROM scratch.readings WHERE id = $1", [102])).toEqual({ station: "after" });
    });

    it("sees a table changed under a repeated statement at once", async () => {
      const select = "SELECT * FROM scratch.readings WHERE id = $1";
      for (let i = 0; i < 3; i++) expect(Object.keys((await db.one(select, [1])) ?? {})).not.toContain("unit");
      await db.exec("ALTER TABLE scratch.readings ADD COLUMN unit text DEFAULT 'm'");
      expect(await db.one(select, [1])).toMatchObject({ id: 1, unit: "m" });
      await db.query("ALTER TABLE scratch.readings DROP COLUMN unit");
      expect(Object.keys((await db.one(select, [1])) ?? {})).not.toContain("unit");
      // A change the layer cannot see coming (made inside a function) is caught too.
      await db.exec(`CREATE FUNCTION scratch.add_column(name text) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN EXECUTE format('ALTER TABLE scratch.readings ADD COLUMN %I text', name); END $$`);
      for (let i = 0; i < 3; i++) await db.one(select, [1]);
      await db.query("SELECT scratch.add_column($1)", ["quality"]);
      expect(await db.one(select, [1])).toMatchObject({ id: 1, quality: null });
    });

    it("a NOTIFY sent by a repeated statement reaches its listener every time", async () => {
      const got: string[] = [];
      const unlisten = await db.listen("scratch_channel", (p) => got.push(p));
      for (let i = 0; i < 4; i++) await db.query("SELECT pg_notify($1, $2)", ["scratch_channel", `m${i}`]);
      await expect.poll(() => got, { timeout: 5000 }).toEqual(["m0", "m1", "m2", "m3"]);
      await unlisten();
    });

    it("answers many different statements right, and keeps a bounded number prepared", async () => {
      const sqlFor = (k: number) => `SELECT $1::int + ${k} AS n`;
      for (let round = 0; round < 2; round++) for (let k = 0; k < 250; k++) expect(await db.one(sqlFor(k), [round])).toEqual({ n: round + k });
      expect(await db.one(sqlFor(0), [7])).toEqual({ n: 7 });
      if (target.name === "pglite") {
        const held = await db.one<{ n: number }>("SELECT count(*)::int AS n FROM pg_prepared_statements");
        expect(held?.n).toBeGreaterThan(0);
        expect(held?.n).toBeLessThanOrEqual(101);
      }
    });
  });
}
