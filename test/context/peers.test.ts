// Several Sen processes on one PostgreSQL server keep entity documents and query answers in
// memory: a write in one must reach the others' caches, also after their LISTEN connection dropped.
import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sen, createSen } from "../../src/app.ts";
import { type Db, openDb } from "../../src/core/db.ts";
import { type TestSen, dbTargets, startSen, testConfig } from "../helpers.ts";
import { call, station } from "./util.ts";

const target = dbTargets().find((t) => t.name === "postgres");

/** Ask until `ok` holds (a peer's notice arrives within milliseconds; allow a few seconds). */
async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 200 && !ok(v); i++) {
    await new Promise((r) => setTimeout(r, 25));
    v = await read();
  }
  return v;
}

describe.skipIf(!target)("NGSI-LD caches across Sen processes on one PostgreSQL database", () => {
  let a: TestSen;
  let b: Sen;
  let bDb: Db;
  let admin: string;
  const id = "urn:ngsi-ld:WaterObserved:peer1";

  beforeAll(async () => {
    a = await startSen(target as NonNullable<typeof target>);
    bDb = await openDb({ url: a.databaseUrl as string, poolSize: 3 });
    b = await createSen({ config: testConfig({ DATABASE_URL: a.databaseUrl as string }), db: bDb, web: false, logger: pino({ level: "silent" }) });
    admin = await a.login();
    expect((await call(a, "POST", "/ngsi-ld/v1/entities", { token: admin, body: station(id, 1) })).statusCode).toBe(201);
  });
  afterAll(async () => {
    await b?.app.close();
    await b?.services.bus.stop();
    await bDb?.close();
    await a?.dispose();
  });

  const read = (url: string) => b.app.inject({ url, headers: { authorization: `Bearer ${admin}` } });
  const level = async () => (await read(`/ngsi-ld/v1/entities/${id}?options=keyValues`)).json().waterLevel as number;
  const highCount = async () => (await read("/ngsi-ld/v1/entities?type=WaterObserved&q=waterLevel%3E5&count=true&limit=0")).headers["ngsild-results-count"];
  const patch = async (value: number) =>
    expect((await call(a, "PATCH", `/ngsi-ld/v1/entities/${id}/attrs`, { token: admin, body: { waterLevel: { type: "Property", value } } })).statusCode).toBe(
      204,
    );

  it("a write in one process reaches what the other remembered, by id and by query", async () => {
    // The other process reads (and keeps) the entity and a query's answer.
    expect(await level()).toBe(1);
    expect(await level()).toBe(1);
    expect(await highCount()).toBe("0");
    await patch(7);
    expect(await eventually(level, (v) => v === 7)).toBe(7);
    expect(await eventually(highCount, (v) => v === "1")).toBe("1");
  });

  it("after its LISTEN connection drops, a process stops trusting its cache and listens again", async () => {
    expect(await level()).toBe(7);
    const admin = new pg.Client({ connectionString: a.databaseUrl });
    await admin.connect();
    const listeners = async () =>
      (
        await admin.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()",
        )
      ).rows[0]?.n;
    try {
      expect(await listeners()).toBe(2);
      // Both processes lose their listening connection; a write made meanwhile is announced to nobody.
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'");
      await patch(8);
      expect(await eventually(level, (v) => v === 8)).toBe(8);
      // Both listen again, and the notices flow again: a cached entity follows the next write.
      expect(await eventually(listeners, (n) => n === 2)).toBe(2);
      expect(await level()).toBe(8);
      await patch(9);
      expect(await eventually(level, (v) => v === 9)).toBe(9);
    } finally {
      await admin.end();
    }
  });
});
