// Warnings in the citizen app: the "warnings" service tile, the warnings screens, and a banner on
// the home screen for severe and extreme warnings in the citizen's places.
import "../../console/alerts/alerts.css";
import "../alerts/alerts.css";
import { AlertsHome } from "../alerts/AlertsHome";
import { AlertView } from "../alerts/AlertView";
import { SevereBanner } from "../alerts/Banner";
import type { CitizenModule } from "./index";

export const citizenModule: CitizenModule = {
  service: "warnings",
  path: "/app/alerts",
  screen(pathname) {
    const m = /^\/app\/alerts\/([0-9a-f-]{36})\/?$/.exec(pathname);
    return m ? <AlertView key={m[1]} id={m[1]} /> : <AlertsHome />;
  },
  home: () => <SevereBanner />,
};
