// The indicators module (S9 reporting, S22 plan tracking, S10 forecasts): DHIS2's aggregate model,
// periodic report forms with approval, analytics, the plan's targets and tasks, automatic
// indicators from Sen's own data, and the export to the Government reporting system.
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { AuditService } from "../core/audit/service.ts";
import type { Db } from "../core/db.ts";
import type { EventBus, SenEvent } from "../core/events/bus.ts";
import type { JobQueue } from "../core/jobs/queue.ts";
import { seedDemo } from "./demo.ts";
import { GOV_QUEUE, govExport } from "./govexport.ts";
import { planService } from "./plan.ts";
import { indicatorRoutes } from "./routes.ts";
import { indicatorsService } from "./service.ts";
import { type AutoSource, type DeviceSnapshot, type ReportStatistics, iotSource, reportsSource, sourceRegistry } from "./sources.ts";

export const INDICATORS_MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");
const LOAD_LOCK = 0x53454e09;

export interface IndicatorsModuleDeps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  jobs: JobQueue;
  logger: Logger;
  dataDir: string;
  config: { province: string; demo: boolean; govReportUrl?: string; govReportSecret?: string; indicatorsRefreshMinutes: number };
  /** The province and its communes (from geo). */
  province(): Promise<{ code: string; name: string; nameEn: string }>;
  communes(): Promise<Array<{ code: string; name: string; nameEn: string; unitType: string }>>;
  /** Agencies (from core accounts). */
  agencies(): Promise<Array<{ code: string; name: string; nameEn: string; kind: string }>>;
}

export function createIndicators(deps: IndicatorsModuleDeps) {
  const { db, audit, bus, jobs, logger, config } = deps;
  let gov: ReturnType<typeof govExport> | undefined;
  const service = indicatorsService({
    db,
    audit,
    bus,
    onApproved: (pe) => void gov?.schedule(pe).catch((err) => logger.warn({ err, pe }, "scheduling the Government export failed")),
  });
  gov = govExport({ db, jobs, indicators: service, config: { url: config.govReportUrl, secret: config.govReportSecret, province: config.province } });
  const plan = planService({ db, audit, indicators: service });
  const sources = sourceRegistry({ db, indicators: service });
  let timer: NodeJS.Timeout | undefined;
  let worker: { stop(): Promise<void> } | undefined;

  return {
    service,
    plan,
    sources,
    gov,
    /** Register an automatic source (see sources.ts); do it before start(). */
    registerSource: (s: AutoSource) => sources.register(s),
    /** Create the registered sources' data elements (before start()). */
    setupSources: () => sources.setup(),
    /** The IoT source: devices connected and online per commune and type. */
    iotSource: (devices: () => DeviceSnapshot[]) => iotSource(devices),
    /** The field-reports source: received, resolved, on time per commune and handling agency. */
    reportsSource: (reports: ReportStatistics) => reportsSource(reports, (agency) => service.model().unitOfAgency.get(agency)),

    /** Mirror the units, load the plan's targets and tasks (idempotent; one node at a time). */
    async load(): Promise<void> {
      await db.withLock(LOAD_LOCK, async () => {
        const [p, communes, agencies] = await Promise.all([deps.province(), deps.communes(), deps.agencies()]);
        await service.syncUnits({ province: { ...p, agency: `UBND-${p.code}` }, communes, agencies });
        await service.reload();
        await plan.seed(deps.dataDir);
        if (config.demo && (await seedDemo(service))) logger.info("demo indicator values loaded");
      });
    },

    /** The refresh timer (automatic sources, export sweep) and the export worker. */
    start(): void {
      const tick = () =>
        void sources
          .refresh()
          .then((r) => {
            if (Object.keys(r.errors).length) logger.warn({ errors: r.errors }, "automatic indicator sources failed");
            return gov?.sweep();
          })
          .catch((err) => logger.warn({ err }, "refreshing automatic indicators failed"));
      timer = setInterval(tick, config.indicatorsRefreshMinutes * 60_000);
      timer.unref();
      setTimeout(tick, 2_000).unref();
      if (config.govReportUrl) worker = jobs.work(GOV_QUEUE, (job) => (gov as NonNullable<typeof gov>).deliver(job as never), { concurrency: 2 });
    },

    /** Another node changed metadata: reload it. */
    follow(e: SenEvent): void {
      if (e.topic === "indicators.metadata") void service.reload().catch((err) => logger.warn({ err }, "reloading indicator metadata failed"));
    },

    routes(app: FastifyInstance): void {
      indicatorRoutes(app, { indicators: service, plan, sources, gov: gov as NonNullable<typeof gov> });
    },

    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      await worker?.stop();
    },
  };
}

export type Indicators = ReturnType<typeof createIndicators>;
export type { AutoSource, SourceValue } from "./sources.ts";
