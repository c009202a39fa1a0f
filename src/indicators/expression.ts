// Expressions of indicators and validation rules, in DHIS2's syntax reduced to what Sen needs:
// numbers, + - * / and parentheses over data-element operands #{element} (all disaggregations
// summed) or #{element.disaggregation}, and other indicators N{indicator}. A hand-written
// recursive-descent parser: the grammar is five lines, a parser library would be larger.

export type Expr =
  | { k: "num"; v: number }
  | { k: "de"; id: string; coc?: string }
  | { k: "ind"; id: string }
  | { k: "neg"; e: Expr }
  | { k: "bin"; op: "+" | "-" | "*" | "/"; l: Expr; r: Expr };

export class ExpressionError extends Error {}

const MAX_LEN = 2000;

/**
 * Parse an expression. `elementIds` resolves #{a.b}: when "a.b" is itself an element it is that
 * element; otherwise the part after the last dot is a disaggregation (category option combo).
 */
export function parseExpression(src: string, isElement: (id: string) => boolean = () => false): Expr {
  if (src.length > MAX_LEN) throw new ExpressionError(`expression longer than ${MAX_LEN} characters`);
  let i = 0;
  const ws = () => {
    while (i < src.length && /\s/.test(src[i] as string)) i++;
  };
  const fail = (msg: string): never => {
    throw new ExpressionError(`${msg} at position ${i + 1} of "${src.slice(0, 80)}"`);
  };
  const ref = (): string => {
    if (src[i] !== "{") fail("expected {");
    const close = src.indexOf("}", i);
    if (close < 0) fail("missing }");
    const id = src.slice(i + 1, close).trim();
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(id)) fail(`bad reference "{${id.slice(0, 40)}}"`);
    i = close + 1;
    return id;
  };
  const primary = (): Expr => {
    ws();
    const c = src[i];
    if (c === "(") {
      i++;
      const e = sum();
      ws();
      if (src[i] !== ")") fail("expected )");
      i++;
      return e;
    }
    if (c === "-") {
      i++;
      return { k: "neg", e: primary() };
    }
    if (c === "+") {
      i++;
      return primary();
    }
    if (c === "#") {
      i++;
      const id = ref();
      if (isElement(id) || !id.includes(".")) return { k: "de", id };
      const dot = id.lastIndexOf(".");
      return { k: "de", id: id.slice(0, dot), coc: id.slice(dot + 1) };
    }
    if (c === "N") {
      i++;
      return { k: "ind", id: ref() };
    }
    const m = /^\d+(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(i));
    if (m) {
      i += m[0].length;
      return { k: "num", v: Number(m[0]) };
    }
    return fail(c === undefined ? "unexpected end" : `unexpected "${c}"`);
  };
  const product = (): Expr => {
    let l = primary();
    for (;;) {
      ws();
      const op = src[i];
      if (op !== "*" && op !== "/") return l;
      i++;
      l = { k: "bin", op, l, r: primary() };
    }
  };
  const sum = (): Expr => {
    let l = product();
    for (;;) {
      ws();
      const op = src[i];
      if (op !== "+" && op !== "-") return l;
      i++;
      l = { k: "bin", op, l, r: product() };
    }
  };
  const e = sum();
  ws();
  if (i < src.length) fail(`unexpected "${src[i]}"`);
  return e;
}

/** Every operand an expression names. */
export function operands(e: Expr, out: Array<Extract<Expr, { k: "de" | "ind" }>> = []): Array<Extract<Expr, { k: "de" | "ind" }>> {
  if (e.k === "de" || e.k === "ind") out.push(e);
  else if (e.k === "neg") operands(e.e, out);
  else if (e.k === "bin") {
    operands(e.l, out);
    operands(e.r, out);
  }
  return out;
}

/**
 * Evaluate. `value` gives an operand's value or undefined when there is none. Missing operands
 * count as 0, but when every operand is missing the result is undefined (no data, not zero), and
 * a division by zero is undefined too.
 */
export function evaluate(e: Expr, value: (op: Extract<Expr, { k: "de" | "ind" }>) => number | undefined): number | undefined {
  let seen = 0;
  let ops = 0;
  const ev = (x: Expr): number | undefined => {
    switch (x.k) {
      case "num":
        return x.v;
      case "de":
      case "ind": {
        ops++;
        const v = value(x);
        if (v === undefined) return 0;
        seen++;
        return v;
      }
      case "neg": {
        const v = ev(x.e);
        return v === undefined ? undefined : -v;
      }
      case "bin": {
        const l = ev(x.l);
        const r = ev(x.r);
        if (l === undefined || r === undefined) return undefined;
        if (x.op === "+") return l + r;
        if (x.op === "-") return l - r;
        if (x.op === "*") return l * r;
        return r === 0 ? undefined : l / r;
      }
    }
  };
  const v = ev(e);
  if (ops > 0 && seen === 0) return undefined;
  return v === undefined || !Number.isFinite(v) ? undefined : v;
}

export const OPERATORS = ["==", "!=", ">", ">=", "<", "<="] as const;
export type Operator = (typeof OPERATORS)[number];

/** Compare two sides of a validation rule (with a small tolerance for ==, != on decimals). */
export function compare(l: number, op: Operator, r: number): boolean {
  const eq = Math.abs(l - r) <= 1e-9 * Math.max(1, Math.abs(l), Math.abs(r));
  switch (op) {
    case "==":
      return eq;
    case "!=":
      return !eq;
    case ">":
      return l > r && !eq;
    case ">=":
      return l > r || eq;
    case "<":
      return l < r && !eq;
    case "<=":
      return l < r || eq;
  }
}
