// JSON-LD @context handling, reduced to what NGSI-LD needs: expanding the short names of entity
// types and attributes to IRIs on the way in, compacting them on the way out. A context is
// resolved from the built-in core context, inline objects and URLs registered in Sen
// (/jsonldContexts) — never fetched from the network at request time: the province's network
// may be closed, and a request must not make Sen call an address a stranger chose (SSRF).
import { readFileSync } from "node:fs";
import { badRequestData, contextNotAvailable } from "./errors.ts";

export const CORE_CONTEXT_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld";
const CORE_URL = /^https?:\/\/uri\.etsi\.org\/ngsi-ld\/v1\/ngsi-ld-core-context(-v1\.\d+)?\.jsonld$/;
export const isCoreUrl = (url: string) => CORE_URL.test(url);

const CORE_DOC = JSON.parse(readFileSync(new URL("./core-context.json", import.meta.url), "utf8")) as { "@context": Record<string, string> };
const KEYWORDS = new Set(["@id", "@type"]);
/** Nested @context references deeper than this are refused (a loop, or a hostile document). */
const MAX_DEPTH = 8;
/** Terms in one resolved context. */
const MAX_TERMS = 5000;

export interface ActiveContext {
  /** term → IRI */
  terms: Map<string, string>;
  /** IRI → term, for compaction */
  reverse: Map<string, string>;
  vocab: string;
  /** What the client gave (URLs and inline objects), to echo in ld+json answers. */
  source: unknown[];
  /** The URL to put in a Link header (the first URL given, else the core context). */
  linkUrl: string;
}

/** Looks a URL up among the contexts registered in Sen (hosted or cached). */
export type ContextLookup = (url: string) => unknown | undefined;

function applyDefinitions(terms: Map<string, string>, defs: Record<string, unknown>, state: { vocab: string }) {
  const expandValue = (v: string) => {
    if (KEYWORDS.has(v)) return v;
    const i = v.indexOf(":");
    if (i > 0) {
      const prefix = terms.get(v.slice(0, i));
      if (prefix && !v.startsWith("//", i + 1)) return prefix + v.slice(i + 1);
      return v;
    }
    return state.vocab + v;
  };
  for (const [k, v] of Object.entries(defs)) {
    if (k === "@vocab") {
      if (typeof v === "string") state.vocab = expandValue(v);
      continue;
    }
    if (k.startsWith("@")) continue; // @version, @protected, @language, @base: no effect on names
    if (v === null) terms.delete(k);
    else if (typeof v === "string") terms.set(k, expandValue(v));
    else if (v && typeof v === "object" && typeof (v as { "@id"?: unknown })["@id"] === "string") terms.set(k, expandValue((v as { "@id": string })["@id"]));
    else if (v && typeof v === "object")
      continue; // a definition with only @type/@container: the term keeps its default IRI
    else throw badRequestData(`The @context definition of "${k}" is not a string, an object or null.`);
    if (terms.size > MAX_TERMS) throw badRequestData(`A @context may define at most ${MAX_TERMS} terms.`);
  }
}

const coreTerms = new Map<string, string>();
const coreState = { vocab: "" };
applyDefinitions(coreTerms, CORE_DOC["@context"], coreState);
export const DEFAULT_VOCAB = coreState.vocab;

function build(terms: Map<string, string>, vocab: string, source: unknown[], linkUrl: string): ActiveContext {
  const reverse = new Map<string, string>();
  for (const [k, v] of terms) if (!k.startsWith("@") && !reverse.has(v) && !KEYWORDS.has(v)) reverse.set(v, k);
  return { terms, reverse, vocab, source, linkUrl };
}

export const CORE: ActiveContext = build(coreTerms, coreState.vocab, [], CORE_CONTEXT_URL);

/**
 * Resolve a @context (a URL, an inline object, or a list of them). Unknown URLs fail with
 * LdContextNotAvailable: Sen does not fetch them, and says how to make them known.
 */
export function resolveContext(raw: unknown, lookup: ContextLookup): ActiveContext {
  if (raw === undefined || raw === null) return CORE;
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) return CORE;
  const terms = new Map(coreTerms);
  const state = { vocab: coreState.vocab };
  let linkUrl: string | undefined;
  const visit = (item: unknown, depth: number) => {
    if (depth > MAX_DEPTH) throw badRequestData(`@context references nest deeper than ${MAX_DEPTH} levels.`);
    if (Array.isArray(item)) {
      for (const x of item) visit(x, depth + 1);
      return;
    }
    if (typeof item === "string") {
      if (depth === 0) linkUrl ??= item;
      if (isCoreUrl(item)) return;
      let url: URL;
      try {
        url = new URL(item);
      } catch {
        throw badRequestData(`@context entry "${item.slice(0, 200)}" is not an absolute URL.`);
      }
      const doc = lookup(url.toString()) ?? lookup(item);
      if (doc === undefined)
        throw contextNotAvailable(
          `The @context ${item.slice(0, 300)} is not known to Sen. Sen never fetches remote contexts at request time; give the context inline, or register its content with POST /ngsi-ld/v1/jsonldContexts?url=<the URL>.`,
        );
      const inner = (doc as { "@context"?: unknown })["@context"];
      if (inner === undefined) throw badRequestData(`The registered @context ${item.slice(0, 300)} has no "@context" member.`);
      visit(inner, depth + 1);
      return;
    }
    if (item && typeof item === "object") {
      applyDefinitions(terms, item as Record<string, unknown>, state);
      return;
    }
    throw badRequestData("Each @context entry must be a URL or an object.");
  };
  for (const item of list) visit(item, 0);
  // The core context comes last and cannot be overridden (NGSI-LD clause 5.5.7).
  for (const [k, v] of coreTerms) if (!k.startsWith("@")) terms.set(k, v);
  return build(terms, state.vocab, list, linkUrl ?? CORE_CONTEXT_URL);
}

/** Expand a short name (attribute, entity type) to its IRI. */
export function expand(ctx: ActiveContext, term: string): string {
  const hit = ctx.terms.get(term);
  if (hit !== undefined && !KEYWORDS.has(hit)) return hit;
  const i = term.indexOf(":");
  if (i > 0) {
    const prefix = ctx.terms.get(term.slice(0, i));
    if (prefix && !term.startsWith("//", i + 1)) return prefix + term.slice(i + 1);
    return term; // already an absolute IRI (https://…, urn:…)
  }
  return ctx.vocab + term;
}

/** Compact an IRI back to the short name the client's context gives it. */
export function compact(ctx: ActiveContext, iri: string): string {
  const hit = ctx.reverse.get(iri);
  if (hit !== undefined) return hit;
  if (iri.startsWith(ctx.vocab)) {
    const rest = iri.slice(ctx.vocab.length);
    if (rest && !rest.includes(":") && !rest.includes("/") && !rest.includes("#")) return rest;
  }
  return iri;
}

/** The Link header value for a context URL. */
export const linkHeader = (url: string) => `<${url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`;

/** The context URL of a Link header (rel=…json-ld#context), if there is one. */
export function parseLinkHeader(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (value.length > 2000) throw badRequestData("The Link header is too long.");
  for (const part of value.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!m) throw badRequestData("The Link header is malformed.");
    if (/rel\s*=\s*"?http:\/\/www\.w3\.org\/ns\/json-ld#context"?/.test(m[2])) return m[1];
  }
  return undefined;
}

/** The core context document (served at /ngsi-ld/v1/jsonldContexts/core). */
export const coreContextDocument = () => ({ "@context": CORE_DOC["@context"] });
