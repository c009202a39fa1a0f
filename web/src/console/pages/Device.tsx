// One device (/devices/{id}): its state, latest values, a live history chart (with the alarm
// levels), CSV download, commands (devices:command), message activity and its alarms.
// The chosen key and range are kept in the address (?key=&range=).
import { type FormEvent, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, api } from "../../shared/api";
import { formatDateTime, formatNumber, formatRelative } from "../../shared/format";
import { SeverityBadge } from "../AlarmBanner";
import { useAlarms } from "../alarms";
import { useAuth } from "../auth";
import { DeviceStatus, DeviceSymbol, FormError, useDeviceActions } from "../deviceParts";
import { Icon } from "../icons";
import {
  type Alarm,
  alarmsOf,
  type Command,
  compareAlarms,
  type Device,
  type DeviceProfile,
  formatValue,
  keyLabel,
  type Latest,
  type Level,
  levelsFor,
  primaryKey,
  SEVERITY_COLORS,
  typeLabel,
  unitLabel,
} from "../iot";
import { throttle, useLiveEvents } from "../live";
import { Link, navigate, useLocation } from "../../shared/router";
import { RANGES, type RangeKey, TelemetryChart, telemetryUrl } from "../TelemetryChart";
import { useAgencyName } from "../useAgencyName";
import { useCommuneName } from "../useCommuneName";
import { applyDeviceEvent } from "../useDevices";
import { useNow } from "../useNow";
import { alarmThreshold, alarmTitle, alarmValue, type Profiles, useProfiles } from "../useProfiles";
import { ErrorMessage, NotFound } from "./Misc";

const RANGE_KEYS = Object.keys(RANGES) as RangeKey[];

function isNumericKey(key: string, device: Device, profile: DeviceProfile | undefined): boolean {
  const v = device.latest[key]?.value;
  if (v !== undefined) return typeof v === "number";
  const spec = profile?.keys[key];
  return spec?.min !== undefined || spec?.max !== undefined;
}

/** Where a value stands against the levels: the highest level reached, if any. */
function levelReached(value: unknown, levels: Level[]): Level | undefined {
  if (typeof value !== "number") return undefined;
  return [...levels].reverse().find((l) => value >= l.value);
}

export default function DevicePage({ id }: { id: string }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const { can } = useAuth();
  const { search } = useLocation();
  const params = new URLSearchParams(search);
  const [device, setDevice] = useState<Device | null>(null);
  const [error, setError] = useState<unknown>(null);
  const profiles = useProfiles();
  const alarms = useAlarms();
  const communeName = useCommuneName();
  const agencyName = useAgencyName();
  const now = useNow(15_000);
  const actions = useDeviceActions(setDevice);

  useEffect(() => {
    let live = true;
    api<Device>(`/api/devices/${encodeURIComponent(id)}`).then(
      (d) => live && setDevice(d),
      (err) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [id]);

  // While data flows, the message counters are fetched again now and then (events carry values only).
  const refresh = useMemo(
    () =>
      throttle(() => {
        api<Device>(`/api/devices/${encodeURIComponent(id)}`).then(setDevice, () => {});
      }, 5000),
    [id],
  );
  useEffect(() => () => refresh.cancel(), [refresh]);

  useLiveEvents((e) => {
    if (!e.topic.startsWith("iot.") || !device) return;
    const map = new Map([[device.id, device]]);
    const r = applyDeviceEvent(map, e);
    if (r === true) {
      const d = map.get(device.id);
      if (d && d !== device) {
        setDevice(d);
        if (e.topic === "iot.telemetry") refresh.run();
      }
    } else if (Array.isArray(r) && r.includes(device.id)) {
      if (e.topic === "iot.device.deleted") setError(new ApiError(404, { status: 404 }, null));
      else api<Device>(`/api/devices/${encodeURIComponent(id)}`).then(setDevice, () => {});
    } else if (r === false && e.topic === "iot.device.deleted" && (e.payload as { id?: string })?.id === device.id) {
      setError(new ApiError(404, { status: 404 }, null));
    }
  });

  const profile = device ? profiles.byId.get(device.profileId) : undefined;
  const keys = useMemo(() => {
    if (!device) return [];
    const list = Object.keys(profile?.keys ?? {});
    for (const k of Object.keys(device.latest)) if (!list.includes(k)) list.push(k);
    // The device's main measure first.
    const main = primaryKey(device, profile);
    return main && list.includes(main) ? [main, ...list.filter((k) => k !== main)] : list;
  }, [device, profile]);
  const numericKeys = useMemo(() => (device ? keys.filter((k) => isNumericKey(k, device, profile)) : []), [keys, device, profile]);

  if (error instanceof ApiError && error.status === 404) return <NotFound />;
  if (error !== null)
    return (
      <div className="page">
        <div className="alert alert-error" role="alert">
          <ErrorMessage error={error} />
        </div>
      </div>
    );
  // Values wait for the profiles too: shown before them they would lack their units.
  if (!device || !profiles.loaded)
    return (
      <div className="page-loading" role="status">
        <span className="spinner" aria-hidden="true" />
        {t("common.loading")}
      </div>
    );

  const setParam = (k: string, v: string) => {
    const next = new URLSearchParams(search);
    next.set(k, v);
    navigate(`/devices/${encodeURIComponent(id)}?${next}`, { replace: true });
  };
  const preferred = primaryKey(device, profile);
  const chartKey =
    params.get("key") && numericKeys.includes(params.get("key") as string)
      ? (params.get("key") as string)
      : preferred && numericKeys.includes(preferred)
        ? preferred
        : numericKeys[0];
  const range = (RANGE_KEYS.includes(params.get("range") as RangeKey) ? params.get("range") : "24h") as RangeKey;
  const alarm = alarms.worstByDevice.get(device.id);
  const canManage = can("devices:manage");
  const place = device.lat !== null && device.lon !== null;

  return (
    <div className="page page-wide device-page">
      <nav className="breadcrumb" aria-label={t("device.breadcrumb")}>
        <Link to="/devices">{t("devices.title")}</Link>
        <span aria-hidden="true">›</span>
        <span aria-current="page">{device.name}</span>
      </nav>
      <header className="device-head card">
        <DeviceSymbol device={device} alarm={alarm} size={52} />
        <div className="device-head-main">
          <div className="panel-kicker">{typeLabel(device.type, t)}</div>
          <h1 data-testid="device-name">{device.name}</h1>
          <div className="device-head-meta">
            <DeviceStatus device={device} alarm={alarm} />
            <span className="muted mono">{device.id}</span>
            <span>
              <Icon name="pin" size={15} /> {communeName.name(device.commune)}
            </span>
            <span title={formatDateTime(device.lastSeenAt, lang)}>
              <Icon name="clock" size={15} /> {t("device.lastSeen")}: {device.lastSeenAt ? formatRelative(device.lastSeenAt, lang, now) : t("devices.never")}
            </span>
          </div>
        </div>
        <div className="device-head-actions">
          {place && (
            <Link to={`/map?device=${encodeURIComponent(device.id)}`} className="btn btn-secondary">
              <Icon name="map" size={16} /> {t("device.showOnMap")}
            </Link>
          )}
          {canManage && (
            <>
              <button
                type="button"
                className="btn btn-secondary"
                disabled={actions.busy === device.id}
                onClick={() => actions.setEnabled(device, !device.enabled)}
              >
                <Icon name="power" size={16} /> {device.enabled ? t("devices.disable") : t("devices.enable")}
              </button>
              <button type="button" className="btn btn-secondary" disabled={actions.busy === device.id} onClick={() => actions.askRegenerate(device)}>
                <Icon name="key" size={16} /> {t("devices.newToken")}
              </button>
            </>
          )}
        </div>
      </header>
      {actions.error !== null && (
        <div className="alert alert-error" role="alert">
          <FormError error={actions.error} />
        </div>
      )}
      {!device.enabled && <div className="alert alert-warn">{t("device.disabledNote")}</div>}

      <section aria-labelledby="latest-title" className="latest-section">
        <h2 id="latest-title" className="section-title">
          {t("device.latest")}
        </h2>
        {keys.length === 0 ? (
          <p className="muted">{t("device.noData")}</p>
        ) : (
          <div className="latest-grid">
            {keys.map((k) => (
              <LatestCard
                key={k}
                keyName={k}
                device={device}
                profile={profile}
                latest={device.latest[k]}
                selected={k === chartKey}
                onSelect={numericKeys.includes(k) ? () => setParam("key", k) : undefined}
                now={now}
              />
            ))}
          </div>
        )}
      </section>

      <div className="device-grid">
        <section className="card chart-card" aria-labelledby="chart-title">
          <header className="card-head chart-head">
            <h2 id="chart-title">{t("device.history")}</h2>
            <div className="chart-controls">
              {numericKeys.length > 1 && (
                <label className="select-field compact">
                  <span className="visually-hidden">{t("device.chart.key")}</span>
                  <select value={chartKey} onChange={(e) => setParam("key", e.target.value)} data-testid="chart-key">
                    {numericKeys.map((k) => (
                      <option key={k} value={k}>
                        {keyLabel(k, profile?.keys[k], lang, t)}
                      </option>
                    ))}
                  </select>
                </label>
              )}
              <fieldset className="segmented" aria-label={t("device.chart.range")}>
                {RANGE_KEYS.map((r) => (
                  <button key={r} type="button" className={r === range ? "active" : ""} aria-pressed={r === range} onClick={() => setParam("range", r)}>
                    {t(`device.range.${r}`)}
                  </button>
                ))}
              </fieldset>
              {chartKey && (
                <a className="btn btn-ghost btn-sm" href={telemetryUrl(device.id, chartKey, range, { csv: true })} download data-testid="csv-link">
                  <Icon name="download" size={16} /> CSV
                </a>
              )}
            </div>
          </header>
          {chartKey ? (
            <>
              <ChartFor device={device} profile={profile} keyName={chartKey} range={range} />
              <p className="chart-caption muted small">{t(`device.rangeHint.${range}`)}</p>
            </>
          ) : (
            <p className="muted">{t("device.chart.noNumeric")}</p>
          )}
        </section>

        <div className="device-side">
          <ActivityCard device={device} profile={profile} now={now} agency={agencyName(device.agency)} />
          {alarms.enabled && alarms.available !== false && <DeviceAlarms device={device} profiles={profiles} />}
        </div>
      </div>

      <CommandsSection device={device} canCommand={can("devices:command")} />
      {actions.dialogs}
    </div>
  );
}

function ChartFor({ device, profile, keyName, range }: { device: Device; profile: DeviceProfile | undefined; keyName: string; range: RangeKey }) {
  const { t, i18n } = useTranslation();
  // The device object changes with every reading; the chart redraws only when the levels do.
  const levelsJson = JSON.stringify(levelsFor(device, profile, keyName, t));
  const levels = useMemo(() => JSON.parse(levelsJson) as Level[], [levelsJson]);
  const official = keyName === "waterLevel" && !!device.serverAttributes?.alarmLevels;
  return (
    <TelemetryChart
      deviceId={device.id}
      keyName={keyName}
      label={keyLabel(keyName, profile?.keys[keyName], i18n.language, t)}
      unit={unitLabel(profile?.keys[keyName]?.unit, t)}
      range={range}
      levels={levels}
      officialLevels={official}
      bounds={{ min: profile?.keys[keyName]?.min, max: profile?.keys[keyName]?.max }}
    />
  );
}

function LatestCard({
  keyName,
  device,
  profile,
  latest,
  selected,
  onSelect,
  now,
}: {
  keyName: string;
  device: Device;
  profile: DeviceProfile | undefined;
  latest: Latest | undefined;
  selected: boolean;
  onSelect?: () => void;
  now: number;
}) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const spec = profile?.keys[keyName];
  const levels = levelsFor(device, profile, keyName, t);
  const reached = levelReached(latest?.value, levels);
  const body = (
    <>
      <span className="latest-label">{keyLabel(keyName, spec, lang, t)}</span>
      <span className="latest-value" data-testid={`latest-${keyName}`}>
        {latest ? formatValue(latest.value, lang, t, spec?.unit) : "—"}
      </span>
      <span className="latest-meta">
        {latest ? (
          <time dateTime={latest.ts} title={formatDateTime(latest.ts, lang)}>
            {formatRelative(latest.ts, lang, now)}
          </time>
        ) : (
          t("device.noValue")
        )}
        {latest?.outOfRange && <span className="chip chip-bad">{t("device.outOfRange")}</span>}
        {reached && (
          <span className="chip" style={{ background: SEVERITY_COLORS[reached.severity], color: "#fff" }}>
            {t("device.reached", { level: reached.label })}
          </span>
        )}
        {!reached && levels.length > 0 && typeof latest?.value === "number" && keyName === "waterLevel" && (
          <span className="chip chip-ok">{t("device.belowLevels", { level: levels[0].label })}</span>
        )}
      </span>
    </>
  );
  if (!onSelect) return <div className="latest-card">{body}</div>;
  return (
    <button type="button" className={`latest-card selectable ${selected ? "selected" : ""}`} aria-pressed={selected} onClick={onSelect}>
      {body}
    </button>
  );
}

function ActivityCard({ device, profile, now, agency }: { device: Device; profile: DeviceProfile | undefined; now: number; agency: string }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const attrs = Object.entries(device.attributes ?? {});
  return (
    <section className="card side-card" aria-labelledby="activity-title">
      <h2 id="activity-title">{t("device.activity")}</h2>
      <div className="activity-counts">
        <div>
          <span className="activity-value ok" data-testid="accepted-count">
            {formatNumber(device.accepted, lang, 0)}
          </span>
          <span className="muted small">{t("device.accepted")}</span>
        </div>
        <div>
          <span className={`activity-value ${device.rejected ? "bad" : ""}`}>{formatNumber(device.rejected, lang, 0)}</span>
          <span className="muted small">{t("device.rejected")}</span>
        </div>
      </div>
      {device.lastRejection && (
        <div className="rejection">
          <div className="panel-label">{t("device.lastRejection")}</div>
          <code className="break">{device.lastRejection}</code>
          <div className="muted small">{formatDateTime(device.lastRejectionAt, lang)}</div>
        </div>
      )}
      <dl className="facts facts-compact">
        <dt>{t("device.profile")}</dt>
        <dd>{profile ? (lang === "en" ? profile.nameEn || profile.name : profile.name) : device.profileId}</dd>
        <dt>{t("devices.agency")}</dt>
        <dd>{agency}</dd>
        <dt>{t("device.coordinates")}</dt>
        <dd>{device.lat !== null && device.lon !== null ? `${device.lat.toFixed(4)}, ${device.lon.toFixed(4)}` : "—"}</dd>
        <dt>{t("device.lastSeen")}</dt>
        <dd title={formatDateTime(device.lastSeenAt, lang)}>{device.lastSeenAt ? formatRelative(device.lastSeenAt, lang, now) : t("devices.never")}</dd>
        {profile && (
          <>
            <dt>{t("device.timeout")}</dt>
            <dd>{t("device.minutes", { count: Math.round(profile.inactivityTimeoutSeconds / 60) })}</dd>
          </>
        )}
        {device.mqttUsername && (
          <>
            <dt>{t("device.mqttUser")}</dt>
            <dd>
              <code>{device.mqttUsername}</code>
            </dd>
          </>
        )}
        <dt>{t("device.created")}</dt>
        <dd>{formatDateTime(device.createdAt, lang)}</dd>
        {attrs.slice(0, 12).map(([k, v]) => (
          <FactRow key={k} label={k} value={typeof v === "string" ? v : JSON.stringify(v)} />
        ))}
      </dl>
    </section>
  );
}

function FactRow({ label, value }: { label: string; value: string }) {
  return (
    <>
      <dt className="mono">{label}</dt>
      <dd className="break">{value}</dd>
    </>
  );
}

function DeviceAlarms({ device, profiles }: { device: Device; profiles: Profiles }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [list, setList] = useState<Alarm[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    api<unknown>(`/api/alarms?device=${encodeURIComponent(device.id)}&limit=20`).then(
      (r) => live && setList(alarmsOf(r).sort(compareAlarms)),
      (err) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [device.id]);
  useLiveEvents((e) => {
    if (!e.topic.startsWith("alarm.")) return;
    const a = e.payload as Alarm;
    if (a?.deviceId !== device.id) return;
    setList((l) => [a, ...(l ?? []).filter((x) => x.id !== a.id)].sort(compareAlarms).slice(0, 20));
  });
  if (error instanceof ApiError && error.status === 404) return null;
  return (
    <section className="card side-card" aria-labelledby="device-alarms-title" data-testid="device-alarms">
      <div className="card-head">
        <h2 id="device-alarms-title">{t("device.alarms")}</h2>
        <Link to={`/alarms?device=${encodeURIComponent(device.id)}&status=all`} className="small">
          {t("common.viewAll")}
        </Link>
      </div>
      {error !== null ? (
        <p className="muted">
          <ErrorMessage error={error} />
        </p>
      ) : !list ? (
        <p className="muted">{t("common.loading")}</p>
      ) : list.length === 0 ? (
        <p className="muted">{t("device.noAlarms")}</p>
      ) : (
        <ul className="mini-alarms">
          {list.map((a) => (
            <li key={a.id} className={a.status === "active" ? "active" : "cleared"}>
              <SeverityBadge severity={a.severity} compact />
              <div>
                <Link to={`/alarms?id=${encodeURIComponent(a.id)}`} className="strong">
                  {alarmTitle(a, profiles, lang, t)}
                </Link>
                <div className="muted small">
                  {alarmValue(a, profiles, lang, t)} · {alarmThreshold(a, profiles, lang, t)}
                </div>
                <div className="muted small">
                  {formatDateTime(a.startedAt, lang)} · {a.status === "active" ? t("alarmStatus.active") : t("alarmStatus.cleared")}
                  {a.acknowledged && ` · ${t("alarmStatus.acked")}`}
                </div>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

const METHOD_SUGGESTIONS: Record<string, string[]> = {
  Streetlight: ["setPowerState", "setDimLevel", "getState"],
  Camera: ["reboot", "getState"],
};
const COMMON_METHODS = ["setSamplingInterval", "getState", "reboot"];

function commandTone(status: string): string {
  return status === "succeeded"
    ? "ok"
    : status === "delivered" || status === "sent"
      ? "info"
      : status === "timeout"
        ? "warn"
        : status === "offline"
          ? "off"
          : "bad";
}

function CommandsSection({ device, canCommand }: { device: Device; canCommand: boolean }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [history, setHistory] = useState<Command[] | null>(null);
  const [method, setMethod] = useState("");
  const [paramsText, setParamsText] = useState("{}");
  const [twoWay, setTwoWay] = useState(true);
  const [timeoutMs, setTimeoutMs] = useState(10_000);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Command | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [paramsError, setParamsError] = useState(false);

  const loadHistory = () =>
    api<Command[]>(`/api/devices/${encodeURIComponent(device.id)}/commands`).then(
      (list) => setHistory(Array.isArray(list) ? list : []),
      () => setHistory([]),
    );
  // biome-ignore lint/correctness/useExhaustiveDependencies: load once per device
  useEffect(() => {
    void loadHistory();
  }, [device.id]);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    let params: unknown;
    try {
      params = paramsText.trim() ? JSON.parse(paramsText) : undefined;
      setParamsError(false);
    } catch {
      setParamsError(true);
      return;
    }
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(
        await api<Command>(`/api/devices/${encodeURIComponent(device.id)}/rpc`, {
          method: "POST",
          body: { method: method.trim(), params, oneway: !twoWay, timeoutMs },
        }),
      );
    } catch (err) {
      // 409 (not connected) and 504 (no reply in time) still describe the stored command.
      if (err instanceof ApiError && (err.status === 409 || err.status === 504) && typeof err.problem.id === "string")
        setResult(err.problem as unknown as Command);
      else setError(err);
    } finally {
      setBusy(false);
      void loadHistory();
    }
  };

  const suggestions = [...(METHOD_SUGGESTIONS[device.type] ?? []), ...COMMON_METHODS];
  return (
    <section className="card commands-card" aria-labelledby="commands-title">
      <h2 id="commands-title">{t("device.commands.title")}</h2>
      {canCommand && (
        <form className="command-form" onSubmit={send} data-testid="command-form">
          <div className="field">
            <label htmlFor="cmd-method">{t("device.commands.method")}</label>
            <input
              id="cmd-method"
              list="cmd-methods"
              required
              maxLength={100}
              value={method}
              onChange={(e) => setMethod(e.target.value)}
              placeholder={suggestions[0]}
            />
            <datalist id="cmd-methods">
              {[...new Set(suggestions)].map((m) => (
                <option key={m} value={m} />
              ))}
            </datalist>
          </div>
          <div className="field field-params">
            <label htmlFor="cmd-params">{t("device.commands.params")}</label>
            <textarea
              id="cmd-params"
              rows={3}
              spellCheck={false}
              value={paramsText}
              onChange={(e) => setParamsText(e.target.value)}
              aria-invalid={paramsError}
              className="mono"
            />
            {paramsError && <span className="field-error">{t("device.commands.badJson")}</span>}
          </div>
          <fieldset className="command-mode">
            <legend>{t("device.commands.mode")}</legend>
            <label className="check">
              <input type="radio" name="cmd-mode" checked={twoWay} onChange={() => setTwoWay(true)} /> {t("device.commands.twoWay")}
            </label>
            <label className="check">
              <input type="radio" name="cmd-mode" checked={!twoWay} onChange={() => setTwoWay(false)} /> {t("device.commands.oneWay")}
            </label>
            <label className="select-field compact">
              <span>{t("device.commands.timeout")}</span>
              <select value={timeoutMs} onChange={(e) => setTimeoutMs(Number(e.target.value))}>
                {[5_000, 10_000, 30_000, 60_000].map((ms) => (
                  <option key={ms} value={ms}>
                    {t("device.commands.seconds", { count: ms / 1000 })}
                  </option>
                ))}
              </select>
            </label>
          </fieldset>
          <div className="command-submit">
            <button type="submit" className="btn btn-primary" disabled={busy || !method.trim()}>
              <Icon name="send" size={16} /> {busy ? t("device.commands.sending") : t("device.commands.send")}
            </button>
          </div>
        </form>
      )}
      {error !== null && (
        <div className="alert alert-error" role="alert">
          <FormError error={error} />
        </div>
      )}
      {result && (
        <div className={`command-result tone-${commandTone(result.status)}`} role="status" data-testid="command-result">
          <span className={`status status-${commandTone(result.status)}`}>{t(`commandStatus.${result.status}`, { defaultValue: result.status })}</span>
          <span className="muted">{t(`device.commands.explain.${result.status}`, { defaultValue: "" })}</span>
          {result.response !== null && result.response !== undefined && <pre className="json">{JSON.stringify(result.response, null, 2)}</pre>}
          {result.error && <code className="break">{result.error}</code>}
        </div>
      )}
      <h3 className="subsection-title">{t("device.commands.history")}</h3>
      {!history ? (
        <p className="muted">{t("common.loading")}</p>
      ) : history.length === 0 ? (
        <p className="muted">{t("device.commands.none")}</p>
      ) : (
        <div className="table-scroll">
          <table className="table table-compact" data-testid="commands-table">
            <thead>
              <tr>
                <th>{t("device.commands.at")}</th>
                <th>{t("device.commands.method")}</th>
                <th>{t("device.commands.params")}</th>
                <th>{t("device.commands.mode")}</th>
                <th>{t("device.commands.status")}</th>
                <th>{t("device.commands.response")}</th>
                <th>{t("device.commands.by")}</th>
              </tr>
            </thead>
            <tbody>
              {history.map((c) => (
                <tr key={c.id}>
                  <td className="nowrap">{formatDateTime(c.createdAt, lang)}</td>
                  <td>
                    <code>{c.method}</code>
                  </td>
                  <td>
                    <code className="clip">{c.params === null || c.params === undefined ? "—" : JSON.stringify(c.params)}</code>
                  </td>
                  <td className="nowrap">{c.twoWay ? t("device.commands.twoWayShort") : t("device.commands.oneWayShort")}</td>
                  <td>
                    <span className={`status status-${commandTone(c.status)}`}>{t(`commandStatus.${c.status}`, { defaultValue: c.status })}</span>
                  </td>
                  <td>
                    <code className="clip">{c.error ?? (c.response === null || c.response === undefined ? "—" : JSON.stringify(c.response))}</code>
                  </td>
                  <td>{c.createdBy}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
