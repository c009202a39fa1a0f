// The rule state machines on their own: sequences of readings in, alarm conditions out.
import { describe, expect, it } from "vitest";
import type { RuleSpec, Severity, TelemetryPoint } from "../../src/iot/types.ts";
import {
  CHAU_DOC_LEVELS,
  type RuleState,
  TAN_CHAU_LEVELS,
  conditionOf,
  hydrologyRule,
  initialState,
  ruleProblems,
  stepNodataCheck,
  stepPoint,
} from "../../src/ops/rules.ts";

const MIN = 60_000;
const T0 = Date.UTC(2025, 9, 1, 0, 0);

const pt = (key: string, value: TelemetryPoint["value"], ts: number, outOfRange = false): TelemetryPoint => ({ key, value, ts, outOfRange });

/** Feed readings (one a minute unless times are given) and return the severity after each (null: no alarm). */
function run(rule: RuleSpec, readings: Array<number | [value: TelemetryPoint["value"], minute: number, outOfRange?: boolean]>, key = "waterLevel") {
  let s: RuleState = initialState(rule);
  return readings.map((r, i) => {
    const [value, minute, oor] = Array.isArray(r) ? r : [r, i];
    s = stepPoint(rule, s, pt(key, value, T0 + minute * MIN, oor ?? false));
    return conditionOf(rule, s)?.severity ?? null;
  });
}

/** How many times the severity changed along a sequence. */
const changes = (seq: Array<Severity | null>) => seq.filter((s, i) => i > 0 && s !== seq[i - 1]).length;

describe("flood rule at Tân Châu (BĐ1/2/3 = 3.5/4.0/4.5 m, hysteresis 0.05 m)", () => {
  const rule = hydrologyRule(TAN_CHAU_LEVELS);

  it("is the built-in rule with the official levels", () => {
    expect(rule).toMatchObject({
      id: "flood-level",
      kind: "threshold",
      key: "waterLevel",
      direction: "above",
      hysteresis: 0.05,
      levels: [
        { value: 3.5, severity: "minor" },
        { value: 4.0, severity: "major" },
        { value: 4.5, severity: "critical" },
      ],
    });
    expect(rule.name).toMatch(/báo động/i);
    expect(CHAU_DOC_LEVELS).toEqual({ bd1: 3.0, bd2: 3.5, bd3: 4.0 });
    expect(ruleProblems(rule)).toEqual([]);
  });

  it("raises minor at BĐ1, major at BĐ2, critical at BĐ3, steps down after the hysteresis, clears below BĐ1 − 0.05", () => {
    expect(run(rule, [3.2, 3.6, 4.12, 4.6, 4.47, 4.46, 4.45, 4.2, 3.96, 3.95, 3.9, 3.46, 3.45, 3.44])).toEqual([
      null,
      "minor",
      "major",
      "critical",
      "critical", // 4.47 is below BĐ3 but not by 5 cm
      "critical",
      "critical", // exactly 4.45 is not below it yet
      "major", // 4.2 < 4.45
      "major",
      "major",
      "minor", // 3.9 < 3.95
      "minor",
      "minor",
      null, // 3.44 < 3.45: cleared
    ]);
  });

  it("reaching a level exactly counts as crossing it", () => {
    expect(run(rule, [3.5, 4.0, 4.5])).toEqual(["minor", "major", "critical"]);
  });

  it("a jump straight from normal to above BĐ3 is critical at once, and a fall straight to normal clears", () => {
    expect(run(rule, [3.0, 4.8, 3.0])).toEqual([null, "critical", null]);
  });

  it("hovering around 4.0 m changes the severity at most once", () => {
    const seq = run(rule, [3.8, 3.98, 4.02, 3.99, 4.01, 3.97, 4.03, 3.96, 4.0, 3.99, 4.01]);
    expect(changes(seq)).toBe(1);
    expect(seq.at(-1)).toBe("major");
    // The same after a de-escalation from BĐ3 onto 4.0 m.
    const down = run(rule, [4.6, 4.2, 3.98, 4.02, 3.99, 4.01, 3.97, 4.03]);
    expect(down.slice(1).every((s) => s === "major")).toBe(true);
  });

  it("long noisy hovering (±4 cm around 4.0 m) never flaps", () => {
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const readings = [3.9, ...Array.from({ length: 2000 }, () => Math.round((4.0 + (rnd() - 0.5) * 0.08) * 1000) / 1000)];
    expect(changes(run(rule, readings))).toBeLessThanOrEqual(1);
  });

  it("ignores non-numeric readings, sensor faults (out of range) and other keys", () => {
    expect(
      run(rule, [
        [9.99, 0, true],
        ["4.6", 1],
        [true, 2],
        [Number.NaN, 3],
      ]),
    ).toEqual([null, null, null, null]);
    expect(run(rule, [4.6], "discharge")).toEqual([null]);
    // A fault in the middle of a flood does not clear it either.
    expect(
      run(rule, [
        [4.2, 0],
        [0, 1, true],
        [4.2, 2],
      ]),
    ).toEqual(["major", "major", "major"]);
  });

  it("ignores a late reading older than the last one", () => {
    expect(
      run(rule, [
        [4.2, 10],
        [3.0, 5],
        [4.1, 11],
      ]),
    ).toEqual(["major", "major", "major"]);
  });
});

describe("threshold rules", () => {
  it("below-direction levels (dissolved oxygen) with hysteresis", () => {
    const rule: RuleSpec = {
      id: "do-low",
      kind: "threshold",
      key: "dissolvedOxygen",
      direction: "below",
      levels: [
        { value: 4, severity: "warning" },
        { value: 2, severity: "critical" },
      ],
      hysteresis: 0.5,
    };
    expect(ruleProblems(rule)).toEqual([]);
    expect(run(rule, [6, 3.9, 1.9, 2.3, 2.6, 4.3, 4.6], "dissolvedOxygen")).toEqual([null, "warning", "critical", "critical", "warning", "warning", null]);
  });

  it("sustainSeconds: the value must stay past the level that long, by the readings' times", () => {
    const rule: RuleSpec = { ...(hydrologyRule(TAN_CHAU_LEVELS) as Extract<RuleSpec, { kind: "threshold" }>), sustainSeconds: 600 };
    // Every 5 minutes: above BĐ1 at 0, 5, 10 → raised at 10 minutes.
    expect(
      run(rule, [
        [3.6, 0],
        [3.7, 5],
        [3.8, 10],
      ]),
    ).toEqual([null, null, "minor"]);
    // A dip below the level restarts the clock.
    expect(
      run(rule, [
        [3.6, 0],
        [3.4, 5],
        [3.6, 10],
        [3.6, 15],
        [3.6, 20],
      ]),
    ).toEqual([null, null, null, null, "minor"]);
    // Escalation needs its own sustained run; clearing does not wait.
    expect(
      run(rule, [
        [3.6, 0],
        [3.6, 10],
        [4.2, 11],
        [4.2, 15],
        [4.2, 21],
        [3.3, 22],
      ]),
    ).toEqual([null, "minor", "minor", "minor", "major", null]);
  });

  it("a spike shorter than the sustain time raises nothing", () => {
    const rule: RuleSpec = { id: "aqi", kind: "threshold", key: "aqi", direction: "above", levels: [{ value: 151, severity: "minor" }], sustainSeconds: 600 };
    expect(
      run(
        rule,
        [
          [80, 0],
          [400, 1],
          [90, 2],
          [100, 20],
        ],
        "aqi",
      ),
    ).toEqual([null, null, null, null]);
  });

  it("ruleProblems names what is wrong", () => {
    expect(
      ruleProblems({
        id: "bad id!",
        kind: "threshold",
        key: "x",
        direction: "above",
        levels: [
          { value: 5, severity: "major" },
          { value: 4, severity: "minor" },
        ],
        hysteresis: -1,
      }),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^id/),
        expect.stringMatching(/higher/),
        expect.stringMatching(/severities/),
        expect.stringMatching(/hysteresis/),
      ]),
    );
    expect(ruleProblems({ id: "r", kind: "rate", key: "x", maxChangePerMinute: 0, severity: "minor" })).toHaveLength(1);
    expect(ruleProblems({ id: "n", kind: "nodata", minutes: -5, severity: "minor" })).toHaveLength(1);
  });
});

describe("rate-of-change rules", () => {
  const rule: RuleSpec = { id: "surge", kind: "rate", key: "waterLevel", maxChangePerMinute: 0.1, severity: "major" };

  it("alarms when |Δvalue|/Δminutes between consecutive readings exceeds the limit, clears on the next calm reading", () => {
    expect(
      run(rule, [
        [1.0, 0],
        [1.05, 1],
        [1.5, 2],
        [1.55, 3],
        [1.0, 4],
        [1.0, 14],
      ]),
    ).toEqual([null, null, "major", null, "major", null]);
  });

  it("measures over the real interval between readings", () => {
    // 0.5 m over 10 minutes is 0.05 m/min: calm.
    expect(
      run(rule, [
        [1.0, 0],
        [1.5, 10],
      ]),
    ).toEqual([null, null]);
  });

  it("skips sensor faults, non-numbers and readings without a time step", () => {
    expect(
      run(rule, [
        [1.0, 0],
        [99, 1, true],
        ["x", 2],
        [1.02, 3],
        [5, 3],
      ]),
    ).toEqual([null, null, null, null, null]);
  });
});

describe("no-data rules", () => {
  const rule = { id: "silent", kind: "nodata", key: "waterLevel", minutes: 30, severity: "warning" } as const;
  const anyKey = { id: "offline", kind: "nodata", minutes: 10, severity: "minor" } as const;

  it("is silent once the last data is `minutes` old, and not once data arrives", () => {
    let s = initialState(rule);
    if (s.kind !== "nodata") throw new Error("kind");
    s = stepNodataCheck(rule, s, T0, T0 + 29 * MIN);
    expect(conditionOf(rule, s)).toBeNull();
    s = stepNodataCheck(rule, s, T0, T0 + 30 * MIN);
    expect(conditionOf(rule, s)).toMatchObject({ severity: "warning", threshold: { minutes: 30 }, details: { lastSeen: new Date(T0).toISOString() } });
    const after = stepPoint(rule, s, pt("waterLevel", 3.1, T0 + 31 * MIN));
    expect(conditionOf(rule, after)).toBeNull();
    // Data for another key does not count.
    expect(conditionOf(rule, stepPoint(rule, s, pt("battery", 90, T0 + 31 * MIN)))).not.toBeNull();
  });

  it("a rule without a key counts any data; a device never heard from is not judged", () => {
    let s = initialState(anyKey);
    if (s.kind !== "nodata") throw new Error("kind");
    expect(conditionOf(anyKey, stepNodataCheck(anyKey, s, undefined, T0))).toBeNull();
    s = stepNodataCheck(anyKey, s, T0, T0 + 11 * MIN);
    expect(conditionOf(anyKey, s)?.severity).toBe("minor");
    expect(conditionOf(anyKey, stepPoint(anyKey, s, pt("battery", 90, T0 + 12 * MIN)))).toBeNull();
  });

  it("data it saw itself counts even when the caller's last-seen time is older", () => {
    let s = initialState(rule);
    s = stepPoint(rule, s, pt("waterLevel", 3, T0 + 20 * MIN));
    if (s.kind !== "nodata") throw new Error("kind");
    expect(conditionOf(rule, stepNodataCheck(rule, s, T0, T0 + 40 * MIN))).toBeNull();
  });
});
