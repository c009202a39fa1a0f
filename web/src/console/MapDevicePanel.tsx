// The map's side panel for a selected device: state, place, latest values with units, last seen,
// its active alarms, and the way to its page.
import { useTranslation } from "react-i18next";
import { formatDateTime, formatRelative } from "../shared/format";
import { SeverityBadge } from "./AlarmBanner";
import { useAlarms } from "./alarms";
import { DeviceStatus, DeviceSymbol } from "./deviceParts";
import { Icon } from "./icons";
import { compareAlarms, type Device, formatValue, keyLabel, primaryKey, typeLabel } from "./iot";
import { Link } from "../shared/router";
import { useAgencyName } from "./useAgencyName";
import { useCommuneName } from "./useCommuneName";
import { useNow } from "./useNow";
import { alarmTitle, alarmValue, type Profiles } from "./useProfiles";

export function MapDevicePanel({ device, profiles, onClose }: { device: Device; profiles: Profiles; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const alarms = useAlarms();
  const communeName = useCommuneName();
  const agencyName = useAgencyName();
  const now = useNow(10_000);
  const profile = profiles.byId.get(device.profileId);
  const own = alarms.active.filter((a) => a.deviceId === device.id).sort(compareAlarms);
  const main = primaryKey(device, profile);
  const keys = [...new Set([...(main ? [main] : []), ...Object.keys(profile?.keys ?? {}), ...Object.keys(device.latest)])].filter((k) => device.latest[k]);
  const href = `/devices/${encodeURIComponent(device.id)}`;

  return (
    <section className="panel-card device-panel" data-testid="device-panel" aria-live="polite">
      <div className="device-panel-head">
        <DeviceSymbol device={device} alarm={alarms.worstByDevice.get(device.id)} size={40} />
        <div>
          <div className="panel-kicker">{typeLabel(device.type, t)}</div>
          <h2 data-testid="device-panel-name">{device.name}</h2>
        </div>
      </div>
      <DeviceStatus device={device} alarm={alarms.worstByDevice.get(device.id)} />
      <dl className="facts">
        <dt>{t("devices.commune")}</dt>
        <dd>{communeName.name(device.commune)}</dd>
        <dt>{t("devices.agency")}</dt>
        <dd>{agencyName(device.agency)}</dd>
        <dt>{t("device.lastSeen")}</dt>
        <dd title={formatDateTime(device.lastSeenAt, lang)}>{device.lastSeenAt ? formatRelative(device.lastSeenAt, lang, now) : t("devices.never")}</dd>
      </dl>
      {keys.length > 0 && (
        <ul className="panel-values" data-testid="device-panel-values">
          {keys.map((k) => {
            const l = device.latest[k];
            return (
              <li key={k}>
                <span className="muted">{keyLabel(k, profile?.keys[k], lang, t)}</span>
                <strong className={l.outOfRange ? "out-of-range" : undefined}>{formatValue(l.value, lang, t, profile?.keys[k]?.unit)}</strong>
              </li>
            );
          })}
        </ul>
      )}
      {own.length > 0 && (
        <ul className="panel-alarms">
          {own.map((a) => (
            <li key={a.id}>
              <SeverityBadge severity={a.severity} compact />
              <Link to={`/alarms?id=${encodeURIComponent(a.id)}`}>{alarmTitle(a, profiles, lang, t)}</Link>
              <span className="muted small">{alarmValue(a, profiles, lang, t)}</span>
            </li>
          ))}
        </ul>
      )}
      <div className="panel-actions">
        <Link to={href} className="btn btn-primary" data-testid="device-panel-link">
          {t("map.openDevice")}
        </Link>
        <button type="button" className="btn btn-ghost" onClick={onClose}>
          <Icon name="close" size={16} /> {t("map.clearSelection")}
        </button>
      </div>
    </section>
  );
}
