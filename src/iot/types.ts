// Shared shapes of the IoT module, used by ops (rules and alarms), context and the simulator.

export type Severity = "critical" | "major" | "minor" | "warning";
export const SEVERITIES: readonly Severity[] = ["critical", "major", "minor", "warning"];

/** A scalar or JSON telemetry value as a device sent it. */
export type TelemetryValue = number | string | boolean | Record<string, unknown> | unknown[];

export interface TelemetryPoint {
  key: string;
  /** Epoch milliseconds. */
  ts: number;
  value: TelemetryValue;
  /** Outside the profile's valid range: stored, flagged, never treated as good. */
  outOfRange: boolean;
}

export interface KeySpec {
  label?: string;
  unit?: string;
  min?: number;
  max?: number;
}

/**
 * Rules a profile (or one device) carries. Thresholds have levels so one alarm escalates and
 * de-escalates instead of several alarms flapping; hysteresis is in the key's unit.
 */
export type RuleSpec =
  | {
      id: string;
      kind: "threshold";
      name?: string;
      key: string;
      direction: "above" | "below";
      /** Ordered from mildest to most severe, e.g. BĐ1 minor, BĐ2 major, BĐ3 critical. */
      levels: Array<{ value: number; severity: Severity; label?: string }>;
      hysteresis?: number;
      /** The value must stay past the level this long before the alarm is raised. */
      sustainSeconds?: number;
    }
  | { id: string; kind: "nodata"; name?: string; key?: string; minutes: number; severity: Severity }
  | { id: string; kind: "rate"; name?: string; key: string; maxChangePerMinute: number; severity: Severity };

export interface DeviceInfo {
  id: string;
  name: string;
  type: string;
  profileId: string;
  agency: string | null;
  commune: string | null;
  lat: number | null;
  lon: number | null;
}
