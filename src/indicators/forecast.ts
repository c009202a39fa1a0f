// Where a target is heading at the present pace: two fits of its series, a forecast with an 80%
// interval at the goal's deadline, the time the goal would be met, and a status. Pure functions;
// docs/indicators.md explains the method.
//
// - Linear: ordinary least squares of value on time (years). Prediction interval from the
//   t-distribution with n-2 degrees of freedom.
// - Holt (exponential smoothing with a trend, ETS(A,A,N)): level and trend updated each period;
//   α and β chosen on a grid by the smallest sum of squared one-step errors. Interval from the
//   one-step error variance: var(h) = σ²·(1 + Σ_{j=1}^{h-1} (α + αβ·j)²).
// - The forecast used for the status is Holt's with 4 or more points, linear with 2–3, none with 1.

export interface Point {
  /** Time in years (e.g. the end of the period: 2025 yearly value → 2026.0). */
  t: number;
  v: number;
}

export interface Fit {
  method: "linear" | "holt";
  /** Value forecast at the deadline, with an 80% interval. */
  at: number;
  value: number;
  low: number;
  high: number;
  /** Change per year at the present pace. */
  slopePerYear: number;
  /** When the goal is reached at this pace (years), or null when the pace never reaches it. */
  reachesAt: number | null;
}

export type Status = "met" | "on_track" | "at_risk" | "off_track" | "no_data";

export interface Assessment {
  status: Status;
  latest: Point | null;
  linear: Fit | null;
  holt: Fit | null;
  /** The fit the status is based on. */
  forecast: Fit | null;
}

// Two-sided 80% t quantiles (0.9) by degrees of freedom; beyond 30, the normal value.
const T90 = [0, 3.078, 1.886, 1.638, 1.533, 1.476, 1.44, 1.415, 1.397, 1.383, 1.372, 1.363, 1.356, 1.35, 1.345, 1.341, 1.337, 1.333, 1.33, 1.328, 1.325];
const t90 = (df: number) => (df <= 0 ? Number.NaN : df < T90.length ? (T90[df] as number) : df <= 30 ? 1.31 : 1.2816);

export function linearFit(points: Point[], at: number, goal?: number): Fit | null {
  const n = points.length;
  if (n < 2) return null;
  const tbar = points.reduce((s, p) => s + p.t, 0) / n;
  const vbar = points.reduce((s, p) => s + p.v, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.t - tbar) ** 2;
    sxy += (p.t - tbar) * (p.v - vbar);
  }
  if (sxx === 0) return null;
  const b = sxy / sxx;
  const a = vbar - b * tbar;
  const sse = points.reduce((s, p) => s + (p.v - (a + b * p.t)) ** 2, 0);
  const s = n > 2 ? Math.sqrt(sse / (n - 2)) : 0;
  const se = s * Math.sqrt(1 + 1 / n + (at - tbar) ** 2 / sxx);
  const value = a + b * at;
  const half = n > 2 ? t90(n - 2) * se : Math.abs(b) * Math.abs(at - points[n - 1]!.t) * 0.5;
  let reachesAt: number | null = null;
  if (goal !== undefined && b !== 0) {
    const t = (goal - a) / b;
    const last = points[n - 1]!;
    const needUp = goal > last.v;
    if ((needUp && b > 0) || (!needUp && b < 0) || goal === last.v) reachesAt = Math.max(t, last.t);
  }
  return { method: "linear", at, value, low: value - half, high: value + half, slopePerYear: b, reachesAt };
}

function holtRun(v: number[], alpha: number, beta: number): { level: number; trend: number; sse: number } {
  let level = v[0]!;
  let trend = v[1]! - v[0]!;
  let sse = 0;
  for (let i = 1; i < v.length; i++) {
    const pred = level + trend;
    const err = v[i]! - pred;
    sse += err * err;
    const prevLevel = level;
    level = pred + alpha * err;
    trend = trend + beta * (level - prevLevel - trend);
  }
  return { level, trend, sse };
}

/** Holt's linear method on a regular series (`step` years apart). */
export function holtFit(points: Point[], at: number, goal?: number): Fit | null {
  const n = points.length;
  if (n < 3) return null;
  const v = points.map((p) => p.v);
  const step = (points[n - 1]!.t - points[0]!.t) / (n - 1);
  if (!(step > 0)) return null;
  let best = { alpha: 0.5, beta: 0.1, level: 0, trend: 0, sse: Number.POSITIVE_INFINITY };
  for (let a = 0.05; a <= 1.0001; a += 0.05)
    for (let b = 0.0; b <= 1.0001; b += 0.05) {
      const r = holtRun(v, a, b);
      if (r.sse < best.sse - 1e-12) best = { alpha: a, beta: b, ...r };
    }
  const last = points[n - 1]!;
  const h = Math.max(0, (at - last.t) / step);
  const value = best.level + best.trend * h;
  const sigma2 = best.sse / Math.max(1, n - 1 - 2);
  let sum = 1;
  for (let j = 1; j < Math.ceil(h); j++) sum += (best.alpha + best.alpha * best.beta * j) ** 2;
  const half = 1.2816 * Math.sqrt(sigma2 * sum);
  let reachesAt: number | null = null;
  if (goal !== undefined) {
    const needUp = goal > best.level;
    if (goal === best.level) reachesAt = last.t;
    else if ((needUp && best.trend > 0) || (!needUp && best.trend < 0)) reachesAt = last.t + ((goal - best.level) / best.trend) * step;
  }
  return { method: "holt", at, value, low: value - half, high: value + half, slopePerYear: best.trend / step, reachesAt };
}

export interface GoalSpec {
  /** The value to reach (for a range, its lower bound). */
  value: number;
  /** Reach (≥) or stay below (≤). */
  direction: "increase" | "decrease";
  /** Deadline in years (end of the goal year: 2025 → 2026.0). */
  deadline: number;
}

const reached = (v: number, g: GoalSpec) => (g.direction === "increase" ? v >= g.value - 1e-9 : v <= g.value + 1e-9);

/**
 * Status of a series against a goal at time `now` (years):
 * met — the latest value meets the goal; on track — the forecast at the deadline meets it;
 * at risk — only the optimistic end of the 80% interval does; off track — not even that, or the
 * deadline has passed unmet.
 */
export function assess(series: Point[], goal: GoalSpec, now: number): Assessment {
  const pts = [...series].sort((a, b) => a.t - b.t);
  const latest = pts[pts.length - 1] ?? null;
  // A goal already due is forecast a year past the latest value (when will it be met?).
  const at = latest && latest.t >= goal.deadline ? latest.t + 1 : goal.deadline;
  const linear = linearFit(pts, at, goal.value);
  const holt = holtFit(pts, at, goal.value);
  const forecast = pts.length >= 4 ? holt : linear;
  if (!latest) return { status: "no_data", latest, linear, holt, forecast };
  if (reached(latest.v, goal)) return { status: "met", latest, linear, holt, forecast };
  if (now >= goal.deadline) return { status: "off_track", latest, linear, holt, forecast };
  if (!forecast) return { status: "at_risk", latest, linear, holt, forecast };
  const optimistic = goal.direction === "increase" ? forecast.high : forecast.low;
  const status: Status = reached(forecast.value, goal) ? "on_track" : reached(optimistic, goal) ? "at_risk" : "off_track";
  return { status, latest, linear, holt, forecast };
}
