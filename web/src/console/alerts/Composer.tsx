// The alert composer (/alerts/new, /alerts/:id/edit): a template per hazard fills the texts in
// Vietnamese and English; the area is picked on the map (communes, a polygon, a circle) and Sen
// lists every commune it touches; a preview shows what citizens will read in either language.
import { type FormEvent, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { type AdminUnit, ApiError, api } from "../../shared/api";
import { navigate } from "../../shared/router";
import { loadCommuneUnits } from "../data";
import { ErrorMessage } from "../pages/Misc";
import { AreaMap, type PickMode } from "./AreaMap";
import { AlertCard } from "./parts";
import { type Alert, CATEGORIES, CERTAINTIES, type Circle, HAZARDS, SEVERITIES, type Template, URGENCIES } from "./types";

interface Texts {
  event: string;
  headline: string;
  description: string;
  instruction: string;
}

const blank: Texts = { event: "", headline: "", description: "", instruction: "" };

/** datetime-local value in Vietnam's time for an instant. */
const toLocalInput = (iso: string | null) => (iso ? new Date(new Date(iso).getTime() + 7 * 3_600_000).toISOString().slice(0, 16) : "");
const fromLocalInput = (v: string) => (v ? new Date(`${v}:00+07:00`).toISOString() : null);

export function Composer({ id }: { id?: string }) {
  const { t, i18n } = useTranslation();
  const [templates, setTemplates] = useState<Record<string, Template> | null>(null);
  const [units, setUnits] = useState<AdminUnit[]>([]);
  const [loaded, setLoaded] = useState<Alert | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [hazard, setHazard] = useState("flood");
  const [severity, setSeverity] = useState("Severe");
  const [urgency, setUrgency] = useState("Expected");
  const [certainty, setCertainty] = useState("Likely");
  const [categories, setCategories] = useState<string[]>(["Met"]);
  const [status, setStatus] = useState("Actual");
  const [expires, setExpires] = useState(toLocalInput(new Date(Date.now() + 24 * 3_600_000).toISOString()));
  const [vi, setVi] = useState<Texts>(blank);
  const [en, setEn] = useState<Texts>(blank);
  const [chosen, setChosen] = useState<string[]>([]);
  const [polygons, setPolygons] = useState<Array<Array<[number, number]>>>([]);
  const [circles, setCircles] = useState<Circle[]>([]);
  const [drawing, setDrawing] = useState<Array<[number, number]>>([]);
  const [mode, setMode] = useState<PickMode>("communes");
  const [radius, setRadius] = useState("5");
  const [touched, setTouched] = useState<Array<{ code: string; name: string; nameEn: string }>>([]);
  const [preview, setPreview] = useState<"vi" | "en">("vi");
  const [addCode, setAddCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api<Record<string, Template>>("/api/alerts/templates").then(setTemplates, setLoadError);
    loadCommuneUnits().then(setUnits, () => undefined);
  }, []);

  // Editing: start from the draft as it is.
  useEffect(() => {
    if (!id) return;
    api<Alert>(`/api/alerts/${id}`).then((a) => {
      setLoaded(a);
      setHazard(a.hazard);
      setSeverity(a.severity);
      setUrgency(a.urgency);
      setCertainty(a.certainty);
      setCategories(a.categories);
      setStatus(a.status);
      setExpires(toLocalInput(a.expires));
      const pick = (lang: string): Texts => {
        const i = a.infos.find((x) => x.language.startsWith(lang));
        return i ? { event: i.event, headline: i.headline, description: i.description, instruction: i.instruction ?? "" } : blank;
      };
      setVi(pick("vi"));
      setEn(pick("en"));
      setChosen(a.area.communes);
      setPolygons(a.area.polygons.map((p) => p.slice(0, -1) as Array<[number, number]>));
      setCircles(a.area.circles);
    }, setLoadError);
  }, [id]);

  const names = useMemo(() => new Map(units.map((u) => [u.code, u])), [units]);

  // Sen says which communes the area touches.
  useEffect(() => {
    if (!chosen.length && !polygons.length && !circles.length) {
      setTouched([]);
      return;
    }
    const timer = setTimeout(() => {
      api<Array<{ code: string; name: string; nameEn: string }>>("/api/alerts/area", { method: "POST", body: { communes: chosen, polygons, circles } }).then(
        setTouched,
        () => undefined,
      );
    }, 250);
    return () => clearTimeout(timer);
  }, [chosen, polygons, circles]);

  const areaText = (lang: "vi" | "en") => touched.map((c) => (lang === "vi" ? c.name : c.nameEn)).join(", ");

  const applyTemplate = (h: string) => {
    setHazard(h);
    const tpl = templates?.[h];
    if (!tpl) return;
    setSeverity(tpl.severity);
    setUrgency(tpl.urgency);
    setCertainty(tpl.certainty);
    setCategories(tpl.categories);
    setExpires(toLocalInput(new Date(Date.now() + tpl.expiresHours * 3_600_000).toISOString()));
    const fill = (s: string, lang: "vi" | "en") => s.replace("{area}", areaText(lang) || "{area}");
    setVi({ event: tpl.vi.event, headline: fill(tpl.vi.headline, "vi"), description: fill(tpl.vi.description, "vi"), instruction: tpl.vi.instruction });
    setEn({ event: tpl.en.event, headline: fill(tpl.en.headline, "en"), description: fill(tpl.en.description, "en"), instruction: tpl.en.instruction });
  };

  const toggleCommune = (code: string) => setChosen((c) => (c.includes(code) ? c.filter((x) => x !== code) : [...c, code]));
  const onPoint = (lat: number, lon: number) => {
    if (mode === "polygon") setDrawing((d) => [...d, [lat, lon]]);
    else if (mode === "circle") {
      const r = Number(radius);
      if (r > 0 && r <= 200) setCircles((c) => [...c, { lat: Math.round(lat * 1e5) / 1e5, lon: Math.round(lon * 1e5) / 1e5, radiusKm: r }]);
    }
  };
  const finishPolygon = () => {
    if (drawing.length >= 3) setPolygons((p) => [...p, drawing.map(([a, b]) => [Math.round(a * 1e5) / 1e5, Math.round(b * 1e5) / 1e5] as [number, number])]);
    setDrawing([]);
  };

  const body = () => {
    const info = (language: "vi" | "en", x: Texts) => ({
      language,
      event: x.event,
      headline: x.headline,
      ...(x.description ? { description: x.description } : {}),
      ...(x.instruction ? { instruction: x.instruction } : {}),
    });
    const infos = [info("vi", vi), ...(en.headline.trim() ? [info("en", en)] : [])];
    return {
      hazard,
      status,
      severity,
      urgency,
      certainty,
      categories,
      expires: fromLocalInput(expires),
      infos,
      area: { communes: chosen, polygons, circles },
    };
  };

  const save = async (submit: boolean) => {
    setBusy(true);
    setError(null);
    try {
      const saved = loaded
        ? await api<Alert>(`/api/alerts/${loaded.id}`, { method: "PATCH", body: { ...body(), version: loaded.version } })
        : await api<Alert>("/api/alerts", { method: "POST", body: body() });
      if (submit) await api<Alert>(`/api/alerts/${saved.id}/submit`, { method: "POST" });
      navigate(`/alerts/${saved.id}`);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void save(true);
  };

  if (loadError) return <ErrorMessage error={loadError} />;

  const previewAlert = {
    severity: severity as Alert["severity"],
    msgType: loaded?.msgType ?? "Alert",
    status,
    expires: fromLocalInput(expires),
    sent: null,
    senderName: loaded?.senderName ?? "",
    area: { description: areaText(preview) },
    infos: [
      { language: "vi-VN", ...vi },
      { language: "en-US", ...en },
    ],
  };

  const textFields = (lang: "vi" | "en", x: Texts, set: (v: Texts) => void) => (
    <fieldset className="alert-lang" lang={lang}>
      <legend>{t(lang === "vi" ? "alerts.textVi" : "alerts.textEn")}</legend>
      <label className="field">
        <span>{t("alerts.event")}</span>
        <input value={x.event} maxLength={200} required={lang === "vi"} onChange={(e) => set({ ...x, event: e.target.value })} name={`${lang}-event`} />
      </label>
      <label className="field">
        <span>{t("alerts.headline")}</span>
        <input
          value={x.headline}
          maxLength={400}
          required={lang === "vi"}
          onChange={(e) => set({ ...x, headline: e.target.value })}
          name={`${lang}-headline`}
        />
      </label>
      <label className="field">
        <span>{t("alerts.description")}</span>
        <textarea rows={4} value={x.description} maxLength={8000} onChange={(e) => set({ ...x, description: e.target.value })} name={`${lang}-description`} />
      </label>
      <label className="field">
        <span>{t("alerts.instruction")}</span>
        <textarea rows={3} value={x.instruction} maxLength={4000} onChange={(e) => set({ ...x, instruction: e.target.value })} name={`${lang}-instruction`} />
      </label>
    </fieldset>
  );

  const select = (label: string, value: string, set: (v: string) => void, options: readonly string[], prefix: string, name: string) => (
    <label className="field">
      <span>{t(label)}</span>
      <select value={value} onChange={(e) => set(e.target.value)} name={name}>
        {options.map((o) => (
          <option key={o} value={o}>
            {t(`${prefix}.${o}`)}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <div className="page page-wide">
      <div className="page-head">
        <div>
          <h1>{loaded ? t(loaded.msgType === "Update" ? "alerts.editUpdate" : "alerts.editTitle") : t("alerts.newTitle")}</h1>
          <p className="page-sub">{t("alerts.composerSub")}</p>
        </div>
      </div>
      <form className="alert-composer" onSubmit={onSubmit}>
        <section className="card">
          <h2 className="section-title">{t("alerts.hazardAndCodes")}</h2>
          <div className="form-grid">
            <label className="field">
              <span>{t("alerts.template")}</span>
              <select value={hazard} onChange={(e) => applyTemplate(e.target.value)} name="hazard">
                {HAZARDS.map((h) => (
                  <option key={h} value={h}>
                    {t(`alerts.hazard.${h}`)}
                  </option>
                ))}
              </select>
            </label>
            {select("alerts.severityLabel", severity, setSeverity, SEVERITIES, "alerts.severity", "severity")}
            {select("alerts.urgencyLabel", urgency, setUrgency, URGENCIES, "alerts.urgency", "urgency")}
            {select("alerts.certaintyLabel", certainty, setCertainty, CERTAINTIES, "alerts.certainty", "certainty")}
            {select("alerts.categoryLabel", categories[0] ?? "Met", (v) => setCategories([v]), CATEGORIES, "alerts.category", "category")}
            {select("alerts.statusLabel", status, setStatus, ["Actual", "Exercise", "Test"], "alerts.status", "status")}
            <label className="field">
              <span>{t("alerts.expires")}</span>
              <input type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} name="expires" />
            </label>
          </div>
          <p className="page-sub">{t("alerts.templateHint")}</p>
        </section>

        <section className="card">
          <h2 className="section-title">{t("alerts.area")}</h2>
          <fieldset className="segmented" aria-label={t("alerts.pickMode")}>
            {(["communes", "polygon", "circle"] as const).map((m) => (
              <button key={m} type="button" className={mode === m ? "active" : ""} aria-pressed={mode === m} onClick={() => setMode(m)}>
                {t(`alerts.mode.${m}`)}
              </button>
            ))}
          </fieldset>
          <div className="alert-area-tools">
            {mode === "polygon" && (
              <>
                <span>{t("alerts.polygonHint", { count: drawing.length })}</span>
                <button type="button" className="btn btn-sm" disabled={drawing.length < 3} onClick={finishPolygon}>
                  {t("alerts.finishPolygon")}
                </button>
              </>
            )}
            {mode === "circle" && (
              <label className="inline-form">
                {t("alerts.radius")}
                <input type="number" min="0.1" max="200" step="0.1" value={radius} onChange={(e) => setRadius(e.target.value)} style={{ width: 80 }} />
                {t("alerts.circleHint")}
              </label>
            )}
            {mode === "communes" && (
              <span className="inline-form">
                <select value={addCode} onChange={(e) => setAddCode(e.target.value)} aria-label={t("alerts.addCommune")} name="commune">
                  <option value="">{t("alerts.addCommune")}</option>
                  {units
                    .filter((u) => !chosen.includes(u.code))
                    .map((u) => (
                      <option key={u.code} value={u.code}>
                        {i18n.language === "en" ? u.nameEn : u.name} ({u.code})
                      </option>
                    ))}
                </select>
                <button
                  type="button"
                  className="btn btn-sm"
                  disabled={!addCode}
                  onClick={() => {
                    toggleCommune(addCode);
                    setAddCode("");
                  }}
                >
                  {t("alerts.add")}
                </button>
              </span>
            )}
            {(polygons.length > 0 || circles.length > 0) && (
              <button
                type="button"
                className="btn btn-sm"
                onClick={() => {
                  setPolygons([]);
                  setCircles([]);
                  setDrawing([]);
                }}
              >
                {t("alerts.clearShapes")}
              </button>
            )}
          </div>
          <AreaMap
            chosen={chosen}
            touched={touched.map((c) => c.code)}
            polygons={polygons}
            circles={circles}
            drawing={drawing}
            mode={mode}
            onCommune={toggleCommune}
            onPoint={onPoint}
          />
          <div className="alert-chips" aria-live="polite" data-testid="alert-touched">
            <strong>{t("alerts.touched", { count: touched.length })}</strong>{" "}
            {touched.map((c) => (
              <span key={c.code} className={`filter-chip ${chosen.includes(c.code) ? "chip-chosen" : ""}`}>
                {i18n.language === "en" ? c.nameEn : c.name}
                {chosen.includes(c.code) && (
                  <button
                    type="button"
                    className="chip-x"
                    aria-label={t("alerts.remove", { name: names.get(c.code)?.name ?? c.code })}
                    onClick={() => toggleCommune(c.code)}
                  >
                    ×
                  </button>
                )}
              </span>
            ))}
          </div>
        </section>

        <section className="card alert-texts">
          {textFields("vi", vi, setVi)}
          {textFields("en", en, setEn)}
        </section>

        <section className="card">
          <div className="card-head">
            <h2 className="section-title">{t("alerts.preview")}</h2>
            <fieldset className="segmented" aria-label={t("alerts.preview")}>
              {(["vi", "en"] as const).map((l) => (
                <button key={l} type="button" className={preview === l ? "active" : ""} aria-pressed={preview === l} onClick={() => setPreview(l)}>
                  {l === "vi" ? "Tiếng Việt" : "English"}
                </button>
              ))}
            </fieldset>
          </div>
          <AlertCard alert={previewAlert} lang={preview} />
        </section>

        {error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
        <div className="panel-actions">
          <button type="button" className="btn" disabled={busy} onClick={() => void save(false)}>
            {t("alerts.saveDraft")}
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {t("alerts.saveSubmit")}
          </button>
        </div>
      </form>
    </div>
  );
}
