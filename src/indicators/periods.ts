// ISO periods as DHIS2 names them (2025, 2025S2, 2025Q3, 202507, 2025W27, 20250715) and the
// relative periods dashboards ask for (THIS_YEAR, LAST_12_MONTHS, …). Dates are calendar dates
// ("YYYY-MM-DD"), computed in UTC arithmetic so no time zone can shift a day; "today" is the
// date in Asia/Ho_Chi_Minh.

export const PERIOD_TYPES = ["daily", "weekly", "monthly", "quarterly", "sixmonthly", "yearly"] as const;
export type PeriodType = (typeof PERIOD_TYPES)[number];

export interface Period {
  id: string;
  type: PeriodType;
  /** First day, inclusive (YYYY-MM-DD). */
  start: string;
  /** Last day, inclusive (YYYY-MM-DD). */
  end: string;
}

/** Finer types first: a period of a finer type can lie inside one of a coarser type. */
const RANK: Record<PeriodType, number> = { daily: 0, weekly: 1, monthly: 2, quarterly: 3, sixmonthly: 4, yearly: 5 };

const DAY = 86_400_000;
const pad = (n: number, w = 2) => String(n).padStart(w, "0");
const ymd = (t: number) => {
  const d = new Date(t);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
};
const utc = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d);
const lastDayOfMonth = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

/** Monday of ISO week 1 of an ISO week-year (the week holding 4 January). */
function isoWeek1(year: number): number {
  const jan4 = utc(year, 1, 4);
  const dow = (new Date(jan4).getUTCDay() + 6) % 7; // Monday = 0
  return jan4 - dow * DAY;
}
const weeksIn = (year: number) => Math.round((isoWeek1(year + 1) - isoWeek1(year)) / (7 * DAY));

export class PeriodError extends Error {}

/** Each ISO period form and how to build it from its match. */
const FORMS: Array<[RegExp, (m: RegExpExecArray, s: string) => Period]> = [
  [/^(\d{4})$/, (m, s) => ({ id: s, type: "yearly", start: `${year(m, s)}-01-01`, end: `${year(m, s)}-12-31` })],
  [
    /^(\d{4})S([12])$/,
    (m, s) => {
      const y = year(m, s);
      const h = Number(m[2]);
      return { id: s, type: "sixmonthly", start: ymd(utc(y, h === 1 ? 1 : 7, 1)), end: ymd(utc(y, h === 1 ? 6 : 12, h === 1 ? 30 : 31)) };
    },
  ],
  [
    /^(\d{4})Q([1-4])$/,
    (m, s) => {
      const y = year(m, s);
      const m0 = (Number(m[2]) - 1) * 3 + 1;
      return { id: s, type: "quarterly", start: ymd(utc(y, m0, 1)), end: ymd(utc(y, m0 + 2, lastDayOfMonth(y, m0 + 2))) };
    },
  ],
  [
    /^(\d{4})(0[1-9]|1[0-2])$/,
    (m, s) => {
      const y = year(m, s);
      const mo = Number(m[2]);
      return { id: s, type: "monthly", start: ymd(utc(y, mo, 1)), end: ymd(utc(y, mo, lastDayOfMonth(y, mo))) };
    },
  ],
  [
    /^(\d{4})W([1-9]|[1-4]\d|5[0-3])$/,
    (m, s) => {
      const y = year(m, s);
      const w = Number(m[2]);
      if (w > weeksIn(y)) throw new PeriodError(`"${s}": ${y} has only ${weeksIn(y)} ISO weeks`);
      const start = isoWeek1(y) + (w - 1) * 7 * DAY;
      return { id: `${y}W${w}`, type: "weekly", start: ymd(start), end: ymd(start + 6 * DAY) };
    },
  ],
  [
    /^(\d{4})(\d{2})(\d{2})$/,
    (m, s) => {
      const y = year(m, s);
      const mo = Number(m[2]);
      const d = Number(m[3]);
      if (mo < 1 || mo > 12 || d < 1 || d > lastDayOfMonth(y, mo)) throw new PeriodError(`"${s}" is not a calendar date`);
      return { id: s, type: "daily", start: `${m[1]}-${m[2]}-${m[3]}`, end: `${m[1]}-${m[2]}-${m[3]}` };
    },
  ],
];

/** Parse an ISO period id; throws PeriodError with a readable message when it is not one. */
export function parsePeriod(id: string): Period {
  const s = String(id).trim();
  for (const [re, build] of FORMS) {
    const m = re.exec(s);
    if (m) return build(m, s);
  }
  throw new PeriodError(`"${s.slice(0, 40)}" is not an ISO period (2025, 2025S1, 2025Q3, 202507, 2025W27, 20250715)`);
}

function year(m: RegExpExecArray, s: string): number {
  return checkYearNum(Number(m[1]), s);
}

function checkYearNum(y: number, s: string): number {
  if (y < 1900 || y > 2200) throw new PeriodError(`"${s}": year out of range 1900–2200`);
  return y;
}

export function isPeriod(id: string): boolean {
  try {
    parsePeriod(id);
    return true;
  } catch {
    return false;
  }
}

/** The period of a type holding a date (YYYY-MM-DD). */
export function periodOf(type: PeriodType, date: string): Period {
  const [y, mo, d] = date.split("-").map(Number) as [number, number, number];
  switch (type) {
    case "yearly":
      return parsePeriod(String(y));
    case "sixmonthly":
      return parsePeriod(`${y}S${mo <= 6 ? 1 : 2}`);
    case "quarterly":
      return parsePeriod(`${y}Q${Math.ceil(mo / 3)}`);
    case "monthly":
      return parsePeriod(`${y}${pad(mo)}`);
    case "daily":
      return parsePeriod(`${y}${pad(mo)}${pad(d)}`);
    case "weekly": {
      const t = utc(y, mo, d);
      let wy = y + 1;
      while (isoWeek1(wy) > t) wy--;
      return parsePeriod(`${wy}W${Math.floor((t - isoWeek1(wy)) / (7 * DAY)) + 1}`);
    }
  }
}

/** The period of the same type `n` steps later (negative: earlier). */
export function shift(p: Period, n: number): Period {
  if (n === 0) return p;
  switch (p.type) {
    case "daily":
      return periodOf("daily", ymd(Date.parse(`${p.start}T00:00:00Z`) + n * DAY));
    case "weekly":
      return periodOf("weekly", ymd(Date.parse(`${p.start}T00:00:00Z`) + n * 7 * DAY));
    default: {
      const months = { monthly: 1, quarterly: 3, sixmonthly: 6, yearly: 12 }[p.type];
      const [y, m] = p.start.split("-").map(Number) as [number, number];
      const idx = y * 12 + (m - 1) + n * months;
      return periodOf(p.type, `${Math.floor(idx / 12)}-${pad((idx % 12) + 1)}-01`);
    }
  }
}

/** Periods of `type` from the one holding `from` to the one holding `to` (dates), inclusive. */
export function periodsBetween(type: PeriodType, from: string, to: string): Period[] {
  const out: Period[] = [];
  for (let p = periodOf(type, from); p.start <= to; p = shift(p, 1)) {
    out.push(p);
    if (out.length > 10_000) throw new PeriodError("too many periods");
  }
  return out;
}

/** Whether `inner` lies inside `outer` (a period contains itself). */
export const within = (inner: Period, outer: Period) => inner.start >= outer.start && inner.end <= outer.end;

/** Whether data of type `finer` can be summed into periods of type `coarser` (weeks only into weeks and days). */
export function aggregatesInto(finer: PeriodType, coarser: PeriodType): boolean {
  if (finer === coarser) return true;
  if (coarser === "weekly") return finer === "daily";
  if (finer === "weekly") return false; // ISO weeks straddle months and years
  return RANK[finer] < RANK[coarser];
}

/** Today's date in Asia/Ho_Chi_Minh (UTC+7, no daylight saving). */
export function today(now: Date = new Date()): string {
  return ymd(now.getTime() + 7 * 3600_000);
}

export const RELATIVE_PERIODS = [
  "TODAY",
  "YESTERDAY",
  "THIS_WEEK",
  "LAST_WEEK",
  "LAST_4_WEEKS",
  "LAST_12_WEEKS",
  "LAST_52_WEEKS",
  "THIS_MONTH",
  "LAST_MONTH",
  "LAST_3_MONTHS",
  "LAST_6_MONTHS",
  "LAST_12_MONTHS",
  "MONTHS_THIS_YEAR",
  "THIS_QUARTER",
  "LAST_QUARTER",
  "LAST_4_QUARTERS",
  "QUARTERS_THIS_YEAR",
  "THIS_SIX_MONTH",
  "LAST_SIX_MONTH",
  "THIS_YEAR",
  "LAST_YEAR",
  "LAST_5_YEARS",
  "LAST_10_YEARS",
] as const;
export type RelativePeriod = (typeof RELATIVE_PERIODS)[number];

export const isRelative = (s: string): s is RelativePeriod => (RELATIVE_PERIODS as readonly string[]).includes(s);

/**
 * The ISO periods a relative period means on `date` (default today in Vietnam). As in DHIS2,
 * "LAST_n" periods end with the last complete period: LAST_12_MONTHS in July 2025 is 202407…202506.
 */
export function resolveRelative(rel: RelativePeriod, date: string = today()): Period[] {
  const last = (type: PeriodType, n: number) => {
    const cur = periodOf(type, date);
    return Array.from({ length: n }, (_, i) => shift(cur, i - n));
  };
  const year = date.slice(0, 4);
  switch (rel) {
    case "TODAY":
      return [periodOf("daily", date)];
    case "YESTERDAY":
      return last("daily", 1);
    case "THIS_WEEK":
      return [periodOf("weekly", date)];
    case "LAST_WEEK":
      return last("weekly", 1);
    case "LAST_4_WEEKS":
      return last("weekly", 4);
    case "LAST_12_WEEKS":
      return last("weekly", 12);
    case "LAST_52_WEEKS":
      return last("weekly", 52);
    case "THIS_MONTH":
      return [periodOf("monthly", date)];
    case "LAST_MONTH":
      return last("monthly", 1);
    case "LAST_3_MONTHS":
      return last("monthly", 3);
    case "LAST_6_MONTHS":
      return last("monthly", 6);
    case "LAST_12_MONTHS":
      return last("monthly", 12);
    case "MONTHS_THIS_YEAR":
      return periodsBetween("monthly", `${year}-01-01`, `${year}-12-31`);
    case "THIS_QUARTER":
      return [periodOf("quarterly", date)];
    case "LAST_QUARTER":
      return last("quarterly", 1);
    case "LAST_4_QUARTERS":
      return last("quarterly", 4);
    case "QUARTERS_THIS_YEAR":
      return periodsBetween("quarterly", `${year}-01-01`, `${year}-12-31`);
    case "THIS_SIX_MONTH":
      return [periodOf("sixmonthly", date)];
    case "LAST_SIX_MONTH":
      return last("sixmonthly", 1);
    case "THIS_YEAR":
      return [periodOf("yearly", date)];
    case "LAST_YEAR":
      return last("yearly", 1);
    case "LAST_5_YEARS":
      return last("yearly", 5);
    case "LAST_10_YEARS":
      return last("yearly", 10);
  }
}

/** A period id or a relative period → ISO periods. */
export function expandPeriod(item: string, date?: string): Period[] {
  return isRelative(item) ? resolveRelative(item, date) : [parsePeriod(item)];
}

/** A period's position on a time axis in fractional years (the middle of the period), for fits. */
export function periodMidYear(p: Period): number {
  const s = Date.parse(`${p.start}T00:00:00Z`);
  const e = Date.parse(`${p.end}T00:00:00Z`) + DAY;
  const mid = (s + e) / 2;
  const y = new Date(mid).getUTCFullYear();
  const y0 = Date.UTC(y, 0, 1);
  return y + (mid - y0) / (Date.UTC(y + 1, 0, 1) - y0);
}
