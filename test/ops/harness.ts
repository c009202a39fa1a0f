// A Sen with only what ops needs (core, accounts, HTTP, ops) on a fresh database of a target,
// until ops is wired into createSen: then startSen() from ../helpers.ts does the same.
import { rmSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { MIGRATIONS, VERSION } from "../../src/app.ts";
import { accountRoutes } from "../../src/core/accounts/routes.ts";
import { accountsService } from "../../src/core/accounts/service.ts";
import { auditService } from "../../src/core/audit/service.ts";
import type { Db } from "../../src/core/db.ts";
import { type EventBus, type SenEvent, eventBus } from "../../src/core/events/bus.ts";
import { createHttpServer } from "../../src/core/http/server.ts";
import { migrate } from "../../src/core/migrate.ts";
import type { DeviceInfo } from "../../src/iot/types.ts";
import { type Ops, type OpsDeps, createOps } from "../../src/ops/index.ts";
import { type DbTarget, testConfig } from "../helpers.ts";

export const PASSWORD = "correct-horse-1";

export interface OpsHarness {
  db: Db;
  bus: EventBus;
  ops: Ops;
  deps: OpsDeps;
  app: FastifyInstance;
  /** Every event delivered on the bus since start. */
  events: SenEvent[];
  /** Bearer token of a user (admin, op, snn, syt, pub). */
  token(user: string): Promise<string>;
  userId(user: string): Promise<string>;
  count(table: string): Promise<number>;
  /** A second "process" on the same database: its own bus and ops (listen: false — deaf to other processes' events). */
  another(opts?: { listen?: boolean }): Promise<{ ops: Ops; bus: EventBus; stop(): Promise<void> }>;
  dispose(): Promise<void>;
}

export async function startOps(target: DbTarget): Promise<OpsHarness> {
  const handle = await target.open();
  const { db } = handle;
  const config = testConfig();
  await migrate(db, MIGRATIONS); // ops is one of them
  const audit = auditService(db);
  const bus = eventBus(db);
  await bus.start();
  const events: SenEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const accounts = accountsService({ db, audit, bus, sessionHours: 8 });
  const deps: OpsDeps = {
    db,
    audit,
    bus,
    agencyExists: async (code) => (await accounts.store.getAgency(code)) !== undefined,
    userExists: async (id) => (await accounts.store.getUser(id)) !== undefined,
  };
  const ops = createOps(deps);

  for (const code of ["SNNMT", "SYT", "SXD"]) await accounts.createAgency({ code, name: `Sở ${code}`, nameEn: `Department ${code}`, kind: "department" });
  const users: Record<string, string> = {};
  for (const [username, roles, agency] of [
    ["admin", ["admin"], null],
    ["op", ["operator"], null],
    ["snn", ["agency_officer"], "SNNMT"],
    ["syt", ["agency_officer"], "SYT"],
    ["pub", ["publisher"], "SXD"],
  ] as const) {
    const u = await accounts.createUser({ username, displayName: username, password: PASSWORD, roles: [...roles], agency });
    users[username] = u.id;
  }

  const app = await createHttpServer({ config, logger: pino({ level: "silent" }), accounts, audit, version: VERSION });
  accountRoutes(app, accounts, { cookieSecure: false, sessionHours: 8 });
  ops.routes(app);
  await app.ready();

  const tokens = new Map<string, string>();
  const others: Array<() => Promise<void>> = [];
  return {
    db,
    bus,
    ops,
    deps,
    app,
    events,
    async token(user) {
      let t = tokens.get(user);
      if (!t) {
        const res = await app.inject({ method: "POST", url: "/api/auth/login", payload: { username: user, password: PASSWORD } });
        if (res.statusCode !== 200) throw new Error(`login ${user}: ${res.statusCode} ${res.body}`);
        t = res.json().token as string;
        tokens.set(user, t);
      }
      return t;
    },
    async userId(user) {
      return users[user];
    },
    async count(table) {
      if (!/^[a-z_]+\.[a-z_]+$/.test(table)) throw new Error("bad table name");
      return Number((await db.one<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))?.n ?? 0);
    },
    async another({ listen = true } = {}) {
      const bus2 = eventBus(db);
      if (listen) await bus2.start();
      const ops2 = createOps({ ...deps, bus: bus2 });
      const stop = async () => {
        ops2.rules.stop();
        await bus2.stop();
      };
      others.push(stop);
      return { ops: ops2, bus: bus2, stop };
    },
    async dispose() {
      for (const stop of others) await stop();
      ops.rules.stop();
      await app.close();
      await bus.stop();
      await handle.close();
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

let n = 0;
/** A device as iot describes it to ops. */
export function device(overrides: Partial<DeviceInfo> = {}): DeviceInfo {
  n++;
  return {
    id: `dev-${n}-${Math.random().toString(36).slice(2, 8)}`,
    name: `Trạm ${n}`,
    type: "WaterLevelObserved",
    profileId: "water-level-station",
    agency: "SNNMT",
    commune: "29950",
    lat: 10.8006,
    lon: 105.248,
    ...overrides,
  };
}
