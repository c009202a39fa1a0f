// The reports service's first screen: what it is for and where to go.
import { useTranslation } from "react-i18next";
import { Link } from "../../shared/router";
import { myReports } from "./mine";
import "./reports.css";

export function ReportsHome() {
  const { t } = useTranslation();
  const mine = myReports().length;
  return (
    <section>
      <Link to="/app" className="btn-text">
        ← {t("reports.back")}
      </Link>
      <h1 className="rp-title">{t("reports.citizen.title")}</h1>
      <p>{t("reports.citizen.intro")}</p>
      <div className="rp-actions">
        <Link to="/app/reports/new" className="btn btn-primary btn-lg btn-block" data-testid="report-new">
          {t("reports.citizen.new")}
        </Link>
        <Link to="/app/reports/mine" className="btn btn-secondary btn-lg btn-block">
          {t("reports.citizen.mine")}
          {mine > 0 ? ` (${mine})` : ""}
        </Link>
        <Link to="/app/reports/map" className="btn btn-secondary btn-lg btn-block">
          {t("reports.citizen.map")}
        </Link>
      </div>
    </section>
  );
}
