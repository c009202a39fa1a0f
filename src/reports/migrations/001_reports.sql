-- Reports: citizens' field reports (phản ánh hiện trường), their categories (Open311 services),
-- routing overrides, timeline, photos (bytes kept in the database so several Sen nodes need no
-- shared disk), followers and the webhooks that carry status changes to Zalo/SMS gateways.
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;
CREATE SCHEMA IF NOT EXISTS reports;

CREATE TABLE reports.categories (
  code text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9_-]{1,32}$'),
  grp text NOT NULL CHECK (grp IN ('environment', 'traffic', 'public_order', 'infrastructure', 'utilities', 'health', 'markets', 'administration', 'other')),
  name text NOT NULL,
  name_en text NOT NULL,
  description text NOT NULL DEFAULT '',
  description_en text NOT NULL DEFAULT '',
  keywords text NOT NULL DEFAULT '',
  -- commune: the commune's people's committee handles it; province: agency_code does.
  level text NOT NULL CHECK (level IN ('commune', 'province')),
  agency_code text,
  deadline_hours integer NOT NULL CHECK (deadline_hours BETWEEN 1 AND 8760),
  -- Open311 service definition attributes: [{code, datatype, required, description, ...}]
  attributes jsonb NOT NULL DEFAULT '[]',
  active boolean NOT NULL DEFAULT true,
  sort integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (level = 'commune' OR agency_code IS NOT NULL)
);

-- Exceptions to the category's routing for one commune (e.g. a ward served by another agency).
CREATE TABLE reports.routes (
  category_code text NOT NULL REFERENCES reports.categories (code) ON DELETE CASCADE,
  commune_code text NOT NULL,
  agency_code text NOT NULL,
  PRIMARY KEY (category_code, commune_code)
);

CREATE TABLE reports.reports (
  id bigint GENERATED ALWAYS AS IDENTITY (START WITH 100001) PRIMARY KEY,
  -- Public token (Open311 tokens/{id}); the tracking secret lets an anonymous citizen follow it.
  token uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
  tracking_hash text,
  -- Idempotency: a retried submission with the same key returns the first report.
  client_key text UNIQUE,
  category_code text NOT NULL REFERENCES reports.categories (code),
  channel text NOT NULL CHECK (channel IN ('app', 'web', 'hotline', 'zalo', 'email', 'open311')),
  status text NOT NULL DEFAULT 'new'
    CHECK (status IN ('new', 'assigned', 'in_progress', 'resolved', 'closed', 'rejected', 'duplicate', 'reopened')),
  description text NOT NULL CHECK (length(description) <= 4000),
  lat double precision CHECK (lat BETWEEN -90 AND 90),
  lon double precision CHECK (lon BETWEEN -180 AND 180),
  address text,
  commune_code text,
  attributes jsonb NOT NULL DEFAULT '{}',
  media_url text,
  agency_code text NOT NULL,
  assignee_user uuid,
  duplicate_of bigint REFERENCES reports.reports (id),
  status_notes text,
  requested_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deadline_at timestamptz NOT NULL,
  overdue boolean NOT NULL DEFAULT false,
  overdue_at timestamptz,
  resolved_at timestamptz,
  closed_at timestamptz,
  -- Private: never in a public answer.
  reporter_user uuid,
  reporter_name text,
  reporter_phone text,
  reporter_email text,
  device_id text,
  rating smallint CHECK (rating BETWEEN 1 AND 5),
  rating_comment text,
  rated_at timestamptz,
  followers integer NOT NULL DEFAULT 0,
  CHECK ((lat IS NULL) = (lon IS NULL)),
  CHECK (lat IS NOT NULL OR address IS NOT NULL)
);
CREATE INDEX reports_requested_idx ON reports.reports (requested_at DESC, id DESC);
CREATE INDEX reports_agency_idx ON reports.reports (agency_code, status, deadline_at);
CREATE INDEX reports_category_idx ON reports.reports (category_code, requested_at DESC);
CREATE INDEX reports_commune_idx ON reports.reports (commune_code, requested_at DESC);
CREATE INDEX reports_reporter_idx ON reports.reports (reporter_user) WHERE reporter_user IS NOT NULL;
CREATE INDEX reports_deadline_idx ON reports.reports (deadline_at) WHERE NOT overdue AND status IN ('new', 'assigned', 'in_progress', 'reopened');
CREATE INDEX reports_resolved_idx ON reports.reports (resolved_at) WHERE status = 'resolved';
CREATE INDEX reports_latlon_idx ON reports.reports (lat, lon) WHERE lat IS NOT NULL;
CREATE INDEX reports_earth_idx ON reports.reports USING gist (ll_to_earth(lat, lon)) WHERE lat IS NOT NULL;

-- The timeline: every change, public or internal. Open311 servicerequestupdates reads the public ones.
CREATE TABLE reports.updates (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  report_id bigint NOT NULL REFERENCES reports.reports (id) ON DELETE CASCADE,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  kind text NOT NULL CHECK (kind IN ('created', 'status', 'note', 'rerouted', 'assigned', 'overdue', 'rated', 'followed', 'photo')),
  status text,
  note text,
  public boolean NOT NULL DEFAULT true,
  agency_code text,
  actor_name text NOT NULL,
  actor_id text
);
CREATE INDEX updates_report_idx ON reports.updates (report_id, id);
CREATE INDEX updates_public_idx ON reports.updates (at, id) WHERE public;

CREATE TABLE reports.photos (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  report_id bigint NOT NULL REFERENCES reports.reports (id) ON DELETE CASCADE,
  update_id bigint REFERENCES reports.updates (id),
  kind text NOT NULL CHECK (kind IN ('report', 'fix')),
  mime text NOT NULL CHECK (mime IN ('image/jpeg', 'image/png', 'image/webp')),
  width integer NOT NULL,
  height integer NOT NULL,
  size integer NOT NULL,
  data bytea NOT NULL,
  thumb bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX photos_report_idx ON reports.photos (report_id, created_at);

CREATE TABLE reports.followers (
  report_id bigint NOT NULL REFERENCES reports.reports (id) ON DELETE CASCADE,
  -- A signed-in user's id, or "email:<address>" for an anonymous follower.
  follower text NOT NULL,
  email text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (report_id, follower)
);

-- Gateways (Zalo OA, SMS) that receive each status change with the citizen's contact.
CREATE TABLE reports.webhooks (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  url text NOT NULL,
  secret text,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
