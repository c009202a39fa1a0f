// Small full-page states: not found, forbidden, no console access, unexpected error.
import { useTranslation } from "react-i18next";
import { ApiError, NetworkError } from "../../shared/api";
import { Logo } from "../../shared/Logo";
import { useAuth } from "../auth";
import { Link, navigate } from "../../shared/router";

export function NotFound() {
  const { t } = useTranslation();
  return (
    <section className="empty-state">
      <h1>{t("common.notFound")}</h1>
      <p>{t("common.notFoundText")}</p>
      <Link to="/" className="btn btn-primary">
        {t("common.backHome")}
      </Link>
    </section>
  );
}

export function Forbidden() {
  const { t } = useTranslation();
  return (
    <section className="empty-state">
      <h1>{t("common.forbidden")}</h1>
      <Link to="/" className="btn btn-primary">
        {t("common.backHome")}
      </Link>
    </section>
  );
}

export function NoAccess() {
  const { t } = useTranslation();
  const { signOut } = useAuth();
  return (
    <div className="login-page">
      <main className="login-card">
        <Logo size={48} />
        <p>{t("common.noConsoleAccess")}</p>
        <button
          type="button"
          className="btn btn-primary"
          onClick={async () => {
            await signOut();
            navigate("/login", { replace: true });
          }}
        >
          {t("user.signOut")}
        </button>
      </main>
    </div>
  );
}

/** The message for an error thrown by the API client, in the current language. */
export function ErrorMessage({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (error instanceof NetworkError) return <>{t("common.networkError")}</>;
  if (error instanceof ApiError) {
    return (
      <>
        {error.status === 403 ? t("common.forbidden") : `${t("common.error")} (${error.status}).`}
        {error.problem.requestId && <span className="alert-meta"> {t("common.requestId", { id: error.problem.requestId })}</span>}
      </>
    );
  }
  return <>{t("common.error")}</>;
}

export function ErrorScreen({ error }: { error: unknown }) {
  const { t } = useTranslation();
  return (
    <div className="login-page">
      <main className="login-card">
        <Logo size={48} />
        <div className="alert alert-error" role="alert">
          <ErrorMessage error={error} />
        </div>
        <button type="button" className="btn btn-primary" onClick={() => location.reload()}>
          {t("common.retry")}
        </button>
      </main>
    </div>
  );
}
