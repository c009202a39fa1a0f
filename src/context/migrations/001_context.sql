-- The NGSI-LD context broker: entities (normalised, jsonb) with extracted columns for indexes,
-- attribute history (temporal API for entities not backed by telemetry), subscriptions, JSON-LD
-- contexts registered in Sen, and the entity types agencies made public.
CREATE SCHEMA IF NOT EXISTS context;
CREATE EXTENSION IF NOT EXISTS cube;

CREATE TABLE context.entities (
  -- NGSILD-Tenant: '' is the province's default tenant, otherwise an agency code
  tenant text NOT NULL DEFAULT '',
  id text NOT NULL,
  -- expanded type IRIs (an entity may have several)
  types text[] NOT NULL CHECK (cardinality(types) BETWEEN 1 AND 20),
  -- attribute IRI → array of instances (datasetId), each with createdAt/modifiedAt
  attrs jsonb NOT NULL,
  -- bounding box of the default "location" GeoProperty, for index-backed geo-queries
  bbox cube,
  -- 'iot': a device's projection, written by the IoT module only
  origin text NOT NULL DEFAULT 'api' CHECK (origin IN ('api', 'iot')),
  created_at timestamptz NOT NULL DEFAULT now(),
  modified_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id)
);
CREATE INDEX entities_types_idx ON context.entities USING gin (types);
CREATE INDEX entities_bbox_idx ON context.entities USING gist (bbox) WHERE bbox IS NOT NULL;

-- Every change of an attribute instance of an API entity (device history is the telemetry store).
CREATE TABLE context.attr_history (
  no bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant text NOT NULL,
  entity_id text NOT NULL,
  attr text NOT NULL,
  dataset_id text,
  -- observedAt when given, else the time of the change
  ts timestamptz NOT NULL,
  instance jsonb,
  -- numeric value, for aggregations
  num double precision,
  deleted boolean NOT NULL DEFAULT false,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attr_history_idx ON context.attr_history (tenant, entity_id, attr, ts);

CREATE TABLE context.subscriptions (
  tenant text NOT NULL DEFAULT '',
  id text NOT NULL,
  -- the subscription as stored (names expanded), with the client's @context for notifications
  body jsonb NOT NULL,
  ld_context jsonb NOT NULL DEFAULT '[]',
  is_active boolean NOT NULL DEFAULT true,
  expires_at timestamptz,
  throttling double precision,
  time_interval double precision,
  next_interval_at timestamptz,
  last_enqueued_at timestamptz,
  times_sent bigint NOT NULL DEFAULT 0,
  times_failed bigint NOT NULL DEFAULT 0,
  last_notification timestamptz,
  last_success timestamptz,
  last_failure timestamptz,
  consecutive_errors integer NOT NULL DEFAULT 0,
  last_error text,
  owner_type text NOT NULL,
  owner_id text,
  owner_agency text,
  created_at timestamptz NOT NULL DEFAULT now(),
  modified_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, id)
);
CREATE INDEX subscriptions_interval_idx ON context.subscriptions (next_interval_at) WHERE time_interval IS NOT NULL;

CREATE TABLE context.jsonld_contexts (
  id text PRIMARY KEY,
  -- the URL clients use: Sen's own for hosted contexts, the original for cached copies
  url text NOT NULL UNIQUE,
  kind text NOT NULL CHECK (kind IN ('hosted', 'cached')),
  body jsonb NOT NULL,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Entity types readable without signing in, per tenant ('' = province).
CREATE TABLE context.public_types (
  tenant text NOT NULL DEFAULT '',
  type text NOT NULL,
  marked_by text,
  marked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, type)
);
