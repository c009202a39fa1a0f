// Shapes of the IoT and alarm APIs (src/iot/routes.ts, src/ops) and the helpers every IoT page
// uses: device state and colour, labels and units of telemetry keys, value formatting.
import type { TFunction } from "i18next";
import { formatNumber } from "../shared/format";

export type Severity = "critical" | "major" | "minor" | "warning";
export const SEVERITIES: readonly Severity[] = ["critical", "major", "minor", "warning"];
/** A higher rank is worse (as on the server, src/ops/rules.ts). */
export const SEVERITY_RANK: Record<Severity, number> = { warning: 1, minor: 2, major: 3, critical: 4 };

// Colours of device states and alarm severities, on the map and in the pages (console.css has the
// same values as --sev-* and --dev-*). The browser test looks for DEVICE_COLORS.ok and
// SEVERITY_COLORS.critical in map screenshots: keep test/browser/iot.test.ts in step.
export const SEVERITY_COLORS: Record<Severity, string> = { critical: "#d0231c", major: "#ec6a10", minor: "#e8a80c", warning: "#2f7fc1" };
export const DEVICE_COLORS = { ok: "#17935a", offline: "#8d9aa1", disabled: "#f4f6f7", disabledLine: "#8d9aa1" } as const;

export interface Latest {
  ts: string;
  value: unknown;
  outOfRange: boolean;
}

export interface KeySpec {
  label?: string;
  unit?: string;
  min?: number;
  max?: number;
}

export interface RuleSpec {
  id: string;
  kind: "threshold" | "nodata" | "rate";
  name?: string;
  key?: string;
  direction?: "above" | "below";
  levels?: { value: number; severity: Severity; label?: string }[];
  hysteresis?: number;
  minutes?: number;
  severity?: Severity;
}

export interface Device {
  id: string;
  name: string;
  type: string;
  profileId: string;
  lat: number | null;
  lon: number | null;
  commune: string | null;
  agency: string | null;
  enabled: boolean;
  online: boolean;
  lastSeenAt: string | null;
  accepted: number;
  rejected: number;
  lastRejection: string | null;
  lastRejectionAt: string | null;
  mqttUsername?: string | null;
  attributes: Record<string, unknown>;
  serverAttributes: Record<string, unknown>;
  rules: RuleSpec[];
  latest: Record<string, Latest>;
  createdAt: string;
}

export interface DeviceProfile {
  id: string;
  name: string;
  nameEn: string;
  type: string;
  keys: Record<string, KeySpec>;
  inactivityTimeoutSeconds: number;
  retentionDays: number;
  rules: RuleSpec[];
}

export interface Alarm {
  id: string;
  deviceId: string;
  deviceName: string;
  deviceType: string;
  ruleId: string;
  type: string;
  name: string;
  severity: Severity;
  status: "active" | "cleared";
  acknowledged: boolean;
  commune: string | null;
  agency: string | null;
  value: unknown;
  threshold: Record<string, unknown> | null;
  startedAt: string;
  updatedAt: string;
  clearedAt: string | null;
  clearedBy?: string | null;
  ackedAt: string | null;
  ackedBy: string | null;
  assigneeAgency: string | null;
  assigneeUser: string | null;
  details: Record<string, unknown>;
  /** On alarm.* events: what changed (raised, escalated, acknowledged, …). */
  change?: string;
}

export interface AlarmHistory {
  id: number;
  at: string;
  kind: string;
  actor: string;
  details: Record<string, unknown>;
}

export interface AlarmSummary {
  total: number;
  unacknowledged: number;
  bySeverity: Record<Severity, number>;
  unacknowledgedBySeverity: Record<Severity, number>;
}

export interface Command {
  id: string;
  deviceId: string;
  method: string;
  params: unknown;
  twoWay: boolean;
  status: string;
  response: unknown;
  error: string | null;
  createdBy: string;
  createdAt: string;
  completedAt: string | null;
}

/** GET /api/alarms answers a bare array (src/ops/routes.ts); the first contract said `{alarms, total}`: accept both. */
export function alarmsOf(body: unknown): Alarm[] {
  if (Array.isArray(body)) return body as Alarm[];
  if (body && typeof body === "object" && Array.isArray((body as { alarms?: unknown }).alarms)) return (body as { alarms: Alarm[] }).alarms;
  return [];
}

export const isSeverity = (s: unknown): s is Severity => typeof s === "string" && s in SEVERITY_RANK;

export function worse(a: Severity | undefined, b: Severity | undefined): Severity | undefined {
  if (!a) return b;
  if (!b) return a;
  return SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b;
}

/** Active first, then the worst severity, then the newest. */
export function compareAlarms(a: Alarm, b: Alarm): number {
  return (
    Number(b.status === "active") - Number(a.status === "active") ||
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    Date.parse(b.startedAt) - Date.parse(a.startedAt)
  );
}

export const DEVICE_TYPES = [
  "WaterLevelObserved",
  "InsectTrap",
  "AirQualityObserved",
  "WaterQualityObserved",
  "Streetlight",
  "TrafficFlowObserved",
  "Camera",
] as const;

/** How a device is drawn: its fill, and a severity ring when it has an active alarm. */
export type DeviceState = "ok" | "offline" | "disabled";

export function deviceState(d: Pick<Device, "enabled" | "online">): DeviceState {
  return !d.enabled ? "disabled" : d.online ? "ok" : "offline";
}

/** The key a device is watched by, shown on the map and in the list. */
const PRIMARY_KEY: Record<string, string> = {
  WaterLevelObserved: "waterLevel",
  InsectTrap: "brownPlanthopper",
  AirQualityObserved: "aqi",
  WaterQualityObserved: "salinity",
  Streetlight: "powerState",
  TrafficFlowObserved: "averageVehicleSpeed",
  Camera: "online",
};

export function primaryKey(d: Pick<Device, "type" | "latest">, profile?: DeviceProfile): string | null {
  const preferred = PRIMARY_KEY[d.type];
  if (preferred && (d.latest[preferred] || profile?.keys[preferred])) return preferred;
  const keys = Object.keys(profile?.keys ?? {});
  return keys.find((k) => d.latest[k]) ?? keys[0] ?? Object.keys(d.latest)[0] ?? null;
}

/** The label of a telemetry key: the profile's (written in Vietnamese) in Vietnamese, a translation in English. */
export function keyLabel(key: string, spec: KeySpec | undefined, lang: string, t: TFunction): string {
  if (lang !== "en" && spec?.label) return spec.label;
  return t(`telemetryKey.${key}`, { defaultValue: spec?.label || key });
}

export function unitLabel(unit: string | undefined, t: TFunction): string {
  if (!unit) return "";
  if (/[.:]/.test(unit)) return unit;
  return t(`units.${unit}`, { defaultValue: unit });
}

export function typeLabel(type: string, t: TFunction): string {
  return t(`deviceType.${type}`, { defaultValue: type });
}

/** Fraction digits that suit a value's size: 4,12 m; 27,4 °C; 1.450. */
export function digitsFor(value: number): number {
  const a = Math.abs(value);
  return a < 10 ? 2 : a < 1000 ? 1 : 0;
}

/** A telemetry value for display, with its unit when it is a number. */
export function formatValue(value: unknown, lang: string, t: TFunction, unit?: string): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") {
    const u = unitLabel(unit, t);
    const n = formatNumber(value, lang, digitsFor(value));
    return u ? (u === "%" ? `${n}%` : `${n} ${u}`) : n;
  }
  if (typeof value === "boolean") return value ? t("deviceValue.true") : t("deviceValue.false");
  if (typeof value === "string") return /^[A-Za-z]+$/.test(value) ? t(`deviceValue.${value}`, { defaultValue: value }) : value;
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

export interface Level {
  value: number;
  severity: Severity;
  label: string;
}

/**
 * The alarm levels to draw for a key: a water-level station's official levels (BĐ1–BĐ3, from its
 * server attribute alarmLevels), else the levels of the threshold rules on that key.
 */
export function levelsFor(device: Device, profile: DeviceProfile | undefined, key: string, t: TFunction): Level[] {
  const official = device.serverAttributes?.alarmLevels as Record<string, unknown> | undefined;
  if (key === "waterLevel" && official && typeof official === "object") {
    const severities: Severity[] = ["minor", "major", "critical"];
    const out: Level[] = [];
    ["bd1", "bd2", "bd3"].forEach((k, i) => {
      const v = official[k];
      if (typeof v === "number") out.push({ value: v, severity: severities[i], label: t(`device.alarmLevel.${k}`) });
    });
    if (out.length) return out;
  }
  const rules = [...(profile?.rules ?? []), ...(device.rules ?? [])].filter((r) => r.kind === "threshold" && r.key === key && r.levels?.length);
  const seen = new Set<number>();
  const out: Level[] = [];
  for (const r of rules)
    for (const l of r.levels ?? []) {
      if (seen.has(l.value)) continue;
      seen.add(l.value);
      out.push({ value: l.value, severity: l.severity, label: l.label || t(`severity.${l.severity}`) });
    }
  return out.sort((a, b) => a.value - b.value);
}
