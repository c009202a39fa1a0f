// The citizen app's home screen: upcoming services, and "my commune" (point → commune lookup).
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, api, type LocateResult } from "../shared/api";
import { LanguageSwitch } from "../shared/LanguageSwitch";
import { Logo } from "../shared/Logo";
import { Link, useLocation } from "../shared/router";
import { CITIZEN_MODULES } from "./modules";
import { ProvinceMap } from "./ProvinceMap";

type Lookup =
  | { status: "idle" }
  | { status: "locating" }
  | { status: "found"; result: LocateResult; lat: number; lon: number }
  | { status: "outside"; lat: number; lon: number }
  | { status: "error"; key: string };

interface BeforeInstallPromptEvent extends Event {
  prompt: () => Promise<void>;
}

const SERVICES = [
  { key: "report", icon: "M4 4h16v12H8l-4 4V4zM8 9h8M8 12h5" },
  { key: "warnings", icon: "M12 3 2 20h20L12 3zM12 10v4M12 17h.01" },
  { key: "openData", icon: "M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3zM4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3" },
  { key: "dossier", icon: "M6 3h9l4 4v14H6zM14 3v5h5M9 12h7M9 16h5" },
] as const;

function useOnline(): boolean {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const on = () => setOnline(true);
    const off = () => setOnline(false);
    window.addEventListener("online", on);
    window.addEventListener("offline", off);
    return () => {
      window.removeEventListener("online", on);
      window.removeEventListener("offline", off);
    };
  }, []);
  return online;
}

function MyCommune() {
  const { t, i18n } = useTranslation();
  const [lookup, setLookup] = useState<Lookup>({ status: "idle" });
  const en = i18n.language === "en";

  const locate = async (lat: number, lon: number) => {
    setLookup({ status: "locating" });
    try {
      const result = await api<LocateResult>(`/api/geo/locate?lat=${lat.toFixed(6)}&lon=${lon.toFixed(6)}`);
      setLookup({ status: "found", result, lat, lon });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setLookup({ status: "outside", lat, lon });
      else setLookup({ status: "error", key: "citizen.lookupError" });
    }
  };

  const locateMe = () => {
    if (!("geolocation" in navigator)) {
      setLookup({ status: "error", key: "citizen.geoUnsupported" });
      return;
    }
    setLookup({ status: "locating" });
    navigator.geolocation.getCurrentPosition(
      (pos) => void locate(pos.coords.latitude, pos.coords.longitude),
      (err) =>
        setLookup({
          status: "error",
          key: err.code === err.PERMISSION_DENIED ? "citizen.geoDenied" : err.code === err.TIMEOUT ? "citizen.geoTimeout" : "citizen.geoUnavailable",
        }),
      { enableHighAccuracy: true, timeout: 15_000, maximumAge: 60_000 },
    );
  };

  const picked = lookup.status === "found" || lookup.status === "outside" ? { lat: lookup.lat, lon: lookup.lon } : null;
  const coords = picked ? t("citizen.coordinates", { lat: picked.lat.toFixed(5), lon: picked.lon.toFixed(5) }) : "";

  return (
    <section className="feature" aria-labelledby="my-commune-title">
      <div className="feature-head">
        <h2 id="my-commune-title">{t("citizen.myCommune")}</h2>
        <p>{t("citizen.myCommuneText")}</p>
      </div>
      <button type="button" className="btn btn-primary btn-block btn-lg" onClick={locateMe} disabled={lookup.status === "locating"}>
        <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true">
          <path d="M12 21s-7-6.1-7-11.5a7 7 0 0 1 14 0C19 14.9 12 21 12 21z" />
          <circle cx="12" cy="9.5" r="2.5" />
        </svg>
        {lookup.status === "locating" ? t("citizen.locating") : t("citizen.useLocation")}
      </button>
      <div aria-live="polite" className="result-slot">
        {lookup.status === "found" && (
          <div className="result result-ok" data-testid="my-commune-result">
            <div className="result-label">{t("citizen.youAreIn")}</div>
            <div className="result-name">{en ? lookup.result.commune.fullNameEn || lookup.result.commune.fullName : lookup.result.commune.fullName}</div>
            <div className="result-sub">
              {en ? lookup.result.province.fullNameEn || lookup.result.province.fullName : lookup.result.province.fullName}
              {" · "}
              {t("citizen.code", { code: lookup.result.commune.code })}
            </div>
            <div className="result-coords">{coords}</div>
          </div>
        )}
        {lookup.status === "outside" && (
          <div className="result result-warn">
            {t("citizen.outside")}
            <div className="result-coords">{coords}</div>
          </div>
        )}
        {lookup.status === "error" && (
          <div className="result result-error" role="alert">
            {t(lookup.key)}
          </div>
        )}
      </div>
      <p className="map-note">{t("citizen.tapMap")}</p>
      <ProvinceMap picked={picked} onPick={(lat, lon) => void locate(lat, lon)} />
    </section>
  );
}

export function App() {
  const { t } = useTranslation();
  const online = useOnline();
  const [installEvent, setInstallEvent] = useState<BeforeInstallPromptEvent | null>(null);

  useEffect(() => {
    document.title = t("citizen.title");
  }, [t]);

  useEffect(() => {
    const onPrompt = (e: Event) => {
      e.preventDefault();
      setInstallEvent(e as BeforeInstallPromptEvent);
    };
    window.addEventListener("beforeinstallprompt", onPrompt);
    return () => window.removeEventListener("beforeinstallprompt", onPrompt);
  }, []);

  const { pathname } = useLocation();
  const active = CITIZEN_MODULES.find((m) => pathname === m.path || pathname.startsWith(`${m.path}/`));

  return (
    <div className="app">
      <header className="app-bar">
        <Logo size={34} />
        <div className="app-title">{t("citizen.title")}</div>
        <LanguageSwitch />
      </header>
      {!online && (
        <div className="offline" role="status">
          {t("citizen.offline")}
        </div>
      )}
      {active ? (
        <main className="app-main">{active.screen(pathname)}</main>
      ) : (
        <main className="app-main">
          {CITIZEN_MODULES.map((m) => (m.home ? <div key={m.path}>{m.home()}</div> : null))}
          <section className="hero">
            <h1>{t("citizen.greeting")}</h1>
            <p>{t("citizen.intro")}</p>
            {installEvent && (
              <button
                type="button"
                className="btn btn-secondary"
                onClick={async () => {
                  await installEvent.prompt();
                  setInstallEvent(null);
                }}
              >
                {t("citizen.install")}
              </button>
            )}
          </section>

          <MyCommune />

          <section aria-labelledby="services-title">
            <h2 id="services-title" className="section-title">
              {t("citizen.services")}
            </h2>
            <ul className="services">
              {SERVICES.map((s) => {
                const module = CITIZEN_MODULES.find((m) => m.service === s.key);
                const body = (
                  <>
                    <span className="service-icon" aria-hidden="true">
                      <svg
                        width="22"
                        height="22"
                        viewBox="0 0 24 24"
                        fill="none"
                        stroke="currentColor"
                        strokeWidth="1.8"
                        strokeLinecap="round"
                        strokeLinejoin="round"
                        aria-hidden="true"
                      >
                        <path d={s.icon} />
                      </svg>
                    </span>
                    <span className="service-body">
                      <span className="service-name">{t(`citizen.${s.key}`)}</span>
                      <span className="service-text">{t(`citizen.${s.key}Text`)}</span>
                    </span>
                    {!module && <span className="soon">{t("citizen.comingSoon")}</span>}
                  </>
                );
                return module ? (
                  <li key={s.key}>
                    <Link to={module.path} className="service service-link">
                      {body}
                    </Link>
                  </li>
                ) : (
                  <li key={s.key} className="service" aria-disabled="true">
                    {body}
                  </li>
                );
              })}
            </ul>
          </section>
        </main>
      )}
      <footer className="app-foot">{t("citizen.footer")}</footer>
    </div>
  );
}
