// The officer's page (/indicators/forms): the forms of my unit for recent periods with their
// state and due date, and the completeness of the forms I see (expected, received, on time).
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../shared/api";
import { formatDateTime, formatNumber } from "../../shared/format";
import { Link } from "../../shared/router";
import { ErrorMessage } from "../pages/Misc";
import { type Submission, formUrl, pick, recentPeriods } from "./client";
import "./indicators.css";

type MyForm = Submission & { name: string; nameEn: string; periodType: string; overdue: boolean };

interface Completeness {
  period: string;
  dueAt: string;
  expected: number;
  received: number;
  onTime: number;
  approved: number;
  completeness: number | null;
  timeliness: number | null;
}

export function OfficerForms() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [mine, setMine] = useState<{ orgUnit: string | null; forms: MyForm[] } | null>(null);
  const [sets, setSets] = useState<Array<{ id: string; name: string; nameEn: string; periodType: string; units: string[] }>>([]);
  const [ds, setDs] = useState("");
  const [comp, setComp] = useState<Completeness[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api<{ orgUnit: string | null; forms: MyForm[] }>("/api/indicators/my-forms").then(setMine, setError);
    api<{ dataSets: Array<{ id: string; name: string; nameEn: string; periodType: string; units: string[] }> }>("/api/indicators/metadata").then((m) => {
      const list = m.dataSets.filter((d) => d.id !== "plan-targets");
      setSets(list);
      setDs((d) => d || list[0]?.id || "");
    }, setError);
  }, []);

  useEffect(() => {
    const set = sets.find((s) => s.id === ds);
    if (!set) return;
    const pes = recentPeriods(set.periodType, 6).join(";");
    api<Completeness[]>(`/api/indicators/completeness?dataSet=${encodeURIComponent(ds)}&pe=${encodeURIComponent(pes)}`).then(setComp, setError);
  }, [ds, sets]);

  return (
    <div className="page page-wide ind-page">
      <header className="page-head">
        <div>
          <h1>{t("indicators.formsTitle")}</h1>
          <p className="page-sub">{t("indicators.formsSub")}</p>
        </div>
      </header>
      {error ? (
        <div className="alert alert-error" role="alert">
          <ErrorMessage error={error} />
        </div>
      ) : null}
      <section className="card table-card">
        {!mine ? (
          <p className="muted">{t("common.loading")}</p>
        ) : !mine.orgUnit ? (
          <p className="empty-state">{t("indicators.noUnit")}</p>
        ) : mine.forms.length === 0 ? (
          <p className="empty-state">{t("indicators.noForms")}</p>
        ) : (
          <table className="table" data-testid="my-forms">
            <thead>
              <tr>
                <th>{t("indicators.form")}</th>
                <th>{t("indicators.period")}</th>
                <th>{t("indicators.due")}</th>
                <th />
                <th />
              </tr>
            </thead>
            <tbody>
              {mine.forms.map((f) => (
                <tr key={`${f.dataSet}/${f.period}`}>
                  <td>{pick(f, lang)}</td>
                  <td className="mono">{f.period}</td>
                  <td className={f.overdue ? "tone-bad" : undefined}>
                    {formatDateTime(f.dueAt, lang)}
                    {f.overdue && <div className="ind-sub">{t("indicators.overdue")}</div>}
                  </td>
                  <td>
                    <span className={`ind-state ind-state-${f.state}`}>{t(`indicators.state.${f.state}`)}</span>
                    {f.state === "returned" && f.returnReason && <div className="ind-sub">{f.returnReason}</div>}
                  </td>
                  <td>
                    <Link className="btn btn-sm btn-secondary" to={formUrl(f.dataSet, f.orgUnit, f.period)}>
                      {f.locked ? t("indicators.open") : t("indicators.enter")}
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="card table-card">
        <div className="card-head">
          <h2 className="section-title">{t("indicators.completenessTitle")}</h2>
          <select value={ds} onChange={(e) => setDs(e.target.value)} aria-label={t("indicators.form")}>
            {sets.map((s) => (
              <option key={s.id} value={s.id}>
                {pick(s, lang)}
              </option>
            ))}
          </select>
        </div>
        {comp && (
          <table className="table table-compact" data-testid="completeness">
            <thead>
              <tr>
                <th>{t("indicators.period")}</th>
                <th className="num">{t("indicators.expected")}</th>
                <th className="num">{t("indicators.received")}</th>
                <th className="num">{t("indicators.onTime")}</th>
                <th className="num">{t("indicators.approved")}</th>
                <th>{t("indicators.completeness")}</th>
              </tr>
            </thead>
            <tbody>
              {comp.map((c) => (
                <tr key={c.period}>
                  <td className="mono">{c.period}</td>
                  <td className="num">{c.expected}</td>
                  <td className="num">{c.received}</td>
                  <td className="num">{c.onTime}</td>
                  <td className="num">{c.approved}</td>
                  <td>
                    <div className="ind-progress">
                      <span style={{ width: `${c.completeness ?? 0}%` }} />
                    </div>
                    <div className="ind-sub">{c.completeness === null ? "—" : `${formatNumber(c.completeness, lang, 1)} %`}</div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

export function Approvals() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [rows, setRows] = useState<Array<Submission & { name: string; nameEn: string; orgUnitName: string; orgUnitNameEn: string }> | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<typeof rows>("/api/indicators/approvals").then(setRows, setError);
  }, []);
  return (
    <div className="page page-wide ind-page">
      <header className="page-head">
        <div>
          <h1>{t("indicators.approvalsTitle")}</h1>
          <p className="page-sub">{t("indicators.approvalsSub")}</p>
        </div>
      </header>
      {error ? (
        <div className="alert alert-error" role="alert">
          <ErrorMessage error={error} />
        </div>
      ) : null}
      <section className="card table-card">
        {!rows ? (
          <p className="muted">{t("common.loading")}</p>
        ) : rows.length === 0 ? (
          <p className="empty-state">{t("indicators.noApprovals")}</p>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>{t("indicators.form")}</th>
                <th>{t("indicators.unit")}</th>
                <th>{t("indicators.period")}</th>
                <th>{t("indicators.submittedAt")}</th>
                <th />
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.dataSet}/${r.orgUnit}/${r.period}`}>
                  <td>{pick(r, lang)}</td>
                  <td>{lang === "en" ? r.orgUnitNameEn : r.orgUnitName}</td>
                  <td className="mono">{r.period}</td>
                  <td>
                    {formatDateTime(r.submittedAt, lang)}
                    {r.onTime === false && <div className="ind-sub tone-bad">{t("indicators.overdue")}</div>}
                  </td>
                  <td>
                    <span className={`ind-state ind-state-${r.state}`}>{t(`indicators.state.${r.state}`)}</span>
                  </td>
                  <td>
                    <Link className="btn btn-sm btn-secondary" to={formUrl(r.dataSet, r.orgUnit, r.period)}>
                      {t("indicators.open")}
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
