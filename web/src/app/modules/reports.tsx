// Field reports in the citizen app: report a problem in three steps, follow "my reports", and the
// public map of reports.
import { ReportsHome } from "../reports/Home";
import { MyReports } from "../reports/Mine";
import { NewReport } from "../reports/NewReport";
import { ReportsMap } from "../reports/PublicMap";
import { ReportView } from "../reports/ReportView";
import type { CitizenModule } from "./index";

export const citizenModule: CitizenModule = {
  service: "report",
  path: "/app/reports",
  screen(pathname) {
    const rest = pathname.slice("/app/reports".length).replace(/\/$/, "");
    if (rest === "/new") return <NewReport />;
    if (rest === "/mine") return <MyReports />;
    if (rest === "/map") return <ReportsMap />;
    const m = /^\/(\d{1,18})$/.exec(rest);
    if (m) return <ReportView id={m[1]} />;
    return <ReportsHome />;
  },
};
