// Drafts from sensors: an ops alarm at a water-level station at BĐ2 or above (severity major or
// critical) becomes a flood-warning draft; a pest-trap alarm becomes a pest-warning draft. The
// draft targets the station's configured area of influence (server attribute `alertCommunes`,
// else `floodInfluence`/`pestInfluence`), else its commune and the neighbouring ones, else the
// communes within 15 km. One draft per alarm (a unique index); an escalating alarm raises the
// severity of its draft while it is still a draft. The module reads the event bus from a cursor
// kept in the database, so alarms raised while Sen was down are drafted after the restart.
import type { Logger } from "pino";
import { runWithContext, SYSTEM } from "../core/context.ts";
import type { Db } from "../core/db.ts";
import type { EventBus, SenEvent } from "../core/events/bus.ts";
import type { AlarmEvent } from "../ops/index.ts";
import type { AreaIndex } from "./area.ts";
import { SEVERITY_RANK } from "./cap.ts";
import type { AlertsService } from "./service.ts";
import { alertsStore } from "./store.ts";
import { TEMPLATES, fill } from "./templates.ts";

export interface SensorDeps {
  db: Db;
  bus: EventBus;
  alerts: AlertsService;
  area: AreaIndex;
  /** A device's server attributes and place, when it exists. */
  device(
    id: string,
  ): { attributes: Record<string, unknown>; commune: string | null; lat: number | null; lon: number | null; agency: string | null } | undefined;
  logger?: Logger;
}

const NEAR_KM = 15;
const ALARM_TO_CAP: Record<string, string> = { warning: "Moderate", minor: "Moderate", major: "Severe", critical: "Extreme" };

/** Which hazard an alarm calls for, if any. */
export function hazardOf(a: AlarmEvent): "flood" | "pest" | undefined {
  const water = a.ruleId === "flood-level" || (a.deviceType === "WaterLevelObserved" && (a.threshold as { key?: string } | null)?.key === "waterLevel");
  if (water && a.details?.kind !== "nodata" && (a.severity === "major" || a.severity === "critical")) return "flood";
  if (a.deviceType === "InsectTrap" && a.details?.kind === "threshold") return "pest";
  return undefined;
}

export function sensorDrafts(deps: SensorDeps) {
  const { db, bus, alerts, area } = deps;
  const store = alertsStore(db);
  let chain: Promise<void> = Promise.resolve();
  let unsubscribe: (() => void) | undefined;

  function influence(deviceId: string, hazard: "flood" | "pest"): string[] {
    const d = deps.device(deviceId);
    if (!d) return [];
    const attr = d.attributes.alertCommunes ?? d.attributes[hazard === "flood" ? "floodInfluence" : "pestInfluence"];
    if (Array.isArray(attr)) {
      const codes = attr.filter((c): c is string => typeof c === "string" && area.byCode(c) !== undefined);
      if (codes.length) return codes;
    }
    if (d.commune && area.byCode(d.commune)) return [d.commune, ...area.neighboursOf(d.commune)];
    if (d.lat !== null && d.lon !== null) return area.near(d.lat, d.lon, NEAR_KM);
    return [];
  }

  async function onAlarm(a: AlarmEvent): Promise<void> {
    const hazard = hazardOf(a);
    if (!hazard) return;
    const severity = ALARM_TO_CAP[a.severity] ?? "Moderate";
    const existing = await store.byAlarm(a.id);
    if (existing) {
      // The alarm got worse while its draft waits: the draft follows.
      if (existing.state === "draft" && SEVERITY_RANK[severity] > SEVERITY_RANK[existing.severity])
        await db.tx(async () => {
          const row = await store.update(existing.id, { severity });
          await alerts.record(row, "escalate", { alarm: a.id, alarmSeverity: a.severity });
        });
      return;
    }
    const communes = influence(a.deviceId, hazard);
    const t = TEMPLATES[hazard];
    const label = String((a.threshold as { label?: string } | null)?.label ?? a.details?.label ?? a.severity);
    const value = typeof a.value === "number" ? String(Math.round(a.value * 100) / 100) : String(a.value ?? "");
    const vars = (lang: "vi" | "en") => ({
      station: hazard === "pest" && lang === "vi" ? `rầy tại ${a.deviceName}` : a.deviceName,
      value,
      level: label,
      area: alerts.describe(communes, lang),
    });
    const text = (lang: "vi" | "en") => {
      const tt = t[lang];
      const v = vars(lang);
      return { language: lang, event: tt.event, headline: fill(tt.headline, v), description: fill(tt.description, v), instruction: tt.instruction };
    };
    const device = deps.device(a.deviceId);
    await db.tx(async () => {
      const row = await alerts.createDraft(
        {
          hazard,
          severity,
          urgency: a.severity === "critical" ? "Immediate" : t.urgency,
          certainty: "Observed",
          expires: new Date(Date.now() + t.expiresHours * 3_600_000).toISOString(),
          infos: [text("vi"), text("en")],
          parameters: [
            { valueName: "sen:device", value: a.deviceId },
            { valueName: "sen:alarm", value: a.id },
            { valueName: hazard === "flood" ? "waterLevel" : "count", value },
          ],
          area: { communes },
        },
        SYSTEM,
        { source_alarm: a.id, source_device: a.deviceId, agency: a.agency ?? device?.agency ?? null },
      );
      // Another node drafted it first: nothing more to do.
      if (row) await alerts.record(row, "draft", { alarm: a.id, device: a.deviceId, fromSensor: true });
    });
  }

  const handle = (e: SenEvent) => {
    if (e.topic !== "alarm.raised" && e.topic !== "alarm.updated") return;
    chain = chain
      .then(() => runWithContext({ actor: SYSTEM }, () => onAlarm(e.payload as AlarmEvent)))
      .then(async () => {
        await store.setCursor(e.id);
      })
      .catch((err) => deps.logger?.warn({ err, event: e.id }, "sensor draft failed"));
  };

  return {
    /** Catch up from the cursor, then follow live events. */
    async start(): Promise<void> {
      let cursor = await store.cursor();
      if (cursor === undefined) {
        // First start: alarms from before the module existed are history, not news.
        cursor = await store.lastEventId();
        await store.setCursor(cursor);
      }
      unsubscribe = bus.subscribe(handle);
      for (;;) {
        const page = await bus.since(cursor, 500);
        for (const e of page) handle(e);
        if (page.length < 500) break;
        cursor = page[page.length - 1].id;
      }
    },
    /** Resolves when every event seen so far has been handled. */
    idle: () => chain,
    stop() {
      unsubscribe?.();
    },
    onAlarm,
  };
}
