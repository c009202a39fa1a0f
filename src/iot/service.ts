// Devices and their data. The registry is cached in memory (token → device is on the hot path of
// every message) and written through to the database. Ingested points are queued and written in
// batches (group commit); a message is acknowledged only once its batch has committed.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import type { Db } from "../core/db.ts";
import { badRequest, conflict, notFound, Problem } from "../core/errors.ts";
import type { AuditService } from "../core/audit/service.ts";
import type { EventBus, SenEvent, SenEvents } from "../core/events/bus.ts";
import { PayloadError, attributesOf, parseJson, telemetryPoints } from "./payload.ts";
import { type Agg, type DeviceRow, type PointColumns, type PointRow, type ProfileRow, iotStore } from "./store.ts";
import type { DeviceInfo, RuleSpec, TelemetryPoint, TelemetryValue } from "./types.ts";

declare module "../core/events/bus.ts" {
  interface SenEvents {
    "iot.telemetry": { devices: Array<{ id: string; ts: number; values: Record<string, TelemetryValue> }>; more: number };
    "iot.device.created": { id: string; name: string; type: string };
    "iot.device.updated": { id: string; name: string; enabled: boolean };
    "iot.device.deleted": { id: string };
    "iot.device.status": { id: string; online: boolean; lastSeenAt: string | null };
  }
}

/** Sen cannot take more right now: the sender should retry (never acknowledged as stored). */
export class BusyError extends Error {}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** Largest batch written in one transaction, and how long a batch waits to fill. */
const BATCH_POINTS = 5000;
const LINGER_MS = 4;
/** Points waiting beyond this are refused ("busy") rather than piling up in memory. */
const MAX_QUEUED_POINTS = 200_000;
/**
 * Batches being written at once. On PostgreSQL a second full batch is sent while the first
 * commits, so the server is kept busy; their results are still reported in order. PGlite runs
 * one transaction at a time in this thread, so there it is one.
 */
const IN_FLIGHT = { pglite: 1, postgres: 2 } as const;

export interface CachedDevice {
  row: DeviceRow;
  profile: ProfileRow;
  info: DeviceInfo;
  rules: RuleSpec[];
  lastSeen: number | null;
  /** Last arrival time handed out as a timestamp (ms). */
  lastArrivalTs: number;
  /** Last time of data per key, for no-data rules. */
  keySeen: Map<string, number>;
  accepted: number;
  rejected: number;
  lastRejection: string | null;
  lastRejectionAt: number | null;
  online: boolean;
  latest: Map<string, { ts: number; value: TelemetryValue; outOfRange: boolean }>;
}

export interface DeviceDto {
  id: string;
  name: string;
  type: string;
  profileId: string;
  lat: number | null;
  lon: number | null;
  commune: string | null;
  agency: string | null;
  enabled: boolean;
  online: boolean;
  lastSeenAt: string | null;
  accepted: number;
  rejected: number;
  lastRejection: string | null;
  lastRejectionAt: string | null;
  mqttUsername: string | null;
  attributes: Record<string, unknown>;
  serverAttributes: Record<string, unknown>;
  rules: RuleSpec[];
  latest: Record<string, { ts: string; value: TelemetryValue; outOfRange: boolean }>;
  createdAt: string;
}

export interface CreateDeviceInput {
  id?: string;
  name: string;
  type?: string;
  profileId: string;
  lat?: number | null;
  lon?: number | null;
  agency?: string | null;
  /** Keep an existing ThingsBoard token when migrating devices; otherwise one is generated. */
  accessToken?: string;
  mqttUsername?: string | null;
  mqttPassword?: string | null;
  serverAttributes?: Record<string, unknown>;
  rules?: RuleSpec[];
}

/** Called after each committed batch, per device, with its points in time order. */
export type PointsListener = (device: DeviceInfo, rules: RuleSpec[], points: TelemetryPoint[]) => void | Promise<void>;

export interface IotDeps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  /** The commune containing a point, if any. */
  locate(lat: number, lon: number): string | undefined;
  agencyExists(code: string): Promise<boolean>;
  /** What is wrong with a rule (empty when it is fine); the rules' owner knows. */
  ruleProblems?(rule: RuleSpec): string[];
  logger?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

interface Pending {
  device: CachedDevice;
  points: TelemetryPoint[];
  /** Called once: without an error when the points have committed. */
  done(err?: Error): void;
}

/** Called when a message's points have committed, or with the reason they will not be. */
export type IngestCallback = (err: Error | null, points: number) => void;

function toInfo(r: DeviceRow): DeviceInfo {
  return { id: r.id, name: r.name, type: r.type, profileId: r.profile_id, agency: r.agency_code, commune: r.commune_code, lat: r.lat, lon: r.lon };
}

export function iotService({ db, audit, bus, locate, agencyExists, ruleProblems, logger }: IotDeps) {
  function checkRules(rules: RuleSpec[] | undefined, path: string) {
    const ids = new Set<string>();
    (rules ?? []).forEach((r, i) => {
      const problems = [...(ruleProblems?.(r) ?? []), ...(ids.has(r.id) ? [`duplicate rule id ${r.id}`] : [])];
      ids.add(r.id);
      if (problems.length)
        throw badRequest(`Rule ${i + 1} (${r.id}): ${problems.join("; ")}.`, { errors: problems.map((m) => ({ path: `${path}/${i}`, message: m })) });
    });
  }

  const store = iotStore(db);
  const byId = new Map<string, CachedDevice>();
  const byToken = new Map<string, CachedDevice>();
  const byMqttUser = new Map<string, CachedDevice>();
  const byNo = new Map<number, CachedDevice>();
  const profiles = new Map<string, ProfileRow>();
  const listeners = new Set<PointsListener>();
  const dirty = new Set<CachedDevice>();
  let queue: Pending[] = [];
  let queuedPoints = 0;
  const maxInFlight = IN_FLIGHT[db.driver];
  let inFlight = 0;
  /** Settles when the newest batch started has been reported (never rejects). */
  let lastBatch: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const stats = { batches: 0, points: 0, rejectedMessages: 0, authFailures: 0 };

  function cache(row: DeviceRow, previous?: CachedDevice): CachedDevice {
    const profile = profiles.get(row.profile_id);
    if (!profile) throw new Error(`device ${row.id} has unknown profile ${row.profile_id}`);
    if (previous) {
      byToken.delete(previous.row.token_hash);
      if (previous.row.mqtt_username) byMqttUser.delete(previous.row.mqtt_username);
    }
    const d: CachedDevice = previous ?? {
      row,
      profile,
      info: toInfo(row),
      rules: [],
      lastSeen: row.last_seen_at ? new Date(row.last_seen_at).getTime() : null,
      lastArrivalTs: 0,
      keySeen: new Map(),
      accepted: Number(row.accepted),
      rejected: Number(row.rejected),
      lastRejection: row.last_rejection,
      lastRejectionAt: row.last_rejection_at ? new Date(row.last_rejection_at).getTime() : null,
      online: false,
      latest: new Map(),
    };
    d.row = row;
    d.profile = profile;
    d.info = toInfo(row);
    d.rules = [...(profile.rules ?? []), ...(row.rules ?? [])];
    d.online = isOnline(d, Date.now());
    byId.set(row.id, d);
    byNo.set(row.no, d);
    byToken.set(row.token_hash, d);
    if (row.mqtt_username) byMqttUser.set(row.mqtt_username, d);
    return d;
  }

  function uncache(d: CachedDevice) {
    byId.delete(d.row.id);
    byNo.delete(d.row.no);
    byToken.delete(d.row.token_hash);
    if (d.row.mqtt_username) byMqttUser.delete(d.row.mqtt_username);
  }

  const isOnline = (d: CachedDevice, now: number) => d.row.enabled && d.lastSeen !== null && now - d.lastSeen < d.profile.inactivity_timeout_s * 1000;

  function toDto(d: CachedDevice): DeviceDto {
    const r = d.row;
    return {
      id: r.id,
      name: r.name,
      type: r.type,
      profileId: r.profile_id,
      lat: r.lat,
      lon: r.lon,
      commune: r.commune_code,
      agency: r.agency_code,
      enabled: r.enabled,
      online: isOnline(d, Date.now()),
      lastSeenAt: d.lastSeen ? new Date(d.lastSeen).toISOString() : null,
      accepted: d.accepted,
      rejected: d.rejected,
      lastRejection: d.lastRejection,
      lastRejectionAt: d.lastRejectionAt ? new Date(d.lastRejectionAt).toISOString() : null,
      mqttUsername: r.mqtt_username,
      attributes: r.attributes,
      serverAttributes: r.server_attributes,
      rules: r.rules,
      latest: Object.fromEntries([...d.latest].map(([k, v]) => [k, { ts: new Date(v.ts).toISOString(), value: v.value, outOfRange: v.outOfRange }])),
      createdAt: new Date(r.created_at).toISOString(),
    };
  }

  function reject(d: CachedDevice | undefined, reason: string) {
    stats.rejectedMessages++;
    if (!d) return;
    d.rejected++;
    d.lastRejection = reason.slice(0, 300);
    d.lastRejectionAt = Date.now();
    dirty.add(d);
  }

  function mustGet(id: string): CachedDevice {
    const d = byId.get(id);
    if (!d) throw notFound(`No device ${id}, or you have no access to it.`);
    return d;
  }

  /**
   * Start writing queued messages: always when nothing is being written, and a further batch
   * (PostgreSQL) once a full one is waiting or the linger time is over (`lingered`).
   */
  function flush(lingered = false): void {
    while (queue.length && (inFlight === 0 || (inFlight < maxInFlight && (lingered || queuedPoints >= BATCH_POINTS)))) {
      // Take whole messages up to the batch size (one message may be larger on its own).
      let n = 0;
      let take = 0;
      while (take < queue.length && (take === 0 || n + queue[take].points.length <= BATCH_POINTS)) n += queue[take++].points.length;
      const batch = take === queue.length ? queue : queue.slice(0, take);
      queue = take === queue.length ? [] : queue.slice(take);
      queuedPoints -= n;
      inFlight++;
      const previous = lastBatch;
      lastBatch = writeBatch(batch, n, previous)
        .catch((err) => logger?.error({ err }, "reporting a telemetry batch failed"))
        .finally(() => {
          inFlight--;
          flush();
        });
    }
  }

  /** Write one batch in a transaction; report it (acks, listeners) after the batches before it. */
  async function writeBatch(batch: Pending[], n: number, previous: Promise<void>): Promise<void> {
    const cols: PointColumns = { deviceNo: new Array(n), key: new Array(n), ts: new Array(n), num: new Array(n), val: new Array(n), outOfRange: new Array(n) };
    let i = 0;
    for (const p of batch) {
      const no = p.device.row.no;
      for (const pt of p.points) {
        cols.deviceNo[i] = no;
        cols.key[i] = pt.key;
        cols.ts[i] = pt.ts;
        if (typeof pt.value === "number") {
          cols.num[i] = pt.value;
          cols.val[i] = null;
        } else {
          cols.num[i] = null;
          cols.val[i] = JSON.stringify(pt.value);
        }
        cols.outOfRange[i] = pt.outOfRange;
        i++;
      }
    }
    let failure: Error | undefined;
    try {
      await db.tx(async () => {
        const inserted = await store.writePoints(cols);
        await store.addHourlyRollups(hourlyRollups(inserted));
      });
    } catch (err) {
      failure = err as Error;
    }
    // Messages are acknowledged, and listeners see points, in the order the batches were taken.
    await previous;
    if (failure) {
      logger?.error({ err: failure }, "telemetry batch failed; its messages are not acknowledged");
      for (const p of batch) p.done(failure);
      return;
    }
    stats.batches++;
    stats.points += n;
    for (const p of batch) p.done();
    try {
      afterCommit(batch);
    } catch (err) {
      logger?.error({ err }, "after-commit work of a telemetry batch failed");
    }
  }

  function afterCommit(batch: Pending[]) {
    const now = Date.now();
    const perDevice = new Map<CachedDevice, TelemetryPoint[]>();
    for (const p of batch) {
      const d = p.device;
      d.accepted++;
      d.lastSeen = now;
      dirty.add(d);
      let list = perDevice.get(d);
      if (!list) {
        list = [];
        perDevice.set(d, list);
      }
      for (const pt of p.points) list.push(pt);
    }
    const changed: Array<{ id: string; ts: number; values: Record<string, TelemetryValue> }> = [];
    for (const [d, points] of perDevice) {
      points.sort((a, b) => a.ts - b.ts);
      const values: Record<string, TelemetryValue> = {};
      let ts = 0;
      for (const pt of points) {
        const seen = d.keySeen.get(pt.key);
        if (seen === undefined || seen < pt.ts) d.keySeen.set(pt.key, pt.ts);
        const cur = d.latest.get(pt.key);
        if (!cur || cur.ts <= pt.ts) {
          // Updated in place: no object per point (readers copy what they hand out).
          if (cur) {
            cur.ts = pt.ts;
            cur.value = pt.value;
            cur.outOfRange = pt.outOfRange;
          } else d.latest.set(pt.key, { ts: pt.ts, value: pt.value, outOfRange: pt.outOfRange });
          values[pt.key] = pt.value;
          ts = Math.max(ts, pt.ts);
        }
      }
      if (!d.online) {
        d.online = true;
        void bus.publish("iot.device.status", { id: d.row.id, online: true, lastSeenAt: new Date(now).toISOString() }, audienceOf(d)).catch(() => undefined);
      }
      if (Object.keys(values).length) changed.push({ id: d.row.id, ts, values });
      for (const l of listeners) {
        Promise.resolve(l(d.info, d.rules, points)).catch((err) => logger?.error({ err, device: d.row.id }, "points listener failed"));
      }
    }
    // One event per batch: it is the commit signal behind an external broker (whose PUBACK comes
    // before Sen has the message), so it is not held back; a very large batch names 100 devices.
    if (changed.length)
      void bus.publish("iot.telemetry", { devices: changed.slice(0, 100), more: Math.max(0, changed.length - 100) }, "staff").catch(() => undefined);
  }

  function submitTelemetry(d: CachedDevice, raw: Buffer | string | unknown, parsed: boolean, done: IngestCallback): void {
    if (queuedPoints > MAX_QUEUED_POINTS) {
      done(new BusyError("server busy: too many points waiting to be written; retry"), 0);
      return;
    }
    let points: TelemetryPoint[];
    try {
      if (!d.row.enabled) throw new PayloadError("device is disabled");
      // Points without their own ts get the arrival time, strictly increasing per device, so
      // two messages in one millisecond are two points, not one.
      const now = Math.max(Date.now(), d.lastArrivalTs + 1);
      d.lastArrivalTs = now;
      points = telemetryPoints(parsed ? raw : parseJson(raw as Buffer | string), now, d.profile.keys);
    } catch (err) {
      reject(d, (err as Error).message);
      done(err as Error, 0);
      return;
    }
    const n = points.length;
    queuedPoints += n;
    queue.push({ device: d, points, done: (err) => done(err ?? null, n) });
    if (queuedPoints >= BATCH_POINTS) flush();
    else
      timer ??= setTimeout(() => {
        timer = undefined;
        flush(true);
      }, LINGER_MS);
  }

  const audienceOf = (d: CachedDevice) => (d.row.agency_code ? (`agency:${d.row.agency_code}` as const) : ("staff" as const));

  async function validDevicePlace(lat: number | null | undefined, lon: number | null | undefined) {
    if ((lat === null || lat === undefined) !== (lon === null || lon === undefined)) throw badRequest("Give both lat and lon, or neither.");
    return lat != null && lon != null ? (locate(lat, lon) ?? null) : null;
  }

  return {
    stats,

    /** Load profiles and devices into memory, with their latest values. */
    async load(): Promise<void> {
      // Keep the activity counters of devices already known to this process.
      const previous = new Map(byId);
      for (const m of [byId, byToken, byMqttUser, byNo, profiles] as Array<Map<unknown, unknown>>) m.clear();
      for (const p of await store.listProfiles()) profiles.set(p.id, p);
      for (const row of await store.allDevices()) cache(row, previous.get(row.id));
      for (const p of await store.allLatest()) {
        const d = byNo.get(p.device_no);
        if (d) d.latest.set(p.key, { ts: new Date(p.ts).getTime(), value: (p.num ?? p.val) as TelemetryValue, outOfRange: p.out_of_range });
      }
    },

    onPoints(l: PointsListener): () => void {
      listeners.add(l);
      return () => listeners.delete(l);
    },

    // ---------- profiles
    async upsertProfile(p: ProfileRow) {
      checkRules(p.rules, "/rules");
      const row = await store.upsertProfile(p);
      if (row) profiles.set(row.id, row);
      for (const d of byId.values()) if (d.row.profile_id === p.id) cache(d.row, d);
      return row;
    },
    listProfiles: () => [...profiles.values()],

    // ---------- registry
    async createDevice(input: CreateDeviceInput): Promise<{ device: DeviceDto; accessToken: string }> {
      const id = input.id ?? randomUUID();
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(id)) throw badRequest("A device id has 1–64 characters: letters, digits, _ . -");
      const profile = profiles.get(input.profileId);
      if (!profile) throw badRequest(`Unknown device profile ${input.profileId}.`, { errors: [{ path: "/profileId", message: "unknown profile" }] });
      checkRules(input.rules, "/rules");
      if (input.agency && !(await agencyExists(input.agency)))
        throw badRequest(`Unknown agency ${input.agency}.`, { errors: [{ path: "/agency", message: "unknown agency" }] });
      const commune = await validDevicePlace(input.lat, input.lon);
      const accessToken = input.accessToken ?? randomBytes(15).toString("base64url");
      if (!/^[A-Za-z0-9_-]{8,64}$/.test(accessToken)) throw badRequest("An access token has 8–64 characters: letters, digits, _ or -.");
      if (byToken.has(sha256(accessToken))) throw conflict("This access token is already used by another device.");
      if (byId.has(id)) throw conflict(`A device with id ${id} exists.`);
      // External-broker topics name a device by MQTT user name or id: the two must never collide.
      if (input.mqttUsername && (byMqttUser.has(input.mqttUsername) || byId.has(input.mqttUsername) || input.mqttUsername === "sen"))
        throw conflict(`The MQTT user name ${input.mqttUsername} is taken.`);
      if (byMqttUser.has(id)) throw conflict(`The id ${id} is another device's MQTT user name.`);
      const row = await db.tx(async () => {
        const r = await store.insertDevice({
          id,
          name: input.name.trim(),
          type: input.type ?? profile.type,
          profileId: profile.id,
          lat: input.lat ?? null,
          lon: input.lon ?? null,
          commune,
          agency: input.agency ?? null,
          tokenHash: sha256(accessToken),
          mqttUsername: input.mqttUsername ?? null,
          mqttPasswordHash: input.mqttPassword ? sha256(input.mqttPassword) : null,
          serverAttributes: input.serverAttributes ?? {},
          rules: input.rules ?? [],
        });
        if (!r) throw new Error("device insert returned nothing");
        await audit.record({
          action: "device.create",
          targetType: "device",
          targetId: id,
          details: { name: r.name, type: r.type, profile: r.profile_id, agency: r.agency_code },
        });
        await bus.publish("iot.device.created", { id, name: r.name, type: r.type }, r.agency_code ? `agency:${r.agency_code}` : "staff");
        return r;
      });
      return { device: toDto(cache(row)), accessToken };
    },

    async updateDevice(
      id: string,
      input: Partial<{
        name: string;
        lat: number | null;
        lon: number | null;
        agency: string | null;
        enabled: boolean;
        serverAttributes: Record<string, unknown>;
        rules: RuleSpec[];
        profileId: string;
      }>,
    ): Promise<DeviceDto> {
      const d = mustGet(id);
      checkRules(input.rules, "/rules");
      if (input.agency && !(await agencyExists(input.agency))) throw badRequest(`Unknown agency ${input.agency}.`);
      if (input.profileId && !profiles.has(input.profileId)) throw badRequest(`Unknown device profile ${input.profileId}.`);
      const placeChanged = input.lat !== undefined || input.lon !== undefined;
      const commune = placeChanged ? await validDevicePlace(input.lat ?? d.row.lat, input.lon ?? d.row.lon) : undefined;
      const row = await db.tx(async () => {
        const r = await store.updateDevice(id, { ...input, commune });
        if (!r) throw notFound();
        await audit.record({ action: "device.update", targetType: "device", targetId: id, details: { changed: Object.keys(input) } });
        await bus.publish("iot.device.updated", { id, name: r.name, enabled: r.enabled }, r.agency_code ? `agency:${r.agency_code}` : "staff");
        return r;
      });
      return toDto(cache(row, d));
    },

    /** Register many devices in one transaction: all or none. */
    async createMany(inputs: CreateDeviceInput[]): Promise<Array<{ id: string; accessToken: string }>> {
      try {
        return await db.tx(async () => {
          const out: Array<{ id: string; accessToken: string }> = [];
          for (const input of inputs) {
            const r = await this.createDevice(input);
            out.push({ id: r.device.id, accessToken: r.accessToken });
          }
          return out;
        });
      } catch (err) {
        await this.load(); // the cache may hold devices of the rolled-back transaction
        throw err;
      }
    },

    async regenerateToken(id: string): Promise<{ device: DeviceDto; accessToken: string }> {
      const d = mustGet(id);
      const accessToken = randomBytes(15).toString("base64url");
      const row = await db.tx(async () => {
        const r = await store.updateDevice(id, { tokenHash: sha256(accessToken) });
        if (!r) throw notFound();
        await audit.record({ action: "device.token.regenerate", targetType: "device", targetId: id });
        await bus.publish("iot.device.updated", { id, name: r.name, enabled: r.enabled }, audienceOf(d));
        return r;
      });
      return { device: toDto(cache(row, d)), accessToken };
    },

    async deleteDevice(id: string): Promise<void> {
      const d = mustGet(id);
      await db.tx(async () => {
        await store.deleteDevice(id);
        await audit.record({ action: "device.delete", targetType: "device", targetId: id, details: { name: d.row.name } });
        await bus.publish("iot.device.deleted", { id }, audienceOf(d));
      });
      uncache(d);
    },

    get: (id: string) => toDto(mustGet(id)),
    info: (id: string) => mustGet(id).info,
    list(f: { type?: string; commune?: string; agency?: string; online?: boolean; q?: string; limit: number; offset: number }): {
      devices: DeviceDto[];
      total: number;
    } {
      const now = Date.now();
      const q = f.q?.toLowerCase();
      const all = [...byId.values()].filter(
        (d) =>
          (!f.type || d.row.type === f.type) &&
          (!f.commune || d.row.commune_code === f.commune) &&
          (!f.agency || d.row.agency_code === f.agency) &&
          (f.online === undefined || isOnline(d, now) === f.online) &&
          (!q || d.row.name.toLowerCase().includes(q) || d.row.id.toLowerCase().includes(q)),
      );
      all.sort((a, b) => a.row.name.localeCompare(b.row.name, "vi"));
      return { total: all.length, devices: all.slice(f.offset, f.offset + f.limit).map(toDto) };
    },
    all: () => [...byId.values()],

    // ---------- device authentication (MQTT and HTTP)
    byToken(token: string): CachedDevice | undefined {
      if (!token || token.length > 200) return undefined;
      const d = byToken.get(sha256(token));
      if (!d) stats.authFailures++;
      return d;
    },
    byMqttCredentials(username: string, password: string): CachedDevice | undefined {
      const d = byMqttUser.get(username);
      if (!d?.row.mqtt_password_hash) {
        stats.authFailures++;
        return undefined;
      }
      const a = Buffer.from(d.row.mqtt_password_hash, "hex");
      const b = Buffer.from(sha256(password), "hex");
      if (a.length !== b.length || !timingSafeEqual(a, b)) {
        stats.authFailures++;
        return undefined;
      }
      return d;
    },
    /** A device by id or MQTT user name (external-broker topics carry one of these). */
    byDeviceId: (id: string): CachedDevice | undefined => byId.get(id),
    byTopicName(name: string): CachedDevice | undefined {
      const byUser = byMqttUser.get(name);
      if (byUser) return byUser;
      const d = byId.get(name);
      return d && !d.row.mqtt_username ? d : undefined;
    },

    /**
     * Follow changes made by other Sen processes on the same database: re-read a device that was
     * created, changed or deleted, and take over the latest values they ingested.
     */
    async follow(e: SenEvent): Promise<void> {
      if (e.topic === "iot.device.created" || e.topic === "iot.device.updated" || e.topic === "iot.device.deleted") {
        const id = (e.payload as { id: string }).id;
        const row = await store.getDevice(id);
        const known = byId.get(id);
        if (row) cache(row, known);
        else if (known) uncache(known);
      } else if (e.topic === "iot.telemetry") {
        for (const u of (e.payload as SenEvents["iot.telemetry"]).devices) {
          const d = byId.get(u.id);
          if (!d) continue;
          for (const [key, value] of Object.entries(u.values)) {
            const cur = d.latest.get(key);
            if (!cur || cur.ts < u.ts) d.latest.set(key, { ts: u.ts, value, outOfRange: false });
          }
          if (!d.lastSeen || d.lastSeen < u.ts) d.lastSeen = u.ts;
        }
      }
    },

    // ---------- ingest
    /**
     * Ingest one telemetry message; resolves once its points are committed. Rejected messages
     * are counted on the device with the reason, and the promise rejects with a PayloadError.
     */
    ingestTelemetry(d: CachedDevice, raw: Buffer | string | unknown, parsed = false): Promise<number> {
      return new Promise<number>((resolve, rejectP) => submitTelemetry(d, raw, parsed, (err, n) => (err ? rejectP(err) : resolve(n))));
    },

    /**
     * The same with a callback, for the broker's hot path (no promise per message). `done` is
     * called once: at once with a PayloadError or BusyError, or when the batch has committed.
     */
    submitTelemetry: (d: CachedDevice, raw: Buffer | string, done: IngestCallback) => submitTelemetry(d, raw, false, done),

    async ingestAttributes(d: CachedDevice, raw: Buffer | string | unknown, parsed = false): Promise<void> {
      let attrs: Record<string, TelemetryValue>;
      try {
        if (!d.row.enabled) throw new PayloadError("device is disabled");
        attrs = attributesOf(parsed ? raw : parseJson(raw as Buffer | string));
      } catch (err) {
        reject(d, (err as Error).message);
        throw err;
      }
      await store.mergeAttributes(d.row.id, attrs);
      d.row.attributes = { ...d.row.attributes, ...attrs };
      d.accepted++;
      d.lastSeen = Date.now();
      dirty.add(d);
    },

    /** Count a message that was refused before it reached a device (e.g. unknown topic). */
    rejectMessage: (d: CachedDevice | undefined, reason: string) => reject(d, reason),

    /** Write activity counters of devices that changed; report devices that went silent. */
    async tick(now = Date.now()): Promise<void> {
      for (const d of byId.values()) {
        const online = isOnline(d, now);
        if (online !== d.online) {
          d.online = online;
          await bus.publish("iot.device.status", { id: d.row.id, online, lastSeenAt: d.lastSeen ? new Date(d.lastSeen).toISOString() : null }, audienceOf(d));
        }
      }
      if (!dirty.size) return;
      const list = [...dirty];
      dirty.clear();
      await store.saveStats({
        id: list.map((d) => d.row.id),
        lastSeen: list.map((d) => (d.lastSeen ? new Date(d.lastSeen) : null)),
        accepted: list.map((d) => d.accepted),
        rejected: list.map((d) => d.rejected),
        lastRejection: list.map((d) => d.lastRejection),
        lastRejectionAt: list.map((d) => (d.lastRejectionAt ? new Date(d.lastRejectionAt) : null)),
      });
    },

    /** Write everything still queued (graceful shutdown). */
    async drain(): Promise<void> {
      if (timer) clearTimeout(timer);
      timer = undefined;
      while (queue.length || inFlight) {
        flush();
        await lastBatch;
      }
    },

    // ---------- reading
    latest(id: string) {
      const d = mustGet(id);
      return Object.fromEntries([...d.latest].map(([k, v]) => [k, { ts: new Date(v.ts).toISOString(), value: v.value, outOfRange: v.outOfRange }]));
    },

    async history(id: string, q: { keys?: string[]; from: Date; to: Date; limit: number }) {
      const d = mustGet(id);
      const rows = await store.history(d.row.no, q.keys?.length ? q.keys : null, q.from, q.to, q.limit);
      const out: Record<string, Array<{ ts: string; value: unknown; outOfRange?: true }>> = {};
      for (const r of rows) {
        out[r.key] ??= [];
        out[r.key].push(pointOut(r));
      }
      return out;
    },

    async aggregate(id: string, q: { keys?: string[]; from: Date; to: Date; intervalSeconds: number; agg: Agg }) {
      const d = mustGet(id);
      if ((q.to.getTime() - q.from.getTime()) / 1000 / q.intervalSeconds > 10_000)
        throw badRequest("That range at that interval gives over 10,000 buckets; choose a longer interval.");
      const rows = await store.aggregate(d.row.no, q.keys?.length ? q.keys : null, q.from, q.to, q.intervalSeconds, q.agg);
      const out: Record<string, Array<{ ts: string; value: number | null; count: number }>> = {};
      for (const r of rows) {
        out[r.key] ??= [];
        out[r.key].push({ ts: new Date(r.bucket).toISOString(), value: r.value, count: r.n });
      }
      return out;
    },

    applyRetention: () => store.applyRetention(),
    store,
  };
}

const HOUR_MS = 3_600_000;

type Buckets = { deviceNo: number[]; key: string[]; bucket: number[]; n: number[]; sum: number[]; min: number[]; max: number[] };

type Bucket = { d: number; k: string; b: number; n: number; sum: number; min: number; max: number };

/**
 * Hourly sums of a batch's good numeric points, so rollups cost a few rows per batch (days are
 * summed from hours when read). Rows come sorted by device, key and bucket: concurrent batches
 * then lock rollup rows in the same order and cannot deadlock.
 */
export function hourlyRollups(c: PointColumns): Buckets {
  // device → key → its buckets (almost always one per batch); no string built per point.
  const m = new Map<number, Map<string, Bucket[]>>();
  const all: Bucket[] = [];
  for (let i = 0; i < c.deviceNo.length; i++) {
    const v = c.num[i];
    if (v === null || c.outOfRange[i]) continue;
    const b = Math.floor(c.ts[i] / HOUR_MS) * HOUR_MS;
    const d = c.deviceNo[i];
    const k = c.key[i];
    let byKey = m.get(d);
    if (!byKey) {
      byKey = new Map();
      m.set(d, byKey);
    }
    let list = byKey.get(k);
    if (!list) {
      list = [];
      byKey.set(k, list);
    }
    let e: Bucket | undefined;
    for (const x of list)
      if (x.b === b) {
        e = x;
        break;
      }
    if (e) {
      e.n++;
      e.sum += v;
      if (v < e.min) e.min = v;
      if (v > e.max) e.max = v;
    } else {
      e = { d, k, b, n: 1, sum: v, min: v, max: v };
      list.push(e);
      all.push(e);
    }
  }
  all.sort((x, y) => x.d - y.d || (x.k < y.k ? -1 : x.k > y.k ? 1 : 0) || x.b - y.b);
  const out: Buckets = { deviceNo: [], key: [], bucket: [], n: [], sum: [], min: [], max: [] };
  for (const e of all) {
    out.deviceNo.push(e.d);
    out.key.push(e.k);
    out.bucket.push(e.b);
    out.n.push(e.n);
    out.sum.push(e.sum);
    out.min.push(e.min);
    out.max.push(e.max);
  }
  return out;
}

function pointOut(r: PointRow): { ts: string; value: unknown; outOfRange?: true } {
  const p: { ts: string; value: unknown; outOfRange?: true } = { ts: new Date(r.ts).toISOString(), value: r.num ?? r.val };
  if (r.out_of_range) p.outOfRange = true;
  return p;
}

export type IotService = ReturnType<typeof iotService>;
export { PayloadError };
export const busy = (detail: string) => new Problem(503, "busy", detail);
