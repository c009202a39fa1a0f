// The public map of reports: the province drawn as SVG (no map library on phones), a dot per report
// of the last 90 days (orange: being handled, green: resolved), a tap opens the report.
import type { Geometry, Position } from "geojson";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { type AdminUnit, api } from "../../shared/api";
import { bboxOf } from "../../shared/geometry";
import { Link, navigate } from "../../shared/router";
import { OPEN_STATUSES, type Report } from "./client";
import { ReportList } from "./Mine";
import "./reports.css";

const WIDTH = 600;

export function ReportsMap() {
  const { t } = useTranslation();
  const [unit, setUnit] = useState<AdminUnit | null>(null);
  const [reports, setReports] = useState<Report[]>([]);
  useEffect(() => {
    api<AdminUnit>("/api/geo/units/82").then(setUnit, () => {});
    api<Report[]>("/api/reports/public?days=90&limit=2000").then(setReports, () => {});
  }, []);

  const drawn = useMemo(() => {
    if (!unit?.boundary) return null;
    const b = unit.bbox ?? bboxOf([unit.boundary]);
    if (!b) return null;
    const box = [b[0] - 0.02, b[1] - 0.02, b[2] + 0.02, b[3] + 0.02];
    const kx = Math.cos((((box[1] + box[3]) / 2) * Math.PI) / 180);
    const scale = WIDTH / ((box[2] - box[0]) * kx);
    const xy = (lon: number, lat: number): [number, number] => [(lon - box[0]) * kx * scale, (box[3] - lat) * scale];
    const g = unit.boundary as Geometry;
    const polys: Position[][][] = g.type === "MultiPolygon" ? g.coordinates : g.type === "Polygon" ? [g.coordinates] : [];
    let d = "";
    for (const poly of polys)
      for (const ring of poly) {
        ring.forEach(([lon, lat], i) => {
          const [x, y] = xy(lon, lat);
          d += `${i ? "L" : "M"}${x.toFixed(1)} ${y.toFixed(1)}`;
        });
        d += "Z";
      }
    return { d, xy, height: (box[3] - box[1]) * scale };
  }, [unit]);

  return (
    <section>
      <Link to="/app/reports" className="btn-text">
        ← {t("reports.back")}
      </Link>
      <h1 className="rp-title">{t("reports.citizen.map")}</h1>
      <p className="muted">{t("reports.citizen.mapText")}</p>
      <div className="rp-legend">
        <span>
          <i style={{ background: "#d9822b" }} />
          {t("reports.citizen.legendOpen")}
        </span>
        <span>
          <i style={{ background: "#2e8b57" }} />
          {t("reports.citizen.legendClosed")}
        </span>
      </div>
      {drawn ? (
        <svg className="rp-map" viewBox={`0 0 ${WIDTH} ${drawn.height.toFixed(0)}`} data-testid="reports-map" role="img" aria-label={t("reports.citizen.map")}>
          <path d={drawn.d} className="land" fillRule="evenodd" />
          {reports
            .filter((r) => r.lat !== null && r.lon !== null)
            .map((r) => {
              const [x, y] = drawn.xy(r.lon as number, r.lat as number);
              return (
                <a
                  key={r.id}
                  href={`/app/reports/${r.id}`}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(`/app/reports/${r.id}`);
                  }}
                >
                  <circle cx={x.toFixed(1)} cy={y.toFixed(1)} r={6} className={OPEN_STATUSES.includes(r.status) ? "open" : "closed"}>
                    <title>
                      #{r.id} {r.categoryName}
                    </title>
                  </circle>
                </a>
              );
            })}
        </svg>
      ) : (
        <div className="mini-map mini-map-loading">{t("reports.citizen.loading")}</div>
      )}
      <h2 className="section-title">{t("reports.count", { count: reports.length })}</h2>
      <ReportList reports={reports.slice(0, 50)} />
    </section>
  );
}
