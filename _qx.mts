import { openDb } from "./src/core/db.ts";
import { migrate } from "./src/core/migrate.ts";
import { CONTEXT_MIGRATIONS } from "./src/context/index.ts";
import { contextStore } from "./src/context/store.ts";
import { CORE, expand } from "./src/context/jsonld.ts";
import { compileQ, parseQ } from "./src/context/q.ts";
import { mulberry32 } from "./src/iot/simulator.ts";
const db = await openDb({});
await migrate(db, [{ module: "context", dir: CONTEXT_MIGRATIONS }]);
const store = contextStore(db);
const rand = mulberry32(1);
const at = new Date().toISOString();
const x = (n: string) => expand(CORE, n);
for (let b = 0; b < 40; b++) {
  const list = Array.from({ length: 1000 }, (_, k) => {
    const i = b * 1000 + k;
    return { e: { id: `urn:ngsi-ld:T:${i}`, types: [x(i % 2 ? "A" : "B")], origin: "api" as const, createdAt: at, modifiedAt: at, attrs: {
      [x("temperature")]: [{ type: "Property" as const, value: Math.round((24 + rand() * 12) * 10) / 10, createdAt: at, modifiedAt: at }],
      [x("status")]: [{ type: "Property" as const, value: rand() < 0.9 ? "ok" : "fault", createdAt: at, modifiedAt: at }],
      [x("name")]: [{ type: "Property" as const, value: `Điểm ${i}`, createdAt: at, modifiedAt: at }],
    } }, bbox: [105 + rand(), 10 + rand(), 0, 0].map((v, j) => (j < 2 ? v : 0)) as never };
  });
  await store.insert("", list.map((l) => ({ e: l.e })));
}
await db.query("ANALYZE context.entities");
const ast = parseQ('temperature>33.5;status=="ok"');
const run = async (label: string) => {
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) await store.query({ tenant: "", types: [x("A")], q: (b) => compileQ(ast, b, x) }, 20, 0);
  console.log(label, ((performance.now() - t0) / 20).toFixed(2), "ms/query");
};
await run("q");
const { sqlBuilder } = await import("./src/context/q.ts");
const b = sqlBuilder();
const w = `e.tenant = ${b.p("")} AND e.types && ${b.p([x("A")])}::text[] AND ${compileQ(ast, b, x)}`;
const plan = await db.query(`EXPLAIN ANALYZE SELECT e.id FROM context.entities e WHERE ${w} ORDER BY e.id LIMIT 20`, b.params);
console.log(plan.map((r) => Object.values(r)[0]).join("\n"));
await db.close();
