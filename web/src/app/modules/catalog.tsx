// The open-data portal in the citizen app: search with facets, and a page per dataset with
// previews, downloads and API examples. Everything here is public.
import { CatalogDataset } from "../catalog/Dataset";
import { CatalogSearch } from "../catalog/Search";
import type { CitizenModule } from "./index";

export const citizenModule: CitizenModule = {
  service: "openData",
  path: "/app/catalog",
  screen(pathname) {
    const rest = pathname.slice("/app/catalog".length).replace(/\/$/, "");
    const m = /^\/([a-z0-9][a-z0-9_-]{1,99})$/.exec(rest);
    if (m) return <CatalogDataset name={m[1]} />;
    return <CatalogSearch />;
  },
};
