// One warning in the citizen app (/app/alerts/:id), in the reader's language.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../shared/api";
import { Link } from "../../shared/router";
import { AlertCard } from "../../console/alerts/parts";
import type { Alert } from "../../console/alerts/types";

export function AlertView({ id }: { id: string }) {
  const { t, i18n } = useTranslation();
  const [alert, setAlert] = useState<Alert | null>(null);
  const [error, setError] = useState(false);
  useEffect(() => {
    api<Alert>(`/api/alerts/${id}`).then(setAlert, () => setError(true));
  }, [id]);
  const lang = i18n.language === "en" ? "en" : "vi";
  return (
    <div className="citizen-alerts">
      <Link to="/app/alerts" className="citizen-back">
        ← {t("alerts.app.back")}
      </Link>
      {error && <p className="result result-error">{t("alerts.app.error")}</p>}
      {alert && (
        <>
          {!alert.current && <p className="result result-warn">{t(alert.endReason === "cancelled" ? "alerts.app.cancelled" : "alerts.app.ended")}</p>}
          <AlertCard alert={alert} lang={lang} />
        </>
      )}
    </div>
  );
}
