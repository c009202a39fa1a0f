// IoT devices (/devices): counts, a searchable and filterable list with live state, registration
// of a device (devices:manage; its access token is shown once), enable/disable, new token.
// The filters live in the address (?q=&type=&state=&commune=&agency=) so a view can be shared.
import { type FormEvent, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { type Agency, api } from "../../shared/api";
import { formatDateTime, formatNumber, formatRelative } from "../../shared/format";
import { fold } from "../../shared/text";
import { useAlarms } from "../alarms";
import { useAuth } from "../auth";
import { loadAgencies } from "../data";
import { Dialog, DeviceStatus, DeviceSymbol, FormError, TokenDialog, useDeviceActions } from "../deviceParts";
import { Icon } from "../icons";
import { type Device, DEVICE_TYPES, type DeviceProfile, deviceState, formatValue, primaryKey, type RuleSpec, SEVERITY_RANK, typeLabel } from "../iot";
import { Link, navigate, useLocation } from "../../shared/router";
import { useAgencyName } from "../useAgencyName";
import { useCommuneName } from "../useCommuneName";
import { useDevices } from "../useDevices";
import { useNow } from "../useNow";
import { useProfiles } from "../useProfiles";
import { ErrorMessage } from "./Misc";

const PAGE = 200;
type StateFilter = "" | "online" | "offline" | "alarm" | "disabled";

function useFilters() {
  const { search } = useLocation();
  const params = new URLSearchParams(search);
  const get = (k: string) => params.get(k) ?? "";
  const set = (k: string, v: string) => {
    const next = new URLSearchParams(search);
    if (v) next.set(k, v);
    else next.delete(k);
    const qs = next.toString();
    navigate(`/devices${qs ? `?${qs}` : ""}`, { replace: true });
  };
  return { q: get("q"), type: get("type"), state: get("state") as StateFilter, commune: get("commune"), agency: get("agency"), set };
}

export function DevicesPage() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const { can } = useAuth();
  const canManage = can("devices:manage");
  const { devices, error, put } = useDevices();
  const alarms = useAlarms();
  const profiles = useProfiles();
  const communeName = useCommuneName();
  const agencyName = useAgencyName();
  const now = useNow(30_000);
  const f = useFilters();
  const [shown, setShown] = useState(PAGE);
  const [registering, setRegistering] = useState(false);
  const [created, setCreated] = useState<{ device: Device; token: string } | null>(null);
  const actions = useDeviceActions(put);
  // The search box updates the address after a short pause, not on every key.
  const [query, setQuery] = useState(f.q);
  // biome-ignore lint/correctness/useExhaustiveDependencies: only the typed text matters
  useEffect(() => {
    if (query === f.q) return;
    const timer = window.setTimeout(() => f.set("q", query), 250);
    return () => window.clearTimeout(timer);
  }, [query]);

  const all = devices ?? [];
  const alarmOf = (d: Device) => alarms.worstByDevice.get(d.id);
  const counts = useMemo(() => {
    const c = { total: all.length, online: 0, offline: 0, alarm: 0, disabled: 0 };
    for (const d of all) {
      const s = deviceState(d);
      if (s === "ok") c.online++;
      else if (s === "offline") c.offline++;
      else c.disabled++;
      if (alarms.worstByDevice.has(d.id)) c.alarm++;
    }
    return c;
  }, [all, alarms.worstByDevice]);

  const filtered = useMemo(() => {
    const q = fold(f.q);
    const rank = (d: Device) => {
      const a = alarms.worstByDevice.get(d.id);
      return a ? 10 + SEVERITY_RANK[a] : deviceState(d) === "offline" ? 1 : 0;
    };
    return all
      .filter((d) => {
        if (q && !fold(`${d.name} ${d.id}`).includes(q)) return false;
        if (f.type && d.type !== f.type) return false;
        if (f.commune && d.commune !== f.commune) return false;
        if (f.agency && d.agency !== f.agency) return false;
        const s = deviceState(d);
        if (f.state === "online" && s !== "ok") return false;
        if (f.state === "offline" && s !== "offline") return false;
        if (f.state === "disabled" && s !== "disabled") return false;
        if (f.state === "alarm" && !alarms.worstByDevice.has(d.id)) return false;
        return true;
      })
      .sort((a, b) => rank(b) - rank(a) || a.name.localeCompare(b.name, "vi"));
  }, [all, f.q, f.type, f.state, f.commune, f.agency, alarms.worstByDevice]);

  const types = useMemo(() => [...new Set([...DEVICE_TYPES, ...all.map((d) => d.type)])], [all]);
  const communes = useMemo(
    () =>
      [...new Set(all.map((d) => d.commune).filter((c): c is string => !!c))]
        .map((code) => ({ code, name: communeName.name(code) }))
        .sort((a, b) => a.name.localeCompare(b.name, "vi")),
    [all, communeName],
  );
  const agencies = useMemo(
    () =>
      [...new Set(all.map((d) => d.agency).filter((c): c is string => !!c))]
        .map((code) => ({ code, name: agencyName(code) }))
        .sort((a, b) => a.name.localeCompare(b.name, "vi")),
    [all, agencyName],
  );

  const stat = (key: StateFilter, label: string, value: number, tone: string) => (
    <button
      type="button"
      className={`card stat-card stat-button tone-${tone} ${f.state === key ? "selected" : ""}`}
      aria-pressed={f.state === key}
      onClick={() => f.set("state", f.state === key ? "" : key)}
      data-testid={`devices-count-${key || "all"}`}
    >
      <span className="stat-label">{label}</span>
      <span className="stat-value">{devices ? formatNumber(value, lang, 0) : "…"}</span>
    </button>
  );

  const anyFilter = f.q || f.type || f.state || f.commune || f.agency;

  return (
    <div className="page page-wide">
      <header className="page-head">
        <div>
          <h1>{t("devices.title")}</h1>
          <p className="page-sub">{t("devices.subtitle")}</p>
        </div>
        {canManage && (
          <button type="button" className="btn btn-primary" onClick={() => setRegistering(true)} data-testid="register-device">
            <Icon name="plus" size={18} /> {t("devices.register")}
          </button>
        )}
      </header>

      <div className="stat-grid stat-grid-5">
        {stat("", t("devices.countAll"), counts.total, "primary")}
        {stat("online", t("devices.countOnline"), counts.online, "ok")}
        {stat("offline", t("devices.countOffline"), counts.offline, "muted")}
        {stat("alarm", t("devices.countAlarm"), counts.alarm, "bad")}
        {stat("disabled", t("devices.countDisabled"), counts.disabled, "muted")}
      </div>

      <div className="filter-bar card">
        <div className="search-box filter-search">
          <span className="search-icon">
            <Icon name="search" size={18} />
          </span>
          <input
            type="search"
            aria-label={t("devices.search")}
            placeholder={t("devices.searchPlaceholder")}
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            data-testid="devices-search"
          />
        </div>
        <label className="select-field">
          <span>{t("devices.type")}</span>
          <select value={f.type} onChange={(e) => f.set("type", e.target.value)}>
            <option value="">{t("common.all")}</option>
            {types.map((ty) => (
              <option key={ty} value={ty}>
                {typeLabel(ty, t)}
              </option>
            ))}
          </select>
        </label>
        <label className="select-field">
          <span>{t("devices.state")}</span>
          <select value={f.state} onChange={(e) => f.set("state", e.target.value)}>
            <option value="">{t("common.all")}</option>
            <option value="online">{t("deviceState.ok")}</option>
            <option value="offline">{t("deviceState.offline")}</option>
            <option value="alarm">{t("devices.withAlarm")}</option>
            <option value="disabled">{t("deviceState.disabled")}</option>
          </select>
        </label>
        <label className="select-field">
          <span>{t("devices.commune")}</span>
          <select value={f.commune} onChange={(e) => f.set("commune", e.target.value)}>
            <option value="">{t("common.all")}</option>
            {communes.map((c) => (
              <option key={c.code} value={c.code}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label className="select-field">
          <span>{t("devices.agency")}</span>
          <select value={f.agency} onChange={(e) => f.set("agency", e.target.value)}>
            <option value="">{t("common.all")}</option>
            {agencies.map((a) => (
              <option key={a.code} value={a.code}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        {anyFilter && (
          <button
            type="button"
            className="btn btn-ghost"
            onClick={() => {
              setQuery("");
              navigate("/devices", { replace: true });
            }}
          >
            {t("common.clearFilters")}
          </button>
        )}
      </div>

      {(error !== null || actions.error !== null) && (
        <div className="alert alert-error" role="alert">
          {error !== null ? <ErrorMessage error={error} /> : <FormError error={actions.error} />}
        </div>
      )}

      {!devices ? (
        error === null && <p className="muted">{t("common.loading")}</p>
      ) : devices.length === 0 ? (
        <section className="card empty-card">
          <Icon name="iot" size={36} />
          <h2>{t("devices.emptyTitle")}</h2>
          <p className="muted">{t("devices.emptyText")}</p>
        </section>
      ) : (
        <>
          <div className="table-meta muted">
            {anyFilter ? t("devices.shownFiltered", { count: filtered.length, total: all.length }) : t("devices.shown", { count: all.length })}
          </div>
          <div className="card table-card">
            <table className="table device-table" data-testid="devices-table">
              <thead>
                <tr>
                  <th>{t("devices.device")}</th>
                  <th>{t("devices.type")}</th>
                  <th>{t("devices.state")}</th>
                  <th>{t("devices.latest")}</th>
                  <th>{t("devices.commune")}</th>
                  <th>{t("devices.agency")}</th>
                  <th>{t("devices.lastSeen")}</th>
                  {canManage && <th className="actions-col">{t("devices.actions")}</th>}
                </tr>
              </thead>
              <tbody>
                {filtered.slice(0, shown).map((d) => {
                  const profile = profiles.byId.get(d.profileId);
                  const alarm = alarmOf(d);
                  return (
                    <tr key={d.id} data-device={d.id} className={alarm ? `row-alarm row-${alarm}` : undefined}>
                      <td>
                        <div className="device-cell">
                          <DeviceSymbol device={d} alarm={alarm} />
                          <div>
                            <Link to={`/devices/${encodeURIComponent(d.id)}`} className="strong device-link">
                              {d.name}
                            </Link>
                            <div className="muted small mono">{d.id}</div>
                          </div>
                        </div>
                      </td>
                      <td>{typeLabel(d.type, t)}</td>
                      <td>
                        <DeviceStatus device={d} alarm={alarm} />
                      </td>
                      <td className="nowrap num">
                        <LatestCell device={d} profile={profile} />
                      </td>
                      <td>{communeName.name(d.commune)}</td>
                      <td>{agencyName(d.agency)}</td>
                      <td className="nowrap" title={formatDateTime(d.lastSeenAt, lang)}>
                        {d.lastSeenAt ? formatRelative(d.lastSeenAt, lang, now) : <span className="muted">{t("devices.never")}</span>}
                      </td>
                      {canManage && (
                        <td className="actions-col">
                          <div className="row-actions">
                            <button
                              type="button"
                              className={`icon-button row-action ${d.enabled ? "" : "off"}`}
                              disabled={actions.busy === d.id}
                              onClick={() => actions.setEnabled(d, !d.enabled)}
                              aria-label={`${d.enabled ? t("devices.disable") : t("devices.enable")}: ${d.name}`}
                              title={d.enabled ? t("devices.disableHint") : t("devices.enableHint")}
                            >
                              <Icon name="power" size={16} />
                            </button>
                            <button
                              type="button"
                              className="icon-button row-action"
                              disabled={actions.busy === d.id}
                              onClick={() => actions.askRegenerate(d)}
                              aria-label={`${t("devices.newToken")}: ${d.name}`}
                              title={t("devices.regenerateTitle")}
                            >
                              <Icon name="key" size={16} />
                            </button>
                          </div>
                        </td>
                      )}
                    </tr>
                  );
                })}
                {filtered.length === 0 && (
                  <tr>
                    <td colSpan={canManage ? 8 : 7} className="muted empty-row">
                      {t("devices.noMatch")}
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          {filtered.length > shown && (
            <div className="pager">
              <button type="button" className="btn btn-secondary" onClick={() => setShown((n) => n + PAGE)}>
                {t("common.loadMore")}
              </button>
            </div>
          )}
        </>
      )}

      {registering && (
        <RegisterDialog
          onClose={() => setRegistering(false)}
          onCreated={(device, token) => {
            setRegistering(false);
            put(device);
            setCreated({ device, token });
          }}
        />
      )}
      {created && <TokenDialog device={created.device} token={created.token} fresh onClose={() => setCreated(null)} />}
      {actions.dialogs}
    </div>
  );
}

function LatestCell({ device, profile }: { device: Device; profile: DeviceProfile | undefined }) {
  const { t, i18n } = useTranslation();
  const key = primaryKey(device, profile);
  const latest = key ? device.latest[key] : undefined;
  if (!key || !latest) return <span className="muted">—</span>;
  return (
    <span className={latest.outOfRange ? "out-of-range" : undefined} title={latest.outOfRange ? t("device.outOfRange") : undefined}>
      {formatValue(latest.value, i18n.language, t, profile?.keys[key]?.unit)}
    </span>
  );
}

const ID_PATTERN = "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}";
const TOKEN_PATTERN = "[A-Za-z0-9_\\-]{8,64}";

function RegisterDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (d: Device, token: string) => void }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const profiles = useProfiles();
  const [agencies, setAgencies] = useState<Agency[]>([]);
  const [form, setForm] = useState({
    name: "",
    id: "",
    profileId: "",
    lat: "",
    lon: "",
    agency: "",
    accessToken: "",
    bd1: "",
    bd2: "",
    bd3: "",
    floodRule: true,
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [invalid, setInvalid] = useState<string | null>(null);

  useEffect(() => {
    loadAgencies().then(setAgencies, () => {});
  }, []);
  const list = [...profiles.byId.values()].sort((a, b) => a.name.localeCompare(b.name, "vi"));
  const profileId = form.profileId || list[0]?.id || "";
  const water = profiles.byId.get(profileId)?.type === "WaterLevelObserved";
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setInvalid(null);
    const num = (s: string) => (s.trim() === "" ? null : Number(s.replace(",", ".")));
    const lat = num(form.lat);
    const lon = num(form.lon);
    if ((lat === null) !== (lon === null) || (lat !== null && !(lat >= -90 && lat <= 90)) || (lon !== null && !(lon >= -180 && lon <= 180))) {
      setInvalid(t("devices.form.badPlace"));
      return;
    }
    const body: Record<string, unknown> = { name: form.name.trim(), profileId };
    if (form.id.trim()) body.id = form.id.trim();
    if (lat !== null) Object.assign(body, { lat, lon });
    if (form.agency) body.agency = form.agency;
    if (form.accessToken.trim()) body.accessToken = form.accessToken.trim();
    if (water) {
      const levels = { bd1: num(form.bd1), bd2: num(form.bd2), bd3: num(form.bd3) };
      const given = Object.values(levels).filter((v) => v !== null) as number[];
      if (given.some((v) => !Number.isFinite(v))) {
        setInvalid(t("devices.form.badLevels"));
        return;
      }
      if (given.length === 3) {
        if (!(levels.bd1! < levels.bd2! && levels.bd2! < levels.bd3!)) {
          setInvalid(t("devices.form.badLevels"));
          return;
        }
        body.serverAttributes = { alarmLevels: levels };
        if (form.floodRule) {
          const rule: RuleSpec & { hysteresis: number } = {
            id: "flood-level",
            kind: "threshold",
            name: t("devices.form.floodRuleName", { lng: "vi" }),
            key: "waterLevel",
            direction: "above",
            levels: [
              { value: levels.bd1!, severity: "minor", label: "BĐ1" },
              { value: levels.bd2!, severity: "major", label: "BĐ2" },
              { value: levels.bd3!, severity: "critical", label: "BĐ3" },
            ],
            hysteresis: 0.05,
          };
          body.rules = [rule];
        }
      } else if (given.length) {
        setInvalid(t("devices.form.allLevels"));
        return;
      }
    }
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ device: Device; accessToken: string }>("/api/devices", { method: "POST", body });
      onCreated(r.device, r.accessToken);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Dialog title={t("devices.registerTitle")} onClose={onClose} wide testId="register-dialog">
      <form onSubmit={submit} className="form-grid" noValidate={false}>
        <div className="field span-2">
          <label htmlFor="dev-name">{t("devices.form.name")}</label>
          <input id="dev-name" required maxLength={200} value={form.name} onChange={set("name")} placeholder={t("devices.form.namePlaceholder")} />
        </div>
        <div className="field">
          <label htmlFor="dev-profile">{t("devices.form.profile")}</label>
          <select id="dev-profile" value={profileId} onChange={set("profileId")} required>
            {list.map((p) => (
              <option key={p.id} value={p.id}>
                {lang === "en" ? p.nameEn || p.name : p.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="dev-id">{t("devices.form.id")}</label>
          <input id="dev-id" pattern={ID_PATTERN} maxLength={64} value={form.id} onChange={set("id")} placeholder={t("devices.form.idPlaceholder")} />
        </div>
        <div className="field">
          <label htmlFor="dev-lat">{t("devices.form.lat")}</label>
          <input id="dev-lat" inputMode="decimal" value={form.lat} onChange={set("lat")} placeholder="10.4600" />
        </div>
        <div className="field">
          <label htmlFor="dev-lon">{t("devices.form.lon")}</label>
          <input id="dev-lon" inputMode="decimal" value={form.lon} onChange={set("lon")} placeholder="105.6300" />
        </div>
        <div className="field">
          <label htmlFor="dev-agency">{t("devices.form.agency")}</label>
          <select id="dev-agency" value={form.agency} onChange={set("agency")}>
            <option value="">{t("devices.form.noAgency")}</option>
            {agencies.map((a) => (
              <option key={a.code} value={a.code}>
                {lang === "en" ? a.nameEn || a.name : a.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="dev-token">{t("devices.form.token")}</label>
          <input
            id="dev-token"
            pattern={TOKEN_PATTERN}
            maxLength={64}
            autoComplete="off"
            value={form.accessToken}
            onChange={set("accessToken")}
            placeholder={t("devices.form.tokenPlaceholder")}
          />
        </div>
        {water && (
          <fieldset className="span-2 levels-fieldset">
            <legend>{t("devices.form.levels")}</legend>
            <div className="levels-row">
              {(["bd1", "bd2", "bd3"] as const).map((k) => (
                <div className="field" key={k}>
                  <label htmlFor={`dev-${k}`}>{t(`device.alarmLevel.${k}`)} (m)</label>
                  <input id={`dev-${k}`} inputMode="decimal" value={form[k]} onChange={set(k)} />
                </div>
              ))}
            </div>
            <label className="check">
              <input type="checkbox" checked={form.floodRule} onChange={(e) => setForm((f) => ({ ...f, floodRule: e.target.checked }))} />
              {t("devices.form.floodRule")}
            </label>
          </fieldset>
        )}
        {(invalid || error !== null) && (
          <div className="alert alert-error span-2" role="alert">
            {invalid ?? <FormError error={error} />}
          </div>
        )}
        <div className="dialog-actions span-2">
          <button type="button" className="btn btn-ghost" onClick={onClose}>
            {t("common.cancel")}
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !form.name.trim() || !profileId}>
            {busy ? t("devices.form.saving") : t("devices.form.submit")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
