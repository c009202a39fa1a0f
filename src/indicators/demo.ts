// Demo data for SEN_DEMO=1: a few years of the plan's targets (so the scorecard shows every
// colour) and a monthly commune form with a year of values (so the commune map has something to
// draw). Deterministic, idempotent (skipped once the demo form exists), entered as the system.
import { SYSTEM } from "../core/context.ts";
import { mulberry32 } from "../iot/simulator.ts";
import { periodOf, shift, today } from "./periods.ts";
import type { IndicatorsService } from "./service.ts";

/** Yearly values of some targets, oldest first, ending last year. */
const TARGET_SERIES: Record<string, number[]> = {
  "agri.smart_villages": [1, 3, 4, 6],
  "agri.iot_farmer_clubs": [0, 1, 2, 2],
  "agri.traceability_share": [6, 9, 12, 16],
  "health.emr_regional_hospitals": [20, 45, 70, 90],
  "health.telemedicine_units": [10, 25, 40, 55],
  "health.vssid_facilities": [60, 80, 92, 100],
  "edu.online_training_schools": [22, 30, 37, 43],
  "edu.stem_schools": [12, 18, 25, 31],
  "edu.video_conference_points": [43, 48, 55, 61],
  "commerce.online_shoppers": [38, 44, 50, 56],
  "commerce.ecommerce_enterprises": [25, 28, 31, 33],
  "gov.procedure_results_digitised": [35, 55, 72, 86],
  "security.budget_share": [6, 7, 8, 9],
  "env.land_db_5_units": [1, 3, 4, 5],
};

export async function seedDemo(indicators: IndicatorsService): Promise<boolean> {
  const m = indicators.model();
  if (m.dataSets.has("demo.commune-monthly") || !m.root) return false;
  const year = Number(today().slice(0, 4));
  const values: Array<{ dataElement: string; period: string; orgUnit: string; value: string }> = [];
  for (const [de, series] of Object.entries(TARGET_SERIES))
    for (const [i, v] of series.entries())
      values.push({ dataElement: de, period: String(year - series.length + i), orgUnit: m.root as string, value: String(v) });

  for (const [id, name, nameEn] of [
    ["demo.households", "Số hộ gia đình", "Households"],
    ["demo.households_fiber", "Số hộ có cáp quang", "Households with fibre broadband"],
    ["demo.dossiers", "Hồ sơ thủ tục hành chính tiếp nhận", "Administrative dossiers received"],
    ["demo.dossiers_online", "Hồ sơ nộp trực tuyến", "Dossiers filed online"],
  ] as const)
    await indicators.putElement({
      id,
      name,
      nameEn,
      valueType: "integer",
      aggregation: id === "demo.households" || id === "demo.households_fiber" ? "last" : "sum",
    });
  await indicators.putIndicator({
    id: "demo.fiber_rate",
    name: "Tỷ lệ hộ có cáp quang",
    nameEn: "Households with fibre broadband",
    numerator: "#{demo.households_fiber}",
    denominator: "#{demo.households}",
    factor: 100,
    unit: "%",
    sector: "society",
  });
  await indicators.putIndicator({
    id: "demo.online_dossier_rate",
    name: "Tỷ lệ hồ sơ nộp trực tuyến",
    nameEn: "Dossiers filed online",
    numerator: "#{demo.dossiers_online}",
    denominator: "#{demo.dossiers}",
    factor: 100,
    unit: "%",
    sector: "government",
  });
  await indicators.putDataSet({
    id: "demo.commune-monthly",
    name: "Báo cáo chuyển đổi số hằng tháng của xã (mẫu)",
    nameEn: "Commune monthly digital-transformation report (demo)",
    periodType: "monthly",
    elements: ["demo.households", "demo.households_fiber", "demo.dossiers", "demo.dossiers_online"],
    units: ["OU_GROUP-communes"],
    dueDays: 5,
    approverAgency: "SKHCN",
  });
  await indicators.putRule({
    id: "demo.fiber-le-households",
    dataSet: "demo.commune-monthly",
    name: "Hộ có cáp quang ≤ số hộ",
    left: "#{demo.households_fiber}",
    operator: "<=",
    right: "#{demo.households}",
    message: "Số hộ có cáp quang không được lớn hơn số hộ gia đình",
    messageEn: "Households with broadband cannot exceed households",
  });
  await indicators.putRule({
    id: "demo.online-le-dossiers",
    dataSet: "demo.commune-monthly",
    name: "Hồ sơ trực tuyến ≤ tổng hồ sơ",
    left: "#{demo.dossiers_online}",
    operator: "<=",
    right: "#{demo.dossiers}",
    message: "Số hồ sơ trực tuyến không được lớn hơn tổng số hồ sơ",
    messageEn: "Online dossiers cannot exceed all dossiers",
  });

  // Twelve completed months per commune; some communes lag behind (a map with contrast).
  const rng = mulberry32(82);
  const last = shift(periodOf("monthly", today()), -1);
  const communes = [...indicators.model().units.values()].filter((u) => u.kind === "commune");
  for (const c of communes) {
    const households = 3000 + Math.floor(rng() * 9000);
    const reach = 0.35 + rng() * 0.5;
    const online = 0.3 + rng() * 0.55;
    for (let k = 11; k >= 0; k--) {
      const pe = shift(last, -k).id;
      const grow = 1 - k * 0.01;
      const dossiers = 40 + Math.floor(rng() * 160);
      values.push(
        { dataElement: "demo.households", period: pe, orgUnit: c.id, value: String(households) },
        { dataElement: "demo.households_fiber", period: pe, orgUnit: c.id, value: String(Math.round(households * reach * grow)) },
        { dataElement: "demo.dossiers", period: pe, orgUnit: c.id, value: String(dossiers) },
        { dataElement: "demo.dossiers_online", period: pe, orgUnit: c.id, value: String(Math.round(dossiers * online * grow)) },
      );
    }
  }
  const r = await indicators.importValues(values, SYSTEM, { source: "demo" });
  if (r.status !== "SUCCESS") throw new Error(`demo indicator values refused: ${JSON.stringify(r.conflicts.slice(0, 3))}`);
  return true;
}
