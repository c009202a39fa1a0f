// The device registry with live state: loaded once (GET /api/devices), then kept current from
// the live events (iot.telemetry, iot.device.status, iot.device.created/updated/deleted).
// Telemetry may arrive many times a second, so React sees the changes at most once per `ms`.
import { useEffect, useMemo, useRef, useState } from "react";
import { api } from "../shared/api";
import type { SenEvent } from "../shared/sse";
import type { Device } from "./iot";
import { throttle, useLiveEvents } from "./live";

interface TelemetryEvent {
  devices: { id: string; ts: number; values: Record<string, unknown> }[];
  more: number;
}

interface StatusEvent {
  id: string;
  online: boolean;
  lastSeenAt: string | null;
}

export interface DevicesState {
  /** null until loaded. */
  devices: Device[] | null;
  byId: Map<string, Device>;
  error: unknown;
  reload: () => void;
  /** Replace one device (after a change made on this page). */
  put: (d: Device) => void;
}

/** Applies one live event to a device map; returns the ids to fetch again, or true when it changed something. */
export function applyDeviceEvent(map: Map<string, Device>, e: SenEvent): boolean | string[] {
  if (e.topic === "iot.telemetry") {
    const p = e.payload as TelemetryEvent;
    let changed = false;
    for (const item of p?.devices ?? []) {
      const d = map.get(item.id);
      if (!d) continue;
      const ts = new Date(item.ts).toISOString();
      const latest = { ...d.latest };
      for (const [k, value] of Object.entries(item.values)) latest[k] = { ts, value, outOfRange: false };
      map.set(d.id, { ...d, latest, online: d.enabled, lastSeenAt: e.at });
      changed = true;
    }
    return changed;
  }
  if (e.topic === "iot.device.status") {
    const p = e.payload as StatusEvent;
    const d = map.get(p.id);
    if (!d) return false;
    map.set(d.id, { ...d, online: p.online, lastSeenAt: p.lastSeenAt ?? d.lastSeenAt });
    return true;
  }
  if (e.topic === "iot.device.created" || e.topic === "iot.device.updated") return [(e.payload as { id: string }).id];
  if (e.topic === "iot.device.deleted") return map.delete((e.payload as { id: string }).id);
  return false;
}

export function useDevices(options: { enabled?: boolean; ms?: number } = {}): DevicesState {
  const { enabled = true, ms = 1000 } = options;
  const mapRef = useRef(new Map<string, Device>());
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loadCount, setLoadCount] = useState(0);

  const publish = useMemo(
    () =>
      throttle(() => {
        setDevices([...mapRef.current.values()].sort((a, b) => a.name.localeCompare(b.name, "vi")));
      }, ms),
    [ms],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: loadCount is the reload trigger
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    api<{ devices: Device[]; total: number }>("/api/devices?limit=5000").then(
      (r) => {
        if (!live) return;
        mapRef.current = new Map(r.devices.map((d) => [d.id, d]));
        setError(null);
        publish.run();
      },
      (err) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [enabled, loadCount, publish]);

  useEffect(() => () => publish.cancel(), [publish]);

  useLiveEvents((e) => {
    if (!e.topic.startsWith("iot.")) return;
    const result = applyDeviceEvent(mapRef.current, e);
    if (result === true) publish.run();
    else if (Array.isArray(result))
      for (const id of result)
        api<Device>(`/api/devices/${encodeURIComponent(id)}`).then(
          (d) => {
            mapRef.current.set(d.id, d);
            publish.run();
          },
          () => {},
        );
  }, enabled);

  const byId = useMemo(() => new Map((devices ?? []).map((d) => [d.id, d])), [devices]);
  return {
    devices,
    byId,
    error,
    reload: () => setLoadCount((n) => n + 1),
    put: (d) => {
      mapRef.current.set(d.id, d);
      publish.run();
    },
  };
}
