// The metadata in memory: organisation units as a tree with groups, categories, data elements,
// indicators (parsed), data sets and validation rules. Rebuilt from the database after every
// metadata change (metadata is small and read on every entry and analytics request).
import { type Expr, operands, parseExpression } from "./expression.ts";
import type { CategoryRow, DataSetRow, ElementRow, GroupRow, IndicatorRow, OrgUnitRow, RuleRow, TargetRow } from "./store.ts";

export const DEFAULT_COC = "default";

export interface Model {
  units: Map<string, OrgUnitRow>;
  children: Map<string, string[]>;
  root: string | undefined;
  groups: Map<string, GroupRow>;
  categories: Map<string, CategoryRow>;
  elements: Map<string, ElementRow>;
  indicators: Map<string, IndicatorRow & { num: Expr; den: Expr }>;
  dataSets: Map<string, DataSetRow>;
  rules: Map<string, RuleRow & { left: Expr; right: Expr }>;
  targets: TargetRow[];
  /** The unit whose data an agency's officers enter (commune committees enter their commune's). */
  unitOfAgency: Map<string, string>;
}

export function buildModel(rows: {
  units: OrgUnitRow[];
  groups: GroupRow[];
  categories: CategoryRow[];
  elements: ElementRow[];
  indicators: IndicatorRow[];
  dataSets: DataSetRow[];
  rules: RuleRow[];
  targets: TargetRow[];
}): Model {
  const units = new Map(rows.units.map((u) => [u.id, u]));
  const children = new Map<string, string[]>();
  let root: string | undefined;
  for (const u of rows.units) {
    if (u.parent) children.set(u.parent, [...(children.get(u.parent) ?? []), u.id]);
    else if (u.kind === "province") root = u.id;
  }
  const elements = new Map(rows.elements.map((e) => [e.id, e]));
  const isElement = (id: string) => elements.has(id);
  const indicators = new Map<string, IndicatorRow & { num: Expr; den: Expr }>();
  for (const i of rows.indicators) {
    try {
      indicators.set(i.id, { ...i, num: parseExpression(i.numerator, isElement), den: parseExpression(i.denominator, isElement) });
    } catch {
      // Stored expressions were checked when saved; a broken one (an element renamed) is skipped.
    }
  }
  const rules = new Map<string, RuleRow & { left: Expr; right: Expr }>();
  for (const r of rows.rules) {
    try {
      rules.set(r.id, { ...r, left: parseExpression(r.left_side, isElement), right: parseExpression(r.right_side, isElement) });
    } catch {}
  }
  const unitOfAgency = new Map<string, string>();
  for (const u of rows.units) if (u.agency_code) unitOfAgency.set(u.agency_code, u.id);
  return {
    units,
    children,
    root,
    groups: new Map(rows.groups.map((g) => [g.id, g])),
    categories: new Map(rows.categories.map((c) => [c.id, c])),
    elements,
    indicators,
    dataSets: new Map(rows.dataSets.map((d) => [d.id, d])),
    rules,
    targets: rows.targets,
    unitOfAgency,
  };
}

/** A unit and everything below it. */
export function descendants(m: Model, id: string): string[] {
  const out: string[] = [];
  const stack = [id];
  while (stack.length) {
    const u = stack.pop() as string;
    out.push(u);
    for (const c of m.children.get(u) ?? []) stack.push(c);
  }
  return out;
}

/** The disaggregations (category option combos) of an element: option codes joined by "_". */
export function cocsOf(m: Model, e: ElementRow): string[] {
  if (e.categories.length === 0) return [DEFAULT_COC];
  let combos: string[] = [""];
  for (const cid of e.categories) {
    const cat = m.categories.get(cid);
    if (!cat) continue;
    combos = combos.flatMap((p) => cat.options.map((o) => (p ? `${p}_${o.code}` : o.code)));
  }
  return combos;
}

/** Names of a disaggregation, e.g. "Nữ, 15–59". */
export function cocName(m: Model, e: ElementRow, coc: string, en = false): string {
  if (coc === DEFAULT_COC) return "";
  const parts = coc.split("_");
  return parts
    .map((code, i) => {
      const o = m.categories.get(e.categories[i] ?? "")?.options.find((x) => x.code === code);
      return o ? (en ? o.nameEn : o.name) : code;
    })
    .join(", ");
}

/** Indicators an indicator depends on, transitively (for cycle checks). */
export function indicatorDeps(m: Model, exprs: Expr[], seen = new Set<string>()): Set<string> {
  for (const e of exprs)
    for (const op of operands(e))
      if (op.k === "ind" && !seen.has(op.id)) {
        seen.add(op.id);
        const i = m.indicators.get(op.id);
        if (i) indicatorDeps(m, [i.num, i.den], seen);
      }
  return seen;
}

/** Data elements an expression needs, through nested indicators. */
export function elementsOf(m: Model, exprs: Expr[], out = new Set<string>(), seen = new Set<string>()): Set<string> {
  for (const e of exprs)
    for (const op of operands(e)) {
      if (op.k === "de") out.add(op.id);
      else if (!seen.has(op.id)) {
        seen.add(op.id);
        const i = m.indicators.get(op.id);
        if (i) elementsOf(m, [i.num, i.den], out, seen);
      }
    }
  return out;
}
