// Data entry (/indicators/forms/:dataSet/:unit/:period): the form generated from the data set, one
// input per element and disaggregation. Keyboard-friendly (Enter moves to the next input, Ctrl+S
// saves), checked as you type, saved as a draft, then submitted; approvers approve or return it
// with a reason here too.
import { type KeyboardEvent, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, api } from "../../shared/api";
import { formatDateTime } from "../../shared/format";
import { Link } from "../../shared/router";
import { ErrorMessage } from "../pages/Misc";
import { type FormData, type FormField, type Violation, checkInput, pick } from "./client";
import "./indicators.css";

const key = (de: string, coc: string) => `${de}|${coc}`;

export function DataEntry({ dataSet, orgUnit, period }: { dataSet: string; orgUnit: string; period: string }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [form, setForm] = useState<FormData | null>(null);
  const [values, setValues] = useState<Record<string, string>>({});
  const [dirty, setDirty] = useState<Set<string>>(new Set());
  const [violations, setViolations] = useState<Violation[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [reason, setReason] = useState("");
  const tableRef = useRef<HTMLTableElement>(null);
  const url = `/api/indicators/forms/${encodeURIComponent(dataSet)}/${encodeURIComponent(orgUnit)}/${encodeURIComponent(period)}`;

  const load = useCallback(() => {
    api<FormData>(url).then((f) => {
      setForm(f);
      const v: Record<string, string> = {};
      for (const x of f.values) v[key(x.dataElement, x.categoryOptionCombo)] = x.value;
      setValues(v);
      setDirty(new Set());
      setViolations(f.violations);
    }, setError);
  }, [url]);
  useEffect(load, [load]);

  const fields = useMemo(() => new Map(form?.fields.map((f) => [f.dataElement, f]) ?? []), [form]);
  const problems = useMemo(() => {
    const out = new Map<string, string>();
    for (const k of Object.keys(values)) {
      const f = fields.get(k.split("|")[0] as string);
      const p = f && checkInput(f, values[k] ?? "");
      if (p) out.set(k, t(p.key, p.opts));
    }
    return out;
  }, [values, fields, t]);

  const save = async (): Promise<boolean> => {
    if (!form || problems.size > 0) return false;
    setBusy(true);
    setError(null);
    try {
      const changed = [...dirty].map((k) => {
        const [de, coc] = k.split("|") as [string, string];
        return { dataElement: de, categoryOptionCombo: coc, value: values[k] ?? "" };
      });
      const r = await api<{ created: number; updated: number; deleted: number; violations: Violation[] }>(`${url}/values`, {
        method: "PUT",
        body: { values: changed },
      });
      setViolations(r.violations);
      setDirty(new Set());
      setNotice(t("indicators.saved", { count: r.created + r.updated + r.deleted }));
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  };

  const act = async (path: "submit" | "approve" | "return") => {
    if (path === "submit" && dirty.size > 0 && !(await save())) return;
    setBusy(true);
    setError(null);
    try {
      await api(`${url}/${path}`, { method: "POST", body: path === "return" ? { reason } : undefined });
      setNotice(path === "submit" ? t("indicators.submitted") : null);
      setReason("");
      load();
    } catch (err) {
      if (err instanceof ApiError && Array.isArray(err.problem.violations)) setViolations(err.problem.violations as Violation[]);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  // Enter moves to the next input (Shift+Enter to the previous); Ctrl/Cmd+S saves.
  const onKeyDown = (e: KeyboardEvent<HTMLTableElement>) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") {
      e.preventDefault();
      void save();
      return;
    }
    if (e.key !== "Enter" || (e.target as HTMLElement).tagName === "TEXTAREA") return;
    const inputs = [...(tableRef.current?.querySelectorAll<HTMLInputElement | HTMLSelectElement>("input, select") ?? [])];
    const i = inputs.indexOf(e.target as HTMLInputElement);
    if (i < 0) return;
    e.preventDefault();
    inputs[e.shiftKey ? i - 1 : i + 1]?.focus();
  };

  const set = (k: string, v: string) => {
    setValues((old) => ({ ...old, [k]: v }));
    setDirty((d) => new Set(d).add(k));
    setNotice(null);
  };

  const input = (f: FormField, coc: string, label: string) => {
    const k = key(f.dataElement, coc);
    const v = values[k] ?? "";
    const p = problems.get(k);
    const disabled = !form?.canEdit || busy;
    if (f.valueType === "boolean")
      return (
        <select aria-label={label} value={v} disabled={disabled} onChange={(e) => set(k, e.target.value)}>
          <option value="" />
          <option value="true">{t("indicators.yes")}</option>
          <option value="false">{t("indicators.no")}</option>
        </select>
      );
    return (
      <>
        <input
          aria-label={label}
          aria-invalid={p ? true : undefined}
          className={`ind-input${f.valueType === "text" ? " ind-input-text" : ""}`}
          inputMode={f.valueType === "text" ? "text" : "decimal"}
          value={v}
          disabled={disabled}
          onChange={(e) => set(k, e.target.value)}
        />
        {p && <div className="field-error">{p}</div>}
      </>
    );
  };

  if (!form)
    return (
      <div className="page">
        {error ? (
          <div className="alert alert-error" role="alert">
            <ErrorMessage error={error} />
          </div>
        ) : (
          <p className="muted">{t("common.loading")}</p>
        )}
      </div>
    );

  const s = form.submission;
  const cocColumns = [...new Set(form.fields.flatMap((f) => f.disaggregations.map((d) => d.id)))];
  const simple = cocColumns.length === 1 && cocColumns[0] === "default";
  return (
    <div className="page page-wide ind-page">
      <nav className="breadcrumb">
        <Link to="/indicators/forms">{t("indicators.formsTitle")}</Link>
      </nav>
      <header className="page-head">
        <div>
          <h1>{t("indicators.entryTitle", { form: pick(form.dataSet, lang), unit: pick(form.orgUnit, lang), period: form.period.id })}</h1>
          <p className="page-sub">
            <span className={`ind-state ind-state-${s.state}`}>{t(`indicators.state.${s.state}`)}</span> · {t("indicators.due")}:{" "}
            {formatDateTime(s.dueAt, lang)}
          </p>
        </div>
      </header>
      {s.state === "returned" && s.returnReason && (
        <div className="alert alert-warn">{t("indicators.returnedBecause", { by: s.returnedBy ?? "", reason: s.returnReason })}</div>
      )}
      {!form.canEdit && form.editProblem && (
        <div className="alert">
          {s.locked ? t("indicators.locked", { state: t(`indicators.state.${s.state}`) }) : t("indicators.cannotEdit", { reason: form.editProblem })}
        </div>
      )}
      {error ? (
        <div className="alert alert-error" role="alert">
          <ErrorMessage error={error} />
        </div>
      ) : null}
      {notice && (
        <div className="alert ind-ok" role="status">
          {notice}
        </div>
      )}
      {violations.length > 0 && (
        <div className="alert alert-warn ind-violations" role="alert" data-testid="violations">
          <strong>{t("indicators.violations")}</strong> — {t("indicators.violationsHint")}
          <ul>
            {violations.map((v) => (
              <li key={v.rule}>
                {lang === "en" ? v.messageEn : v.message} ({v.left} {v.operator} {v.right})
              </li>
            ))}
          </ul>
        </div>
      )}
      <section className="card table-card">
        <table className="table ind-entry" ref={tableRef} onKeyDown={onKeyDown}>
          <thead>
            <tr>
              <th>{t("indicators.elements")}</th>
              {simple ? (
                <th>{t("indicators.value")}</th>
              ) : (
                cocColumns.map((c) => {
                  const f = form.fields.find((x) => x.disaggregations.some((d) => d.id === c));
                  const d = f?.disaggregations.find((x) => x.id === c);
                  return <th key={c}>{c === "default" ? t("indicators.value") : d ? pick(d, lang) : c}</th>;
                })
              )}
            </tr>
          </thead>
          <tbody>
            {form.fields.map((f) => (
              <tr key={f.dataElement}>
                <th scope="row" className="ind-entry-label">
                  {pick(f, lang)}
                  {f.unit && <span className="ind-sub"> ({f.unit})</span>}
                </th>
                {(simple ? ["default"] : cocColumns).map((c) => (
                  <td key={c}>{f.disaggregations.some((d) => d.id === c) ? input(f, c, `${pick(f, lang)} ${c === "default" ? "" : c}`.trim()) : null}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <div className="ind-actions">
        {form.canEdit && (
          <>
            <button type="button" className="btn btn-secondary" disabled={busy || problems.size > 0 || dirty.size === 0} onClick={() => void save()}>
              {t("indicators.saveDraft")}
            </button>
            <button type="button" className="btn btn-primary" disabled={busy || problems.size > 0} onClick={() => void act("submit")}>
              {t("indicators.submit")}
            </button>
            {dirty.size > 0 && <span className="muted">{t("indicators.unsaved")}</span>}
          </>
        )}
        {form.canApprove && (
          <>
            <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void act("approve")}>
              {t("indicators.approve")}
            </button>
            <input
              className="ind-reason"
              placeholder={t("indicators.returnReason")}
              aria-label={t("indicators.returnReason")}
              value={reason}
              onChange={(e) => setReason(e.target.value)}
            />
            <button type="button" className="btn btn-secondary" disabled={busy || !reason.trim()} onClick={() => void act("return")}>
              {t("indicators.return")}
            </button>
          </>
        )}
      </div>
      {form.history.length > 0 && (
        <section className="card">
          <h2 className="section-title">{t("indicators.historyTitle")}</h2>
          <ul className="timeline">
            {form.history.map((h) => (
              <li key={`${h.at}-${h.action}`} className="timeline-item">
                {formatDateTime(h.at, lang)} — {t(`indicators.action.${h.action}`, { defaultValue: h.action })} · {h.actor}
                {h.reason && <div className="ind-sub">{h.reason}</div>}
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
