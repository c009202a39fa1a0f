// The reports module: citizens' field reports routed to the responsible agency, with deadlines,
// public tracking and Open311 GeoReport v2. createSen starts its workers (email and gateway
// deliveries, the deadline watch) and registers its routes.
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { AccountsService } from "../core/accounts/service.ts";
import type { Mailer } from "../core/jobs/outbound.ts";
import { postWebhook } from "../core/jobs/outbound.ts";
import { type Job, PermanentJobError } from "../core/jobs/queue.ts";
import { open311Routes } from "./open311.ts";
import { reportRoutes } from "./routes.ts";
import { EMAIL_QUEUE, type ReportsDeps, type ReportsService, WEBHOOK_QUEUE, reportsService } from "./service.ts";

export const REPORTS_MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");
/** How often each node looks for reports past their deadline. */
export const DEADLINE_CHECK_MS = 60_000;

export interface Reports extends ReportsService {
  routes(app: FastifyInstance): Promise<void>;
  /** Start the delivery workers and the deadline watch; returns a stop function. */
  start(opts: { mailer: Mailer; logger: Logger; intervalMs?: number }): () => Promise<void>;
}

export function createReports(deps: ReportsDeps & { accounts: AccountsService }): Reports {
  const service = reportsService(deps);
  let stopWork: (() => Promise<void>) | undefined;
  return Object.assign(service, {
    async routes(app: FastifyInstance) {
      // The deadline watch and the workers stop with the server.
      app.addHook("onClose", async () => {
        await stopWork?.();
      });
      await reportRoutes(app, service);
      await open311Routes(app, service, deps.accounts, { publicUrl: deps.publicUrl });
    },
    start({ mailer, logger, intervalMs = DEADLINE_CHECK_MS }: { mailer: Mailer; logger: Logger; intervalMs?: number }) {
      const email = deps.jobs.work<{ to: string; subject: string; text: string }>(EMAIL_QUEUE, async (job) => mailer.send(job.payload), { concurrency: 4 });
      const hooks = deps.jobs.work<{ webhook: string; event: string; payload: unknown }>(
        WEBHOOK_QUEUE,
        async (job: Job<{ webhook: string; event: string; payload: unknown }>) => {
          const w = await service.store.getWebhook(job.payload.webhook);
          if (!w) throw new PermanentJobError("the gateway was removed");
          if (!w.active) return { skipped: "inactive" };
          return postWebhook({ url: w.url, secret: w.secret ?? undefined }, job.payload.event, job.key ?? String(job.id), job.payload.payload);
        },
        { concurrency: 8 },
      );
      let running = false;
      const tick = async () => {
        if (running) return;
        running = true;
        try {
          const r = await service.checkDeadlines();
          if (r.overdue || r.closed) logger.info(r, "reports: deadlines checked");
        } catch (err) {
          logger.warn({ err }, "reports: deadline check failed");
        } finally {
          running = false;
        }
      };
      const timer = setInterval(() => void tick(), intervalMs);
      timer.unref();
      void tick();
      stopWork = async () => {
        stopWork = undefined;
        clearInterval(timer);
        await Promise.all([email.stop(), hooks.stop()]);
      };
      return stopWork;
    },
  });
}

export type { ReportsService, Statistics, StatisticsQuery, StatisticsRow, ReportEvent } from "./service.ts";
export { periodRange } from "./service.ts";
