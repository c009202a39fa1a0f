// The context module: Sen's NGSI-LD context broker. Entities (with IoT devices projected into
// them), q and geo-queries, subscriptions with HTTP/MQTT notifications, the temporal API and
// @context handling; what it offers the rest of Sen.
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import type { AuditService } from "../core/audit/service.ts";
import type { Db } from "../core/db.ts";
import type { EventBus, SenEvent } from "../core/events/bus.ts";
import type { JobQueue } from "../core/jobs/queue.ts";
import type { IotService } from "../iot/index.ts";
import { cachePeers, entityCache, queryCache } from "./cache.ts";
import { type DeviceProjection, deviceProjection } from "./devices.ts";
import { contextRoutes } from "./routes.ts";
import type { StoredEntity } from "./entity.ts";
import { type ContextService, contextService } from "./service.ts";
import { contextStore } from "./store.ts";
import { NOTIFY_QUEUE, type NotifyPayload, type SubscriptionService, subscriptionService } from "./subscriptions.ts";
import { type TemporalService, temporalService } from "./temporal.ts";

export const CONTEXT_MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");

export interface ContextDeps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  jobs: JobQueue;
  iot: IotService;
  agencyExists(code: string): Promise<boolean>;
  publicUrl: string;
  logger?: { warn(obj: object, msg: string): void };
}

export interface Context {
  service: ContextService;
  subscriptions: SubscriptionService;
  temporal: TemporalService;
  devices: DeviceProjection;
  /** Load configuration and subscriptions, project the devices, start the notifier. */
  start(opts?: { concurrency?: number }): Promise<void>;
  stop(): Promise<void>;
  routes(app: FastifyInstance): void;
}

export function createContext(deps: ContextDeps): Context {
  const store = contextStore(deps.db);
  let subs: SubscriptionService | undefined;
  const cache = entityCache();
  const queries = queryCache<{ entities: StoredEntity[]; count?: number }>();
  // Embedded PGlite: this process is the database's only writer (the data folder is locked). On a
  // PostgreSQL server other Sen processes write too, and each write tells them which entities.
  const peers = deps.db.driver === "postgres" ? cachePeers(deps.db, cache, queries) : undefined;
  const service = contextService({
    db: deps.db,
    audit: deps.audit,
    bus: deps.bus,
    store,
    agencyExists: deps.agencyExists,
    cache,
    queries,
    announce: peers?.announce,
    onChanges: (tenant, changes) => (subs as SubscriptionService).onChanges(tenant, changes),
  });
  subs = subscriptionService({ db: deps.db, audit: deps.audit, bus: deps.bus, jobs: deps.jobs, store, service: () => service, logger: deps.logger });
  const subscriptions = subs;
  const temporal = temporalService({ service, iot: deps.iot });
  const devices = deviceProjection({ db: deps.db, iot: deps.iot, service, logger: deps.logger });
  // Every committed telemetry batch refreshes the device entities (coalesced per tick).
  deps.iot.onPoints((device, _rules, points) => devices.onPoints(device.id, [...new Set(points.map((p) => p.key))]));

  let worker: { stop(): Promise<void> } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;

  return {
    service,
    subscriptions,
    temporal,
    devices,
    async start(opts = {}) {
      await peers?.start();
      await service.loadConfig();
      await subscriptions.load();
      // Another node starting at the same time may project the same devices: not fatal, the next
      // points or device change refresh them.
      await devices.syncAll().catch((err) => deps.logger?.warn({ err }, "projecting devices as entities failed"));
      await deps.db.query("ANALYZE context.entities, context.entity_types").catch(() => undefined);
      // Other Sen processes (and this one) announce configuration and device changes on the bus.
      unsubscribe = deps.bus.subscribe((e: SenEvent) => {
        if (e.topic === "context.config") {
          const what = (e.payload as { what: string }).what;
          void (what === "subscriptions" ? subscriptions.load() : service.loadConfig()).catch((err) => deps.logger?.warn({ err }, "context reload failed"));
        } else if (e.topic === "iot.device.created" || e.topic === "iot.device.updated" || e.topic === "iot.device.deleted") {
          // iot's own follower may not have run yet: make sure its cache holds the change first.
          void deps.iot
            .follow(e)
            .then(() => devices.syncDevice((e.payload as { id: string }).id))
            .catch((err) => deps.logger?.warn({ err }, "device entity sync failed"));
        }
      });
      worker = deps.jobs.work<NotifyPayload>(NOTIFY_QUEUE, (job) => subscriptions.deliver(job), { concurrency: opts.concurrency ?? 32 });
      timer = setInterval(() => void subscriptions.tickIntervals().catch((err) => deps.logger?.warn({ err }, "periodic notifications failed")), 1000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      unsubscribe?.();
      await devices.settle();
      await worker?.stop();
      await subscriptions.flushStatus();
      await service.flushEvents();
      await subscriptions.closeMqtt();
      await peers?.stop();
    },
    routes: (app) => contextRoutes(app, { service, subscriptions, temporal, publicUrl: deps.publicUrl }),
  };
}

export type { ContextService } from "./service.ts";
export type { SubscriptionService, NotifyPayload } from "./subscriptions.ts";
