// The console's routes and the sign-in gate.
import { lazy, type ReactNode, Suspense, useEffect } from "react";
import { useTranslation } from "react-i18next";
import { AuthProvider, useAuth } from "./auth";
import { Layout } from "./Layout";
import { AlarmsPage } from "./pages/Alarms";
import { AuditPage } from "./pages/Audit";
import { DevicesPage } from "./pages/Devices";
import { CONSOLE_MODULES } from "./modules";
import { LoginPage } from "./pages/Login";
import { NotFound, NoAccess, Forbidden, ErrorScreen } from "./pages/Misc";
import { OverviewPage } from "./pages/Overview";
import { UsersPage } from "./pages/Users";
import { navigate, useLocation } from "../shared/router";

// MapLibre is large: the map page is its own chunk, loaded when first opened.
const MapPage = lazy(() => import("./pages/MapPage"));
// So is the device page, for its charts (ECharts).
const DevicePage = lazy(() => import("./pages/Device"));

/** Only same-site paths are accepted as a place to return to after signing in. */
function safeNext(search: string): string {
  const next = new URLSearchParams(search).get("next");
  return next?.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : "/";
}

function Loading() {
  const { t } = useTranslation();
  return (
    <div className="page-loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {t("common.loading")}
    </div>
  );
}

function Routes() {
  const { t } = useTranslation();
  const { state, can } = useAuth();
  const { pathname, search } = useLocation();
  const signedIn = state.status === "signed-in";
  const onLogin = pathname === "/login";

  useEffect(() => {
    if (state.status === "anonymous" && !onLogin) navigate(`/login?next=${encodeURIComponent(pathname + search)}`, { replace: true });
    if (signedIn && onLogin) navigate(safeNext(search), { replace: true });
  }, [state.status, signedIn, onLogin, pathname, search]);

  useEffect(() => {
    if (!onLogin) document.title = t("app.consoleTitle");
  }, [onLogin, t]);

  if (state.status === "loading") return <Loading />;
  if (state.status === "error") return <ErrorScreen error={state.error} />;
  if (onLogin) return signedIn ? <Loading /> : <LoginPage />;
  if (!signedIn) return <Loading />;
  if (!can("console:use")) return <NoAccess />;

  let page: ReactNode;
  if (pathname === "/") page = <OverviewPage />;
  else if (pathname === "/map") page = <MapPage />;
  else if (pathname === "/devices") page = can("devices:read") ? <DevicesPage /> : <Forbidden />;
  else if (pathname.startsWith("/devices/") && pathname.length > 9)
    page = can("devices:read") ? <DevicePage key={pathname} id={decodeURIComponent(pathname.slice(9))} /> : <Forbidden />;
  else if (pathname === "/alarms") page = can("alarms:read") ? <AlarmsPage /> : <Forbidden />;
  else if (pathname === "/admin/users") page = can("users:read") ? <UsersPage /> : <Forbidden />;
  else if (pathname === "/admin/audit") page = can("audit:read") ? <AuditPage /> : <Forbidden />;
  else page = CONSOLE_MODULES.map((m) => m.page(pathname, can)).find((p) => p !== undefined) ?? <NotFound />;

  return (
    <Layout>
      <Suspense fallback={<Loading />}>{page}</Suspense>
    </Layout>
  );
}

export function App() {
  return (
    <AuthProvider>
      <Routes />
    </AuthProvider>
  );
}
