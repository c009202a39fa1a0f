// Small pieces shared by the alerts pages: severity badge, state label, and the card that shows
// an alert the way citizens read it (used for the composer's preview and the detail page).
import { useTranslation } from "react-i18next";
import { formatDateTime } from "../../shared/format";
import type { Alert, InfoText } from "./types";

export function CapSeverity({ severity }: { severity: string }) {
  const { t } = useTranslation();
  return <span className={`cap-sev cap-sev-${severity.toLowerCase()}`}>{t(`alerts.severity.${severity}`)}</span>;
}

export function StateLabel({ alert }: { alert: Pick<Alert, "state" | "current" | "endReason" | "msgType"> }) {
  const { t } = useTranslation();
  const key = alert.state !== "published" ? alert.state : alert.current ? "current" : (alert.endReason ?? "ended");
  return <span className={`alert-state alert-state-${key}`}>{t(`alerts.state.${key}`)}</span>;
}

export interface CardAlert {
  severity: Alert["severity"];
  msgType: string;
  status: string;
  expires: string | null;
  sent: string | null;
  senderName: string;
  area: { description: string };
  infos: Array<Pick<InfoText, "language" | "event" | "headline" | "description"> & { instruction?: string }>;
}

export function AlertCard({ alert, lang }: { alert: CardAlert; lang: "vi" | "en" }) {
  const { t } = useTranslation();
  const info = alert.infos.find((i) => i.language.startsWith(lang)) ?? alert.infos[0];
  const T = (k: string, o?: Record<string, unknown>) => t(k, { lng: lang, ...o });
  return (
    <article className={`alert-card alert-card-${alert.severity.toLowerCase()}`} lang={lang} data-testid={`alert-preview-${lang}`}>
      <div className="alert-card-top">
        <span className="alert-card-sev">{T(`alerts.severity.${alert.severity}`)}</span>
        {alert.msgType !== "Alert" && <span className="alert-card-type">{T(`alerts.msgType.${alert.msgType}`)}</span>}
        {alert.status !== "Actual" && <span className="alert-card-type">{T(`alerts.status.${alert.status}`)}</span>}
        <span className="alert-card-event">{info?.event}</span>
      </div>
      <h3 className="alert-card-headline">{info?.headline || T("alerts.noHeadline")}</h3>
      {info?.description && <p className="alert-card-text">{info.description}</p>}
      {info?.instruction && (
        <p className="alert-card-instruction">
          <strong>{T("alerts.whatToDo")}</strong> {info.instruction}
        </p>
      )}
      <dl className="alert-card-facts">
        {alert.area.description && (
          <>
            <dt>{T("alerts.areaLabel")}</dt>
            <dd>{alert.area.description}</dd>
          </>
        )}
        {alert.expires && (
          <>
            <dt>{T("alerts.until")}</dt>
            <dd>{formatDateTime(alert.expires, lang)}</dd>
          </>
        )}
        {alert.senderName && (
          <>
            <dt>{T("alerts.from")}</dt>
            <dd>{alert.senderName}</dd>
          </>
        )}
      </dl>
    </article>
  );
}
