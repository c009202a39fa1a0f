// SQL of the IoT module: profiles, devices, telemetry (raw, latest, rollups) and commands.
import type { Db } from "../core/db.ts";
import type { KeySpec, RuleSpec } from "./types.ts";

export interface ProfileRow {
  id: string;
  name: string;
  name_en: string;
  type: string;
  keys: Record<string, KeySpec>;
  inactivity_timeout_s: number;
  retention_days: number;
  rules: RuleSpec[];
}

export interface DeviceRow {
  id: string;
  no: number;
  name: string;
  type: string;
  profile_id: string;
  lat: number | null;
  lon: number | null;
  commune_code: string | null;
  agency_code: string | null;
  enabled: boolean;
  token_hash: string;
  mqtt_username: string | null;
  mqtt_password_hash: string | null;
  attributes: Record<string, unknown>;
  server_attributes: Record<string, unknown>;
  rules: RuleSpec[];
  last_seen_at: Date | null;
  accepted: number;
  rejected: number;
  last_rejection: string | null;
  last_rejection_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface PointRow {
  device_no: number;
  key: string;
  ts: Date;
  num: number | null;
  val: unknown;
  out_of_range: boolean;
}

export interface NewDevice {
  id: string;
  name: string;
  type: string;
  profileId: string;
  lat: number | null;
  lon: number | null;
  commune: string | null;
  agency: string | null;
  tokenHash: string;
  mqttUsername: string | null;
  mqttPasswordHash: string | null;
  serverAttributes: Record<string, unknown>;
  rules: RuleSpec[];
}

/** Columns of one batch of points, as parallel arrays (one unnest() insert per batch). */
export interface PointColumns {
  deviceNo: number[];
  key: string[];
  /** Epoch milliseconds: cheaper to send than a Date per point. */
  ts: number[];
  num: Array<number | null>;
  val: Array<string | null>;
  outOfRange: boolean[];
}

/** Epoch milliseconds (column ms) to timestamptz, exactly (no float rounding below a millisecond). */
const MS_TO_TS = "'epoch'::timestamptz + ms * interval '1 millisecond'";

// The hot path sends its arrays as PostgreSQL array literals built here in one join, not as JS
// arrays: both drivers would otherwise turn every element into text one by one, with escaping
// (a fifth of Sen's time on PGlite, and most of node-postgres's share on PostgreSQL).
/** A literal of finite numbers (never null): {1,2.5,3}. */
const numbers = (a: readonly number[]) => `{${a.join(",")}}`;
/** A literal of non-null strings, each quoted: {"a","b"}. */
function texts(a: readonly string[]): string {
  if (a.length === 0) return "{}";
  const joined = a.join('","');
  // Telemetry keys are letters, digits, _ . - (payload.ts), so escaping is almost never needed.
  if (!/["\\]/.test(joined)) return `{"${joined}"}`;
  return `{${a.map((s) => `"${s.replace(/["\\]/g, "\\$&")}"`).join(",")}}`;
}
/**
 * A plain batch as COPY text rows (device_no, key, ts, num). Keys are letters, digits, _ . -
 * (payload.ts); anything else (never expected) returns undefined and the batch goes by INSERT.
 */
function copyRows(c: PointColumns): Buffer | undefined {
  if (/[\t\n\r\\]/.test(c.key.join(""))) return undefined;
  const lines: string[] = new Array(c.deviceNo.length);
  let lastMs = Number.NaN;
  let lastTs = "";
  for (let i = 0; i < lines.length; i++) {
    // A message's points share their ts: one ISO string per message, not per point.
    if (c.ts[i] !== lastMs) {
      lastMs = c.ts[i];
      lastTs = new Date(lastMs).toISOString();
    }
    lines[i] = `${c.deviceNo[i]}\t${c.key[i]}\t${lastTs}\t${c.num[i]}\n`;
  }
  return Buffer.from(lines.join(""));
}

/** All values numbers and none out of range: the text and flag columns need not travel. */
const allPlain = (c: PointColumns) => {
  for (let i = 0; i < c.val.length; i++) if (c.val[i] !== null || c.outOfRange[i]) return false;
  return true;
};

export type Agg = "avg" | "min" | "max" | "sum" | "count";

export function iotStore(db: Db) {
  // On PGlite, COPY writes a plain batch in about half the time of INSERT … SELECT FROM unnest()
  // (the database runs in Sen's thread there); on PostgreSQL the two cost about the same.
  const useCopy = db.driver === "pglite";
  return {
    // ---------- profiles
    upsertProfile: (p: ProfileRow) =>
      db.one<ProfileRow>(
        `INSERT INTO iot.profiles (id, name, name_en, type, keys, inactivity_timeout_s, retention_days, rules)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, name_en = EXCLUDED.name_en, type = EXCLUDED.type, keys = EXCLUDED.keys,
           inactivity_timeout_s = EXCLUDED.inactivity_timeout_s, retention_days = EXCLUDED.retention_days, rules = EXCLUDED.rules
         RETURNING *`,
        [p.id, p.name, p.name_en, p.type, JSON.stringify(p.keys), p.inactivity_timeout_s, p.retention_days, JSON.stringify(p.rules)],
      ),
    listProfiles: () => db.query<ProfileRow>("SELECT * FROM iot.profiles ORDER BY id"),
    getProfile: (id: string) => db.one<ProfileRow>("SELECT * FROM iot.profiles WHERE id = $1", [id]),

    // ---------- devices
    insertDevice: (d: NewDevice) =>
      db.one<DeviceRow>(
        `INSERT INTO iot.devices (id, name, type, profile_id, lat, lon, commune_code, agency_code, token_hash, mqtt_username, mqtt_password_hash, server_attributes, rules)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING *`,
        [
          d.id,
          d.name,
          d.type,
          d.profileId,
          d.lat,
          d.lon,
          d.commune,
          d.agency,
          d.tokenHash,
          d.mqttUsername,
          d.mqttPasswordHash,
          JSON.stringify(d.serverAttributes),
          JSON.stringify(d.rules),
        ],
      ),
    updateDevice: (
      id: string,
      p: Partial<{
        name: string;
        lat: number | null;
        lon: number | null;
        commune: string | null;
        agency: string | null;
        enabled: boolean;
        serverAttributes: Record<string, unknown>;
        rules: RuleSpec[];
        tokenHash: string;
        profileId: string;
      }>,
    ) => {
      const sets: string[] = [];
      const params: unknown[] = [id];
      const set = (col: string, v: unknown) => {
        params.push(v);
        sets.push(`${col} = $${params.length}`);
      };
      if (p.name !== undefined) set("name", p.name);
      if (p.lat !== undefined) set("lat", p.lat);
      if (p.lon !== undefined) set("lon", p.lon);
      if (p.commune !== undefined) set("commune_code", p.commune);
      if (p.agency !== undefined) set("agency_code", p.agency);
      if (p.enabled !== undefined) set("enabled", p.enabled);
      if (p.serverAttributes !== undefined) set("server_attributes", JSON.stringify(p.serverAttributes));
      if (p.rules !== undefined) set("rules", JSON.stringify(p.rules));
      if (p.tokenHash !== undefined) set("token_hash", p.tokenHash);
      if (p.profileId !== undefined) set("profile_id", p.profileId);
      sets.push("updated_at = now()");
      return db.one<DeviceRow>(`UPDATE iot.devices SET ${sets.join(", ")} WHERE id = $1 RETURNING *`, params);
    },
    mergeAttributes: (id: string, attrs: Record<string, unknown>) =>
      db.query("UPDATE iot.devices SET attributes = attributes || $2::jsonb WHERE id = $1", [id, JSON.stringify(attrs)]),
    getDevice: (id: string) => db.one<DeviceRow>("SELECT * FROM iot.devices WHERE id = $1", [id]),
    allDevices: () => db.query<DeviceRow>("SELECT * FROM iot.devices ORDER BY no"),
    deleteDevice: (id: string) => db.one<DeviceRow>("DELETE FROM iot.devices WHERE id = $1 RETURNING *", [id]),
    /** Persist the in-memory activity counters of many devices in one statement. */
    saveStats: (s: {
      id: string[];
      lastSeen: Array<Date | null>;
      accepted: number[];
      rejected: number[];
      lastRejection: Array<string | null>;
      lastRejectionAt: Array<Date | null>;
    }) =>
      db.query(
        `UPDATE iot.devices d SET last_seen_at = s.last_seen, accepted = s.accepted, rejected = s.rejected,
           last_rejection = s.last_rejection, last_rejection_at = s.last_rejection_at
         FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::text[], $6::timestamptz[])
           AS s(id, last_seen, accepted, rejected, last_rejection, last_rejection_at)
         WHERE d.id = s.id`,
        [s.id, s.lastSeen, s.accepted, s.rejected, s.lastRejection, s.lastRejectionAt],
      ),

    // ---------- telemetry
    /**
     * Insert a batch of raw points. The fast path is one plain insert; only when a device sent a
     * point twice (a retry after a lost PUBACK) does the batch go again skipping duplicates, and
     * then the rows actually inserted are returned so rollups count each point once.
     */
    async insertPoints(c: PointColumns): Promise<PointColumns> {
      // Most batches are plain good numbers: then the text and flag columns need not travel.
      const plain = allPlain(c);
      const block = plain && useCopy ? copyRows(c) : undefined;
      const params = () =>
        plain ? [numbers(c.deviceNo), texts(c.key), numbers(c.ts), numbers(c.num as number[])] : [c.deviceNo, c.key, c.ts, c.num, c.val, c.outOfRange];
      const input = plain
        ? `SELECT d, k, ${MS_TO_TS}, n, NULL::jsonb, false FROM unnest($1::int[], $2::text[], $3::float8[], $4::float8[]) AS t(d, k, ms, n)`
        : `SELECT d, k, ${MS_TO_TS}, n, v, o FROM unnest($1::int[], $2::text[], $3::float8[], $4::float8[], $5::jsonb[], $6::bool[]) AS t(d, k, ms, n, v, o)`;
      await db.query("SAVEPOINT points");
      try {
        if (block) await db.copyFrom("iot.telemetry", ["device_no", "key", "ts", "num"], block);
        else await db.query(`INSERT INTO iot.telemetry (device_no, key, ts, num, val, out_of_range) ${input}`, params());
        await db.query("RELEASE SAVEPOINT points");
        return c;
      } catch (err) {
        if ((err as { code?: string }).code !== "23505") throw err;
        await db.query("ROLLBACK TO SAVEPOINT points");
      }
      const rows = await db.query<{ device_no: number; key: string; ts: Date; num: number | null; out_of_range: boolean }>(
        `INSERT INTO iot.telemetry (device_no, key, ts, num, val, out_of_range) ${input}
         ON CONFLICT (device_no, key, ts) DO NOTHING RETURNING device_no, key, ts, num, out_of_range`,
        params(),
      );
      return {
        deviceNo: rows.map((r) => r.device_no),
        key: rows.map((r) => r.key),
        ts: rows.map((r) => new Date(r.ts).getTime()),
        num: rows.map((r) => r.num),
        val: rows.map(() => null),
        outOfRange: rows.map((r) => r.out_of_range),
      };
    },

    /** Add pre-aggregated buckets to an hourly or daily rollup. */
    addRollups: (table: "hour" | "day", r: { deviceNo: number[]; key: string[]; bucket: number[]; n: number[]; sum: number[]; min: number[]; max: number[] }) =>
      db.query(
        `INSERT INTO iot.rollup_${table === "hour" ? "hour" : "day"} AS r (device_no, key, bucket, n, sum, min, max)
         SELECT d, k, ${MS_TO_TS}, n, s, lo, hi FROM unnest($1::int[], $2::text[], $3::float8[], $4::int[], $5::float8[], $6::float8[], $7::float8[]) AS t(d, k, ms, n, s, lo, hi)
         ON CONFLICT (device_no, key, bucket) DO UPDATE
           SET n = r.n + EXCLUDED.n, sum = r.sum + EXCLUDED.sum, min = LEAST(r.min, EXCLUDED.min), max = GREATEST(r.max, EXCLUDED.max)`,
        [numbers(r.deviceNo), texts(r.key), numbers(r.bucket), numbers(r.n), numbers(r.sum), numbers(r.min), numbers(r.max)],
      ),

    /** Newest value per device and key (one row each; older arrivals never overwrite newer). */
    setLatest: (c: PointColumns) => {
      const plain = allPlain(c);
      return db.query(
        `INSERT INTO iot.latest AS l (device_no, key, ts, num, val, out_of_range)
         ${
           plain
             ? `SELECT d, k, ${MS_TO_TS}, n, NULL::jsonb, false FROM unnest($1::int[], $2::text[], $3::float8[], $4::float8[]) AS t(d, k, ms, n)`
             : `SELECT d, k, ${MS_TO_TS}, n, v, o FROM unnest($1::int[], $2::text[], $3::float8[], $4::float8[], $5::jsonb[], $6::bool[]) AS t(d, k, ms, n, v, o)`
         }
         ON CONFLICT (device_no, key) DO UPDATE
           SET ts = EXCLUDED.ts, num = EXCLUDED.num, val = EXCLUDED.val, out_of_range = EXCLUDED.out_of_range
           WHERE l.ts <= EXCLUDED.ts`,
        plain ? [numbers(c.deviceNo), texts(c.key), numbers(c.ts), numbers(c.num as number[])] : [c.deviceNo, c.key, c.ts, c.num, c.val, c.outOfRange],
      );
    },

    latest: (deviceNo: number) => db.query<PointRow>("SELECT * FROM iot.latest WHERE device_no = $1 ORDER BY key", [deviceNo]),
    allLatest: () => db.query<PointRow>("SELECT * FROM iot.latest"),

    history: (deviceNo: number, keys: string[] | null, from: Date, to: Date, limit: number) =>
      db.query<PointRow>(
        `SELECT * FROM iot.telemetry WHERE device_no = $1 AND ($2::text[] IS NULL OR key = ANY ($2)) AND ts >= $3 AND ts < $4
         ORDER BY key, ts LIMIT $5`,
        [deviceNo, keys, from, to, limit],
      ),

    /**
     * Aggregates per key and interval. Whole hours and days read the rollups (so a year of
     * minute data is a few thousand rows), shorter intervals the raw points.
     */
    aggregate(deviceNo: number, keys: string[] | null, from: Date, to: Date, intervalSeconds: number, agg: Agg) {
      const source = intervalSeconds % 86_400 === 0 ? "iot.rollup_day" : intervalSeconds % 3_600 === 0 ? "iot.rollup_hour" : null;
      const expr: Record<Agg, [string, string]> = {
        avg: ["avg(num)", "sum(sum) / nullif(sum(n), 0)"],
        min: ["min(num)", "min(min)"],
        max: ["max(num)", "max(max)"],
        sum: ["sum(num)", "sum(sum)"],
        count: ["count(num)", "sum(n)"],
      };
      // Buckets are aligned to local (Vietnam) midnight for whole days.
      const bucket = (col: string) =>
        intervalSeconds % 86_400 === 0
          ? `to_timestamp(floor((extract(epoch from ${col}) + 25200) / $5) * $5 - 25200)`
          : `to_timestamp(floor(extract(epoch from ${col}) / $5) * $5)`;
      const sql = source
        ? `SELECT key, ${bucket("bucket")} AS bucket, (${expr[agg][1]})::float8 AS value, sum(n)::int AS n
           FROM ${source} WHERE device_no = $1 AND ($2::text[] IS NULL OR key = ANY ($2)) AND bucket >= $3 AND bucket < $4
           GROUP BY 1, 2 ORDER BY 1, 2`
        : `SELECT key, ${bucket("ts")} AS bucket, (${expr[agg][0]})::float8 AS value, count(num)::int AS n
           FROM iot.telemetry WHERE device_no = $1 AND ($2::text[] IS NULL OR key = ANY ($2)) AND ts >= $3 AND ts < $4
             AND num IS NOT NULL AND NOT out_of_range
           GROUP BY 1, 2 ORDER BY 1, 2`;
      return db.query<{ key: string; bucket: Date; value: number | null; n: number }>(sql, [deviceNo, keys, from, to, intervalSeconds]);
    },

    /** Drop raw points older than each profile's retention (rollups stay). */
    applyRetention: () =>
      db.query(
        `DELETE FROM iot.telemetry t USING iot.devices d JOIN iot.profiles p ON p.id = d.profile_id
         WHERE t.device_no = d.no AND t.ts < now() - make_interval(days => p.retention_days)`,
      ),

    // ---------- commands
    insertCommand: (c: { deviceId: string; method: string; params: unknown; twoWay: boolean; status: string; timeoutMs: number; createdBy: string }) =>
      db.one<{ id: string; created_at: Date }>(
        `INSERT INTO iot.commands (device_id, method, params, two_way, status, timeout_ms, created_by) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id, created_at`,
        [c.deviceId, c.method, JSON.stringify(c.params ?? null), c.twoWay, c.status, c.timeoutMs, c.createdBy],
      ),
    completeCommand: (id: string, status: string, response: unknown, error: string | null) =>
      db.one<CommandRow>("UPDATE iot.commands SET status = $2, response = $3, error = $4, completed_at = now() WHERE id = $1 RETURNING *", [
        id,
        status,
        response === undefined ? null : JSON.stringify(response),
        error,
      ]),
    listCommands: (deviceId: string, limit: number) =>
      db.query<CommandRow>("SELECT * FROM iot.commands WHERE device_id = $1 ORDER BY created_at DESC LIMIT $2", [deviceId, limit]),
  };
}

export interface CommandRow {
  id: string;
  device_id: string;
  method: string;
  params: unknown;
  two_way: boolean;
  status: string;
  response: unknown;
  error: string | null;
  timeout_ms: number;
  created_by: string;
  created_at: Date;
  completed_at: Date | null;
}

export type IotStore = ReturnType<typeof iotStore>;
