// Alerts: drafting, the two-person approval, publishing as CAP 1.2, updates and cancels as linked
// messages, expiry, queries by commune and point, and import of other authorities' CAP. Every
// change of state is audited and announced on the bus in the transaction that makes it.
import { randomUUID } from "node:crypto";
import type { AuditService } from "../core/audit/service.ts";
import { type Actor, currentContext } from "../core/context.ts";
import type { Db } from "../core/db.ts";
import { Problem, badRequest, conflict, forbidden, notFound } from "../core/errors.ts";
import type { EventBus } from "../core/events/bus.ts";
import type { AreaIndex } from "./area.ts";
import {
  type CapInfo,
  type CapMessage,
  CapImportError,
  type ParsedCap,
  SEVERITY_RANK,
  capDate,
  capXml,
  circleString,
  parseCap,
  parseCircle,
  parseFeed,
  parsePolygon,
  polygonString,
  referenceOf,
} from "./cap.ts";
import { type AlertRow, type AlertState, type AlertWrite, type InfoText, alertsStore } from "./store.ts";
import { type Hazard, HAZARDS, TEMPLATES } from "./templates.ts";

/** The geocode name under which Sen publishes (and recognises) official commune codes. */
export const GEOCODE_NAME = "VN-DVHC";
const GEOCODE_NAMES = new Set([GEOCODE_NAME, "DVHC", "VN-GSO", "MA_XA", "commune"]);

export interface AlertDto {
  id: string;
  identifier: string;
  origin: "sen" | "import";
  state: AlertState;
  /** Published and neither ended nor expired. */
  current: boolean;
  hazard: string;
  sender: string;
  senderName: string;
  agency: string | null;
  status: string;
  msgType: string;
  scope: string;
  note: string | null;
  referencesId: string | null;
  references: string | null;
  categories: string[];
  responseTypes: string[];
  urgency: string;
  severity: string;
  certainty: string;
  onset: string | null;
  expires: string | null;
  infos: InfoText[];
  parameters: Array<{ valueName: string; value: string }>;
  area: { description: string; communes: string[]; polygons: Array<Array<[number, number]>>; circles: Array<{ lat: number; lon: number; radiusKm: number }> };
  communes: string[];
  source: { alarmId: string | null; deviceId: string | null } | null;
  createdBy: string | null;
  createdByName: string;
  submittedBy: string | null;
  submittedAt: string | null;
  approvedBy: string | null;
  approvedByName: string | null;
  sent: string | null;
  endedAt: string | null;
  endReason: string | null;
  supersededBy: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
  capUrl: string | null;
}

/** What an officer writes: the texts per language, CAP codes, timing and the area. */
export interface DraftInput {
  hazard?: string;
  status?: string;
  categories?: string[];
  responseTypes?: string[];
  urgency?: string;
  severity?: string;
  certainty?: string;
  onset?: string | null;
  expires?: string | null;
  note?: string | null;
  infos?: Array<{ language: "vi" | "en"; event: string; headline: string; description?: string; instruction?: string; web?: string; contact?: string }>;
  parameters?: Array<{ valueName: string; value: string }>;
  area?: {
    description?: string;
    communes?: string[];
    polygons?: Array<Array<[number, number]>>;
    circles?: Array<{ lat: number; lon: number; radiusKm: number }>;
  };
}

export interface AlertEvent {
  id: string;
  state: AlertState;
  msgType: string;
  status: string;
  severity: string;
  hazard: string;
  headline: string;
  communes: string[];
  change: string;
}

declare module "../core/events/bus.ts" {
  interface SenEvents {
    "alert.changed": AlertEvent;
    "alert.published": AlertEvent;
    "alert.ended": AlertEvent;
  }
}

export interface AlertsDeps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  area: AreaIndex;
  province: string;
  publicUrl: string;
  /** Names of an agency (Vietnamese, English), or undefined when unknown. */
  agencyName(code: string): Promise<{ name: string; nameEn: string } | undefined>;
  /** Locate a point in a commune of the province. */
  locate(lat: number, lon: number): string | undefined;
  /** Called in the transaction that publishes a message (fan-out to subscribers). */
  onPublish?(row: AlertRow): Promise<void>;
}

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LANG: Record<string, string> = { vi: "vi-VN", en: "en-US" };

export const isCurrent = (r: AlertRow, now = Date.now()) => r.state === "published" && !r.ended_at && (!r.expires || new Date(r.expires).getTime() > now);

/** The info text in a language (vi or en), falling back to the first. */
export function textIn(r: Pick<AlertRow, "infos">, lang: string): InfoText {
  return r.infos.find((i) => i.language.toLowerCase().startsWith(lang)) ?? r.infos[0];
}

export function alertsService(deps: AlertsDeps) {
  const { db, audit, bus, area } = deps;
  const store = alertsStore(deps.db);
  const host = new URL(deps.publicUrl).hostname;
  const capUrl = (id: string) => `${deps.publicUrl}/cap/alerts/${id}.xml`;

  const toDto = (r: AlertRow): AlertDto => ({
    id: r.id,
    identifier: r.identifier,
    origin: r.origin,
    state: r.state,
    current: isCurrent(r),
    hazard: r.hazard,
    sender: r.sender,
    senderName: r.sender_name,
    agency: r.agency,
    status: r.status,
    msgType: r.msg_type,
    scope: r.scope,
    note: r.note,
    referencesId: r.references_id,
    references: r.refs,
    categories: r.categories,
    responseTypes: r.response_types,
    urgency: r.urgency,
    severity: r.severity,
    certainty: r.certainty,
    onset: iso(r.onset),
    expires: iso(r.expires),
    infos: r.infos,
    parameters: r.parameters,
    area: { description: r.area_desc, communes: r.chosen_communes, polygons: r.polygons, circles: r.circles },
    communes: r.communes,
    source: r.source_alarm || r.source_device ? { alarmId: r.source_alarm, deviceId: r.source_device } : null,
    createdBy: r.created_by,
    createdByName: r.created_by_name,
    submittedBy: r.submitted_by,
    submittedAt: iso(r.submitted_at),
    approvedBy: r.approved_by,
    approvedByName: r.approved_by_name,
    sent: iso(r.sent),
    endedAt: iso(r.ended_at),
    endReason: r.end_reason,
    supersededBy: r.superseded_by,
    version: r.version,
    createdAt: iso(r.created_at) as string,
    updatedAt: iso(r.updated_at) as string,
    capUrl: r.state === "published" ? capUrl(r.id) : null,
  });

  const eventOf = (r: AlertRow, change: string): AlertEvent => ({
    id: r.id,
    state: r.state,
    msgType: r.msg_type,
    status: r.status,
    severity: r.severity,
    hazard: r.hazard,
    headline: textIn(r, "vi")?.headline ?? "",
    communes: r.communes.slice(0, 200),
    change,
  });

  async function record(r: AlertRow, action: string, details: Record<string, unknown> = {}) {
    await audit.record({ action: `alert.${action}`, targetType: "alert", targetId: r.id, details: { state: r.state, msgType: r.msg_type, ...details } });
    const published = r.state === "published" && (action === "publish" || action === "cancel" || action === "import");
    if (published) await bus.publish("alert.published", eventOf(r, action), r.status === "Actual" ? "all" : "staff");
    else if (action === "expire" || action === "end") await bus.publish("alert.ended", eventOf(r, action), "all");
    else await bus.publish("alert.changed", eventOf(r, action), "staff");
  }

  // ---------------------------------------------------------------- access

  const who = (actor: Actor) => ({ id: actor.type === "system" ? null : (actor.id ?? null), name: actor.name });
  const isStaffWide = (actor: Actor) => actor.type === "system" || actor.roles.includes("admin") || actor.roles.includes("operator");

  /** Drafts are worked by their agency (and by the IOC: admins and operators). */
  function mayEdit(actor: Actor, r: AlertRow): boolean {
    if (isStaffWide(actor) || (actor.type === "apikey" && !actor.agency)) return true;
    return (actor.agency !== undefined && actor.agency === r.agency) || (actor.id !== undefined && actor.id === r.created_by);
  }

  async function mustGet(id: string): Promise<AlertRow> {
    const r = UUID.test(id) ? await store.get(id) : undefined;
    if (!r) throw notFound(`No alert ${id}, or you have no access to it.`);
    return r;
  }

  async function lockForEdit(id: string, actor: Actor, states: AlertState[], version?: number): Promise<AlertRow> {
    const r = UUID.test(id) ? await store.lock(id) : undefined;
    if (r?.origin !== "sen") throw notFound(`No alert ${id}, or you have no access to it.`);
    if (!mayEdit(actor, r)) throw notFound(`No alert ${id}, or you have no access to it.`);
    if (!states.includes(r.state)) throw conflict(`The alert is ${r.state}; this needs it to be ${states.join(" or ")}.`);
    if (version !== undefined && version !== r.version)
      throw new Problem(409, "stale", `Someone changed this alert meanwhile (version ${r.version}, yours ${version}). Reload and try again.`);
    return r;
  }

  // ---------------------------------------------------------------- drafting

  function checkArea(a: NonNullable<DraftInput["area"]>): { chosen: string[]; polygons: Array<Array<[number, number]>>; circles: AlertRow["circles"] } {
    const chosen = [...new Set(a.communes ?? [])];
    const unknown = chosen.filter((c) => !area.byCode(c));
    if (unknown.length) throw badRequest(`Not communes of the province: ${unknown.slice(0, 10).join(", ")}.`);
    const polygons = (a.polygons ?? []).map((pts, i) => {
      const ring = [...pts];
      if (ring.length && (ring[0][0] !== ring[ring.length - 1][0] || ring[0][1] !== ring[ring.length - 1][1])) ring.push(ring[0]);
      try {
        parsePolygon(polygonString(ring));
      } catch (err) {
        throw badRequest(`area.polygons[${i}]: ${(err as Error).message}`);
      }
      return ring;
    });
    const circles = (a.circles ?? []).map((c, i) => {
      if (!(c.radiusKm > 0 && c.radiusKm <= 200)) throw badRequest(`area.circles[${i}]: radiusKm must be above 0 and at most 200.`);
      parseCircle(circleString(c));
      return c;
    });
    return { chosen, polygons, circles };
  }

  function checkTimes(onset: string | null | undefined, expires: string | null | undefined) {
    if (onset && expires && Date.parse(expires) <= Date.parse(onset)) throw badRequest("expires must be after onset.");
  }

  /** The draft columns from an input; missing fields keep `base` (or a template's defaults). */
  async function draftColumns(input: DraftInput, base?: AlertRow): Promise<AlertWrite> {
    const hazard = (input.hazard ?? base?.hazard ?? "other") as Hazard;
    if (!HAZARDS.includes(hazard)) throw badRequest(`hazard must be one of ${HAZARDS.join(", ")}.`);
    const t = TEMPLATES[hazard];
    const w: AlertWrite = {
      hazard,
      status: input.status ?? base?.status ?? "Actual",
      categories: input.categories ?? base?.categories ?? t.categories,
      response_types: input.responseTypes ?? base?.response_types ?? t.responseTypes,
      urgency: input.urgency ?? base?.urgency ?? t.urgency,
      severity: input.severity ?? base?.severity ?? t.severity,
      certainty: input.certainty ?? base?.certainty ?? t.certainty,
      note: input.note === undefined ? (base?.note ?? null) : input.note,
      parameters: input.parameters ?? base?.parameters ?? [],
    };
    if (!w.categories?.length) throw badRequest("Give at least one category.");
    const onset = input.onset === undefined ? iso(base?.onset ?? null) : input.onset;
    const expires = input.expires === undefined ? iso(base?.expires ?? null) : input.expires;
    checkTimes(onset, expires);
    w.onset = onset ? new Date(onset) : null;
    w.expires = expires ? new Date(expires) : null;
    if (input.infos) {
      const langs = input.infos.map((i) => i.language);
      if (new Set(langs).size !== langs.length) throw badRequest("One info per language.");
      if (!langs.includes("vi")) throw badRequest("The Vietnamese info (language vi) is required; English is second.");
      const agency = base?.agency ? await deps.agencyName(base.agency) : undefined;
      w.infos = [...input.infos]
        .sort((a, b) => (a.language === "vi" ? -1 : b.language === "vi" ? 1 : 0))
        .map((i) => ({
          language: LANG[i.language],
          event: i.event,
          headline: i.headline,
          description: i.description ?? "",
          instruction: i.instruction || undefined,
          web: i.web || undefined,
          contact: i.contact || undefined,
          senderName: agency ? (i.language === "vi" ? agency.name : agency.nameEn) : undefined,
        }));
      for (const i of w.infos) if (i.web && !/^https?:\/\/\S+$/.test(i.web)) throw badRequest("web must be an http(s) address.");
    }
    if (input.area) {
      const { chosen, polygons, circles } = checkArea(input.area);
      w.chosen_communes = chosen;
      w.polygons = polygons;
      w.circles = circles;
      w.communes = area.resolve({ communes: chosen, polygons, circles });
      w.area_desc = input.area.description?.trim() || describe(w.communes, "vi");
    }
    return w;
  }

  /** The area's description from commune names. */
  function describe(codes: string[], lang: "vi" | "en"): string {
    const names = codes.map((c) => area.byCode(c)).map((c) => (c ? (lang === "vi" ? c.name : c.nameEn) : ""));
    const shown = names.filter(Boolean).slice(0, 30);
    const more = names.length - shown.length;
    const list = shown.join(", ");
    if (!more) return list;
    return lang === "vi" ? `${list} và ${more} xã, phường khác` : `${list} and ${more} other communes`;
  }

  async function senderOf(agency: string | null): Promise<{ sender: string; senderName: string; nameEn: string }> {
    const code = agency ?? `UBND-${deps.province}`;
    const names = await deps.agencyName(code);
    return { sender: `${code.toLowerCase().replace(/[^a-z0-9.-]/g, "-")}@${host}`, senderName: names?.name ?? code, nameEn: names?.nameEn ?? code };
  }

  async function create(input: DraftInput, actor: Actor, extra: AlertWrite & { id?: string } = {}): Promise<AlertRow> {
    const id = extra.id ?? randomUUID();
    const agency = (extra.agency !== undefined ? extra.agency : actor.agency) ?? `UBND-${deps.province}`;
    const s = await senderOf(agency);
    const cols = await draftColumns(input, { agency } as AlertRow);
    if (!cols.infos) throw badRequest("Give the texts (infos), Vietnamese first.");
    const w: AlertWrite & { id: string } = {
      ...cols,
      id,
      identifier: `urn:uuid:${id}`,
      sender: s.sender,
      sender_name: s.senderName,
      agency,
      created_by: who(actor).id,
      created_by_name: who(actor).name,
      ...extra,
    };
    return w.source_alarm ? ((await store.insertForAlarm(w)) as AlertRow) : store.insert(w);
  }

  // ---------------------------------------------------------------- publishing

  function capMessage(r: AlertRow, sent: Date, senderNames: { vi: string; en: string }): CapMessage {
    const areaFor = (lang: "vi" | "en") => {
      const desc = lang === "vi" ? r.area_desc || describe(r.communes, "vi") : describe(r.communes, "en") || r.area_desc;
      return {
        areaDesc: desc || (lang === "vi" ? "Tỉnh Đồng Tháp" : "Dong Thap province"),
        polygons: r.polygons.map(polygonString),
        circles: r.circles.map(circleString),
        geocodes: r.chosen_communes.map((c) => ({ valueName: GEOCODE_NAME, value: c })),
      };
    };
    const infos: CapInfo[] = r.infos.map((t) => {
      const lang = t.language.startsWith("vi") ? "vi" : "en";
      return {
        language: t.language,
        categories: r.categories,
        event: t.event,
        responseTypes: r.response_types,
        urgency: r.urgency,
        severity: r.severity,
        certainty: r.certainty,
        eventCodes: [{ valueName: "sen:hazard", value: r.hazard }],
        effective: sent.toISOString(),
        onset: iso(r.onset) ?? undefined,
        expires: iso(r.expires) ?? undefined,
        senderName: t.senderName ?? (lang === "vi" ? senderNames.vi : senderNames.en),
        headline: t.headline,
        description: t.description,
        instruction: t.instruction,
        web: t.web ?? `${deps.publicUrl}/app/alerts/${r.id}`,
        contact: t.contact,
        parameters: r.parameters,
        resources: [],
        areas: r.communes.length || r.polygons.length || r.circles.length ? [areaFor(lang)] : [],
      };
    });
    return {
      identifier: r.identifier,
      sender: r.sender,
      sent: sent.toISOString(),
      status: r.status,
      msgType: r.msg_type,
      scope: r.scope,
      note: r.note ?? undefined,
      references: r.refs ?? undefined,
      codes: [],
      infos,
    };
  }

  /** Publish a locked row: freeze its CAP document, end what it replaces, fan out. */
  async function publishRow(r: AlertRow, approver: Actor, action: "publish" | "cancel"): Promise<AlertRow> {
    const sent = new Date(Math.floor(Date.now() / 1000) * 1000);
    const names = await senderOf(r.agency);
    let refs: string | null = null;
    if (r.references_id) {
      const prior = await store.lock(r.references_id);
      if (prior?.state !== "published") throw conflict("The message this one refers to is not published.");
      if (prior.ended_at && prior.end_reason !== "expired")
        throw conflict(`The message this one refers to was already ${prior.end_reason === "cancelled" ? "cancelled" : "updated"}.`);
      refs = [prior.refs, referenceOf({ sender: prior.sender, identifier: prior.identifier, sent: prior.sent as Date })].filter(Boolean).join(" ");
    }
    const full: AlertRow = { ...r, refs, sent };
    const xml = capXml(capMessage(full, sent, { vi: names.senderName, en: names.nameEn }));
    const { id: approvedBy, name: approvedByName } = who(approver);
    const row = await store.update(r.id, { state: "published", sent, refs, xml, approved_by: approvedBy, approved_by_name: approvedByName });
    if (r.references_id) {
      const ended = await store.update(r.references_id, {
        ended_at: sent,
        end_reason: r.msg_type === "Cancel" ? "cancelled" : "updated",
        superseded_by: r.id,
      });
      await record(ended, "end", { by: r.id, reason: ended.end_reason });
    }
    await record(row, action, { approvedBy: approvedByName, references: refs });
    await deps.onPublish?.(row);
    return row;
  }

  // ---------------------------------------------------------------- import

  const REF_TOKEN = /^([^,\s]+),([^,\s]+),(\S+)$/;

  async function importOne(p: ParsedCap, source: string, original: string | null): Promise<{ id: string; identifier: string; created: boolean }> {
    const m = p.message;
    const existing = await store.byIdentifier(m.sender, m.identifier);
    if (existing) return { id: existing.id, identifier: m.identifier, created: false };
    const first = m.infos[0];
    const polygons: AlertRow["polygons"] = [];
    const circles: AlertRow["circles"] = [];
    const chosen = new Set<string>();
    const descs: string[] = [];
    for (const a of first?.areas ?? []) {
      descs.push(a.areaDesc);
      for (const pg of a.polygons) polygons.push(parsePolygon(pg));
      for (const c of a.circles) {
        const cc = parseCircle(c);
        if (cc.radiusKm > 0) circles.push(cc);
      }
      for (const g of a.geocodes) if (GEOCODE_NAMES.has(g.valueName)) for (const code of g.value.split(/\s+/)) if (area.byCode(code)) chosen.add(code);
    }
    const id = randomUUID();
    const row = await store.insert({
      id,
      identifier: m.identifier,
      origin: "import",
      state: "published",
      hazard: "other",
      sender: m.sender,
      sender_name: first?.senderName ?? m.sender,
      agency: null,
      status: m.status,
      msg_type: (["Alert", "Update", "Cancel"].includes(m.msgType) ? m.msgType : "Alert") as AlertRow["msg_type"],
      scope: m.scope,
      note: m.note ?? null,
      refs: m.references ?? null,
      categories: first?.categories ?? ["Other"],
      response_types: first?.responseTypes ?? [],
      urgency: first?.urgency ?? "Unknown",
      severity: first?.severity ?? "Unknown",
      certainty: first?.certainty ?? "Unknown",
      onset: first?.onset ? new Date(first.onset) : null,
      expires: first?.expires ? new Date(first.expires) : null,
      infos: m.infos.map((i) => ({
        language: i.language,
        event: i.event,
        headline: i.headline ?? i.event,
        description: i.description ?? "",
        instruction: i.instruction,
        web: i.web,
        contact: i.contact,
        senderName: i.senderName,
      })),
      parameters: first?.parameters ?? [],
      resources: first?.resources ?? [],
      area_desc: descs.join("; ").slice(0, 4000),
      chosen_communes: [...chosen],
      polygons,
      circles,
      communes: area.resolve({ communes: [...chosen], polygons, circles }),
      created_by_name: currentContext().actor.name,
      sent: new Date(m.sent),
      xml: original ?? capXml(m),
      import_source: source,
    });
    // An imported Update or Cancel ends the imported messages it names.
    if (m.references && row.msg_type !== "Alert")
      for (const tok of m.references.split(/\s+/)) {
        const ref = tok.match(REF_TOKEN);
        const prior = ref ? await store.byIdentifier(ref[1], ref[2]) : undefined;
        if (prior && prior.origin === "import" && !prior.ended_at) {
          const ended = await store.update(prior.id, {
            ended_at: new Date(),
            end_reason: row.msg_type === "Cancel" ? "cancelled" : "updated",
            superseded_by: id,
          });
          await record(ended, "end", { by: id });
        }
      }
    await record(row, "import", { source, capVersion: p.version, sender: m.sender, identifier: m.identifier });
    return { id, identifier: m.identifier, created: true };
  }

  return {
    store,
    toDto,
    capUrl,

    async get(id: string, actor: Actor): Promise<AlertDto> {
      const r = await mustGet(id);
      if (r.state !== "published" && !(actor.permissions.has("alerts:read") || actor.type === "system"))
        throw notFound(`No alert ${id}, or you have no access to it.`);
      return toDto(r);
    },
    /** A published message (feeds and CAP documents). */
    async published(id: string): Promise<AlertRow> {
      const r = UUID.test(id) ? await store.get(id) : undefined;
      if (r?.state !== "published") throw notFound(`No published alert ${id}.`);
      return r;
    },

    async list(
      q: {
        state?: string;
        current?: boolean;
        origin?: "sen" | "import";
        commune?: string;
        lat?: number;
        lon?: number;
        category?: string;
        severity?: string;
        hazard?: string;
        msgType?: string;
        status?: string;
        limit?: number;
        offset?: number;
      },
      actor: Actor,
    ): Promise<AlertDto[]> {
      const staff = actor.type === "system" || actor.permissions.has("alerts:read");
      const states = q.state ? (q.state.split(",") as AlertState[]) : staff ? undefined : ["published" as const];
      if (states?.some((s) => !["draft", "submitted", "published", "discarded"].includes(s)))
        throw badRequest("state: draft, submitted, published or discarded.");
      if (!staff && states?.some((s) => s !== "published")) throw forbidden("Only staff with alerts:read see unpublished alerts.");
      if ((q.lat === undefined) !== (q.lon === undefined)) throw badRequest("Give both lat and lon.");
      let communes = q.commune ? q.commune.split(",").filter(Boolean) : undefined;
      let pointCommune: string | undefined;
      if (q.lat !== undefined && q.lon !== undefined) {
        pointCommune = deps.locate(q.lat, q.lon);
        if (!pointCommune) return [];
        communes = [pointCommune];
      }
      const rank = q.severity ? SEVERITY_RANK[q.severity] : undefined;
      if (q.severity && rank === undefined) throw badRequest("severity: Extreme, Severe, Moderate, Minor or Unknown.");
      const limit = q.limit ?? 50;
      const rows = await store.list({
        states,
        current: q.current,
        origin: q.origin,
        communes,
        categories: q.category ? q.category.split(",") : undefined,
        minSeverityRank: rank,
        hazard: q.hazard,
        msgType: q.msgType,
        status: q.status,
        limit: pointCommune ? 500 : limit,
        offset: pointCommune ? 0 : (q.offset ?? 0),
      });
      // A point is in an alert's area when its commune was chosen or it lies under a shape.
      const hits =
        pointCommune !== undefined
          ? rows
              .filter(
                (r) =>
                  r.chosen_communes.includes(pointCommune as string) ||
                  area.inShapes({ polygons: r.polygons, circles: r.circles }, q.lat as number, q.lon as number),
              )
              .slice(q.offset ?? 0, (q.offset ?? 0) + limit)
          : rows;
      return hits.map(toDto);
    },

    create: (input: DraftInput, actor: Actor) =>
      db.tx(async () => {
        const r = await create(input, actor);
        await record(r, "draft");
        return toDto(r);
      }),

    edit: (id: string, input: DraftInput & { version: number }, actor: Actor) =>
      db.tx(async () => {
        const r = await lockForEdit(id, actor, ["draft"], input.version);
        const row = await store.update(r.id, await draftColumns(input, r));
        await record(row, "edit", { version: row.version });
        return toDto(row);
      }),

    submit: (id: string, actor: Actor) =>
      db.tx(async () => {
        const r = await lockForEdit(id, actor, ["draft"]);
        if (!r.communes.length && !r.polygons.length && !r.circles.length)
          throw badRequest("Choose the area (communes, a polygon or a circle) before submitting.");
        if (!r.infos.length || r.infos.some((i) => !i.headline.trim() || !i.event.trim())) throw badRequest("Every info needs an event and a headline.");
        if (r.expires && new Date(r.expires).getTime() <= Date.now()) throw badRequest("The alert would already be expired; change expires.");
        const row = await store.update(r.id, { state: "submitted", submitted_by: who(actor).id, submitted_at: new Date() });
        await record(row, "submit");
        return toDto(row);
      }),

    /** The second person: publishes a submitted draft. The author and the submitter may not. */
    async approve(id: string, actor: Actor) {
      const me = who(actor).id;
      const own = (r: AlertRow) => me !== null && (me === r.created_by || me === r.submitted_by);
      // The refusal is audited outside the transaction it would otherwise roll back with.
      const seen = UUID.test(id) ? await store.get(id) : undefined;
      if (seen && seen.state === "submitted" && mayEdit(actor, seen) && own(seen)) {
        await audit.record({ action: "alert.approve", targetType: "alert", targetId: seen.id, outcome: "denied", details: { reason: "own draft" } });
        throw new Problem(403, "own-draft", "You wrote or submitted this alert; a second officer must approve it.");
      }
      return db.tx(async () => {
        const r = await lockForEdit(id, actor, ["submitted"]);
        if (own(r)) throw new Problem(403, "own-draft", "You wrote or submitted this alert; a second officer must approve it.");
        if (r.expires && new Date(r.expires).getTime() <= Date.now()) throw conflict("The alert has expired meanwhile; return it to draft and change expires.");
        return toDto(await publishRow(r, actor, "publish"));
      });
    },

    reject: (id: string, reason: string, actor: Actor) =>
      db.tx(async () => {
        const r = await lockForEdit(id, actor, ["submitted"]);
        const row = await store.update(r.id, { state: "draft", submitted_by: null, submitted_at: null });
        await record(row, "reject", { reason });
        return toDto(row);
      }),

    discard: (id: string, actor: Actor) =>
      db.tx(async () => {
        const r = await lockForEdit(id, actor, ["draft", "submitted"]);
        const row = await store.update(r.id, { state: "discarded" });
        await record(row, "discard");
        return toDto(row);
      }),

    /** A draft Update of a published message, prefilled with its content; it goes through approval. */
    startUpdate: (id: string, actor: Actor) =>
      db.tx(async () => {
        const r = await lockForEdit(id, actor, ["published"]);
        if (r.msg_type === "Cancel" || r.ended_at) throw conflict("This message has ended; there is nothing to update.");
        if (await store.followUp(r.id)) throw conflict("An update or cancel of this alert is already being prepared.");
        const newId = randomUUID();
        const row = await store.insert({
          ...copyOf(r),
          id: newId,
          identifier: `urn:uuid:${newId}`,
          msg_type: "Update",
          references_id: r.id,
          created_by: who(actor).id,
          created_by_name: who(actor).name,
        });
        await record(row, "draft", { updates: r.id });
        return toDto(row);
      }),

    /**
     * Cancel a published message: a Cancel referencing it is published at once. Withdrawing a
     * warning lowers risk, so one officer with the approve right may do it (and is audited).
     */
    cancel: (id: string, input: { reason: string; note?: string }, actor: Actor) =>
      db.tx(async () => {
        const r = await lockForEdit(id, actor, ["published"]);
        if (r.msg_type === "Cancel" || (r.ended_at && r.end_reason !== "expired")) throw conflict("This message has already ended.");
        // A cancel supersedes an update being prepared.
        const pending = await store.followUp(r.id);
        if (pending) await record(await store.update(pending.id, { state: "discarded" }), "discard", { reason: "cancelled" });
        const newId = randomUUID();
        const until = new Date(Math.min(r.expires ? new Date(r.expires).getTime() : Number.POSITIVE_INFINITY, Date.now() + 24 * 3_600_000));
        const cancelRow = await store.insert({
          ...copyOf(r),
          id: newId,
          identifier: `urn:uuid:${newId}`,
          msg_type: "Cancel",
          state: "submitted",
          references_id: r.id,
          note: input.note ?? input.reason,
          response_types: ["AllClear"],
          urgency: "Past",
          expires: until.getTime() > Date.now() ? until : new Date(Date.now() + 3_600_000),
          infos: r.infos.map((t) => ({
            ...t,
            headline: `${t.language.startsWith("vi") ? "HỦY BỎ" : "CANCELLED"}: ${t.headline}`.slice(0, 400),
            description: input.reason,
            instruction: undefined,
          })),
          created_by: who(actor).id,
          created_by_name: who(actor).name,
          submitted_by: who(actor).id,
          submitted_at: new Date(),
        });
        await audit.record({ action: "alert.cancel.request", targetType: "alert", targetId: r.id, details: { reason: input.reason, cancel: newId } });
        return toDto(await publishRow(cancelRow, actor, "cancel"));
      }),

    /** End published messages whose expiry has passed (run periodically by every node). */
    expireDue: () =>
      db.tx(async () => {
        const due = await store.dueToExpire();
        for (const r of due) {
          const row = await store.update(r.id, { ended_at: r.expires as Date, end_reason: "expired" });
          await record(row, "expire");
        }
        return due.length;
      }),

    /** Preview: the communes an area touches, with names. */
    resolveArea(a: NonNullable<DraftInput["area"]>) {
      const { chosen, polygons, circles } = checkArea(a);
      if (!chosen.length && !polygons.length && !circles.length) throw badRequest("An area needs communes, a polygon or a circle.");
      return area.resolve({ communes: chosen, polygons, circles }).map((code) => {
        const c = area.byCode(code);
        return { code, name: c?.name ?? code, nameEn: c?.nameEn ?? code };
      });
    },

    /** Import a CAP document or an Atom/RSS feed; returns what was imported and what was refused, with reasons. */
    async importXml(xml: string, source: string) {
      const head = xml
        .replace(/^\uFEFF/, "")
        .replace(/<\?[\s\S]*?\?>|<!--[\s\S]*?-->/g, "")
        .trimStart();
      const isFeed = /^<([A-Za-z_][\w.-]*:)?(feed|rss)[\s>]/.test(head);
      try {
        if (!isFeed) {
          const parsed = parseCap(xml);
          const r = await db.tx(() => importOne(parsed, source, xml));
          return { imported: [r], refused: [] as Array<{ id: string; reasons: string[] }> };
        }
        const feed = parseFeed(xml);
        const imported: Array<{ id: string; identifier: string; created: boolean }> = [];
        const refused: Array<{ id: string; reasons: string[] }> = [];
        for (const e of feed.entries) {
          if (!e.parsed) refused.push({ id: e.id, reasons: e.reasons ?? [] });
          else imported.push(await db.tx(() => importOne(e.parsed as ParsedCap, e.link ?? source, null)));
        }
        return { imported, refused };
      } catch (err) {
        if (err instanceof CapImportError) {
          await audit.record({ action: "alert.import", outcome: "failure", details: { source, reasons: err.reasons.slice(0, 20) } });
          throw new Problem(422, "invalid-cap", "The document is not an acceptable CAP alert or feed.", { reasons: err.reasons.slice(0, 100) });
        }
        throw err;
      }
    },

    // Used by sensor drafts.
    createDraft: create,
    record,
    describe,
  };
}

/** The content of a message, for an Update or Cancel that starts from it. */
function copyOf(r: AlertRow): AlertWrite {
  return {
    origin: "sen",
    state: "draft",
    hazard: r.hazard,
    sender: r.sender,
    sender_name: r.sender_name,
    agency: r.agency,
    status: r.status,
    scope: r.scope,
    note: r.note,
    categories: r.categories,
    response_types: r.response_types,
    urgency: r.urgency,
    severity: r.severity,
    certainty: r.certainty,
    onset: r.onset,
    expires: r.expires,
    infos: r.infos,
    parameters: r.parameters,
    resources: r.resources,
    area_desc: r.area_desc,
    chosen_communes: r.chosen_communes,
    polygons: r.polygons,
    circles: r.circles,
    communes: r.communes,
    source_device: r.source_device,
  };
}

export type AlertsService = ReturnType<typeof alertsService>;
export { capDate };
