// The rules of indicators: metadata (elements, indicators, data sets, rules, categories, groups),
// data entry with validation, the approval chain that locks values, completeness, and bulk
// import/export of data value sets. Every change is audited in its own transaction; every value
// change keeps who, when, from and to.
import type { AuditService } from "../core/audit/service.ts";
import { type Actor, can } from "../core/context.ts";
import type { Db } from "../core/db.ts";
import { Problem, badRequest, conflict, forbidden, notFound } from "../core/errors.ts";
import type { EventBus } from "../core/events/bus.ts";
import { type AnalyticsQuery, runAnalytics } from "./analytics.ts";
import { ExpressionError, compare, evaluate, operands, parseExpression } from "./expression.ts";
import { DEFAULT_COC, type Model, buildModel, cocName, cocsOf, indicatorDeps } from "./model.ts";
import { type Period, type PeriodError, parsePeriod, periodOf, shift, today } from "./periods.ts";
import {
  type CategoryRow,
  type DataSetRow,
  type ElementRow,
  type GroupRow,
  type IndicatorRow,
  type NewValue,
  type OrgUnitRow,
  type RuleRow,
  type SubmissionRow,
  type SubmissionState,
  type ValueRow,
  indicatorsStore,
} from "./store.ts";
import { type DataValueIn, type DataValueOut, checkValue } from "./values.ts";

declare module "../core/events/bus.ts" {
  interface SenEvents {
    "indicators.metadata": { kind: string; id: string };
    "indicators.submission": { dataSet: string; orgUnit: string; period: string; state: SubmissionState; action: string; reason?: string | null };
  }
}

export interface IndicatorsDeps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  /** Called after commit with a period whose values were finally approved (Government export). */
  onApproved?: (pe: string) => Promise<void> | void;
}

export interface Violation {
  rule: string;
  name: string;
  importance: string;
  message: string;
  messageEn: string;
  left: number | null;
  operator: string;
  right: number | null;
}

export interface ImportConflict {
  row: number;
  field: string;
  value?: string;
  message: string;
}

export interface ImportSummary {
  status: "SUCCESS" | "ERROR";
  dryRun: boolean;
  importCount: { imported: number; updated: number; deleted: number; ignored: number };
  conflicts: ImportConflict[];
}

const LOCKED_STATES: SubmissionState[] = ["submitted", "agency_approved", "approved"];
const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);
const DAY = 86_400_000;

/** The moment a report is due: the end of the due day (Vietnam time) after the period ends. */
export function dueAt(ds: Pick<DataSetRow, "due_days">, p: Period): Date {
  return new Date(Date.parse(`${p.end}T23:59:59.999+07:00`) + ds.due_days * DAY);
}

export function indicatorsService({ db, audit, bus, onApproved }: IndicatorsDeps) {
  const store = indicatorsStore(db);
  let model: Model = buildModel({ units: [], groups: [], categories: [], elements: [], indicators: [], dataSets: [], rules: [], targets: [] });

  async function reload(): Promise<Model> {
    const [units, groups, categories, elements, indicators, dataSets, rules, targets] = await Promise.all([
      store.orgUnits(),
      store.groups(),
      store.categories(),
      store.elements(),
      store.indicators(),
      store.dataSets(),
      store.rules(),
      store.targets(),
    ]);
    model = buildModel({ units, groups, categories, elements, indicators, dataSets, rules, targets });
    return model;
  }

  /**
   * Record a metadata change in its transaction: audit it and tell other nodes. Each caller
   * reloads the model itself once the transaction is done (each reload is eight queries).
   */
  async function metadataChanged(kind: string, id: string, details: Record<string, unknown> = {}) {
    await audit.record({ action: `indicators.${kind}.put`, targetType: `indicators.${kind}`, targetId: id, details });
    await bus.publish("indicators.metadata", { kind, id }, "staff");
  }

  // ---------- who may do what
  const isAdmin = (a: Actor) => a.type === "system" || a.roles.includes("admin");
  /** The unit an actor enters data for (their agency's), if any. */
  const unitOf = (a: Actor) => (a.agency ? model.unitOfAgency.get(a.agency) : undefined);
  const canEnter = (a: Actor, ou: string) => isAdmin(a) || (can(a, "data:enter") && unitOf(a) === ou);
  const provinceAgency = () => (model.root ? model.units.get(model.root)?.agency_code : undefined);
  const isAgencyApprover = (a: Actor, ds: DataSetRow) => isAdmin(a) || (can(a, "data:approve") && !!a.agency && a.agency === ds.approver_agency);
  const isProvinceApprover = (a: Actor) => isAdmin(a) || (can(a, "data:approve") && !!a.agency && a.agency === provinceAgency());
  /** Commune reports go up through the data set's agency; an agency's own reports straight to the province. */
  const needsAgencyLevel = (ds: DataSetRow, ou: string) => !!ds.approver_agency && model.units.get(ou)?.kind === "commune";

  function mustDataSet(id: string): DataSetRow {
    const ds = model.dataSets.get(id);
    if (!ds) throw notFound(`No report form "${id.slice(0, 100)}".`);
    return ds;
  }

  /** Why values of (data set, unit, period) cannot be entered now, or undefined when they can. */
  function entryProblem(ds: DataSetRow, ou: string, pe: string, now: Date): { status: number; field: string; message: string } | undefined {
    let p: Period;
    try {
      p = parsePeriod(pe);
    } catch (err) {
      return { status: 400, field: "period", message: (err as Error).message };
    }
    if (p.type !== ds.period_type) return { status: 400, field: "period", message: `${pe} is not a ${ds.period_type} period (form ${ds.id})` };
    const day = today(now);
    if (p.start > day) return { status: 400, field: "period", message: `${pe} is in the future` };
    if (!model.units.has(ou)) return { status: 400, field: "orgUnit", message: `no organisation unit "${ou.slice(0, 80)}"` };
    if (!ds.units.includes(ou)) return { status: 400, field: "orgUnit", message: `${ou} is not assigned to form ${ds.id}` };
    if (ds.expiry_days > 0 && Date.parse(`${day}T00:00:00Z`) > Date.parse(`${p.end}T00:00:00Z`) + ds.expiry_days * DAY)
      return { status: 423, field: "period", message: `${pe} closed for entry ${ds.expiry_days} days after it ended` };
    return undefined;
  }

  function assertEntry(ds: DataSetRow, ou: string, pe: string, actor: Actor) {
    if (!model.units.has(ou)) throw notFound("No such organisation unit, or you have no access to it.");
    if (!canEnter(actor, ou)) throw forbidden(`You do not enter data for ${ou}.`);
    const p = entryProblem(ds, ou, pe, new Date());
    if (p) throw new Problem(p.status, p.status === 423 ? "locked" : "bad-request", p.message, { errors: [{ path: `/${p.field}`, message: p.message }] });
  }

  // ---------- validation rules
  function violations(ds: DataSetRow, values: Map<string, number>): Violation[] {
    const total = new Map<string, number>();
    for (const [k, v] of values) {
      const de = k.split("|")[0] as string;
      total.set(de, (total.get(de) ?? 0) + v);
    }
    const lookup = (op: { k: "de"; id: string; coc?: string } | { k: "ind"; id: string }) =>
      op.k === "de" ? (op.coc ? values.get(`${op.id}|${op.coc}`) : total.get(op.id)) : undefined;
    const out: Violation[] = [];
    for (const r of model.rules.values()) {
      if (r.data_set !== ds.id) continue;
      const l = evaluate(r.left, lookup);
      const rt = evaluate(r.right, lookup);
      // A side without any value is not checked (DHIS2's "skip if all values missing").
      if (l === undefined || rt === undefined) continue;
      if (!compare(l, r.operator, rt))
        out.push({ rule: r.id, name: r.name, importance: r.importance, message: r.message, messageEn: r.message_en, left: l, operator: r.operator, right: rt });
    }
    return out;
  }

  async function currentViolations(ds: DataSetRow, ou: string, pe: string): Promise<Violation[]> {
    const rows = await store.valuesOf(ou, pe, ds.elements);
    const m = new Map<string, number>();
    for (const r of rows) if (r.num !== null) m.set(`${r.de}|${r.coc}`, Number(r.num));
    return violations(ds, m);
  }

  // ---------- writing values (shared by forms, import and automatic sources)
  interface Change {
    key: { de: string; coc: string; ou: string; pe: string };
    next: NewValue | null;
  }

  /** Apply changes: unchanged ones skipped, the rest upserted or deleted with their history. */
  async function applyChanges(
    changes: Change[],
    source: string,
    actor: Actor,
  ): Promise<{ created: number; updated: number; deleted: number; unchanged: number }> {
    const current = new Map((await store.lockValues(changes.map((c) => c.key))).map((r) => [`${r.de}|${r.coc}|${r.ou}|${r.pe}`, r]));
    const upserts: NewValue[] = [];
    const deletes: Change["key"][] = [];
    const history: Parameters<typeof store.addHistory>[0] = [];
    let unchanged = 0;
    for (const c of changes) {
      const k = c.key;
      const old = current.get(`${k.de}|${k.coc}|${k.ou}|${k.pe}`);
      if (c.next === null) {
        if (!old) {
          unchanged++;
          continue;
        }
        deletes.push(k);
        history.push({ ...k, old: old.value, new: null, change: "delete" });
      } else {
        if (old && old.value === c.next.value && (old.comment ?? null) === c.next.comment) {
          unchanged++;
          continue;
        }
        upserts.push(c.next);
        history.push({ ...k, old: old?.value ?? null, new: c.next.value, change: old ? "update" : "create" });
      }
    }
    if (upserts.length) await store.upsertValues(upserts, source, actor.name);
    if (deletes.length) await store.deleteValues(deletes);
    if (history.length) await store.addHistory(history, source, actor.name, actor.id ?? null);
    return {
      created: history.filter((h) => h.change === "create").length,
      updated: history.filter((h) => h.change === "update").length,
      deleted: deletes.length,
      unchanged,
    };
  }

  const toValueOut = (r: ValueRow): DataValueOut => ({
    dataElement: r.de,
    period: r.pe,
    orgUnit: r.ou,
    categoryOptionCombo: r.coc,
    value: r.value,
    ...(r.comment ? { comment: r.comment } : {}),
    storedBy: r.stored_by,
    lastUpdated: iso(r.updated_at) as string,
  });

  const submissionDto = (s: SubmissionRow | undefined, ds: DataSetRow, ou: string, pe: string) => {
    const p = parsePeriod(pe);
    return {
      dataSet: ds.id,
      orgUnit: ou,
      period: pe,
      state: s?.state ?? ("draft" as SubmissionState),
      locked: s ? LOCKED_STATES.includes(s.state) : false,
      dueAt: dueAt(ds, p).toISOString(),
      submittedAt: iso(s?.submitted_at),
      submittedBy: s?.submitted_by ?? null,
      onTime: s?.on_time ?? null,
      agencyApprovedAt: iso(s?.agency_approved_at),
      agencyApprovedBy: s?.agency_approved_by ?? null,
      approvedAt: iso(s?.approved_at),
      approvedBy: s?.approved_by ?? null,
      returnedAt: iso(s?.returned_at),
      returnedBy: s?.returned_by ?? null,
      returnReason: s?.return_reason ?? null,
      needsAgencyApproval: needsAgencyLevel(ds, ou),
    };
  };

  async function transition(
    dsId: string,
    ou: string,
    pe: string,
    actor: Actor,
    action: "submit" | "approve" | "return",
    reason?: string,
  ): Promise<ReturnType<typeof submissionDto>> {
    const ds = mustDataSet(dsId);
    if (!model.units.has(ou)) throw notFound("No such organisation unit, or you have no access to it.");
    let p: Period;
    try {
      p = parsePeriod(pe);
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    const result = await db.tx(async () => {
      await store.ensureSubmission(ds.id, ou, pe);
      const s = (await store.lockSubmission(ds.id, ou, pe)) as SubmissionRow;
      const now = new Date();
      let patch: Partial<SubmissionRow>;
      if (action === "submit") {
        if (!canEnter(actor, ou)) throw forbidden(`You do not submit reports for ${ou}.`);
        if (LOCKED_STATES.includes(s.state)) throw conflict(`This report is already ${s.state.replace("_", " ")}.`);
        const prob = entryProblem(ds, ou, pe, now);
        if (prob) throw new Problem(prob.status, prob.status === 423 ? "locked" : "bad-request", prob.message);
        const v = await currentViolations(ds, ou, pe);
        if (v.length) throw new Problem(422, "validation-failed", v.map((x) => x.message).join("; "), { violations: v });
        patch = {
          state: "submitted",
          submitted_at: now,
          submitted_by: actor.name,
          on_time: now.getTime() <= dueAt(ds, p).getTime(),
          return_reason: null,
        };
      } else if (action === "approve") {
        if (s.state === "submitted" && needsAgencyLevel(ds, ou)) {
          if (!isAgencyApprover(actor, ds)) throw forbidden(`Only ${ds.approver_agency} approves this report at the agency level.`);
          patch = { state: "agency_approved", agency_approved_at: now, agency_approved_by: actor.name };
        } else if (s.state === "submitted" || s.state === "agency_approved") {
          if (!isProvinceApprover(actor)) throw forbidden("Only the province approves this report at this level.");
          patch = { state: "approved", approved_at: now, approved_by: actor.name };
        } else throw conflict(s.state === "approved" ? "This report is already approved." : "Only a submitted report can be approved.");
      } else {
        if (!reason?.trim()) throw badRequest("Give the reason for returning the report.", { errors: [{ path: "/reason", message: "required" }] });
        const allowed =
          (s.state === "submitted" && (needsAgencyLevel(ds, ou) ? isAgencyApprover(actor, ds) : isProvinceApprover(actor))) ||
          ((s.state === "agency_approved" || s.state === "approved") && isProvinceApprover(actor));
        if (!LOCKED_STATES.includes(s.state)) throw conflict("Only a submitted or approved report can be returned.");
        if (!allowed) throw forbidden("You cannot return this report at its present level.");
        patch = {
          state: "returned",
          returned_at: now,
          returned_by: actor.name,
          return_reason: reason.trim(),
          approved_at: null,
          approved_by: null,
          agency_approved_at: null,
          agency_approved_by: null,
        };
      }
      const row = (await store.updateSubmission(ds.id, ou, pe, patch)) as SubmissionRow;
      const recorded = action === "approve" ? (row.state === "approved" ? "approve" : "approve_agency") : action;
      await store.addSubmissionHistory(ds.id, ou, pe, recorded, reason ?? null, actor.name);
      await audit.record({
        action: `indicators.report.${recorded}`,
        targetType: "indicators.report",
        targetId: `${ds.id}/${ou}/${pe}`,
        details: { state: row.state, ...(reason ? { reason } : {}) },
      });
      const unitAgency = model.units.get(ou)?.agency_code;
      for (const audience of new Set([unitAgency, ds.approver_agency, provinceAgency()]))
        if (audience)
          await bus.publish(
            "indicators.submission",
            { dataSet: ds.id, orgUnit: ou, period: pe, state: row.state, action: recorded, reason: reason ?? null },
            `agency:${audience}`,
          );
      if (row.state === "approved" && onApproved) db.afterCommit(() => onApproved(pe));
      return row;
    });
    return submissionDto(result, ds, ou, pe);
  }

  // ---------- metadata validation
  const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
  const field = (path: string, message: string) => badRequest(`${path.slice(1)}: ${message}`, { errors: [{ path, message }] });

  function checkExpression(src: string, path: string, selfId?: string) {
    let e: ReturnType<typeof parseExpression>;
    try {
      e = parseExpression(src, (id) => model.elements.has(id));
    } catch (err) {
      if (err instanceof ExpressionError) throw field(path, err.message);
      throw err;
    }
    for (const op of operands(e)) {
      if (op.k === "de") {
        const el = model.elements.get(op.id);
        if (!el) throw field(path, `no data element "${op.id}"`);
        if (op.coc && !cocsOf(model, el).includes(op.coc)) throw field(path, `"${op.coc}" is not a disaggregation of ${op.id}`);
        if (el.value_type === "text") throw field(path, `${op.id} holds text, not numbers`);
      } else {
        if (!model.indicators.has(op.id)) throw field(path, `no indicator "${op.id}"`);
        if (selfId && (op.id === selfId || indicatorDeps(model, [model.indicators.get(op.id)!.num, model.indicators.get(op.id)!.den]).has(selfId)))
          throw field(path, `indicator ${selfId} would depend on itself`);
      }
    }
    return e;
  }

  return {
    store,
    reload,
    model: () => model,
    dueAt,

    // ---------- organisation units (mirrored from geo and core.agencies)
    async syncUnits(input: {
      province: { code: string; name: string; nameEn: string; agency: string };
      communes: Array<{ code: string; name: string; nameEn: string; unitType: string }>;
      agencies: Array<{ code: string; name: string; nameEn: string; kind: string }>;
    }): Promise<number> {
      return db.tx(async () => {
        const rows: OrgUnitRow[] = [
          {
            id: input.province.code,
            kind: "province",
            name: input.province.name,
            name_en: input.province.nameEn,
            parent: null,
            agency_code: input.province.agency,
            sub_type: null,
          },
          ...input.communes.map(
            (c): OrgUnitRow => ({
              id: c.code,
              kind: "commune",
              name: c.name,
              name_en: c.nameEn,
              parent: input.province.code,
              agency_code: `UBND-${c.code}`,
              sub_type: c.unitType,
            }),
          ),
          ...input.agencies
            .filter((a) => a.kind === "department" || a.kind === "other")
            .map(
              (a): OrgUnitRow => ({
                id: a.code,
                kind: "agency",
                name: a.name,
                name_en: a.nameEn,
                parent: input.province.code,
                agency_code: a.code,
                sub_type: a.kind,
              }),
            ),
        ];
        for (const r of rows) await store.upsertOrgUnit(r);
        const communes = rows.filter((r) => r.kind === "commune");
        const builtin = [
          { id: "communes", name: "Xã, phường", name_en: "Communes and wards", members: communes.map((c) => c.id) },
          { id: "wards", name: "Phường", name_en: "Wards", members: communes.filter((c) => /phường|ward/i.test(c.sub_type ?? "")).map((c) => c.id) },
          {
            id: "rural-communes",
            name: "Xã",
            name_en: "Rural communes",
            members: communes.filter((c) => !/phường|ward/i.test(c.sub_type ?? "")).map((c) => c.id),
          },
          { id: "departments", name: "Sở, ban, ngành", name_en: "Departments and agencies", members: rows.filter((r) => r.kind === "agency").map((r) => r.id) },
        ];
        for (const g of builtin) await store.putGroup({ ...g, builtin: true });
        db.afterCommit(() => reload().then(() => undefined));
        return rows.length;
      });
    },

    // ---------- metadata
    async putCategory(c: { id: string; name: string; nameEn: string; options: Array<{ code: string; name: string; nameEn: string }> }) {
      if (!/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(c.id)) throw field("/id", "lower-case letters, digits, _ . - (up to 64)");
      const codes = new Set<string>();
      c.options.forEach((o, i) => {
        if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(o.code)) throw field(`/options/${i}/code`, "lower-case letters, digits and - (up to 40)");
        if (codes.has(o.code)) throw field(`/options/${i}/code`, `"${o.code}" twice`);
        codes.add(o.code);
      });
      if (c.options.length === 0) throw field("/options", "give at least one option");
      const existing = model.categories.get(c.id);
      // Options in use by stored values may not disappear (their values would become unreadable).
      if (existing) {
        const gone = existing.options.filter((o) => !codes.has(o.code)).map((o) => o.code);
        if (gone.length && [...model.elements.values()].some((e) => e.categories.includes(c.id)))
          throw field("/options", `options ${gone.join(", ")} are used by data elements; add options, do not remove them`);
      }
      const row: CategoryRow = { id: c.id, name: c.name, name_en: c.nameEn, options: c.options };
      await db.tx(async () => {
        await store.putCategory(row);
        await metadataChanged("category", c.id);
      });
      await reload();
      return row;
    },

    async putElement(e: {
      id: string;
      name: string;
      nameEn: string;
      description?: string;
      valueType: ElementRow["value_type"];
      aggregation?: ElementRow["aggregation"];
      categories?: string[];
      unit?: string;
      min?: number | null;
      max?: number | null;
    }) {
      if (!ID.test(e.id)) throw field("/id", "letters, digits, _ . - (up to 100)");
      if (model.indicators.has(e.id) && !model.targets.some((t) => t.id === e.id))
        throw field("/id", `an indicator is called ${e.id}; give the element another id`);
      for (const [i, c] of (e.categories ?? []).entries()) if (!model.categories.has(c)) throw field(`/categories/${i}`, `no category "${c}"`);
      const old = model.elements.get(e.id);
      if (old && old.categories.join(",") !== (e.categories ?? []).join(",")) {
        const used = await db.one("SELECT 1 FROM indicators.data_values WHERE de = $1 LIMIT 1", [e.id]);
        if (used) throw field("/categories", "this element has values; its disaggregations cannot change");
      }
      const row: ElementRow = {
        id: e.id,
        name: e.name,
        name_en: e.nameEn,
        description: e.description ?? "",
        value_type: e.valueType,
        aggregation: e.aggregation ?? "sum",
        categories: e.categories ?? [],
        unit: e.unit ?? "",
        min_value: e.min ?? null,
        max_value: e.max ?? null,
      };
      await db.tx(async () => {
        await store.putElement(row);
        await metadataChanged("element", e.id);
      });
      await reload();
      return row;
    },

    async putIndicator(i: {
      id: string;
      name: string;
      nameEn: string;
      description?: string;
      numerator: string;
      denominator?: string;
      factor?: number;
      decimals?: number;
      unit?: string;
      sector?: string | null;
    }) {
      if (!ID.test(i.id)) throw field("/id", "letters, digits, _ . - (up to 100)");
      checkExpression(i.numerator, "/numerator", i.id);
      checkExpression(i.denominator ?? "1", "/denominator", i.id);
      const row: IndicatorRow = {
        id: i.id,
        name: i.name,
        name_en: i.nameEn,
        description: i.description ?? "",
        numerator: i.numerator,
        denominator: i.denominator ?? "1",
        factor: i.factor ?? 1,
        decimals: i.decimals ?? 1,
        unit: i.unit ?? "",
        sector: i.sector ?? null,
      };
      await db.tx(async () => {
        await store.putIndicator(row);
        await metadataChanged("indicator", i.id);
      });
      await reload();
      return row;
    },

    async putDataSet(d: {
      id: string;
      name: string;
      nameEn: string;
      description?: string;
      periodType: DataSetRow["period_type"];
      elements: string[];
      units: string[];
      dueDays?: number;
      expiryDays?: number;
      approverAgency?: string | null;
    }) {
      if (!ID.test(d.id)) throw field("/id", "letters, digits, _ . - (up to 100)");
      d.elements.forEach((e, i) => {
        if (!model.elements.has(e)) throw field(`/elements/${i}`, `no data element "${e}"`);
      });
      if (new Set(d.elements).size !== d.elements.length) throw field("/elements", "an element is listed twice");
      const units = new Set<string>();
      for (const [i, u] of d.units.entries()) {
        if (u.startsWith("OU_GROUP-")) {
          const g = model.groups.get(u.slice(9));
          if (!g) throw field(`/units/${i}`, `no group "${u.slice(9)}"`);
          for (const m of g.members) units.add(m);
        } else if (!model.units.has(u)) throw field(`/units/${i}`, `no organisation unit "${u}"`);
        else units.add(u);
      }
      if (d.approverAgency && ![...model.units.values()].some((u) => u.agency_code === d.approverAgency))
        throw field("/approverAgency", `no agency "${d.approverAgency}"`);
      const row: DataSetRow = {
        id: d.id,
        name: d.name,
        name_en: d.nameEn,
        description: d.description ?? "",
        period_type: d.periodType,
        elements: d.elements,
        due_days: d.dueDays ?? 10,
        expiry_days: d.expiryDays ?? 0,
        approver_agency: d.approverAgency ?? null,
        units: [...units].sort(),
      };
      await db.tx(async () => {
        await store.putDataSet(row);
        await metadataChanged("dataSet", d.id, { units: row.units.length, elements: row.elements.length });
      });
      await reload();
      return row;
    },

    async putRule(r: {
      id: string;
      dataSet: string;
      name: string;
      left: string;
      operator: RuleRow["operator"];
      right: string;
      message: string;
      messageEn: string;
      importance?: RuleRow["importance"];
    }) {
      if (!ID.test(r.id)) throw field("/id", "letters, digits, _ . - (up to 100)");
      const ds = model.dataSets.get(r.dataSet);
      if (!ds) throw field("/dataSet", `no report form "${r.dataSet}"`);
      for (const [side, src] of [
        ["/left", r.left],
        ["/right", r.right],
      ] as const) {
        const e = checkExpression(src, side);
        for (const op of operands(e)) {
          if (op.k === "ind") throw field(side, "a validation rule uses data elements of its form, not indicators");
          if (!ds.elements.includes(op.id)) throw field(side, `${op.id} is not on form ${ds.id}`);
        }
      }
      const row: RuleRow = {
        id: r.id,
        data_set: r.dataSet,
        name: r.name,
        left_side: r.left,
        operator: r.operator,
        right_side: r.right,
        message: r.message,
        message_en: r.messageEn,
        importance: r.importance ?? "medium",
      };
      await db.tx(async () => {
        await store.putRule(row);
        await metadataChanged("rule", r.id);
      });
      await reload();
      return row;
    },

    async deleteRule(id: string) {
      await db.tx(async () => {
        const gone = await store.deleteRule(id);
        if (gone.length === 0) throw notFound("No such validation rule.");
        await audit.record({ action: "indicators.rule.delete", targetType: "indicators.rule", targetId: id });
        await bus.publish("indicators.metadata", { kind: "rule", id }, "staff");
      });
      await reload();
    },

    async putGroup(g: { id: string; name: string; nameEn: string; members: string[] }) {
      if (!/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(g.id)) throw field("/id", "lower-case letters, digits, _ . - (up to 64)");
      if (model.groups.get(g.id)?.builtin) throw field("/id", `${g.id} is a built-in group`);
      g.members.forEach((m, i) => {
        if (!model.units.has(m)) throw field(`/members/${i}`, `no organisation unit "${m}"`);
      });
      const row = { id: g.id, name: g.name, name_en: g.nameEn, builtin: false, members: [...new Set(g.members)].sort() };
      await db.tx(async () => {
        await store.putGroup(row);
        await metadataChanged("group", g.id);
      });
      await reload();
      return row as GroupRow;
    },

    // ---------- forms
    /** The forms an actor fills: for their unit, the current and recent periods with their state. */
    async myForms(actor: Actor, now = new Date()) {
      const ou = unitOf(actor);
      const mine = [...model.dataSets.values()].filter((ds) => (ou ? ds.units.includes(ou) : false));
      const out = [];
      for (const ds of mine) {
        const cur = periodOf(ds.period_type, today(now));
        // The last completed period is the one due; the current one may be filled ahead.
        const pes = [shift(cur, -2), shift(cur, -1), cur];
        const subs = await store.submissionsFor({ dataSets: [ds.id], pes: pes.map((p) => p.id), ous: [ou as string] });
        for (const p of pes) {
          const s = subs.find((x) => x.pe === p.id);
          const dto = submissionDto(s, ds, ou as string, p.id);
          out.push({ ...dto, name: ds.name, nameEn: ds.name_en, periodType: ds.period_type, overdue: !dto.locked && Date.parse(dto.dueAt) < now.getTime() });
        }
      }
      return { orgUnit: ou ?? null, forms: out };
    },

    /** One form of one unit for one period: its fields, values, state and rule violations. */
    async form(dsId: string, ou: string, pe: string, actor: Actor) {
      const ds = mustDataSet(dsId);
      const unit = model.units.get(ou);
      if (!unit) throw notFound("No such organisation unit, or you have no access to it.");
      let p: Period;
      try {
        p = parsePeriod(pe);
      } catch (err) {
        throw badRequest(`period: ${(err as Error).message}`);
      }
      if (p.type !== ds.period_type) throw badRequest(`period: ${pe} is not a ${ds.period_type} period`);
      const [rows, s, history] = await Promise.all([
        store.valuesOf(ou, pe, ds.elements),
        store.submission(ds.id, ou, pe),
        store.submissionHistory(ds.id, ou, pe),
      ]);
      const sub = submissionDto(s, ds, ou, pe);
      const problem = entryProblem(ds, ou, pe, new Date());
      return {
        dataSet: { id: ds.id, name: ds.name, nameEn: ds.name_en, description: ds.description, periodType: ds.period_type },
        orgUnit: { id: unit.id, name: unit.name, nameEn: unit.name_en },
        period: p,
        fields: ds.elements.map((id) => {
          const e = model.elements.get(id) as ElementRow;
          return {
            dataElement: e.id,
            name: e.name,
            nameEn: e.name_en,
            description: e.description,
            valueType: e.value_type,
            unit: e.unit,
            min: e.min_value,
            max: e.max_value,
            disaggregations: cocsOf(model, e).map((coc) => ({ id: coc, name: cocName(model, e, coc), nameEn: cocName(model, e, coc, true) })),
          };
        }),
        values: rows.map(toValueOut),
        submission: sub,
        history: history.map((h) => ({ ...h, at: iso(h.at) })),
        canEdit: !sub.locked && !problem && canEnter(actor, ou),
        editProblem: sub.locked ? `locked: ${sub.state}` : (problem?.message ?? (canEnter(actor, ou) ? null : "not your unit")),
        canApprove:
          (sub.state === "submitted" && (needsAgencyLevel(ds, ou) ? isAgencyApprover(actor, ds) : isProvinceApprover(actor))) ||
          (sub.state === "agency_approved" && isProvinceApprover(actor)),
        violations: await currentViolations(ds, ou, pe),
      };
    },

    /** Save values of one form (all or nothing); returns the rule violations after the save. */
    async saveValues(
      dsId: string,
      ou: string,
      pe: string,
      values: Array<{ dataElement: string; categoryOptionCombo?: string; value: unknown; comment?: string }>,
      actor: Actor,
    ) {
      const ds = mustDataSet(dsId);
      assertEntry(ds, ou, pe, actor);
      const p = parsePeriod(pe);
      const errors: Array<{ path: string; message: string }> = [];
      const changes: Change[] = [];
      const seen = new Set<string>();
      const check = (v: (typeof values)[number], i: number) => {
        const e = model.elements.get(v.dataElement);
        if (!e || !ds.elements.includes(v.dataElement))
          return errors.push({ path: `/values/${i}/dataElement`, message: `${String(v.dataElement).slice(0, 100)} is not on form ${ds.id}` });
        const coc = v.categoryOptionCombo ?? DEFAULT_COC;
        if (!cocsOf(model, e).includes(coc))
          return errors.push({ path: `/values/${i}/categoryOptionCombo`, message: `"${coc.slice(0, 60)}" is not a disaggregation of ${e.id}` });
        const k = `${e.id}|${coc}`;
        if (seen.has(k)) return errors.push({ path: `/values/${i}`, message: `${e.id} ${coc} given twice` });
        seen.add(k);
        const key = { de: e.id, coc, ou, pe };
        if (v.value === null || v.value === "") return changes.push({ key, next: null });
        const c = checkValue(e, v.value);
        if (!c.ok) return errors.push({ path: `/values/${i}/value`, message: `${e.id}: ${c.message}` });
        changes.push({ key, next: { ...key, start: p.start, end: p.end, value: c.value, num: c.num, comment: v.comment?.trim() || null } });
      };
      values.forEach((v, i) => void check(v, i));
      if (errors.length) throw badRequest(errors.map((e) => `${e.path}: ${e.message}`).join("; "), { errors });
      const result = await db.tx(async () => {
        await store.ensureSubmission(ds.id, ou, pe);
        const s = await store.lockSubmission(ds.id, ou, pe);
        if (s && LOCKED_STATES.includes(s.state))
          throw new Problem(423, "locked", `This report is ${s.state.replace("_", " ")}: its values are locked. Ask the approver to return it for correction.`);
        const counts = await applyChanges(changes, "entry", actor);
        if (counts.created + counts.updated + counts.deleted > 0)
          await audit.record({ action: "indicators.values.save", targetType: "indicators.report", targetId: `${ds.id}/${ou}/${pe}`, details: counts });
        return counts;
      });
      return { ...result, violations: await currentViolations(ds, ou, pe) };
    },

    submit: (ds: string, ou: string, pe: string, actor: Actor) => transition(ds, ou, pe, actor, "submit"),
    approve: (ds: string, ou: string, pe: string, actor: Actor) => transition(ds, ou, pe, actor, "approve"),
    returnForCorrection: (ds: string, ou: string, pe: string, reason: string, actor: Actor) => transition(ds, ou, pe, actor, "return", reason),

    /** Reports waiting for this actor's approval. */
    async approvals(actor: Actor) {
      const rows = await store.submissionsByState(["submitted", "agency_approved"], 2000);
      return rows
        .filter((s) => {
          const ds = model.dataSets.get(s.data_set);
          if (!ds) return false;
          if (s.state === "submitted") return needsAgencyLevel(ds, s.ou) ? isAgencyApprover(actor, ds) : isProvinceApprover(actor);
          return isProvinceApprover(actor);
        })
        .map((s) => {
          const ds = model.dataSets.get(s.data_set) as DataSetRow;
          const u = model.units.get(s.ou);
          return { ...submissionDto(s, ds, s.ou, s.pe), name: ds.name, nameEn: ds.name_en, orgUnitName: u?.name ?? s.ou, orgUnitNameEn: u?.name_en ?? s.ou };
        });
    },

    /** Expected, received and on-time reports of a form for periods, per unit. */
    async completeness(dsId: string, pes: string[], ous?: string[]) {
      const ds = mustDataSet(dsId);
      const periods = pes.map((pe) => {
        try {
          return parsePeriod(pe);
        } catch (err) {
          throw badRequest(`period: ${(err as PeriodError).message}`);
        }
      });
      for (const p of periods) if (p.type !== ds.period_type) throw badRequest(`period: ${p.id} is not a ${ds.period_type} period`);
      const units = ous ? ds.units.filter((u) => ous.includes(u)) : ds.units;
      const subs = await store.submissionsFor({ dataSets: [ds.id], pes: periods.map((p) => p.id), ous: units });
      const byKey = new Map(subs.map((s) => [`${s.ou}|${s.pe}`, s]));
      const now = Date.now();
      return periods.map((p) => {
        const rows = units.map((ou) => {
          const s = byKey.get(`${ou}|${p.id}`);
          const received = !!s && LOCKED_STATES.includes(s.state);
          const u = model.units.get(ou);
          return {
            orgUnit: ou,
            name: u?.name ?? ou,
            nameEn: u?.name_en ?? ou,
            state: s?.state ?? "draft",
            received,
            onTime: received ? !!s?.on_time : false,
            overdue: !received && dueAt(ds, p).getTime() < now,
          };
        });
        const received = rows.filter((r) => r.received).length;
        const onTime = rows.filter((r) => r.onTime).length;
        return {
          period: p.id,
          dueAt: dueAt(ds, p).toISOString(),
          expected: rows.length,
          received,
          onTime,
          approved: rows.filter((r) => r.state === "approved").length,
          completeness: rows.length ? Math.round((received / rows.length) * 1000) / 10 : null,
          timeliness: rows.length ? Math.round((onTime / rows.length) * 1000) / 10 : null,
          units: rows,
        };
      });
    },

    // ---------- bulk import and export (DHIS2 dataValueSets)
    /**
     * Import values, all or nothing: every row is checked first (element, disaggregation, period,
     * unit, the unit's form and its lock, the value); any conflict rejects the whole file.
     */
    async importValues(rows: Array<DataValueIn & { row?: number }>, actor: Actor, opts: { dryRun?: boolean; source?: string } = {}): Promise<ImportSummary> {
      const conflicts: ImportConflict[] = [];
      const changes: Change[] = [];
      const now = new Date();
      const seen = new Set<string>();
      const forms = new Map<string, DataSetRow[]>(); // element → data sets holding it
      for (const ds of model.dataSets.values()) for (const e of ds.elements) forms.set(e, [...(forms.get(e) ?? []), ds]);
      const lockKeys = new Map<string, { ds: string; ou: string; pe: string; rows: number[] }>();
      const check = (v: (typeof rows)[number], i: number) => {
        const row = v.row ?? i + 1;
        const add = (field: string, message: string, value?: unknown) =>
          conflicts.push({ row, field, message, ...(value === undefined || value === null ? {} : { value: String(value).slice(0, 100) }) });
        const e = model.elements.get(String(v.dataElement ?? ""));
        if (!e) return add("dataElement", `no data element "${String(v.dataElement ?? "").slice(0, 100)}"`, v.dataElement);
        const coc = v.categoryOptionCombo || DEFAULT_COC;
        if (!cocsOf(model, e).includes(coc)) return add("categoryOptionCombo", `"${coc.slice(0, 60)}" is not a disaggregation of ${e.id}`, coc);
        let p: Period;
        try {
          p = parsePeriod(String(v.period ?? ""));
        } catch (err) {
          return add("period", (err as Error).message, v.period);
        }
        const ou = String(v.orgUnit ?? "");
        if (!model.units.has(ou)) return add("orgUnit", `no organisation unit "${ou.slice(0, 80)}"`, ou);
        if (!canEnter(actor, ou)) return add("orgUnit", `you do not enter data for ${ou}`, ou);
        const candidates = (forms.get(e.id) ?? []).filter((ds) => ds.period_type === p.type);
        const ds = candidates.find((d) => d.units.includes(ou));
        if (!ds)
          return add(
            "orgUnit",
            candidates.length ? `${ou} is not assigned to a ${p.type} form holding ${e.id}` : `${e.id} is on no ${p.type} form (period ${p.id})`,
            ou,
          );
        const prob = entryProblem(ds, ou, p.id, now);
        if (prob) return add(prob.field, prob.message, prob.field === "period" ? p.id : ou);
        const k = `${e.id}|${coc}|${ou}|${p.id}`;
        if (seen.has(k)) return add("dataElement", `the same value (${e.id} ${coc} ${ou} ${p.id}) appears twice in the file`);
        seen.add(k);
        const key = { de: e.id, coc, ou, pe: p.id };
        const lk = `${ds.id}|${ou}|${p.id}`;
        const l = lockKeys.get(lk) ?? { ds: ds.id, ou, pe: p.id, rows: [] };
        l.rows.push(row);
        lockKeys.set(lk, l);
        if (v.value === null || v.value === undefined || v.value === "") return changes.push({ key, next: null });
        const c = checkValue(e, v.value);
        if (!c.ok) return add("value", `${e.id}: ${c.message}`, v.value);
        const comment = typeof v.comment === "string" ? v.comment.trim().slice(0, 2000) || null : null;
        changes.push({ key, next: { ...key, start: p.start, end: p.end, value: c.value, num: c.num, comment } });
      };
      rows.forEach((v, i) => void check(v, i));
      const summary = (status: ImportSummary["status"], counts = { imported: 0, updated: 0, deleted: 0, ignored: 0 }): ImportSummary => ({
        status,
        dryRun: !!opts.dryRun,
        importCount: counts,
        conflicts: conflicts.sort((a, b) => a.row - b.row).slice(0, 1000),
      });
      if (conflicts.length) return summary("ERROR");
      return db.tx(async () => {
        // Locks are checked again inside the transaction, where they cannot change under us.
        for (const l of lockKeys.values()) {
          const s = await store.submission(l.ds, l.ou, l.pe);
          if (s && LOCKED_STATES.includes(s.state))
            for (const row of l.rows)
              conflicts.push({ row, field: "period", value: l.pe, message: `form ${l.ds} of ${l.ou} for ${l.pe} is ${s.state.replace("_", " ")}: locked` });
        }
        if (conflicts.length) return summary("ERROR");
        if (opts.dryRun)
          return summary("SUCCESS", { imported: changes.filter((c) => c.next).length, updated: 0, deleted: changes.filter((c) => !c.next).length, ignored: 0 });
        for (const l of lockKeys.values()) await store.ensureSubmission(l.ds, l.ou, l.pe);
        const counts = await applyChanges(changes, opts.source ?? "import", actor);
        await audit.record({ action: "indicators.values.import", targetType: "indicators.values", details: { ...counts, rows: rows.length } });
        return summary("SUCCESS", { imported: counts.created, updated: counts.updated, deleted: counts.deleted, ignored: counts.unchanged });
      });
    },

    /** Values of data sets or elements, for units and a period range (JSON/CSV/XLSX export). */
    async exportValues(f: {
      dataSets?: string[];
      elements?: string[];
      periods?: string[];
      startDate?: string;
      endDate?: string;
      orgUnits?: string[];
      children?: boolean;
      limit?: number;
    }) {
      const elements = new Set(f.elements ?? []);
      for (const id of f.dataSets ?? []) for (const e of mustDataSet(id).elements) elements.add(e);
      for (const e of elements) if (!model.elements.has(e)) throw badRequest(`dataElement: no data element "${e.slice(0, 100)}"`);
      if (elements.size === 0) throw badRequest("give dataSet or dataElement");
      let start = f.startDate;
      let end = f.endDate;
      for (const pe of f.periods ?? []) {
        let p: Period;
        try {
          p = parsePeriod(pe);
        } catch (err) {
          throw badRequest(`period: ${(err as Error).message}`);
        }
        start = !start || p.start < start ? p.start : start;
        end = !end || p.end > end ? p.end : end;
      }
      if (!start || !end) throw badRequest("give period, or startDate and endDate");
      let units: string[] | null = null;
      if (f.orgUnits?.length) {
        units = [];
        for (const u of f.orgUnits) {
          if (!model.units.has(u)) throw badRequest(`orgUnit: no organisation unit "${u.slice(0, 80)}"`);
          units.push(u);
          if (f.children) for (const c of model.children.get(u) ?? []) units.push(c);
        }
      }
      const rows = await store.exportValues({ elements: [...elements], units, start, end, limit: f.limit ?? 1_000_000 });
      return rows.map(toValueOut);
    },

    async valueHistory(f: { de?: string; ou?: string; pe?: string; limit?: number }) {
      const rows = await store.history({ ...f, limit: f.limit ?? 200 });
      return rows.map((r) => ({
        dataElement: r.de,
        categoryOptionCombo: r.coc,
        orgUnit: r.ou,
        period: r.pe,
        previousValue: r.old_value,
        value: r.new_value,
        change: r.change,
        source: r.source,
        changedBy: r.changed_by,
        at: iso(r.at) as string,
      }));
    },

    /**
     * Replace what an automatic source holds for some periods with freshly computed values (no
     * access checks: the system writes them). Unchanged values are left alone, so a refresh that
     * finds nothing new writes nothing.
     */
    async writeSourceValues(source: string, pes: string[], values: Array<{ de: string; coc?: string; ou: string; pe: string; value: number }>, actor: Actor) {
      return db.tx(async () => {
        const changes: Change[] = [];
        const fresh = new Set<string>();
        for (const v of values) {
          const p = parsePeriod(v.pe);
          const key = { de: v.de, coc: v.coc ?? DEFAULT_COC, ou: v.ou, pe: p.id };
          fresh.add(`${key.de}|${key.coc}|${key.ou}|${key.pe}`);
          changes.push({ key, next: { ...key, start: p.start, end: p.end, value: String(v.value), num: v.value, comment: null } });
        }
        for (const old of await store.sourceValues(`auto:${source}`, pes))
          if (!fresh.has(`${old.de}|${old.coc}|${old.ou}|${old.pe}`)) changes.push({ key: { de: old.de, coc: old.coc, ou: old.ou, pe: old.pe }, next: null });
        return applyChanges(changes, `auto:${source}`, actor);
      });
    },

    analytics: (q: AnalyticsQuery) => runAnalytics(db, model, q),
  };
}

export type IndicatorsService = ReturnType<typeof indicatorsService>;
