// The alerts module: public warnings as OASIS CAP 1.2 messages. Officers draft (or sensors draft
// for them), a second officer approves, Sen publishes the CAP document and feeds, and delivers to
// subscribers through the durable job queue.
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { AuditService } from "../core/audit/service.ts";
import type { Db } from "../core/db.ts";
import type { EventBus } from "../core/events/bus.ts";
import type { Mailer } from "../core/jobs/outbound.ts";
import type { JobQueue } from "../core/jobs/queue.ts";
import type { GeoService } from "../geo/service.ts";
import { type CommuneShape, areaIndex } from "./area.ts";
import { type DeliveryService, deliveryService } from "./delivery.ts";
import { alertRoutes } from "./routes.ts";
import { sensorDrafts } from "./sensors.ts";
import { type AlertsService, alertsService } from "./service.ts";

export const ALERTS_MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");

export interface AlertsDeps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  jobs: JobQueue;
  mailer: Mailer;
  geo: GeoService;
  province: string;
  publicUrl: string;
  agencyName(code: string): Promise<{ name: string; nameEn: string } | undefined>;
  device(
    id: string,
  ): { attributes: Record<string, unknown>; commune: string | null; lat: number | null; lon: number | null; agency: string | null } | undefined;
  logger?: Logger;
}

export interface Alerts {
  service: AlertsService;
  delivery: DeliveryService;
  /** Start the delivery workers, the sensor-draft listener and the expiry timer. */
  start(): Promise<{ stop(): Promise<void> }>;
  routes(app: FastifyInstance): void;
}

export function createAlerts(deps: AlertsDeps): Alerts {
  const area = areaIndex(() =>
    deps.geo.communes().map(
      ({ unit, geometry }): CommuneShape => ({
        code: unit.code,
        name: unit.name,
        nameEn: unit.nameEn,
        bbox: unit.bbox as [number, number, number, number],
        geometry,
      }),
    ),
  );
  const locate = (lat: number, lon: number) => deps.geo.locate(lat, lon)?.code;
  const delivery = deliveryService({
    db: deps.db,
    audit: deps.audit,
    jobs: deps.jobs,
    mailer: deps.mailer,
    area,
    publicUrl: deps.publicUrl,
    locate,
    allowHttpPush: process.env.SEN_ALERTS_HTTP_PUSH === "1",
  });
  const service = alertsService({
    db: deps.db,
    audit: deps.audit,
    bus: deps.bus,
    area,
    province: deps.province,
    publicUrl: deps.publicUrl,
    agencyName: deps.agencyName,
    locate,
    onPublish: (row) => delivery.enqueueFanout(row.id),
  });
  const sensors = sensorDrafts({ db: deps.db, bus: deps.bus, alerts: service, area, device: deps.device, logger: deps.logger });
  let provinceName: string | undefined;

  return {
    service,
    delivery,
    async start() {
      const concurrency = Math.max(1, Number(process.env.SEN_ALERTS_DELIVERY_CONCURRENCY) || 32);
      const workers = delivery.start({ concurrency });
      await sensors.start();
      const expiry = setInterval(() => void service.expireDue().catch((err) => deps.logger?.warn({ err }, "alert expiry failed")), 30_000);
      expiry.unref();
      return {
        async stop() {
          clearInterval(expiry);
          sensors.stop();
          await sensors.idle();
          await workers.stop();
        },
      };
    },
    routes: (app) =>
      alertRoutes(app, service, delivery, {
        publicUrl: deps.publicUrl,
        provinceName: async () => (provinceName ??= (await deps.geo.get(deps.province)).fullName),
      }),
  };
}

export type { AlertDto, AlertsService } from "./service.ts";
export type { DeliveryService } from "./delivery.ts";
