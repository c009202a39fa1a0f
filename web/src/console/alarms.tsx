// The console's picture of active alarms, shared by the header (badge and critical banner), the
// map (device colours) and the IoT pages: GET /api/alarms?status=active and /api/alarms/summary,
// kept current by the alarm.* live events. A new critical alarm (raised, or escalated to
// critical) is announced: banner shown again, a tone when the browser allows sound, a blinking
// tab title.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { ApiError, api } from "../shared/api";
import type { SenEvent } from "../shared/sse";
import { armAlarmSound, playAlarmTone } from "./alarmSound";
import { useAuth } from "./auth";
import { type Alarm, type AlarmSummary, alarmsOf, compareAlarms, isSeverity, type Severity, worse } from "./iot";
import { throttle, useLiveEvents } from "./live";

const SOUND_KEY = "sen.alarmSound";

// From the start, so that the click that signs in already allows sound.
armAlarmSound();

interface AlarmsContextValue {
  /** The user may read alarms. */
  enabled: boolean;
  /** null while loading; false when the server has no alarm API. */
  available: boolean | null;
  active: Alarm[];
  summary: AlarmSummary | null;
  worstByDevice: Map<string, Severity>;
  /** Active, critical and not yet acknowledged, newest first. */
  criticals: Alarm[];
  /** A critical alarm arrived live and nobody has acknowledged or dismissed it yet. */
  attention: boolean;
  /** The banner was closed; it comes back with the next new critical alarm. */
  bannerHidden: boolean;
  dismiss: () => void;
  sound: boolean;
  setSound: (on: boolean) => void;
  ack: (id: string) => Promise<Alarm>;
  /** Put an alarm returned by an action into the picture at once. */
  apply: (a: Alarm) => void;
}

const AlarmsContext = createContext<AlarmsContextValue | null>(null);

function storedSound(): boolean {
  try {
    return localStorage.getItem(SOUND_KEY) !== "off";
  } catch {
    return true;
  }
}

/** Loads the active alarms page by page (the server gives at most 500 at a time), up to 5,000. */
async function loadActive(): Promise<Alarm[]> {
  const PAGE = 500;
  const all: Alarm[] = [];
  for (let offset = 0; offset < 5000; offset += PAGE) {
    const page = alarmsOf(await api<unknown>(`/api/alarms?status=active&limit=${PAGE}&offset=${offset}`));
    all.push(...page);
    if (page.length < PAGE) break;
  }
  return all;
}

export function AlarmsProvider({ children }: { children: ReactNode }) {
  const { can } = useAuth();
  const enabled = can("alarms:read");
  const mapRef = useRef(new Map<string, Alarm>());
  const loadingRef = useRef<Alarm[] | null>(null);
  const [active, setActive] = useState<Alarm[]>([]);
  const [summary, setSummary] = useState<AlarmSummary | null>(null);
  const [available, setAvailable] = useState<boolean | null>(null);
  const [attention, setAttention] = useState(false);
  const [bannerHidden, setBannerHidden] = useState(false);
  const [sound, setSoundState] = useState(storedSound);
  const soundRef = useRef(sound);
  soundRef.current = sound;

  const publish = useMemo(() => throttle(() => setActive([...mapRef.current.values()].sort(compareAlarms)), 250), []);
  const refreshSummary = useMemo(
    () =>
      throttle(() => {
        api<AlarmSummary>("/api/alarms/summary").then(setSummary, () => {});
      }, 1500),
    [],
  );

  const upsert = useCallback((a: Alarm) => {
    if (a.status === "active") mapRef.current.set(a.id, a);
    else mapRef.current.delete(a.id);
  }, []);

  const load = useCallback(async () => {
    loadingRef.current = [];
    try {
      const list = await loadActive();
      const map = new Map(list.map((a) => [a.id, a]));
      // Changes that arrived while the list was loading are newer than it.
      const during = loadingRef.current ?? [];
      mapRef.current = map;
      for (const a of during) upsert(a);
      setAvailable(true);
      publish.run();
      refreshSummary.run();
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 403)) setAvailable(false);
    } finally {
      loadingRef.current = null;
    }
  }, [publish, refreshSummary, upsert]);

  useEffect(() => {
    if (!enabled) return;
    void load();
    // A slow safety net; the live events keep the picture current in between.
    const timer = window.setInterval(() => void load(), 120_000);
    return () => {
      window.clearInterval(timer);
      publish.cancel();
      refreshSummary.cancel();
    };
  }, [enabled, load, publish, refreshSummary]);

  useLiveEvents((e: SenEvent) => {
    if (!e.topic.startsWith("alarm.")) return;
    const a = e.payload as Alarm;
    if (!a || typeof a.id !== "string" || !isSeverity(a.severity)) return;
    loadingRef.current?.push(a);
    upsert(a);
    publish.run();
    refreshSummary.run();
    if (available === false) setAvailable(true);
    const newCritical = a.severity === "critical" && a.status === "active" && !a.acknowledged && (a.change === "raised" || a.change === "escalated");
    if (newCritical) {
      setAttention(true);
      setBannerHidden(false);
      if (soundRef.current) playAlarmTone();
    }
  }, enabled);

  const criticals = useMemo(
    () => active.filter((a) => a.severity === "critical" && !a.acknowledged).sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt)),
    [active],
  );

  // Nothing left to acknowledge: stop asking for attention.
  useEffect(() => {
    if (!criticals.length) setAttention(false);
  }, [criticals.length]);

  const worstByDevice = useMemo(() => {
    const m = new Map<string, Severity>();
    for (const a of active) m.set(a.deviceId, worse(m.get(a.deviceId), a.severity) as Severity);
    return m;
  }, [active]);

  const apply = useCallback(
    (a: Alarm) => {
      upsert(a);
      publish.run();
      refreshSummary.run();
    },
    [publish, refreshSummary, upsert],
  );

  const ack = useCallback(
    async (id: string) => {
      try {
        const a = await api<Alarm>(`/api/alarms/${encodeURIComponent(id)}/ack`, { method: "POST" });
        apply(a);
        return a;
      } catch (err) {
        // Someone else acknowledged it first: take the alarm as it is now.
        if (err instanceof ApiError && err.status === 409) {
          const a = await api<Alarm>(`/api/alarms/${encodeURIComponent(id)}`);
          apply(a);
          return a;
        }
        throw err;
      }
    },
    [apply],
  );

  const setSound = useCallback((on: boolean) => {
    setSoundState(on);
    try {
      localStorage.setItem(SOUND_KEY, on ? "on" : "off");
    } catch {}
    if (on) playAlarmTone();
  }, []);

  const value = useMemo<AlarmsContextValue>(
    () => ({
      enabled,
      available: enabled ? available : false,
      active,
      summary,
      worstByDevice,
      criticals,
      attention,
      bannerHidden,
      dismiss: () => {
        setAttention(false);
        setBannerHidden(true);
      },
      sound,
      setSound,
      ack,
      apply,
    }),
    [enabled, available, active, summary, worstByDevice, criticals, attention, bannerHidden, sound, setSound, ack, apply],
  );
  return <AlarmsContext.Provider value={value}>{children}</AlarmsContext.Provider>;
}

export function useAlarms(): AlarmsContextValue {
  const v = useContext(AlarmsContext);
  if (!v) throw new Error("useAlarms outside AlarmsProvider");
  return v;
}
