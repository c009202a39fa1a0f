import { randomBytes } from "node:crypto";
import { it } from "vitest";
import { openDb } from "../../src/core/db.ts";
it("dbg", async () => {
  const db = await openDb({});
  await db.query("CREATE TABLE t (id serial, b bytea)");
  const buf = randomBytes(1_000_000);
  for (let i = 0; i < 3; i++) {
    let t0 = performance.now();
    await db.query("INSERT INTO t (b) VALUES ($1)", [buf]);
    const a = performance.now() - t0;
    t0 = performance.now();
    await db.query("INSERT INTO t (b) VALUES (decode($1, 'base64'))", [buf.toString("base64")]);
    const b = performance.now() - t0;
    t0 = performance.now();
    await db.query("INSERT INTO t (b) VALUES ($1::bytea)", [new Uint8Array(buf)]);
    console.log("buffer", a.toFixed(0), "base64", b.toFixed(0), "u8", (performance.now() - t0).toFixed(0));
  }
  await db.close();
}, 120000);
