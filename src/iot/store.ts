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

/** Columns of one batch of points, as parallel arrays. */
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
/** Longest time one run of points covers (migrations/002_series.sql); reads rely on it. */
const RUN_SPAN_MS = 3_600_000;
/** The runs of device $1 (keys $2 or all) that may hold points in [$3, $4). */
const RUNS_IN_WINDOW = `s.device_no = $1 AND ($2::text[] IS NULL OR s.key = ANY ($2))
  AND s.first_ts >= $3::timestamptz - ${RUN_SPAN_MS} * interval '1 millisecond' AND s.first_ts < $4`;
/** The points of device $1 (keys $2 or all) in [$3, $4) stored as rows. */
const ROWS_IN_WINDOW = `SELECT device_no, key, ts, num, val, out_of_range FROM iot.telemetry
  WHERE device_no = $1 AND ($2::text[] IS NULL OR key = ANY ($2)) AND ts >= $3 AND ts < $4`;
/**
 * The first $5 points of device $1 per key (keys $2 or all) in [$3, $4), from both tables. Runs
 * are unnested only until their points reach $5 per key (a run's points all fall in the window
 * once it starts inside it), so a year-long window does not unnest a year of runs for 10,000 rows.
 */
const FIRST_POINTS_IN_WINDOW = `(
  ${ROWS_IN_WINDOW}
  UNION ALL
  SELECT s.device_no, s.key, p.ts, p.num, NULL::jsonb, false
  FROM (
    SELECT s.*, sum(CASE WHEN s.first_ts >= $3 THEN cardinality(s.ts) ELSE 0 END) OVER (PARTITION BY s.key ORDER BY s.first_ts) AS upto
    FROM iot.series s WHERE ${RUNS_IN_WINDOW}
  ) AS s CROSS JOIN LATERAL unnest(s.ts, s.num) AS p(ts, num)
  WHERE (s.first_ts < $3 OR s.upto - cardinality(s.ts) < $5) AND p.ts >= $3 AND p.ts < $4
) AS points`;
/** Every point of device $1 (keys $2 or all) in [$3, $4), from both tables. */
const POINTS_IN_WINDOW = `(
  ${ROWS_IN_WINDOW}
  UNION ALL
  SELECT s.device_no, s.key, p.ts, p.num, NULL::jsonb, false
  FROM iot.series s CROSS JOIN LATERAL unnest(s.ts, s.num) AS p(ts, num)
  WHERE ${RUNS_IN_WINDOW} AND p.ts >= $3 AND p.ts < $4
) AS points`;

/** A run of plain numeric points of one device and key, in time order, no ts twice. */
interface Run {
  deviceNo: number;
  key: string;
  ts: number[];
  num: number[];
}

// PostgreSQL's binary COPY format: no text to parse, which is most of the cost of a row on the
// embedded database. https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4
const COPY_SIGNATURE = "PGCOPY\n\xff\r\n\0";
const TIMESTAMPTZ_OID = 1184;
const FLOAT8_OID = 701;
/** Binary timestamps count microseconds from 2000-01-01 UTC. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;

function putTimestamp(b: Buffer, o: number, ms: number): number {
  const us = (ms - PG_EPOCH_MS) * 1000; // exact: below 2^53 for any date Sen accepts
  const hi = Math.floor(us / TWO_32);
  o = b.writeInt32BE(8, o);
  o = b.writeInt32BE(hi, o);
  return b.writeUInt32BE(us - hi * TWO_32, o);
}
/** A one-dimensional array without nulls: its length word, then the array header. */
function putArrayHeader(b: Buffer, o: number, elementOid: number, n: number): number {
  o = b.writeInt32BE(20 + 12 * n, o);
  o = b.writeInt32BE(1, o); // dimensions
  o = b.writeInt32BE(0, o); // no nulls
  o = b.writeInt32BE(elementOid, o);
  o = b.writeInt32BE(n, o);
  return b.writeInt32BE(1, o); // lower bound
}
/** Runs as binary COPY rows (device_no, key, first_ts, last_ts, ts, num). */
function runsCopy(runs: readonly Run[]): Buffer {
  let size = 19 + 2;
  for (const r of runs) size += 2 + 8 + 4 + Buffer.byteLength(r.key) + 24 + 2 * (24 + 12 * r.ts.length);
  // Its own ArrayBuffer, so PGlite takes it without a copy (db.ts copyFrom).
  const b = Buffer.allocUnsafeSlow(size);
  let o = b.write(COPY_SIGNATURE, 0, "latin1");
  o = b.writeInt32BE(0, o); // flags
  o = b.writeInt32BE(0, o); // header extension
  for (const r of runs) {
    o = b.writeInt16BE(6, o);
    o = b.writeInt32BE(4, o);
    o = b.writeInt32BE(r.deviceNo, o);
    const keyBytes = b.write(r.key, o + 4);
    o = b.writeInt32BE(keyBytes, o) + keyBytes;
    o = putTimestamp(b, o, r.ts[0]);
    o = putTimestamp(b, o, r.ts[r.ts.length - 1]);
    o = putArrayHeader(b, o, TIMESTAMPTZ_OID, r.ts.length);
    for (const t of r.ts) o = putTimestamp(b, o, t);
    o = putArrayHeader(b, o, FLOAT8_OID, r.num.length);
    for (const v of r.num) {
      o = b.writeInt32BE(8, o);
      o = b.writeDoubleBE(v, o);
    }
  }
  b.writeInt16BE(-1, o);
  return b;
}

/** Point indexes of a batch by device and key, in arrival order, sorted by device, then key. */
function byDeviceAndKey(c: PointColumns): Array<{ deviceNo: number; key: string; idx: number[] }> {
  const groups = new Map<number, Map<string, number[]>>();
  for (let i = 0; i < c.deviceNo.length; i++) {
    let byKey = groups.get(c.deviceNo[i]);
    if (!byKey) {
      byKey = new Map();
      groups.set(c.deviceNo[i], byKey);
    }
    const idx = byKey.get(c.key[i]);
    if (idx) idx.push(i);
    else byKey.set(c.key[i], [i]);
  }
  const out: Array<{ deviceNo: number; key: string; idx: number[] }> = [];
  for (const [deviceNo, byKey] of groups) for (const [key, idx] of byKey) out.push({ deviceNo, key, idx });
  return out.sort((x, y) => x.deviceNo - y.deviceNo || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

/**
 * The runs a group of points (all newer than what is stored for their key) makes when every one
 * of them is a plain number; undefined when not, and the group takes the careful path. A ts
 * given twice keeps its first value, as the careful path does.
 */
function runsOf(c: PointColumns, deviceNo: number, key: string, idx: number[]): Run[] | undefined {
  let ordered = true;
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j];
    if (c.num[i] === null || c.outOfRange[i]) return undefined;
    if (j > 0 && c.ts[i] < c.ts[idx[j - 1]]) ordered = false;
  }
  if (!ordered) idx.sort((x, y) => c.ts[x] - c.ts[y]); // stable: equal ts keep arrival order
  const runs: Run[] = [];
  let run: Run | undefined;
  for (const i of idx) {
    const t = c.ts[i];
    if (run && t === run.ts[run.ts.length - 1]) continue;
    if (!run || t - run.ts[0] > RUN_SPAN_MS) {
      run = { deviceNo, key, ts: [], num: [] };
      runs.push(run);
    }
    run.ts.push(t);
    run.num.push(c.num[i] as number);
  }
  return runs;
}

/** The points at some indexes, as columns. */
function pickPoints(c: PointColumns, idx: readonly number[]): PointColumns {
  return {
    deviceNo: idx.map((i) => c.deviceNo[i]),
    key: idx.map((i) => c.key[i]),
    ts: idx.map((i) => c.ts[i]),
    num: idx.map((i) => c.num[i]),
    val: idx.map((i) => c.val[i]),
    outOfRange: idx.map((i) => c.outOfRange[i]),
  };
}

/** The points of some runs, followed by other points, as one set of columns. */
function withRuns(runs: readonly Run[], rest: PointColumns): PointColumns {
  const out: PointColumns = { deviceNo: [], key: [], ts: [], num: [], val: [], outOfRange: [] };
  for (const r of runs)
    for (let j = 0; j < r.ts.length; j++) {
      out.deviceNo.push(r.deviceNo);
      out.key.push(r.key);
      out.ts.push(r.ts[j]);
      out.num.push(r.num[j]);
      out.val.push(null);
      out.outOfRange.push(false);
    }
  for (let i = 0; i < rest.deviceNo.length; i++) {
    out.deviceNo.push(rest.deviceNo[i]);
    out.key.push(rest.key[i]);
    out.ts.push(rest.ts[i]);
    out.num.push(rest.num[i]);
    out.val.push(rest.val[i]);
    out.outOfRange.push(rest.outOfRange[i]);
  }
  return out;
}

/** All values numbers and none out of range: the text and flag columns need not travel. */
const allPlain = (c: PointColumns) => {
  for (let i = 0; i < c.val.length; i++) if (c.val[i] !== null || c.outOfRange[i]) return false;
  return true;
};

export type Agg = "avg" | "min" | "max" | "sum" | "count";

export function iotStore(db: Db) {
  // Without other writers (Db.oneWriter) the row locks and the savepoint that guard against them
  // are left off: each is a write or a statement in WebAssembly on Sen's thread.
  const otherWriters = !db.oneWriter;
  const lockRows = otherWriters ? "FOR UPDATE OF l" : "";
  // Without other writers the process knows each key's newest stored time once it has asked for it
  // or stored a point: the staleness check then asks the database only about keys new to it. A
  // value may be too new (a batch that failed to commit), never too old: too new only sends that
  // key's next points down the careful path.
  const newestMs = otherWriters ? undefined : new Map<string, number>();
  const keyOf = (deviceNo: number, key: string) => `${deviceNo}\u0000${key}`;
  /** Points one by one into iot.telemetry, skipping those stored already; returns those stored. */
  async function insertCarefully(c: PointColumns): Promise<PointColumns> {
    const rows = await db.query<{ device_no: number; key: string; ts: Date; num: number | null; val: unknown; out_of_range: boolean }>(
      `INSERT INTO iot.telemetry (device_no, key, ts, num, val, out_of_range)
       SELECT d, k, t, n, v, o FROM unnest($1::int[], $2::text[], $3::float8[], $4::float8[], $5::jsonb[], $6::bool[]) AS x(d, k, ms, n, v, o)
         CROSS JOIN LATERAL (SELECT ${MS_TO_TS} AS t) AS at
       WHERE NOT EXISTS (
         SELECT 1 FROM iot.series s
         WHERE s.device_no = d AND s.key = k AND s.first_ts >= t - ${RUN_SPAN_MS} * interval '1 millisecond' AND s.first_ts <= t
           AND s.last_ts >= t AND t = ANY (s.ts))
       ON CONFLICT (device_no, key, ts) DO NOTHING
       RETURNING device_no, key, ts, num, val, out_of_range`,
      [c.deviceNo, c.key, c.ts, c.num, c.val, c.outOfRange],
    );
    return {
      deviceNo: rows.map((r) => r.device_no),
      key: rows.map((r) => r.key),
      ts: rows.map((r) => new Date(r.ts).getTime()),
      num: rows.map((r) => r.num),
      val: rows.map((r) => (r.val === null ? null : JSON.stringify(r.val))),
      outOfRange: rows.map((r) => r.out_of_range),
    };
  }

  /** Points as runs where they can be, else as rows (see writePoints); returns those stored. */
  async function storePoints(c: PointColumns, groups: ReturnType<typeof byDeviceAndKey>): Promise<PointColumns> {
    const earliest = groups.map((g) => {
      let min = c.ts[g.idx[0]];
      for (const i of g.idx) if (c.ts[i] < min) min = c.ts[i];
      return min;
    });
    // Lock the keys' latest rows (in one order, so writers cannot deadlock), then learn which
    // keys already hold a point as new as this batch's earliest: only those take the careful
    // path. The lock makes this hold against other writers too, here or in other Sen processes,
    // and only the few stale keys come back. With no other writer there is no lock, only the keys
    // not remembered yet are asked about, and each one's time comes back to be remembered.
    const stale = new Set<number>();
    const ask: number[] = [];
    groups.forEach((g, n) => {
      const known = newestMs?.get(keyOf(g.deviceNo, g.key));
      if (known === undefined) ask.push(n);
      else if (known >= earliest[n]) stale.add(n);
    });
    if (ask.length) {
      const rows = await db.query<{ i: number; ts: Date }>(
        `WITH locked AS MATERIALIZED (
           SELECT p.i, l.ts, p.ms FROM iot.latest l
             JOIN unnest($1::int[], $2::text[], $3::float8[]) WITH ORDINALITY AS p(d, k, ms, i) ON l.device_no = p.d AND l.key = p.k
           ORDER BY l.device_no, l.key ${lockRows})
         SELECT i::int, ts FROM locked${newestMs ? "" : ` WHERE ts >= ${MS_TO_TS}`}`,
        [numbers(ask.map((n) => groups[n].deviceNo)), texts(ask.map((n) => groups[n].key)), numbers(ask.map((n) => earliest[n]))],
      );
      for (const r of rows) {
        const n = ask[r.i - 1];
        const ms = new Date(r.ts).getTime();
        newestMs?.set(keyOf(groups[n].deviceNo, groups[n].key), ms);
        if (ms >= earliest[n]) stale.add(n);
      }
    }
    const runs: Run[] = [];
    const careful: number[] = [];
    groups.forEach((g, n) => {
      const made = stale.has(n) ? undefined : runsOf(c, g.deviceNo, g.key, g.idx);
      if (made) for (const r of made) runs.push(r);
      else for (const i of g.idx) careful.push(i);
    });
    const write = async () => {
      if (runs.length) await db.copyFrom("iot.series", ["device_no", "key", "first_ts", "last_ts", "ts", "num"], runsCopy(runs), "binary");
      return withRuns(runs, careful.length ? await insertCarefully(pickPoints(c, careful)) : pickPoints(c, []));
    };
    if (!otherWriters) return write();
    await db.query("SAVEPOINT points");
    try {
      const stored = await write();
      await db.query("RELEASE SAVEPOINT points");
      return stored;
    } catch (err) {
      // A key new to two writers at once (nothing to lock yet): both started a run at one ts.
      if ((err as { code?: string }).code !== "23505") throw err;
      await db.query("ROLLBACK TO SAVEPOINT points");
    }
    return insertCarefully(c);
  }

  /** Newest value per device and key (one row each; older arrivals never overwrite newer). */
  function setLatest(c: PointColumns) {
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
  }

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
     * Store a batch of points, each (device, key, ts) once, and return the points newly stored
     * (so rollups count each point once). Plain numbers newer than everything stored for their
     * key, the usual case, go in as runs (iot.series) by binary COPY. The rest (text and JSON,
     * out-of-range values, late or repeated points) go row by row into iot.telemetry, skipping
     * any point already stored in either table. Then each key's latest value is brought up to date.
     */
    async writePoints(c: PointColumns): Promise<PointColumns> {
      const groups = byDeviceAndKey(c);
      // The newest point per device and key (the last given, for one ts twice), sorted by device and
      // key as the groups are: concurrent batches then lock latest rows in one order.
      const newest = pickPoints(
        c,
        groups.map((g) => g.idx.reduce((best, i) => (c.ts[best] <= c.ts[i] ? i : best))),
      );
      const stored = await storePoints(c, groups);
      await setLatest(newest);
      if (newestMs)
        for (let i = 0; i < newest.ts.length; i++) {
          const k = keyOf(newest.deviceNo[i], newest.key[i]);
          newestMs.set(k, Math.max(newestMs.get(k) ?? newest.ts[i], newest.ts[i]));
        }
      return stored;
    },

    /** Add pre-aggregated hourly buckets to the rollup. */
    addHourlyRollups: (r: { deviceNo: number[]; key: string[]; bucket: number[]; n: number[]; sum: number[]; min: number[]; max: number[] }) =>
      db.query(
        `INSERT INTO iot.rollup_hour AS r (device_no, key, bucket, n, sum, min, max)
         SELECT d, k, ${MS_TO_TS}, n, s, lo, hi FROM unnest($1::int[], $2::text[], $3::float8[], $4::int[], $5::float8[], $6::float8[], $7::float8[]) AS t(d, k, ms, n, s, lo, hi)
         ON CONFLICT (device_no, key, bucket) DO UPDATE
           SET n = r.n + EXCLUDED.n, sum = r.sum + EXCLUDED.sum, min = LEAST(r.min, EXCLUDED.min), max = GREATEST(r.max, EXCLUDED.max)`,
        [numbers(r.deviceNo), texts(r.key), numbers(r.bucket), numbers(r.n), numbers(r.sum), numbers(r.min), numbers(r.max)],
      ),

    latest: (deviceNo: number) => db.query<PointRow>("SELECT * FROM iot.latest WHERE device_no = $1 ORDER BY key", [deviceNo]),
    allLatest: () => db.query<PointRow>("SELECT * FROM iot.latest"),

    history: (deviceNo: number, keys: string[] | null, from: Date, to: Date, limit: number) =>
      db.query<PointRow>(`SELECT * FROM ${FIRST_POINTS_IN_WINDOW} ORDER BY key, ts LIMIT $5`, [deviceNo, keys, from, to, limit]),

    /**
     * Aggregates per key and interval. Whole hours and days read the rollups (so a year of
     * minute data is a few thousand rows), shorter intervals the raw points.
     */
    aggregate(deviceNo: number, keys: string[] | null, from: Date, to: Date, intervalSeconds: number, agg: Agg) {
      // Vietnam's days are whole UTC hours (UTC+7 all year), so days are sums of hourly rollups.
      const source = intervalSeconds % 3_600 === 0 ? "iot.rollup_hour" : null;
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
           FROM ${POINTS_IN_WINDOW} WHERE num IS NOT NULL AND NOT out_of_range
           GROUP BY 1, 2 ORDER BY 1, 2`;
      return db.query<{ key: string; bucket: Date; value: number | null; n: number }>(sql, [deviceNo, keys, from, to, intervalSeconds]);
    },

    /** Drop raw points older than each profile's retention (rollups stay; a run goes whole). */
    async applyRetention() {
      for (const [table, ts] of [
        ["iot.telemetry", "t.ts"],
        ["iot.series", "t.last_ts"],
      ]) {
        await db.query(
          `DELETE FROM ${table} t USING iot.devices d JOIN iot.profiles p ON p.id = d.profile_id
           WHERE t.device_no = d.no AND ${ts} < now() - make_interval(days => p.retention_days)`,
        );
      }
    },

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
