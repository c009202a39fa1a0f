// The citizen app's extension point. Each module adds one file here, `<module>.tsx`, exporting
// `citizenModule`: the service tile it opens on the home screen, the screens under its path, and
// optionally something shown at the top of the home screen (e.g. a severe-warning banner).
import type { ReactNode } from "react";

export interface CitizenModule {
  /** The home screen's service tile it brings to life: "report", "warnings", "openData" or "dossier". */
  service?: string;
  /** Its screens live under this path, e.g. "/app/reports". */
  path: string;
  /** The screen for a path under `path` (the full pathname is given). */
  screen(pathname: string): ReactNode;
  /** Rendered above the home screen's content. */
  home?: () => ReactNode;
}

const files = import.meta.glob<CitizenModule>("./*.tsx", { eager: true, import: "citizenModule" });

export const CITIZEN_MODULES: CitizenModule[] = Object.keys(files)
  .sort()
  .map((k) => files[k])
  .filter((m): m is CitizenModule => m !== undefined);
