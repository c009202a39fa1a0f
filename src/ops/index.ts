// The ops module: alarms and the rule engine that raises them. iot calls rules.onPoints after
// each committed telemetry batch and rules.checkSilence periodically; people work the alarms
// through the routes.
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import type { AuditService } from "../core/audit/service.ts";
import type { Db } from "../core/db.ts";
import type { EventBus } from "../core/events/bus.ts";
import { type RuleEngine, ruleEngine } from "./engine.ts";
import { alarmRoutes } from "./routes.ts";
import { type AlarmsService, alarmsService } from "./service.ts";

export const OPS_MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");

export interface OpsDeps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  agencyExists(code: string): Promise<boolean>;
  userExists(id: string): Promise<boolean>;
}

export interface Ops {
  alarms: AlarmsService;
  rules: RuleEngine;
  routes(app: FastifyInstance): void;
}

export function createOps(deps: OpsDeps): Ops {
  const alarms = alarmsService(deps);
  const rules = ruleEngine({ db: deps.db, alarms, bus: deps.bus });
  return { alarms, rules, routes: (app) => alarmRoutes(app, alarms) };
}

export type { RuleEngine } from "./engine.ts";
export type { AlarmDto, AlarmEvent, AlarmHistoryDto, AlarmSummary, AlarmsService, RaiseInput, RaiseResult } from "./service.ts";
export { CHAU_DOC_LEVELS, type FloodLevels, TAN_CHAU_LEVELS, hydrologyRule, ruleProblems } from "./rules.ts";
