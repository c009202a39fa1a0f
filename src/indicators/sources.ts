// Automatic indicators: sources that compute data values from Sen's own data (devices, field
// reports, datasets, alerts) for periods. A source declares the elements it writes and computes
// the values of one period; refresh() runs every source for its current period (and the previous
// one, which late events may still change) and replaces what the source held there. Unchanged
// values are not rewritten, so a refresh is idempotent and any node may run it.
import type { Db } from "../core/db.ts";
import { SYSTEM } from "../core/context.ts";
import { Problem } from "../core/errors.ts";
import { type Period, type PeriodType, periodOf, shift, today } from "./periods.ts";
import type { IndicatorsService } from "./service.ts";

export interface SourceValue {
  de: string;
  coc?: string;
  ou: string;
  value: number;
}

export interface AutoSource {
  id: string;
  periodType: PeriodType;
  /** A snapshot (devices online now) is only computed for the current period. */
  snapshot?: boolean;
  /** Create the elements, categories and indicators the source writes (idempotent, run before each refresh). */
  setup(indicators: IndicatorsService): Promise<void>;
  compute(period: Period, ctx: { root: string; isUnit(id: string): boolean }): Promise<SourceValue[]>;
}

const REFRESH_LOCK = 0x53454e08;

export function sourceRegistry({ db, indicators }: { db: Db; indicators: IndicatorsService }) {
  const sources = new Map<string, AutoSource>();

  return {
    register(s: AutoSource) {
      if (sources.has(s.id)) throw new Error(`indicator source ${s.id} registered twice`);
      sources.set(s.id, s);
    },
    /** Create every source's data elements now (at start), so the first refresh writes only values. */
    async setup(): Promise<void> {
      await db.withLock(REFRESH_LOCK, async () => {
        for (const s of sources.values()) await s.setup(indicators);
      });
    },
    list: () => [...sources.values()].map((s) => ({ id: s.id, periodType: s.periodType, snapshot: !!s.snapshot })),

    /** Run every source (or one) for its current periods; values written per source, and failures. */
    async refresh(opts: { now?: Date; only?: string } = {}): Promise<{ written: Record<string, number>; errors: Record<string, string> }> {
      if (opts.only !== undefined && !sources.has(opts.only))
        throw new Problem(404, "unknown-source", `There is no automatic source "${opts.only.slice(0, 80)}"; see GET /api/indicators/sources.`);
      return db.withLock(REFRESH_LOCK, async () => {
        const out: Record<string, number> = {};
        const errors: Record<string, string> = {};
        const m = indicators.model();
        if (!m.root) return { written: out, errors };
        const root = m.root;
        const date = today(opts.now);
        for (const s of sources.values()) {
          if (opts.only && s.id !== opts.only) continue;
          const cur = periodOf(s.periodType, date);
          const periods = s.snapshot ? [cur] : [shift(cur, -1), cur];
          try {
            await s.setup(indicators);
            const values: Array<SourceValue & { pe: string }> = [];
            for (const p of periods)
              for (const v of await s.compute(p, { root, isUnit: (id) => indicators.model().units.has(id) })) values.push({ ...v, pe: p.id });
            const r = await indicators.writeSourceValues(
              s.id,
              periods.map((p) => p.id),
              values,
              { ...SYSTEM, name: `source:${s.id}` },
            );
            out[s.id] = r.created + r.updated + r.deleted;
            await indicators.store.recordSourceRun(
              s.id,
              periods.map((p) => p.id),
              out[s.id],
              null,
            );
          } catch (err) {
            // One failing source (its module down, a bug) must not stop the others.
            errors[s.id] = (err as Error).message.slice(0, 2000);
            await indicators.store
              .recordSourceRun(
                s.id,
                periods.map((p) => p.id),
                0,
                errors[s.id],
              )
              .catch(() => undefined);
          }
        }
        return { written: out, errors };
      });
    },
  };
}

export type SourceRegistry = ReturnType<typeof sourceRegistry>;

/** A device as the IoT source needs it. */
export interface DeviceSnapshot {
  type: string;
  commune: string | null;
  enabled: boolean;
  online: boolean;
}

const optionCode = (type: string) =>
  type
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40) || "other";

/** Devices connected (registered and enabled) and online per commune and device type, monthly (last value). */
export function iotSource(devices: () => DeviceSnapshot[]): AutoSource {
  const CATEGORY = "iot-device-type";
  const ensureOptions = async (indicators: IndicatorsService) => {
    const types = [...new Set(devices().map((d) => d.type))];
    const cat = indicators.model().categories.get(CATEGORY);
    const have = new Set(cat?.options.map((o) => o.code) ?? []);
    const missing = types.filter((t) => !have.has(optionCode(t)));
    if (cat && missing.length === 0) return;
    const options = [...(cat?.options ?? [])];
    for (const t of missing) if (!options.some((o) => o.code === optionCode(t))) options.push({ code: optionCode(t), name: t, nameEn: t });
    if (options.length === 0) options.push({ code: "other", name: "Khác", nameEn: "Other" });
    await indicators.putCategory({ id: CATEGORY, name: "Loại thiết bị IoT", nameEn: "IoT device type", options });
  };
  return {
    id: "iot",
    periodType: "monthly",
    snapshot: true,
    async setup(indicators) {
      await ensureOptions(indicators);
      const m = indicators.model();
      for (const [id, name, nameEn] of [
        ["iot.devices", "Thiết bị IoT đã kết nối", "IoT devices connected"],
        ["iot.devices_online", "Thiết bị IoT đang trực tuyến", "IoT devices online"],
      ] as const)
        if (!m.elements.has(id))
          await indicators.putElement({ id, name, nameEn, valueType: "integer", aggregation: "last", categories: [CATEGORY], unit: "thiết bị" });
      if (!indicators.model().indicators.has("iot.online_rate"))
        await indicators.putIndicator({
          id: "iot.online_rate",
          name: "Tỷ lệ thiết bị IoT trực tuyến",
          nameEn: "IoT devices online",
          numerator: "#{iot.devices_online}",
          denominator: "#{iot.devices}",
          factor: 100,
          unit: "%",
          sector: "iot",
        });
    },
    async compute(_period, ctx) {
      const counts = new Map<string, { connected: number; online: number }>();
      for (const d of devices()) {
        if (!d.enabled) continue;
        const ou = d.commune && ctx.isUnit(d.commune) ? d.commune : ctx.root;
        const k = `${ou}|${optionCode(d.type)}`;
        const c = counts.get(k) ?? { connected: 0, online: 0 };
        c.connected++;
        if (d.online) c.online++;
        counts.set(k, c);
      }
      const out: SourceValue[] = [];
      for (const [k, c] of counts) {
        const [ou, coc] = k.split("|") as [string, string];
        out.push({ de: "iot.devices", coc, ou, value: c.connected }, { de: "iot.devices_online", coc, ou, value: c.online });
      }
      return out;
    },
  };
}

/** The slice of the reports module's statistics() this source reads (reports/index.ts). */
export interface ReportStatistics {
  statistics(q: { period?: string; by?: "agency" | "commune" }): Promise<{
    rows: Array<{ key: string | null; received: number; resolved: number; onTime: number }>;
  }>;
}

/**
 * Citizen field reports received, resolved and resolved on time, monthly: per commune where they
 * happened (reports.*) and per handling agency (reports.agency_*; a commune committee counts at
 * its commune). Two element families, so neither is counted twice in the province's total.
 */
export function reportsSource(reports: ReportStatistics, unitOfAgency: (agency: string) => string | undefined): AutoSource {
  const families = [
    { by: "commune" as const, prefix: "reports", vi: "", en: "" },
    { by: "agency" as const, prefix: "reports.agency", vi: " (theo cơ quan xử lý)", en: " (by handling agency)" },
  ];
  return {
    id: "reports",
    periodType: "monthly",
    async setup(indicators) {
      const m = indicators.model();
      for (const f of families)
        for (const [suffix, vi, en] of [
          ["received", "Phản ánh hiện trường tiếp nhận", "Field reports received"],
          ["resolved", "Phản ánh hiện trường đã xử lý", "Field reports resolved"],
          ["resolved_on_time", "Phản ánh hiện trường xử lý đúng hạn", "Field reports resolved on time"],
        ] as const) {
          const id = `${f.prefix}.${suffix}`;
          if (!m.elements.has(id))
            await indicators.putElement({ id, name: vi + f.vi, nameEn: en + f.en, valueType: "integer", aggregation: "sum", unit: "phản ánh" });
        }
      if (!indicators.model().indicators.has("reports.on_time_rate"))
        await indicators.putIndicator({
          id: "reports.on_time_rate",
          name: "Tỷ lệ phản ánh xử lý đúng hạn",
          nameEn: "Field reports resolved on time",
          numerator: "#{reports.resolved_on_time}",
          denominator: "#{reports.resolved}",
          factor: 100,
          unit: "%",
          sector: "government",
        });
    },
    async compute(period, ctx) {
      const out: SourceValue[] = [];
      for (const f of families) {
        const s = await reports.statistics({ period: period.id, by: f.by });
        const sums = new Map<string, { received: number; resolved: number; onTime: number }>();
        for (const r of s.rows) {
          const unit = r.key === null ? ctx.root : f.by === "commune" ? r.key : (unitOfAgency(r.key) ?? r.key);
          const ou = ctx.isUnit(unit) ? unit : ctx.root;
          const c = sums.get(ou) ?? { received: 0, resolved: 0, onTime: 0 };
          c.received += r.received;
          c.resolved += r.resolved;
          c.onTime += r.onTime;
          sums.set(ou, c);
        }
        for (const [ou, c] of sums)
          out.push(
            { de: `${f.prefix}.received`, ou, value: c.received },
            { de: `${f.prefix}.resolved`, ou, value: c.resolved },
            { de: `${f.prefix}.resolved_on_time`, ou, value: c.onTime },
          );
      }
      return out;
    },
  };
}
