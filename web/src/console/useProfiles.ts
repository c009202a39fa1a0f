// Device profiles (GET /api/device-profiles, loaded once per page load) and the texts of alarms
// built from them: an alarm carries its rule's key, and the profile gives the key's label and unit.
import type { TFunction } from "i18next";
import { useEffect, useState } from "react";
import { formatNumber } from "../shared/format";
import { loadProfiles } from "./data";
import { type Alarm, type DeviceProfile, digitsFor, formatValue, keyLabel, unitLabel } from "./iot";

export interface Profiles {
  byId: Map<string, DeviceProfile>;
  byType: Map<string, DeviceProfile>;
  /** The list came back (or failed): until then units and labels are not known. */
  loaded: boolean;
}

const EMPTY: Profiles = { byId: new Map(), byType: new Map(), loaded: false };

export function useProfiles(enabled = true): Profiles {
  const [profiles, setProfiles] = useState<Profiles>(EMPTY);
  useEffect(() => {
    if (!enabled) return;
    loadProfiles().then(
      (list) => setProfiles({ byId: new Map(list.map((p) => [p.id, p])), byType: new Map(list.map((p) => [p.type, p])), loaded: true }),
      () => setProfiles({ ...EMPTY, loaded: true }),
    );
  }, [enabled]);
  return profiles;
}

const alarmKey = (a: Alarm): string | undefined => {
  const k = a.threshold?.key ?? a.details?.key;
  return typeof k === "string" ? k : undefined;
};

/** The alarm's title in the current language, e.g. "Mực nước vượt ngưỡng" / "Water level above threshold". */
export function alarmTitle(a: Alarm, profiles: Profiles, lang: string, t: TFunction): string {
  const key = alarmKey(a);
  const kind = (a.details?.kind as string | undefined) ?? undefined;
  // A name written for the rule (not one the server made up from the key) is used as it is in Vietnamese.
  const generated = !a.name || (key !== undefined && a.name.startsWith(`${key} `)) || a.name === "Thiết bị mất tín hiệu";
  if (lang !== "en" && !generated) return a.name;
  const known = t(`alarmType.${a.type}`, { defaultValue: "" });
  if (known) return known;
  const profile = profiles.byType.get(a.deviceType);
  const label = key ? keyLabel(key, profile?.keys[key], lang, t) : "";
  if (kind === "nodata" || (!key && !kind)) return key ? t("alarms.titleNodataKey", { key: label }) : t("alarms.titleNodata");
  if (kind === "rate") return t("alarms.titleRate", { key: label });
  if (kind === "threshold" || a.threshold?.direction)
    return a.threshold?.direction === "below" ? t("alarms.titleBelow", { key: label }) : t("alarms.titleAbove", { key: label });
  return a.name || a.type;
}

/** The alarm's value with the unit of its key. */
export function alarmValue(a: Alarm, profiles: Profiles, lang: string, t: TFunction): string {
  const key = alarmKey(a);
  const unit = key ? profiles.byType.get(a.deviceType)?.keys[key]?.unit : undefined;
  return formatValue(a.value, lang, t, unit);
}

/** The limit the alarm is about: "≥ 4,5 m (BĐ3)", "≤ 15 km/h", "30 phút không có dữ liệu". */
export function alarmThreshold(a: Alarm, profiles: Profiles, lang: string, t: TFunction): string {
  const th = a.threshold;
  if (!th) return "—";
  const key = alarmKey(a);
  const unit = key ? profiles.byType.get(a.deviceType)?.keys[key]?.unit : undefined;
  if (typeof th.minutes === "number") return t("alarms.thresholdNodata", { minutes: th.minutes });
  if (typeof th.maxChangePerMinute === "number") {
    const u = unitLabel(unit, t);
    return t("alarms.thresholdRate", { value: formatNumber(th.maxChangePerMinute, lang, digitsFor(th.maxChangePerMinute)), unit: u });
  }
  if (typeof th.value === "number") {
    const text = `${th.direction === "below" ? "≤" : "≥"} ${formatValue(th.value, lang, t, unit)}`;
    if (typeof th.label === "string" && th.label) return `${text} (${th.label})`;
    // A water-level station's flood rule has the official levels BĐ1–BĐ3 in order.
    const level = a.details?.level;
    if (a.deviceType === "WaterLevelObserved" && key === "waterLevel" && typeof level === "number" && level >= 0 && level <= 2)
      return `${text} (${t(`device.alarmLevel.bd${level + 1}`)})`;
    return text;
  }
  return "—";
}
