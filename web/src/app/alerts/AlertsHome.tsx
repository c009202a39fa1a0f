// Warnings in the citizen app (/app/alerts): my places (communes followed on this device), the
// warnings in force there first, the rest of the province after, and subscription settings
// (push notifications on this device, email) for signed-in citizens.
import { type FormEvent, useCallback, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { type AdminUnit, ApiError, type LocateResult, type Me, api } from "../../shared/api";
import { formatDateTime } from "../../shared/format";
import { Link } from "../../shared/router";
import { type Alert, CATEGORIES, infoIn } from "../../console/alerts/types";
import { setPlaces, usePlaces } from "./places";

interface Sub {
  id: string;
  channel: string;
  target: Record<string, string>;
  communes: string[];
  categories: string[];
  minSeverity: string;
}

function AlertItem({ a, lang }: { a: Alert; lang: "vi" | "en" }) {
  const { t } = useTranslation();
  const info = infoIn(a, lang);
  return (
    <li>
      <Link to={`/app/alerts/${a.id}`} className={`citizen-alert citizen-alert-${a.severity.toLowerCase()}`}>
        <span className="citizen-alert-sev">
          {t(`alerts.severity.${a.severity}`)}
          {a.msgType !== "Alert" && ` · ${t(`alerts.msgType.${a.msgType}`)}`}
        </span>
        <span className="citizen-alert-headline">{info?.headline}</span>
        <span className="citizen-alert-meta">
          {a.senderName} · {formatDateTime(a.sent, lang)}
        </span>
      </Link>
    </li>
  );
}

const urlB64 = (s: string) => {
  const pad = "=".repeat((4 - (s.length % 4)) % 4);
  const raw = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
};

function Subscriptions({ places }: { places: string[] }) {
  const { t } = useTranslation();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [subs, setSubs] = useState<Sub[]>([]);
  const [email, setEmail] = useState("");
  const [category, setCategory] = useState("");
  const [minSeverity, setMinSeverity] = useState("Moderate");
  const [msg, setMsg] = useState<string | null>(null);
  const [login, setLogin] = useState({ username: "", password: "" });

  const load = useCallback(
    () =>
      api<Me>("/api/auth/me").then(
        (m) => {
          setMe(m);
          api<Sub[]>("/api/alerts/subscriptions").then(setSubs, () => undefined);
        },
        () => setMe(null),
      ),
    [],
  );
  useEffect(() => void load(), [load]);

  const subscribe = async (channel: "webpush" | "email", target: Record<string, unknown>) => {
    setMsg(null);
    if (!places.length) {
      setMsg(t("alerts.app.needPlace"));
      return;
    }
    try {
      await api("/api/alerts/subscriptions", {
        method: "POST",
        body: {
          channel,
          target,
          communes: places,
          categories: category ? [category] : [],
          minSeverity,
          language: document.documentElement.lang === "en" ? "en" : "vi",
        },
      });
      setMsg(t("alerts.app.saved"));
      setEmail("");
      void load();
    } catch (err) {
      setMsg(err instanceof ApiError ? err.message : String(err));
    }
  };

  const enablePush = async () => {
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
      setMsg(t("alerts.app.pushUnsupported"));
      return;
    }
    try {
      const { publicKey } = await api<{ publicKey: string }>("/api/alerts/push-key");
      const reg = await navigator.serviceWorker.ready;
      const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: urlB64(publicKey) });
      await subscribe("webpush", sub.toJSON() as Record<string, unknown>);
    } catch {
      setMsg(Notification.permission === "denied" ? t("alerts.app.pushDenied") : t("alerts.app.pushUnsupported"));
    }
  };

  const signIn = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await api("/api/auth/login", { method: "POST", body: login });
      void load();
    } catch (err) {
      setMsg(err instanceof ApiError ? err.message : String(err));
    }
  };

  if (me === undefined) return null;
  return (
    <section className="feature" aria-labelledby="alerts-subscribe">
      <h2 id="alerts-subscribe">{t("alerts.app.subscribe")}</h2>
      {!me ? (
        <form className="citizen-form" onSubmit={signIn}>
          <p>{t("alerts.app.subscribeHint")}</p>
          <input
            autoComplete="username"
            value={login.username}
            onChange={(e) => setLogin({ ...login, username: e.target.value })}
            aria-label="username"
            required
          />
          <input
            type="password"
            autoComplete="current-password"
            value={login.password}
            onChange={(e) => setLogin({ ...login, password: e.target.value })}
            aria-label="password"
            required
          />
          <button type="submit" className="btn btn-primary">
            {t("alerts.app.signIn")}
          </button>
        </form>
      ) : (
        <div className="citizen-form">
          <label>
            {t("alerts.app.kinds")}
            <select value={category} onChange={(e) => setCategory(e.target.value)}>
              <option value="">{t("alerts.app.allKinds")}</option>
              {CATEGORIES.slice(0, 5).map((c) => (
                <option key={c} value={c}>
                  {t(`alerts.category.${c}`)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("alerts.app.minSeverity")}
            <select value={minSeverity} onChange={(e) => setMinSeverity(e.target.value)}>
              {["Extreme", "Severe", "Moderate", "Minor"].map((s) => (
                <option key={s} value={s}>
                  {t(`alerts.severity.${s}`)}
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="btn btn-secondary" onClick={() => void enablePush()}>
            {t("alerts.app.pushOn")}
          </button>
          <form
            className="citizen-inline"
            onSubmit={(e) => {
              e.preventDefault();
              void subscribe("email", { email });
            }}
          >
            <input
              type="email"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              placeholder={t("alerts.app.email")}
              aria-label={t("alerts.app.email")}
              required
            />
            <button type="submit" className="btn btn-secondary">
              {t("alerts.app.emailAdd")}
            </button>
          </form>
          <h3>{t("alerts.app.mySubs")}</h3>
          {subs.length === 0 ? (
            <p>{t("alerts.app.noSubs")}</p>
          ) : (
            <ul className="citizen-subs" data-testid="my-subscriptions">
              {subs.map((s) => (
                <li key={s.id}>
                  <span>
                    {t(`alerts.channel.${s.channel}`)}
                    {s.target.email ? ` · ${s.target.email}` : ""} · {s.communes.length} ·{" "}
                    {s.categories.length ? s.categories.map((c) => t(`alerts.category.${c}`)).join(", ") : t("alerts.app.allKinds")}
                  </span>
                  <button type="button" className="btn btn-link" onClick={() => void api(`/api/alerts/subscriptions/${s.id}`, { method: "DELETE" }).then(load)}>
                    {t("alerts.app.remove")}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {msg && (
        <p className="citizen-msg" role="status">
          {msg}
        </p>
      )}
    </section>
  );
}

export function AlertsHome() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language === "en" ? "en" : "vi";
  const places = usePlaces();
  const [units, setUnits] = useState<AdminUnit[]>([]);
  const [alerts, setAlerts] = useState<Alert[] | null>(null);
  const [error, setError] = useState(false);

  useEffect(() => {
    api<AdminUnit[]>("/api/geo/units?parent=82&limit=500").then(setUnits, () => undefined);
    api<Alert[]>("/api/alerts?current=true&limit=200").then(setAlerts, () => setError(true));
  }, []);

  const names = useMemo(() => new Map(units.map((u) => [u.code, lang === "en" ? u.nameEn : u.name])), [units, lang]);
  const mine = (alerts ?? []).filter((a) => a.communes.some((c) => places.includes(c)));
  const others = (alerts ?? []).filter((a) => !mine.includes(a));

  const locate = () =>
    navigator.geolocation?.getCurrentPosition((p) =>
      api<LocateResult>(`/api/geo/locate?lat=${p.coords.latitude.toFixed(6)}&lon=${p.coords.longitude.toFixed(6)}`).then(
        (r) => setPlaces([...places, r.commune.code]),
        () => undefined,
      ),
    );

  return (
    <div className="citizen-alerts">
      <section className="hero">
        <h1>{t("alerts.app.title")}</h1>
        <p>{t("alerts.app.sub")}</p>
      </section>
      <section className="feature" aria-labelledby="alerts-places">
        <h2 id="alerts-places">{t("alerts.app.myPlaces")}</h2>
        <p>{t("alerts.app.myPlacesHint")}</p>
        <div className="citizen-places">
          {places.map((c) => (
            <span key={c} className="citizen-place">
              {names.get(c) ?? c}
              <button type="button" aria-label={`${t("alerts.app.remove")} ${names.get(c) ?? c}`} onClick={() => setPlaces(places.filter((x) => x !== c))}>
                ×
              </button>
            </span>
          ))}
        </div>
        <div className="citizen-inline">
          <select
            value=""
            onChange={(e) => e.target.value && setPlaces([...places, e.target.value])}
            aria-label={t("alerts.app.choose")}
            data-testid="place-select"
          >
            <option value="">{t("alerts.app.choose")}</option>
            {units
              .filter((u) => !places.includes(u.code))
              .map((u) => (
                <option key={u.code} value={u.code}>
                  {lang === "en" ? u.nameEn : u.name}
                </option>
              ))}
          </select>
          <button type="button" className="btn btn-secondary" onClick={locate}>
            {t("alerts.app.useLocation")}
          </button>
        </div>
      </section>
      {error && <p className="result result-error">{t("alerts.app.error")}</p>}
      {alerts === null && !error ? (
        <p>{t("alerts.app.loading")}</p>
      ) : (
        <>
          <section aria-labelledby="alerts-mine">
            <h2 id="alerts-mine" className="section-title">
              {t("alerts.app.forMyPlaces")}
            </h2>
            {mine.length ? (
              <ul className="citizen-alert-list" data-testid="alerts-mine">
                {mine.map((a) => (
                  <AlertItem key={a.id} a={a} lang={lang} />
                ))}
              </ul>
            ) : (
              <p>{places.length ? t("alerts.app.noneHere") : t("alerts.app.myPlacesHint")}</p>
            )}
          </section>
          <section aria-labelledby="alerts-others">
            <h2 id="alerts-others" className="section-title">
              {t("alerts.app.elsewhere")}
            </h2>
            {others.length ? (
              <ul className="citizen-alert-list">
                {others.map((a) => (
                  <AlertItem key={a.id} a={a} lang={lang} />
                ))}
              </ul>
            ) : (
              <p>{t(mine.length ? "alerts.app.noneElsewhere" : "alerts.app.none")}</p>
            )}
          </section>
        </>
      )}
      <Subscriptions places={places} />
    </div>
  );
}
