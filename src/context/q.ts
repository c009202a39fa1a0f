// The NGSI-LD query language (q, ETSI GS CIM 009 clause 4.9): a small recursive-descent parser
// producing an AST, a compiler from the AST to parameterised SQL over the stored entity (jsonb),
// and an evaluator of the same AST in TypeScript (subscriptions match changes without a query).
// User input never enters SQL text: names, paths and values all travel as parameters.
import { badRequestData } from "./errors.ts";

export type Lit = { t: "number"; v: number } | { t: "string"; v: string } | { t: "bool"; v: boolean } | { t: "datetime"; v: string } | { t: "uri"; v: string };
export type QValue = Lit | { t: "list"; items: Lit[] } | { t: "range"; from: Lit; to: Lit };
export type Op = "==" | "!=" | ">" | ">=" | "<" | "<=" | "~=" | "!~=";
export interface QPath {
  attr: string;
  /** Sub-attribute names after the attribute (a.b.c), or a member such as observedAt. */
  sub: string[];
  /** Keys inside the value (a[b][c]). */
  compound: string[];
}
export type QNode =
  | { kind: "and" | "or"; items: QNode[] }
  | { kind: "term"; path: QPath; op?: Op; value?: QValue; regex?: { source: string; caseInsensitive: boolean } };

export const MAX_Q_LENGTH = 4000;
const MAX_DEPTH = 16;
const MAX_TERMS = 100;
const MAX_LIST = 100;
export const MAX_REGEX_LENGTH = 200;
/** Members of an attribute instance that a path may name after the attribute (a.observedAt). */
export const MEMBERS = new Set(["observedAt", "createdAt", "modifiedAt", "unitCode", "datasetId"]);

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_:#/-]{0,255}/;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w:.-]*[A-Za-z:])/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![T\d])/;
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s;|()",[\]]+/;

const fail = (msg: string, pos?: number): never => {
  throw badRequestData(`Invalid q${pos === undefined ? "" : ` at position ${pos + 1}`}: ${msg}.`);
};

/** Nested quantifiers and quantified alternations backtrack catastrophically in backtracking engines. */
export function checkRegex(source: string): void {
  if (source.length > MAX_REGEX_LENGTH) throw badRequestData(`A regular expression may have at most ${MAX_REGEX_LENGTH} characters.`);
  // PostgreSQL's regex engine is a hybrid DFA/NFA (Spencer) and does not backtrack like V8's, but
  // subscriptions evaluate the same pattern in JavaScript; refusing the dangerous shapes keeps
  // both engines bounded: a quantified group that itself holds a quantifier or an alternation,
  // and huge counted repetitions.
  const stack: Array<{ risky: boolean }> = [];
  let lastGroupRisky = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") {
      i++;
      lastGroupRisky = false;
      continue;
    }
    if (c === "[") {
      const end = source.indexOf("]", i + 2);
      if (end < 0) throw badRequestData("The regular expression has an unclosed character class.");
      i = end;
      lastGroupRisky = false;
      continue;
    }
    if (c === "(") {
      stack.push({ risky: false });
      continue;
    }
    if (c === ")") {
      const g = stack.pop();
      if (!g) throw badRequestData("The regular expression has an unbalanced parenthesis.");
      lastGroupRisky = g.risky;
      if (stack.length && g.risky) stack[stack.length - 1].risky = true;
      continue;
    }
    const quant = c === "*" || c === "+" || c === "?" || c === "{";
    if (quant) {
      if (c === "{") {
        const m = /^\{(\d+)(?:,(\d*))?\}/.exec(source.slice(i));
        if (m && Number(m[2] || m[1]) > 1000) throw badRequestData("Counted repetitions in a regular expression are limited to 1000.");
      }
      if (lastGroupRisky && c !== "?")
        throw badRequestData("The regular expression repeats a group that holds a repetition or an alternation (catastrophic backtracking); refused.");
      if (stack.length && c !== "?") stack[stack.length - 1].risky = true;
      lastGroupRisky = false;
      continue;
    }
    if (c === "|" && stack.length) stack[stack.length - 1].risky = true;
    lastGroupRisky = false;
  }
  if (stack.length) throw badRequestData("The regular expression has an unbalanced parenthesis.");
  try {
    new RegExp(source);
  } catch {
    throw badRequestData("The regular expression is not valid.");
  }
}

export function normalizeDateTime(s: string): string | undefined {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function parseQ(input: string): QNode {
  if (typeof input !== "string") fail("not a string");
  if (input.length > MAX_Q_LENGTH) fail(`longer than ${MAX_Q_LENGTH} characters`);
  let pos = 0;
  let terms = 0;
  const s = input;
  const peek = () => s[pos];

  function orExpr(depth: number): QNode {
    const items = [andExpr(depth)];
    while (peek() === "|") {
      pos++;
      items.push(andExpr(depth));
    }
    return items.length === 1 ? items[0] : { kind: "or", items };
  }
  function andExpr(depth: number): QNode {
    const items = [primary(depth)];
    while (peek() === ";") {
      pos++;
      items.push(primary(depth));
    }
    return items.length === 1 ? items[0] : { kind: "and", items };
  }
  function primary(depth: number): QNode {
    if (peek() === "(") {
      if (depth >= MAX_DEPTH) fail(`parentheses nest deeper than ${MAX_DEPTH}`, pos);
      pos++;
      const node = orExpr(depth + 1);
      if (peek() !== ")") fail("expected )", pos);
      pos++;
      return node;
    }
    return term();
  }
  function name(): string {
    const m = NAME.exec(s.slice(pos, pos + 300));
    if (!m) return fail("expected an attribute name", pos);
    // A name ends before "..", so "a..b" never appears inside a name; ":" is kept (prefixed names).
    pos += m[0].length;
    return m[0];
  }
  function term(): QNode {
    if (++terms > MAX_TERMS) fail(`more than ${MAX_TERMS} terms`);
    const path: QPath = { attr: name(), sub: [], compound: [] };
    while (peek() === ".") {
      pos++;
      path.sub.push(name());
    }
    while (peek() === "[") {
      pos++;
      path.compound.push(name());
      if (peek() !== "]") fail("expected ]", pos);
      pos++;
    }
    const rest = s.slice(pos, pos + 3);
    const op = (["!~=", "==", "!=", ">=", "<=", "~=", ">", "<"] as Op[]).find((o) => rest.startsWith(o));
    if (!op) {
      if (pos < s.length && !";|)".includes(peek())) fail("expected an operator, ; | or )", pos);
      return { kind: "term", path };
    }
    pos += op.length;
    if (op === "~=" || op === "!~=") {
      const lit = literal();
      if (lit.t !== "string") fail("a regular expression must be a quoted string", pos);
      let source = (lit as { v: string }).v;
      const caseInsensitive = source.startsWith("(?i)");
      if (caseInsensitive) source = source.slice(4);
      checkRegex(source);
      return { kind: "term", path, op, regex: { source, caseInsensitive } };
    }
    const first = literal();
    let value: QValue = first;
    if (s.startsWith("..", pos)) {
      pos += 2;
      const to = literal();
      if (first.t !== to.t || first.t === "bool" || first.t === "uri") fail("a range needs two numbers, two strings or two dates of the same kind", pos);
      if (op !== "==" && op !== "!=") fail("a range goes with == or !=", pos);
      value = { t: "range", from: first, to };
    } else if (peek() === ",") {
      const items = [first];
      while (peek() === ",") {
        pos++;
        items.push(literal());
        if (items.length > MAX_LIST) fail(`a value list has more than ${MAX_LIST} values`, pos);
      }
      if (op !== "==" && op !== "!=") fail("a value list goes with == or !=", pos);
      value = { t: "list", items };
    } else if (op !== "==" && op !== "!=" && (first.t === "bool" || first.t === "uri")) fail(`${op} needs a number, a string or a date`, pos);
    if (pos < s.length && !";|)".includes(peek())) fail("unexpected characters after the value", pos);
    return { kind: "term", path, op, value };
  }
  function literal(): Lit {
    const rest = s.slice(pos, pos + 1200);
    if (rest[0] === '"') {
      let out = "";
      let i = 1;
      for (; i < rest.length && rest[i] !== '"'; i++) {
        if (rest[i] === "\\" && i + 1 < rest.length) i++;
        out += rest[i];
      }
      if (rest[i] !== '"') fail("unterminated string (strings are limited to 1000 characters)", pos);
      pos += i + 1;
      return { t: "string", v: out };
    }
    let m = DATETIME.exec(rest);
    if (m) {
      const v = normalizeDateTime(m[0]);
      if (!v) fail("invalid date-time", pos);
      pos += m[0].length;
      return { t: "datetime", v: v as string };
    }
    m = DATE.exec(rest);
    if (m) {
      pos += m[0].length;
      return { t: "string", v: m[0] };
    }
    m = NUMBER.exec(rest);
    if (m) {
      const v = Number(m[0]);
      if (!Number.isFinite(v)) fail("number out of range", pos);
      pos += m[0].length;
      return { t: "number", v };
    }
    if (/^(true|false)(?![\w:])/.test(rest)) {
      const v = rest.startsWith("true");
      pos += v ? 4 : 5;
      return { t: "bool", v };
    }
    m = URI.exec(rest);
    if (m) {
      // A URI runs up to the next separator; "a..b" ranges of URIs are not a thing.
      const v = m[0].replace(/\.\..*$/, "");
      pos += v.length;
      return { t: "uri", v };
    }
    return fail("expected a value (number, quoted string, true/false, date-time or URI)", pos);
  }

  if (!s.length) fail("empty");
  const node = orExpr(0);
  if (pos !== s.length) fail("unexpected character", pos);
  return node;
}

/** Every attribute name (as written) the query uses. */
export function qAttributes(node: QNode, out = new Set<string>()): Set<string> {
  if (node.kind === "term") out.add(node.path.attr);
  else for (const n of node.items) qAttributes(n, out);
  return out;
}

// ---------------------------------------------------------------- SQL

export interface SqlBuilder {
  params: unknown[];
  /** Add a parameter, returning its placeholder. */
  p(v: unknown): string;
}

export function sqlBuilder(params: unknown[] = []): SqlBuilder {
  return {
    params,
    p(v: unknown) {
      params.push(v);
      return `$${params.length}`;
    },
  };
}

const litJson = (l: Lit) => JSON.stringify(l.v);

/**
 * Compile to a boolean SQL expression over `col` (the jsonb of attributes: IRI → instances).
 * `expand` turns names into IRIs with the request's @context.
 */
export function compileQ(node: QNode, b: SqlBuilder, expand: (name: string) => string, col = "e.attrs"): string {
  if (node.kind !== "term") return `(${node.items.map((n) => compileQ(n, b, expand, col)).join(node.kind === "and" ? " AND " : " OR ")})`;
  const { path } = node;
  const attr = b.p(expand(path.attr));
  if (!node.op && !path.sub.length && !path.compound.length) return `(${col} ? ${attr})`;
  // The target node inside one instance i, then the value it holds.
  let target = "i";
  let member = false;
  path.sub.forEach((s, k) => {
    if (k === path.sub.length - 1 && MEMBERS.has(s)) {
      target = `${target}->${b.p(s)}`;
      member = true;
    } else target = `${target}->${b.p(expand(s))}`;
  });
  let v = member ? target : `COALESCE(${target}->'value', ${target}->'object', ${target}->'languageMap')`;
  if (path.compound.length) v = `(${v} #> ${b.p(path.compound)}::text[])`;
  const pred = node.op ? predicate(node, v, b) : `${v} IS NOT NULL`;
  return `EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${col}->${attr}) = 'array' THEN ${col}->${attr} ELSE '[]'::jsonb END) i WHERE ${pred})`;
}

function predicate(node: Extract<QNode, { kind: "term" }>, v: string, b: SqlBuilder): string {
  const txt = `(CASE WHEN jsonb_typeof(${v}) = 'string' THEN ${v} #>> '{}' WHEN jsonb_typeof(${v}) = 'object' THEN ${v}->>'@value' END)`;
  if (node.regex) {
    const m = `${txt} ${node.regex.caseInsensitive ? "~*" : "~"} ${b.p(node.regex.source)}`;
    return node.op === "~=" ? `(${m})` : `(${txt} IS NOT NULL AND NOT (${m}))`;
  }
  const value = node.value as QValue;
  const eq = (l: Lit) => {
    if (l.t === "datetime") return `COALESCE(${txt} = ${b.p(l.v)}, false)`;
    return `(${v} = ${b.p(litJson(l))}::jsonb OR (jsonb_typeof(${v}) = 'array' AND ${v} @> ${b.p(`[${litJson(l)}]`)}::jsonb))`;
  };
  const cmp = (l: Lit, op: string) => {
    if (l.t === "number") return `(jsonb_typeof(${v}) = 'number' AND ${v} ${op} ${b.p(litJson(l))}::jsonb)`;
    return `(${txt} COLLATE "C" ${op} ${b.p(l.v)}::text)`;
  };
  let expr: string;
  if (value.t === "list") expr = `(${value.items.map(eq).join(" OR ")})`;
  else if (value.t === "range") expr = `(${cmp(value.from, ">=")} AND ${cmp(value.to, "<=")})`;
  else if (node.op === "==" || node.op === "!=") expr = eq(value);
  else return cmp(value, node.op as string);
  return node.op === "!=" ? `(${v} IS NOT NULL AND NOT ${expr})` : expr;
}

// ---------------------------------------------------------------- evaluation in TypeScript

type Json = unknown;
type Instance = Record<string, Json>;

function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as Json[]).length && a.every((x, i) => jsonEqual(x, (b as Json[])[i]));
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b as object, k) && jsonEqual((a as Instance)[k], (b as Instance)[k]));
}

const textOf = (v: Json): string | undefined =>
  typeof v === "string"
    ? v
    : v && typeof v === "object" && !Array.isArray(v) && typeof (v as Instance)["@value"] === "string"
      ? ((v as Instance)["@value"] as string)
      : undefined;

const regexCache = new Map<string, RegExp>();
function regex(source: string, ci: boolean): RegExp {
  const key = `${ci ? "i" : ""}/${source}`;
  let r = regexCache.get(key);
  if (!r) {
    r = new RegExp(source, ci ? "i" : "");
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(key, r);
  }
  return r;
}

/** Does a stored entity's attributes (IRI → instances) satisfy the query? Same rules as compileQ. */
export function evalQ(node: QNode, attrs: Record<string, Json>, expand: (name: string) => string): boolean {
  if (node.kind === "term") return evalTerm(node, attrs, expand);
  return node.kind === "and" ? node.items.every((n) => evalQ(n, attrs, expand)) : node.items.some((n) => evalQ(n, attrs, expand));
}

function evalTerm(node: Extract<QNode, { kind: "term" }>, attrs: Record<string, Json>, expand: (name: string) => string): boolean {
  const { path } = node;
  const list = attrs[expand(path.attr)];
  if (!node.op && !path.sub.length && !path.compound.length) return list !== undefined;
  if (!Array.isArray(list)) return false;
  return list.some((inst) => {
    let target: Json = inst;
    let member = false;
    path.sub.forEach((s: string, k: number) => {
      member = k === path.sub.length - 1 && MEMBERS.has(s);
      const key = member ? s : expand(s);
      target = target && typeof target === "object" && !Array.isArray(target) ? (target as Instance)[key] : undefined;
    });
    let v: Json = member
      ? target
      : target && typeof target === "object" && !Array.isArray(target)
        ? ((target as Instance).value ?? (target as Instance).object ?? (target as Instance).languageMap)
        : undefined;
    for (const k of path.compound) v = v && typeof v === "object" && !Array.isArray(v) ? (v as Instance)[k] : undefined;
    if (v === undefined || v === null) return false;
    if (!node.op) return true;
    if (node.regex) {
      const t = textOf(v);
      if (t === undefined) return false;
      const hit = regex(node.regex.source, node.regex.caseInsensitive).test(t);
      return node.op === "~=" ? hit : !hit;
    }
    const value = node.value as QValue;
    const eq = (l: Lit) => (l.t === "datetime" ? textOf(v) === l.v : jsonEqual(v, l.v) || (Array.isArray(v) && v.some((x) => jsonEqual(x, l.v))));
    const cmp = (l: Lit, op: string) => {
      let a: number | string | undefined;
      if (l.t === "number") a = typeof v === "number" ? v : undefined;
      else a = textOf(v);
      if (a === undefined) return false;
      const x = l.v as number | string;
      return op === ">" ? a > x : op === ">=" ? a >= x : op === "<" ? a < x : a <= x;
    };
    let r: boolean;
    if (value.t === "list") r = value.items.some(eq);
    else if (value.t === "range") r = cmp(value.from, ">=") && cmp(value.to, "<=");
    else if (node.op === "==" || node.op === "!=") r = eq(value);
    else return cmp(value, node.op as string);
    return node.op === "!=" ? !r : r;
  });
}
