// Sen assembled: configuration → database and migrations → services → first-start data → HTTP.
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { fileURLToPath } from "node:url";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import { accountRoutes } from "./core/accounts/routes.ts";
import { accountsService } from "./core/accounts/service.ts";
import { auditRoutes } from "./core/audit/routes.ts";
import { auditService } from "./core/audit/service.ts";
import { type Config, ConfigError } from "./core/config.ts";
import { type Db, openDb } from "./core/db.ts";
import { eventBus } from "./core/events/bus.ts";
import { eventRoutes } from "./core/events/routes.ts";
import { Problem } from "./core/errors.ts";
import { errors } from "./core/http/schemas.ts";
import { createHttpServer, typed } from "./core/http/server.ts";
import { type MigrationSource, migrate } from "./core/migrate.ts";
import { embeddedVacuum } from "./core/vacuum.ts";
import { type FirstAdmin, seedAdmin, seedAgencies, seedDemoUsers } from "./core/seed.ts";
import { ensureWebBuilt, webRoutes } from "./core/web.ts";
import { createMailer } from "./core/jobs/outbound.ts";
import { jobQueue } from "./core/jobs/queue.ts";
import { ogcRoutes } from "./geo/ogc.ts";
import { geoRoutes } from "./geo/routes.ts";
import { geoService } from "./geo/service.ts";
import { OPS_MIGRATIONS, createOps, ruleProblems } from "./ops/index.ts";
import { INDICATORS_MIGRATIONS, createIndicators } from "./indicators/index.ts";
import { ALERTS_MIGRATIONS, createAlerts } from "./alerts/index.ts";
import { REPORTS_MIGRATIONS, createReports } from "./reports/index.ts";
import { CATALOG_MIGRATIONS, createCatalog, iotCollections } from "./catalog/index.ts";
import { CONTEXT_MIGRATIONS, createContext } from "./context/index.ts";
import { type ExternalMqtt, startExternalMqtt } from "./iot/mqtt-external.ts";
import { type Simulator, ensureDemoDevices, loadDemoFleet, startSimulator } from "./iot/simulator.ts";
import { IOT_MIGRATIONS, commandService, iotRoutes, iotService, seedProfiles, startEmbeddedBroker, type EmbeddedBroker } from "./iot/index.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DATA_DIR = path.join(ROOT, "data");
export const VERSION: string = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version;

/** Every module's migrations, in dependency order. */
export const MIGRATIONS: MigrationSource[] = [
  { module: "core", dir: path.join(ROOT, "src/core/migrations") },
  { module: "geo", dir: path.join(ROOT, "src/geo/migrations") },
  { module: "iot", dir: IOT_MIGRATIONS },
  { module: "ops", dir: OPS_MIGRATIONS },
  { module: "indicators", dir: INDICATORS_MIGRATIONS },
  { module: "alerts", dir: ALERTS_MIGRATIONS },
  { module: "reports", dir: REPORTS_MIGRATIONS },
  { module: "catalog", dir: CATALOG_MIGRATIONS },
  { module: "context", dir: CONTEXT_MIGRATIONS },
];

const SEED_LOCK = 0x53454e02;
const EVENT_RETENTION_DAYS = 7;
const JOB_RETENTION_DAYS = 30;

export interface ServiceOptions {
  config: Config;
  logger?: Logger;
  /** Use this database instead of opening one from the config (tests). */
  db?: Db;
}

/** Guard against a second process opening the same embedded database folder. */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, "sen.pid");
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, "utf8"));
    let alive = false;
    try {
      alive = pid > 0 && pid !== process.pid && process.kill(pid, 0);
    } catch {}
    if (alive)
      throw new ConfigError(
        "SEN_DATA_DIR",
        `Sen (pid ${pid}) is already using the embedded database in ${dataDir}. Stop it first, use its HTTP API, or run several processes on a PostgreSQL server (DATABASE_URL).`,
      );
  }
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}

/** Open the database, migrate, and build the services (no HTTP): used by the server and the CLI. */
export async function openServices({ config, logger = pino({ level: config.logLevel }), db: given }: ServiceOptions) {
  const unlock = given || config.databaseUrl ? () => {} : lockDataDir(config.dataDir);
  let db: Db;
  try {
    db = given ?? (await openDb({ url: config.databaseUrl, dataDir: path.join(config.dataDir, "pgdata") }));
  } catch (err) {
    unlock();
    throw err;
  }
  const applied = await migrate(db, MIGRATIONS);
  if (applied.length) logger.info({ applied }, "migrations applied");
  const audit = auditService(db);
  const bus = eventBus(db);
  const accounts = accountsService({ db, audit, bus, sessionHours: config.sessionHours });
  const geo = geoService({ db, dataDir: DATA_DIR, province: config.province });
  const iot = iotService({
    db,
    audit,
    bus,
    locate: (lat, lon) => geo.locate(lat, lon)?.code,
    agencyExists: async (code) => (await accounts.store.getAgency(code)) !== undefined,
    ruleProblems,
    logger,
  });
  const ops = createOps({
    db,
    audit,
    bus,
    agencyExists: async (code) => (await accounts.store.getAgency(code)) !== undefined,
    userExists: async (id) => (await accounts.store.getUser(id)) !== undefined,
  });
  // Every committed batch of points goes through the rules; alarms follow.
  iot.onPoints((device, rules, points) => ops.rules.onPoints(device, rules, points));
  const jobs = jobQueue(db);
  const mailer = createMailer(config.smtpUrl, config.smtpFrom);
  // Modules built on the above (each adds its line here, in dependency order).
  const indicators = createIndicators({
    db,
    audit,
    bus,
    jobs,
    logger,
    dataDir: DATA_DIR,
    config,
    province: async () => {
      const p = await geo.get(config.province);
      return { code: p.code, name: p.fullName, nameEn: p.fullNameEn };
    },
    communes: async () =>
      (await geo.list({ parent: config.province, limit: 5000, offset: 0 })).map((c) => ({
        code: c.code,
        name: c.fullName,
        nameEn: c.fullNameEn,
        unitType: c.unitType,
      })),
    agencies: async () => (await accounts.store.listAgencies()).map((a) => ({ code: a.code, name: a.name, nameEn: a.name_en, kind: a.kind })),
  });
  const catalog = createCatalog({
    db,
    audit,
    bus,
    jobs,
    logger,
    dataDir: config.dataDir,
    agencyExists: async (code) => (await accounts.store.getAgency(code)) !== undefined,
    sqlEnabled: config.catalogSql,
    maxUploadBytes: config.catalogUploadMb * 1024 * 1024,
  });
  const alerts = createAlerts({
    db,
    audit,
    bus,
    jobs,
    mailer,
    geo,
    logger,
    province: config.province,
    publicUrl: config.publicUrl,
    agencyName: async (code) => {
      const a = await accounts.store.getAgency(code);
      return a && { name: a.name, nameEn: a.name_en };
    },
    device: (id) => {
      const d = iot.byDeviceId(id);
      return d && { attributes: d.row.server_attributes ?? {}, commune: d.info.commune, lat: d.info.lat, lon: d.info.lon, agency: d.info.agency };
    },
  });
  const reports = createReports({
    db,
    audit,
    bus,
    jobs,
    mailer,
    accounts,
    publicUrl: config.publicUrl,
    locate: (lat, lon) => geo.locate(lat, lon)?.code,
    communeExists: (code) =>
      geo.get(code).then(
        (u) => u.parentCode === config.province,
        () => false,
      ),
    listAgencies: () => accounts.listAgencies(),
    agencyOfficers: (agency) => accounts.listUsers({ agency, role: "agency_officer", limit: 200, offset: 0 }),
  });
  const context = createContext({
    db,
    audit,
    bus,
    jobs,
    iot,
    logger,
    publicUrl: config.publicUrl,
    agencyExists: async (code) => (await accounts.store.getAgency(code)) !== undefined,
  });

  return {
    config,
    logger,
    db,
    audit,
    bus,
    accounts,
    geo,
    iot,
    ops,
    jobs,
    mailer,
    indicators,
    reports,
    alerts,
    catalog,
    context,
    /** Load the province on first start (units, boundaries, agencies, admin); quick afterwards. */
    async seed(opts: { force?: boolean } = {}): Promise<{ firstStart: boolean; admin?: FirstAdmin; demoUsers: string[] }> {
      return db.withLock(SEED_LOCK, async () => {
        const firstStart = !(await geo.isSeeded());
        if (firstStart && !geo.provinceExists(config.province))
          throw new ConfigError("SEN_PROVINCE", `${config.province} is not one of Vietnam's 34 province codes (see data/admin/vn-admin-units-2025.json)`);
        if (firstStart || opts.force) {
          const units = await geo.seed();
          const province = await geo.get(config.province);
          const communes = await geo.list({ parent: config.province, limit: 5000, offset: 0 });
          const agencies = await db.tx(() => seedAgencies(accounts, { dataDir: DATA_DIR, province, communes }));
          logger.info({ ...units, agencies }, "province loaded");
        }
        // Point → commune is needed from here on (devices are placed in communes).
        await geo.loadIndex();
        // Device profiles: on first start, and once for a database that predates the IoT module.
        await iot.load();
        if (firstStart || opts.force || iot.listProfiles().length === 0) await db.tx(() => seedProfiles(iot, DATA_DIR));
        const admin = await seedAdmin(accounts, config.adminPassword, `UBND-${config.province}`);
        let demoUsers: string[] = [];
        if (config.demo) {
          const created = await ensureDemoDevices(iot, loadDemoFleet(DATA_DIR));
          if (created) logger.info({ created }, "demo devices registered");
          const first = (await geo.list({ parent: config.province, limit: 1, offset: 0 }))[0];
          demoUsers = await seedDemoUsers(accounts, first?.code);
        }
        return { firstStart, admin, demoUsers };
      });
    },
    async close(): Promise<void> {
      ops.rules.stop();
      await jobs.stopAll();
      mailer.close();
      await bus.stop();
      await db.close();
      unlock();
    },
  };
}

export type Services = Awaited<ReturnType<typeof openServices>>;

export interface SenOptions extends ServiceOptions {
  /** Serve (and build when needed) the web console; default true. */
  web?: boolean;
  heartbeatMs?: number;
}

export interface Sen {
  app: FastifyInstance;
  /** The embedded MQTT broker, when Sen runs one. */
  mqttPort?: number;
  broker?: EmbeddedBroker;
  services: Services;
  seeded: Awaited<ReturnType<Services["seed"]>>;
  close(): Promise<void>;
}

/** A full garbage collection, on the rare occasions that warrant one. */
function collectGarbage(): void {
  v8.setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

export async function createSen(opts: SenOptions): Promise<Sen> {
  const services = await openServices(opts);
  const { config, logger, db, audit, bus, accounts, geo, iot, ops, jobs } = services;
  let broker: EmbeddedBroker | undefined;
  let external: ExternalMqtt | undefined;
  let demoSim: Simulator | undefined;
  try {
    const seeded = await services.seed();
    // Loading the province leaves a heap full of garbage (boundaries parsed, thousands of rows
    // inserted) that V8 would carry for a long time: collected once here, so a first start runs
    // as lean as a restart.
    if (seeded.firstStart) collectGarbage();
    await iot.load();
    await bus.start();
    // The embedded database has one process (pid lock): jobs it held when it died are free again.
    if (db.driver === "pglite") {
      const recovered = await jobs.recoverAfterCrash();
      if (recovered) logger.warn({ recovered }, "jobs interrupted by the last stop will run again");
    }
    // Modules' background workers start here (each adds its line).
    await services.indicators.load();
    services.indicators.registerSource(
      services.indicators.iotSource(() => iot.all().map((d) => ({ type: d.row.type, commune: d.row.commune_code, enabled: d.row.enabled, online: d.online }))),
    );
    services.indicators.registerSource(services.indicators.reportsSource(services.reports));
    // Indicator sources still to register once their modules offer statistics: catalog (datasets
    // published), alerts (alerts published) — see src/indicators/sources.ts.
    await services.indicators.setupSources();
    services.indicators.start();
    bus.subscribe((e) => services.indicators.follow(e));
    await services.catalog.service.seedThemes();
    services.catalog.start();
    const alertsWorkers = await services.alerts.start();
    await services.reports.seedDefaults();
    services.reports.start({ mailer: services.mailer, logger });
    await services.context.start();
    // Devices connect to the embedded broker unless an external one is configured.
    broker = config.mqttUrl ? undefined : await startEmbeddedBroker(iot, { port: config.mqttPort, host: config.host, log: logger });
    external = config.mqttUrl ? await startExternalMqtt(iot, { url: config.mqttUrl, log: logger }) : undefined;
    const commands = commandService({ db, audit, store: iot.store, transport: () => broker ?? external });
    // Other Sen processes on this database change devices and ingest data too.
    bus.subscribe((e) => {
      if (e.topic.startsWith("iot.")) void iot.follow(e).catch((err) => logger.warn({ err }, "following another node's device change failed"));
    });
    // SEN_DEMO=1: the demo fleet publishes over real MQTT to the embedded broker, as devices would.
    if (config.demo && broker)
      demoSim = await startSimulator({
        mqttUrl: `mqtt://${config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host}:${broker.port}`,
        devices: loadDemoFleet(DATA_DIR),
        log: (m: string) => logger.info(`simulator: ${m}`),
      });
    const iotTick = setInterval(
      () =>
        void iot
          .tick()
          .then(() =>
            ops.rules.checkSilence(
              iot
                .all()
                .map((d) => ({ device: d.info, rules: d.rules, lastSeen: new Map(d.lastSeen === null ? d.keySeen : [...d.keySeen, ["*", d.lastSeen]]) })),
              Date.now(),
            ),
          )
          .catch((err) => logger.warn({ err }, "device activity update failed")),
      5_000,
    );
    iotTick.unref();
    // Housekeeping: old events (beyond the replay window) and dead sessions. Idempotent, so every
    // node may run it.
    const housekeeping = setInterval(
      () =>
        void Promise.all([bus.prune(EVENT_RETENTION_DAYS), accounts.store.deleteOldSessions(), iot.applyRetention(), jobs.prune(JOB_RETENTION_DAYS)]).catch(
          (err) => logger.warn({ err }, "housekeeping failed"),
        ),
      3_600_000,
    );
    housekeeping.unref();
    // The embedded database has no autovacuum daemon (single-user PostgreSQL): Sen runs VACUUM itself.
    const vacuum =
      db.driver === "pglite"
        ? embeddedVacuum(db, { onError: (err, table) => logger.warn({ err, table }, "vacuum of the embedded database failed") })
        : undefined;
    vacuum?.start();
    // A broken web build must not take the APIs down with it: log it and serve the APIs.
    const dist =
      opts.web === false || !config.web ? undefined : await ensureWebBuilt(ROOT, logger).catch((err) => void logger.error({ err }, "web console build failed"));

    const app = await createHttpServer({ config, logger, accounts, audit, version: VERSION });
    app.addHook("onClose", async () => {
      await demoSim?.stop();
      clearInterval(housekeeping);
      clearInterval(iotTick);
      await vacuum?.stop();
      // Devices stop sending first; then whatever they sent and was acknowledged is written.
      await broker?.close();
      await external?.close();
      await iot.drain();
      await iot.tick().catch(() => undefined);
    });
    typed(app).get(
      "/api/health",
      {
        config: { access: "public" },
        schema: {
          tags: ["system"],
          summary: "Liveness and database status",
          response: {
            200: Type.Object({
              status: Type.Literal("ok"),
              version: Type.String(),
              uptimeSeconds: Type.Number(),
              database: Type.Object({ driver: Type.String(), ok: Type.Boolean(), latencyMs: Type.Number() }),
            }),
            ...errors(503),
          },
        },
      },
      async () => {
        const t0 = performance.now();
        try {
          await db.query("SELECT 1");
        } catch {
          throw new Problem(503, "database", "The database does not answer.");
        }
        return {
          status: "ok" as const,
          version: VERSION,
          uptimeSeconds: Math.round(process.uptime()),
          database: { driver: db.driver, ok: true, latencyMs: Math.round((performance.now() - t0) * 100) / 100 },
        };
      },
    );
    app.get("/api/openapi.json", { config: { access: "public" }, schema: { hide: true } }, async () => app.swagger());

    accountRoutes(app, accounts, { cookieSecure: config.cookieSecure, sessionHours: config.sessionHours });
    auditRoutes(app, audit);
    eventRoutes(app, bus, { heartbeatMs: opts.heartbeatMs ?? 15_000 });
    geoRoutes(app, geo);
    iotRoutes(app, iot, commands);
    ops.routes(app);
    // Modules' routes (each adds its line).
    services.indicators.routes(app);
    app.addHook("onClose", () => services.indicators.stop());
    services.catalog.routes(app, {
      agencies: () => accounts.listAgencies(),
      siteTitle: async () => `Cổng dữ liệu mở – ${(await geo.get(config.province)).fullName}`,
    });
    services.alerts.routes(app);
    app.addHook("onClose", () => alertsWorkers.stop());
    await services.reports.routes(app);
    services.context.routes(app);
    app.addHook("onClose", () => services.context.stop());
    let provinceName: string | undefined;
    ogcRoutes(app, geo, { provinceName: async () => (provinceName ??= (await geo.get(config.province)).fullName) }, [
      services.catalog.ogc,
      iotCollections(iot),
    ]);
    await webRoutes(app, dist);
    await app.ready();

    return {
      app,
      mqttPort: broker?.port,
      broker,
      services,
      seeded,
      async close() {
        await app.close();
        await services.close();
      },
    };
  } catch (err) {
    // Whatever started before the failure stops again, so a failed start leaves nothing running.
    await demoSim?.stop().catch(() => undefined);
    await broker?.close().catch(() => undefined);
    await external?.close().catch(() => undefined);
    await services.close().catch(() => undefined);
    throw err;
  }
}
