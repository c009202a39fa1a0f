// The analytics engine behind GET /api/analytics: data elements and indicators (dx) × periods
// (pe) × organisation units (ou), each a dimension or a filter, answered from the raw values in
// one SQL pass per aggregation type. Periods aggregate every stored value lying inside them
// (months into quarters and years); units aggregate their whole subtree. Indicators divide the
// aggregated numerator by the aggregated denominator (never an average of ratios).
import type { Db } from "../core/db.ts";
import { badRequest } from "../core/errors.ts";
import { type Expr, evaluate } from "./expression.ts";
import { DEFAULT_COC, type Model, cocName, descendants, elementsOf } from "./model.ts";
import { type Period, PeriodError, expandPeriod, today } from "./periods.ts";
import type { Aggregation } from "./store.ts";

export interface AnalyticsQuery {
  dx: string[];
  pe: string[];
  ou: string[];
  /** Dimensions given as filters: aggregated over their items instead of spread in rows. */
  filter?: { pe?: string[]; ou?: string[] };
  /** Reference date for relative periods (tests); default today in Vietnam. */
  date?: string;
}

export interface AnalyticsResult {
  headers: Array<{ name: string; column: string; valueType: string }>;
  metaData: {
    items: Record<string, { name: string; nameEn: string }>;
    dimensions: { dx: string[]; pe: string[]; ou: string[] };
  };
  /** [dx, pe, ou, value] (pe or ou left out when it is a filter). */
  rows: Array<Array<string | number>>;
  width: number;
  height: number;
}

type DxItem =
  | { id: string; kind: "indicator"; expr: { num: Expr; den: Expr; factor: number; decimals: number } }
  | { id: string; kind: "element"; de: string; coc?: string };

interface Bucket {
  id: string;
  periods: Period[];
}

const MAX_CELLS = 200_000;

/** dx item → what it means: an indicator, an element, or element.disaggregation. */
export function resolveDx(m: Model, item: string): DxItem {
  const ind = m.indicators.get(item);
  if (ind) return { id: item, kind: "indicator", expr: { num: ind.num, den: ind.den, factor: ind.factor, decimals: ind.decimals } };
  if (m.elements.has(item)) return { id: item, kind: "element", de: item };
  const dot = item.lastIndexOf(".");
  if (dot > 0) {
    const de = item.slice(0, dot);
    const coc = item.slice(dot + 1);
    if (m.elements.has(de)) return { id: item, kind: "element", de, coc };
  }
  throw badRequest(`dx: "${item.slice(0, 100)}" is not an indicator, a data element or element.disaggregation`);
}

/** ou item → [label, units whose values count]. */
export function resolveOu(m: Model, item: string): Array<[string, string[]]> {
  if (/^LEVEL-\d$/.test(item)) {
    const level = Number(item.slice(6));
    if (level === 1 && m.root) return [[m.root, descendants(m, m.root)]];
    if (level === 2) return [...m.units.values()].filter((u) => u.kind === "commune").map((u) => [u.id, [u.id]]);
    throw badRequest(`ou: ${item}: levels are 1 (province) and 2 (communes)`);
  }
  if (item.startsWith("OU_GROUP-")) {
    const g = m.groups.get(item.slice(9));
    if (!g) throw badRequest(`ou: no organisation unit group "${item.slice(9, 80)}"`);
    return g.members.map((id) => [id, descendants(m, id)]);
  }
  if (!m.units.has(item)) throw badRequest(`ou: no organisation unit "${item.slice(0, 80)}"`);
  return [[item, descendants(m, item)]];
}

export function parsePeriods(items: string[], date?: string): Period[] {
  const out = new Map<string, Period>();
  for (const it of items) {
    try {
      for (const p of expandPeriod(it, date)) out.set(p.id, p);
    } catch (err) {
      if (err instanceof PeriodError) throw badRequest(`pe: ${err.message}`);
      throw err;
    }
  }
  return [...out.values()];
}

/**
 * Aggregated element values: key `${de}|${coc}|${bucket}|${ouLabel}` → value, plus per-element
 * totals over disaggregations under `${de}||${bucket}|${ouLabel}`.
 */
export async function elementValues(db: Db, m: Model, elements: string[], buckets: Bucket[], ous: Array<[string, string[]]>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (elements.length === 0 || buckets.length === 0 || ous.length === 0) return out;
  const byAgg = new Map<Aggregation, string[]>();
  for (const de of elements) {
    const agg = m.elements.get(de)?.aggregation ?? "sum";
    byAgg.set(agg, [...(byAgg.get(agg) ?? []), de]);
  }
  // The requested periods, sorted by start. When none overlap (the usual case: a list of months,
  // quarters or years), each value finds its period with width_bucket over the starts — one index
  // range scan, no join; otherwise (2024 and 2024Q2 asked together) a range join.
  const periods = buckets.flatMap((b) => b.periods.map((p) => ({ bucket: b.id, start: p.start, end: p.end }))).sort((a, b) => a.start.localeCompare(b.start));
  const disjoint = periods.every((p, k) => k === 0 || (periods[k - 1] as { end: string }).end < p.start);
  const minStart = periods[0]?.start as string;
  const maxEnd = periods
    .map((p) => p.end)
    .sort()
    .at(-1) as string;
  const oItem: string[] = [];
  const oLeaf: string[] = [];
  for (const [label, leaves] of ous)
    for (const leaf of leaves) {
      oItem.push(label);
      oLeaf.push(leaf);
    }
  // When every requested unit is the whole tree, no unit join is needed.
  const wholeTree = ous.length === 1 && m.root !== undefined && ous[0]?.[1].length === m.units.size;
  const params = [periods.map((p) => p.bucket), periods.map((p) => p.start), periods.map((p) => p.end)];
  const ouJoin = wholeTree ? "" : "JOIN unnest($7::text[], $8::text[]) AS o(item, leaf) ON v.ou = o.leaf";
  const ouCol = wholeTree ? "$7::text" : "o.item";
  const ouParams = wholeTree ? [ous[0]?.[0]] : [oItem, oLeaf];
  // $5, $6: the overall range, which bounds the (de, start_date) index scan in both forms.
  const range = "v.start_date >= $5::date AND v.start_date <= $6::date AND v.end_date <= $6::date";
  const from = disjoint
    ? `indicators.data_values v
       CROSS JOIN LATERAL (SELECT width_bucket(v.start_date, $2::date[]) AS k) w
       CROSS JOIN LATERAL (SELECT ($1::text[])[w.k] AS bucket, ($3::date[])[w.k] AS e) p`
    : `(SELECT * FROM unnest($1::text[], $2::date[], $3::date[]) AS t(bucket, s, e)) p
       JOIN indicators.data_values v ON v.start_date >= p.s AND v.start_date <= p.e AND v.end_date <= p.e`;
  const where = `v.de = ANY($4::text[]) AND v.num IS NOT NULL AND ${range}${disjoint ? " AND w.k > 0 AND v.end_date <= p.e" : ""}`;
  for (const [agg, des] of byAgg) {
    // A sum is one GROUP BY; average and last aggregate over time per unit first, then sum units.
    const sql =
      agg === "sum"
        ? `SELECT v.de, v.coc, p.bucket, ${ouCol} AS item, sum(v.num) AS value
           FROM ${from} ${ouJoin}
           WHERE ${where}
           GROUP BY v.de, v.coc, p.bucket, ${ouCol}`
        : `SELECT de, coc, bucket, item, sum(x) AS value FROM (
             SELECT v.de, v.coc, p.bucket, ${ouCol} AS item, v.ou,
                    ${agg === "average" ? "avg(v.num)" : "(array_agg(v.num ORDER BY v.start_date DESC))[1]"} AS x
             FROM ${from} ${ouJoin}
             WHERE ${where}
             GROUP BY v.de, v.coc, p.bucket, ${ouCol}, v.ou
           ) t GROUP BY de, coc, bucket, item`;
    const rows = await db.query<{ de: string; coc: string; bucket: string; item: string; value: number | string }>(sql, [
      ...params,
      des,
      minStart,
      maxEnd,
      ...ouParams,
    ]);
    for (const r of rows) {
      const v = Number(r.value);
      out.set(`${r.de}|${r.coc}|${r.bucket}|${r.item}`, v);
      const tk = `${r.de}||${r.bucket}|${r.item}`;
      out.set(tk, (out.get(tk) ?? 0) + v);
    }
  }
  return out;
}

const round = (v: number, d: number) => {
  const f = 10 ** d;
  return Math.round(v * f) / f;
};

/** Value of an indicator in one cell, from the aggregated element values. */
export function indicatorValue(
  m: Model,
  expr: { num: Expr; den: Expr; factor: number },
  lookup: (de: string, coc: string | undefined) => number | undefined,
  depth = 0,
): number | undefined {
  if (depth > 10) return undefined;
  const val = (op: { k: "de"; id: string; coc?: string } | { k: "ind"; id: string }): number | undefined => {
    if (op.k === "de") return lookup(op.id, op.coc);
    const nested = m.indicators.get(op.id);
    return nested ? indicatorValue(m, nested, lookup, depth + 1) : undefined;
  };
  const n = evaluate(expr.num, val);
  const d = evaluate(expr.den, val);
  if (n === undefined || d === undefined || d === 0) return undefined;
  return (n / d) * expr.factor;
}

export async function runAnalytics(db: Db, m: Model, q: AnalyticsQuery): Promise<AnalyticsResult> {
  if (q.dx.length === 0) throw badRequest("dx: give at least one indicator or data element");
  const dx = q.dx.map((d) => resolveDx(m, d));
  const date = q.date ?? today();
  const pes = parsePeriods(q.pe, date);
  const fpes = q.filter?.pe ? parsePeriods(q.filter.pe, date) : undefined;
  if (!fpes && pes.length === 0) throw badRequest("pe: give at least one period, as a dimension or a filter");
  const buckets: Bucket[] = fpes ? [{ id: "filter", periods: fpes }] : pes.map((p) => ({ id: p.id, periods: [p] }));
  let ous: Array<[string, string[]]>;
  const fous = q.filter?.ou;
  if (fous) {
    const leaves = new Set<string>();
    for (const it of fous) for (const [, l] of resolveOu(m, it)) for (const x of l) leaves.add(x);
    ous = [["filter", [...leaves]]];
  } else {
    if (q.ou.length === 0 && m.root) q.ou = [m.root];
    ous = q.ou.flatMap((it) => resolveOu(m, it));
    // The same unit named twice (82 and LEVEL-1) is one row.
    ous = [...new Map(ous.map((o) => [o[0], o])).values()];
  }
  if (dx.length * buckets.length * ous.length > MAX_CELLS)
    throw badRequest(`the query asks for ${dx.length * buckets.length * ous.length} cells; at most ${MAX_CELLS} (narrow dx, pe or ou)`);

  const needed = new Set<string>();
  for (const d of dx) {
    if (d.kind === "element") needed.add(d.de);
    else elementsOf(m, [d.expr.num, d.expr.den], needed);
  }
  const values = await elementValues(db, m, [...needed], buckets, ous);

  const rows: Array<Array<string | number>> = [];
  for (const d of dx)
    for (const b of buckets)
      for (const [ou] of ous) {
        const lookup = (de: string, coc: string | undefined) => values.get(`${de}|${coc ?? ""}|${b.id}|${ou}`);
        let v: number | undefined;
        if (d.kind === "element") v = lookup(d.de, d.coc);
        else {
          v = indicatorValue(m, d.expr, lookup);
          if (v !== undefined) v = round(v, d.expr.decimals);
        }
        if (v === undefined) continue;
        const row: Array<string | number> = [d.id];
        if (!fpes) row.push(b.id);
        if (!fous) row.push(ou);
        row.push(v);
        rows.push(row);
      }

  const items: Record<string, { name: string; nameEn: string }> = {};
  for (const d of dx) {
    if (d.kind === "indicator") {
      const i = m.indicators.get(d.id);
      items[d.id] = { name: i?.name ?? d.id, nameEn: i?.name_en ?? d.id };
    } else {
      const e = m.elements.get(d.de);
      const suffix = d.coc && d.coc !== DEFAULT_COC && e ? [cocName(m, e, d.coc), cocName(m, e, d.coc, true)] : null;
      items[d.id] = { name: `${e?.name ?? d.de}${suffix ? ` (${suffix[0]})` : ""}`, nameEn: `${e?.name_en ?? d.de}${suffix ? ` (${suffix[1]})` : ""}` };
    }
  }
  for (const b of buckets) if (b.id !== "filter") items[b.id] = { name: b.id, nameEn: b.id };
  for (const [ou] of ous) {
    const u = m.units.get(ou);
    if (u) items[ou] = { name: u.name, nameEn: u.name_en };
  }
  const headers = [{ name: "dx", column: "Data", valueType: "TEXT" }];
  if (!fpes) headers.push({ name: "pe", column: "Period", valueType: "TEXT" });
  if (!fous) headers.push({ name: "ou", column: "Organisation unit", valueType: "TEXT" });
  headers.push({ name: "value", column: "Value", valueType: "NUMBER" });
  return {
    headers,
    metaData: {
      items,
      dimensions: { dx: dx.map((d) => d.id), pe: fpes ? fpes.map((p) => p.id) : pes.map((p) => p.id), ou: fous ? (ous[0]?.[1] ?? []) : ous.map((o) => o[0]) },
    },
    rows,
    width: headers.length,
    height: rows.length,
  };
}
