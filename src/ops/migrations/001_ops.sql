-- Ops: alarms raised by rules (or people) about devices, with their history. Devices belong to
-- iot; alarms refer to them by id only and keep the names they had, so an alarm stays readable
-- after its device is renamed or removed.
CREATE SCHEMA IF NOT EXISTS ops;

CREATE TABLE ops.alarms (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  device_id text NOT NULL,
  device_name text NOT NULL,
  device_type text NOT NULL,
  rule_id text NOT NULL,
  type text NOT NULL,
  name text NOT NULL,
  severity text NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning')),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cleared')),
  acknowledged boolean NOT NULL DEFAULT false,
  commune text,
  agency text,
  -- The last value seen while the alarm was active, and the limit it was measured against.
  value jsonb,
  threshold jsonb,
  started_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  cleared_at timestamptz,
  cleared_by text,
  acked_at timestamptz,
  acked_by text,
  assignee_agency text,
  assignee_user uuid,
  details jsonb NOT NULL DEFAULT '{}',
  -- When the last value update was published (value updates are published at most once a minute).
  notified_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK ((status = 'cleared') = (cleared_at IS NOT NULL))
);
-- At most one active alarm per device and rule: a rule escalates its alarm instead of adding one.
CREATE UNIQUE INDEX alarms_one_active_idx ON ops.alarms (device_id, rule_id) WHERE status = 'active';
CREATE INDEX alarms_started_idx ON ops.alarms (started_at DESC, id DESC);
CREATE INDEX alarms_active_idx ON ops.alarms (severity, acknowledged) WHERE status = 'active';
CREATE INDEX alarms_device_idx ON ops.alarms (device_id, started_at DESC);
CREATE INDEX alarms_agency_idx ON ops.alarms (agency, started_at DESC);
CREATE INDEX alarms_assignee_idx ON ops.alarms (assignee_agency, started_at DESC) WHERE assignee_agency IS NOT NULL;
CREATE INDEX alarms_commune_idx ON ops.alarms (commune, started_at DESC);

CREATE TABLE ops.alarm_history (
  id bigserial PRIMARY KEY,
  alarm_id uuid NOT NULL REFERENCES ops.alarms (id) ON DELETE CASCADE,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  kind text NOT NULL CHECK (kind IN ('raised', 'escalated', 'deescalated', 'acknowledged', 'cleared', 'assigned', 'commented', 'value')),
  actor text NOT NULL,
  actor_id text,
  details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alarm_history_alarm_idx ON ops.alarm_history (alarm_id, id);
