// Pieces the device list and the device page share: the state pill, a modal dialog, the dialog
// that shows a new access token once, and the enable/disable and new-token actions.
import { type ReactNode, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, api } from "../shared/api";
import { SeverityBadge } from "./AlarmBanner";
import { TypeIcon } from "./deviceIcons";
import { Icon } from "./icons";
import { DEVICE_COLORS, type Device, deviceState, SEVERITY_COLORS, type Severity } from "./iot";

export function DeviceStatus({ device, alarm }: { device: Pick<Device, "enabled" | "online">; alarm?: Severity }) {
  const { t } = useTranslation();
  const state = deviceState(device);
  return (
    <span className="device-status">
      <span className={`status ${state === "ok" ? "status-ok" : "status-off"} ${state === "disabled" ? "status-disabled" : ""}`} data-state={state}>
        {t(`deviceState.${state}`)}
      </span>
      {alarm && <SeverityBadge severity={alarm} compact />}
    </span>
  );
}

/** A round type symbol in the device's state colour, like the map's. */
export function DeviceSymbol({ device, alarm, size = 30 }: { device: Pick<Device, "type" | "enabled" | "online">; alarm?: Severity; size?: number }) {
  const state = deviceState(device);
  const fill = state === "disabled" ? DEVICE_COLORS.disabled : state === "offline" ? DEVICE_COLORS.offline : alarm ? SEVERITY_COLORS[alarm] : DEVICE_COLORS.ok;
  const ring = alarm && state !== "ok" ? SEVERITY_COLORS[alarm] : state === "disabled" ? DEVICE_COLORS.disabledLine : "#fff";
  return (
    <span
      className="device-symbol"
      style={{ width: size, height: size, background: fill, color: state === "disabled" ? DEVICE_COLORS.disabledLine : "#fff", borderColor: ring }}
      aria-hidden="true"
    >
      <TypeIcon type={device.type} size={Math.round(size * 0.6)} />
    </span>
  );
}

/** A modal <dialog>: opens when mounted, closes (onClose) on Escape or the close button. */
export function Dialog({
  title,
  onClose,
  children,
  wide,
  testId,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
  testId?: string;
}) {
  const { t } = useTranslation();
  const ref = useRef<HTMLDialogElement>(null);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (!d.open) d.showModal();
    const cancel = (e: Event) => {
      e.preventDefault();
      onCloseRef.current();
    };
    d.addEventListener("cancel", cancel);
    return () => {
      d.removeEventListener("cancel", cancel);
      if (d.open) d.close();
    };
  }, []);
  return (
    <dialog ref={ref} className={`dialog ${wide ? "dialog-wide" : ""}`} aria-labelledby="dialog-title" data-testid={testId}>
      <header className="dialog-head">
        <h2 id="dialog-title">{title}</h2>
        <button type="button" className="icon-button" aria-label={t("common.close")} onClick={onClose}>
          <Icon name="close" size={18} />
        </button>
      </header>
      <div className="dialog-body">{children}</div>
    </dialog>
  );
}

/** Copies text; falls back to a hidden text area where the Clipboard API is not allowed (plain http). */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {}
    area.remove();
    return ok;
  }
}

export function CopyButton({ text, label }: { text: string; label?: string }) {
  const { t } = useTranslation();
  const [state, setState] = useState<"idle" | "done" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const timer = window.setTimeout(() => setState("idle"), 2500);
    return () => window.clearTimeout(timer);
  }, [state]);
  return (
    <button type="button" className="btn btn-secondary" onClick={async () => setState((await copyText(text)) ? "done" : "failed")} data-testid="copy-token">
      <Icon name={state === "done" ? "check" : "copy"} size={16} />
      {state === "done" ? t("devices.copied") : state === "failed" ? t("devices.copyFailed") : (label ?? t("devices.copy"))}
    </button>
  );
}

/** Shows a device's access token once, after registration or a new token. */
export function TokenDialog({ device, token, fresh, onClose }: { device: Pick<Device, "id" | "name">; token: string; fresh: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const url = `${location.origin}/api/v1/${token}/telemetry`;
  return (
    <Dialog title={fresh ? t("devices.tokenTitleNew") : t("devices.tokenTitleRegenerated")} onClose={onClose} testId="token-dialog">
      <p>
        {t("devices.tokenFor")} <strong>{device.name}</strong> (<code>{device.id}</code>)
      </p>
      <div className="token-box">
        <code data-testid="access-token">{token}</code>
        <CopyButton text={token} />
      </div>
      <p className="alert alert-warn">{t("devices.tokenOnce")}</p>
      <div className="token-usage">
        <div className="panel-label">{t("devices.tokenUsage")}</div>
        <dl className="facts">
          <dt>MQTT</dt>
          <dd>
            {t("devices.tokenMqtt")} <code>v1/devices/me/telemetry</code>
          </dd>
          <dt>HTTP</dt>
          <dd>
            <code className="break">POST {url}</code>
          </dd>
        </dl>
      </div>
      <div className="dialog-actions">
        <button type="button" className="btn btn-primary" onClick={onClose}>
          {t("devices.tokenSaved")}
        </button>
      </div>
    </Dialog>
  );
}

/** Enable/disable and new access token, with their dialogs. */
export function useDeviceActions(onChanged: (d: Device) => void) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [token, setToken] = useState<{ device: Device; token: string } | null>(null);
  const [confirm, setConfirm] = useState<Device | null>(null);

  const setEnabled = async (d: Device, enabled: boolean) => {
    setBusy(d.id);
    setError(null);
    try {
      onChanged(await api<Device>(`/api/devices/${encodeURIComponent(d.id)}`, { method: "PATCH", body: { enabled } }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const regenerate = async (d: Device) => {
    setConfirm(null);
    setBusy(d.id);
    setError(null);
    try {
      const r = await api<{ device: Device; accessToken: string }>(`/api/devices/${encodeURIComponent(d.id)}/token`, { method: "POST" });
      onChanged(r.device);
      setToken({ device: r.device, token: r.accessToken });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const dialogs = (
    <>
      {confirm && (
        <Dialog title={t("devices.regenerateTitle")} onClose={() => setConfirm(null)} testId="confirm-token">
          <p>{t("devices.regenerateText", { name: confirm.name })}</p>
          <div className="dialog-actions">
            <button type="button" className="btn btn-ghost" onClick={() => setConfirm(null)}>
              {t("common.cancel")}
            </button>
            <button type="button" className="btn btn-danger" onClick={() => regenerate(confirm)}>
              <Icon name="key" size={16} /> {t("devices.regenerate")}
            </button>
          </div>
        </Dialog>
      )}
      {token && <TokenDialog device={token.device} token={token.token} fresh={false} onClose={() => setToken(null)} />}
    </>
  );

  return { busy, error, setEnabled, askRegenerate: setConfirm, dialogs, clearError: () => setError(null) };
}

/** A form error from the API, with the server's explanation (in English) when it gave one. */
export function FormError({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (!(error instanceof ApiError)) return <>{t("common.error")}</>;
  const key = error.status === 409 ? "common.conflict" : error.status === 400 ? "common.invalid" : error.status === 403 ? "common.forbidden" : "common.error";
  return (
    <>
      {t(key)}
      {error.problem.detail && (
        <span className="alert-meta" lang="en">
          {error.problem.detail}
        </span>
      )}
    </>
  );
}
