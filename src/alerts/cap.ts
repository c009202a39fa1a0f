// OASIS CAP 1.2: the message model, the XML presenter (documents that validate against
// CAP-v1.2.xsd) and a guarded reader for CAP 1.0/1.1/1.2 documents and Atom/RSS index feeds from
// other authorities. The reader refuses DTDs and entity declarations before parsing (XXE, billion
// laughs), caps size and nesting depth, and reports every structural problem it finds.
import { XMLBuilder, XMLParser } from "fast-xml-parser";

export const CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2";
const CAP_NAMESPACES: Record<string, string> = {
  "urn:oasis:names:tc:emergency:cap:1.2": "1.2",
  "urn:oasis:names:tc:emergency:cap:1.1": "1.1",
  "http://www.incident.com/cap/1.0": "1.0",
};

export const STATUSES = ["Actual", "Exercise", "System", "Test", "Draft"] as const;
export const MSG_TYPES = ["Alert", "Update", "Cancel", "Ack", "Error"] as const;
export const SCOPES = ["Public", "Restricted", "Private"] as const;
export const CATEGORIES = ["Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"] as const;
export const RESPONSE_TYPES = ["Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"] as const;
export const URGENCIES = ["Immediate", "Expected", "Future", "Past", "Unknown"] as const;
export const SEVERITIES = ["Extreme", "Severe", "Moderate", "Minor", "Unknown"] as const;
export const CERTAINTIES = ["Observed", "Likely", "Possible", "Unlikely", "Unknown"] as const;
export type CapSeverity = (typeof SEVERITIES)[number];

/** Worse first: Extreme 4 … Minor 1, Unknown 0. */
export const SEVERITY_RANK: Record<string, number> = { Extreme: 4, Severe: 3, Moderate: 2, Minor: 1, Unknown: 0 };

export interface Pair {
  valueName: string;
  value: string;
}

export interface CapResource {
  resourceDesc: string;
  mimeType: string;
  size?: number;
  uri?: string;
  digest?: string;
}

export interface CapArea {
  areaDesc: string;
  /** "lat,lon lat,lon …", closed, at least four points. */
  polygons: string[];
  /** "lat,lon radiusKm". */
  circles: string[];
  geocodes: Pair[];
  altitude?: number;
  ceiling?: number;
}

export interface CapInfo {
  language: string;
  categories: string[];
  event: string;
  responseTypes: string[];
  urgency: string;
  severity: string;
  certainty: string;
  audience?: string;
  eventCodes: Pair[];
  effective?: string;
  onset?: string;
  expires?: string;
  senderName?: string;
  headline?: string;
  description?: string;
  instruction?: string;
  web?: string;
  contact?: string;
  parameters: Pair[];
  resources: CapResource[];
  areas: CapArea[];
}

export interface CapMessage {
  identifier: string;
  sender: string;
  /** ISO 8601 with offset. */
  sent: string;
  status: string;
  msgType: string;
  source?: string;
  scope: string;
  restriction?: string;
  addresses?: string;
  codes: string[];
  note?: string;
  references?: string;
  incidents?: string;
  infos: CapInfo[];
}

// ---------------------------------------------------------------- dates

const VN_OFFSET_MS = 7 * 3_600_000;

/** A CAP date-time in Vietnam's offset: 2025-10-01T08:30:00+07:00 (the schema refuses Z and fractions). */
export function capDate(d: Date | string): string {
  const t = new Date(d).getTime();
  const local = new Date(Math.floor(t / 1000) * 1000 + VN_OFFSET_MS).toISOString().slice(0, 19);
  return `${local}+07:00`;
}

const CAP_DATE = /^\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$/;

// ---------------------------------------------------------------- writing

const builder = new XMLBuilder({ format: true, indentBy: "  ", suppressEmptyNode: false, ignoreAttributes: false, attributeNamePrefix: "@_" });

const pairs = (list: Pair[]) => list.map((p) => ({ valueName: p.valueName, value: p.value }));
const opt = <T>(v: T | undefined | null) => (v === undefined || v === null || v === "" ? undefined : v);

/** The CAP 1.2 document of a message. */
export function capXml(m: CapMessage): string {
  const alert = {
    "@_xmlns": CAP_NS,
    identifier: m.identifier,
    sender: m.sender,
    sent: capDate(m.sent),
    status: m.status,
    msgType: m.msgType,
    source: opt(m.source),
    scope: m.scope,
    restriction: opt(m.restriction),
    addresses: opt(m.addresses),
    code: m.codes.length ? m.codes : undefined,
    note: opt(m.note),
    references: opt(m.references),
    incidents: opt(m.incidents),
    info: m.infos.map((i) => ({
      language: i.language,
      category: i.categories,
      event: i.event,
      responseType: i.responseTypes.length ? i.responseTypes : undefined,
      urgency: i.urgency,
      severity: i.severity,
      certainty: i.certainty,
      audience: opt(i.audience),
      eventCode: i.eventCodes.length ? pairs(i.eventCodes) : undefined,
      effective: i.effective ? capDate(i.effective) : undefined,
      onset: i.onset ? capDate(i.onset) : undefined,
      expires: i.expires ? capDate(i.expires) : undefined,
      senderName: opt(i.senderName),
      headline: opt(i.headline),
      description: opt(i.description),
      instruction: opt(i.instruction),
      web: opt(i.web),
      contact: opt(i.contact),
      parameter: i.parameters.length ? pairs(i.parameters) : undefined,
      resource: i.resources.length
        ? i.resources.map((r) => ({ resourceDesc: r.resourceDesc, mimeType: r.mimeType, size: r.size, uri: opt(r.uri), digest: opt(r.digest) }))
        : undefined,
      area: i.areas.length
        ? i.areas.map((a) => ({
            areaDesc: a.areaDesc,
            polygon: a.polygons.length ? a.polygons : undefined,
            circle: a.circles.length ? a.circles : undefined,
            geocode: a.geocodes.length ? pairs(a.geocodes) : undefined,
            altitude: a.altitude,
            ceiling: a.ceiling,
          }))
        : undefined,
    })),
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ alert })}`;
}

/** The `references` entry naming a message: sender,identifier,sent. */
export const referenceOf = (m: { sender: string; identifier: string; sent: string | Date }) => `${m.sender},${m.identifier},${capDate(m.sent)}`;

// ---------------------------------------------------------------- geometry of CAP areas

export type LatLon = [number, number];

/** "lat,lon lat,lon …" → points; throws with the reason when malformed. */
export function parsePolygon(s: string): LatLon[] {
  const pts = s
    .trim()
    .split(/\s+/)
    .map((p) => p.split(",").map(Number) as LatLon);
  if (pts.length < 4) throw new Error("a polygon needs at least four points (the first repeated last)");
  for (const [lat, lon] of pts)
    if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) throw new Error(`bad point in polygon: ${lat},${lon}`);
  const [a, b] = [pts[0], pts[pts.length - 1]];
  if (a[0] !== b[0] || a[1] !== b[1]) throw new Error("a polygon must end with its first point");
  return pts;
}

/** "lat,lon radiusKm" → centre and radius; throws with the reason when malformed. */
export function parseCircle(s: string): { lat: number; lon: number; radiusKm: number } {
  const m = s.trim().match(/^(-?[\d.]+),\s*(-?[\d.]+)\s+([\d.]+)$/);
  if (!m) throw new Error(`a circle is "lat,lon radiusKm", got "${s.slice(0, 60)}"`);
  const [lat, lon, radiusKm] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180 || !Number.isFinite(radiusKm))
    throw new Error(`bad circle: ${s.slice(0, 60)}`);
  return { lat, lon, radiusKm };
}

export const polygonString = (pts: LatLon[]) => pts.map(([lat, lon]) => `${round6(lat)},${round6(lon)}`).join(" ");
export const circleString = (c: { lat: number; lon: number; radiusKm: number }) => `${round6(c.lat)},${round6(c.lon)} ${Math.round(c.radiusKm * 1000) / 1000}`;
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

// ---------------------------------------------------------------- reading

export const MAX_XML_BYTES = 2 * 1024 * 1024;
export const MAX_XML_DEPTH = 32;

export class CapImportError extends Error {
  constructor(readonly reasons: string[]) {
    super(reasons.join("; "));
  }
}

/**
 * Refuse what a hostile document could use against the parser before any parsing happens: DTDs
 * and entity declarations (external entities read files or URLs; nested ones explode memory),
 * oversize input, and nesting deep enough to exhaust the stack.
 */
export function guardXml(xml: string, maxBytes = MAX_XML_BYTES): void {
  if (Buffer.byteLength(xml) > maxBytes) throw new CapImportError([`document is larger than ${maxBytes} bytes`]);
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) throw new CapImportError(["DTDs and entity declarations are not accepted (XXE protection)"]);
  // Nesting depth: count open and close tags, skipping comments, CDATA and processing instructions.
  const stripped = xml
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, "")
    .replace(/<\?[\s\S]*?\?>/g, "");
  let depth = 0;
  for (const m of stripped.matchAll(/<(\/?)[A-Za-z_][^>]*?(\/?)>/g)) {
    if (m[1]) depth--;
    else if (!m[2]) {
      depth++;
      if (depth > MAX_XML_DEPTH) throw new CapImportError([`elements are nested deeper than ${MAX_XML_DEPTH} levels`]);
    }
  }
}

const ARRAYS = new Set([
  "info",
  "category",
  "responseType",
  "eventCode",
  "parameter",
  "resource",
  "area",
  "polygon",
  "circle",
  "geocode",
  "code",
  "entry",
  "item",
  "link",
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  // Character references (&#7841; &#x1EA1;) are XML: senders that write Vietnamese that way must
  // read as text. This option is the parser's only switch for them; it also takes HTML's named
  // entities (&nbsp;), a fixed table. A reference to a surrogate or NUL is dropped.
  htmlEntities: true,
  isArray: (name) => ARRAYS.has(name),
});

type Node = Record<string, unknown>;

const text = (v: unknown): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "object" && "#text" in (v as Node)) return String((v as Node)["#text"]);
  return "";
};
const list = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/** The namespace URI on the root element `alert` (whatever its prefix), or null. */
function rootNamespace(xml: string, local: string): string | null {
  const m = xml.match(new RegExp(`<(?:([A-Za-z_][\\w.-]*):)?${local}[\\s>/]([^>]*)`));
  if (!m) return null;
  const prefix = m[1];
  const attr = prefix ? `xmlns:${prefix}` : "xmlns";
  const ns = m[2].match(new RegExp(`${attr}\\s*=\\s*["']([^"']*)["']`));
  return ns ? ns[1] : null;
}

function readPairs(v: unknown, where: string, reasons: string[]): Pair[] {
  return list(v).map((p, i) => {
    const n = (p ?? {}) as Node;
    const valueName = text(n.valueName);
    if (valueName === undefined) reasons.push(`${where}[${i}]: valueName is missing`);
    return { valueName: valueName ?? "", value: text(n.value) ?? "" };
  });
}

function enumOf(v: unknown, allowed: readonly string[], where: string, reasons: string[], required = true): string {
  const s = text(v);
  if (s === undefined || s === "") {
    if (required) reasons.push(`${where} is missing`);
    return "";
  }
  if (!allowed.includes(s)) reasons.push(`${where} "${s.slice(0, 40)}" is not one of ${allowed.join(", ")}`);
  return s;
}

function dateOf(v: unknown, where: string, reasons: string[], required = false): string | undefined {
  const s = text(v);
  if (!s) {
    if (required) reasons.push(`${where} is missing`);
    return undefined;
  }
  // CAP 1.0/1.1 senders often write -00:00 or a Z; CAP 1.2 wants an explicit offset.
  const normal = s.replace(/Z$/, "+00:00");
  if (!CAP_DATE.test(normal) || Number.isNaN(Date.parse(normal))) {
    reasons.push(`${where} "${s.slice(0, 40)}" is not a date-time with an offset (YYYY-MM-DDThh:mm:ss+hh:mm)`);
    return undefined;
  }
  return new Date(normal).toISOString();
}

/** A CAP message from a parsed `alert` element; every problem goes to `reasons`. */
function readAlert(a: Node, reasons: string[]): CapMessage {
  const req = (k: string) => {
    const v = text(a[k]);
    if (!v) reasons.push(`alert: ${k} is missing`);
    return v ?? "";
  };
  const identifier = req("identifier");
  const sender = req("sender");
  if (/[\s,<&]/.test(identifier)) reasons.push("alert: identifier must not contain spaces, commas or < &");
  if (/[\s,<&]/.test(sender)) reasons.push("alert: sender must not contain spaces, commas or < &");
  const sent = dateOf(a.sent, "alert: sent", reasons, true) ?? "";
  const msgType = enumOf(a.msgType, MSG_TYPES, "alert: msgType", reasons);
  const references = text(a.references);
  if ((msgType === "Update" || msgType === "Cancel") && !references) reasons.push(`alert: a ${msgType} needs references`);
  const infos = list(a.info).map((raw, k): CapInfo => {
    const i = (raw ?? {}) as Node;
    const w = `info[${k}]`;
    const categories = list(i.category).map((c, j) => enumOf(c, CATEGORIES, `${w}.category[${j}]`, reasons));
    if (!categories.length) reasons.push(`${w}: category is missing`);
    const event = text(i.event);
    if (!event) reasons.push(`${w}: event is missing`);
    return {
      language: text(i.language) || "en-US",
      categories,
      event: event ?? "",
      responseTypes: list(i.responseType).map((r, j) => enumOf(r, RESPONSE_TYPES, `${w}.responseType[${j}]`, reasons)),
      urgency: enumOf(i.urgency, URGENCIES, `${w}: urgency`, reasons),
      severity: enumOf(i.severity, SEVERITIES, `${w}: severity`, reasons),
      certainty: enumOf(i.certainty === "Very Likely" ? "Likely" : i.certainty, CERTAINTIES, `${w}: certainty`, reasons),
      audience: text(i.audience) || undefined,
      eventCodes: readPairs(i.eventCode, `${w}.eventCode`, reasons),
      effective: dateOf(i.effective, `${w}: effective`, reasons),
      onset: dateOf(i.onset, `${w}: onset`, reasons),
      expires: dateOf(i.expires, `${w}: expires`, reasons),
      senderName: text(i.senderName) || undefined,
      headline: text(i.headline) || undefined,
      description: text(i.description) || undefined,
      instruction: text(i.instruction) || undefined,
      web: text(i.web) || undefined,
      contact: text(i.contact) || undefined,
      parameters: readPairs(i.parameter, `${w}.parameter`, reasons),
      resources: list(i.resource).map((r, j) => {
        const n = (r ?? {}) as Node;
        const resourceDesc = text(n.resourceDesc);
        const mimeType = text(n.mimeType);
        if (!resourceDesc) reasons.push(`${w}.resource[${j}]: resourceDesc is missing`);
        if (!mimeType) reasons.push(`${w}.resource[${j}]: mimeType is missing`);
        const size = text(n.size);
        return { resourceDesc: resourceDesc ?? "", mimeType: mimeType ?? "", size: size ? Number(size) : undefined, uri: text(n.uri), digest: text(n.digest) };
      }),
      areas: list(i.area).map((ar, j) => {
        const n = (ar ?? {}) as Node;
        const areaDesc = text(n.areaDesc);
        if (!areaDesc) reasons.push(`${w}.area[${j}]: areaDesc is missing`);
        const polygons = list(n.polygon)
          .map((p) => text(p) ?? "")
          .filter(Boolean);
        const circles = list(n.circle)
          .map((c) => text(c) ?? "")
          .filter(Boolean);
        polygons.forEach((p, q) => {
          try {
            parsePolygon(p);
          } catch (err) {
            reasons.push(`${w}.area[${j}].polygon[${q}]: ${(err as Error).message}`);
          }
        });
        circles.forEach((c, q) => {
          try {
            parseCircle(c);
          } catch (err) {
            reasons.push(`${w}.area[${j}].circle[${q}]: ${(err as Error).message}`);
          }
        });
        return {
          areaDesc: areaDesc ?? "",
          polygons,
          circles,
          geocodes: readPairs(n.geocode, `${w}.area[${j}].geocode`, reasons),
          altitude: text(n.altitude) ? Number(text(n.altitude)) : undefined,
          ceiling: text(n.ceiling) ? Number(text(n.ceiling)) : undefined,
        };
      }),
    };
  });
  return {
    identifier,
    sender,
    sent,
    status: enumOf(a.status, STATUSES, "alert: status", reasons),
    msgType,
    source: text(a.source) || undefined,
    scope: enumOf(a.scope, SCOPES, "alert: scope", reasons),
    restriction: text(a.restriction) || undefined,
    addresses: text(a.addresses) || undefined,
    codes: list(a.code)
      .map((c) => text(c) ?? "")
      .filter(Boolean),
    note: text(a.note) || undefined,
    references: references || undefined,
    incidents: text(a.incidents) || undefined,
    infos,
  };
}

export interface ParsedCap {
  message: CapMessage;
  version: string;
}

/** Read one CAP document (1.0, 1.1 or 1.2); throws CapImportError with every reason it is refused. */
export function parseCap(xml: string, maxBytes = MAX_XML_BYTES): ParsedCap {
  guardXml(xml, maxBytes);
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (err) {
    throw new CapImportError([`not well-formed XML: ${(err as Error).message.split("\n")[0]}`]);
  }
  const root = doc.alert as Node | undefined;
  if (!root || typeof root !== "object") throw new CapImportError(["the root element is not a CAP <alert>"]);
  const ns = rootNamespace(xml, "alert");
  const version = ns ? CAP_NAMESPACES[ns] : undefined;
  if (!version) throw new CapImportError([`the alert's namespace ${ns ? `"${ns.slice(0, 80)}"` : "(none)"} is not a CAP namespace`]);
  const reasons: string[] = [];
  const message = readAlert(root, reasons);
  if (reasons.length) throw new CapImportError(reasons);
  return { message, version };
}

export interface FeedEntry {
  id: string;
  title: string;
  link?: string;
  /** The full alert when the entry embeds it, or one rebuilt from the index's cap: fields. */
  parsed?: ParsedCap;
  reasons?: string[];
}

/**
 * Read an Atom or RSS index feed. An entry that embeds a CAP alert is read in full; an entry of
 * an index feed (cap: fields beside a link, as the US NWS publishes) becomes an alert built from
 * those fields, with the link kept as its web address.
 */
export function parseFeed(xml: string, maxBytes = MAX_XML_BYTES): { kind: "atom" | "rss"; title: string; entries: FeedEntry[] } {
  guardXml(xml, maxBytes);
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (err) {
    throw new CapImportError([`not well-formed XML: ${(err as Error).message.split("\n")[0]}`]);
  }
  const feed = doc.feed as Node | undefined;
  const channel = (doc.rss as Node | undefined)?.channel as Node | undefined;
  if (!feed && !channel) throw new CapImportError(["the root element is neither an Atom <feed> nor an RSS <rss>"]);
  const kind = feed ? "atom" : "rss";
  const src = (feed ?? channel) as Node;
  const items = list(feed ? src.entry : src.item) as Node[];
  const entries = items.map((e): FeedEntry => {
    const links = list(e.link).map((l) => (typeof l === "object" && l ? String((l as Node)["@_href"] ?? text(l) ?? "") : String(l)));
    const id = text(e.id) ?? text(e.guid) ?? links[0] ?? "";
    const title = text(e.title) ?? "";
    const embedded = ((e.content as Node | undefined)?.alert ?? e.alert) as Node | undefined;
    const reasons: string[] = [];
    let parsed: ParsedCap | undefined;
    if (embedded) {
      const message = readAlert(embedded, reasons);
      parsed = { message, version: "embedded" };
    } else if (e.status || e.severity || e.msgType) {
      const author = text(((e.author ?? src.author) as Node | undefined)?.name) ?? text(e.author) ?? "unknown";
      const sent = text(e.published) ?? text(e.updated) ?? text(e.pubDate);
      const fake: Node = {
        identifier: id.replace(/[\s,<&]/g, "_"),
        sender: author.replace(/[\s,<&]/g, "_"),
        sent: sent && !CAP_DATE.test(sent.replace(/Z$/, "+00:00")) && !Number.isNaN(Date.parse(sent)) ? capDate(sent) : sent,
        status: e.status,
        msgType: e.msgType ?? "Alert",
        scope: "Public",
        info: [
          {
            category: e.category,
            event: e.event ?? title,
            urgency: e.urgency,
            severity: e.severity,
            certainty: e.certainty,
            effective: e.effective,
            expires: e.expires,
            headline: title,
            description: text(e.summary) ?? text(e.description),
            web: links[0],
            parameter: e.parameter,
            area: [{ areaDesc: text(e.areaDesc) || title, polygon: e.polygon, geocode: e.geocode }],
          },
        ],
      };
      parsed = { message: readAlert(fake, reasons), version: "index" };
    } else reasons.push("the entry carries no CAP alert and no CAP index fields");
    return reasons.length ? { id, title, link: links[0], reasons } : { id, title, link: links[0], parsed };
  });
  return { kind, title: text(src.title) ?? "", entries };
}
