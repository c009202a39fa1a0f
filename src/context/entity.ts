// NGSI-LD entities in and out: validation and normalisation of what clients send (normalized or
// concise form, with @context expansion) into the stored form, and the presenters for the
// answer formats (normalized, concise, keyValues, sysAttrs, pick/omit, GeoJSON).
import type { Geometry } from "geojson";
import { storableText } from "../core/text.ts";
import { badRequestData } from "./errors.ts";
import { checkGeometry } from "./geo.ts";
import { type ActiveContext, compact, expand } from "./jsonld.ts";
import { normalizeDateTime } from "./q.ts";

export const NGSI_LD_NULL = "urn:ngsi-ld:null";
export const LOCATION = "https://uri.etsi.org/ngsi-ld/location";
const GEO_NAMES = new Set([LOCATION, "https://uri.etsi.org/ngsi-ld/observationSpace", "https://uri.etsi.org/ngsi-ld/operationSpace"]);
const ATTR_TYPES = new Set(["Property", "Relationship", "GeoProperty", "LanguageProperty"]);
/** Members of an attribute instance that are not sub-attributes. */
const INSTANCE_MEMBERS = new Set(["type", "value", "object", "languageMap", "observedAt", "unitCode", "datasetId", "createdAt", "modifiedAt", "instanceId"]);
const ENTITY_MEMBERS = new Set(["id", "type", "@context", "createdAt", "modifiedAt", "scope"]);

export const LIMITS = {
  attributes: 1000,
  instances: 100,
  subDepth: 4,
  jsonDepth: 24,
  nodes: 200_000,
};

export type AttrType = "Property" | "Relationship" | "GeoProperty" | "LanguageProperty";
export interface Instance {
  type: AttrType;
  value?: unknown;
  object?: string | string[];
  languageMap?: Record<string, string | string[]>;
  observedAt?: string;
  unitCode?: string;
  datasetId?: string;
  createdAt?: string;
  modifiedAt?: string;
  [sub: string]: unknown;
}
export type Attrs = Record<string, Instance[]>;

export interface StoredEntity {
  id: string;
  types: string[];
  attrs: Attrs;
  createdAt: string;
  modifiedAt: string;
  origin: "api" | "iot";
}

const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"{}|\\^`]+$/;
const NAME = /^[^\s<>"'=;()\\[\]{}]{1,256}$/;
export const isUri = (s: unknown): s is string => typeof s === "string" && s.length <= 512 && URI.test(s);

export function checkName(name: string, what: string): void {
  if (!NAME.test(name) || name === "__proto__")
    throw badRequestData(`${what} "${name.slice(0, 80)}" is not a valid name (1–256 characters, no spaces, quotes, <>=;()[]{}).`);
}

const UNSTORABLE = "Texts and names must be valid Unicode without NUL characters (no lone surrogate such as \\ud800).";

/** Refuse bodies nested too deep or too large before anything recursive looks at them. */
export function checkShape(body: unknown): void {
  const stack: Array<[unknown, number]> = [[body, 0]];
  let nodes = 0;
  while (stack.length) {
    const [v, d] = stack.pop() as [unknown, number];
    if (++nodes > LIMITS.nodes) throw badRequestData(`The body has more than ${LIMITS.nodes} JSON values.`);
    if (typeof v === "string" && !storableText(v)) throw badRequestData(UNSTORABLE);
    if (v && typeof v === "object") {
      if (d >= LIMITS.jsonDepth) throw badRequestData(`The body nests deeper than ${LIMITS.jsonDepth} levels.`);
      if (!Array.isArray(v) && !Object.keys(v).every(storableText)) throw badRequestData(UNSTORABLE);
      for (const x of Array.isArray(v) ? v : Object.values(v)) if ((x && typeof x === "object") || typeof x === "string") stack.push([x, d + 1]);
    }
  }
}

function checkDataset(v: unknown): string {
  if (!isUri(v)) throw badRequestData("datasetId must be a URI.");
  return v;
}

function checkLanguageMap(m: unknown, where: string): Record<string, string | string[]> {
  if (!m || typeof m !== "object" || Array.isArray(m)) throw badRequestData(`${where}: languageMap must be an object of language tags.`);
  for (const [k, v] of Object.entries(m)) {
    if (!/^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$|^@none$/.test(k)) throw badRequestData(`${where}: "${k.slice(0, 20)}" is not a language tag.`);
    if (typeof v !== "string" && !(Array.isArray(v) && v.every((x) => typeof x === "string")))
      throw badRequestData(`${where}: languageMap values are strings.`);
  }
  return m as Record<string, string | string[]>;
}

const isGeoJsonGeometry = (v: unknown) =>
  !!v && typeof v === "object" && !Array.isArray(v) && typeof (v as { type?: unknown }).type === "string" && "coordinates" in (v as object);

/**
 * One attribute instance from a client (normalized or concise). `allowNull`: in a merge, the
 * value urn:ngsi-ld:null deletes; null is returned.
 */
export function parseInstance(raw: unknown, iri: string, ctx: ActiveContext, now: string, depth: number, where: string, allowNull = false): Instance | null {
  if (
    allowNull &&
    (raw === NGSI_LD_NULL || (raw && typeof raw === "object" && ((raw as Instance).value === NGSI_LD_NULL || (raw as Instance).object === NGSI_LD_NULL)))
  )
    return null;
  let obj: Record<string, unknown>;
  if (raw === null || raw === undefined) throw badRequestData(`${where}: null is not a value (use urn:ngsi-ld:null in a merge to delete).`);
  if (typeof raw !== "object" || Array.isArray(raw)) obj = { value: raw };
  else obj = raw as Record<string, unknown>;
  let type = obj.type;
  if (type === undefined) {
    // Concise form (NGSI-LD 1.6+): the type follows from the members.
    if ("object" in obj) type = "Relationship";
    else if ("languageMap" in obj) type = "LanguageProperty";
    else if ("value" in obj) type = GEO_NAMES.has(iri) && isGeoJsonGeometry(obj.value) ? "GeoProperty" : "Property";
    else if (GEO_NAMES.has(iri) && isGeoJsonGeometry(obj)) {
      obj = { value: obj };
      type = "GeoProperty";
    } else {
      obj = { value: obj };
      type = "Property";
    }
  }
  if (typeof type !== "string" || !ATTR_TYPES.has(type))
    throw badRequestData(`${where}: type must be Property, Relationship, GeoProperty or LanguageProperty.`);
  const inst: Instance = { type: type as AttrType };
  if (type === "Property") {
    if (!("value" in obj) || obj.value === null) throw badRequestData(`${where}: a Property needs a value.`);
    inst.value = obj.value;
  } else if (type === "GeoProperty") {
    inst.value = checkGeometry(obj.value, where);
  } else if (type === "Relationship") {
    const o = obj.object;
    if (!(isUri(o) || (Array.isArray(o) && o.length > 0 && o.length <= 1000 && o.every(isUri))))
      throw badRequestData(`${where}: a Relationship needs an object URI.`);
    inst.object = o as string | string[];
  } else {
    inst.languageMap = checkLanguageMap(obj.languageMap, where);
  }
  for (const [k, v] of Object.entries(obj)) {
    if (k === "type" || k === "value" || k === "object" || k === "languageMap" || k === "createdAt" || k === "modifiedAt" || k === "instanceId") continue;
    if (k === "observedAt") {
      const t = typeof v === "string" ? normalizeDateTime(v) : undefined;
      if (!t || !/^\d{4}-\d{2}-\d{2}T/.test(v as string)) throw badRequestData(`${where}: observedAt must be an ISO 8601 date-time.`);
      inst.observedAt = t;
    } else if (k === "unitCode") {
      if (typeof v !== "string" || !/^[A-Za-z0-9]{1,16}$/.test(v)) throw badRequestData(`${where}: unitCode must be a UN/CEFACT code such as MTR or CEL.`);
      inst.unitCode = v;
    } else if (k === "datasetId") inst.datasetId = checkDataset(v);
    else {
      if (depth >= LIMITS.subDepth) throw badRequestData(`${where}: sub-attributes nest deeper than ${LIMITS.subDepth} levels.`);
      checkName(k, `${where}: sub-attribute`);
      const subIri = expand(ctx, k);
      if (Array.isArray(v)) throw badRequestData(`${where}.${k}: a sub-attribute has one instance.`);
      inst[subIri] = parseInstance(v, subIri, ctx, now, depth + 1, `${where}.${k}`) as Instance;
    }
  }
  inst.createdAt = now;
  inst.modifiedAt = now;
  return inst;
}

/** All instances of one attribute as given (an object or an array of them with distinct datasetIds). */
export function parseAttribute(raw: unknown, iri: string, ctx: ActiveContext, now: string, where: string, allowNull = false): Instance[] | null {
  if (Array.isArray(raw)) {
    if (raw.length === 0 || raw.length > LIMITS.instances) throw badRequestData(`${where}: 1 to ${LIMITS.instances} instances.`);
    const out = raw.map((r, i) => parseInstance(r, iri, ctx, now, 0, `${where}[${i}]`));
    if (out.some((x) => x === null)) throw badRequestData(`${where}: urn:ngsi-ld:null cannot be one of several instances.`);
    const ids = new Set<string | undefined>();
    for (const x of out as Instance[]) {
      if (ids.has(x.datasetId)) throw badRequestData(`${where}: two instances with the same datasetId.`);
      ids.add(x.datasetId);
    }
    return out as Instance[];
  }
  const one = parseInstance(raw, iri, ctx, now, 0, where, allowNull);
  return one === null ? null : [one];
}

export interface ParsedFragment {
  /** attribute IRI → instances, or null for "delete this attribute" (merge only). */
  attrs: Map<string, Instance[] | null>;
}

/** The attributes of a body (entity or fragment); id/type/@context are skipped. */
export function parseAttrs(body: Record<string, unknown>, ctx: ActiveContext, now: string, opts: { allowNull?: boolean } = {}): ParsedFragment {
  const attrs = new Map<string, Instance[] | null>();
  let n = 0;
  for (const [k, v] of Object.entries(body)) {
    if (ENTITY_MEMBERS.has(k)) continue;
    if (++n > LIMITS.attributes) throw badRequestData(`An entity may have at most ${LIMITS.attributes} attributes.`);
    checkName(k, "Attribute");
    const iri = expand(ctx, k);
    if (attrs.has(iri)) throw badRequestData(`Attribute ${k} is given twice.`);
    attrs.set(iri, parseAttribute(v, iri, ctx, now, k, opts.allowNull));
  }
  return { attrs };
}

export function parseTypes(raw: unknown, ctx: ActiveContext): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (!list.length || list.length > 20) throw badRequestData("An entity needs a type (1 to 20 types).");
  return list.map((t) => {
    if (typeof t !== "string") throw badRequestData("An entity type is a string.");
    checkName(t, "Entity type");
    return expand(ctx, t);
  });
}

/** A whole entity from a client (create, replace, upsert). */
export function parseEntity(body: unknown, ctx: ActiveContext, now: string, opts: { id?: string } = {}): { id: string; types: string[]; attrs: Attrs } {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequestData("An entity is a JSON object.");
  const b = body as Record<string, unknown>;
  const id = opts.id ?? b.id;
  if (opts.id !== undefined && b.id !== undefined && b.id !== opts.id) throw badRequestData("The id in the body differs from the id in the path.");
  if (!isUri(id)) throw badRequestData("An entity id must be a URI (e.g. urn:ngsi-ld:WaterLevelObserved:tan-chau), at most 512 characters.");
  const types = parseTypes(b.type, ctx);
  const { attrs } = parseAttrs(b, ctx, now);
  const out: Attrs = {};
  for (const [k, v] of attrs) out[k] = v as Instance[];
  return { id, types, attrs: out };
}

/** The default instance (no datasetId) of a GeoProperty, else the first one. */
export function geometryOf(e: { attrs: Attrs }, iri = LOCATION): Geometry | undefined {
  const list = e.attrs[iri];
  if (!list?.length) return undefined;
  const inst = list.find((i) => i.datasetId === undefined) ?? list[0];
  return inst.type === "GeoProperty" ? (inst.value as Geometry) : undefined;
}

// ---------------------------------------------------------------- presenters

export type Format = "normalized" | "concise" | "keyValues";
export interface RenderOptions {
  format: Format;
  sysAttrs: boolean;
  /** Expanded attribute IRIs to keep (attrs / pick), undefined = all. */
  keep?: Set<string>;
  /** Expanded attribute IRIs to drop (omit). */
  drop?: Set<string>;
  /** pick/omit on id and type. */
  noId?: boolean;
  noType?: boolean;
  /** LanguageProperty: the language to answer in (lang=). */
  lang?: string;
}

function renderInstance(inst: Instance, ctx: ActiveContext, o: RenderOptions): unknown {
  if (o.format === "keyValues") {
    if (inst.type === "Relationship") return inst.object;
    if (inst.type === "LanguageProperty") return pickLang(inst.languageMap as Record<string, string | string[]>, o.lang);
    return inst.value;
  }
  const out: Record<string, unknown> = {};
  if (o.format === "normalized") out.type = inst.type;
  if (inst.type === "Relationship") out.object = inst.object;
  else if (inst.type === "LanguageProperty") {
    if (o.lang !== undefined) {
      out.type = o.format === "normalized" ? "Property" : undefined;
      out.value = pickLang(inst.languageMap as Record<string, string | string[]>, o.lang);
    } else out.languageMap = inst.languageMap;
  } else out.value = inst.value;
  for (const [k, v] of Object.entries(inst)) {
    if (k === "type" || k === "value" || k === "object" || k === "languageMap") continue;
    if (k === "createdAt" || k === "modifiedAt") {
      if (o.sysAttrs) out[k] = v;
      continue;
    }
    if (INSTANCE_MEMBERS.has(k)) out[k] = v;
    else out[compact(ctx, k)] = renderInstance(v as Instance, ctx, { ...o, keep: undefined, drop: undefined });
  }
  if (out.type === undefined) delete out.type;
  // Concise: a Property with nothing but its value is the value itself.
  if (o.format === "concise" && inst.type === "Property" && Object.keys(out).length === 1) return out.value;
  return out;
}

function pickLang(m: Record<string, string | string[]>, lang: string | undefined): unknown {
  if (lang === undefined) return m;
  if (lang === "*") return m["@none"] ?? Object.values(m)[0];
  for (const l of lang.split(",").map((x) => x.split(";")[0].trim())) if (m[l] !== undefined) return m[l];
  return m["@none"] ?? Object.values(m)[0];
}

export function renderEntity(e: StoredEntity, ctx: ActiveContext, o: RenderOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!o.noId) out.id = e.id;
  if (!o.noType) {
    const types = e.types.map((t) => compact(ctx, t));
    out.type = types.length === 1 ? types[0] : types;
  }
  if (o.sysAttrs && o.format !== "keyValues") {
    out.createdAt = e.createdAt;
    out.modifiedAt = e.modifiedAt;
  }
  for (const [iri, list] of Object.entries(e.attrs)) {
    if (o.keep && !o.keep.has(iri)) continue;
    if (o.drop?.has(iri)) continue;
    const name = compact(ctx, iri);
    if (o.format === "keyValues") {
      out[name] = list.length === 1 ? renderInstance(list[0], ctx, o) : list.map((i) => renderInstance(i, ctx, o));
      continue;
    }
    const rendered = list.map((i) => renderInstance(i, ctx, o));
    out[name] = rendered.length === 1 ? rendered[0] : rendered;
  }
  return out;
}

/** GeoJSON Feature of an entity (Accept: application/geo+json). */
export function renderFeature(e: StoredEntity, ctx: ActiveContext, o: RenderOptions, geoIri = LOCATION): Record<string, unknown> {
  const props = renderEntity(e, ctx, o);
  const id = props.id ?? e.id;
  delete props.id;
  return { id, type: "Feature", geometry: geometryOf(e, geoIri) ?? null, properties: props };
}
