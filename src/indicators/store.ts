// SQL of the indicators module: metadata, values with their history, submissions, targets,
// tasks, automatic-source runs and exports. Every statement parameterised.
import type { Db } from "../core/db.ts";

export interface OrgUnitRow {
  id: string;
  kind: "province" | "commune" | "agency";
  name: string;
  name_en: string;
  parent: string | null;
  agency_code: string | null;
  sub_type: string | null;
}
export interface GroupRow {
  id: string;
  name: string;
  name_en: string;
  builtin: boolean;
  members: string[];
}
export interface CategoryOption {
  code: string;
  name: string;
  nameEn: string;
}
export interface CategoryRow {
  id: string;
  name: string;
  name_en: string;
  options: CategoryOption[];
}
export type ValueType = "number" | "integer" | "percent" | "boolean" | "text";
export type Aggregation = "sum" | "average" | "last";
export interface ElementRow {
  id: string;
  name: string;
  name_en: string;
  description: string;
  value_type: ValueType;
  aggregation: Aggregation;
  categories: string[];
  unit: string;
  min_value: number | null;
  max_value: number | null;
}
export interface IndicatorRow {
  id: string;
  name: string;
  name_en: string;
  description: string;
  numerator: string;
  denominator: string;
  factor: number;
  decimals: number;
  unit: string;
  sector: string | null;
}
export interface DataSetRow {
  id: string;
  name: string;
  name_en: string;
  description: string;
  period_type: "daily" | "weekly" | "monthly" | "quarterly" | "sixmonthly" | "yearly";
  elements: string[];
  due_days: number;
  expiry_days: number;
  approver_agency: string | null;
  units: string[];
}
export interface RuleRow {
  id: string;
  data_set: string;
  name: string;
  left_side: string;
  operator: "==" | "!=" | ">" | ">=" | "<" | "<=";
  right_side: string;
  message: string;
  message_en: string;
  importance: "high" | "medium" | "low";
}
export interface ValueRow {
  de: string;
  coc: string;
  ou: string;
  pe: string;
  value: string;
  num: number | null;
  comment: string | null;
  source: string;
  stored_by: string;
  updated_at: Date;
}
export interface NewValue {
  de: string;
  coc: string;
  ou: string;
  pe: string;
  start: string;
  end: string;
  value: string;
  num: number | null;
  comment: string | null;
}
export type SubmissionState = "draft" | "submitted" | "agency_approved" | "approved" | "returned";
export interface SubmissionRow {
  data_set: string;
  ou: string;
  pe: string;
  state: SubmissionState;
  submitted_at: Date | null;
  submitted_by: string | null;
  on_time: boolean | null;
  agency_approved_at: Date | null;
  agency_approved_by: string | null;
  approved_at: Date | null;
  approved_by: string | null;
  returned_at: Date | null;
  returned_by: string | null;
  return_reason: string | null;
  updated_at: Date;
}
export interface TargetRow {
  id: string;
  sector: string;
  name: string;
  name_en: string;
  unit: string;
  goals: Array<{ year?: number; value?: number | boolean; min?: number; max?: number; recurring?: string }>;
  baseline: number | null;
  system: string | null;
  indicator: string;
  direction: "increase" | "decrease";
  position: number;
}
export interface TaskRow {
  id: string;
  system: string | null;
  title: string;
  title_en: string;
  lead_agency: string | null;
  deadline: string | null;
  status: "planned" | "in_progress" | "done" | "delayed" | "cancelled";
  percent: number;
  evidence: Array<{ title: string; url: string }>;
  updated_at: Date;
  updated_by: string | null;
}

const json = (v: unknown) => JSON.stringify(v);

export function indicatorsStore(db: Db) {
  return {
    // ---------- metadata
    orgUnits: () => db.query<OrgUnitRow>("SELECT * FROM indicators.org_units ORDER BY kind, id"),
    upsertOrgUnit: (u: OrgUnitRow) =>
      db.query(
        `INSERT INTO indicators.org_units (id, kind, name, name_en, parent, agency_code, sub_type) VALUES ($1,$2,$3,$4,$5,$6,$7)
         ON CONFLICT (id) DO UPDATE SET kind = $2, name = $3, name_en = $4, parent = $5, agency_code = $6, sub_type = $7`,
        [u.id, u.kind, u.name, u.name_en, u.parent, u.agency_code, u.sub_type],
      ),
    groups: () =>
      db.query<GroupRow>(
        `SELECT g.*, COALESCE(array_agg(m.ou ORDER BY m.ou) FILTER (WHERE m.ou IS NOT NULL), '{}') AS members
         FROM indicators.ou_groups g LEFT JOIN indicators.ou_group_members m ON m.group_id = g.id GROUP BY g.id ORDER BY g.id`,
      ),
    async putGroup(g: { id: string; name: string; name_en: string; builtin: boolean; members: string[] }) {
      await db.query(
        `INSERT INTO indicators.ou_groups (id, name, name_en, builtin) VALUES ($1,$2,$3,$4)
         ON CONFLICT (id) DO UPDATE SET name = $2, name_en = $3, builtin = $4`,
        [g.id, g.name, g.name_en, g.builtin],
      );
      await db.query("DELETE FROM indicators.ou_group_members WHERE group_id = $1", [g.id]);
      await db.query("INSERT INTO indicators.ou_group_members (group_id, ou) SELECT $1, unnest($2::text[])", [g.id, g.members]);
    },
    categories: () => db.query<CategoryRow>("SELECT * FROM indicators.categories ORDER BY id"),
    putCategory: (c: CategoryRow) =>
      db.query(
        `INSERT INTO indicators.categories (id, name, name_en, options) VALUES ($1,$2,$3,$4)
         ON CONFLICT (id) DO UPDATE SET name = $2, name_en = $3, options = $4`,
        [c.id, c.name, c.name_en, json(c.options)],
      ),
    elements: () => db.query<ElementRow>("SELECT * FROM indicators.data_elements ORDER BY id"),
    putElement: (e: ElementRow) =>
      db.query(
        `INSERT INTO indicators.data_elements (id, name, name_en, description, value_type, aggregation, categories, unit, min_value, max_value)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
         ON CONFLICT (id) DO UPDATE SET name = $2, name_en = $3, description = $4, value_type = $5, aggregation = $6, categories = $7,
           unit = $8, min_value = $9, max_value = $10, updated_at = now()`,
        [e.id, e.name, e.name_en, e.description, e.value_type, e.aggregation, e.categories, e.unit, e.min_value, e.max_value],
      ),
    indicators: () => db.query<IndicatorRow>("SELECT * FROM indicators.indicators ORDER BY id"),
    putIndicator: (i: IndicatorRow) =>
      db.query(
        `INSERT INTO indicators.indicators (id, name, name_en, description, numerator, denominator, factor, decimals, unit, sector)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
         ON CONFLICT (id) DO UPDATE SET name = $2, name_en = $3, description = $4, numerator = $5, denominator = $6, factor = $7,
           decimals = $8, unit = $9, sector = $10, updated_at = now()`,
        [i.id, i.name, i.name_en, i.description, i.numerator, i.denominator, i.factor, i.decimals, i.unit, i.sector],
      ),
    dataSets: () =>
      db.query<DataSetRow>(
        `SELECT d.*, COALESCE(array_agg(u.ou ORDER BY u.ou) FILTER (WHERE u.ou IS NOT NULL), '{}') AS units
         FROM indicators.data_sets d LEFT JOIN indicators.data_set_units u ON u.data_set = d.id GROUP BY d.id ORDER BY d.id`,
      ),
    async putDataSet(d: DataSetRow) {
      await db.query(
        `INSERT INTO indicators.data_sets (id, name, name_en, description, period_type, elements, due_days, expiry_days, approver_agency)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
         ON CONFLICT (id) DO UPDATE SET name = $2, name_en = $3, description = $4, period_type = $5, elements = $6, due_days = $7,
           expiry_days = $8, approver_agency = $9, updated_at = now()`,
        [d.id, d.name, d.name_en, d.description, d.period_type, d.elements, d.due_days, d.expiry_days, d.approver_agency],
      );
      await db.query("DELETE FROM indicators.data_set_units WHERE data_set = $1", [d.id]);
      await db.query("INSERT INTO indicators.data_set_units (data_set, ou) SELECT $1, unnest($2::text[])", [d.id, d.units]);
    },
    rules: () => db.query<RuleRow>("SELECT * FROM indicators.validation_rules ORDER BY data_set, id"),
    putRule: (r: RuleRow) =>
      db.query(
        `INSERT INTO indicators.validation_rules (id, data_set, name, left_side, operator, right_side, message, message_en, importance)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
         ON CONFLICT (id) DO UPDATE SET data_set = $2, name = $3, left_side = $4, operator = $5, right_side = $6, message = $7,
           message_en = $8, importance = $9`,
        [r.id, r.data_set, r.name, r.left_side, r.operator, r.right_side, r.message, r.message_en, r.importance],
      ),
    deleteRule: (id: string) => db.query("DELETE FROM indicators.validation_rules WHERE id = $1 RETURNING id", [id]),

    // ---------- values
    valuesOf: (ou: string, pe: string, elements: string[]) =>
      db.query<ValueRow>("SELECT * FROM indicators.data_values WHERE ou = $1 AND pe = $2 AND de = ANY($3::text[])", [ou, pe, elements]),
    /** Current values for a batch of keys, locked for the update that follows. */
    lockValues: (keys: Array<{ de: string; coc: string; ou: string; pe: string }>) =>
      keys.length === 0
        ? Promise.resolve([] as ValueRow[])
        : db.query<ValueRow>(
            `SELECT v.* FROM indicators.data_values v
             JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS k(de, coc, ou, pe)
               ON v.de = k.de AND v.coc = k.coc AND v.ou = k.ou AND v.pe = k.pe
             FOR UPDATE OF v`,
            [keys.map((k) => k.de), keys.map((k) => k.coc), keys.map((k) => k.ou), keys.map((k) => k.pe)],
          ),
    async upsertValues(rows: NewValue[], source: string, by: string): Promise<void> {
      for (let i = 0; i < rows.length; i += 5000) {
        const c = rows.slice(i, i + 5000);
        await db.query(
          `INSERT INTO indicators.data_values (de, coc, ou, pe, start_date, end_date, value, num, comment, source, stored_by)
           SELECT de, coc, ou, pe, s::date, e::date, v, n, c, $10, $11
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::text[])
             AS t(de, coc, ou, pe, s, e, v, n, c)
           ON CONFLICT (de, coc, ou, pe) DO UPDATE SET value = EXCLUDED.value, num = EXCLUDED.num,
             comment = EXCLUDED.comment, source = EXCLUDED.source, stored_by = EXCLUDED.stored_by, updated_at = now()`,
          [
            c.map((r) => r.de),
            c.map((r) => r.coc),
            c.map((r) => r.ou),
            c.map((r) => r.pe),
            c.map((r) => r.start),
            c.map((r) => r.end),
            c.map((r) => r.value),
            c.map((r) => r.num),
            c.map((r) => r.comment),
            source,
            by,
          ],
        );
      }
    },
    deleteValues: (keys: Array<{ de: string; coc: string; ou: string; pe: string }>) =>
      db.query(
        `DELETE FROM indicators.data_values v USING unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS k(de, coc, ou, pe)
         WHERE v.de = k.de AND v.coc = k.coc AND v.ou = k.ou AND v.pe = k.pe`,
        [keys.map((k) => k.de), keys.map((k) => k.coc), keys.map((k) => k.ou), keys.map((k) => k.pe)],
      ),
    async addHistory(
      rows: Array<{ de: string; coc: string; ou: string; pe: string; old: string | null; new: string | null; change: "create" | "update" | "delete" }>,
      source: string,
      by: string,
      byId: string | null,
    ): Promise<void> {
      for (let i = 0; i < rows.length; i += 5000) {
        const c = rows.slice(i, i + 5000);
        await db.query(
          `INSERT INTO indicators.data_value_history (de, coc, ou, pe, old_value, new_value, change, source, changed_by, changed_by_id)
           SELECT de, coc, ou, pe, o, n, ch, $8, $9, $10
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS t(de, coc, ou, pe, o, n, ch)`,
          [
            c.map((r) => r.de),
            c.map((r) => r.coc),
            c.map((r) => r.ou),
            c.map((r) => r.pe),
            c.map((r) => r.old),
            c.map((r) => r.new),
            c.map((r) => r.change),
            source,
            by,
            byId,
          ],
        );
      }
    },
    history: (f: { de?: string; ou?: string; pe?: string; limit: number }) =>
      db.query<{
        id: string;
        de: string;
        coc: string;
        ou: string;
        pe: string;
        old_value: string | null;
        new_value: string | null;
        change: string;
        source: string;
        changed_by: string;
        at: Date;
      }>(
        `SELECT * FROM indicators.data_value_history
         WHERE ($1::text IS NULL OR de = $1) AND ($2::text IS NULL OR ou = $2) AND ($3::text IS NULL OR pe = $3)
         ORDER BY id DESC LIMIT $4`,
        [f.de ?? null, f.ou ?? null, f.pe ?? null, f.limit],
      ),
    exportValues: (f: { elements: string[]; units: string[] | null; start: string; end: string; limit: number }) =>
      db.query<ValueRow>(
        `SELECT * FROM indicators.data_values
         WHERE de = ANY($1::text[]) AND ($2::text[] IS NULL OR ou = ANY($2::text[])) AND start_date >= $3::date AND end_date <= $4::date
         ORDER BY de, pe, ou, coc LIMIT $5`,
        [f.elements, f.units, f.start, f.end, f.limit],
      ),
    /** Values of approved submissions for one period (for the Government export). */
    approvedValues: (pe: string) =>
      db.query<ValueRow & { data_set: string; approved_at: Date }>(
        `SELECT v.*, s.data_set, s.approved_at FROM indicators.submissions s
         JOIN indicators.data_sets d ON d.id = s.data_set
         JOIN indicators.data_values v ON v.ou = s.ou AND v.pe = s.pe AND v.de = ANY(d.elements)
         WHERE s.pe = $1 AND s.state = 'approved' ORDER BY s.data_set, v.ou, v.de, v.coc`,
        [pe],
      ),
    /** Values written by an automatic source for some periods. */
    sourceValues: (source: string, pes: string[]) =>
      db.query<ValueRow>("SELECT * FROM indicators.data_values WHERE source = $1 AND pe = ANY($2::text[])", [source, pes]),

    // ---------- submissions
    submission: (ds: string, ou: string, pe: string) =>
      db.one<SubmissionRow>("SELECT * FROM indicators.submissions WHERE data_set = $1 AND ou = $2 AND pe = $3", [ds, ou, pe]),
    lockSubmission: (ds: string, ou: string, pe: string) =>
      db.one<SubmissionRow>("SELECT * FROM indicators.submissions WHERE data_set = $1 AND ou = $2 AND pe = $3 FOR UPDATE", [ds, ou, pe]),
    ensureSubmission: (ds: string, ou: string, pe: string) =>
      db.query("INSERT INTO indicators.submissions (data_set, ou, pe, state) VALUES ($1,$2,$3,'draft') ON CONFLICT DO NOTHING", [ds, ou, pe]),
    updateSubmission: (ds: string, ou: string, pe: string, patch: Partial<SubmissionRow>) => {
      const keys = Object.keys(patch) as Array<keyof SubmissionRow>;
      const sets = keys.map((k, i) => `${k} = $${i + 4}`).join(", ");
      return db.one<SubmissionRow>(`UPDATE indicators.submissions SET ${sets}, updated_at = now() WHERE data_set = $1 AND ou = $2 AND pe = $3 RETURNING *`, [
        ds,
        ou,
        pe,
        ...keys.map((k) => patch[k]),
      ]);
    },
    submissionsFor: (f: { dataSets: string[]; pes: string[]; ous?: string[] }) =>
      db.query<SubmissionRow>(
        `SELECT * FROM indicators.submissions WHERE data_set = ANY($1::text[]) AND pe = ANY($2::text[]) AND ($3::text[] IS NULL OR ou = ANY($3::text[]))`,
        [f.dataSets, f.pes, f.ous ?? null],
      ),
    submissionsByState: (states: SubmissionState[], limit: number) =>
      db.query<SubmissionRow>("SELECT * FROM indicators.submissions WHERE state = ANY($1::text[]) ORDER BY updated_at DESC LIMIT $2", [states, limit]),
    addSubmissionHistory: (ds: string, ou: string, pe: string, action: string, reason: string | null, actor: string) =>
      db.query("INSERT INTO indicators.submission_history (data_set, ou, pe, action, reason, actor) VALUES ($1,$2,$3,$4,$5,$6)", [
        ds,
        ou,
        pe,
        action,
        reason,
        actor,
      ]),
    submissionHistory: (ds: string, ou: string, pe: string) =>
      db.query<{ action: string; reason: string | null; actor: string; at: Date }>(
        "SELECT action, reason, actor, at FROM indicators.submission_history WHERE data_set = $1 AND ou = $2 AND pe = $3 ORDER BY id",
        [ds, ou, pe],
      ),

    // ---------- plan
    targets: () => db.query<TargetRow>("SELECT * FROM indicators.targets ORDER BY position, id"),
    putTarget: (t: TargetRow) =>
      db.query(
        `INSERT INTO indicators.targets (id, sector, name, name_en, unit, goals, baseline, system, indicator, direction, position)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
         ON CONFLICT (id) DO UPDATE SET sector = $2, name = $3, name_en = $4, unit = $5, goals = $6, baseline = $7, system = $8,
           indicator = $9, direction = $10, position = $11`,
        [t.id, t.sector, t.name, t.name_en, t.unit, json(t.goals), t.baseline, t.system, t.indicator, t.direction, t.position],
      ),
    tasks: () =>
      db.query<TaskRow>(
        "SELECT id, system, title, title_en, lead_agency, to_char(deadline, 'YYYY-MM-DD') AS deadline, status, percent, evidence, updated_at, updated_by FROM indicators.tasks ORDER BY system IS NULL, length(id), id",
      ),
    task: (id: string) =>
      db.one<TaskRow>(
        "SELECT id, system, title, title_en, lead_agency, to_char(deadline, 'YYYY-MM-DD') AS deadline, status, percent, evidence, updated_at, updated_by FROM indicators.tasks WHERE id = $1 FOR UPDATE",
        [id],
      ),
    putTask: (t: Omit<TaskRow, "updated_at">, onlyNew = false) =>
      db.query(
        `INSERT INTO indicators.tasks (id, system, title, title_en, lead_agency, deadline, status, percent, evidence, updated_by)
         VALUES ($1,$2,$3,$4,$5,$6::date,$7,$8,$9,$10)
         ON CONFLICT (id) DO ${onlyNew ? "NOTHING" : "UPDATE SET system = $2, title = $3, title_en = $4, lead_agency = $5, deadline = $6::date, status = $7, percent = $8, evidence = $9, updated_by = $10, updated_at = now()"}`,
        [t.id, t.system, t.title, t.title_en, t.lead_agency, t.deadline, t.status, t.percent, json(t.evidence), t.updated_by],
      ),

    // ---------- sources and exports
    recordSourceRun: (source: string, periods: string[], written: number, error: string | null) =>
      db.query(
        `INSERT INTO indicators.source_runs (source, last_run_at, periods, values_written, last_error) VALUES ($1, now(), $2, $3, $4)
         ON CONFLICT (source) DO UPDATE SET last_run_at = now(), periods = $2, values_written = $3, last_error = $4`,
        [source, periods, written, error],
      ),
    sourceRuns: () =>
      db.query<{ source: string; last_run_at: Date; periods: string[]; values_written: number; last_error: string | null }>(
        "SELECT * FROM indicators.source_runs ORDER BY source",
      ),
    /** A new export of this content, or undefined when the same content was exported already. */
    addExport: (pe: string, hash: string, count: number) =>
      db.one<{ id: string }>("INSERT INTO indicators.exports (pe, hash, values_count) VALUES ($1, $2, $3) ON CONFLICT (pe, hash) DO NOTHING RETURNING id", [
        pe,
        hash,
        count,
      ]),
    recentlyApprovedPeriods: (days: number) =>
      db.query<{ pe: string }>("SELECT DISTINCT pe FROM indicators.submissions WHERE state = 'approved' AND approved_at > now() - make_interval(days => $1)", [
        days,
      ]),
    finishExport: (id: number, status: "acknowledged" | "failed", error: string | null) =>
      db.query("UPDATE indicators.exports SET status = $2, acknowledged_at = CASE WHEN $2 = 'acknowledged' THEN now() END, last_error = $3 WHERE id = $1", [
        id,
        status,
        error,
      ]),
    exports: (limit: number) =>
      db.query<{
        id: string;
        pe: string;
        hash: string;
        values_count: number;
        status: string;
        created_at: Date;
        acknowledged_at: Date | null;
        last_error: string | null;
      }>("SELECT * FROM indicators.exports ORDER BY id DESC LIMIT $1", [limit]),
  };
}

export type IndicatorsStore = ReturnType<typeof indicatorsStore>;
