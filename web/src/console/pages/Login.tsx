// The sign-in page (/login). After signing in the user goes where they were heading (?next=…).
import { type FormEvent, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, NetworkError } from "../../shared/api";
import { formatDateTime } from "../../shared/format";
import { LanguageSwitch } from "../../shared/LanguageSwitch";
import { Logo } from "../../shared/Logo";
import { useAuth } from "../auth";

type LoginError = { key: string; values?: Record<string, string | number>; requestId?: string };

function describe(err: unknown): LoginError {
  if (err instanceof NetworkError) return { key: "common.networkError" };
  if (!(err instanceof ApiError)) return { key: "common.error" };
  const requestId = typeof err.problem.requestId === "string" ? err.problem.requestId : undefined;
  switch (err.status) {
    case 400:
      return { key: "login.required", requestId };
    case 401:
      return { key: "login.wrongCredentials" };
    case 423: {
      const until = typeof err.problem.lockedUntil === "string" ? err.problem.lockedUntil : /(\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(err.problem.detail ?? "")?.[1];
      return until ? { key: "login.locked", values: { until } } : { key: "login.lockedNoTime" };
    }
    case 429: {
      const seconds = err.retryAfter ?? Number(/(\d+)\s*s\b/.exec(err.problem.detail ?? "")?.[1] ?? Number.NaN);
      return Number.isFinite(seconds) ? { key: "login.tooMany", values: { seconds } } : { key: "login.tooManyNoTime" };
    }
    default:
      return { key: "login.failed", values: { status: err.status }, requestId };
  }
}

export function LoginPage() {
  const { t, i18n } = useTranslation();
  const { signIn } = useAuth();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [showPassword, setShowPassword] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<LoginError | null>(null);
  const userRef = useRef<HTMLInputElement>(null);
  const passRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = `${t("login.title")} – ${t("app.consoleTitle")}`;
  }, [t]);

  useEffect(() => {
    userRef.current?.focus();
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    if (!username.trim() || !password) {
      setError({ key: "login.required" });
      (username.trim() ? passRef : userRef).current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      // On success the app shell sees the session and sends the user on to `?next=`.
      await signIn(username.trim(), password);
    } catch (err) {
      setError(describe(err));
      setPassword("");
      passRef.current?.focus();
      setBusy(false);
    }
  };

  // The lock time is formatted at render time, so it follows the language switch.
  const values = error?.values?.until ? { ...error.values, until: formatDateTime(String(error.values.until), i18n.language) } : error?.values;

  return (
    <div className="login-page">
      <div className="login-lang">
        <LanguageSwitch />
      </div>
      <main className="login-card">
        <div className="login-brand">
          <Logo size={52} />
          <div>
            <div className="login-province">{t("app.provinceFallback")}</div>
            <div className="muted">{t("login.subtitle")}</div>
          </div>
        </div>
        <h1>{t("login.title")}</h1>
        <form onSubmit={submit} noValidate>
          {error && (
            <div className="alert alert-error" role="alert" data-testid="login-error">
              {t(error.key, values)}
              {error.requestId && <div className="alert-meta">{t("common.requestId", { id: error.requestId })}</div>}
            </div>
          )}
          <div className="field">
            <label htmlFor="login-username">{t("login.username")}</label>
            <input
              ref={userRef}
              id="login-username"
              name="username"
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              aria-invalid={error?.key === "login.wrongCredentials" || undefined}
            />
          </div>
          <div className="field">
            <label htmlFor="login-password">{t("login.password")}</label>
            <div className="password-row">
              <input
                ref={passRef}
                id="login-password"
                name="password"
                type={showPassword ? "text" : "password"}
                autoComplete="current-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                aria-invalid={error?.key === "login.wrongCredentials" || undefined}
              />
              <button type="button" className="btn-text" onClick={() => setShowPassword(!showPassword)} aria-pressed={showPassword}>
                {showPassword ? t("login.hidePassword") : t("login.showPassword")}
              </button>
            </div>
          </div>
          <button type="submit" className="btn btn-primary btn-block btn-lg" disabled={busy}>
            {busy ? t("login.submitting") : t("login.submit")}
          </button>
        </form>
        <p className="login-foot">{t("login.footer")}</p>
      </main>
    </div>
  );
}
