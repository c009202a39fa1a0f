// The context broker in the console: the entity explorer (types, attributes, map, history, live
// updates) and the list of NGSI-LD subscriptions with their delivery status.
import "../context/context.css";
import { Explorer } from "../context/Explorer";
import { Subscriptions } from "../context/Subscriptions";
import { Forbidden } from "../pages/Misc";
import type { ConsoleModule } from "./index";

export const consoleModule: ConsoleModule = {
  nav: [{ label: "context.nav", icon: "layers", path: "/context", group: "operations", permission: "context:read", order: 45 }],
  page(pathname, can) {
    if (pathname !== "/context" && !pathname.startsWith("/context/")) return undefined;
    if (!can("context:read")) return <Forbidden />;
    if (pathname === "/context") return <Explorer />;
    if (pathname === "/context/subscriptions") return <Subscriptions />;
    return undefined;
  },
};
