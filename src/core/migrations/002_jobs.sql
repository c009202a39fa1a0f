-- A durable job queue shared by every module: notifications, alert fan-out, exports, webhooks.
-- A job is claimed with a lease; a crashed worker's jobs are taken again when the lease ends.
-- (queue, key) is unique, so enqueuing the same delivery twice is a no-op: exactly one job per
-- recipient and message.
CREATE TABLE core.jobs (
  id bigserial PRIMARY KEY,
  queue text NOT NULL CHECK (queue ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
  key text,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
  attempts int NOT NULL DEFAULT 0,
  max_attempts int NOT NULL DEFAULT 8 CHECK (max_attempts > 0),
  run_at timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  last_error text,
  result jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE UNIQUE INDEX jobs_key_idx ON core.jobs (queue, key) WHERE key IS NOT NULL;
CREATE INDEX jobs_due_idx ON core.jobs (queue, run_at) WHERE status IN ('pending', 'running');
CREATE INDEX jobs_finished_idx ON core.jobs (finished_at) WHERE finished_at IS NOT NULL;
