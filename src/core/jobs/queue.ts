// The durable job queue: work that must happen after a commit and survive a crash (deliveries,
// notifications, pushes to other systems). Enqueue inside the transaction that decides the work;
// a worker claims due jobs with a lease (FOR UPDATE SKIP LOCKED, so several Sen processes share a
// queue), runs the handler, and records the outcome. Failures are retried with exponential
// backoff until max_attempts, then the job is "failed" and kept for people to see.
//
// Delivery is at least once: a process killed after a handler's side effect and before its job is
// marked done runs that job again after the lease. Handlers therefore pass the job's id (or key)
// to the receiver as an idempotency key (see outbound.ts: the X-Sen-Delivery header), which makes
// the effect exactly once for a receiver that remembers keys.
import type { Db } from "../db.ts";

export interface Job<P = unknown> {
  id: number;
  queue: string;
  key: string | null;
  payload: P;
  attempts: number;
  maxAttempts: number;
  createdAt: string;
}

export interface EnqueueOptions {
  /** Unique per queue: a second enqueue with the same key does nothing. */
  key?: string;
  /** Run no earlier than this. */
  runAt?: Date;
  maxAttempts?: number;
}

/** Thrown by a handler to give up at once (no retry): the input can never succeed. */
export class PermanentJobError extends Error {}

export interface WorkerOptions {
  /** Jobs run at the same time by this process (default 16). */
  concurrency?: number;
  /** How long a claimed job is reserved before another worker may take it (default 60 s). */
  leaseMs?: number;
  /**
   * Longest idle wait (default 30 s). Enqueues wake the workers at once, in every process (NOTIFY),
   * and an idle worker sleeps only until its queue's next retry or lease comes due: this is a
   * safety net, not the way work is found.
   */
  pollMs?: number;
  /** Delay before retry n (1-based): default 2^n seconds, capped at one hour, with jitter. */
  backoffMs?: (attempt: number) => number;
}

export type JobHandler<P> = (job: Job<P>) => Promise<unknown>;

export interface QueueStats {
  pending: number;
  running: number;
  done: number;
  failed: number;
}

interface JobRow {
  id: string | number;
  queue: string;
  key: string | null;
  payload: unknown;
  attempts: number;
  max_attempts: number;
  created_at: Date | string;
}

/**
 * Every process's workers hear of new jobs on this channel (the queue's name as payload). NOTIFY is
 * sent with the insert and delivered after commit; PostgreSQL folds repeats within a transaction.
 */
const CHANNEL = "sen_jobs";
const NOTIFY_WORKERS = `pg_notify('${CHANNEL}', $1::text)`;

/** Successes recorded per statement, and how long one waits for company. */
const DONE_BATCH = 200;
const DONE_FLUSH_MS = 5;

const defaultBackoff = (attempt: number) => Math.min(3_600_000, 1000 * 2 ** attempt) * (0.75 + Math.random() * 0.5);

export function jobQueue(db: Db) {
  const workers = new Map<string, { wake(): void; stop(): Promise<void> }>();

  const toJob = (r: JobRow): Job => ({
    id: Number(r.id),
    queue: r.queue,
    key: r.key,
    payload: r.payload,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    createdAt: new Date(r.created_at).toISOString(),
  });

  const wakeAfterCommit = (queue: string) => db.afterCommit(() => workers.get(queue)?.wake());
  // Jobs other processes enqueue; after a lost connection, look again at every queue.
  let listening: Promise<unknown> | undefined;
  const listen = () =>
    (listening ??= db
      .listen(
        CHANNEL,
        (queue) => workers.get(queue)?.wake(),
        (up) => {
          if (up) for (const w of workers.values()) w.wake();
        },
      )
      .catch(() => {
        listening = undefined; // the next worker tries again; polling covers the meantime
      }));

  return {
    /** Add a job in the caller's transaction; false when a job with this key already exists. */
    async enqueue<P>(queue: string, payload: P, opts: EnqueueOptions = {}): Promise<boolean> {
      const rows = await db.query(
        `WITH added AS (
           INSERT INTO core.jobs (queue, key, payload, run_at, max_attempts)
           VALUES ($1, $2, $3, COALESCE($4, now()), $5)
           ON CONFLICT (queue, key) WHERE key IS NOT NULL DO NOTHING RETURNING id)
         SELECT id, ${NOTIFY_WORKERS} FROM added`,
        [queue, opts.key ?? null, JSON.stringify(payload), opts.runAt ?? null, opts.maxAttempts ?? 8],
      );
      wakeAfterCommit(queue);
      return rows.length === 1;
    },

    /** Many jobs in one statement; returns how many were new (existing keys are skipped). */
    async enqueueMany<P>(queue: string, items: Array<{ payload: P; key?: string }>, opts: { maxAttempts?: number } = {}): Promise<number> {
      let added = 0;
      for (let i = 0; i < items.length; i += 5000) {
        const chunk = items.slice(i, i + 5000);
        const rows = await db.query(
          `WITH added AS (
             INSERT INTO core.jobs (queue, key, payload, max_attempts)
             SELECT $1, k, p::jsonb, $4 FROM unnest($2::text[], $3::text[]) AS t(k, p)
             ON CONFLICT (queue, key) WHERE key IS NOT NULL DO NOTHING RETURNING id)
           SELECT id, ${NOTIFY_WORKERS} FROM added`,
          [queue, chunk.map((c) => c.key ?? null), chunk.map((c) => JSON.stringify(c.payload)), opts.maxAttempts ?? 8],
        );
        added += rows.length;
      }
      wakeAfterCommit(queue);
      return added;
    },

    /**
     * Process a queue in this process until stop(): claims due jobs (pending, or running with an
     * expired lease), runs handler for each, marks it done (its return value kept as result) or
     * schedules a retry.
     */
    work<P>(queue: string, handler: JobHandler<P>, opts: WorkerOptions = {}): { stop(): Promise<void> } {
      if (workers.has(queue)) throw new Error(`a worker already runs queue ${queue} in this process`);
      const concurrency = opts.concurrency ?? 16;
      const leaseMs = opts.leaseMs ?? 60_000;
      const pollMs = opts.pollMs ?? 30_000;
      void listen();
      const backoff = opts.backoffMs ?? defaultBackoff;
      const minClaim = Math.max(1, Math.floor(concurrency / 4));
      let stopped = false;
      let wakeUp: (() => void) | undefined;
      let pendingWake = false;
      const inFlight = new Set<Promise<void>>();

      // Successes are recorded in batches (one statement for many jobs): a fast handler would
      // otherwise spend most of its time on its own bookkeeping.
      let doneBatch: Array<{ id: number; result: string | null; recorded: () => void }> = [];
      let flushTimer: NodeJS.Timeout | undefined;
      const flushDone = async () => {
        clearTimeout(flushTimer);
        flushTimer = undefined;
        const batch = doneBatch;
        doneBatch = [];
        if (!batch.length) return;
        try {
          await db.query(
            `UPDATE core.jobs j SET status = 'done', finished_at = now(), locked_until = NULL, last_error = NULL, result = r.result::jsonb
             FROM unnest($1::bigint[], $2::text[]) AS r(id, result) WHERE j.id = r.id`,
            [batch.map((b) => b.id), batch.map((b) => b.result)],
          );
        } catch {
          // Not recorded (database gone): the leases expire and these jobs run again.
        }
        for (const b of batch) b.recorded();
      };
      const recordDone = (job: Job, result: unknown) =>
        new Promise<void>((recorded) => {
          doneBatch.push({ id: job.id, result: result === undefined ? null : JSON.stringify(result), recorded });
          if (doneBatch.length >= DONE_BATCH) void flushDone();
          else flushTimer ??= setTimeout(() => void flushDone(), DONE_FLUSH_MS);
        });

      const recordFailure = async (job: Job, error: Error) => {
        const giveUp = error instanceof PermanentJobError || job.attempts >= job.maxAttempts;
        const message = error.message.slice(0, 2000);
        if (giveUp)
          await db.query(`UPDATE core.jobs SET status = 'failed', finished_at = now(), locked_until = NULL, last_error = $2 WHERE id = $1`, [job.id, message]);
        else
          await db.query(
            `UPDATE core.jobs SET status = 'pending', locked_until = NULL, last_error = $2, run_at = now() + make_interval(secs => $3) WHERE id = $1`,
            [job.id, message, backoff(job.attempts) / 1000],
          );
      };

      const run = async (job: Job<P>) => {
        let result: unknown;
        try {
          result = await handler(job);
        } catch (err) {
          // If recording fails (database gone), the lease expires and the job runs again.
          await recordFailure(job, err instanceof Error ? err : new Error(String(err))).catch(() => undefined);
          return;
        }
        await recordDone(job, result);
      };

      const claim = async (n: number): Promise<Job<P>[]> => {
        const rows = await db.query<JobRow>(
          `UPDATE core.jobs SET status = 'running', attempts = attempts + 1, locked_until = now() + make_interval(secs => $3)
           WHERE id IN (
             SELECT id FROM core.jobs
             WHERE queue = $1 AND run_at <= now()
               AND (status = 'pending' OR (status = 'running' AND locked_until < now()))
             ORDER BY run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING id, queue, key, payload, attempts, max_attempts, created_at`,
          [queue, n, leaseMs / 1000],
        );
        return rows.map(toJob) as Job<P>[];
      };

      /** How long until a job of this queue comes due (a retry's time, an expired lease), capped. */
      const untilNextDue = async (): Promise<number> => {
        const row = await db
          .one<{ ms: number | null }>(
            `SELECT (EXTRACT(EPOCH FROM LEAST(
               (SELECT min(run_at) FROM core.jobs WHERE queue = $1 AND status = 'pending'),
               (SELECT min(locked_until) FROM core.jobs WHERE queue = $1 AND status = 'running')) - now()) * 1000)::float8 AS ms`,
            [queue],
          )
          .catch(() => undefined);
        return row?.ms == null ? pollMs : Math.min(pollMs, Math.max(10, Math.ceil(row.ms)));
      };

      const loop = async () => {
        while (!stopped) {
          let claimed: Job<P>[] = [];
          let failed = false;
          const free = concurrency - inFlight.size;
          // Claim in batches: wait for a quarter of the slots to free up (or all, when idle), so
          // a busy queue costs one claim statement per batch rather than one per job.
          if (free >= minClaim || (free > 0 && inFlight.size === 0)) {
            try {
              claimed = await claim(free);
            } catch {
              failed = true; // database busy or restarting: try again in a second
            }
          }
          for (const job of claimed) {
            const p = run(job).finally(() => {
              inFlight.delete(p);
              if (concurrency - inFlight.size >= minClaim) wakeUp?.();
            });
            inFlight.add(p);
          }
          if (claimed.length === free && free >= minClaim) continue; // more may be due
          // Nothing running: only an enqueue (which wakes us) or a job coming due can bring work.
          // Something running: its end wakes us and we claim again.
          const waitMs = failed ? Math.min(pollMs, 1000) : inFlight.size === 0 ? await untilNextDue() : pollMs;
          if (stopped) break;
          if (pendingWake) {
            pendingWake = false;
            if (inFlight.size < concurrency) continue;
          }
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, waitMs);
            function done() {
              clearTimeout(timer);
              wakeUp = undefined;
              resolve();
            }
            wakeUp = done;
          });
        }
      };

      const looping = loop();
      const worker = {
        wake() {
          pendingWake = true;
          wakeUp?.();
        },
        async stop() {
          stopped = true;
          wakeUp?.();
          await looping;
          await Promise.allSettled([...inFlight, flushDone()]);
          workers.delete(queue);
        },
      };
      workers.set(queue, worker);
      return { stop: () => worker.stop() };
    },

    async stats(queue: string): Promise<QueueStats> {
      const rows = await db.query<{ status: keyof QueueStats; n: string }>(`SELECT status, count(*) AS n FROM core.jobs WHERE queue = $1 GROUP BY status`, [
        queue,
      ]);
      const out: QueueStats = { pending: 0, running: 0, done: 0, failed: 0 };
      for (const r of rows) out[r.status] = Number(r.n);
      return out;
    },

    /** On an embedded database only this process runs jobs: release what a crashed run held. */
    async recoverAfterCrash(): Promise<number> {
      const rows = await db.query(`UPDATE core.jobs SET status = 'pending', locked_until = NULL WHERE status = 'running' RETURNING id`);
      return rows.length;
    },

    /** Drop finished jobs older than the given number of days (failed ones are kept). */
    async prune(days: number): Promise<void> {
      await db.query(`DELETE FROM core.jobs WHERE status = 'done' AND finished_at < now() - make_interval(days => $1)`, [days]);
    },

    async stopAll(): Promise<void> {
      await Promise.all([...workers.values()].map((w) => w.stop()));
    },
  };
}

export type JobQueue = ReturnType<typeof jobQueue>;
