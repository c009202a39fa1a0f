// Alarms (/alarms): a live list, active first and by severity, with filters (status,
// acknowledgement, severity, type, commune, device) kept in the address, and a detail panel
// (?id=) with the history timeline and the actions of alarms:manage: acknowledge, clear,
// assign, comment.
import { type FormEvent, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { type Agency, ApiError, api, type User } from "../../shared/api";
import { formatDateTime, formatNumber, formatRelative } from "../../shared/format";
import { SeverityBadge } from "../AlarmBanner";
import { useAlarms } from "../alarms";
import { useAuth } from "../auth";
import { loadAgencies } from "../data";
import { TypeIcon } from "../deviceIcons";
import { FormError } from "../deviceParts";
import { Icon } from "../icons";
import { type Alarm, type AlarmHistory, alarmsOf, compareAlarms, isSeverity, SEVERITIES, type Severity } from "../iot";
import { throttle, useLiveEvents } from "../live";
import { Link, navigate, useLocation } from "../../shared/router";
import { useAgencyName } from "../useAgencyName";
import { useCommuneName } from "../useCommuneName";
import { useNow } from "../useNow";
import { alarmThreshold, alarmTitle, alarmValue, type Profiles, useProfiles } from "../useProfiles";
import { ErrorMessage } from "./Misc";

const LIMIT = 200;

interface Filters {
  status: "active" | "cleared" | "all";
  ack: "" | "unacked" | "acked";
  severities: Severity[];
  type: string;
  commune: string;
  device: string;
  id: string;
}

function useAlarmFilters(): Filters & { set: (patch: Record<string, string>) => void } {
  const { search } = useLocation();
  const p = new URLSearchParams(search);
  const status = p.get("status");
  const ack = p.get("ack");
  return {
    status: status === "cleared" || status === "all" ? status : "active",
    ack: ack === "unacked" || ack === "acked" ? ack : "",
    severities: (p.get("severity") ?? "").split(",").filter(isSeverity),
    type: p.get("type") ?? "",
    commune: p.get("commune") ?? "",
    device: p.get("device") ?? "",
    id: p.get("id") ?? "",
    set: (patch) => {
      const next = new URLSearchParams(search);
      for (const [k, v] of Object.entries(patch)) {
        if (v) next.set(k, v);
        else next.delete(k);
      }
      if (next.get("status") === "active") next.delete("status");
      const qs = next.toString();
      navigate(`/alarms${qs ? `?${qs}` : ""}`, { replace: true });
    },
  };
}

function matches(a: Alarm, f: Filters): boolean {
  if (f.status !== "all" && a.status !== f.status) return false;
  if (f.ack === "acked" && !a.acknowledged) return false;
  if (f.ack === "unacked" && a.acknowledged) return false;
  if (f.severities.length && !f.severities.includes(a.severity)) return false;
  if (f.type && a.type !== f.type) return false;
  if (f.commune && a.commune !== f.commune) return false;
  if (f.device && a.deviceId !== f.device) return false;
  return true;
}

function queryOf(f: Filters): string {
  const q = new URLSearchParams({ limit: String(LIMIT) });
  if (f.status !== "all") q.set("status", f.status);
  if (f.ack) q.set("acknowledged", String(f.ack === "acked"));
  if (f.severities.length) q.set("severity", f.severities.join(","));
  if (f.type) q.set("type", f.type);
  if (f.commune) q.set("commune", f.commune);
  if (f.device) q.set("device", f.device);
  return q.toString();
}

export function AlarmsPage() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const f = useAlarmFilters();
  const alarmsCtx = useAlarms();
  const profiles = useProfiles();
  const communeName = useCommuneName();
  const agencyName = useAgencyName();
  const now = useNow(15_000);
  const [list, setList] = useState<Alarm[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [flash, setFlash] = useState<Set<string>>(new Set());
  const query = queryOf(f);
  const filtersRef = useRef(f);
  filtersRef.current = f;

  useEffect(() => {
    let live = true;
    setError(null);
    api<unknown>(`/api/alarms?${query}`).then(
      (r) => live && setList(alarmsOf(r).sort(compareAlarms)),
      (err) => {
        if (!live) return;
        setError(err);
        setList([]);
      },
    );
    return () => {
      live = false;
    };
  }, [query]);

  const flashIt = useCallback((id: string) => {
    setFlash((s) => new Set(s).add(id));
    window.setTimeout(
      () =>
        setFlash((s) => {
          const n = new Set(s);
          n.delete(id);
          return n;
        }),
      4000,
    );
  }, []);

  const upsert = useCallback((a: Alarm) => {
    setList((l) => {
      const rest = (l ?? []).filter((x) => x.id !== a.id);
      return (matches(a, filtersRef.current) ? [a, ...rest] : rest).sort(compareAlarms);
    });
  }, []);

  useLiveEvents((e) => {
    if (!e.topic.startsWith("alarm.")) return;
    const a = e.payload as Alarm;
    if (!a || typeof a.id !== "string" || !isSeverity(a.severity)) return;
    upsert(a);
    flashIt(a.id);
  });

  const types = useMemo(() => {
    const known = new Set<string>(list?.map((a) => a.type) ?? []);
    for (const a of alarmsCtx.active) known.add(a.type);
    if (f.type) known.add(f.type);
    return [...known].sort();
  }, [list, alarmsCtx.active, f.type]);

  const summary = alarmsCtx.summary;
  const toggleSeverity = (s: Severity) => {
    const set = new Set(f.severities);
    if (set.has(s)) set.delete(s);
    else set.add(s);
    f.set({ severity: SEVERITIES.filter((x) => set.has(x)).join(",") });
  };

  if (error instanceof ApiError && error.status === 404 && !f.id)
    return (
      <div className="page">
        <header className="page-head">
          <div>
            <h1>{t("alarms.title")}</h1>
            <p className="page-sub">{t("alarms.subtitle")}</p>
          </div>
        </header>
        <section className="card empty-card">
          <Icon name="alarms" size={36} />
          <h2>{t("alarms.unavailableTitle")}</h2>
          <p className="muted">{t("alarms.unavailable")}</p>
        </section>
      </div>
    );

  const anyFilter = f.status !== "active" || f.ack || f.severities.length || f.type || f.commune || f.device;
  return (
    <div className={`page page-wide alarms-page ${f.id ? "with-detail" : ""}`}>
      <header className="page-head">
        <div>
          <h1>{t("alarms.title")}</h1>
          <p className="page-sub">{t("alarms.subtitle")}</p>
        </div>
        {summary && (
          <fieldset className="severity-summary">
            <legend className="visually-hidden">{t("alarms.activeBySeverity")}</legend>
            {SEVERITIES.map((s) => (
              <button
                key={s}
                type="button"
                className={`sev-tile sev-tile-${s} ${f.severities.includes(s) ? "selected" : ""}`}
                aria-pressed={f.severities.includes(s)}
                onClick={() => toggleSeverity(s)}
                data-testid={`summary-${s}`}
              >
                <span className="sev-tile-value">{formatNumber(summary.bySeverity[s], lang, 0)}</span>
                <span className="sev-tile-label">{t(`severity.${s}`)}</span>
                {summary.unacknowledgedBySeverity[s] > 0 && (
                  <span className="sev-tile-unacked">{t("alarms.unackedShort", { count: summary.unacknowledgedBySeverity[s] })}</span>
                )}
              </button>
            ))}
          </fieldset>
        )}
      </header>

      <div className="filter-bar card">
        <label className="select-field">
          <span>{t("alarms.status")}</span>
          <select value={f.status} onChange={(e) => f.set({ status: e.target.value })} data-testid="filter-status">
            <option value="active">{t("alarmStatus.active")}</option>
            <option value="cleared">{t("alarmStatus.cleared")}</option>
            <option value="all">{t("common.all")}</option>
          </select>
        </label>
        <label className="select-field">
          <span>{t("alarms.acknowledgement")}</span>
          <select value={f.ack} onChange={(e) => f.set({ ack: e.target.value })}>
            <option value="">{t("common.all")}</option>
            <option value="unacked">{t("alarmStatus.unacked")}</option>
            <option value="acked">{t("alarmStatus.acked")}</option>
          </select>
        </label>
        <fieldset className="severity-filter">
          <legend>{t("alarms.severity")}</legend>
          {SEVERITIES.map((s) => (
            <button
              key={s}
              type="button"
              className={`sev-toggle sev-${s} ${f.severities.includes(s) ? "on" : ""}`}
              aria-pressed={f.severities.includes(s)}
              onClick={() => toggleSeverity(s)}
            >
              {t(`severity.${s}`)}
            </button>
          ))}
        </fieldset>
        <label className="select-field">
          <span>{t("alarms.type")}</span>
          <select value={f.type} onChange={(e) => f.set({ type: e.target.value })}>
            <option value="">{t("common.all")}</option>
            {types.map((ty) => (
              <option key={ty} value={ty}>
                {t(`alarmType.${ty}`, { defaultValue: ty })}
              </option>
            ))}
          </select>
        </label>
        <label className="select-field">
          <span>{t("alarms.commune")}</span>
          <select value={f.commune} onChange={(e) => f.set({ commune: e.target.value })}>
            <option value="">{t("common.all")}</option>
            {[...communeName.units]
              .sort((a, b) => a.name.localeCompare(b.name, "vi"))
              .map((u) => (
                <option key={u.code} value={u.code}>
                  {lang === "en" ? u.fullNameEn || u.fullName : u.fullName}
                </option>
              ))}
          </select>
        </label>
        {f.device && (
          <span className="filter-chip">
            {t("alarms.deviceFilter")}: <code>{f.device}</code>
            <button type="button" aria-label={t("common.remove")} onClick={() => f.set({ device: "" })}>
              <Icon name="close" size={14} />
            </button>
          </span>
        )}
        {anyFilter && (
          <button
            type="button"
            className="btn btn-ghost"
            onClick={() => navigate(f.id ? `/alarms?id=${encodeURIComponent(f.id)}` : "/alarms", { replace: true })}
          >
            {t("common.clearFilters")}
          </button>
        )}
      </div>

      {error !== null && !(error instanceof ApiError && error.status === 404) && (
        <div className="alert alert-error" role="alert">
          <ErrorMessage error={error} />
        </div>
      )}

      <div className="alarms-layout">
        <div className="alarms-list">
          {!list ? (
            <p className="muted">{t("common.loading")}</p>
          ) : list.length === 0 ? (
            <section className="card empty-card">
              <Icon name="check" size={36} />
              <h2>{f.status === "active" && !anyFilter ? t("alarms.noneActiveTitle") : t("alarms.noneTitle")}</h2>
              <p className="muted">{f.status === "active" && !anyFilter ? t("alarms.noneActive") : t("alarms.none")}</p>
            </section>
          ) : (
            <>
              <div className="table-meta muted">{t("alarms.shown", { count: list.length })}</div>
              <div className="card table-card">
                <table className="table alarm-table" data-testid="alarms-table">
                  <thead>
                    <tr>
                      <th>{t("alarms.severity")}</th>
                      <th>{t("alarms.alarm")}</th>
                      <th>{t("alarms.value")}</th>
                      <th>{t("alarms.started")}</th>
                      <th>{t("alarms.status")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((a) => (
                      <tr
                        key={a.id}
                        className={`alarm-row ${a.status} ${a.id === f.id ? "selected" : ""} ${flash.has(a.id) ? "flash" : ""} ${!a.acknowledged && a.status === "active" ? "unacked" : ""}`}
                        onClick={() => f.set({ id: a.id })}
                        data-alarm={a.id}
                        data-severity={a.severity}
                      >
                        <td>
                          <SeverityBadge severity={a.severity} />
                        </td>
                        <td>
                          <button type="button" className="row-link" onClick={() => f.set({ id: a.id })}>
                            {alarmTitle(a, profiles, lang, t)}
                          </button>
                          <div className="muted small alarm-where">
                            <TypeIcon type={a.deviceType} size={14} /> {a.deviceName}
                            {a.commune && <> · {communeName.name(a.commune)}</>}
                          </div>
                        </td>
                        <td className="nowrap num">
                          <div className="strong">{alarmValue(a, profiles, lang, t)}</div>
                          <div className="muted small">{alarmThreshold(a, profiles, lang, t)}</div>
                        </td>
                        <td className="nowrap" title={formatDateTime(a.startedAt, lang)}>
                          <div>{formatRelative(a.startedAt, lang, now)}</div>
                          <div className="muted small">{formatDateTime(a.startedAt, lang)}</div>
                        </td>
                        <td>
                          <AlarmState alarm={a} />
                          {(a.assigneeAgency || a.assigneeUser) && (
                            <div className="muted small">
                              <Icon name="user" size={13} /> {a.assigneeAgency ? agencyName(a.assigneeAgency) : t("alarms.assignedUser")}
                            </div>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {list.length >= LIMIT && <p className="muted small">{t("alarms.limited", { count: LIMIT })}</p>}
            </>
          )}
        </div>
        {f.id && <AlarmDetail id={f.id} profiles={profiles} onClose={() => f.set({ id: "" })} onChanged={upsert} />}
      </div>
    </div>
  );
}

function AlarmState({ alarm }: { alarm: Alarm }) {
  const { t } = useTranslation();
  return (
    <div className="alarm-state">
      <span className={`status ${alarm.status === "active" ? "status-bad" : "status-off"}`}>{t(`alarmStatus.${alarm.status}`)}</span>
      <span className={`status ${alarm.acknowledged ? "status-ok" : "status-warn"}`}>
        {alarm.acknowledged ? t("alarmStatus.acked") : t("alarmStatus.unacked")}
      </span>
    </div>
  );
}

const HISTORY_ICONS: Record<string, "alarms" | "check" | "user" | "comment" | "refresh" | "close"> = {
  raised: "alarms",
  escalated: "alarms",
  deescalated: "refresh",
  value: "refresh",
  acknowledged: "check",
  assigned: "user",
  commented: "comment",
  cleared: "close",
};

function AlarmDetail({ id, profiles, onClose, onChanged }: { id: string; profiles: Profiles; onClose: () => void; onChanged: (a: Alarm) => void }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const { can } = useAuth();
  const canManage = can("alarms:manage");
  const ctx = useAlarms();
  const communeName = useCommuneName();
  const agencyName = useAgencyName();
  const [alarm, setAlarm] = useState<(Alarm & { history: AlarmHistory[] }) | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [agencies, setAgencies] = useState<Agency[]>([]);
  const [users, setUsers] = useState<User[]>([]);
  const [comment, setComment] = useState("");
  const [clearNote, setClearNote] = useState("");
  const [clearing, setClearing] = useState(false);
  const [assignAgency, setAssignAgency] = useState("");
  const [assignUser, setAssignUser] = useState("");

  const load = useCallback(() => {
    api<Alarm & { history: AlarmHistory[] }>(`/api/alarms/${encodeURIComponent(id)}`).then((a) => {
      setAlarm(a);
      setError(null);
    }, setError);
  }, [id]);
  useEffect(() => {
    setAlarm(null);
    setClearing(false);
    load();
  }, [load]);
  const reload = useMemo(() => throttle(load, 800), [load]);
  useEffect(() => () => reload.cancel(), [reload]);
  useEffect(() => {
    setAssignAgency(alarm?.assigneeAgency ?? "");
    setAssignUser(alarm?.assigneeUser ?? "");
  }, [alarm?.assigneeAgency, alarm?.assigneeUser]);

  useEffect(() => {
    if (!canManage) return;
    loadAgencies().then(setAgencies, () => {});
    if (can("users:read")) api<User[]>("/api/users?limit=100").then(setUsers, () => {});
  }, [canManage, can]);

  useLiveEvents((e) => {
    if (e.topic.startsWith("alarm.") && (e.payload as Alarm)?.id === id) reload.run();
  });

  const act = async (name: string, run: () => Promise<Alarm | unknown>) => {
    setBusy(name);
    setActionError(null);
    try {
      const r = await run();
      if (r && typeof r === "object" && "severity" in r) {
        onChanged(r as Alarm);
        ctx.apply(r as Alarm);
      }
      load();
      return true;
    } catch (err) {
      setActionError(err);
      return false;
    } finally {
      setBusy(null);
    }
  };

  const path = `/api/alarms/${encodeURIComponent(id)}`;
  const onAck = () => act("ack", () => ctx.ack(id));
  const onClear = async (e: FormEvent) => {
    e.preventDefault();
    if (await act("clear", () => api<Alarm>(`${path}/clear`, { method: "POST", body: clearNote.trim() ? { comment: clearNote.trim() } : {} }))) {
      setClearing(false);
      setClearNote("");
    }
  };
  const onAssign = (e: FormEvent) => {
    e.preventDefault();
    void act("assign", () => api<Alarm>(`${path}/assign`, { method: "POST", body: { agency: assignAgency || null, user: assignUser || null } }));
  };
  const onComment = async (e: FormEvent) => {
    e.preventDefault();
    if (!comment.trim()) return;
    if (await act("comment", () => api(`${path}/comments`, { method: "POST", body: { text: comment.trim() } }))) setComment("");
  };

  const userName = (uid: string | null) => (uid ? (users.find((u) => u.id === uid)?.displayName ?? uid.slice(0, 8)) : "—");
  const describe = (h: AlarmHistory): string => {
    const d = h.details ?? {};
    switch (h.kind) {
      case "raised":
        return t("alarms.history.raisedText", { severity: t(`severity.${d.severity}`, { defaultValue: String(d.severity ?? "") }) });
      case "escalated":
      case "deescalated":
        return t(`alarms.history.${h.kind}Text`, {
          from: t(`severity.${d.from}`, { defaultValue: String(d.from ?? "") }),
          to: t(`severity.${d.to}`, { defaultValue: String(d.to ?? "") }),
        });
      case "cleared":
        return d.by === "rule" ? t("alarms.history.clearedByRule") : t("alarms.history.clearedByPerson");
      case "assigned": {
        const ag = (d.agency as { to?: string | null } | undefined)?.to;
        const us = (d.user as { to?: string | null } | undefined)?.to;
        if (!ag && !us) return t("alarms.history.unassigned");
        return t("alarms.history.assignedText", { to: [ag ? agencyName(ag) : null, us ? userName(us) : null].filter(Boolean).join(" · ") });
      }
      default:
        return "";
    }
  };

  return (
    <aside className="card alarm-detail" aria-labelledby="alarm-detail-title" data-testid="alarm-detail">
      <header className="alarm-detail-head">
        <div>
          {alarm && <SeverityBadge severity={alarm.severity} />}
          <h2 id="alarm-detail-title">{alarm ? alarmTitle(alarm, profiles, lang, t) : t("common.loading")}</h2>
        </div>
        <button type="button" className="icon-button" aria-label={t("common.close")} onClick={onClose}>
          <Icon name="close" size={18} />
        </button>
      </header>
      {error !== null ? (
        <div className="alert alert-error">
          <ErrorMessage error={error} />
        </div>
      ) : !alarm ? (
        <p className="muted">{t("common.loading")}</p>
      ) : (
        <>
          <AlarmState alarm={alarm} />
          <dl className="facts facts-compact">
            <dt>{t("alarms.device")}</dt>
            <dd>
              <Link to={`/devices/${encodeURIComponent(alarm.deviceId)}`}>{alarm.deviceName}</Link>
            </dd>
            <dt>{t("alarms.commune")}</dt>
            <dd>{communeName.name(alarm.commune)}</dd>
            <dt>{t("alarms.value")}</dt>
            <dd>{alarmValue(alarm, profiles, lang, t)}</dd>
            <dt>{t("alarms.threshold")}</dt>
            <dd>{alarmThreshold(alarm, profiles, lang, t)}</dd>
            <dt>{t("alarms.started")}</dt>
            <dd>{formatDateTime(alarm.startedAt, lang)}</dd>
            <dt>{t("alarms.updated")}</dt>
            <dd>{formatDateTime(alarm.updatedAt, lang)}</dd>
            {alarm.ackedAt && (
              <>
                <dt>{t("alarms.ackedBy")}</dt>
                <dd>
                  {alarm.ackedBy} · {formatDateTime(alarm.ackedAt, lang)}
                </dd>
              </>
            )}
            {alarm.clearedAt && (
              <>
                <dt>{t("alarms.clearedAt")}</dt>
                <dd>
                  {formatDateTime(alarm.clearedAt, lang)}
                  {alarm.clearedBy ? ` · ${alarm.clearedBy}` : ` · ${t("alarms.byRule")}`}
                </dd>
              </>
            )}
            <dt>{t("alarms.assignee")}</dt>
            <dd>
              {alarm.assigneeAgency || alarm.assigneeUser
                ? [alarm.assigneeAgency ? agencyName(alarm.assigneeAgency) : null, alarm.assigneeUser ? userName(alarm.assigneeUser) : null]
                    .filter(Boolean)
                    .join(" · ")
                : "—"}
            </dd>
          </dl>

          {canManage && (
            <div className="alarm-actions">
              <div className="panel-actions">
                {!alarm.acknowledged && (
                  <button type="button" className="btn btn-primary" onClick={onAck} disabled={busy !== null} data-testid="detail-ack">
                    <Icon name="check" size={16} /> {busy === "ack" ? t("alarms.acking") : t("alarms.ack")}
                  </button>
                )}
                {alarm.status === "active" && !clearing && (
                  <button type="button" className="btn btn-secondary" onClick={() => setClearing(true)} disabled={busy !== null} data-testid="detail-clear">
                    {t("alarms.clear")}
                  </button>
                )}
              </div>
              {clearing && (
                <form className="inline-form" onSubmit={onClear}>
                  <label htmlFor="clear-note" className="panel-label">
                    {t("alarms.clearComment")}
                  </label>
                  <textarea id="clear-note" rows={2} maxLength={2000} value={clearNote} onChange={(e) => setClearNote(e.target.value)} />
                  <p className="muted small">{t("alarms.clearHint")}</p>
                  <div className="panel-actions">
                    <button type="submit" className="btn btn-danger" disabled={busy !== null}>
                      {busy === "clear" ? t("alarms.clearing") : t("alarms.confirmClear")}
                    </button>
                    <button type="button" className="btn btn-ghost" onClick={() => setClearing(false)}>
                      {t("common.cancel")}
                    </button>
                  </div>
                </form>
              )}
              <form className="inline-form assign-form" onSubmit={onAssign}>
                <div className="panel-label">{t("alarms.assign")}</div>
                <div className="assign-row">
                  <select aria-label={t("alarms.assignAgency")} value={assignAgency} onChange={(e) => setAssignAgency(e.target.value)}>
                    <option value="">{t("alarms.noAgency")}</option>
                    {agencies.map((a) => (
                      <option key={a.code} value={a.code}>
                        {lang === "en" ? a.nameEn || a.name : a.name}
                      </option>
                    ))}
                  </select>
                  {users.length > 0 && (
                    <select aria-label={t("alarms.assignUser")} value={assignUser} onChange={(e) => setAssignUser(e.target.value)}>
                      <option value="">{t("alarms.noUser")}</option>
                      {users
                        .filter((u) => u.active)
                        .map((u) => (
                          <option key={u.id} value={u.id}>
                            {u.displayName}
                          </option>
                        ))}
                    </select>
                  )}
                  <button
                    type="submit"
                    className="btn btn-secondary"
                    disabled={busy !== null || (assignAgency === (alarm.assigneeAgency ?? "") && assignUser === (alarm.assigneeUser ?? ""))}
                  >
                    {t("alarms.assignSave")}
                  </button>
                </div>
              </form>
            </div>
          )}
          {actionError !== null && (
            <div className="alert alert-error" role="alert">
              <FormError error={actionError} />
            </div>
          )}

          <h3 className="subsection-title">{t("alarms.historyTitle")}</h3>
          <ol className="timeline" data-testid="alarm-history">
            {[...alarm.history].reverse().map((h) => (
              <li key={h.id} className={`timeline-item kind-${h.kind}`}>
                <span className="timeline-dot" aria-hidden="true">
                  <Icon name={HISTORY_ICONS[h.kind] ?? "refresh"} size={13} />
                </span>
                <div className="timeline-body">
                  <div>
                    <strong>{t(`alarms.history.${h.kind}`, { defaultValue: h.kind })}</strong>
                    <span className="muted"> · {h.actor === "system" ? t("alarms.system") : h.actor}</span>
                  </div>
                  {describe(h) && <div className="small">{describe(h)}</div>}
                  {typeof h.details?.text === "string" && <blockquote className="timeline-comment">{h.details.text}</blockquote>}
                  {typeof h.details?.comment === "string" && h.details.comment && <blockquote className="timeline-comment">{h.details.comment}</blockquote>}
                  <time className="muted small" dateTime={h.at}>
                    {formatDateTime(h.at, lang)}
                  </time>
                </div>
              </li>
            ))}
          </ol>
          {canManage && (
            <form className="inline-form" onSubmit={onComment}>
              <label htmlFor="alarm-comment" className="panel-label">
                {t("alarms.addComment")}
              </label>
              <textarea
                id="alarm-comment"
                rows={2}
                maxLength={2000}
                value={comment}
                onChange={(e) => setComment(e.target.value)}
                placeholder={t("alarms.commentPlaceholder")}
              />
              <div className="panel-actions">
                <button type="submit" className="btn btn-secondary" disabled={busy !== null || !comment.trim()}>
                  <Icon name="comment" size={16} /> {busy === "comment" ? t("alarms.commenting") : t("alarms.comment")}
                </button>
              </div>
            </form>
          )}
        </>
      )}
    </aside>
  );
}
