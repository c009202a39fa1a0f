// The NGSI-LD temporal API (clause 6.18–6.19): the history of an entity's attributes. Device
// entities are served from the telemetry store (the same rows as /api/devices/{id}/telemetry);
// other entities from the attribute history the broker records on every change.
import type { Actor } from "../core/context.ts";
import type { IotService } from "../iot/index.ts";
import type { Agg } from "../iot/store.ts";
import { type StoredEntity, isUri } from "./entity.ts";
import { badRequestData, notFound } from "./errors.ts";
import { deviceIdOf } from "./devices.ts";
import { type ActiveContext, CORE, compact, expand } from "./jsonld.ts";
import { normalizeDateTime } from "./q.ts";
import type { ContextService, QueryParams } from "./service.ts";

export interface TemporalParams extends QueryParams {
  timerel?: string;
  timeAt?: string;
  endTimeAt?: string;
  timeproperty?: string;
  lastN?: number;
  aggrMethods?: string;
  aggrPeriodDuration?: string;
}

const AGGR = ["totalCount", "distinctCount", "sum", "avg", "min", "max"] as const;
type AggrMethod = (typeof AGGR)[number];
/** Instances per attribute in one answer (the spec lets a broker cap it and say so). */
const MAX_INSTANCES = 10_000;

/** ISO 8601 duration (PnDTnHnMnS, PnW) → seconds. */
export function durationSeconds(s: string): number {
  const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(s);
  if (!m || s === "P" || s.endsWith("T")) throw badRequestData("aggrPeriodDuration must be an ISO 8601 duration such as PT1H or P1D (no months or years).");
  const sec = Number(m[1] ?? 0) * 604_800 + Number(m[2] ?? 0) * 86_400 + Number(m[3] ?? 0) * 3600 + Number(m[4] ?? 0) * 60 + Number(m[5] ?? 0);
  if (sec < 1) throw badRequestData("aggrPeriodDuration must be at least one second.");
  return sec;
}

function timeRange(p: TemporalParams): { from: Date | null; to: Date | null } {
  if (p.timerel === undefined) {
    if (p.timeAt !== undefined || p.endTimeAt !== undefined) throw badRequestData("timeAt needs timerel.");
    return { from: null, to: null };
  }
  const at = p.timeAt !== undefined ? normalizeDateTime(p.timeAt) : undefined;
  if (!at) throw badRequestData("timerel needs timeAt (an ISO 8601 date-time).");
  if (p.timerel === "before") return { from: null, to: new Date(at) };
  if (p.timerel === "after") return { from: new Date(at), to: null };
  if (p.timerel === "between") {
    const end = p.endTimeAt !== undefined ? normalizeDateTime(p.endTimeAt) : undefined;
    if (!end) throw badRequestData("timerel=between needs endTimeAt.");
    if (end <= at) throw badRequestData("endTimeAt must be after timeAt.");
    return { from: new Date(at), to: new Date(end) };
  }
  throw badRequestData("timerel is before, after or between.");
}

export function temporalService(deps: { service: ContextService; iot?: IotService }) {
  const { service, iot } = deps;

  async function one(e: StoredEntity, tenant: string, p: TemporalParams, ctx: ActiveContext): Promise<Record<string, unknown>> {
    const { from, to } = timeRange(p);
    const lastN = p.lastN;
    if (lastN !== undefined && (!Number.isInteger(lastN) || lastN < 1 || lastN > MAX_INSTANCES)) throw badRequestData(`lastN is 1 to ${MAX_INSTANCES}.`);
    const attrNames = p.attrs
      ?.split(",")
      .map((x) => x.trim())
      .filter(Boolean);
    const attrs = attrNames?.map((a) => expand(ctx, a));
    const options = (p.options ?? "").split(",");
    const simplified = options.includes("temporalValues") || p.format === "temporalValues";
    const aggregated = options.includes("aggregatedValues") || p.format === "aggregatedValues" || p.aggrMethods !== undefined;
    const out: Record<string, unknown> = { id: e.id, type: e.types.map((t) => compact(ctx, t))[0] };
    const deviceId = deviceIdOf(e);

    if (aggregated) {
      if (!p.aggrMethods) throw badRequestData("aggregatedValues needs aggrMethods.");
      const methods = p.aggrMethods.split(",") as AggrMethod[];
      for (const m of methods) if (!AGGR.includes(m)) throw badRequestData(`aggrMethods: ${AGGR.join(", ")}.`);
      const seconds = p.aggrPeriodDuration ? durationSeconds(p.aggrPeriodDuration) : 86_400;
      const start = from ?? new Date(Date.now() - 30 * 86_400_000);
      const end = to ?? new Date(Date.now() + 1000);
      if ((end.getTime() - start.getTime()) / 1000 / seconds > 10_000)
        throw badRequestData("That range at that period gives over 10,000 buckets; choose a longer aggrPeriodDuration.");
      const series = new Map<string, Map<number, Partial<Record<AggrMethod, number | null>>>>();
      const add = (attr: string, bucket: number, m: AggrMethod, v: number | null) => {
        const s = series.get(attr) ?? new Map();
        const b = s.get(bucket) ?? {};
        b[m] = v;
        s.set(bucket, b);
        series.set(attr, s);
      };
      if (deviceId && iot) {
        const keys = attrs?.map((a) => compact(CORE, a));
        for (const m of methods) {
          if (m === "distinctCount") continue;
          const agg: Agg = m === "totalCount" ? "count" : m;
          const data = await iot.aggregate(deviceId, { keys, from: start, to: end, intervalSeconds: seconds, agg });
          for (const [key, pts] of Object.entries(data)) for (const pt of pts) add(expand(CORE, key), new Date(pt.ts).getTime(), m, pt.value);
        }
      } else {
        for (const r of await service.store.aggregate(tenant, e.id, attrs ?? null, start, end, seconds)) {
          const b = new Date(r.bucket).getTime();
          for (const m of methods) add(r.attr, b, m, m === "totalCount" ? r.n : m === "distinctCount" ? r.distinct_n : (r[m] as number | null));
        }
      }
      for (const [attr, buckets] of series) {
        const entry: Record<string, unknown> = { type: "Property" };
        for (const m of methods)
          entry[m] = [...buckets.entries()]
            .sort((a, b) => a[0] - b[0])
            .filter(([, v]) => v[m] !== undefined)
            .map(([t, v]) => [v[m], new Date(t).toISOString(), new Date(t + seconds * 1000).toISOString()]);
        out[compact(ctx, attr)] = entry;
      }
      return out;
    }

    // Instances per attribute: [{ value, observedAt, instanceId? }] oldest first.
    const series = new Map<string, Array<{ value: unknown; ts: string; inst?: Record<string, unknown> }>>();
    if (deviceId && iot) {
      const keys = attrs?.map((a) => compact(CORE, a));
      const data = await iot.history(deviceId, { keys, from: from ?? new Date(0), to: to ?? new Date(Date.now() + 86_400_000), limit: 100_000 });
      for (const [key, pts] of Object.entries(data)) {
        const list = pts.map((pt) => ({ value: pt.value, ts: pt.ts }));
        series.set(expand(CORE, key), lastN ? list.slice(-lastN) : list.slice(-MAX_INSTANCES));
      }
    } else {
      for (const r of await service.store.history(tenant, e.id, attrs ?? null, from, to, lastN ?? null, 100_000)) {
        const list = series.get(r.attr) ?? [];
        list.push({
          value: r.instance?.value ?? r.instance?.object ?? r.instance?.languageMap,
          ts: new Date(r.ts).toISOString(),
          inst: r.instance ?? undefined,
        });
        series.set(r.attr, list);
      }
    }
    for (const [attr, list] of series) {
      const name = compact(ctx, attr);
      const current = e.attrs[attr]?.[0];
      const kind = current?.type ?? "Property";
      if (simplified) {
        out[name] = { type: kind, values: list.map((x) => [x.value, x.ts]) };
      } else {
        out[name] = list.map((x) => {
          const base: Record<string, unknown> = { type: kind, [kind === "Relationship" ? "object" : "value"]: x.value, observedAt: x.inst?.observedAt ?? x.ts };
          if (current?.unitCode) base.unitCode = current.unitCode;
          if (x.inst?.datasetId) base.datasetId = x.inst.datasetId;
          return base;
        });
      }
    }
    return out;
  }

  return {
    async entity(actor: Actor, tenant: string, id: string, p: TemporalParams, ctx: ActiveContext) {
      if (!isUri(id)) throw badRequestData("An entity id must be a URI.");
      const e = await service.store.get(tenant, id);
      if (!e || !service.canRead(actor, tenant, e)) throw notFound(`Entity ${id} not found (or not public).`);
      return one(e, tenant, p, ctx);
    },
    async query(actor: Actor, tenant: string, p: TemporalParams, ctx: ActiveContext) {
      if (p.type === undefined && p.id === undefined && p.idPattern === undefined && p.attrs === undefined && p.q === undefined)
        throw badRequestData("A temporal query needs type, id, idPattern, attrs or q.");
      const { timerel, timeAt, endTimeAt, lastN, aggrMethods, aggrPeriodDuration, timeproperty, ...rest } = p;
      timeRange(p);
      const r = await service.query(actor, tenant, { ...rest, options: undefined, format: undefined, limit: Math.min(p.limit ?? 20, 100) }, ctx);
      const out = [];
      for (const e of r.entities) out.push(await one(e, tenant, p, ctx));
      return { items: out, count: r.count };
    },
  };
}

export type TemporalService = ReturnType<typeof temporalService>;
