-- Alerts: public warnings as OASIS CAP 1.2 messages. One row per CAP message (an Update or a
-- Cancel is a message of its own that references earlier ones). Texts per language live in
-- `infos` (Vietnamese first, English second); everything else is shared by the infos.
CREATE SCHEMA IF NOT EXISTS alerts;

CREATE TABLE alerts.alerts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- CAP identifier: unique per sender; Sen's own are urn:uuid:<id>.
  identifier text NOT NULL,
  origin text NOT NULL DEFAULT 'sen' CHECK (origin IN ('sen', 'import')),
  -- Workflow of Sen's own messages; imported ones arrive published.
  state text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'submitted', 'published', 'discarded')),
  hazard text NOT NULL DEFAULT 'other',
  sender text NOT NULL,
  sender_name text NOT NULL DEFAULT '',
  agency text,
  status text NOT NULL DEFAULT 'Actual' CHECK (status IN ('Actual', 'Exercise', 'System', 'Test', 'Draft')),
  msg_type text NOT NULL DEFAULT 'Alert' CHECK (msg_type IN ('Alert', 'Update', 'Cancel')),
  scope text NOT NULL DEFAULT 'Public' CHECK (scope IN ('Public', 'Restricted', 'Private')),
  note text,
  -- The message this one updates or cancels (Sen's own), and the CAP references string.
  references_id uuid REFERENCES alerts.alerts (id),
  refs text,
  categories text[] NOT NULL,
  response_types text[] NOT NULL DEFAULT '{}',
  urgency text NOT NULL CHECK (urgency IN ('Immediate', 'Expected', 'Future', 'Past', 'Unknown')),
  severity text NOT NULL CHECK (severity IN ('Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown')),
  certainty text NOT NULL CHECK (certainty IN ('Observed', 'Likely', 'Possible', 'Unlikely', 'Unknown')),
  onset timestamptz,
  expires timestamptz,
  -- [{language, event, headline, description, instruction, web, contact, senderName}]
  infos jsonb NOT NULL,
  parameters jsonb NOT NULL DEFAULT '[]',
  resources jsonb NOT NULL DEFAULT '[]',
  -- The area: communes chosen (CAP geocode), polygons and circles drawn; `communes` is every
  -- commune the area touches (chosen or under a shape), for queries by commune.
  area_desc text NOT NULL DEFAULT '',
  chosen_communes text[] NOT NULL DEFAULT '{}',
  polygons jsonb NOT NULL DEFAULT '[]',
  circles jsonb NOT NULL DEFAULT '[]',
  communes text[] NOT NULL DEFAULT '{}',
  -- Sensor drafts: the alarm behind the draft (one draft per alarm) and its device.
  source_alarm uuid,
  source_device text,
  created_by text,
  created_by_name text NOT NULL DEFAULT 'system',
  submitted_by text,
  submitted_at timestamptz,
  approved_by text,
  approved_by_name text,
  sent timestamptz,
  -- Set when the message stops being current: superseded by an Update/Cancel, or expired.
  ended_at timestamptz,
  end_reason text CHECK (end_reason IN ('updated', 'cancelled', 'expired')),
  superseded_by uuid,
  -- The CAP document as published (frozen) or as imported.
  xml text,
  import_source text,
  version int NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alerts_identifier_idx ON alerts.alerts (sender, identifier);
CREATE UNIQUE INDEX alerts_source_alarm_idx ON alerts.alerts (source_alarm) WHERE source_alarm IS NOT NULL;
CREATE INDEX alerts_state_idx ON alerts.alerts (state, sent DESC);
CREATE INDEX alerts_communes_idx ON alerts.alerts USING gin (communes);
CREATE INDEX alerts_current_idx ON alerts.alerts (expires) WHERE state = 'published' AND ended_at IS NULL;
-- At most one pending (draft or submitted) Update/Cancel per message.
CREATE UNIQUE INDEX alerts_one_followup_idx ON alerts.alerts (references_id) WHERE state IN ('draft', 'submitted');

-- Who wants which warnings, where, and how: one row per channel target.
CREATE TABLE alerts.subscriptions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- The citizen's account; null for systems (webhooks registered by staff).
  user_id uuid,
  name text NOT NULL DEFAULT '',
  channel text NOT NULL CHECK (channel IN ('webpush', 'email', 'webhook')),
  -- webpush: {endpoint, keys: {p256dh, auth}}; email: {email}; webhook: {url, secret?}
  target jsonb NOT NULL,
  -- Where: chosen communes and/or a point (whose commune is kept in `communes` too).
  communes text[] NOT NULL DEFAULT '{}',
  lat double precision,
  lon double precision,
  -- Which: CAP categories (empty = all) and the mildest severity wanted.
  categories text[] NOT NULL DEFAULT '{}',
  min_severity text NOT NULL DEFAULT 'Minor' CHECK (min_severity IN ('Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown')),
  language text NOT NULL DEFAULT 'vi' CHECK (language IN ('vi', 'en')),
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_communes_idx ON alerts.subscriptions USING gin (communes) WHERE active;
CREATE INDEX subscriptions_user_idx ON alerts.subscriptions (user_id) WHERE user_id IS NOT NULL;
-- One browser endpoint per user (re-subscribing replaces it).
CREATE UNIQUE INDEX subscriptions_push_idx ON alerts.subscriptions ((target ->> 'endpoint')) WHERE channel = 'webpush';

-- One fan-out per published message: how many recipients it matched.
CREATE TABLE alerts.fanouts (
  alert_id uuid PRIMARY KEY REFERENCES alerts.alerts (id),
  matched int NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL DEFAULT now(),
  enqueued_at timestamptz
);

-- The delivery log: one row per recipient and message, written when the channel accepted it
-- (or finally refused it). `delivery_id` is the idempotency key sent with it.
CREATE TABLE alerts.deliveries (
  alert_id uuid NOT NULL REFERENCES alerts.alerts (id),
  subscription_id uuid NOT NULL,
  delivery_id text NOT NULL,
  channel text NOT NULL,
  status text NOT NULL CHECK (status IN ('sent', 'failed')),
  attempts int NOT NULL,
  detail text,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (alert_id, subscription_id)
);

-- Module settings kept in the database (the VAPID key pair, generated once).
CREATE TABLE alerts.settings (
  key text PRIMARY KEY,
  value jsonb NOT NULL
);

-- How far this module has read the event bus (alarm → sensor draft survives a restart).
CREATE TABLE alerts.cursor (
  id int PRIMARY KEY CHECK (id = 1),
  event_id bigint NOT NULL
);
