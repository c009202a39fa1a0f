// The q language: examples from the spec, refusals, and a property-based fuzz test. Random
// queries (valid ones from a small grammar generator, and mangled ones) must either parse or be
// refused with BadRequestData — nothing else — and compiled SQL must never contain the input.
// On a real database, SQL and the TypeScript evaluator (used by subscriptions) must agree.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/core/db.ts";
import { migrate } from "../../src/core/migrate.ts";
import { CONTEXT_MIGRATIONS } from "../../src/context/index.ts";
import type { Instance, StoredEntity } from "../../src/context/entity.ts";
import { LdProblem } from "../../src/context/errors.ts";
import { CORE, expand } from "../../src/context/jsonld.ts";
import { type QNode, checkRegex, compileQ, evalQ, parseQ, sqlBuilder } from "../../src/context/q.ts";
import { contextStore } from "../../src/context/store.ts";
import { mulberry32 } from "../../src/iot/simulator.ts";
import { dbTargets } from "../helpers.ts";

const x = (n: string) => expand(CORE, n);

describe("q parser", () => {
  it("parses the spec's forms", () => {
    expect(parseQ("temperature>20;humidity<=80")).toMatchObject({ kind: "and", items: [{ op: ">" }, { op: "<=" }] });
    expect(parseQ("a==1|b==2;c==3")).toMatchObject({ kind: "or", items: [{ kind: "term" }, { kind: "and" }] });
    expect(parseQ("(a==1|b==2);c")).toMatchObject({ kind: "and", items: [{ kind: "or" }, { kind: "term", path: { attr: "c" } }] });
    expect(parseQ("a.b.observedAt>=2026-01-01T00:00:00+07:00")).toMatchObject({
      path: { attr: "a", sub: ["b", "observedAt"] },
      value: { t: "datetime", v: "2025-12-31T17:00:00.000Z" },
    });
    expect(parseQ('address[city][district]=="Cao Lãnh"')).toMatchObject({ path: { compound: ["city", "district"] }, value: { t: "string", v: "Cao Lãnh" } });
    expect(parseQ("level==1..5")).toMatchObject({ value: { t: "range", from: { v: 1 }, to: { v: 5 } } });
    expect(parseQ('status=="a","b"')).toMatchObject({ value: { t: "list", items: [{ v: "a" }, { v: "b" }] } });
    expect(parseQ("refStation==urn:ngsi-ld:Station:1")).toMatchObject({ value: { t: "uri", v: "urn:ngsi-ld:Station:1" } });
    expect(parseQ('name~="(?i)^tân"')).toMatchObject({ regex: { source: "^tân", caseInsensitive: true } });
    expect(parseQ("ok==true;n!=-1.5e3")).toMatchObject({ items: [{ value: { t: "bool", v: true } }, { op: "!=", value: { v: -1500 } }] });
  });

  it("refuses what is not q, and regexes that backtrack catastrophically", () => {
    for (const bad of [
      "",
      "a==",
      "a>>1",
      "(a==1",
      "a==1)",
      "a==1;;b",
      "a>true",
      'a=="x',
      "a==b c",
      "a[b",
      "(".repeat(40) + "a" + ")".repeat(40),
      "a".repeat(5000),
    ])
      expect(() => parseQ(bad), bad).toThrow(LdProblem);
    for (const re of ["(a+)+$", "(a*)*", "(a|aa)+", "(\\w+\\s?)*$", "((ab)*)+", "a{1,100000}", "x".repeat(300)])
      expect(() => checkRegex(re), re).toThrow(/backtracking|limited|at most/);
    expect(() => parseQ('n~="(a+)+$"')).toThrow(LdProblem);
    expect(() => checkRegex("^urn:ngsi-ld:[A-Za-z]+:\\d+$")).not.toThrow();
  });
});

// ---------------------------------------------------------------- fuzz

const NAMES = ["zqa", "zqb", "zqc"];
const STRS = ["Qy1", "Qy2", "Qy Tân"];

function generator(rand: () => number) {
  const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)];
  const value = () =>
    pick([
      () => String(Math.round(rand() * 20 - 5)),
      () => (rand() * 10).toFixed(2),
      () => `"${pick(STRS)}"`,
      () => pick(["true", "false"]),
      () => "2026-11-0" + Math.ceil(rand() * 9) + "T00:00:00Z",
    ])();
  const path = () => {
    let p = pick(NAMES);
    if (rand() < 0.2) p += `.${pick([...NAMES, "observedAt"])}`;
    if (rand() < 0.2) p += `[${pick(NAMES)}]`;
    return p;
  };
  const term = (): string => {
    const r = rand();
    if (r < 0.1) return path();
    if (r < 0.2) return `${path()}==${Math.round(rand() * 5)}..${Math.round(5 + rand() * 5)}`;
    if (r < 0.3) return `${path()}==${value()},${value()}`;
    if (r < 0.4) return `${path()}${pick(["~=", "!~="])}"${pick(["^Qy", "(?i)tân", "[0-9]$", "y."])}"`;
    const op = pick(["==", "!=", ">", ">=", "<", "<="]);
    let v = value();
    if (op !== "==" && op !== "!=" && (v === "true" || v === "false")) v = "1";
    return `${path()}${op}${v}`;
  };
  const expr = (d: number): string => {
    const n = 1 + Math.floor(rand() * 3);
    const parts = Array.from({ length: n }, () => (d < 3 && rand() < 0.3 ? `(${expr(d + 1)})` : term()));
    return parts.reduce((a, b) => `${a}${pick([";", "|"])}${b}`);
  };
  const mangle = (s: string) => {
    const chars = [..."();|=<>!~.,[]\"'\\$-:aZ0 \u0000\u202e%_"];
    const a = [...s];
    for (let k = 0; k < 1 + rand() * 4; k++) {
      const i = Math.floor(rand() * (a.length + 1));
      const r = rand();
      if (r < 0.4) a.splice(i, 0, pick(chars));
      else if (r < 0.7) a.splice(i, 1);
      else a.splice(i, 0, "'; DROP TABLE context.entities; --");
    }
    return a.join("");
  };
  return { expr: () => expr(0), mangle };
}

describe("q fuzz (parser and compiler)", () => {
  it("never throws anything but BadRequestData and never puts input into SQL", () => {
    const rand = mulberry32(20261127);
    const g = generator(rand);
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      const valid = g.expr();
      const input = i % 2 ? g.mangle(valid) : valid;
      let ast: QNode;
      try {
        ast = parseQ(input);
      } catch (err) {
        expect(err, input).toBeInstanceOf(LdProblem);
        expect((err as LdProblem).ldType, input).toBe("BadRequestData");
        if (i % 2 === 0) throw new Error(`generated valid q refused: ${input}: ${(err as Error).message}`);
        continue;
      }
      parsed++;
      const b = sqlBuilder();
      const sql = compileQ(ast, b, x);
      for (const token of [...NAMES, ...STRS, "DROP", "Qy", "zq"]) expect(sql, input).not.toContain(token);
      expect(sql).not.toMatch(/'[^']*(zq|Qy)/);
    }
    expect(parsed).toBeGreaterThan(1500);
  });
});

for (const target of dbTargets()) {
  describe(`q in SQL and in TypeScript agree on ${target.name}`, () => {
    let db: Db;
    let close: () => Promise<void>;
    const entities: StoredEntity[] = [];
    beforeAll(async () => {
      const h = await target.open();
      db = h.db;
      close = h.close;
      await migrate(db, [{ module: "context", dir: CONTEXT_MIGRATIONS }]);
      const rand = mulberry32(7);
      const at = "2026-11-27T00:00:00.000Z";
      for (let i = 0; i < 40; i++) {
        const attrs: Record<string, Instance[]> = {};
        for (const n of NAMES) {
          if (rand() < 0.2) continue;
          const r = rand();
          const value =
            r < 0.4
              ? Math.round(rand() * 20 - 5)
              : r < 0.6
                ? STRS[Math.floor(rand() * 3)]
                : r < 0.7
                  ? rand() < 0.5
                  : r < 0.85
                    ? { zqa: Math.round(rand() * 10), zqb: STRS[0] }
                    : [1, 2, STRS[1]];
          const inst: Instance = { type: "Property", value, observedAt: `2026-11-0${1 + Math.floor(rand() * 9)}T00:00:00.000Z`, createdAt: at, modifiedAt: at };
          if (rand() < 0.3) inst[x("zqb")] = { type: "Property", value: Math.round(rand() * 10), createdAt: at, modifiedAt: at };
          attrs[x(n)] = [inst];
        }
        entities.push({ id: `urn:ngsi-ld:T:${String(i).padStart(2, "0")}`, types: [x("T")], attrs, createdAt: at, modifiedAt: at, origin: "api" });
      }
      await contextStore(db).insert(
        "",
        entities.map((e) => ({ e })),
      );
    });
    afterAll(() => close?.());

    it("returns the same entities for 300 random queries", async () => {
      const rand = mulberry32(99);
      const g = generator(rand);
      const store = contextStore(db);
      for (let i = 0; i < 300; i++) {
        const input = g.expr();
        const ast = parseQ(input);
        const fromSql = (await store.query({ tenant: "", q: (b) => compileQ(ast, b, x) }, 100, 0)).map((e) => e.id);
        const fromTs = entities.filter((e) => evalQ(ast, e.attrs, x)).map((e) => e.id);
        expect(fromSql, input).toEqual(fromTs);
      }
    });
  });
}
