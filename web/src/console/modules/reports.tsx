// Field reports in the console: the agency's queue, a report's detail with its actions, the
// hotline entry form and the statistics.
import { ReportDetailPage } from "../reports/Detail";
import { HotlinePage } from "../reports/Hotline";
import { ReportQueuePage } from "../reports/Queue";
import { ReportStatsPage } from "../reports/Stats";
import type { ConsoleModule } from "./index";

export const consoleModule: ConsoleModule = {
  nav: [
    { label: "reports.nav", icon: "reports", path: "/reports", group: "services", permission: "reports:read", order: 10 },
    { label: "reports.navNew", icon: "plus", path: "/reports/new", group: "services", permission: "reports:submit", order: 11 },
    { label: "reports.navStats", icon: "indicators", path: "/reports/stats", group: "services", permission: "reports:read", order: 12 },
  ],
  page(pathname, can) {
    if (pathname === "/reports") return can("reports:read") ? <ReportQueuePage /> : undefined;
    if (pathname === "/reports/new") return can("reports:submit") ? <HotlinePage /> : undefined;
    if (pathname === "/reports/stats") return can("reports:read") ? <ReportStatsPage /> : undefined;
    const m = /^\/reports\/(\d{1,18})$/.exec(pathname);
    if (m && can("reports:read")) return <ReportDetailPage id={m[1]} canManage={can("reports:manage")} />;
    return undefined;
  },
};
