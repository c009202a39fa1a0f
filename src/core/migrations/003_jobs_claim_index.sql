-- Claims read due jobs in (run_at, id) order: with the id in the index, a queue holding
-- thousands of jobs enqueued in one statement (same run_at) needs no sort.
DROP INDEX core.jobs_due_idx;
CREATE INDEX jobs_due_idx ON core.jobs (queue, run_at, id) WHERE status IN ('pending', 'running');
