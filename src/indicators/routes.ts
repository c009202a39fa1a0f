// HTTP routes of indicators: metadata, report forms and their approval, completeness, DHIS2-shaped
// dataValueSets and analytics (JSON, CSV, XLSX), the plan's scorecard and tasks, automatic
// sources and the Government export. Rules live in the services; this file does HTTP only.
import type { FastifyInstance, FastifyReply } from "fastify";
import Papa from "papaparse";
import { badRequest } from "../core/errors.ts";
import { errors } from "../core/http/schemas.ts";
import { typed } from "../core/http/server.ts";
import type { AnalyticsQuery, AnalyticsResult } from "./analytics.ts";
import type { GovExport } from "./govexport.ts";
import { parsePeriods } from "./analytics.ts";
import type { PlanService } from "./plan.ts";
import {
  AnalyticsQuerySchema,
  CategoryBody,
  CompletenessQuery,
  DataSetBody,
  ElementBody,
  ExportBody,
  ExportQuery,
  FormParams,
  GroupBody,
  HistoryQuery,
  IdParams,
  ImportQuery,
  IndicatorBody,
  MapQuery,
  PeriodParams,
  RefreshBody,
  ReturnBody,
  RuleBody,
  SaveValuesBody,
  ScorecardQuery,
  TaskPatch,
} from "./schemas.ts";
import type { ImportConflict, ImportSummary, IndicatorsService } from "./service.ts";
import type { SourceRegistry } from "./sources.ts";
import { type DataValueIn, type DataValueOut, parseCsv, toCsv } from "./values.ts";

const IMPORT_LIMIT = 50 * 1024 * 1024;
const tags = ["indicators"];

export interface IndicatorRoutesDeps {
  indicators: IndicatorsService;
  plan: PlanService;
  sources: SourceRegistry;
  gov: GovExport;
}

const list = (s: string | undefined, sep = ";") =>
  (s ?? "")
    .split(sep)
    .map((x) => x.trim())
    .filter(Boolean);

function analyticsQuery(q: { dx: string; pe?: string; ou?: string; filter?: string | string[]; date?: string }): AnalyticsQuery {
  const out: AnalyticsQuery = { dx: list(q.dx), pe: list(q.pe), ou: list(q.ou), date: q.date };
  for (const f of typeof q.filter === "string" ? [q.filter] : (q.filter ?? [])) {
    const m = /^(pe|ou):(.+)$/.exec(f);
    if (!m) throw badRequest(`filter: "${f.slice(0, 60)}" is not pe:… or ou:…`);
    out.filter = { ...out.filter, [m[1] as "pe" | "ou"]: list(m[2]) };
  }
  return out;
}

/** A flat table for CSV and XLSX: names beside ids. */
function analyticsTable(r: AnalyticsResult, en: boolean): string[][] {
  const head = r.headers.map((h) => h.name);
  const out: string[][] = [[...head.flatMap((h) => (h === "value" ? [h] : [h, `${h}name`]))]];
  for (const row of r.rows) {
    const cells: string[] = [];
    row.forEach((v, i) => {
      cells.push(String(v));
      if (head[i] !== "value") {
        const item = r.metaData.items[String(v)];
        cells.push(item ? (en ? item.nameEn : item.name) : String(v));
      }
    });
    out.push(cells);
  }
  return out;
}

async function sendXlsx(reply: FastifyReply, name: string, table: Array<Array<string | number>>) {
  const { default: ExcelJS } = await import("exceljs");
  const wb = new ExcelJS.Workbook();
  wb.creator = "Sen";
  const ws = wb.addWorksheet(name.slice(0, 31));
  for (const row of table) ws.addRow(row);
  ws.getRow(1).font = { bold: true };
  const buf = await wb.xlsx.writeBuffer();
  reply.header("Content-Disposition", `attachment; filename="${name}.xlsx"`);
  return reply.type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet").send(Buffer.from(buf as ArrayBuffer));
}

const importReply = (reply: FastifyReply, s: ImportSummary) => {
  if (s.status === "ERROR")
    return reply
      .code(409)
      .type("application/problem+json")
      .send({
        type: "urn:sen:problem:import-conflicts",
        title: "Conflict",
        status: 409,
        detail: `Nothing was imported: ${s.conflicts.length} problem(s), first: row ${s.conflicts[0]?.row} ${s.conflicts[0]?.field}: ${s.conflicts[0]?.message}`,
        errors: s.conflicts.map((c) => ({ path: `row ${c.row}/${c.field}`, message: c.message })),
        importStatus: s.status,
        dryRun: s.dryRun,
        importCount: s.importCount,
        conflicts: s.conflicts,
      });
  return reply.send(s);
};

export function indicatorRoutes(fastify: FastifyInstance, { indicators, plan, sources, gov }: IndicatorRoutesDeps) {
  const app = typed(fastify);

  // ---------- metadata
  app.get(
    "/api/indicators/metadata",
    { config: { access: "indicators:read" }, schema: { tags, summary: "Units, groups, categories, data elements, indicators, forms and rules" } },
    async () => {
      const m = indicators.model();
      return {
        orgUnits: [...m.units.values()].map((u) => ({
          id: u.id,
          kind: u.kind,
          name: u.name,
          nameEn: u.name_en,
          parent: u.parent,
          agency: u.agency_code,
          type: u.sub_type,
        })),
        groups: [...m.groups.values()].map((g) => ({ id: g.id, name: g.name, nameEn: g.name_en, builtin: g.builtin, members: g.members })),
        categories: [...m.categories.values()].map((c) => ({ id: c.id, name: c.name, nameEn: c.name_en, options: c.options })),
        dataElements: [...m.elements.values()].map((e) => ({
          id: e.id,
          name: e.name,
          nameEn: e.name_en,
          description: e.description,
          valueType: e.value_type,
          aggregation: e.aggregation,
          categories: e.categories,
          unit: e.unit,
          min: e.min_value,
          max: e.max_value,
        })),
        indicators: [...m.indicators.values()].map((i) => ({
          id: i.id,
          name: i.name,
          nameEn: i.name_en,
          description: i.description,
          numerator: i.numerator,
          denominator: i.denominator,
          factor: i.factor,
          decimals: i.decimals,
          unit: i.unit,
          sector: i.sector,
        })),
        dataSets: [...m.dataSets.values()].map((d) => ({
          id: d.id,
          name: d.name,
          nameEn: d.name_en,
          description: d.description,
          periodType: d.period_type,
          elements: d.elements,
          units: d.units,
          dueDays: d.due_days,
          expiryDays: d.expiry_days,
          approverAgency: d.approver_agency,
        })),
        validationRules: [...m.rules.values()].map((r) => ({
          id: r.id,
          dataSet: r.data_set,
          name: r.name,
          left: r.left_side,
          operator: r.operator,
          right: r.right_side,
          message: r.message,
          messageEn: r.message_en,
          importance: r.importance,
        })),
      };
    },
  );

  const put = <B>(url: string, summary: string, body: B, fn: (id: string, b: never) => Promise<unknown>) =>
    app.put(
      url,
      { config: { access: "indicators:manage" }, schema: { tags, summary, params: IdParams, body: body as never, response: errors(400, 401, 403) } },
      (req) => fn(req.params.id, { ...(req.body as object), id: req.params.id } as never),
    );
  put("/api/indicators/categories/:id", "Create or change a category (disaggregation) and its options", CategoryBody, (_id, b) => indicators.putCategory(b));
  put("/api/indicators/elements/:id", "Create or change a data element", ElementBody, (_id, b) => indicators.putElement(b));
  put("/api/indicators/definitions/:id", "Create or change an indicator (numerator / denominator × factor)", IndicatorBody, (_id, b) =>
    indicators.putIndicator(b),
  );
  put("/api/indicators/forms/:id", "Create or change a report form (data set): period type, elements, units, due day", DataSetBody, (_id, b) =>
    indicators.putDataSet(b),
  );
  put("/api/indicators/rules/:id", "Create or change a validation rule of a form", RuleBody, (_id, b) => indicators.putRule(b));
  put("/api/indicators/groups/:id", "Create or change an organisation unit group", GroupBody, (_id, b) => indicators.putGroup(b));
  app.delete(
    "/api/indicators/rules/:id",
    { config: { access: "indicators:manage" }, schema: { tags, summary: "Delete a validation rule", params: IdParams, response: errors(401, 403, 404) } },
    async (req, reply) => {
      await indicators.deleteRule(req.params.id);
      return reply.code(204).send();
    },
  );

  // ---------- forms, approval, completeness
  app.get(
    "/api/indicators/my-forms",
    { config: { access: "indicators:read" }, schema: { tags, summary: "The forms of the caller's unit: recent periods, state, due date" } },
    (req) => indicators.myForms(req.ctx.actor),
  );
  app.get(
    "/api/indicators/forms/:id/:ou/:pe",
    {
      config: { access: "indicators:read" },
      schema: { tags, summary: "One form of a unit for a period: fields, values, state, violations", params: FormParams, response: errors(400, 401, 403, 404) },
    },
    (req) => indicators.form(req.params.id, req.params.ou, req.params.pe, req.ctx.actor),
  );
  app.put(
    "/api/indicators/forms/:id/:ou/:pe/values",
    {
      config: { access: "data:enter" },
      schema: {
        tags,
        summary: "Save values of a form (draft; all or nothing). Empty or null deletes a value.",
        description: "Answers with the validation rules the saved values break (they block submission).",
        params: FormParams,
        body: SaveValuesBody,
        response: errors(400, 401, 403, 404, 423),
      },
    },
    (req) => indicators.saveValues(req.params.id, req.params.ou, req.params.pe, req.body.values, req.ctx.actor),
  );
  app.post(
    "/api/indicators/forms/:id/:ou/:pe/submit",
    {
      config: { access: "data:enter" },
      schema: { tags, summary: "Submit a form (locks its values)", params: FormParams, response: errors(400, 401, 403, 404, 409, 422, 423) },
    },
    (req) => indicators.submit(req.params.id, req.params.ou, req.params.pe, req.ctx.actor),
  );
  app.post(
    "/api/indicators/forms/:id/:ou/:pe/approve",
    {
      config: { access: "data:approve" },
      schema: {
        tags,
        summary: "Approve a submitted form at the next level (agency, then province)",
        params: FormParams,
        response: errors(400, 401, 403, 404, 409),
      },
    },
    (req) => indicators.approve(req.params.id, req.params.ou, req.params.pe, req.ctx.actor),
  );
  app.post(
    "/api/indicators/forms/:id/:ou/:pe/return",
    {
      config: { access: "data:approve" },
      schema: {
        tags,
        summary: "Return a form for correction, with the reason (unlocks it)",
        params: FormParams,
        body: ReturnBody,
        response: errors(400, 401, 403, 404, 409),
      },
    },
    (req) => indicators.returnForCorrection(req.params.id, req.params.ou, req.params.pe, req.body.reason, req.ctx.actor),
  );
  app.get("/api/indicators/approvals", { config: { access: "data:approve" }, schema: { tags, summary: "Forms waiting for the caller's approval" } }, (req) =>
    indicators.approvals(req.ctx.actor),
  );
  app.get(
    "/api/indicators/completeness",
    {
      config: { access: "indicators:read" },
      schema: {
        tags,
        summary: "Expected, received and on-time reports per period and unit",
        querystring: CompletenessQuery,
        response: errors(400, 401, 403, 404),
      },
    },
    (req) => {
      const ds = indicators.model().dataSets.get(req.query.dataSet);
      const pes = parsePeriods(list(req.query.pe)).filter((p) => !ds || p.type === ds.period_type || list(req.query.pe).includes(p.id));
      return indicators.completeness(
        req.query.dataSet,
        pes.map((p) => p.id),
        req.query.ou ? list(req.query.ou) : undefined,
      );
    },
  );
  app.get(
    "/api/indicators/history",
    {
      config: { access: "indicators:read" },
      schema: { tags, summary: "Changes of values: who, when, from, to", querystring: HistoryQuery, response: errors(400, 401, 403) },
    },
    (req) => indicators.valueHistory(req.query),
  );

  // ---------- dataValueSets (DHIS2)
  fastify.register(async (sub) => {
    sub.addContentTypeParser(["text/csv", "application/csv"], { parseAs: "string", bodyLimit: IMPORT_LIMIT }, (_req, body, done) => done(null, body));
    typed(sub).post(
      "/api/dataValueSets",
      {
        config: { access: "data:enter" },
        bodyLimit: IMPORT_LIMIT,
        schema: {
          tags,
          summary: "Import data values (DHIS2 dataValueSets, JSON or CSV): all or nothing",
          description:
            "JSON `{dataValues: [{dataElement, period, orgUnit, categoryOptionCombo, value, comment}]}` or CSV with DHIS2's columns (dataelement, period, orgunit, categoryoptioncombo, attributeoptioncombo, value, storedby, lastupdated, comment, followup; header optional). Any problem rejects the whole file with 409 and every conflict named by row and field. `dryRun=true` checks without writing.",
          consumes: ["application/json", "text/csv"],
          querystring: ImportQuery,
          response: errors(400, 401, 403, 409, 413, 415),
        },
      },
      async (req, reply) => {
        const actor = req.ctx.actor;
        const { values, problems } = typeof req.body === "string" ? parseCsv(req.body) : jsonRows(req.body);
        if (values.length > 200_000) throw badRequest("At most 200,000 values per import.");
        if (problems.length)
          return importReply(reply, {
            status: "ERROR",
            dryRun: !!req.query.dryRun,
            importCount: { imported: 0, updated: 0, deleted: 0, ignored: 0 },
            conflicts: problems.slice(0, 1000),
          });
        return importReply(reply, await indicators.importValues(values, actor, { dryRun: req.query.dryRun }));
      },
    );
  });

  for (const format of ["json", "csv", "xlsx"] as const)
    app.get(
      format === "json" ? "/api/dataValueSets" : `/api/dataValueSets.${format}`,
      {
        config: { access: "indicators:read" },
        schema: { tags, summary: `Export data values (${format.toUpperCase()})`, querystring: ExportQuery, response: errors(400, 401, 403, 404) },
      },
      async (req, reply) => {
        const q = req.query;
        const values = await indicators.exportValues({
          dataSets: q.dataSet ? list(q.dataSet, ",") : undefined,
          elements: q.dataElement ? list(q.dataElement, ",") : undefined,
          periods: q.period ? list(q.period, ",") : undefined,
          startDate: q.startDate,
          endDate: q.endDate,
          orgUnits: q.orgUnit ? list(q.orgUnit, ",") : undefined,
          children: q.children,
        });
        if (format === "json") return { dataValues: values };
        if (format === "csv") {
          reply.header("Content-Disposition", 'attachment; filename="dataValueSets.csv"');
          return reply.type("text/csv; charset=utf-8").send(toCsv(values));
        }
        const cols: Array<keyof DataValueOut> = ["dataElement", "period", "orgUnit", "categoryOptionCombo", "value", "storedBy", "lastUpdated", "comment"];
        return sendXlsx(reply, "dataValueSets", [cols, ...values.map((v) => cols.map((c) => v[c] ?? ""))]);
      },
    );

  // ---------- analytics
  for (const format of ["json", "csv", "xlsx"] as const)
    app.get(
      format === "json" ? "/api/analytics" : `/api/analytics.${format}`,
      {
        config: { access: "indicators:read" },
        schema: {
          tags,
          summary: `Analytics table (${format.toUpperCase()}): data × periods × units`,
          description:
            "As DHIS2's /api/analytics: `dx` indicators, data elements or element.disaggregation; `pe` ISO periods (2025, 2025Q3, 202507, 2025W27) or relative ones (THIS_YEAR, LAST_12_MONTHS, …); `ou` unit ids, LEVEL-1 (province), LEVEL-2 (communes), OU_GROUP-<id>. Items are separated by `;`. `filter=pe:…` or `filter=ou:…` aggregates over those items instead. Rows: [dx, pe, ou, value].",
          querystring: AnalyticsQuerySchema,
          response: errors(400, 401, 403),
        },
      },
      async (req, reply) => {
        const r = await indicators.analytics(analyticsQuery(req.query));
        if (format === "json") return r;
        const en = /^en\b/i.test(String(req.headers["accept-language"] ?? ""));
        const table = analyticsTable(r, en);
        if (format === "csv") {
          reply.header("Content-Disposition", 'attachment; filename="analytics.csv"');
          return reply.type("text/csv; charset=utf-8").send(Papa.unparse(table));
        }
        return sendXlsx(
          reply,
          "analytics",
          table.map((row, i) => (i === 0 ? row : row.map((c, j) => (table[0]?.[j] === "value" ? Number(c) : c)))),
        );
      },
    );

  // ---------- the plan
  app.get(
    "/api/indicators/scorecard",
    {
      config: { access: "indicators:read" },
      schema: {
        tags,
        summary: "The plan's targets: series, goal, status, forecast; counts by sector",
        querystring: ScorecardQuery,
        response: errors(400, 401, 403, 404),
      },
    },
    (req) => plan.scorecard({ date: req.query.date, orgUnit: req.query.ou }),
  );
  app.get(
    "/api/indicators/map",
    {
      config: { access: "indicators:read" },
      schema: { tags, summary: "One indicator per commune for a period (choropleth)", querystring: MapQuery, response: errors(400, 401, 403) },
    },
    (req) => plan.byCommune(req.query.dx, req.query.pe),
  );
  app.get("/api/indicators/tasks", { config: { access: "indicators:read" }, schema: { tags, summary: "The plan's tasks (S1–S22 and other bullets)" } }, () =>
    plan.tasks(),
  );
  app.patch(
    "/api/indicators/tasks/:id",
    {
      config: { access: "data:enter" },
      schema: {
        tags,
        summary: "Update a task's status, progress, evidence (lead agency or indicators manager)",
        params: IdParams,
        body: TaskPatch,
        response: errors(400, 401, 403, 404),
      },
    },
    (req) => plan.updateTask(req.params.id, req.body as Parameters<PlanService["updateTask"]>[1], req.ctx.actor),
  );

  // ---------- automatic sources
  app.get(
    "/api/indicators/sources",
    { config: { access: "indicators:read" }, schema: { tags, summary: "Automatic indicator sources and their last run" } },
    async () => {
      const runs = new Map((await indicators.store.sourceRuns()).map((r) => [r.source, r]));
      return sources.list().map((s) => {
        const r = runs.get(s.id);
        return {
          ...s,
          lastRunAt: r ? new Date(r.last_run_at).toISOString() : null,
          periods: r?.periods ?? [],
          valuesWritten: r?.values_written ?? 0,
          lastError: r?.last_error ?? null,
        };
      });
    },
  );
  app.post(
    "/api/indicators/sources/refresh",
    {
      config: { access: "indicators:manage" },
      schema: { tags, summary: "Refresh automatic indicators now", body: RefreshBody, response: errors(400, 401, 403, 404) },
    },
    (req) => sources.refresh({ only: req.body?.source }),
  );

  // ---------- Government reporting system
  app.get(
    "/api/indicators/gov-export/:pe",
    {
      config: { access: "indicators:read" },
      schema: {
        tags,
        summary: "The approved values of a period as sent to the Government reporting system",
        params: PeriodParams,
        response: errors(400, 401, 403),
      },
    },
    (req) => gov.report(req.params.pe),
  );
  app.get(
    "/api/indicators/gov-exports",
    { config: { access: "indicators:read" }, schema: { tags, summary: "Pushes to the Government reporting system" } },
    () => gov.list(),
  );
  app.post(
    "/api/indicators/gov-exports",
    {
      config: { access: "indicators:manage" },
      schema: { tags, summary: "Push a period's approved values now (once per content)", body: ExportBody, response: errors(400, 401, 403, 409) },
    },
    async (req) => {
      const queued = await gov.schedule(req.body.period);
      return { queued };
    },
  );
}

const ROW_FIELDS = new Set([
  "dataElement",
  "period",
  "orgUnit",
  "categoryOptionCombo",
  "attributeOptionCombo",
  "value",
  "comment",
  "storedBy",
  "lastUpdated",
  "followup",
  "created",
]);

/**
 * Check a JSON dataValueSet row by row (not with a body schema: a schema error would not name
 * the row the way an import summary does). The set's period/orgUnit fill rows that lack them.
 */
function jsonRows(body: unknown): { values: Array<DataValueIn & { row: number }>; problems: ImportConflict[] } {
  const b = body as { period?: unknown; orgUnit?: unknown; dataValues?: unknown };
  if (!b || typeof b !== "object" || Array.isArray(b) || !Array.isArray(b.dataValues))
    return { values: [], problems: [{ row: 0, field: "dataValues", message: 'send {"dataValues": [...]} (or CSV as text/csv)' }] };
  for (const k of Object.keys(b))
    if (!["dataSet", "period", "orgUnit", "completeDate", "dataValues"].includes(k))
      return { values: [], problems: [{ row: 0, field: k, message: "unknown field" }] };
  if (b.dataValues.length > 200_000) return { values: [], problems: [{ row: 0, field: "dataValues", message: "at most 200,000 values per import" }] };
  const problems: ImportConflict[] = [];
  const values: Array<DataValueIn & { row: number }> = [];
  const str = (v: unknown, max: number) => (typeof v === "string" && v.length <= max ? v : undefined);
  const check = (raw: unknown, i: number) => {
    const row = i + 1;
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) return problems.push({ row, field: "dataValue", message: "must be an object" });
    const v = raw as Record<string, unknown>;
    for (const k of Object.keys(v)) if (!ROW_FIELDS.has(k)) return problems.push({ row, field: k.slice(0, 60), message: "unknown field" });
    const de = str(v.dataElement, 200);
    const pe = str(v.period ?? b.period, 40);
    const ou = str(v.orgUnit ?? b.orgUnit, 80);
    if (!de) return problems.push({ row, field: "dataElement", message: "missing or not a string" });
    if (!pe) return problems.push({ row, field: "period", message: "missing or not a string" });
    if (!ou) return problems.push({ row, field: "orgUnit", message: "missing or not a string" });
    if (v.categoryOptionCombo !== undefined && !str(v.categoryOptionCombo, 200))
      return problems.push({ row, field: "categoryOptionCombo", message: "not a string" });
    if (v.comment !== undefined && v.comment !== null && !str(v.comment, 2000))
      return problems.push({ row, field: "comment", message: "not a string of at most 2000 characters" });
    const value = v.value ?? null;
    if (value !== null && !["string", "number", "boolean"].includes(typeof value))
      return problems.push({ row, field: "value", message: "must be a string, number or boolean" });
    values.push({
      row,
      dataElement: de,
      period: pe,
      orgUnit: ou,
      categoryOptionCombo: (v.categoryOptionCombo as string | undefined) || undefined,
      value: value as string | number | boolean | null,
      comment: (v.comment as string | undefined) ?? undefined,
    });
  };
  b.dataValues.forEach((raw, i) => void check(raw, i));
  return { values, problems };
}
