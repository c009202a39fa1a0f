// The hotline entry form (/reports/new): an operator files what a citizen phoned in (1022), sent
// on Zalo or by email — by coordinates, or by address and commune.
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../shared/api";
import { Link } from "../../shared/router";
import { type SubmitResult, categoryName } from "../../app/reports/client";
import { FormError } from "../deviceParts";
import { useAgencyName } from "../useAgencyName";
import { useCommuneName } from "../useCommuneName";
import { useCategories } from "./parts";

export function HotlinePage() {
  const { t, i18n } = useTranslation();
  const categories = useCategories();
  const { units } = useCommuneName();
  const agencyName = useAgencyName();
  const [channel, setChannel] = useState("hotline");
  const [category, setCategory] = useState("");
  const [description, setDescription] = useState("");
  const [name, setName] = useState("");
  const [phone, setPhone] = useState("");
  const [email, setEmail] = useState("");
  const [address, setAddress] = useState("");
  const [commune, setCommune] = useState("");
  const [lat, setLat] = useState("");
  const [lon, setLon] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<SubmitResult | null>(null);
  const [key, setKey] = useState(() => crypto.randomUUID());

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const hasPoint = lat.trim() !== "" && lon.trim() !== "";
    try {
      const r = await api<SubmitResult>("/api/reports", {
        method: "POST",
        body: {
          category,
          description,
          channel,
          ...(hasPoint ? { lat: Number(lat), lon: Number(lon) } : {}),
          ...(address.trim() ? { address: address.trim() } : {}),
          ...(!hasPoint && commune ? { commune } : {}),
          ...(name.trim() ? { name: name.trim() } : {}),
          ...(phone.trim() ? { phone: phone.trim() } : {}),
          ...(email.trim() ? { email: email.trim() } : {}),
          clientKey: key,
        },
      });
      setResult(r);
      setKey(crypto.randomUUID());
      setDescription("");
      setAddress("");
      setLat("");
      setLon("");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>{t("reports.hotlineTitle")}</h1>
          <p className="page-sub">{t("reports.hotlineSub")}</p>
        </div>
      </header>
      {result && (
        <div className="alert" role="status" data-testid="hotline-result">
          {t("reports.submitted", { id: result.report.id, agency: agencyName(result.report.agency) })}{" "}
          <Link to={`/reports/${result.report.id}`}>#{result.report.id}</Link>
        </div>
      )}
      <form className="card report-form" onSubmit={(e) => void submit(e)}>
        <div className="row">
          <div className="field">
            <label htmlFor="h-channel">{t("reports.channel")}</label>
            <select id="h-channel" value={channel} onChange={(e) => setChannel(e.target.value)}>
              {["hotline", "zalo", "email"].map((c) => (
                <option key={c} value={c}>
                  {t(`reports.channels.${c}`)}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="h-category">{t("reports.category")}</label>
            <select id="h-category" value={category} onChange={(e) => setCategory(e.target.value)} required>
              <option value="" />
              {categories.map((c) => (
                <option key={c.code} value={c.code}>
                  {categoryName(c, i18n.language)}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="field">
          <label htmlFor="h-desc">{t("reports.description")}</label>
          <textarea id="h-desc" value={description} onChange={(e) => setDescription(e.target.value)} required maxLength={4000} />
        </div>
        <p className="muted small">{t("reports.locationHint")}</p>
        <div className="row">
          <div className="field">
            <label htmlFor="h-lat">{t("reports.lat")}</label>
            <input id="h-lat" inputMode="decimal" value={lat} onChange={(e) => setLat(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="h-lon">{t("reports.lon")}</label>
            <input id="h-lon" inputMode="decimal" value={lon} onChange={(e) => setLon(e.target.value)} />
          </div>
        </div>
        <div className="row">
          <div className="field">
            <label htmlFor="h-address">{t("reports.address")}</label>
            <input id="h-address" value={address} onChange={(e) => setAddress(e.target.value)} maxLength={500} />
          </div>
          <div className="field">
            <label htmlFor="h-commune">{t("reports.commune")}</label>
            <select id="h-commune" value={commune} onChange={(e) => setCommune(e.target.value)}>
              <option value="">{t("reports.chooseCommune")}</option>
              {units.map((u) => (
                <option key={u.code} value={u.code}>
                  {i18n.language.startsWith("en") ? u.fullNameEn || u.fullName : u.fullName}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="row">
          <div className="field">
            <label htmlFor="h-name">{t("reports.callerName")}</label>
            <input id="h-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />
          </div>
          <div className="field">
            <label htmlFor="h-phone">{t("reports.phone")}</label>
            <input id="h-phone" type="tel" value={phone} onChange={(e) => setPhone(e.target.value)} maxLength={20} />
          </div>
        </div>
        <div className="field">
          <label htmlFor="h-email">{t("reports.email")}</label>
          <input id="h-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} maxLength={254} />
        </div>
        {error ? (
          <div className="alert alert-error" role="alert">
            <FormError error={error} />
          </div>
        ) : null}
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {t("reports.submit")}
        </button>
      </form>
    </div>
  );
}
