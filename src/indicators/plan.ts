// The plan's targets and tasks (S22). Each target of data/roadmap-targets.json becomes a data
// element and an indicator of the same id, reported yearly by the province on the "plan-targets"
// form, with its goals by year. The scorecard reads each target's yearly series and assesses it
// (forecast.ts). Tasks are the systems S1–S22 and the plan's other bullets.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { AuditService } from "../core/audit/service.ts";
import type { Actor } from "../core/context.ts";
import type { Db } from "../core/db.ts";
import { badRequest, forbidden, notFound } from "../core/errors.ts";
import { type Assessment, type GoalSpec, type Point, assess } from "./forecast.ts";
import { parsePeriod, today } from "./periods.ts";
import type { IndicatorsService } from "./service.ts";
import type { TargetRow, TaskRow } from "./store.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The plan's horizon: a goal without a year is due by its end. */
export const PLAN_HORIZON = 2030;
/** Years the scorecard reads back. */
const FIRST_YEAR = 2020;

interface TargetSource {
  id: string;
  sector: string;
  vi: string;
  en: string;
  unit: string;
  baseline?: number;
  system?: string;
  goals: TargetRow["goals"];
}

const ELEMENT_OF_UNIT: Record<string, { valueType: "integer" | "percent" | "number" | "boolean"; unit: string; unitEn: string }> = {
  count: { valueType: "integer", unit: "", unitEn: "" },
  percent: { valueType: "percent", unit: "%", unitEn: "%" },
  done: { valueType: "percent", unit: "% hoàn thành", unitEn: "% complete" },
  percent_per_year: { valueType: "number", unit: "%/năm", unitEn: "%/year" },
  fraction: { valueType: "number", unit: "", unitEn: "" },
  event: { valueType: "boolean", unit: "", unitEn: "" },
};

/** The goal a target is measured against today: the first not yet due, else the last. */
export function currentGoal(t: Pick<TargetRow, "goals" | "unit" | "direction">, year: number): (GoalSpec & { year: number; max?: number }) | undefined {
  const goals = t.goals
    .filter((g) => g.recurring === undefined)
    .map((g) => {
      const value = typeof g.value === "boolean" ? (g.value ? 100 : 0) : (g.value ?? g.min ?? g.max);
      return value === undefined
        ? undefined
        : { year: g.year ?? PLAN_HORIZON, value, max: g.max, direction: t.direction, deadline: (g.year ?? PLAN_HORIZON) + 1 };
    })
    .filter((g): g is NonNullable<typeof g> => g !== undefined)
    .sort((a, b) => a.year - b.year);
  return goals.find((g) => g.year >= year) ?? goals[goals.length - 1];
}

/** Next 10 October on or after a date (Digital Transformation Day). */
export function nextDxDay(date: string): string {
  const y = Number(date.slice(0, 4));
  return date <= `${y}-10-10` ? `${y}-10-10` : `${y + 1}-10-10`;
}

export function planService({ db, audit, indicators }: { db: Db; audit: AuditService; indicators: IndicatorsService }) {
  const store = indicators.store;

  return {
    /** Load targets and tasks (idempotent: targets refreshed from the file, tasks only added). */
    async seed(dataDir: string): Promise<{ targets: number; tasks: number }> {
      const file = JSON.parse(readFileSync(path.join(dataDir, "roadmap-targets.json"), "utf8")) as { targets: TargetSource[] };
      const m = indicators.model();
      const root = m.root;
      // One transaction and one audit entry for the whole plan (first start writes 26 elements and
      // indicators; later starts only refresh the targets' goals from the file).
      const added = await db.tx(async () => {
        let n = 0;
        for (const [i, t] of file.targets.entries()) {
          const kind = ELEMENT_OF_UNIT[t.unit] ?? (ELEMENT_OF_UNIT.count as (typeof ELEMENT_OF_UNIT)[string]);
          if (!m.elements.has(t.id)) {
            n++;
            await store.putElement({
              id: t.id,
              name: t.vi,
              name_en: t.en,
              description: t.unit === "done" ? "Mức độ hoàn thành (0–100%)" : "",
              value_type: kind.valueType,
              aggregation: "last",
              categories: [],
              unit: kind.unit,
              min_value: null,
              max_value: null,
            });
          }
          if (!m.indicators.has(t.id))
            await store.putIndicator({
              id: t.id,
              name: t.vi,
              name_en: t.en,
              description: "",
              numerator: `#{${t.id}}`,
              denominator: "1",
              factor: 1,
              decimals: t.unit === "fraction" ? 3 : 1,
              unit: kind.unit,
              sector: t.sector,
            });
          await store.putTarget({
            id: t.id,
            sector: t.sector,
            name: t.vi,
            name_en: t.en,
            unit: t.unit,
            goals: t.goals,
            baseline: t.baseline ?? null,
            system: t.system ?? null,
            indicator: t.id,
            direction: "increase",
            position: i,
          });
        }
        if (n) await audit.record({ action: "indicators.plan.seed", targetType: "indicators.plan", details: { targets: file.targets.length, added: n } });
        return n;
      });
      if (added) await indicators.reload();
      if (root) {
        const ds = indicators.model().dataSets.get("plan-targets");
        const elements = file.targets.map((t) => t.id);
        if (!ds || elements.some((e) => !ds.elements.includes(e)))
          await indicators.putDataSet({
            id: "plan-targets",
            name: "Chỉ tiêu Kế hoạch chuyển đổi số",
            nameEn: "Digital-transformation plan targets",
            periodType: "yearly",
            elements: [...new Set([...(ds?.elements ?? []), ...elements])],
            units: [root],
            dueDays: 31,
            approverAgency: null,
          });
      }
      const tasks = JSON.parse(readFileSync(path.join(HERE, "plan-tasks.json"), "utf8")) as {
        tasks: Array<{ id: string; system: string | null; title: string; titleEn: string; lead: string; deadline: string | null }>;
      };
      for (const t of tasks.tasks)
        await store.putTask(
          {
            id: t.id,
            system: t.system,
            title: t.title,
            title_en: t.titleEn,
            lead_agency: t.lead,
            deadline: t.deadline,
            status: "planned",
            percent: 0,
            evidence: [],
            updated_by: "system",
          },
          true,
        );
      await indicators.reload();
      return { targets: file.targets.length, tasks: tasks.tasks.length };
    },

    /** Every target with its yearly series, current goal, status and forecast, by sector. */
    async scorecard(opts: { date?: string; orgUnit?: string } = {}) {
      const m = indicators.model();
      const date = opts.date ?? today();
      const year = Number(date.slice(0, 4));
      const ou = opts.orgUnit ?? m.root;
      if (!ou || !m.units.has(ou)) throw notFound("No such organisation unit.");
      const years: string[] = [];
      for (let y = FIRST_YEAR; y <= year; y++) years.push(String(y));
      const ids = m.targets.map((t) => t.indicator).filter((id) => m.indicators.has(id));
      const result = ids.length ? await indicators.analytics({ dx: ids, pe: years, ou: [ou], date }) : { rows: [] };
      const series = new Map<string, Array<{ period: string; value: number }>>();
      for (const r of result.rows) {
        const [dx, pe, , v] = r as [string, string, string, number];
        series.set(dx, [...(series.get(dx) ?? []), { period: pe, value: v }]);
      }
      const now = year + (Date.parse(`${date}T00:00:00Z`) - Date.UTC(year, 0, 1)) / (365.25 * 86_400_000);
      const targets = m.targets.map((t) => {
        const s = (series.get(t.indicator) ?? []).sort((a, b) => a.period.localeCompare(b.period));
        const base = {
          id: t.id,
          sector: t.sector,
          name: t.name,
          nameEn: t.name_en,
          unit: t.unit,
          goals: t.goals,
          baseline: t.baseline,
          system: t.system,
          indicator: t.indicator,
          series: s,
          latest: s.length ? (s[s.length - 1] as { period: string; value: number }) : null,
        };
        if (t.unit === "event") {
          const held = s.find((x) => x.period === String(year))?.value === 1;
          const day = `${year}-10-10`;
          return {
            ...base,
            goal: { year, value: 1, deadline: day },
            status: held ? "met" : date <= day ? "on_track" : "off_track",
            nextDate: nextDxDay(date),
            forecast: null,
            linear: null,
            holt: null,
          };
        }
        const goal = currentGoal(t, year);
        const points: Point[] = s.map((x) => ({ t: Number(x.period) + 1, v: x.value }));
        const a: Assessment | null = goal ? assess(points, goal, now) : null;
        const fitDto = (f: Assessment["forecast"]) =>
          f && {
            method: f.method,
            year: Math.round((f.at - 1) * 100) / 100,
            value: round(f.value),
            low: round(f.low),
            high: round(f.high),
            slopePerYear: round(f.slopePerYear),
            // The fits run on period ends (2025 → 2026.0); report the year the value is reached.
            reachesYear: f.reachesAt === null ? null : Math.round((f.reachesAt - 1) * 10) / 10,
          };
        return {
          ...base,
          goal: goal ? { year: goal.year, value: goal.value, ...(goal.max !== undefined ? { max: goal.max } : {}), deadline: `${goal.year}-12-31` } : null,
          status: a?.status ?? "no_data",
          nextDate: null,
          forecast: fitDto(a?.forecast ?? null),
          linear: fitDto(a?.linear ?? null),
          holt: fitDto(a?.holt ?? null),
        };
      });
      const sectors = [...new Set(targets.map((t) => t.sector))].map((sector) => {
        const ts = targets.filter((t) => t.sector === sector);
        const count = (st: string) => ts.filter((t) => t.status === st).length;
        return {
          sector,
          targets: ts.length,
          met: count("met"),
          onTrack: count("on_track"),
          atRisk: count("at_risk"),
          offTrack: count("off_track"),
          noData: count("no_data"),
        };
      });
      return { date, orgUnit: ou, targets, sectors, nextDxDay: nextDxDay(date) };
    },

    /** Values of one indicator per commune for a period (the choropleth). */
    async byCommune(indicator: string, pe: string) {
      const m = indicators.model();
      // The period is a filter: a relative one (LAST_12_MONTHS) is one value per commune.
      const r = await indicators.analytics({ dx: [indicator], pe: [], ou: ["LEVEL-2"], filter: { pe: [pe] } });
      const values: Record<string, number> = {};
      for (const row of r.rows) values[row[1] as string] = row[2] as number;
      const nums = Object.values(values);
      return {
        indicator,
        period: pe,
        values,
        min: nums.length ? Math.min(...nums) : null,
        max: nums.length ? Math.max(...nums) : null,
        communes: [...m.units.values()].filter((u) => u.kind === "commune").length,
      };
    },

    async tasks(date = today()) {
      const rows = await store.tasks();
      return rows.map((t) => taskDto(t, date));
    },

    async updateTask(
      id: string,
      patch: { status?: TaskRow["status"]; percent?: number; evidence?: TaskRow["evidence"]; leadAgency?: string | null; deadline?: string | null },
      actor: Actor,
    ) {
      return db.tx(async () => {
        const t = await store.task(id);
        if (!t) throw notFound("No such task.");
        const admin = actor.type === "system" || actor.roles.includes("admin") || actor.permissions.has("indicators:manage");
        if (!admin && !(actor.permissions.has("data:enter") && actor.agency && actor.agency === t.lead_agency))
          throw forbidden("Only the lead agency or an indicators manager updates this task.");
        if (patch.deadline) {
          try {
            if (parsePeriod(patch.deadline.replaceAll("-", "")).type !== "daily") throw new Error();
          } catch {
            throw badRequest("deadline: not a date (YYYY-MM-DD)", { errors: [{ path: "/deadline", message: "not a date" }] });
          }
        }
        for (const [i, e] of (patch.evidence ?? []).entries())
          if (!/^https?:\/\//i.test(e.url))
            throw badRequest(`evidence/${i}/url: must be an http(s) link`, { errors: [{ path: `/evidence/${i}/url`, message: "must be http(s)" }] });
        const next = {
          ...t,
          status: patch.status ?? t.status,
          percent: patch.percent ?? (patch.status === "done" ? 100 : t.percent),
          evidence: patch.evidence ?? t.evidence,
          lead_agency: patch.leadAgency !== undefined ? patch.leadAgency : t.lead_agency,
          deadline: patch.deadline !== undefined ? patch.deadline : t.deadline,
          updated_by: actor.name,
        };
        await store.putTask(next);
        await audit.record({
          action: "indicators.task.update",
          targetType: "indicators.task",
          targetId: id,
          details: { status: next.status, percent: next.percent },
        });
        return taskDto({ ...next, updated_at: new Date() }, today());
      });
    },
  };
}

const round = (v: number) => Math.round(v * 100) / 100;

function taskDto(t: TaskRow, date: string) {
  const overdue = t.status !== "done" && t.status !== "cancelled" && t.deadline !== null && t.deadline < date;
  return {
    id: t.id,
    system: t.system,
    title: t.title,
    titleEn: t.title_en,
    leadAgency: t.lead_agency,
    deadline: t.deadline,
    status: t.status,
    percent: t.percent,
    evidence: t.evidence,
    overdue,
    updatedAt: new Date(t.updated_at).toISOString(),
    updatedBy: t.updated_by,
    ...(t.id === "P-DX-DAY" ? { nextDate: nextDxDay(date) } : {}),
  };
}

export type PlanService = ReturnType<typeof planService>;
