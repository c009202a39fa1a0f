// Indicators in the console: the leaders' dashboard (plan scorecard, commune map, charts), the
// officer's periodic reports and data entry, approvals, and the setup of elements, indicators,
// forms and rules.
import { IndicatorsAdmin } from "../indicators/Admin";
import { IndicatorsDashboard } from "../indicators/Dashboard";
import { DataEntry } from "../indicators/Entry";
import { Approvals, OfficerForms } from "../indicators/Forms";
import type { ConsoleModule } from "./index";

export const consoleModule: ConsoleModule = {
  nav: [
    { label: "indicators.nav", icon: "indicators", path: "/indicators", group: "operations", permission: "indicators:read", order: 40 },
    { label: "indicators.navForms", icon: "audit", path: "/indicators/forms", group: "services", permission: "data:enter", order: 40 },
    { label: "indicators.navApprovals", icon: "check", path: "/indicators/approvals", group: "services", permission: "data:approve", order: 41 },
    { label: "indicators.navAdmin", icon: "layers", path: "/indicators/admin", group: "admin", permission: "indicators:manage", order: 40 },
  ],
  page(pathname, can) {
    if (pathname === "/indicators") return can("indicators:read") ? <IndicatorsDashboard /> : undefined;
    if (pathname === "/indicators/forms") return can("indicators:read") ? <OfficerForms /> : undefined;
    if (pathname === "/indicators/approvals") return can("data:approve") ? <Approvals /> : undefined;
    if (pathname === "/indicators/admin") return can("indicators:manage") ? <IndicatorsAdmin /> : undefined;
    const m = /^\/indicators\/forms\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(pathname);
    if (m && can("indicators:read")) {
      const [ds, ou, pe] = [m[1], m[2], m[3]].map((x) => decodeURIComponent(x as string)) as [string, string, string];
      return <DataEntry key={`${ds}/${ou}/${pe}`} dataSet={ds} orgUnit={ou} period={pe} />;
    }
    return undefined;
  },
};
