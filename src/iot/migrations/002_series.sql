-- Runs of plain numeric points: one row per device, key and batch instead of one per point.
-- An index entry per point was most of the cost of ingest on the embedded database, where
-- PostgreSQL runs as WebAssembly in Sen's own thread (about 3 µs per entry).
--
-- What holds, and what the writer in store.ts keeps true:
--   * a run's points are in time order, with no two at the same ts;
--   * the runs of one device and key never overlap in time (a run only starts after the newest
--     point stored for that key, read from iot.latest under a row lock);
--   * a run spans at most one hour (last_ts - first_ts), so a time window finds its runs through
--     the primary key;
--   * a point (device, key, ts) is stored once, either in a run or in iot.telemetry (which keeps
--     text, JSON and out-of-range values, and points that arrive out of order).
CREATE TABLE iot.series (
  device_no int NOT NULL,
  key text NOT NULL,
  first_ts timestamptz NOT NULL,
  last_ts timestamptz NOT NULL,
  ts timestamptz[] NOT NULL,
  num double precision[] NOT NULL,
  PRIMARY KEY (device_no, key, first_ts)
);

-- Every stored point, one row each, for ad-hoc queries and exports (Sen's own reads filter the
-- runs by their first_ts first).
CREATE VIEW iot.points AS
  SELECT device_no, key, ts, num, val, out_of_range FROM iot.telemetry
  UNION ALL
  SELECT s.device_no, s.key, p.ts, p.num, NULL::jsonb, false
  FROM iot.series s CROSS JOIN LATERAL unnest(s.ts, s.num) AS p(ts, num);
