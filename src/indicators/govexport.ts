// Export to the Government reporting system (Hệ thống thông tin báo cáo Chính phủ): the approved
// values of a period as one documented JSON document (docs/indicators.md), pushed to the
// configured endpoint as a signed webhook through the durable job queue and retried until the
// receiver acknowledges it (2xx). The same content is pushed once: each export is keyed by a hash
// of its values, so a new approval (or a correction) makes a new push and a repeat does not.
import { createHash } from "node:crypto";
import type { Db } from "../core/db.ts";
import type { Job, JobQueue } from "../core/jobs/queue.ts";
import { postWebhook } from "../core/jobs/outbound.ts";
import { PermanentJobError } from "../core/jobs/queue.ts";
import { Problem, badRequest } from "../core/errors.ts";
import { parsePeriod } from "./periods.ts";
import type { IndicatorsService } from "./service.ts";

export const GOV_QUEUE = "indicators.gov-export";
export const GOV_SCHEMA = "sen.gov-report/1";

export interface GovExportConfig {
  url?: string;
  secret?: string;
  province: string;
}

export interface GovReport {
  schema: typeof GOV_SCHEMA;
  province: string;
  period: string;
  periodType: string;
  startDate: string;
  endDate: string;
  generatedAt: string;
  /** SHA-256 of the values below (stable for the same content). */
  contentHash: string;
  dataSets: Array<{
    id: string;
    name: string;
    nameEn: string;
    reports: Array<{
      orgUnit: string;
      orgUnitName: string;
      approvedAt: string;
      values: Array<{ dataElement: string; categoryOptionCombo: string; value: string }>;
    }>;
  }>;
}

export function govExport({ db, jobs, indicators, config }: { db: Db; jobs: JobQueue; indicators: IndicatorsService; config: GovExportConfig }) {
  const store = indicators.store;

  async function report(pe: string): Promise<GovReport> {
    let p: ReturnType<typeof parsePeriod>;
    try {
      p = parsePeriod(pe);
    } catch (err) {
      throw badRequest(`period: ${(err as Error).message}`);
    }
    const m = indicators.model();
    const rows = await store.approvedValues(p.id);
    const byDs = new Map<string, GovReport["dataSets"][number]>();
    for (const r of rows) {
      const ds = m.dataSets.get(r.data_set);
      let d = byDs.get(r.data_set);
      if (!d) {
        d = { id: r.data_set, name: ds?.name ?? r.data_set, nameEn: ds?.name_en ?? r.data_set, reports: [] };
        byDs.set(r.data_set, d);
      }
      let rep = d.reports.find((x) => x.orgUnit === r.ou);
      if (!rep) {
        rep = { orgUnit: r.ou, orgUnitName: m.units.get(r.ou)?.name ?? r.ou, approvedAt: new Date(r.approved_at).toISOString(), values: [] };
        d.reports.push(rep);
      }
      rep.values.push({ dataElement: r.de, categoryOptionCombo: r.coc, value: r.value });
    }
    const dataSets = [...byDs.values()];
    const contentHash = createHash("sha256").update(JSON.stringify(dataSets)).digest("hex");
    return {
      schema: GOV_SCHEMA,
      province: config.province,
      period: p.id,
      periodType: p.type,
      startDate: p.start,
      endDate: p.end,
      generatedAt: new Date().toISOString(),
      contentHash,
      dataSets,
    };
  }

  /** Queue a push of a period's approved values unless the same content was pushed already. */
  async function schedule(pe: string): Promise<boolean> {
    try {
      parsePeriod(pe);
    } catch (err) {
      throw badRequest(`period: ${(err as Error).message}`);
    }
    if (!config.url) throw new Problem(409, "not-configured", "No Government reporting endpoint is configured (SEN_GOV_REPORT_URL).");
    const r = await report(pe);
    const count = r.dataSets.reduce((n, d) => n + d.reports.reduce((k, x) => k + x.values.length, 0), 0);
    if (count === 0) return false;
    return db.tx(async () => {
      const row = await store.addExport(pe, r.contentHash, count);
      if (!row) return false;
      await jobs.enqueue(GOV_QUEUE, { exportId: Number(row.id), period: pe, hash: r.contentHash }, { key: `gov:${pe}:${r.contentHash}`, maxAttempts: 1000 });
      return true;
    });
  }

  return {
    report,
    schedule,
    /** The scheduled sweep: every period approved in the last year not yet pushed with its present content. */
    async sweep(): Promise<number> {
      if (!config.url) return 0;
      let n = 0;
      for (const { pe } of await store.recentlyApprovedPeriods(400)) if (await schedule(pe)) n++;
      return n;
    },
    /** Job handler: build the report now (the freshest approved values) and post it. */
    async deliver(job: Job<{ exportId: number; period: string; hash: string }>): Promise<unknown> {
      if (!config.url) throw new Error("SEN_GOV_REPORT_URL is not set");
      const body = await report(job.payload.period);
      try {
        const res = await postWebhook({ url: config.url, secret: config.secret }, "indicators.report", job.key ?? String(job.id), body);
        await store.finishExport(job.payload.exportId, "acknowledged", null);
        return res;
      } catch (err) {
        if (err instanceof PermanentJobError || job.attempts >= job.maxAttempts)
          await store.finishExport(job.payload.exportId, "failed", (err as Error).message.slice(0, 2000));
        throw err;
      }
    },
    async list(limit = 50) {
      return (await store.exports(limit)).map((e) => ({
        id: Number(e.id),
        period: e.pe,
        contentHash: e.hash,
        values: e.values_count,
        status: e.status,
        createdAt: new Date(e.created_at).toISOString(),
        acknowledgedAt: e.acknowledged_at ? new Date(e.acknowledged_at).toISOString() : null,
        lastError: e.last_error,
      }));
    },
  };
}

export type GovExport = ReturnType<typeof govExport>;
