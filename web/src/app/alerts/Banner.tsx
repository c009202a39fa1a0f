// The home screen's banner: severe and extreme warnings in force in the citizen's places.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../shared/api";
import { Link } from "../../shared/router";
import { type Alert, infoIn } from "../../console/alerts/types";
import { usePlaces } from "./places";

export function SevereBanner() {
  const { t, i18n } = useTranslation();
  const places = usePlaces();
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const key = places.join(",");

  useEffect(() => {
    if (!key) {
      setAlerts([]);
      return;
    }
    api<Alert[]>(`/api/alerts?current=true&severity=Severe&status=Actual&commune=${key}&limit=20`).then(
      (list) => setAlerts(list.filter((a) => a.msgType !== "Cancel")),
      () => setAlerts([]),
    );
  }, [key]);

  if (!alerts.length) return null;
  const first = alerts[0];
  const lang = i18n.language === "en" ? "en" : "vi";
  return (
    <div className={`severe-banner severe-banner-${first.severity.toLowerCase()}`} role="alert" data-testid="severe-banner">
      <div className="severe-banner-label">{t("alerts.app.banner", { severity: t(`alerts.severity.${first.severity}`) })}</div>
      <div className="severe-banner-headline">{infoIn(first, lang)?.headline}</div>
      {alerts.length > 1 && <div className="severe-banner-more">{t("alerts.app.bannerMore", { count: alerts.length - 1 })}</div>}
      <Link to={`/app/alerts/${first.id}`} className="severe-banner-link">
        {t("alerts.app.open")}
      </Link>
    </div>
  );
}
