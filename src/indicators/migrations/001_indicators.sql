-- Indicators: DHIS2's aggregate model (data elements with disaggregations, indicators, organisation
-- units with groups, ISO periods, data sets with validation rules), the values and their history,
-- submissions with their approval chain, the plan's targets and tasks, and exports to the
-- Government reporting system.
CREATE SCHEMA IF NOT EXISTS indicators;

-- The province, its communes and the agencies (departments), mirrored from geo and core.agencies.
CREATE TABLE indicators.org_units (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('province', 'commune', 'agency')),
  name text NOT NULL,
  name_en text NOT NULL,
  parent text REFERENCES indicators.org_units (id),
  -- The agency whose officers enter this unit's data (UBND-<commune> for a commune).
  agency_code text,
  sub_type text
);

CREATE TABLE indicators.ou_groups (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
  name text NOT NULL,
  name_en text NOT NULL,
  builtin boolean NOT NULL DEFAULT false
);
CREATE TABLE indicators.ou_group_members (
  group_id text NOT NULL REFERENCES indicators.ou_groups (id) ON DELETE CASCADE,
  ou text NOT NULL REFERENCES indicators.org_units (id),
  PRIMARY KEY (group_id, ou)
);

-- A category (sex, age group, urban/rural) and its options; options: [{code, name, nameEn}].
CREATE TABLE indicators.categories (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
  name text NOT NULL,
  name_en text NOT NULL,
  options jsonb NOT NULL
);

CREATE TABLE indicators.data_elements (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$'),
  name text NOT NULL,
  name_en text NOT NULL,
  description text NOT NULL DEFAULT '',
  value_type text NOT NULL CHECK (value_type IN ('number', 'integer', 'percent', 'boolean', 'text')),
  aggregation text NOT NULL DEFAULT 'sum' CHECK (aggregation IN ('sum', 'average', 'last')),
  categories text[] NOT NULL DEFAULT '{}',
  unit text NOT NULL DEFAULT '',
  min_value double precision,
  max_value double precision,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE indicators.indicators (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$'),
  name text NOT NULL,
  name_en text NOT NULL,
  description text NOT NULL DEFAULT '',
  numerator text NOT NULL,
  denominator text NOT NULL DEFAULT '1',
  factor double precision NOT NULL DEFAULT 1,
  decimals int NOT NULL DEFAULT 1 CHECK (decimals BETWEEN 0 AND 6),
  unit text NOT NULL DEFAULT '',
  sector text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- A report form (DHIS2 data set): its period type, elements, the units that report it, when it is
-- due (days after the period ends), when it closes (expiry days, 0 = never) and who approves it.
CREATE TABLE indicators.data_sets (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$'),
  name text NOT NULL,
  name_en text NOT NULL,
  description text NOT NULL DEFAULT '',
  period_type text NOT NULL CHECK (period_type IN ('daily', 'weekly', 'monthly', 'quarterly', 'sixmonthly', 'yearly')),
  elements text[] NOT NULL,
  due_days int NOT NULL DEFAULT 10 CHECK (due_days BETWEEN 0 AND 366),
  expiry_days int NOT NULL DEFAULT 0 CHECK (expiry_days BETWEEN 0 AND 3660),
  approver_agency text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE indicators.data_set_units (
  data_set text NOT NULL REFERENCES indicators.data_sets (id) ON DELETE CASCADE,
  ou text NOT NULL REFERENCES indicators.org_units (id),
  PRIMARY KEY (data_set, ou)
);
CREATE INDEX data_set_units_ou_idx ON indicators.data_set_units (ou);

CREATE TABLE indicators.validation_rules (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$'),
  data_set text NOT NULL REFERENCES indicators.data_sets (id) ON DELETE CASCADE,
  name text NOT NULL,
  left_side text NOT NULL,
  operator text NOT NULL CHECK (operator IN ('==', '!=', '>', '>=', '<', '<=')),
  right_side text NOT NULL,
  message text NOT NULL,
  message_en text NOT NULL,
  importance text NOT NULL DEFAULT 'medium' CHECK (importance IN ('high', 'medium', 'low'))
);

-- One value per element, disaggregation (coc, 'default' when none), unit and period. num is the
-- value as a number for aggregation (null for text).
CREATE TABLE indicators.data_values (
  de text NOT NULL,
  coc text NOT NULL DEFAULT 'default',
  ou text NOT NULL,
  pe text NOT NULL,
  start_date date NOT NULL,
  end_date date NOT NULL,
  value text NOT NULL,
  num double precision,
  comment text,
  source text NOT NULL DEFAULT 'entry',
  stored_by text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (de, coc, ou, pe)
);
CREATE INDEX data_values_de_start_idx ON indicators.data_values (de, start_date);
CREATE INDEX data_values_ou_pe_idx ON indicators.data_values (ou, pe);

-- Every change of a value: who, when, from what to what.
CREATE TABLE indicators.data_value_history (
  id bigserial PRIMARY KEY,
  de text NOT NULL,
  coc text NOT NULL,
  ou text NOT NULL,
  pe text NOT NULL,
  old_value text,
  new_value text,
  change text NOT NULL CHECK (change IN ('create', 'update', 'delete')),
  source text NOT NULL,
  changed_by text NOT NULL,
  changed_by_id text,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX data_value_history_key_idx ON indicators.data_value_history (de, ou, pe);

-- A form of one unit for one period and its way up: draft → submitted → agency_approved →
-- approved (locked), or back to returned with a reason.
CREATE TABLE indicators.submissions (
  data_set text NOT NULL REFERENCES indicators.data_sets (id) ON DELETE CASCADE,
  ou text NOT NULL,
  pe text NOT NULL,
  state text NOT NULL CHECK (state IN ('draft', 'submitted', 'agency_approved', 'approved', 'returned')),
  submitted_at timestamptz,
  submitted_by text,
  on_time boolean,
  agency_approved_at timestamptz,
  agency_approved_by text,
  approved_at timestamptz,
  approved_by text,
  returned_at timestamptz,
  returned_by text,
  return_reason text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (data_set, ou, pe)
);
CREATE INDEX submissions_pe_idx ON indicators.submissions (pe, state);

CREATE TABLE indicators.submission_history (
  id bigserial PRIMARY KEY,
  data_set text NOT NULL,
  ou text NOT NULL,
  pe text NOT NULL,
  action text NOT NULL,
  reason text,
  actor text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX submission_history_key_idx ON indicators.submission_history (data_set, ou, pe);

-- The plan's targets: an indicator with goals by year (from data/roadmap-targets.json).
CREATE TABLE indicators.targets (
  id text PRIMARY KEY,
  sector text NOT NULL,
  name text NOT NULL,
  name_en text NOT NULL,
  unit text NOT NULL,
  goals jsonb NOT NULL,
  baseline double precision,
  system text,
  indicator text NOT NULL REFERENCES indicators.indicators (id),
  direction text NOT NULL DEFAULT 'increase' CHECK (direction IN ('increase', 'decrease')),
  position int NOT NULL DEFAULT 0
);

-- The plan's tasks: the systems S1–S22 and other bullets, with their lead agency and progress.
CREATE TABLE indicators.tasks (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  system text,
  title text NOT NULL,
  title_en text NOT NULL,
  lead_agency text,
  deadline date,
  status text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'in_progress', 'done', 'delayed', 'cancelled')),
  percent int NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 100),
  evidence jsonb NOT NULL DEFAULT '[]',
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text
);

-- Automatic sources: when each last computed its values.
CREATE TABLE indicators.source_runs (
  source text PRIMARY KEY,
  last_run_at timestamptz NOT NULL,
  periods text[] NOT NULL,
  values_written int NOT NULL,
  last_error text
);

-- Pushes of approved values to the Government reporting system.
CREATE TABLE indicators.exports (
  id bigserial PRIMARY KEY,
  pe text NOT NULL,
  -- Hash of the exported content: the same approved values are pushed once.
  hash text NOT NULL,
  values_count int NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'acknowledged', 'failed')),
  created_at timestamptz NOT NULL DEFAULT now(),
  acknowledged_at timestamptz,
  last_error text,
  UNIQUE (pe, hash)
);
