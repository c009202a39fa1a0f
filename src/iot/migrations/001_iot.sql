-- IoT: device profiles, devices and their credentials, telemetry history with rollups, commands.
CREATE SCHEMA IF NOT EXISTS iot;

CREATE TABLE iot.profiles (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{1,63}$'),
  name text NOT NULL,
  name_en text NOT NULL,
  type text NOT NULL,
  -- { key: { label, unit, min, max } }
  keys jsonb NOT NULL DEFAULT '{}',
  inactivity_timeout_s int NOT NULL DEFAULT 600 CHECK (inactivity_timeout_s > 0),
  retention_days int NOT NULL DEFAULT 730 CHECK (retention_days > 0),
  rules jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE iot.devices (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  -- compact number used as the telemetry key
  no serial UNIQUE,
  name text NOT NULL,
  type text NOT NULL,
  profile_id text NOT NULL REFERENCES iot.profiles (id),
  lat double precision CHECK (lat BETWEEN -90 AND 90),
  lon double precision CHECK (lon BETWEEN -180 AND 180),
  commune_code text,
  agency_code text,
  enabled boolean NOT NULL DEFAULT true,
  token_hash text NOT NULL UNIQUE,
  mqtt_username text UNIQUE,
  mqtt_password_hash text,
  attributes jsonb NOT NULL DEFAULT '{}',
  server_attributes jsonb NOT NULL DEFAULT '{}',
  rules jsonb NOT NULL DEFAULT '[]',
  last_seen_at timestamptz,
  accepted bigint NOT NULL DEFAULT 0,
  rejected bigint NOT NULL DEFAULT 0,
  last_rejection text,
  last_rejection_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_commune_idx ON iot.devices (commune_code);
CREATE INDEX devices_agency_idx ON iot.devices (agency_code);
CREATE INDEX devices_type_idx ON iot.devices (type);

-- One row per data point. Numbers in num, everything else in val.
CREATE TABLE iot.telemetry (
  device_no int NOT NULL,
  key text NOT NULL,
  ts timestamptz NOT NULL,
  num double precision,
  val jsonb,
  out_of_range boolean NOT NULL DEFAULT false,
  PRIMARY KEY (device_no, key, ts)
);

CREATE TABLE iot.latest (
  device_no int NOT NULL,
  key text NOT NULL,
  ts timestamptz NOT NULL,
  num double precision,
  val jsonb,
  out_of_range boolean NOT NULL DEFAULT false,
  PRIMARY KEY (device_no, key)
);

-- Rollups of good numeric points, kept in step with each batch, so long ranges chart at once.
CREATE TABLE iot.rollup_hour (
  device_no int NOT NULL,
  key text NOT NULL,
  bucket timestamptz NOT NULL,
  n int NOT NULL,
  sum double precision NOT NULL,
  min double precision NOT NULL,
  max double precision NOT NULL,
  PRIMARY KEY (device_no, key, bucket)
);
CREATE TABLE iot.rollup_day (
  device_no int NOT NULL,
  key text NOT NULL,
  bucket timestamptz NOT NULL,
  n int NOT NULL,
  sum double precision NOT NULL,
  min double precision NOT NULL,
  max double precision NOT NULL,
  PRIMARY KEY (device_no, key, bucket)
);

CREATE TABLE iot.commands (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  device_id text NOT NULL REFERENCES iot.devices (id) ON DELETE CASCADE,
  method text NOT NULL,
  params jsonb,
  two_way boolean NOT NULL,
  status text NOT NULL CHECK (status IN ('sent', 'delivered', 'succeeded', 'failed', 'timeout', 'offline')),
  response jsonb,
  error text,
  timeout_ms int NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);
CREATE INDEX commands_device_idx ON iot.commands (device_id, created_at DESC);
