-- Catalog: the open-data portal and shared data warehouse. Organisations are core.agencies;
-- groups are themes; datasets carry bilingual metadata; resources are files, links, APIs or live
-- data; every upload of a resource is a version whose rows live in their own table in the
-- `datastore` schema (named from the version's id, never from user input).
CREATE SCHEMA IF NOT EXISTS catalog;
CREATE SCHEMA IF NOT EXISTS datastore;
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE catalog.groups (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{1,99}$'),
  title text NOT NULL,
  title_en text NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '',
  description_en text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE catalog.datasets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{1,99}$'),
  title text NOT NULL,
  title_en text NOT NULL DEFAULT '',
  notes text NOT NULL DEFAULT '',
  notes_en text NOT NULL DEFAULT '',
  owner_org text NOT NULL REFERENCES core.agencies (code),
  license_id text NOT NULL DEFAULT 'cc-by-4.0',
  private boolean NOT NULL DEFAULT false,
  state text NOT NULL DEFAULT 'active' CHECK (state IN ('draft', 'active', 'deleted')),
  frequency text,
  temporal_start date,
  temporal_end date,
  spatial text,
  contact_name text,
  contact_email text,
  version text,
  url text,
  tags text[] NOT NULL DEFAULT '{}',
  groups text[] NOT NULL DEFAULT '{}',
  -- Formats of its resources (upper case), kept here for the format facet.
  formats text[] NOT NULL DEFAULT '{}',
  extras jsonb NOT NULL DEFAULT '{}',
  -- Search document: unaccented, weighted (title A, tags B, notes C); filled by the store.
  tsv tsvector NOT NULL DEFAULT ''::tsvector,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  modified_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX datasets_tsv_idx ON catalog.datasets USING gin (tsv);
CREATE INDEX datasets_org_idx ON catalog.datasets (owner_org);
CREATE INDEX datasets_tags_idx ON catalog.datasets USING gin (tags);
CREATE INDEX datasets_groups_idx ON catalog.datasets USING gin (groups);
CREATE INDEX datasets_modified_idx ON catalog.datasets (modified_at DESC, id);
CREATE INDEX datasets_title_trgm_idx ON catalog.datasets USING gin (title gin_trgm_ops);

CREATE TABLE catalog.resources (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  dataset_id uuid NOT NULL REFERENCES catalog.datasets (id) ON DELETE CASCADE,
  position int NOT NULL DEFAULT 0,
  name text NOT NULL,
  name_en text NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '',
  format text NOT NULL DEFAULT '',
  kind text NOT NULL CHECK (kind IN ('upload', 'link', 'api', 'live')),
  -- link/api: the address; live: the Sen source (e.g. iot:water_level)
  url text,
  -- The version served (datastore, downloads); null until a first upload is loaded.
  current_version uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  modified_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resources_dataset_idx ON catalog.resources (dataset_id, position);

CREATE TABLE catalog.versions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  resource_id uuid NOT NULL REFERENCES catalog.resources (id) ON DELETE CASCADE,
  seq int NOT NULL,
  filename text NOT NULL,
  format text NOT NULL CHECK (format IN ('CSV', 'XLSX', 'JSON', 'GEOJSON')),
  encoding text NOT NULL DEFAULT 'utf-8',
  size bigint NOT NULL,
  sha256 text NOT NULL,
  -- pending: parsed a sample, waiting for the publisher to confirm column types;
  -- loading: rows going in; ready: the table is complete; failed: nothing is kept but the error.
  status text NOT NULL CHECK (status IN ('pending', 'loading', 'ready', 'failed')),
  -- [{id, type, col, sample}] — id is the published field name, col the physical column (c1, c2…)
  columns jsonb NOT NULL,
  geometry boolean NOT NULL DEFAULT false,
  bbox double precision[],
  rows_loaded bigint NOT NULL DEFAULT 0,
  bytes_read bigint NOT NULL DEFAULT 0,
  error text,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  loaded_at timestamptz,
  UNIQUE (resource_id, seq)
);
CREATE INDEX versions_status_idx ON catalog.versions (status);
