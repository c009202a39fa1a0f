// The rule engine: runs each device's points through the pure state machines of rules.ts and
// keeps the device's alarms in line with what they call for. State lives in memory per (device,
// rule) for speed; the alarms in the database stay the truth:
// - a device's state is rebuilt from its active alarms the first time this process sees it, so a
//   restart neither raises a duplicate nor forgets to clear;
// - every write is "make the alarm look like this" (raise, escalate, refresh, clear), guarded by
//   the one-active-alarm-per-(device, rule) index, so two processes cannot duplicate an alarm;
// - alarm events of other Sen processes on the database keep this one's state in step.
// A batch that changes no alarm (the common case) touches no database at all.
import type { Db } from "../core/db.ts";
import type { EventBus } from "../core/events/bus.ts";
import type { DeviceInfo, RuleSpec, Severity, TelemetryPoint } from "../iot/types.ts";
import { type Condition, type RuleState, conditionOf, initialState, ruleName, stateForAlarm, stepNodataCheck, stepPoint, readingOf } from "./rules.ts";
import type { AlarmDto, AlarmEvent, AlarmsService } from "./service.ts";

interface AlarmRef {
  id: string;
  severity: Severity;
  level: number;
  /** updatedAt of the alarm as last known (epoch ms), to skip stale events. */
  updatedAt: number;
  /** Time of the reading last written to the alarm (epoch ms). */
  valueAt: number;
}

/** What can change while a batch is evaluated; committed to the tracker only when the batch's writes are. */
interface Draft {
  state: RuleState;
  alarm: AlarmRef | null;
  /** A person cleared the alarm at this level: no alarm at or below it until the condition ends. */
  suppressed: number | null;
}

interface Tracked extends Draft {
  rule: RuleSpec;
}

interface DeviceState {
  rules: Map<string, Tracked>;
  /** Active alarms loaded from the database for rules not tracked yet. */
  loaded: Map<string, AlarmDto>;
}

type Outcome = "unchanged" | "written" | "needs-db";

export interface RuleEngine {
  /** Evaluate a device's accepted points of one committed batch (in time order) against its rules. */
  onPoints(device: DeviceInfo, rules: RuleSpec[], points: TelemetryPoint[]): Promise<void>;
  /** Raise or clear `nodata` alarms: lastSeen maps a key (or "*" for any key) to the last data time in epoch ms. */
  checkSilence(devices: Array<{ device: DeviceInfo; rules: RuleSpec[]; lastSeen: Map<string, number> }>, now: number): Promise<void>;
  /** Drop a device's in-memory state (device removed or its rules replaced); its alarms stay as they are. */
  forget(deviceId: string): void;
  /** Stop following other processes' alarm events. */
  stop(): void;
}

/** Threshold level an alarm stands for under a rule (its recorded level when it still fits). */
export function levelOf(rule: RuleSpec, a: Pick<AlarmDto, "severity" | "details">): number {
  if (rule.kind !== "threshold") return 0;
  const recorded = a.details?.level;
  if (typeof recorded === "number" && rule.levels[recorded]?.severity === a.severity) return recorded;
  const same = rule.levels.map((l, i) => (l.severity === a.severity ? i : -1)).filter((i) => i >= 0);
  if (same.length) return same[same.length - 1];
  return typeof recorded === "number" ? Math.min(Math.max(recorded, 0), rule.levels.length - 1) : 0;
}

/** One rule per id; a later one (a device's own rule) replaces an earlier one (its profile's). */
function byId(rules: RuleSpec[]): RuleSpec[] {
  return [...new Map(rules.map((r) => [r.id, r])).values()];
}

/** A steady alarm's value is rewritten at most this often, by the readings' times. */
export const VALUE_REFRESH_MS = 10_000;

const refOf = (rule: RuleSpec, a: AlarmDto, valueAt = Number.NEGATIVE_INFINITY): AlarmRef => ({
  id: a.id,
  severity: a.severity,
  level: levelOf(rule, a),
  updatedAt: Date.parse(a.updatedAt),
  valueAt,
});

export function ruleEngine({ db, alarms, bus }: { db: Db; alarms: AlarmsService; bus: EventBus }): RuleEngine {
  const devices = new Map<string, DeviceState>();
  const chains = new Map<string, Promise<unknown>>();

  /** Run fn after every earlier call for the same device: one batch of a device at a time. */
  function serial<T>(deviceId: string, fn: () => Promise<T>): Promise<T> {
    const run = (chains.get(deviceId) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    chains.set(deviceId, tail);
    void tail.then(() => chains.get(deviceId) === tail && chains.delete(deviceId));
    return run;
  }

  function stateFrom(active: AlarmDto[]): DeviceState {
    return { rules: new Map(), loaded: new Map(active.map((a) => [a.ruleId, a])) };
  }

  async function load(deviceId: string): Promise<DeviceState> {
    let ds = devices.get(deviceId);
    if (!ds) {
      ds = stateFrom(await alarms.activeForDevices([deviceId]));
      devices.set(deviceId, ds);
    }
    return ds;
  }

  function track(ds: DeviceState, rule: RuleSpec): Tracked {
    let t = ds.rules.get(rule.id);
    if (t && t.rule.kind === rule.kind) {
      t.rule = rule;
      if (rule.kind === "threshold" && t.state.kind === "threshold" && t.state.level >= rule.levels.length)
        t.state = { ...t.state, level: rule.levels.length - 1 };
      return t;
    }
    const known = ds.loaded.get(rule.id);
    ds.loaded.delete(rule.id);
    const alarm = known ? refOf(rule, known) : null;
    t = { rule, state: alarm ? stateForAlarm(rule, alarm.level) : initialState(rule), alarm, suppressed: null };
    ds.rules.set(rule.id, t);
    return t;
  }

  /**
   * Bring a rule's alarm in line with its draft state. In a dry run (live = false) nothing is
   * written: the answer is "needs-db" as soon as a write would be.
   */
  async function reconcile(device: DeviceInfo, rule: RuleSpec, d: Draft, at: number, refresh: boolean, live: boolean): Promise<Outcome> {
    const cond: Condition | null = conditionOf(rule, d.state);
    if (!cond) d.suppressed = null;
    const want = cond && !(d.suppressed !== null && cond.level <= d.suppressed) ? cond : null;
    const value = readingOf(d.state);
    if (!want) {
      if (!d.alarm) return "unchanged";
      if (!live) return "needs-db";
      await alarms.clearByRule(device.id, rule.id, { value, at });
      d.alarm = null;
      return "written";
    }
    const same = d.alarm !== null && d.alarm.level === want.level && d.alarm.severity === want.severity;
    if (same && (!refresh || at - (d.alarm?.valueAt ?? 0) < VALUE_REFRESH_MS)) return "unchanged";
    if (!live) return "needs-db";
    const res = await alarms.raise({
      device,
      ruleId: rule.id,
      type: rule.id,
      name: ruleName(rule),
      severity: want.severity,
      value,
      threshold: want.threshold,
      details: want.details,
      at,
      // Not getting worse than the alarm we know: if a person cleared that one, leave it cleared.
      expect: d.alarm && want.level <= d.alarm.level ? d.alarm.id : undefined,
    });
    if (res.change === "suppressed") {
      d.alarm = null;
      d.suppressed = levelOf(rule, res.alarm);
      return reconcile(device, rule, d, at, false, live);
    }
    d.alarm = refOf(rule, res.alarm, at);
    return "written";
  }

  /** Run fn dry; when it needs the database, run it again from the same state inside one transaction. */
  async function evaluate(tracked: Tracked[], fn: (t: Tracked, d: Draft, live: boolean) => Promise<Outcome>): Promise<void> {
    const pass = async (live: boolean): Promise<Draft[] | null> => {
      const drafts: Draft[] = [];
      for (const t of tracked) {
        const d: Draft = { state: t.state, alarm: t.alarm, suppressed: t.suppressed };
        if ((await fn(t, d, live)) === "needs-db") return null;
        drafts.push(d);
      }
      return drafts;
    };
    const drafts = (await pass(false)) ?? (await db.tx(() => pass(true)));
    if (!drafts) throw new Error("rule evaluation asked for the database during a live pass");
    for (const [i, t] of tracked.entries()) Object.assign(t, drafts[i]);
  }

  /** Follow an alarm change made elsewhere (another process, or a person). */
  function adopt(a: AlarmDto): void {
    const ds = devices.get(a.deviceId);
    if (!ds) return; // not loaded yet: it is read from the database when needed
    const t = ds.rules.get(a.ruleId);
    if (!t) {
      if (a.status === "active") ds.loaded.set(a.ruleId, a);
      else if (ds.loaded.get(a.ruleId)?.id === a.id) ds.loaded.delete(a.ruleId);
      return;
    }
    if (a.status === "cleared") {
      if (t.alarm?.id !== a.id) return;
      if (a.clearedBy !== null) t.suppressed = t.alarm.level;
      else t.state = stateForAlarm(t.rule, null);
      t.alarm = null;
      return;
    }
    const ref = refOf(t.rule, a, t.alarm?.id === a.id ? t.alarm.valueAt : undefined);
    if (t.alarm?.id === a.id && ref.updatedAt < t.alarm.updatedAt) return;
    t.alarm = ref;
    t.suppressed = null;
    t.state = adoptLevel(t.state, ref.level);
  }

  function adoptLevel(s: RuleState, level: number): RuleState {
    if (s.kind === "threshold") return { ...s, level };
    if (s.kind === "rate") return { ...s, active: true };
    return { ...s, silent: true };
  }

  const unsubscribeBus = bus.subscribe((e) => {
    if (!e.topic.startsWith("alarm.") || alarms.isOwnEvent(e.id)) return;
    const a = e.payload as AlarmEvent;
    void serial(a.deviceId, async () => adopt(a));
  });
  // People's clears through this process (other processes' arrive on the bus).
  const unsubscribeLocal = alarms.onChange((a, change) => {
    if (change === "cleared" && a.clearedBy !== null) void serial(a.deviceId, async () => adopt(a));
  });

  return {
    async onPoints(device, rules, points) {
      if (!rules.length || !points.length) return;
      await serial(device.id, async () => {
        const ds = await load(device.id);
        const tracked = byId(rules).map((r) => track(ds, r));
        await evaluate(tracked, async (t, d, live) => {
          let stale = false;
          let lastAt = 0;
          for (const p of points) {
            const next = stepPoint(t.rule, d.state, p);
            if (next === d.state) continue;
            d.state = next;
            lastAt = p.ts;
            const out = await reconcile(device, t.rule, d, p.ts, false, live);
            if (out === "needs-db") return out;
            stale = out === "unchanged";
          }
          // The alarm shows the latest reading (within VALUE_REFRESH_MS) even when its severity did not change.
          if (stale && d.alarm && t.rule.kind !== "nodata") return reconcile(device, t.rule, d, lastAt, true, live);
          return "unchanged";
        });
      });
    },

    async checkSilence(list, now) {
      const watched = list.filter((x) => x.rules.some((r) => r.kind === "nodata"));
      // Load the devices seen for the first time in one query.
      const unknown = watched.map((x) => x.device.id).filter((id) => !devices.has(id));
      if (unknown.length) {
        const active = await alarms.activeForDevices(unknown);
        const byDevice = new Map<string, AlarmDto[]>(unknown.map((id) => [id, []]));
        for (const a of active) byDevice.get(a.deviceId)?.push(a);
        for (const [id, as] of byDevice) if (!devices.has(id)) devices.set(id, stateFrom(as));
      }
      for (const { device, rules, lastSeen } of watched) {
        await serial(device.id, async () => {
          const ds = await load(device.id);
          const tracked = byId(rules)
            .filter((r) => r.kind === "nodata")
            .map((r) => track(ds, r));
          await evaluate(tracked, async (t, d, live) => {
            if (t.rule.kind !== "nodata" || d.state.kind !== "nodata") return "unchanged";
            const next = stepNodataCheck(t.rule, d.state, lastSeen.get(t.rule.key ?? "*"), now);
            if (next.silent === d.state.silent && next.lastSeen === d.state.lastSeen) return "unchanged";
            d.state = next;
            return reconcile(device, t.rule, d, now, false, live);
          });
        });
      }
    },

    forget(deviceId) {
      devices.delete(deviceId);
    },

    stop() {
      unsubscribeBus();
      unsubscribeLocal();
    },
  };
}
