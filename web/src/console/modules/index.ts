// The console's extension point. Each module of Sen (reports, alerts, catalog, indicators, …) adds
// one file here, `<module>.tsx`, exporting `consoleModule`: its navigation entries and the pages
// it renders for its paths. The shell (Layout, App) knows no module by name.
import type { ReactNode } from "react";
import type { IconName } from "../icons";

export type NavGroup = "operations" | "services" | "admin";

export interface ModuleNavItem {
  /** Translation key of the label, e.g. "reports.nav". */
  label: string;
  icon: IconName;
  path: string;
  group: NavGroup;
  /** Shown only to users with this permission. */
  permission?: string;
  /** Sort position within the group (lower first); the shell's own items use 10, 20, 30… */
  order?: number;
}

export interface ConsoleModule {
  nav: ModuleNavItem[];
  /** The page for this path, or undefined when the path is not this module's. */
  page(pathname: string, can: (permission: string) => boolean): ReactNode | undefined;
}

const files = import.meta.glob<ConsoleModule>("./*.tsx", { eager: true, import: "consoleModule" });

export const CONSOLE_MODULES: ConsoleModule[] = Object.keys(files)
  .sort()
  .map((k) => files[k])
  .filter((m): m is ConsoleModule => m !== undefined);
