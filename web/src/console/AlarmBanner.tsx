// The header's alarm signals, on every page: the badge with active alarm counts by severity
// (GET /api/alarms/summary) and the red banner for critical alarms not yet acknowledged, with
// the newest one, its acknowledgement, a sound switch, and a blinking tab title while a new
// critical alarm waits for someone.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { formatRelative, formatTime } from "../shared/format";
import { useAlarms } from "./alarms";
import { useAuth } from "./auth";
import { Icon } from "./icons";
import { SEVERITIES, type Severity } from "./iot";
import { Link } from "../shared/router";
import { ErrorMessage } from "./pages/Misc";
import { useCommuneName } from "./useCommuneName";
import { useNow } from "./useNow";
import { alarmTitle, alarmValue, useProfiles } from "./useProfiles";

export function SeverityBadge({ severity, compact }: { severity: Severity; compact?: boolean }) {
  const { t } = useTranslation();
  return <span className={`sev sev-${severity} ${compact ? "sev-compact" : ""}`}>{t(`severity.${severity}`)}</span>;
}

/** Alternates the tab title with a warning while `on`; puts the page's title back after. */
function useBlinkingTitle(on: boolean, text: string) {
  useEffect(() => {
    if (!on) return;
    const original = document.title;
    let flip = false;
    const timer = window.setInterval(() => {
      flip = !flip;
      document.title = flip ? text : original;
    }, 1000);
    return () => {
      window.clearInterval(timer);
      document.title = original;
    };
  }, [on, text]);
}

export function AlarmBadge() {
  const { t } = useTranslation();
  const { enabled, available, summary } = useAlarms();
  if (!enabled || available !== true || !summary) return null;
  const shown = SEVERITIES.filter((s) => summary.bySeverity[s] > 0);
  const label = t("alarms.badgeLabel", {
    count: summary.total,
    details: SEVERITIES.map((s) => `${t(`severity.${s}`)}: ${summary.bySeverity[s]}`).join(", "),
  });
  return (
    <Link to="/alarms" className={`alarm-badge ${summary.total ? "has-alarms" : ""}`} aria-label={label} title={label} data-testid="alarm-badge">
      <Icon name="bell" size={18} />
      {shown.length === 0 ? (
        <span className="alarm-badge-none">0</span>
      ) : (
        shown.map((s) => (
          <span key={s} className={`alarm-count sev-bg-${s}`} data-severity={s}>
            {summary.bySeverity[s]}
          </span>
        ))
      )}
    </Link>
  );
}

export function CriticalBanner() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const { can } = useAuth();
  const { enabled, criticals, attention, bannerHidden, dismiss, sound, setSound, ack } = useAlarms();
  const profiles = useProfiles(enabled);
  const commune = useCommuneName();
  const now = useNow(15_000);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const newest = criticals[0];

  useBlinkingTitle(attention && !!newest, t("alarms.titleBlink", { count: criticals.length }));

  if (!enabled || !newest || bannerHidden) return null;
  const canManage = can("alarms:manage");

  const onAck = async () => {
    setBusy(true);
    setError(null);
    try {
      await ack(newest.id);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className={`critical-banner ${attention ? "attention" : ""}`} role="alert" data-testid="critical-banner">
      <span className="critical-icon" aria-hidden="true">
        <Icon name="alarms" size={22} />
      </span>
      <div className="critical-text">
        <strong className="critical-count" data-testid="critical-count">
          {t("alarms.criticalCount", { count: criticals.length })}
        </strong>
        <span className="critical-newest">
          <span className="critical-label">{t("alarms.newest")}:</span> <strong>{alarmTitle(newest, profiles, lang, t)}</strong>
          {" — "}
          {newest.deviceName}
          {newest.commune && <> · {commune.name(newest.commune)}</>}
          {newest.value !== null && newest.value !== undefined && (
            <>
              {" · "}
              <span className="critical-value">{alarmValue(newest, profiles, lang, t)}</span>
            </>
          )}
          {" · "}
          {/* Hidden from screen readers: the alert would be read again each time this refreshes. */}
          <time dateTime={newest.updatedAt} title={formatTime(newest.updatedAt, lang)} aria-hidden="true">
            {formatRelative(newest.updatedAt, lang, now)}
          </time>
        </span>
        {error !== null && (
          <span className="critical-error">
            <ErrorMessage error={error} />
          </span>
        )}
      </div>
      <div className="critical-actions">
        {canManage && (
          <button type="button" className="btn btn-critical" onClick={onAck} disabled={busy} data-testid="banner-ack">
            <Icon name="check" size={16} /> {busy ? t("alarms.acking") : t("alarms.ack")}
          </button>
        )}
        <Link to={`/alarms?id=${encodeURIComponent(newest.id)}`} className="btn btn-critical-ghost">
          {t("alarms.viewDetails")}
        </Link>
        <button
          type="button"
          className="icon-button critical-icon-button"
          aria-pressed={sound}
          aria-label={sound ? t("alarms.soundOff") : t("alarms.soundOn")}
          title={sound ? t("alarms.soundOff") : t("alarms.soundOn")}
          onClick={() => setSound(!sound)}
        >
          <Icon name={sound ? "bell" : "bellOff"} size={18} />
        </button>
        <button type="button" className="icon-button critical-icon-button" aria-label={t("alarms.hideBanner")} title={t("alarms.hideBanner")} onClick={dismiss}>
          <Icon name="close" size={18} />
        </button>
      </div>
    </div>
  );
}
