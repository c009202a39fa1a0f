// Report a problem in three steps: (1) photos, (2) the place from GPS or a tap on the map,
// (3) category, questions and description — with nearby open reports of the same category shown
// first, so the citizen can follow one instead of filing a duplicate.
import { type FormEvent, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, type LocateResult, api } from "../../shared/api";
import { formatDateTime } from "../../shared/format";
import { Link } from "../../shared/router";
import { ProvinceMap } from "../ProvinceMap";
import { type Category, type Report, type SubmitResult, categoryName, upload } from "./client";
import { rememberReport } from "./mine";
import "./reports.css";

type Place = { lat: number; lon: number; commune: string | null; outside: boolean };
type Nearby = Report & { distance: number };

function PhotoStep({ files, setFiles }: { files: File[]; setFiles: (f: File[]) => void }) {
  const { t } = useTranslation();
  const urls = useMemo(() => files.map((f) => URL.createObjectURL(f)), [files]);
  useEffect(
    () => () => {
      for (const u of urls) URL.revokeObjectURL(u);
    },
    [urls],
  );
  return (
    <>
      <h2>{t("reports.citizen.step1")}</h2>
      <p className="muted">{t("reports.citizen.step1Text")}</p>
      <div className="rp-photos">
        {files.map((_f, i) => (
          <div className="rp-photo" key={urls[i]}>
            <img src={urls[i]} alt="" />
            <button type="button" aria-label={t("reports.citizen.removePhoto")} onClick={() => setFiles(files.filter((_, j) => j !== i))}>
              ×
            </button>
          </div>
        ))}
      </div>
      {files.length < 5 && (
        <label className="rp-file">
          <input
            type="file"
            accept="image/jpeg,image/png,image/webp"
            capture="environment"
            multiple
            data-testid="photo-input"
            onChange={(e) => {
              setFiles([...files, ...(e.target.files ?? [])].slice(0, 5));
              e.target.value = "";
            }}
          />
          {t("reports.citizen.addPhoto")}
        </label>
      )}
    </>
  );
}

function PlaceStep({
  place,
  setPlace,
  address,
  setAddress,
}: {
  place: Place | null;
  setPlace: (p: Place) => void;
  address: string;
  setAddress: (a: string) => void;
}) {
  const { t, i18n } = useTranslation();
  const [locating, setLocating] = useState(false);
  const [name, setName] = useState<string | null>(null);
  const [gpsError, setGpsError] = useState<string | null>(null);
  const pick = async (lat: number, lon: number) => {
    setLocating(true);
    try {
      const r = await api<LocateResult>(`/api/geo/locate?lat=${lat.toFixed(6)}&lon=${lon.toFixed(6)}`);
      setName(i18n.language === "en" ? r.commune.fullNameEn || r.commune.fullName : r.commune.fullName);
      setPlace({ lat, lon, commune: r.commune.code, outside: false });
    } catch (err) {
      setName(null);
      setPlace({ lat, lon, commune: null, outside: err instanceof ApiError && err.status === 404 });
    } finally {
      setLocating(false);
    }
  };
  const gps = () => {
    setGpsError(null);
    if (!("geolocation" in navigator)) return setGpsError(t("citizen.geoUnsupported"));
    setLocating(true);
    navigator.geolocation.getCurrentPosition(
      (p) => void pick(p.coords.latitude, p.coords.longitude),
      () => {
        setLocating(false);
        setGpsError(t("citizen.geoUnavailable"));
      },
      { enableHighAccuracy: true, timeout: 15_000, maximumAge: 60_000 },
    );
  };
  return (
    <>
      <h2>{t("reports.citizen.step2")}</h2>
      <p className="muted">{t("reports.citizen.step2Text")}</p>
      <button type="button" className="btn btn-primary btn-block" onClick={gps} disabled={locating}>
        {locating ? t("reports.citizen.locating") : t("reports.citizen.useGps")}
      </button>
      <div aria-live="polite" className="result-slot">
        {place && !place.outside && name && (
          <div className="result result-ok" data-testid="report-place">
            {t("reports.citizen.in", { commune: name })}
            <div className="result-coords">
              {place.lat.toFixed(5)}, {place.lon.toFixed(5)}
            </div>
          </div>
        )}
        {place?.outside && <div className="result result-warn">{t("reports.citizen.outside")}</div>}
        {gpsError && <div className="result result-error">{gpsError}</div>}
      </div>
      <ProvinceMap picked={place} onPick={(lat, lon) => void pick(lat, lon)} />
      <label htmlFor="rp-address">{t("reports.citizen.address")}</label>
      <input id="rp-address" type="text" value={address} onChange={(e) => setAddress(e.target.value)} maxLength={500} />
    </>
  );
}

export function NewReport() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [step, setStep] = useState(1);
  const [files, setFiles] = useState<File[]>([]);
  const [place, setPlace] = useState<Place | null>(null);
  const [address, setAddress] = useState("");
  const [categories, setCategories] = useState<Category[]>([]);
  const [category, setCategory] = useState("");
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const [description, setDescription] = useState("");
  const [phone, setPhone] = useState("");
  const [email, setEmail] = useState("");
  const [nearby, setNearby] = useState<Nearby[]>([]);
  const [followed, setFollowed] = useState<Set<string>>(new Set());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<SubmitResult | null>(null);
  // One key per draft: a retry after a lost answer gives back the same report.
  const [draftKey] = useState(() => crypto.randomUUID());

  useEffect(() => {
    api<Category[]>("/api/reports/categories").then(setCategories, () => {});
  }, []);
  useEffect(() => {
    if (!category || !place || place.outside) return setNearby([]);
    api<Nearby[]>(`/api/reports/nearby?category=${encodeURIComponent(category)}&lat=${place.lat}&lon=${place.lon}`).then(setNearby, () => setNearby([]));
  }, [category, place]);

  const cat = categories.find((c) => c.code === category);
  const groups = [...new Set(categories.map((c) => c.group))];

  const follow = async (id: string) => {
    try {
      await api(`/api/reports/${id}/follow`, { method: "POST", body: email ? { email } : {} });
      setFollowed(new Set([...followed, id]));
    } catch (e) {
      setError(e instanceof ApiError ? (e.problem.detail ?? e.message) : String(e));
    }
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!place || place.outside) return setError(t("reports.citizen.needLocation"));
    setBusy(true);
    setError(null);
    const attributes = Object.fromEntries(Object.entries(answers).filter(([, v]) => v !== ""));
    const body = {
      category,
      description,
      lat: place.lat,
      lon: place.lon,
      channel: "app",
      ...(address.trim() ? { address: address.trim() } : {}),
      ...(Object.keys(attributes).length ? { attributes } : {}),
      ...(phone.trim() ? { phone: phone.trim() } : {}),
      ...(email.trim() ? { email: email.trim() } : {}),
    };
    try {
      const headers = { "idempotency-key": draftKey };
      const r = files.length
        ? await upload<SubmitResult>("/api/reports", "report", body, files, headers)
        : await (async () => {
            const res = await fetch("/api/reports", {
              method: "POST",
              headers: { "content-type": "application/json", accept: "application/json", ...headers },
              body: JSON.stringify(body),
            });
            const data = await res.json();
            if (!res.ok) throw new ApiError(res.status, { status: res.status, ...data }, null);
            return data as SubmitResult;
          })();
      if (r.trackingKey) rememberReport({ id: r.report.id, key: r.trackingKey });
      setDone(r);
    } catch (err) {
      setError(t("reports.citizen.error", { message: err instanceof ApiError ? (err.problem.detail ?? err.message) : String(err) }));
    } finally {
      setBusy(false);
    }
  };

  if (done)
    return (
      <section className="rp-card" data-testid="report-done">
        <h2>{t("reports.citizen.thanks")}</h2>
        <p>{t("reports.citizen.thanksText", { id: done.report.id, agency: done.report.agency, deadline: formatDateTime(done.report.deadlineAt, lang) })}</p>
        <p className="muted">{t("reports.citizen.keep")}</p>
        <Link to={`/app/reports/${done.report.id}`} className="btn btn-primary btn-block">
          {t("reports.citizen.view")}
        </Link>
      </section>
    );

  return (
    <form onSubmit={(e) => void submit(e)} data-testid="report-form">
      <Link to="/app/reports" className="btn-text">
        ← {t("reports.back")}
      </Link>
      <p className="muted small">{t("reports.citizen.step", { n: step })}</p>
      <div className="rp-steps" aria-hidden="true">
        {[1, 2, 3].map((n) => (
          <span key={n} className={n <= step ? "on" : ""} />
        ))}
      </div>
      <div className="rp-card">
        {step === 1 && <PhotoStep files={files} setFiles={setFiles} />}
        {step === 2 && <PlaceStep place={place} setPlace={setPlace} address={address} setAddress={setAddress} />}
        {step === 3 && (
          <>
            <h2>{t("reports.citizen.step3")}</h2>
            <label htmlFor="rp-category">{t("reports.citizen.category")}</label>
            <select id="rp-category" value={category} onChange={(e) => setCategory(e.target.value)} required>
              <option value="">{t("reports.citizen.chooseCategory")}</option>
              {groups.map((g) => (
                <optgroup key={g} label={t(`reports.groups.${g}`, { defaultValue: g })}>
                  {categories
                    .filter((c) => c.group === g)
                    .map((c) => (
                      <option key={c.code} value={c.code}>
                        {categoryName(c, lang)}
                      </option>
                    ))}
                </optgroup>
              ))}
            </select>
            {nearby.length > 0 && (
              <div className="rp-nearby" data-testid="nearby">
                <strong>{t("reports.citizen.nearby")}</strong>
                <div className="small">{t("reports.citizen.nearbyText")}</div>
                <ul>
                  {nearby.map((n) => (
                    <li key={n.id}>
                      <span>
                        #{n.id} · {t("reports.citizen.distance", { m: n.distance })}
                        <span className="rp-desc">{n.description}</span>
                      </span>
                      <button type="button" className="btn btn-secondary" disabled={followed.has(n.id)} onClick={() => void follow(n.id)}>
                        {followed.has(n.id) ? t("reports.citizen.following") : t("reports.citizen.follow")}
                      </button>
                    </li>
                  ))}
                </ul>
              </div>
            )}
            {cat?.attributes
              .filter((a) => a.variable !== false)
              .sort((a, b) => a.order - b.order)
              .map((a) => {
                const label = lang.startsWith("en") ? a.descriptionEn || a.description : a.description;
                const value = answers[a.code] ?? "";
                const set = (v: string) => setAnswers({ ...answers, [a.code]: v });
                return (
                  <div key={a.code}>
                    <label htmlFor={`rp-a-${a.code}`}>{label}</label>
                    {a.datatype === "singlevaluelist" || a.datatype === "multivaluelist" ? (
                      <select id={`rp-a-${a.code}`} value={value} onChange={(e) => set(e.target.value)} required={a.required}>
                        <option value="" />
                        {a.values?.map((v) => (
                          <option key={v.key} value={v.key}>
                            {lang.startsWith("en") ? v.nameEn || v.name : v.name}
                          </option>
                        ))}
                      </select>
                    ) : a.datatype === "text" ? (
                      <textarea id={`rp-a-${a.code}`} value={value} onChange={(e) => set(e.target.value)} required={a.required} />
                    ) : (
                      <input
                        id={`rp-a-${a.code}`}
                        type={a.datatype === "number" ? "number" : a.datatype === "datetime" ? "datetime-local" : "text"}
                        value={value}
                        onChange={(e) => set(a.datatype === "datetime" && e.target.value ? new Date(e.target.value).toISOString() : e.target.value)}
                        required={a.required}
                      />
                    )}
                  </div>
                );
              })}
            <label htmlFor="rp-description">{t("reports.citizen.description")}</label>
            <textarea id="rp-description" value={description} onChange={(e) => setDescription(e.target.value)} required maxLength={4000} />
            <p className="rp-label">{t("reports.citizen.contact")}</p>
            <input
              type="tel"
              placeholder={t("reports.phone")}
              aria-label={t("reports.phone")}
              value={phone}
              onChange={(e) => setPhone(e.target.value)}
              maxLength={20}
            />
            <div style={{ height: 8 }} />
            <input
              type="email"
              placeholder={t("reports.email")}
              aria-label={t("reports.email")}
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              maxLength={254}
            />
          </>
        )}
        {error && (
          <p className="result result-error" role="alert">
            {error}
          </p>
        )}
        <div className="rp-nav">
          {step > 1 && (
            <button type="button" className="btn btn-secondary" onClick={() => setStep(step - 1)}>
              {t("reports.citizen.prev")}
            </button>
          )}
          {step < 3 ? (
            <button
              type="button"
              className="btn btn-primary"
              data-testid="report-next"
              onClick={() => {
                if (step === 2 && (!place || place.outside)) return setError(t("reports.citizen.needLocation"));
                setError(null);
                setStep(step + 1);
              }}
            >
              {t("reports.citizen.next")}
            </button>
          ) : (
            <button type="submit" className="btn btn-primary" disabled={busy} data-testid="report-send">
              {busy ? t("reports.citizen.sending") : t("reports.citizen.send")}
            </button>
          )}
        </div>
      </div>
    </form>
  );
}
