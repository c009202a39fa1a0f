// Overview: system health, key counts and the live event feed.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, type Health, type User } from "../../shared/api";
import { formatNumber, formatTime } from "../../shared/format";
import { type SenEvent, type StreamStatus, subscribeEvents } from "../../shared/sse";
import { useAuth } from "../auth";
import { loadAgencies, loadCommuneUnits } from "../data";
import { Icon } from "../icons";
import { Link } from "../router";

type Load<T> = { status: "loading" } | { status: "ok"; value: T } | { status: "error"; error: unknown };

/** Runs `load` once (when `enabled` becomes true) and tracks its result. */
function useLoad<T>(load: () => Promise<T>, enabled = true): Load<T> {
  const [state, setState] = useState<Load<T>>({ status: "loading" });
  // biome-ignore lint/correctness/useExhaustiveDependencies: the loader is a fresh closure each render; it runs once
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    load().then(
      (value) => live && setState({ status: "ok", value }),
      (error) => live && setState({ status: "error", error }),
    );
    return () => {
      live = false;
    };
  }, [enabled]);
  return state;
}

function HealthCard() {
  const { t } = useTranslation();
  const [health, setHealth] = useState<Load<Health>>({ status: "loading" });
  useEffect(() => {
    let live = true;
    const check = () =>
      api<Health>("/api/health").then(
        (value) => live && setHealth({ status: "ok", value }),
        (error) => live && setHealth({ status: "error", error }),
      );
    void check();
    const timer = window.setInterval(check, 30_000);
    return () => {
      live = false;
      window.clearInterval(timer);
    };
  }, []);

  const ok = health.status === "ok" && health.value.status === "ok" && health.value.database?.ok !== false;
  const tone = health.status === "loading" ? "neutral" : ok ? "ok" : health.status === "error" ? "bad" : "warn";
  const label =
    health.status === "loading"
      ? t("common.loading")
      : ok
        ? t("overview.healthOk")
        : health.status === "error"
          ? t("overview.healthDown")
          : t("overview.healthDegraded");
  return (
    <article className="card stat-card" data-testid="health-card">
      <div className="stat-label">{t("overview.health")}</div>
      <div className={`health health-${tone}`}>
        <span className="dot" aria-hidden="true" />
        <span>{label}</span>
      </div>
      {health.status === "ok" && (
        <div className="stat-hint">
          {t("overview.database")}: {health.value.database?.driver ?? "—"}
          {health.value.version && (
            <>
              {" · "}
              {t("overview.version")} {health.value.version}
            </>
          )}
        </div>
      )}
    </article>
  );
}

function CountCard({ label, hint, load, testId }: { label: string; hint: string; load: Load<number>; testId: string }) {
  const { i18n, t } = useTranslation();
  return (
    <article className="card stat-card" data-testid={testId}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{load.status === "ok" ? formatNumber(load.value, i18n.language, 0) : load.status === "error" ? "—" : "…"}</div>
      <div className="stat-hint">{load.status === "error" ? t("common.error") : hint}</div>
    </article>
  );
}

function EventFeed() {
  const { t, i18n } = useTranslation();
  const [events, setEvents] = useState<SenEvent[]>([]);
  const [status, setStatus] = useState<StreamStatus>("connecting");
  useEffect(() => subscribeEvents("/api/events", (e) => setEvents((list) => [e, ...list].slice(0, 30)), setStatus), []);

  const statusLabel = { connecting: t("overview.connecting"), open: t("overview.live"), retrying: t("overview.disconnected"), forbidden: "" }[status];
  return (
    <section className="card feed" aria-labelledby="feed-title">
      <header className="card-head">
        <h2 id="feed-title">{t("overview.events")}</h2>
        {status !== "forbidden" && (
          <span className={`live-badge live-${status}`}>
            <span className="dot" aria-hidden="true" />
            {statusLabel}
          </span>
        )}
      </header>
      {status === "forbidden" ? (
        <p className="muted">{t("overview.eventsNoPermission")}</p>
      ) : events.length === 0 ? (
        <p className="muted feed-empty">{t("overview.eventsEmpty")}</p>
      ) : (
        <ol className="feed-list" aria-live="polite">
          {events.map((e) => (
            <li key={`${e.id}-${e.topic}`}>
              <time dateTime={e.at}>{formatTime(e.at, i18n.language)}</time>
              <span className="chip">{e.topic}</span>
              <code className="feed-payload">{summarise(e.payload)}</code>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function summarise(payload: unknown): string {
  if (payload === undefined || payload === null) return "";
  const text = typeof payload === "string" ? payload : JSON.stringify(payload);
  return text.length > 140 ? `${text.slice(0, 137)}…` : text;
}

export function OverviewPage() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const communes = useLoad(() => loadCommuneUnits().then((u) => u.length));
  const agencies = useLoad(() => loadAgencies().then((a) => a.length));
  const canUsers = can("users:read");
  const users = useLoad(() => api<User[]>("/api/users?limit=100").then((u) => u.length), canUsers);

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>{t("overview.title")}</h1>
          <p className="page-sub">{t("overview.subtitle")}</p>
        </div>
      </header>
      <div className="stat-grid">
        <HealthCard />
        <CountCard label={t("overview.communes")} hint={t("overview.communesHint")} load={communes} testId="count-communes" />
        <CountCard label={t("overview.agencies")} hint={t("overview.agenciesHint")} load={agencies} testId="count-agencies" />
        {canUsers && <CountCard label={t("overview.users")} hint={t("overview.usersHint")} load={users} testId="count-users" />}
      </div>
      <div className="overview-grid">
        <EventFeed />
        <section className="card map-card">
          <div className="map-card-art" aria-hidden="true">
            <Icon name="map" size={40} />
          </div>
          <h2>{t("overview.mapCardTitle")}</h2>
          <p className="muted">{t("overview.mapCardText", { count: communes.status === "ok" ? communes.value : "…" })}</p>
          <Link to="/map" className="btn btn-primary">
            {t("overview.openMap")}
          </Link>
        </section>
      </div>
    </div>
  );
}
