// DCAT-AP 3 descriptions of the catalogue and its datasets, as JSON-LD and Turtle from one set of
// triples. Mandatory properties: catalogue title/description/publisher/dataset; dataset title and
// description; distribution accessURL; agent name. Recommended ones are given where Sen has them.
import type { AgencyDto } from "../core/accounts/service.ts";
import { LICENSES } from "./service.ts";
import type { DatasetFull } from "./service.ts";
import type { GroupRow } from "./store.ts";

const NS = {
  dcat: "http://www.w3.org/ns/dcat#",
  dct: "http://purl.org/dc/terms/",
  foaf: "http://xmlns.com/foaf/0.1/",
  vcard: "http://www.w3.org/2006/vcard/ns#",
  rdf: "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
  rdfs: "http://www.w3.org/2000/01/rdf-schema#",
  xsd: "http://www.w3.org/2001/XMLSchema#",
  skos: "http://www.w3.org/2004/02/skos/core#",
  adms: "http://www.w3.org/ns/adms#",
  owl: "http://www.w3.org/2002/07/owl#",
  spdx: "http://spdx.org/rdf/terms#",
  hydra: "http://www.w3.org/ns/hydra/core#",
  locn: "http://www.w3.org/ns/locn#",
} as const;
const EU = "http://publications.europa.eu/resource/authority";
const FILE_TYPE: Record<string, string> = {
  CSV: "CSV",
  XLSX: "XLSX",
  JSON: "JSON",
  GEOJSON: "GEOJSON",
  XLS: "XLS",
  PDF: "PDF",
  XML: "XML",
  HTML: "HTML",
  ZIP: "ZIP",
  SHP: "SHP",
};
const MEDIA: Record<string, string> = {
  CSV: "text/csv",
  XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  JSON: "application/json",
  GEOJSON: "application/geo+json",
};
/** Sen's themes on the EU data themes vocabulary. */
const EU_THEME: Record<string, string> = {
  "moi-truong": "ENVI",
  "nong-nghiep": "AGRI",
  "giao-thong": "TRAN",
  "y-te": "HEAL",
  "giao-duc": "EDUC",
  "du-lich": "EDUC",
  "kinh-te": "ECON",
  "dan-cu": "SOCI",
  "hanh-chinh": "GOVE",
  "thoi-tiet-thuy-van": "ENVI",
};

type Obj = { iri: string } | { lit: string; lang?: string; dt?: string };
type Triple = [string, string, Obj];

const iri = (x: string): Obj => ({ iri: x });
const lit = (x: string | number, lang?: string, dt?: string): Obj => ({ lit: String(x), lang, dt });
const typed = (x: string, dt: keyof typeof XSD): Obj => ({ lit: x, dt: `${NS.xsd}${XSD[dt]}` });
const XSD = { date: "date", dateTime: "dateTime", nonNegativeInteger: "nonNegativeInteger" } as const;

/** An IRI safe inside <…>: characters Turtle forbids are percent-encoded. */
function safeIri(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must be encoded
  return s.replace(/[\u0000-\u0020<>"{}|^`\\]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()}`);
}

export interface DcatContext {
  base: string;
  title: string;
  orgs: Map<string, AgencyDto>;
  groups: Map<string, GroupRow>;
}

class Graph {
  triples: Triple[] = [];
  private blank = 0;
  add(s: string, p: string, o: Obj | undefined | null) {
    if (o && ("iri" in o ? o.iri : o.lit !== "")) this.triples.push([s, p, o]);
  }
  bnode(): string {
    return `_:b${++this.blank}`;
  }
}

const P = (prefix: keyof typeof NS, local: string) => `${NS[prefix]}${local}`;

function agent(g: Graph, ctx: DcatContext, code: string): string {
  const id = `${ctx.base}/organization/${encodeURIComponent(code)}`;
  const a = ctx.orgs.get(code);
  g.add(id, P("rdf", "type"), iri(P("foaf", "Agent")));
  g.add(id, P("foaf", "name"), lit(a?.name ?? code, "vi"));
  if (a?.nameEn) g.add(id, P("foaf", "name"), lit(a.nameEn, "en"));
  g.add(id, P("dct", "type"), iri(`${EU}/corporate-body-classification/PUBL`));
  g.add(id, P("dct", "type"), iri("http://purl.org/adms/publishertype/LocalAuthority"));
  return id;
}

function dataset(g: Graph, ctx: DcatContext, full: DatasetFull): string {
  const d = full.row;
  const id = `${ctx.base}/dataset/${d.name}`;
  const landing = `${ctx.base}/app/catalog/${d.name}`;
  g.add(id, P("rdf", "type"), iri(P("dcat", "Dataset")));
  g.add(id, P("dct", "identifier"), lit(d.id));
  g.add(id, P("dct", "title"), lit(d.title, "vi"));
  if (d.title_en) g.add(id, P("dct", "title"), lit(d.title_en, "en"));
  g.add(id, P("dct", "description"), lit(d.notes || d.title, "vi"));
  if (d.notes_en) g.add(id, P("dct", "description"), lit(d.notes_en, "en"));
  g.add(id, P("dct", "publisher"), iri(agent(g, ctx, d.owner_org)));
  g.add(id, P("dcat", "landingPage"), iri(landing));
  g.add(id, P("dct", "issued"), typed(new Date(d.created_at).toISOString(), "dateTime"));
  g.add(id, P("dct", "modified"), typed(new Date(d.modified_at).toISOString(), "dateTime"));
  for (const t of d.tags) g.add(id, P("dcat", "keyword"), lit(t, "vi"));
  for (const gr of d.groups) {
    const eu = EU_THEME[gr];
    if (eu) g.add(id, P("dcat", "theme"), iri(`${EU}/data-theme/${eu}`));
    const theme = `${ctx.base}/group/${gr}`;
    g.add(id, P("dcat", "theme"), iri(theme));
    g.add(theme, P("rdf", "type"), iri(P("skos", "Concept")));
    g.add(theme, P("skos", "prefLabel"), lit(ctx.groups.get(gr)?.title ?? gr, "vi"));
  }
  if (d.frequency) g.add(id, P("dct", "accrualPeriodicity"), iri(`${EU}/frequency/${d.frequency}`));
  if (d.version) g.add(id, P("owl", "versionInfo"), lit(d.version));
  if (d.temporal_start || d.temporal_end) {
    const t = g.bnode();
    g.add(id, P("dct", "temporal"), iri(t));
    g.add(t, P("rdf", "type"), iri(P("dct", "PeriodOfTime")));
    if (d.temporal_start) g.add(t, P("dcat", "startDate"), typed(String(d.temporal_start).slice(0, 10), "date"));
    if (d.temporal_end) g.add(t, P("dcat", "endDate"), typed(String(d.temporal_end).slice(0, 10), "date"));
  }
  if (d.spatial) {
    const loc = /^\d{2,5}$/.test(d.spatial) ? `${ctx.base}/ogc/collections/${d.spatial.length === 2 ? "province" : "communes"}/items/${d.spatial}` : g.bnode();
    g.add(id, P("dct", "spatial"), iri(loc));
    g.add(loc, P("rdf", "type"), iri(P("dct", "Location")));
    g.add(loc, P("skos", "prefLabel"), lit(d.spatial, "vi"));
  }
  if (d.contact_name || d.contact_email) {
    const c = g.bnode();
    g.add(id, P("dcat", "contactPoint"), iri(c));
    g.add(c, P("rdf", "type"), iri(P("vcard", "Kind")));
    g.add(c, P("vcard", "fn"), lit(d.contact_name ?? d.contact_email ?? ""));
    if (d.contact_email) g.add(c, P("vcard", "hasEmail"), iri(`mailto:${d.contact_email}`));
  }
  g.add(id, P("dct", "language"), iri(`${EU}/language/VIE`));
  const lic = LICENSES[d.license_id];
  for (const { row: r, version: v } of full.resources) {
    const dist = `${ctx.base}/dataset/${d.name}/resource/${r.id}`;
    g.add(id, P("dcat", "distribution"), iri(dist));
    g.add(dist, P("rdf", "type"), iri(P("dcat", "Distribution")));
    const access = r.kind === "upload" ? `${ctx.base}/api/catalog/resources/${r.id}/download` : r.kind === "live" ? landing : (r.url ?? landing);
    g.add(dist, P("dcat", "accessURL"), iri(safeIri(access)));
    if (r.kind === "upload" && v) g.add(dist, P("dcat", "downloadURL"), iri(safeIri(access)));
    g.add(dist, P("dct", "title"), lit(r.name, "vi"));
    if (r.name_en) g.add(dist, P("dct", "title"), lit(r.name_en, "en"));
    if (r.description) g.add(dist, P("dct", "description"), lit(r.description, "vi"));
    const fmt = (v?.format ?? r.format).toUpperCase();
    if (FILE_TYPE[fmt]) g.add(dist, P("dct", "format"), iri(`${EU}/file-type/${FILE_TYPE[fmt]}`));
    if (MEDIA[fmt]) g.add(dist, P("dcat", "mediaType"), iri(`https://www.iana.org/assignments/media-types/${MEDIA[fmt]}`));
    if (lic?.url) g.add(dist, P("dct", "license"), iri(lic.url));
    if (v) {
      g.add(dist, P("dcat", "byteSize"), typed(String(v.size), "nonNegativeInteger"));
      const ck = g.bnode();
      g.add(dist, P("spdx", "checksum"), iri(ck));
      g.add(ck, P("rdf", "type"), iri(P("spdx", "Checksum")));
      g.add(ck, P("spdx", "algorithm"), iri(P("spdx", "checksumAlgorithm_sha256")));
      g.add(ck, P("spdx", "checksumValue"), { lit: v.sha256, dt: `${NS.xsd}hexBinary` });
      g.add(dist, P("dct", "modified"), typed(new Date(v.loaded_at ?? v.created_at).toISOString(), "dateTime"));
    }
    g.add(dist, P("dct", "issued"), typed(new Date(r.created_at).toISOString(), "dateTime"));
  }
  return id;
}

/** The catalogue page: the catalogue, a page of its datasets, and Hydra paging links. */
export function catalogGraph(ctx: DcatContext, datasets: DatasetFull[], paging: { page: number; pageSize: number; total: number; ext: string }): Graph {
  const g = new Graph();
  const cat = `${ctx.base}/catalog`;
  g.add(cat, P("rdf", "type"), iri(P("dcat", "Catalog")));
  g.add(cat, P("dct", "title"), lit(ctx.title, "vi"));
  g.add(cat, P("dct", "description"), lit(`Cổng dữ liệu mở – ${ctx.title}`, "vi"));
  g.add(cat, P("dct", "description"), lit(`Open data portal – ${ctx.title}`, "en"));
  g.add(cat, P("foaf", "homepage"), iri(`${ctx.base}/app/catalog`));
  g.add(cat, P("dct", "language"), iri(`${EU}/language/VIE`));
  g.add(cat, P("dct", "language"), iri(`${EU}/language/ENG`));
  g.add(cat, P("dct", "license"), iri(LICENSES["cc-by-4.0"].url));
  const publisher = [...ctx.orgs.values()].find((a) => a.kind === "province");
  g.add(cat, P("dct", "publisher"), iri(agent(g, ctx, publisher?.code ?? "PROVINCE")));
  const latest = datasets.reduce<Date | undefined>((m, d) => (!m || d.row.modified_at > m ? new Date(d.row.modified_at) : m), undefined);
  if (latest) g.add(cat, P("dct", "modified"), typed(latest.toISOString(), "dateTime"));
  for (const d of datasets) g.add(cat, P("dcat", "dataset"), iri(dataset(g, ctx, d)));
  const last = Math.max(1, Math.ceil(paging.total / paging.pageSize));
  const pageIri = (n: number) => `${ctx.base}/catalog.${paging.ext}?page=${n}`;
  const view = pageIri(paging.page);
  g.add(view, P("rdf", "type"), iri(P("hydra", "PartialCollectionView")));
  g.add(view, P("hydra", "totalItems"), typed(String(paging.total), "nonNegativeInteger"));
  g.add(view, P("hydra", "itemsPerPage"), typed(String(paging.pageSize), "nonNegativeInteger"));
  g.add(view, P("hydra", "first"), iri(pageIri(1)));
  g.add(view, P("hydra", "last"), iri(pageIri(last)));
  if (paging.page > 1) g.add(view, P("hydra", "previous"), iri(pageIri(paging.page - 1)));
  if (paging.page < last) g.add(view, P("hydra", "next"), iri(pageIri(paging.page + 1)));
  return g;
}

export function datasetGraph(ctx: DcatContext, d: DatasetFull): Graph {
  const g = new Graph();
  dataset(g, ctx, d);
  return g;
}

// ---------------------------------------------------------------------------------------------
// Serialisation

function compact(x: string): string {
  for (const [p, ns] of Object.entries(NS)) if (x.startsWith(ns) && /^[A-Za-z_][\w-]*$/.test(x.slice(ns.length))) return `${p}:${x.slice(ns.length)}`;
  return x;
}

export function toJsonLd(g: Graph): unknown {
  const nodes = new Map<string, Record<string, unknown>>();
  for (const [s, p, o] of g.triples) {
    let n = nodes.get(s);
    if (!n) {
      n = { "@id": s };
      nodes.set(s, n);
    }
    if (p === `${NS.rdf}type`) {
      n["@type"] = [...((n["@type"] as string[]) ?? []), compact((o as { iri: string }).iri)];
      continue;
    }
    const key = compact(p);
    const value = "iri" in o ? { "@id": o.iri } : { "@value": o.lit, ...(o.lang ? { "@language": o.lang } : {}), ...(o.dt ? { "@type": compact(o.dt) } : {}) };
    n[key] = [...((n[key] as unknown[]) ?? []), value];
  }
  return { "@context": NS, "@graph": [...nodes.values()] };
}

function turtleLiteral(o: { lit: string; lang?: string; dt?: string }): string {
  const s = o.lit.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t");
  return `"${s}"${o.lang ? `@${o.lang}` : o.dt ? `^^${turtleTerm(o.dt)}` : ""}`;
}

function turtleTerm(x: string): string {
  if (x.startsWith("_:")) return x;
  const c = compact(x);
  return c !== x ? c : `<${safeIri(x)}>`;
}

export function toTurtle(g: Graph): string {
  const lines = Object.entries(NS).map(([p, ns]) => `@prefix ${p}: <${ns}> .`);
  lines.push("");
  const bySubject = new Map<string, Triple[]>();
  for (const t of g.triples) bySubject.set(t[0], [...(bySubject.get(t[0]) ?? []), t]);
  for (const [s, ts] of bySubject) {
    const parts = ts.map(([, p, o]) => `    ${p === `${NS.rdf}type` ? "a" : turtleTerm(p)} ${"iri" in o ? turtleTerm(o.iri) : turtleLiteral(o)}`);
    lines.push(`${turtleTerm(s)}\n${parts.join(" ;\n")} .\n`);
  }
  return lines.join("\n");
}
