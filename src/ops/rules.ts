// The rule state machines, pure: a rule's state and a point go in, the next state comes out, and
// conditionOf() says which alarm (if any) that state calls for. No database, no clock: time is
// the points' own timestamps (and `now` for silence), so every transition can be replayed.
import type { RuleSpec, Severity, TelemetryPoint } from "../iot/types.ts";

export type ThresholdRule = Extract<RuleSpec, { kind: "threshold" }>;
export type RateRule = Extract<RuleSpec, { kind: "rate" }>;
export type NodataRule = Extract<RuleSpec, { kind: "nodata" }>;

/** Ranks for comparing severities: a higher rank is worse. */
export const SEVERITY_RANK: Record<Severity, number> = { warning: 1, minor: 2, major: 3, critical: 4 };

// Floating-point slack, so 4.5 − 0.05 compares as 4.45 and a reading of exactly 4.0 reaches 4.0.
const EPS = 1e-9;

export interface ThresholdState {
  kind: "threshold";
  /** Index of the level held (−1: none), after hysteresis. */
  level: number;
  /** Per level: timestamp of the first point of the current unbroken run past it (for sustain). */
  since: Array<number | null>;
  lastTs: number | null;
  lastValue: number | null;
}

export interface RateState {
  kind: "rate";
  last: { ts: number; value: number } | null;
  /** Rate (per minute) between the last two points; null before there are two. */
  rate: number | null;
  active: boolean;
  lastValue: number | null;
}

export interface NodataState {
  kind: "nodata";
  silent: boolean;
  /** Last time data was seen for the rule's key (epoch ms), when known. */
  lastSeen: number | null;
}

export type RuleState = ThresholdState | RateState | NodataState;

/** What a rule's state calls for: an alarm at a severity (and a level, for thresholds), or nothing. */
export interface Condition {
  severity: Severity;
  /** Threshold: index into levels; other kinds: 0. */
  level: number;
  /** The limit the value is measured against, as stored with the alarm. */
  threshold: Record<string, unknown>;
  details: Record<string, unknown>;
}

export function initialState(rule: RuleSpec): RuleState {
  switch (rule.kind) {
    case "threshold":
      return { kind: "threshold", level: -1, since: rule.levels.map(() => null), lastTs: null, lastValue: null };
    case "rate":
      return { kind: "rate", last: null, rate: null, active: false, lastValue: null };
    case "nodata":
      return { kind: "nodata", silent: false, lastSeen: null };
  }
}

/** A state that matches a known alarm (after a restart, or an alarm changed by another node). */
export function stateForAlarm(rule: RuleSpec, level: number | null): RuleState {
  const s = initialState(rule);
  if (s.kind === "threshold") s.level = level === null ? -1 : Math.min(Math.max(level, 0), (rule as ThresholdRule).levels.length - 1);
  else if (s.kind === "rate") s.active = level !== null;
  else s.silent = level !== null;
  return s;
}

/** A numeric reading a threshold or rate rule may use: a finite number that is not a sensor fault. */
export function usableNumber(p: TelemetryPoint): number | null {
  return typeof p.value === "number" && Number.isFinite(p.value) && !p.outOfRange ? p.value : null;
}

/** Whether a point concerns the rule (its key; for a key-less nodata rule, any key). */
export function concerns(rule: RuleSpec, p: TelemetryPoint): boolean {
  return rule.key === undefined || rule.key === p.key;
}

// ---------- threshold

function past(rule: ThresholdRule, i: number, v: number, margin = 0): boolean {
  const limit = rule.levels[i].value;
  return rule.direction === "above" ? v >= limit - margin - EPS : v <= limit + margin + EPS;
}

/**
 * One point through a threshold rule. A level is entered when the value reaches it (and, with
 * sustainSeconds, has stayed past it that long by the points' timestamps); it is left only when
 * the value is past it by `hysteresis` in the safe direction. Older points than the last one
 * seen are history, not news, and change nothing.
 */
export function stepThreshold(rule: ThresholdRule, s: ThresholdState, p: TelemetryPoint): ThresholdState {
  const v = usableNumber(p);
  if (v === null || p.key !== rule.key || (s.lastTs !== null && p.ts < s.lastTs)) return s;
  const sustainMs = Math.max(0, rule.sustainSeconds ?? 0) * 1000;
  const hysteresis = Math.max(0, rule.hysteresis ?? 0);
  const since = rule.levels.map((_, i) => (past(rule, i, v) ? (s.since[i] ?? p.ts) : null));
  let entered = -1;
  for (let i = 0; i < rule.levels.length; i++) {
    const start = since[i];
    if (start !== null && p.ts - start >= sustainMs) entered = i;
  }
  let held = -1;
  for (let i = Math.min(s.level, rule.levels.length - 1); i >= 0; i--)
    if (past(rule, i, v, hysteresis)) {
      held = i;
      break;
    }
  return { kind: "threshold", level: Math.max(entered, held), since, lastTs: p.ts, lastValue: v };
}

function thresholdCondition(rule: ThresholdRule, s: ThresholdState): Condition | null {
  if (s.level < 0 || s.level >= rule.levels.length) return null;
  const lvl = rule.levels[s.level];
  return {
    severity: lvl.severity,
    level: s.level,
    threshold: {
      key: rule.key,
      direction: rule.direction,
      value: lvl.value,
      label: lvl.label ?? null,
      hysteresis: rule.hysteresis ?? 0,
      sustainSeconds: rule.sustainSeconds ?? 0,
    },
    details: { kind: "threshold", key: rule.key, level: s.level, label: lvl.label ?? null },
  };
}

// ---------- rate of change

/** One point through a rate rule: |Δvalue| / Δminutes between consecutive usable points. */
export function stepRate(rule: RateRule, s: RateState, p: TelemetryPoint): RateState {
  const v = usableNumber(p);
  if (v === null || p.key !== rule.key) return s;
  if (!s.last) return { ...s, last: { ts: p.ts, value: v }, lastValue: v };
  // Same or older timestamp: no interval to measure over.
  if (p.ts <= s.last.ts) return s;
  const rate = Math.abs(v - s.last.value) / ((p.ts - s.last.ts) / 60_000);
  return { kind: "rate", last: { ts: p.ts, value: v }, rate, active: rate > rule.maxChangePerMinute, lastValue: v };
}

function rateCondition(rule: RateRule, s: RateState): Condition | null {
  if (!s.active) return null;
  return {
    severity: rule.severity,
    level: 0,
    threshold: { key: rule.key, maxChangePerMinute: rule.maxChangePerMinute },
    details: { kind: "rate", key: rule.key, ratePerMinute: s.rate === null ? null : Math.round(s.rate * 1e6) / 1e6 },
  };
}

// ---------- no data

/** Data arrived for the rule's key: it is not silent any more. */
export function stepNodataPoint(rule: NodataRule, s: NodataState, p: TelemetryPoint): NodataState {
  if (!concerns(rule, p)) return s;
  return { kind: "nodata", silent: false, lastSeen: Math.max(s.lastSeen ?? p.ts, p.ts) };
}

/**
 * Silence check at `now`: silent when the last data is `minutes` old or older. A device never
 * heard from (lastSeen unknown) is not judged: pass its registration time to watch it from then.
 */
export function stepNodataCheck(rule: NodataRule, s: NodataState, lastSeen: number | undefined, now: number): NodataState {
  const seen = Math.max(lastSeen ?? Number.NEGATIVE_INFINITY, s.lastSeen ?? Number.NEGATIVE_INFINITY);
  if (!Number.isFinite(seen)) return s;
  return { kind: "nodata", silent: now - seen >= rule.minutes * 60_000, lastSeen: seen };
}

function nodataCondition(rule: NodataRule, s: NodataState): Condition | null {
  if (!s.silent) return null;
  return {
    severity: rule.severity,
    level: 0,
    threshold: { key: rule.key ?? null, minutes: rule.minutes },
    details: { kind: "nodata", key: rule.key ?? null, lastSeen: s.lastSeen === null ? null : new Date(s.lastSeen).toISOString() },
  };
}

// ---------- common

/** One point through any rule (silence is checked separately, by stepNodataCheck). */
export function stepPoint(rule: RuleSpec, s: RuleState, p: TelemetryPoint): RuleState {
  if (rule.kind === "threshold" && s.kind === "threshold") return stepThreshold(rule, s, p);
  if (rule.kind === "rate" && s.kind === "rate") return stepRate(rule, s, p);
  if (rule.kind === "nodata" && s.kind === "nodata") return stepNodataPoint(rule, s, p);
  return s;
}

export function conditionOf(rule: RuleSpec, s: RuleState): Condition | null {
  if (rule.kind === "threshold" && s.kind === "threshold") return thresholdCondition(rule, s);
  if (rule.kind === "rate" && s.kind === "rate") return rateCondition(rule, s);
  if (rule.kind === "nodata" && s.kind === "nodata") return nodataCondition(rule, s);
  return null;
}

/** The value an alarm shows for a state: the last reading (none for silence). */
export function readingOf(s: RuleState): number | null {
  return s.kind === "nodata" ? null : s.lastValue;
}

/** The default Vietnamese name of a rule's alarm when the rule has none. */
export function ruleName(rule: RuleSpec): string {
  if (rule.name) return rule.name;
  switch (rule.kind) {
    case "threshold":
      return `${rule.key} ${rule.direction === "above" ? "vượt ngưỡng" : "dưới ngưỡng"}`;
    case "rate":
      return `${rule.key} thay đổi quá nhanh`;
    case "nodata":
      return rule.key ? `Mất dữ liệu ${rule.key}` : "Thiết bị mất tín hiệu";
  }
}

/** What is wrong with a rule, for profile validation; empty when it is sound. */
export function ruleProblems(rule: RuleSpec): string[] {
  const out: string[] = [];
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(rule.id)) out.push("id: 1–64 characters, letters, digits, dot, dash, colon or underscore");
  const positive = (x: number | undefined, what: string, allowZero = true) => {
    if (x !== undefined && !(Number.isFinite(x) && (allowZero ? x >= 0 : x > 0)))
      out.push(`${what}: must be a ${allowZero ? "non-negative" : "positive"} number`);
  };
  switch (rule.kind) {
    case "threshold": {
      if (!rule.levels.length) out.push("levels: at least one level");
      for (let i = 1; i < rule.levels.length; i++) {
        const [a, b] = [rule.levels[i - 1], rule.levels[i]];
        if (rule.direction === "above" ? b.value <= a.value : b.value >= a.value)
          out.push(`levels: from mildest to most severe, each ${rule.direction === "above" ? "higher" : "lower"} than the one before`);
        if (SEVERITY_RANK[b.severity] < SEVERITY_RANK[a.severity]) out.push("levels: severities must not decrease");
      }
      if (rule.levels.some((l) => !Number.isFinite(l.value))) out.push("levels: values must be finite numbers");
      positive(rule.hysteresis, "hysteresis");
      positive(rule.sustainSeconds, "sustainSeconds");
      break;
    }
    case "rate":
      positive(rule.maxChangePerMinute, "maxChangePerMinute", false);
      break;
    case "nodata":
      positive(rule.minutes, "minutes", false);
      break;
  }
  return [...new Set(out)];
}

// ---------- built-in hydrology rule

/** Official flood alarm levels of a hydrological station (báo động 1/2/3), in metres. */
export interface FloodLevels {
  bd1: number;
  bd2: number;
  bd3: number;
}

/** Tân Châu station on the Tiền river (QĐ 05/2020/QĐ-TTg). */
export const TAN_CHAU_LEVELS: FloodLevels = { bd1: 3.5, bd2: 4.0, bd3: 4.5 };
/** Châu Đốc station on the Hậu river (QĐ 05/2020/QĐ-TTg). */
export const CHAU_DOC_LEVELS: FloodLevels = { bd1: 3.0, bd2: 3.5, bd3: 4.0 };

/** The flood rule from a station's official levels: BĐ1 minor, BĐ2 major, BĐ3 critical, 5 cm hysteresis. */
export function hydrologyRule(levels: FloodLevels, key = "waterLevel"): RuleSpec {
  return {
    id: "flood-level",
    kind: "threshold",
    name: "Mực nước vượt mức báo động lũ",
    key,
    direction: "above",
    levels: [
      { value: levels.bd1, severity: "minor", label: "Báo động 1 (BĐ1)" },
      { value: levels.bd2, severity: "major", label: "Báo động 2 (BĐ2)" },
      { value: levels.bd3, severity: "critical", label: "Báo động 3 (BĐ3)" },
    ],
    hysteresis: 0.05,
  };
}
