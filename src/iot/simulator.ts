// The device simulator: the demo fleet of data/iot/demo-devices.json behaving like field devices
// and talking to Sen as they would, over real MQTT with ThingsBoard's device API:
//   CONNECT   user name = the device's access token
//   PUBLISH   v1/devices/me/telemetry  {"ts": ms, "values": {…}}  (QoS 1)
//   SUBSCRIBE v1/devices/me/rpc/request/+  → PUBLISH v1/devices/me/rpc/response/{id}
// Behind an external broker (Mosquitto, EMQX) devices use per-device topics instead
// (v1/devices/{id}/…, user name = device id, password = its token; see mqtt-external.ts).
//
// The physics is deterministic-ish: every value is a function of the device, the simulated time and
// a small state (flood events, RPC overrides), with noise drawn from a hash of (device, time), so a
// simulated year can be checked in a test. Simulated time may run faster than the clock (`speed`),
// but messages are stamped with the real time: Sen refuses timestamps in the future.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { MqttClient } from "mqtt";
import { hydrologyRule } from "../ops/index.ts";
import type { CreateDeviceInput, IotService } from "./service.ts";
import type { RuleSpec } from "./types.ts";

// ---------------------------------------------------------------------------------------------
// The fleet

export interface AlarmLevels {
  bd1: number;
  bd2: number;
  bd3: number;
}

export interface DemoDevice {
  id: string;
  /** Vietnamese name, as shown on the console. */
  name: string;
  profileId: string;
  lat: number;
  lon: number;
  agency: string | null;
  /** Fixed demo token (8–64 characters of A–Z a–z 0–9 _ -). */
  accessToken: string;
  /** Sent to Sen with the device: water-level stations carry alarmLevels and floodInfluence (commune codes). */
  serverAttributes?: { alarmLevels?: AlarmLevels; floodInfluence?: string[]; [key: string]: unknown };
  /** Physics parameters of the simulator (never sent to Sen). */
  sim?: Record<string, number>;
}

const DATA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../data");
const TOKEN = /^[A-Za-z0-9_-]{8,64}$/;
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The demo fleet (data/iot/demo-devices.json). */
export function loadDemoFleet(dataDir: string = DATA_DIR): DemoDevice[] {
  const file = JSON.parse(readFileSync(path.join(dataDir, "iot", "demo-devices.json"), "utf8")) as { devices: DemoDevice[] };
  const seen = new Set<string>();
  for (const d of file.devices) {
    if (!DEVICE_ID.test(d.id) || seen.has(d.id)) throw new Error(`demo-devices.json: bad or repeated device id ${d.id}`);
    if (!TOKEN.test(d.accessToken)) throw new Error(`demo-devices.json: bad access token of ${d.id}`);
    if (!Number.isFinite(d.lat) || !Number.isFinite(d.lon)) throw new Error(`demo-devices.json: ${d.id} has no place`);
    seen.add(d.id);
  }
  return file.devices;
}

const alarmLevelsOf = (d: DemoDevice): AlarmLevels | undefined => d.serverAttributes?.alarmLevels;

/** The BĐ1/BĐ2/BĐ3 flood rule of a water-level station (the one ops defines), from its alarm levels. */
export function floodRule(d: DemoDevice): RuleSpec | undefined {
  const lv = alarmLevelsOf(d);
  return lv ? hydrologyRule(lv) : undefined;
}

function createInput(d: DemoDevice): CreateDeviceInput {
  const rule = floodRule(d);
  return {
    id: d.id,
    name: d.name,
    profileId: d.profileId,
    lat: d.lat,
    lon: d.lon,
    agency: d.agency,
    accessToken: d.accessToken,
    serverAttributes: d.serverAttributes ?? {},
    rules: rule ? [rule] : [],
  };
}

const statusOf = (err: unknown) => (err && typeof err === "object" && "status" in err ? (err as { status: unknown }).status : undefined);

/**
 * Register the demo devices Sen does not have yet, directly through the service (in-process, e.g.
 * on first start with SEN_DEMO=1). Returns how many were created. A device whose agency is unknown
 * (another province's agency list) is registered without one.
 */
export async function ensureDemoDevices(iot: IotService, devices: DemoDevice[]): Promise<number> {
  const have = new Set(iot.all().map((d) => d.row.id));
  let created = 0;
  for (const d of devices) {
    if (have.has(d.id)) continue;
    const input = createInput(d);
    try {
      await iot.createDevice(input);
    } catch (err) {
      // Its token is some other device's, or another Sen node registered it a moment ago.
      if (statusOf(err) === 409 || (err as { code?: unknown }).code === "23505") continue;
      if (statusOf(err) === 400 && input.agency && /agency/i.test((err as Error).message)) await iot.createDevice({ ...input, agency: null });
      else throw err;
    }
    created++;
  }
  return created;
}

export type ApiCredentials = { apiKey: string } | { username: string; password: string };

/**
 * Register the demo devices through a running Sen's HTTP API (POST /api/devices with the fixed
 * demo tokens); 409 means the device is already there. Returns how many were created.
 */
export async function provisionViaApi(baseUrl: string, credentials: ApiCredentials, devices: DemoDevice[]): Promise<number> {
  const base = baseUrl.replace(/\/+$/, "");
  const headers: Record<string, string> = { "content-type": "application/json" };
  if ("apiKey" in credentials) headers["x-api-key"] = credentials.apiKey;
  else {
    const res = await fetch(`${base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: credentials.username, password: credentials.password }),
    });
    if (res.status !== 200) throw new Error(`signing in as ${credentials.username} at ${base} failed: ${res.status} ${await problemDetail(res)}`);
    headers.authorization = `Bearer ${((await res.json()) as { token: string }).token}`;
  }
  let created = 0;
  for (const d of devices) {
    const input = createInput(d);
    let res = await fetch(`${base}/api/devices`, { method: "POST", headers, body: JSON.stringify(input) });
    if (res.status === 400 && input.agency) {
      const detail = await problemDetail(res);
      if (!/agency/i.test(detail)) throw new Error(`registering ${d.id} failed: 400 ${detail}`);
      res = await fetch(`${base}/api/devices`, { method: "POST", headers, body: JSON.stringify({ ...input, agency: null }) });
    }
    if (res.status === 201) created++;
    else if (res.status !== 409) throw new Error(`registering ${d.id} failed: ${res.status} ${await problemDetail(res)}`);
    else await res.body?.cancel();
  }
  return created;
}

async function problemDetail(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { detail?: string; title?: string };
    return body.detail ?? body.title ?? text.slice(0, 300);
  } catch {
    return text.slice(0, 300);
  }
}

// ---------------------------------------------------------------------------------------------
// Physics

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Asia/Ho_Chi_Minh is UTC+7 all year (no daylight saving). */
const VN_OFFSET = 7 * HOUR;
const M2_HOURS = 12.42;
const K1_HOURS = 23.93;
const SPRING_NEAP_HOURS = 14.77 * 24;

export interface SimOptions {
  /** Seed of the random events (flood peaks); the same seed gives the same events. */
  seed?: number;
  /** Chance, per simulated hour, that a flood peak starts (one at a time). Default 0.05. */
  floodChancePerHour?: number;
  /** Simulated length of a flood peak (rise and fall) at one station. Default 8 h. */
  floodHours?: number;
  /** Chance, per trap and night, that a brown-planthopper outbreak starts. Default 0.01. */
  outbreakChancePerNight?: number;
}

interface FloodEvent {
  start: number;
  durationMs: number;
  /** Where Tân Châu's peak lands: BĐ2 + k·(BĐ3 − BĐ2), k from 0.3 (just over BĐ2) to 1.2 (over BĐ3). */
  k: number;
}

export interface DeviceSimState {
  /** A street light's state set by RPC, held until the next scheduled switch (simulated time). */
  power?: { on: boolean; until: number };
  /** Sampling interval set by RPC (real seconds). */
  samplingSeconds?: number;
}

export interface SimState {
  options: Required<SimOptions>;
  floods: FloodEvent[];
  lastHour?: number;
  rng: () => number;
  devices: Map<string, DeviceSimState>;
}

export function createSimState(opts: SimOptions = {}): SimState {
  const options: Required<SimOptions> = {
    seed: opts.seed ?? 82,
    floodChancePerHour: opts.floodChancePerHour ?? 0.05,
    floodHours: opts.floodHours ?? 8,
    outbreakChancePerNight: opts.outbreakChancePerNight ?? 0.01,
  };
  return { options, floods: [], rng: mulberry32(options.seed), devices: new Map() };
}

export function deviceState(state: SimState, id: string): DeviceSimState {
  const s = state.devices.get(id) ?? {};
  state.devices.set(id, s);
  return s;
}

/** A small deterministic PRNG (mulberry32): the same seed gives the same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function h32(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x | 0) ^ Math.floor(x / 4294967296), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Uniform in [0, 1), a pure function of its arguments. */
const u01 = (...xs: number[]) => h32(...xs) / 4294967296;
/** Standard normal, a pure function of its arguments (Box–Muller). */
const gauss = (...xs: number[]) => Math.sqrt(-2 * Math.log(1 - u01(...xs, 1))) * Math.cos(2 * Math.PI * u01(...xs, 2));

/** Smooth noise in [-1, 1] with features about `periodMs` apart. */
function smooth(seed: number, t: number, periodMs: number): number {
  const x = t / periodMs;
  const i = Math.floor(x);
  const f = x - i;
  const s = f * f * (3 - 2 * f);
  const a = u01(seed, i) * 2 - 1;
  const b = u01(seed, i + 1) * 2 - 1;
  return a + (b - a) * s;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
const bell = (x: number, mu: number, sigma: number) => Math.exp(-0.5 * ((x - mu) / sigma) ** 2);
/** A bell over the day of the year that wraps around New Year. */
const seasonalBell = (doy: number, mu: number, sigma: number) => Math.max(bell(doy, mu, sigma), bell(doy + 365, mu, sigma), bell(doy - 365, mu, sigma));
const hourBell = (h: number, mu: number, sigma: number) => Math.max(bell(h, mu, sigma), bell(h + 24, mu, sigma), bell(h - 24, mu, sigma));

interface LocalTime {
  year: number;
  /** Day of the year, fractional, from 0. */
  doy: number;
  /** Hour of the day, fractional. */
  hour: number;
  /** Days since 1970-01-01 local. */
  day: number;
  /** 0 = Sunday. */
  weekday: number;
}

/** Local time in Asia/Ho_Chi_Minh. */
export function vnTime(t: number): LocalTime {
  const local = t + VN_OFFSET;
  const d = new Date(local);
  const year = d.getUTCFullYear();
  const day = Math.floor(local / DAY);
  return { year, doy: (local - Date.UTC(year, 0, 1)) / DAY, hour: (local - day * DAY) / HOUR, day, weekday: d.getUTCDay() };
}

// ---- water level (m, national datum): flood season + tide + flood peaks + noise

const FLOOD_YEAR_SEED = hashString("flood-year");

/** 0 in the dry season, 1 at the flood peak (early October): rises from July, recedes by December. */
function floodSeason(doy: number): number {
  const peak = 280;
  const d = ((doy - peak + 182.5 + 365) % 365) - 182.5;
  return Math.exp(-0.5 * (d / (d < 0 ? 48 : 32)) ** 2);
}

/** Semi-diurnal tide with diurnal inequality and spring–neap cycle, in about [-1.15, 1.15]. */
function tideWave(t: number, phaseHours: number): number {
  const h = t / HOUR - phaseHours;
  const springNeap = 1 + 0.15 * Math.cos((2 * Math.PI * (t / HOUR)) / SPRING_NEAP_HOURS);
  return (springNeap * (Math.cos((2 * Math.PI * h) / M2_HOURS) + 0.2 * Math.cos((2 * Math.PI * (h - phaseHours)) / K1_HOURS))) / 1.2;
}
const tideEnvelope = (t: number) => 1 + 0.15 * Math.cos((2 * Math.PI * (t / HOUR)) / SPRING_NEAP_HOURS);

interface StationParams {
  dry: number;
  flood: number;
  tide: number;
  tideFloodDamping: number;
  tidePhaseHours: number;
  floodWeight: number;
  floodLagHours: number;
}

function stationParams(d: DemoDevice): StationParams {
  const s = d.sim ?? {};
  return {
    dry: s.dry ?? 0.5,
    flood: s.flood ?? 1.5,
    tide: s.tide ?? 0.6,
    tideFloodDamping: s.tideFloodDamping ?? 0.5,
    tidePhaseHours: s.tidePhaseHours ?? 2,
    floodWeight: s.floodWeight ?? 0.5,
    floodLagHours: Math.max(0, s.floodLagHours ?? 0), // hours after the wave passes the uppermost station
  };
}

/** Mean (tide-free) level: the flood-season curve, its height varying from year to year. */
function meanLevel(p: StationParams, t: number): number {
  const lt = vnTime(t);
  const yearFactor = 0.8 + 0.3 * u01(FLOOD_YEAR_SEED, lt.year);
  return p.dry + (p.flood - p.dry) * floodSeason(lt.doy) * yearFactor;
}

/** Roll the dice for flood peaks, once per simulated hour passed. */
function advanceWorld(state: SimState, t: number): void {
  const hour = Math.floor(t / HOUR);
  if (state.lastHour === undefined || hour - state.lastHour > 800 * 24) state.lastHour = hour;
  const o = state.options;
  for (let h = state.lastHour + 1; h <= hour; h++) {
    const at = h * HOUR;
    const busy = state.floods.some((f) => at < f.start + f.durationMs + 12 * HOUR);
    if (!busy && state.rng() < o.floodChancePerHour) state.floods.push({ start: at, durationMs: o.floodHours * HOUR, k: 0.3 + 0.9 * state.rng() });
  }
  if (hour > state.lastHour) state.lastHour = hour;
  // Keep events while a downstream station (lagging up to two days) may still feel them.
  state.floods = state.floods.filter((f) => f.start + f.durationMs + 4 * DAY > t);
}

/** A flood peak at this station: extra height and how much of the tide it drowns (0–1). */
function floodPeak(p: StationParams, lv: AlarmLevels | undefined, t: number, state: SimState): { offset: number; shape: number } {
  let offset = 0;
  let shape = 0;
  if (!lv) return { offset, shape };
  for (const f of state.floods) {
    const start = f.start + p.floodLagHours * HOUR;
    if (t < start || t > start + f.durationMs) continue;
    const s = 0.5 * (1 - Math.cos((2 * Math.PI * (t - start)) / f.durationMs));
    const peakT = start + f.durationMs / 2;
    const floor = lv.bd1 - 0.2;
    const target = floor + p.floodWeight * (lv.bd2 + f.k * (lv.bd3 - lv.bd2) - floor);
    // The high water the station would have at the peak without the flood, tide mostly drowned.
    const highWater = meanLevel(p, peakT) + p.tide * (1 - p.tideFloodDamping * floodSeason(vnTime(peakT).doy)) * tideEnvelope(peakT) * (1 - p.tideFloodDamping);
    offset += Math.max(0, target - highWater) * s;
    shape = Math.max(shape, s);
  }
  return { offset, shape };
}

function waterLevel(d: DemoDevice, t: number, state: SimState, seed: number): Record<string, number> {
  const p = stationParams(d);
  const season = floodSeason(vnTime(t).doy);
  const peak = floodPeak(p, alarmLevelsOf(d), t, state);
  const tide = p.tide * (1 - p.tideFloodDamping * season) * (1 - p.tideFloodDamping * peak.shape) * tideWave(t, p.tidePhaseHours);
  const noise = 0.012 * smooth(seed, t, 20 * 60_000) + 0.004 * (u01(seed, Math.floor(t / 1000)) * 2 - 1);
  const level = meanLevel(p, t) + tide + peak.offset + noise;
  const h = vnTime(t).hour;
  const battery = 88 + 7 * Math.sin((2 * Math.PI * (h - 9)) / 24) + 2 * smooth(seed + 1, t, 6 * HOUR);
  return { waterLevel: round(clamp(level, -2.9, 9.9), 3), battery: Math.round(clamp(battery, 0, 100)) };
}

// ---- weather shared by traps and stations

function airTemperature(t: number, seed: number): number {
  const lt = vnTime(t);
  const season = 1.6 * Math.cos((2 * Math.PI * (lt.doy - 110)) / 365); // hottest in April
  const daily = 3.8 * Math.cos((2 * Math.PI * (lt.hour - 14.5)) / 24);
  return clamp(27.3 + season + daily + 0.8 * smooth(seed, t, 3 * HOUR), 15, 42);
}

function relativeHumidity(t: number, seed: number): number {
  const lt = vnTime(t);
  const rainy = 7 * Math.cos((2 * Math.PI * (lt.doy - 260)) / 365);
  const daily = -13 * Math.cos((2 * Math.PI * (lt.hour - 14.5)) / 24);
  return clamp(79 + rainy + daily + 4 * smooth(seed, t, 3 * HOUR), 35, 100);
}

// ---- brown planthopper light trap: catch of the night so far (18:00–06:00), then the night's total

/** Light-trap counts follow the rice crops: waves after Đông Xuân, Hè Thu and Thu Đông sowing. */
const cropWave = (doy: number) => 0.35 + seasonalBell(doy, 20, 14) + seasonalBell(doy, 135, 14) + seasonalBell(doy, 255, 14);
const OUTBREAK = [4, 12, 20, 10, 4];

function nightTotal(d: DemoDevice, night: number, state: SimState, seed: number): number {
  const base = d.sim?.base ?? 350;
  const doy = vnTime(night * DAY - VN_OFFSET + 18 * HOUR).doy;
  let outbreak = 1;
  for (let m = night - OUTBREAK.length + 1; m <= night; m++)
    if (u01(seed, m, 77) < state.options.outbreakChancePerNight) outbreak = Math.max(outbreak, OUTBREAK[night - m] * (0.6 + 0.8 * u01(seed, m, 78)));
  return base * cropWave(doy) * Math.exp(0.45 * gauss(seed, night)) * outbreak;
}

function pestTrap(d: DemoDevice, t: number, state: SimState, seed: number): Record<string, number> {
  const lt = vnTime(t);
  // Traps light up at 18:00; most planthoppers fly in the first hours of the night.
  let night = lt.day;
  let into = lt.hour - 18;
  if (lt.hour < 18) {
    night = lt.day - 1;
    into = Math.min(12, lt.hour + 6);
  }
  const fraction = (1 - Math.exp(-into / 2)) / (1 - Math.exp(-6));
  const count = Math.round(nightTotal(d, night, state, seed) * clamp(fraction, 0, 1));
  return {
    brownPlanthopper: clamp(count, 0, 1_000_000),
    temperature: round(airTemperature(t, seed + 11), 1),
    humidity: round(relativeHumidity(t, seed + 12), 1),
  };
}

// ---- air quality: PM2.5/PM10 with rush hours, dry-season haze, now and then straw burning; VN_AQI

const VN_AQI_PM25 = [0, 25, 50, 80, 150, 250, 350, 500];
const VN_AQI_PM10 = [0, 50, 150, 250, 350, 420, 500, 600];
const AQI_STEPS = [0, 50, 100, 150, 200, 300, 400, 500];

/** Sub-index of one pollutant (Vietnam's VN_AQI, QĐ 1459/QĐ-TCMT 2019 breakpoints). */
function subIndex(c: number, bp: number[]): number {
  for (let i = 1; i < bp.length; i++) if (c <= bp[i]) return AQI_STEPS[i - 1] + ((AQI_STEPS[i] - AQI_STEPS[i - 1]) * (c - bp[i - 1])) / (bp[i] - bp[i - 1]);
  return 500;
}

function airQuality(d: DemoDevice, t: number, seed: number): Record<string, number> {
  const lt = vnTime(t);
  const base = d.sim?.base ?? 22;
  const dry = 1.05 + 0.3 * Math.cos((2 * Math.PI * (lt.doy - 40)) / 365);
  const h = lt.hour;
  const daily = 0.85 + 0.45 * hourBell(h, 7.3, 1.1) + 0.55 * hourBell(h, 18.8, 1.6) + 0.2 * hourBell(h, 23, 2.5) - 0.3 * hourBell(h, 14, 2.5);
  // Straw burning after harvest: some evenings, mostly in the harvest months.
  const harvest = seasonalBell(lt.doy, 75, 20) + seasonalBell(lt.doy, 190, 20);
  const burning = u01(seed, lt.day, 5) < 0.08 * harvest ? 1 + 2.2 * hourBell(h, 20, 2.5) : 1;
  const pm25 = clamp(base * dry * daily * burning * (1 + 0.18 * smooth(seed, t, 2 * HOUR)), 2, 990);
  const pm10 = clamp(pm25 * (1.7 + 0.2 * smooth(seed + 3, t, 5 * HOUR)), 3, 1990);
  const aqi = Math.round(clamp(Math.max(subIndex(pm25, VN_AQI_PM25), subIndex(pm10, VN_AQI_PM10)), 0, 500));
  return { pm25: round(pm25, 1), pm10: round(pm10, 1), aqi, temperature: round(airTemperature(t, seed + 11), 1) };
}

// ---- water quality near the coast: salinity high in the dry season, higher at high tide

function waterQuality(d: DemoDevice, t: number, seed: number): Record<string, number> {
  const lt = vnTime(t);
  const dry = d.sim?.salinityDry ?? 8;
  const wet = d.sim?.salinityWet ?? 0.5;
  const intrusion = seasonalBell(lt.doy, 75, 45); // peak in March
  const tide = 1 + 0.25 * tideWave(t, 0.5);
  const salinity = clamp((wet + (dry - wet) * intrusion) * tide * (1 + 0.08 * smooth(seed, t, 6 * HOUR)), 0, 49);
  const water = 28.5 + 1.2 * Math.cos((2 * Math.PI * (lt.doy - 120)) / 365) + 1.1 * Math.cos((2 * Math.PI * (lt.hour - 16)) / 24);
  const oxygen = 5.6 + 1.1 * Math.cos((2 * Math.PI * (lt.hour - 15)) / 24) - 0.25 * (water - 28.5) + 0.3 * smooth(seed + 2, t, 4 * HOUR);
  const pH = 7.3 + 0.02 * salinity - 0.25 * floodSeason(lt.doy) + 0.12 * smooth(seed + 4, t, 8 * HOUR);
  return {
    pH: round(clamp(pH, 5.5, 9), 2),
    salinity: round(salinity, 2),
    dissolvedOxygen: round(clamp(oxygen, 1, 12), 2),
    temperature: round(clamp(water, 20, 36), 1),
  };
}

// ---- street lights: on from 18:00 to 05:30, dimmed to 60 % from 23:00 to 04:30, unless an RPC says otherwise

const scheduledOn = (hour: number) => hour >= 18 || hour < 5.5;

/** The next scheduled switch (18:00 or 05:30 local) after t. */
function nextSwitch(t: number): number {
  const lt = vnTime(t);
  const midnight = lt.day * DAY - VN_OFFSET;
  for (const at of [5.5, 18, 29.5]) if (midnight + at * HOUR > t) return midnight + at * HOUR;
  return midnight + 29.5 * HOUR;
}

function streetLightOn(d: DemoDevice, t: number, state: SimState): boolean {
  const o = state.devices.get(d.id)?.power;
  if (o && t < o.until) return o.on;
  return scheduledOn(vnTime(t).hour);
}

function streetLight(d: DemoDevice, t: number, state: SimState, seed: number): Record<string, number | string> {
  const on = streetLightOn(d, t, state);
  const h = vnTime(t).hour;
  const level = !on ? 0 : h >= 23 || h < 4.5 ? 60 : 100;
  const rated = d.sim?.ratedPower ?? 120;
  const watts = on ? (rated * level) / 100 + 3 + 1.5 * smooth(seed, t, 10 * 60_000) : 0.8;
  return { powerState: on ? "on" : "off", illuminanceLevel: level, powerConsumption: round(clamp(watts, 0, 2000), 1) };
}

// ---- traffic counters: vehicles per 5 minutes, rush hours, speed falling as the road fills

function traffic(d: DemoDevice, t: number, seed: number): Record<string, number> {
  const lt = vnTime(t);
  const capacity = d.sim?.capacity ?? 400;
  const freeFlow = d.sim?.freeFlowSpeed ?? 45;
  const weekend = lt.weekday === 0 || lt.weekday === 6;
  const h = lt.hour;
  const rush = weekend ? 0.55 : 1;
  const demand =
    0.05 +
    0.32 * bell(h, 13, 4.5) +
    rush * (0.62 * hourBell(h, 7.1, 0.8) + 0.68 * hourBell(h, 17.4, 1.0)) +
    0.18 * hourBell(h, 11.5, 0.9) +
    (weekend ? 0.12 * bell(h, 19.5, 2) : 0);
  const x = clamp(demand * (1 + 0.08 * smooth(seed, t, 30 * 60_000) + 0.04 * (u01(seed, Math.floor(t / 60_000)) * 2 - 1)), 0.01, 1.15);
  const intensity = Math.round(capacity * x);
  const speed = freeFlow / (1 + 0.9 * x ** 4) + 1.5 * smooth(seed + 1, t, 15 * 60_000);
  const occupancy = 2 + 30 * x + 35 * x ** 4;
  return {
    intensity: clamp(intensity, 0, 5000),
    averageVehicleSpeed: round(clamp(speed, 3, 120), 1),
    occupancy: round(clamp(occupancy, 0, 98), 1),
  };
}

const seeds = new Map<string, number>();
const seedOf = (id: string) => seeds.get(id) ?? (seeds.set(id, hashString(id)).get(id) as number);

/**
 * What the device measures at simulated time t (epoch ms). Values stay within the profile's ranges;
 * the state holds flood peaks and RPC overrides and moves forward with t.
 */
export function simulateValues(device: DemoDevice, t: number, state: SimState): Record<string, number | string | boolean> {
  advanceWorld(state, t);
  const seed = seedOf(device.id);
  switch (device.profileId) {
    case "water-level-station":
      return waterLevel(device, t, state, seed);
    case "pest-trap":
      return pestTrap(device, t, state, seed);
    case "air-quality-station":
      return airQuality(device, t, seed);
    case "water-quality-station":
      return waterQuality(device, t, seed);
    case "streetlight":
      return streetLight(device, t, state, seed);
    case "traffic-counter":
      return traffic(device, t, seed);
    default:
      return { online: true };
  }
}

/**
 * A server-side RPC as the device handles it: street lights obey setPowerState (held until the next
 * scheduled switch), every device obeys setSamplingInterval. `changed` = report again at once.
 */
export function handleRpc(
  device: DemoDevice,
  state: SimState,
  t: number,
  method: string,
  params: unknown,
): { response: Record<string, unknown>; changed: boolean } {
  const s = deviceState(state, device.id);
  const p = (params ?? {}) as Record<string, unknown>;
  switch (method) {
    case "setPowerState": {
      if (device.profileId !== "streetlight") return { response: { error: `${device.name} has no power switch` }, changed: false };
      const raw = typeof params === "object" && params !== null ? p.on : params;
      const on = raw === true || raw === "true" || raw === 1 || raw === "on";
      if (!(on || raw === false || raw === "false" || raw === 0 || raw === "off"))
        return { response: { error: 'params must be {"on": true|false}' }, changed: false };
      s.power = { on, until: nextSwitch(t) };
      return { response: { powerState: on ? "on" : "off", until: new Date(s.power.until).toISOString() }, changed: true };
    }
    case "getPowerState":
      if (device.profileId !== "streetlight") return { response: { error: `${device.name} has no power switch` }, changed: false };
      return { response: { powerState: streetLightOn(device, t, state) ? "on" : "off" }, changed: false };
    case "setSamplingInterval": {
      const n = Number(typeof params === "object" && params !== null ? p.seconds : params);
      if (!Number.isInteger(n) || n < 1 || n > 86_400) return { response: { error: "seconds must be a whole number from 1 to 86400" }, changed: false };
      s.samplingSeconds = n;
      return { response: { samplingInterval: n }, changed: false };
    }
    case "getSamplingInterval":
      return { response: { samplingInterval: s.samplingSeconds ?? null }, changed: false };
    default:
      return { response: { error: `unknown method ${String(method).slice(0, 100)}` }, changed: false };
  }
}

/** A value a faulty sensor sends: outside the profile's range (stored by Sen, flagged). */
const SENSOR_ERRORS: Record<string, Record<string, number>> = {
  "water-level-station": { waterLevel: -9999 },
  "pest-trap": { humidity: 142.5 },
  "air-quality-station": { pm10: 2500 },
  "water-quality-station": { pH: 15.2 },
  streetlight: { illuminanceLevel: 255 },
  "traffic-counter": { occupancy: 160 },
};

// ---------------------------------------------------------------------------------------------
// Over MQTT

export interface SimulatorStats {
  /** Telemetry and RPC responses sent (QoS 1). */
  published: number;
  /** Of those, acknowledged by the broker (PUBACK). */
  acked: number;
  /** Publishes that failed, and connection errors (refused token, broker gone). */
  errors: number;
  /** RPC requests answered. */
  rpc: number;
  /** Faults played (silence, bad payload). */
  faults: number;
  /** Devices connected right now. */
  connected: number;
}

export interface SimulatorOptions extends SimOptions {
  mqttUrl: string;
  devices: DemoDevice[];
  /** Between two messages of a device, jittered ±20 %. Default 5000. */
  intervalMs?: number;
  /** Time acceleration of the physics (1 = real time). Messages are stamped with the real time. */
  speed?: number;
  /** Simulated time at start (epoch ms); default now. */
  simStart?: number;
  /** Now and then a station goes silent, a device sends a bad payload. Default true. */
  faults?: boolean;
  /** Mean time between two faults. Default 120 s. */
  faultEveryMs?: number;
  /** How long a silent station stays silent: [min, max] ms. Default 5–40 minutes. */
  silenceMs?: [number, number];
  /** Topics per device (v1/devices/{id}/…, user name = id, password = token) for an external broker. */
  perDeviceTopics?: boolean;
  log?: (message: string) => void;
}

export interface Simulator {
  stats: SimulatorStats;
  state: SimState;
  stop(): Promise<void>;
}

interface Runner {
  device: DemoDevice;
  client?: MqttClient;
  timer?: NodeJS.Timeout;
  silentUntil?: number;
  warned?: boolean;
}

/** Run the fleet: one MQTT connection per device, telemetry every interval, answering RPC. */
export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const log = opts.log ?? (() => {});
  // The MQTT client is loaded when a simulator runs, not with the server (about 15 MB).
  const { default: mqtt } = await import("mqtt");
  const state = createSimState(opts);
  const speed = opts.speed ?? 1;
  if (!(speed > 0 && speed <= 1_000_000)) throw new Error("speed must be above 0 and at most 1,000,000");
  const intervalMs = opts.intervalMs ?? 5000;
  const t0 = Date.now();
  const simStart = opts.simStart ?? t0;
  const simNow = () => simStart + (Date.now() - t0) * speed;
  const stats: SimulatorStats = { published: 0, acked: 0, errors: 0, rpc: 0, faults: 0, connected: 0 };
  const runners: Runner[] = opts.devices.map((device) => ({ device }));
  const pending = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  const prefix = (r: Runner) => (opts.perDeviceTopics ? `v1/devices/${r.device.id}` : "v1/devices/me");
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) fn();
    }, ms);
    timers.add(timer);
    return timer;
  };

  function send(r: Runner, topic: string, payload: string): void {
    const c = r.client;
    if (!c?.connected) return;
    stats.published++;
    const p = new Promise<void>((resolve) =>
      c.publish(topic, payload, { qos: 1 }, (err) => {
        if (err) stats.errors++;
        else stats.acked++;
        resolve();
      }),
    );
    pending.add(p);
    void p.then(() => pending.delete(p));
  }

  function report(r: Runner): void {
    const values = simulateValues(r.device, simNow(), state);
    send(r, `${prefix(r)}/telemetry`, JSON.stringify({ ts: Date.now(), values }));
  }

  function schedule(r: Runner, first = false): void {
    if (r.timer) {
      clearTimeout(r.timer);
      timers.delete(r.timer);
    }
    const every = (state.devices.get(r.device.id)?.samplingSeconds ?? 0) * 1000 || intervalMs;
    const delay = first ? Math.random() * every : every * (0.8 + 0.4 * Math.random());
    r.timer = later(delay, () => {
      if (r.silentUntil === undefined) report(r);
      schedule(r);
    });
  }

  function onRpc(r: Runner, topic: string, payload: Buffer): void {
    const id = topic.slice(`${prefix(r)}/rpc/request/`.length);
    let request: { method?: unknown; params?: unknown } = {};
    try {
      const parsed = JSON.parse(payload.toString("utf8"));
      if (parsed && typeof parsed === "object") request = parsed;
    } catch {}
    const method = typeof request.method === "string" ? request.method : "";
    const { response, changed } = handleRpc(r.device, state, simNow(), method, request.params);
    stats.rpc++;
    log(`RPC ${method} → ${r.device.name}: ${JSON.stringify(response)}`);
    send(r, `${prefix(r)}/rpc/response/${id}`, JSON.stringify(response));
    if (changed) report(r);
    if (method === "setSamplingInterval" && !("error" in response)) schedule(r);
  }

  function connect(r: Runner, ready?: () => void): void {
    const c = mqtt.connect(opts.mqttUrl, {
      username: opts.perDeviceTopics ? r.device.id : r.device.accessToken,
      password: opts.perDeviceTopics ? r.device.accessToken : undefined,
      clientId: `sim-${r.device.id}-${Math.random().toString(36).slice(2, 8)}`,
      keepalive: 30,
      clean: true,
      protocolVersion: 4,
      connectTimeout: 10_000,
      reconnectPeriod: 2000 + Math.floor(Math.random() * 2000),
    });
    r.client = c;
    let wasConnected = false;
    c.on("connect", () => {
      wasConnected = true;
      stats.connected++;
      c.subscribe(`${prefix(r)}/rpc/request/+`, { qos: 1 }, () => ready?.());
    });
    c.on("close", () => {
      if (wasConnected) stats.connected--;
      wasConnected = false;
    });
    c.on("error", (err) => {
      stats.errors++;
      const code = (err as { code?: unknown }).code;
      if (!r.warned) {
        r.warned = true;
        log(
          code === 4 || code === 5
            ? `${r.device.name} (${r.device.id}): the broker refused its token — is the device registered in Sen?`
            : `${r.device.name} (${r.device.id}): ${err.message}`,
        );
      }
      ready?.();
    });
    c.on("message", (topic, payload) => onRpc(r, topic, payload));
  }

  // ---- faults: one station goes silent for a while; one device sends something bad
  function fault(): void {
    const online = runners.filter((r) => r.client?.connected && r.silentUntil === undefined);
    if (!online.length) return;
    const anySilent = runners.some((r) => r.silentUntil !== undefined);
    const r = online[Math.floor(Math.random() * online.length)];
    stats.faults++;
    if (!anySilent && Math.random() < 0.5) {
      const stations = online.filter((x) => !["streetlight", "traffic-counter"].includes(x.device.profileId));
      const s = stations.length ? stations[Math.floor(Math.random() * stations.length)] : r;
      const [min, max] = opts.silenceMs ?? [5 * 60_000, 40 * 60_000];
      const ms = min + Math.random() * (max - min);
      s.silentUntil = Date.now() + ms;
      log(`fault: ${s.device.name} goes silent for ${Math.round(ms / 60_000)} min (power or link lost)`);
      void s.client?.endAsync(true).catch(() => undefined);
      later(ms, () => {
        s.silentUntil = undefined;
        s.warned = false;
        log(`${s.device.name} is back`);
        connect(s);
      });
      return;
    }
    const bad = Math.random() < 0.5;
    if (bad) {
      const samples = ["waterLevel=1.23&battery=87", `{"ts":${Date.now()},"values":{"waterLevel":1.2`, "\u0000\u0001\u0002 garbage"];
      send(r, `${prefix(r)}/telemetry`, samples[Math.floor(Math.random() * samples.length)]);
      log(`fault: ${r.device.name} sends a payload that is not JSON`);
    } else {
      const values = { ...simulateValues(r.device, simNow(), state), ...(SENSOR_ERRORS[r.device.profileId] ?? {}) };
      send(r, `${prefix(r)}/telemetry`, JSON.stringify({ ts: Date.now(), values }));
      log(`fault: ${r.device.name} sends a value out of range ${JSON.stringify(SENSOR_ERRORS[r.device.profileId] ?? {})}`);
    }
  }
  function scheduleFault(): void {
    const every = opts.faultEveryMs ?? 120_000;
    later(every * (0.5 + Math.random()), () => {
      fault();
      scheduleFault();
    });
  }

  // Connect at most ~40 devices a second (the embedded broker refuses bursts from one address),
  // and wait until each has connected or failed (at most 10 s).
  await new Promise<void>((resolve) => {
    let left = runners.length;
    if (!left) return resolve();
    const done = () => {
      if (--left === 0) resolve();
    };
    const giveUp = later(10_000, () => {
      left = -1;
      resolve();
    });
    for (const [i, r] of runners.entries())
      later(i * 25, () => {
        let once = false;
        connect(r, () => {
          if (once) return;
          once = true;
          done();
          if (left === 0) {
            clearTimeout(giveUp);
            timers.delete(giveUp);
          }
        });
        schedule(r, true);
      });
  });
  log(`${stats.connected} of ${runners.length} devices connected to ${opts.mqttUrl}`);
  if (opts.faults !== false) scheduleFault();

  return {
    stats,
    state,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      // Let acknowledgements in flight arrive (briefly), then hang up.
      await Promise.race([Promise.all([...pending]), new Promise((r) => setTimeout(r, 2000).unref())]);
      await Promise.all(runners.map((r) => r.client?.endAsync(true).catch(() => undefined)));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// `sen simulate`

const USAGE = `Usage: sen simulate [options]

Runs the demo fleet (data/iot/demo-devices.json: water-level stations on the Tiền and Hậu rivers,
pest traps, air and water quality stations, street lights, traffic counters) against a running Sen,
over MQTT as real devices do. Registers the devices first through the HTTP API, with
SEN_API_KEY (permission devices:manage) or the admin password SEN_ADMIN_PASSWORD.

  --url URL          Sen's HTTP address            (default http://localhost:$PORT or 8080)
  --mqtt URL         the MQTT broker devices use   (default mqtt://localhost:$MQTT_PORT or 1883)
  --speed N          run the physics N times faster than the clock (default 1)
  --interval S       seconds between two messages of a device (default 5)
  --no-faults        no silent stations, no bad payloads
  --per-device-topics  v1/devices/{id}/… topics (external broker; user name = id, password = token)
`;

/** `sen simulate …`: register the demo fleet through the HTTP API, then run it until Ctrl-C. */
export async function runSimulateCommand(
  args: string[],
  env: Record<string, string | undefined> = process.env,
  out: { write(s: string): unknown } = process.stdout,
): Promise<number> {
  let values: { url?: string; mqtt?: string; speed?: string; interval?: string; "no-faults"?: boolean; "per-device-topics"?: boolean; help?: boolean };
  try {
    values = parseArgs({
      args,
      options: {
        url: { type: "string" },
        mqtt: { type: "string" },
        speed: { type: "string" },
        interval: { type: "string" },
        "no-faults": { type: "boolean" },
        "per-device-topics": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out.write(USAGE);
    return 0;
  }
  const url = values.url ?? `http://localhost:${env.PORT?.trim() || 8080}`;
  const external = values.mqtt === undefined && !!env.MQTT_URL?.trim();
  const mqttUrl = values.mqtt ?? (env.MQTT_URL?.trim() || `mqtt://localhost:${env.MQTT_PORT?.trim() || 1883}`);
  const speed = values.speed === undefined ? 1 : Number(values.speed);
  const interval = values.interval === undefined ? 5 : Number(values.interval);
  if (!(speed > 0 && speed <= 1_000_000)) {
    process.stderr.write("--speed must be a number above 0 (e.g. 60 = one simulated hour per minute)\n");
    return 2;
  }
  if (!(interval >= 0.05 && interval <= 86_400)) {
    process.stderr.write("--interval must be a number of seconds from 0.05 to 86400\n");
    return 2;
  }

  const fleet = loadDemoFleet(DATA_DIR);
  const profileNames = new Map<string, string>();
  try {
    const file = JSON.parse(readFileSync(path.join(DATA_DIR, "iot", "profiles.json"), "utf8")) as { profiles: Array<{ id: string; name: string }> };
    for (const p of file.profiles) profileNames.set(p.id, p.name);
  } catch {}
  const clock = () => new Date().toLocaleTimeString("vi-VN", { hour12: false, timeZone: "Asia/Ho_Chi_Minh" });
  const say = (s: string) => out.write(`${s}\n`);

  say(`Sen simulator: ${fleet.length} demo devices → ${mqttUrl} (speed ×${speed}, every ${interval} s, faults ${values["no-faults"] ? "off" : "on"})`);
  const credentials: ApiCredentials | undefined = env.SEN_API_KEY
    ? { apiKey: env.SEN_API_KEY }
    : env.SEN_ADMIN_PASSWORD
      ? { username: env.SEN_ADMIN_USER || "admin", password: env.SEN_ADMIN_PASSWORD }
      : undefined;
  if (credentials) {
    try {
      const created = await provisionViaApi(url, credentials, fleet);
      say(`Registered at ${url}: ${created} new device(s), ${fleet.length - created} already there.`);
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      process.stderr.write(
        cause === "ECONNREFUSED"
          ? `Sen does not answer at ${url}: start it first (npx sen start) or give --url.\n`
          : `Could not register the devices: ${(err as Error).message}\n`,
      );
      return 1;
    }
  } else say("No SEN_API_KEY or SEN_ADMIN_PASSWORD: not registering devices (they must exist already, e.g. from SEN_DEMO=1).");

  const byProfile = new Map<string, DemoDevice[]>();
  for (const d of fleet) byProfile.set(d.profileId, [...(byProfile.get(d.profileId) ?? []), d]);
  for (const [profile, list] of byProfile) say(`  ${profileNames.get(profile) ?? profile} (${list.length}): ${list.map((d) => d.name).join(", ")}`);

  const sim = await startSimulator({
    mqttUrl,
    devices: fleet,
    intervalMs: interval * 1000,
    speed,
    faults: !values["no-faults"],
    perDeviceTopics: values["per-device-topics"] ?? external,
    log: (m) => say(`[${clock()}] ${m}`),
  });
  say("Running; Ctrl-C to stop.");

  let last = { at: Date.now(), published: 0, acked: 0 };
  const every = setInterval(() => {
    const s = sim.stats;
    const secs = (Date.now() - last.at) / 1000;
    say(
      `[${clock()}] ${s.connected}/${fleet.length} connected · ${((s.published - last.published) / secs).toFixed(1)} msg/s sent, ${((s.acked - last.acked) / secs).toFixed(1)} msg/s acknowledged · total ${s.published} sent, ${s.acked} acknowledged, ${s.errors} errors, ${s.rpc} RPC, ${s.faults} faults`,
    );
    last = { at: Date.now(), published: s.published, acked: s.acked };
  }, 10_000);

  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  clearInterval(every);
  await sim.stop();
  say(`Stopped: ${sim.stats.published} messages sent, ${sim.stats.acked} acknowledged, ${sim.stats.errors} errors.`);
  return 0;
}
