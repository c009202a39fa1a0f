// The alerts module in the console: the warnings list and approval queue, the composer, and one
// alert's page with its workflow and delivery progress.
import "../alerts/alerts.css";
import { AlertDetail } from "../alerts/AlertDetail";
import { AlertsPage } from "../alerts/AlertsPage";
import { Composer } from "../alerts/Composer";
import { Forbidden } from "../pages/Misc";
import type { ConsoleModule } from "./index";

export const consoleModule: ConsoleModule = {
  nav: [{ label: "alerts.nav", icon: "megaphone", path: "/alerts", group: "operations", permission: "alerts:read", order: 25 }],
  page(pathname, can) {
    if (pathname !== "/alerts" && !pathname.startsWith("/alerts/")) return undefined;
    if (!can("alerts:read")) return <Forbidden />;
    if (pathname === "/alerts") return <AlertsPage />;
    if (pathname === "/alerts/new") return can("alerts:draft") ? <Composer /> : <Forbidden />;
    const m = pathname.match(/^\/alerts\/([0-9a-f-]{36})(\/edit)?$/);
    if (!m) return undefined;
    if (m[2]) return can("alerts:draft") ? <Composer key={m[1]} id={m[1]} /> : <Forbidden />;
    return <AlertDetail key={m[1]} id={m[1]} />;
  },
};
