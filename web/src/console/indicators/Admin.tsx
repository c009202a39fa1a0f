// Admin (/indicators/admin): define data elements, indicators, report forms and validation rules
// (PUT by id creates or changes), see the automatic sources and the pushes to the Government
// reporting system.
import { type FormEvent, type ReactNode, useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../shared/api";
import { formatDateTime } from "../../shared/format";
import { ErrorMessage } from "../pages/Misc";
import { pick } from "./client";
import "./indicators.css";

interface Meta {
  orgUnits: Array<{ id: string; kind: string; name: string; nameEn: string }>;
  groups: Array<{ id: string; name: string; nameEn: string }>;
  categories: Array<{ id: string; name: string; nameEn: string }>;
  dataElements: Array<{ id: string; name: string; nameEn: string; valueType: string; aggregation: string; categories: string[]; unit: string }>;
  indicators: Array<{ id: string; name: string; nameEn: string; numerator: string; denominator: string; factor: number; unit: string }>;
  dataSets: Array<{
    id: string;
    name: string;
    nameEn: string;
    periodType: string;
    elements: string[];
    units: string[];
    dueDays: number;
    approverAgency: string | null;
  }>;
  validationRules: Array<{ id: string; dataSet: string; name: string; left: string; operator: string; right: string; message: string; messageEn: string }>;
}

type Tab = "elements" | "indicators" | "forms" | "rules" | "sources";

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is passed as children
    <label className="field">
      <span>{label}</span>
      {children}
    </label>
  );
}

/** A small create/change form: fields by name, PUT to url(id). */
function PutForm({
  fields,
  url,
  build,
  onDone,
}: {
  fields: Array<[string, string, ReactNode?]>;
  url: (id: string) => string;
  build: (v: Record<string, string>) => object;
  onDone(): void;
}) {
  const { t } = useTranslation();
  const [v, setV] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [ok, setOk] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setOk(false);
    try {
      await api(url((v.id ?? "").trim()), { method: "PUT", body: build(v) });
      setOk(true);
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="form-grid ind-admin-form" onSubmit={submit}>
      {fields.map(([name, label, custom]) => (
        <Field key={name} label={label}>
          {custom ?? <input value={v[name] ?? ""} onChange={(e) => setV({ ...v, [name]: e.target.value })} required={name === "id" || name === "name"} />}
        </Field>
      ))}
      <div className="span-2">
        <button type="submit" className="btn btn-primary">
          {t("indicators.save")}
        </button>
        {ok && <span className="muted"> {t("indicators.createdOk")}</span>}
        {error ? <ErrorMessage error={error} /> : null}
      </div>
    </form>
  );
}

export function IndicatorsAdmin() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [tab, setTab] = useState<Tab>("elements");
  const [meta, setMeta] = useState<Meta | null>(null);
  const [sources, setSources] = useState<Array<{ id: string; periodType: string; lastRunAt: string | null; valuesWritten: number; lastError: string | null }>>(
    [],
  );
  const [exportsList, setExports] = useState<
    Array<{ id: number; period: string; values: number; status: string; createdAt: string; acknowledgedAt: string | null; lastError: string | null }>
  >([]);
  const [error, setError] = useState<unknown>(null);
  // Select-backed fields keep their own state.
  const [valueType, setValueType] = useState("number");
  const [aggregation, setAggregation] = useState("sum");
  const [periodType, setPeriodType] = useState("monthly");
  const [operator, setOperator] = useState("<=");

  const reload = useCallback(() => {
    api<Meta>("/api/indicators/metadata").then(setMeta, setError);
    api<typeof sources>("/api/indicators/sources").then(setSources, () => undefined);
    api<typeof exportsList>("/api/indicators/gov-exports").then(setExports, () => undefined);
  }, []);
  useEffect(reload, [reload]);

  const list = (s?: string) =>
    (s ?? "")
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
  const select = (value: string, set: (v: string) => void, options: string[], prefix: string) => (
    <select value={value} onChange={(e) => set(e.target.value)}>
      {options.map((o) => (
        <option key={o} value={o}>
          {t(`${prefix}.${o}`, { defaultValue: o })}
        </option>
      ))}
    </select>
  );

  return (
    <div className="page page-wide ind-page">
      <header className="page-head">
        <div>
          <h1>{t("indicators.adminTitle")}</h1>
          <p className="page-sub">{t("indicators.adminSub")}</p>
        </div>
      </header>
      <div className="segmented" role="tablist">
        {(["elements", "indicators", "forms", "rules", "sources"] as const).map((x) => (
          <button key={x} type="button" role="tab" aria-selected={tab === x} className={tab === x ? "active" : undefined} onClick={() => setTab(x)}>
            {t(`indicators.tab${x[0]?.toUpperCase()}${x.slice(1)}`)}
          </button>
        ))}
      </div>
      {error ? <ErrorMessage error={error} /> : null}
      {meta && tab === "elements" && (
        <section className="card table-card">
          <table className="table table-compact">
            <thead>
              <tr>
                <th>{t("indicators.id")}</th>
                <th>{t("indicators.name")}</th>
                <th>{t("indicators.valueType")}</th>
                <th>{t("indicators.aggregation")}</th>
                <th>{t("indicators.categories")}</th>
              </tr>
            </thead>
            <tbody>
              {meta.dataElements.map((e) => (
                <tr key={e.id}>
                  <td className="mono">{e.id}</td>
                  <td>{pick(e, lang)}</td>
                  <td>{t(`indicators.valueTypes.${e.valueType}`)}</td>
                  <td>{t(`indicators.aggregations.${e.aggregation}`)}</td>
                  <td>{e.categories.join(", ")}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2 className="section-title">{t("indicators.create")}</h2>
          <PutForm
            url={(id) => `/api/indicators/elements/${encodeURIComponent(id)}`}
            fields={[
              ["id", t("indicators.id")],
              ["name", t("indicators.name")],
              ["nameEn", t("indicators.nameEn")],
              [
                "valueType",
                t("indicators.valueType"),
                select(valueType, setValueType, ["number", "integer", "percent", "boolean", "text"], "indicators.valueTypes"),
              ],
              ["aggregation", t("indicators.aggregation"), select(aggregation, setAggregation, ["sum", "average", "last"], "indicators.aggregations")],
              ["categories", `${t("indicators.categories")} (${meta.categories.map((c) => c.id).join(", ")})`],
              ["unit", "Unit"],
            ]}
            build={(v) => ({ name: v.name, nameEn: v.nameEn || v.name, valueType, aggregation, categories: list(v.categories), unit: v.unit ?? "" })}
            onDone={reload}
          />
        </section>
      )}
      {meta && tab === "indicators" && (
        <section className="card table-card">
          <table className="table table-compact">
            <thead>
              <tr>
                <th>{t("indicators.id")}</th>
                <th>{t("indicators.name")}</th>
                <th>{t("indicators.numerator")}</th>
                <th>{t("indicators.denominator")}</th>
                <th className="num">{t("indicators.factor")}</th>
              </tr>
            </thead>
            <tbody>
              {meta.indicators.map((i) => (
                <tr key={i.id}>
                  <td className="mono">{i.id}</td>
                  <td>{pick(i, lang)}</td>
                  <td className="mono">{i.numerator}</td>
                  <td className="mono">{i.denominator}</td>
                  <td className="num">{i.factor}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2 className="section-title">{t("indicators.create")}</h2>
          <PutForm
            url={(id) => `/api/indicators/definitions/${encodeURIComponent(id)}`}
            fields={[
              ["id", t("indicators.id")],
              ["name", t("indicators.name")],
              ["nameEn", t("indicators.nameEn")],
              ["numerator", `${t("indicators.numerator")} — #{element}, #{element.option}, N{indicator}`],
              ["denominator", t("indicators.denominator")],
              ["factor", t("indicators.factor")],
            ]}
            build={(v) => ({
              name: v.name,
              nameEn: v.nameEn || v.name,
              numerator: v.numerator,
              denominator: v.denominator || "1",
              factor: Number(v.factor || 1),
            })}
            onDone={reload}
          />
        </section>
      )}
      {meta && tab === "forms" && (
        <section className="card table-card">
          <table className="table table-compact">
            <thead>
              <tr>
                <th>{t("indicators.id")}</th>
                <th>{t("indicators.name")}</th>
                <th>{t("indicators.periodType")}</th>
                <th className="num">{t("indicators.elements")}</th>
                <th className="num">{t("indicators.units")}</th>
                <th>{t("indicators.approver")}</th>
              </tr>
            </thead>
            <tbody>
              {meta.dataSets.map((d) => (
                <tr key={d.id}>
                  <td className="mono">{d.id}</td>
                  <td>{pick(d, lang)}</td>
                  <td>{t(`indicators.periodTypes.${d.periodType}`)}</td>
                  <td className="num">{d.elements.length}</td>
                  <td className="num">{d.units.length}</td>
                  <td>{d.approverAgency ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2 className="section-title">{t("indicators.create")}</h2>
          <PutForm
            url={(id) => `/api/indicators/forms/${encodeURIComponent(id)}`}
            fields={[
              ["id", t("indicators.id")],
              ["name", t("indicators.name")],
              ["nameEn", t("indicators.nameEn")],
              [
                "periodType",
                t("indicators.periodType"),
                select(periodType, setPeriodType, ["monthly", "quarterly", "yearly", "weekly"], "indicators.periodTypes"),
              ],
              ["elements", `${t("indicators.elements")} (a, b, c)`],
              ["units", `${t("indicators.units")} (OU_GROUP-communes, OU_GROUP-departments, …)`],
              ["dueDays", t("indicators.dueDays")],
              ["approverAgency", t("indicators.approver")],
            ]}
            build={(v) => ({
              name: v.name,
              nameEn: v.nameEn || v.name,
              periodType,
              elements: list(v.elements),
              units: list(v.units),
              dueDays: Number(v.dueDays || 10),
              approverAgency: v.approverAgency?.trim() || null,
            })}
            onDone={reload}
          />
        </section>
      )}
      {meta && tab === "rules" && (
        <section className="card table-card">
          <table className="table table-compact">
            <thead>
              <tr>
                <th>{t("indicators.form")}</th>
                <th>{t("indicators.rule")}</th>
                <th>{t("indicators.message")}</th>
              </tr>
            </thead>
            <tbody>
              {meta.validationRules.map((r) => (
                <tr key={r.id}>
                  <td className="mono">{r.dataSet}</td>
                  <td className="mono">
                    {r.left} {r.operator} {r.right}
                  </td>
                  <td>{lang === "en" ? r.messageEn : r.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2 className="section-title">{t("indicators.create")}</h2>
          <PutForm
            url={(id) => `/api/indicators/rules/${encodeURIComponent(id)}`}
            fields={[
              ["id", t("indicators.id")],
              ["dataSet", t("indicators.form")],
              ["name", t("indicators.name")],
              ["left", "#{…}"],
              ["operator", "", select(operator, setOperator, ["==", "!=", ">", ">=", "<", "<="], "op")],
              ["right", "#{…}"],
              ["message", t("indicators.message")],
              ["messageEn", `${t("indicators.message")} (English)`],
            ]}
            build={(v) => ({
              dataSet: v.dataSet,
              name: v.name,
              left: v.left,
              operator,
              right: v.right,
              message: v.message,
              messageEn: v.messageEn || v.message,
            })}
            onDone={reload}
          />
        </section>
      )}
      {tab === "sources" && (
        <section className="card table-card">
          <table className="table table-compact">
            <thead>
              <tr>
                <th>{t("indicators.id")}</th>
                <th>{t("indicators.periodType")}</th>
                <th>{t("indicators.lastRun")}</th>
                <th className="num">{t("indicators.valuesWritten")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {sources.map((s) => (
                <tr key={s.id}>
                  <td className="mono">{s.id}</td>
                  <td>{t(`indicators.periodTypes.${s.periodType}`)}</td>
                  <td>{s.lastRunAt ? formatDateTime(s.lastRunAt, lang) : "—"}</td>
                  <td className="num">{s.valuesWritten}</td>
                  <td className={s.lastError ? "tone-bad" : undefined}>{s.lastError ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button
            type="button"
            className="btn btn-secondary"
            onClick={() => api("/api/indicators/sources/refresh", { method: "POST", body: {} }).then(reload, setError)}
          >
            {t("indicators.refresh")}
          </button>
          <h2 className="section-title">{t("indicators.exportsTitle")}</h2>
          <table className="table table-compact">
            <tbody>
              {exportsList.map((x) => (
                <tr key={x.id}>
                  <td className="mono">{x.period}</td>
                  <td className="num">{x.values}</td>
                  <td>{t(`indicators.exportStatus.${x.status}`)}</td>
                  <td>{formatDateTime(x.acknowledgedAt ?? x.createdAt, lang)}</td>
                  <td>
                    <a href={`/api/indicators/gov-export/${encodeURIComponent(x.period)}`} target="_blank" rel="noreferrer">
                      JSON
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}
