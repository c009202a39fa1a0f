// Overview: system health, key counts and the live event feed.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, type Health, type User } from "../../shared/api";
import { formatNumber, formatTime } from "../../shared/format";
import type { SenEvent } from "../../shared/sse";
import { useAlarms } from "../alarms";
import { useAuth } from "../auth";
import { loadAgencies, loadCommuneUnits } from "../data";
import { Icon } from "../icons";
import { useLiveEvents, useStreamStatus } from "../live";
import { Link } from "../../shared/router";

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
  const status = useStreamStatus();
  // Device readings arrive many times a second: they are shown on the map and the device pages, not here.
  useLiveEvents((e) => {
    if (e.topic !== "iot.telemetry") setEvents((list) => [e, ...list].slice(0, 30));
  });

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

/** Devices and alarms at a glance, with the way to their pages. */
function IotCard() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const { can } = useAuth();
  const alarms = useAlarms();
  const canDevices = can("devices:read");
  const devices = useLoad(
    () =>
      Promise.all([api<{ total: number }>("/api/devices?limit=1"), api<{ total: number }>("/api/devices?limit=1&online=true")]).then(([all, online]) => ({
        total: all.total,
        online: online.total,
      })),
    canDevices,
  );
  if (!canDevices && !alarms.enabled) return null;
  const summary = alarms.available ? alarms.summary : null;
  return (
    <section className="card iot-card" data-testid="iot-card">
      <h2>{t("overview.iotTitle")}</h2>
      <dl className="iot-facts">
        {canDevices && (
          <div>
            <dt>{t("overview.devices")}</dt>
            <dd>
              <span className="iot-fact-value">{devices.status === "ok" ? formatNumber(devices.value.total, lang, 0) : "…"}</span>
              {devices.status === "ok" && <span className="muted small">{t("overview.devicesOnline", { count: devices.value.online })}</span>}
            </dd>
          </div>
        )}
        {summary && (
          <div>
            <dt>{t("overview.activeAlarms")}</dt>
            <dd>
              <span className={`iot-fact-value ${summary.bySeverity.critical ? "bad" : ""}`}>{formatNumber(summary.total, lang, 0)}</span>
              <span className="muted small">
                {summary.bySeverity.critical ? t("overview.criticalAlarms", { count: summary.bySeverity.critical }) : t("overview.noCritical")}
              </span>
            </dd>
          </div>
        )}
      </dl>
      <div className="panel-actions">
        {canDevices && (
          <Link to="/devices" className="btn btn-secondary">
            {t("overview.openDevices")}
          </Link>
        )}
        {summary && (
          <Link to="/alarms" className="btn btn-secondary">
            {t("overview.openAlarms")}
          </Link>
        )}
      </div>
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
        <div className="overview-side">
          <IotCard />
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
    </div>
  );
}
