// The period library, the expression language and the forecast, without a database.
import { describe, expect, it } from "vitest";
import { ExpressionError, compare, evaluate, parseExpression } from "../../src/indicators/expression.ts";
import { assess, holtFit, linearFit } from "../../src/indicators/forecast.ts";
import { PeriodError, aggregatesInto, parsePeriod, periodOf, periodsBetween, resolveRelative, shift, today, within } from "../../src/indicators/periods.ts";

describe("ISO periods", () => {
  it("parses every period type with its first and last day", () => {
    expect(parsePeriod("2025")).toEqual({ id: "2025", type: "yearly", start: "2025-01-01", end: "2025-12-31" });
    expect(parsePeriod("2025S2")).toMatchObject({ type: "sixmonthly", start: "2025-07-01", end: "2025-12-31" });
    expect(parsePeriod("2025Q3")).toMatchObject({ type: "quarterly", start: "2025-07-01", end: "2025-09-30" });
    expect(parsePeriod("2024Q1")).toMatchObject({ start: "2024-01-01", end: "2024-03-31" });
    expect(parsePeriod("202502")).toMatchObject({ type: "monthly", start: "2025-02-01", end: "2025-02-28" });
    expect(parsePeriod("202402")).toMatchObject({ end: "2024-02-29" });
    expect(parsePeriod("20250715")).toMatchObject({ type: "daily", start: "2025-07-15", end: "2025-07-15" });
  });

  it("numbers ISO weeks from the week holding 4 January, Monday first", () => {
    expect(parsePeriod("2025W1")).toMatchObject({ start: "2024-12-30", end: "2025-01-05" });
    expect(parsePeriod("2025W27")).toMatchObject({ type: "weekly", start: "2025-06-30", end: "2025-07-06" });
    expect(parsePeriod("2020W53")).toMatchObject({ start: "2020-12-28", end: "2021-01-03" });
    expect(() => parsePeriod("2025W53")).toThrow(/52 ISO weeks/);
    expect(periodOf("weekly", "2021-01-02").id).toBe("2020W53");
    expect(periodOf("weekly", "2025-07-06").id).toBe("2025W27");
  });

  it("refuses what is not a period", () => {
    for (const bad of ["", "25", "2025Q5", "202513", "2025W0", "20250230", "2025-07", "abc", "1899", "2025Q3; DROP TABLE x"])
      expect(() => parsePeriod(bad)).toThrow(PeriodError);
  });

  it("steps, ranges and nests periods", () => {
    expect(shift(parsePeriod("202512"), 1).id).toBe("202601");
    expect(shift(parsePeriod("2025Q1"), -1).id).toBe("2024Q4");
    expect(shift(parsePeriod("2025W1"), -1).id).toBe("2024W52");
    expect(shift(parsePeriod("20250301"), -1).id).toBe("20250228");
    expect(periodsBetween("quarterly", "2025-02-10", "2025-12-01").map((p) => p.id)).toEqual(["2025Q1", "2025Q2", "2025Q3", "2025Q4"]);
    expect(within(parsePeriod("202507"), parsePeriod("2025Q3"))).toBe(true);
    expect(within(parsePeriod("202506"), parsePeriod("2025Q3"))).toBe(false);
    expect(aggregatesInto("monthly", "yearly")).toBe(true);
    expect(aggregatesInto("weekly", "monthly")).toBe(false);
  });

  it("resolves relative periods like DHIS2 (LAST_n ends with the last complete period)", () => {
    const d = "2025-07-15";
    expect(resolveRelative("THIS_YEAR", d).map((p) => p.id)).toEqual(["2025"]);
    expect(resolveRelative("LAST_YEAR", d).map((p) => p.id)).toEqual(["2024"]);
    const l12 = resolveRelative("LAST_12_MONTHS", d).map((p) => p.id);
    expect(l12).toHaveLength(12);
    expect(l12[0]).toBe("202407");
    expect(l12[11]).toBe("202506");
    expect(resolveRelative("LAST_4_QUARTERS", d).map((p) => p.id)).toEqual(["2024Q3", "2024Q4", "2025Q1", "2025Q2"]);
    expect(resolveRelative("THIS_QUARTER", d).map((p) => p.id)).toEqual(["2025Q3"]);
    expect(resolveRelative("LAST_5_YEARS", d).map((p) => p.id)).toEqual(["2020", "2021", "2022", "2023", "2024"]);
    expect(resolveRelative("THIS_WEEK", d).map((p) => p.id)).toEqual(["2025W29"]);
    expect(resolveRelative("MONTHS_THIS_YEAR", d)).toHaveLength(12);
  });

  it("takes today in Vietnam time", () => {
    expect(today(new Date("2025-12-31T17:30:00Z"))).toBe("2026-01-01");
    expect(today(new Date("2025-12-31T16:30:00Z"))).toBe("2025-12-31");
  });
});

describe("expressions", () => {
  const v = (m: Record<string, number>) => (op: { k: string; id: string; coc?: string }) => m[op.coc ? `${op.id}.${op.coc}` : op.id];
  it("evaluates arithmetic over elements, disaggregations and indicators", () => {
    expect(evaluate(parseExpression("#{a} + #{b} * 2"), v({ a: 1, b: 3 }))).toBe(7);
    expect(evaluate(parseExpression("(#{a} + #{b}) / 2"), v({ a: 1, b: 3 }))).toBe(2);
    expect(evaluate(parseExpression("#{pop.female} / #{pop}"), v({ "pop.female": 30, pop: 60 }))).toBe(0.5);
    expect(evaluate(parseExpression("N{rate} * 10"), v({ rate: 4 }))).toBe(40);
    expect(evaluate(parseExpression("-#{a}"), v({ a: 4 }))).toBe(-4);
  });
  it("resolves dotted element ids before disaggregations", () => {
    const e = parseExpression("#{agri.smart_villages}", (id) => id === "agri.smart_villages");
    expect(e).toEqual({ k: "de", id: "agri.smart_villages" });
    expect(parseExpression("#{pop.female}")).toEqual({ k: "de", id: "pop", coc: "female" });
  });
  it("is undefined when every operand is missing, and on division by zero", () => {
    expect(evaluate(parseExpression("#{a} + #{b}"), v({}))).toBeUndefined();
    expect(evaluate(parseExpression("#{a} + #{b}"), v({ a: 2 }))).toBe(2);
    expect(evaluate(parseExpression("#{a} / #{b}"), v({ a: 2, b: 0 }))).toBeUndefined();
  });
  it("refuses malformed expressions with the position", () => {
    for (const bad of ["#{a} +", "#{a", "(#{a}", "#{a} #{b}", "#{a b}", "x", "#{}", "#{a}; DROP"]) expect(() => parseExpression(bad)).toThrow(ExpressionError);
    expect(() => parseExpression("#{a} * * 2")).toThrow(/position 8/);
  });
  it("compares with the rule operators", () => {
    expect(compare(1, "<=", 1)).toBe(true);
    expect(compare(0.1 + 0.2, "==", 0.3)).toBe(true);
    expect(compare(2, ">", 2)).toBe(false);
    expect(compare(3, "!=", 2)).toBe(true);
  });
});

describe("forecast", () => {
  const pts = (vals: number[], from = 2021) => vals.map((v, i) => ({ t: from + i + 1, v }));
  it("fits a straight line exactly on linear data and says when the goal is reached", () => {
    const f = linearFit(pts([10, 20, 30, 40]), 2027, 70);
    expect(f?.slopePerYear).toBeCloseTo(10);
    expect(f?.value).toBeCloseTo(60); // 2026 value (period end 2027)
    expect(f?.low).toBeCloseTo(60);
    expect(f?.reachesAt).toBeCloseTo(2028); // the 2027 value
  });
  it("Holt follows a trend and widens its interval with the horizon", () => {
    const near = holtFit(pts([10, 21, 29, 41, 50]), 2027, 100);
    const far = holtFit(pts([10, 21, 29, 41, 50]), 2031, 100);
    expect(near?.value).toBeGreaterThan(55);
    expect(near?.value).toBeLessThan(65);
    expect((far?.high ?? 0) - (far?.low ?? 0)).toBeGreaterThan((near?.high ?? 0) - (near?.low ?? 0));
  });
  it("assesses met, on track, at risk and off track", () => {
    const goal = { value: 50, direction: "increase" as const, deadline: 2026 }; // by the end of 2025
    expect(assess(pts([10, 30, 55]), goal, 2025.5).status).toBe("met");
    expect(assess(pts([10, 20, 30, 40]), { ...goal, deadline: 2027 }, 2025.5).status).toBe("on_track");
    expect(assess(pts([10, 12, 14, 16]), goal, 2025.5).status).toBe("off_track");
    expect(assess(pts([10, 20]), goal, 2027).status).toBe("off_track"); // deadline passed
    expect(assess([], goal, 2025).status).toBe("no_data");
    expect(assess(pts([10]), goal, 2025).status).toBe("at_risk"); // one point: no pace yet
    // Noisy growth whose central forecast falls short but whose interval reaches the goal.
    expect(assess(pts([10, 25, 18, 35, 30]), { ...goal, deadline: 2027 }, 2025.5).status).toBe("at_risk");
  });
});
