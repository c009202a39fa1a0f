-- Core: agencies, accounts, sessions, API keys, audit trail, event log.
CREATE SCHEMA IF NOT EXISTS core;

CREATE TABLE core.agencies (
  code text PRIMARY KEY CHECK (code ~ '^[A-Z0-9][A-Z0-9_.-]{1,39}$'),
  name text NOT NULL,
  name_en text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('province', 'department', 'commune', 'other')),
  unit_code text,
  parent_code text REFERENCES core.agencies (code),
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agencies_unit_idx ON core.agencies (unit_code);

CREATE TABLE core.users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  username text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
  display_name text NOT NULL,
  email text,
  phone text,
  agency_code text REFERENCES core.agencies (code),
  roles text[] NOT NULL DEFAULT '{}'
    CHECK (roles <@ ARRAY['admin', 'operator', 'agency_officer', 'publisher', 'citizen']::text[]),
  active boolean NOT NULL DEFAULT true,
  password_hash text NOT NULL,
  failed_logins int NOT NULL DEFAULT 0,
  locked_until timestamptz,
  last_login_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_agency_idx ON core.users (agency_code);

CREATE TABLE core.sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES core.users (id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE,
  ip text,
  user_agent text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX sessions_user_idx ON core.sessions (user_id);

CREATE TABLE core.api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  prefix text NOT NULL UNIQUE,
  secret_hash text NOT NULL,
  agency_code text REFERENCES core.agencies (code),
  permissions text[] NOT NULL DEFAULT '{}',
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz
);

-- Append-only, hash-chained: each row's hash covers its fields and the previous row's hash.
CREATE TABLE core.audit_log (
  id bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  actor_type text NOT NULL,
  actor_id text,
  actor_name text NOT NULL,
  action text NOT NULL,
  target_type text,
  target_id text,
  outcome text NOT NULL CHECK (outcome IN ('success', 'denied', 'failure')),
  ip text,
  request_id text,
  details jsonb NOT NULL DEFAULT '{}',
  prev_hash text NOT NULL,
  hash text NOT NULL
);
CREATE INDEX audit_at_idx ON core.audit_log (at);
CREATE INDEX audit_action_idx ON core.audit_log (action, id);
CREATE INDEX audit_actor_idx ON core.audit_log (actor_id, id);
CREATE INDEX audit_target_idx ON core.audit_log (target_type, target_id, id);

-- The chain's head: one row, locked by each writer, so ids are gapless and a removed tail shows.
CREATE TABLE core.audit_head (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  last_id bigint NOT NULL,
  last_hash text NOT NULL
);
INSERT INTO core.audit_head (last_id, last_hash) VALUES (0, repeat('0', 64));

-- Events delivered to the console and to other Sen processes; kept for replay (Last-Event-ID).
CREATE TABLE core.events (
  id bigserial PRIMARY KEY,
  topic text NOT NULL,
  audience text NOT NULL,
  payload jsonb NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_at_idx ON core.events (at);
