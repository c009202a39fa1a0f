// Open data in the console: the publisher's workspace (datasets of the agency, create and edit,
// upload with progress, confirm column types, publish).
import { DatasetForm, DatasetWorkspace, CatalogWorkspace, EditDataset } from "../catalog/Workspace";
import type { ConsoleModule } from "./index";

export const consoleModule: ConsoleModule = {
  nav: [{ label: "catalog.nav", icon: "database", path: "/catalog", group: "services", permission: "datasets:publish", order: 40 }],
  page(pathname, can) {
    if (!pathname.startsWith("/catalog") || !can("datasets:publish")) return undefined;
    if (pathname === "/catalog") return <CatalogWorkspace />;
    if (pathname === "/catalog/new") return <DatasetForm />;
    const m = /^\/catalog\/d\/([a-z0-9][a-z0-9_-]{1,99})(\/edit)?$/.exec(pathname);
    if (m) return m[2] ? <EditDataset key={m[1]} name={m[1]} /> : <DatasetWorkspace key={m[1]} name={m[1]} />;
    return undefined;
  },
};
