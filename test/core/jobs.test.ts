// The durable job queue on a real database: exactly one job per key, retries with backoff,
// giving up, permanent errors, leases taken over after a crash, and signed webhooks.
import { createHmac } from "node:crypto";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/core/db.ts";
import { migrate } from "../../src/core/migrate.ts";
import { postWebhook, signBody } from "../../src/core/jobs/outbound.ts";
import { type JobQueue, PermanentJobError, jobQueue } from "../../src/core/jobs/queue.ts";
import { MIGRATIONS } from "../../src/app.ts";
import { dbTargets } from "../helpers.ts";

const WAIT = { timeout: 15_000, interval: 20 };
const fast = { pollMs: 20, backoffMs: () => 10 };

async function until(check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + WAIT.timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, WAIT.interval));
  }
}

for (const target of dbTargets()) {
  describe(`job queue on ${target.name}`, () => {
    let handle: Awaited<ReturnType<typeof target.open>>;
    let db: Db;
    let jobs: JobQueue;
    beforeAll(async () => {
      handle = await target.open();
      db = handle.db;
      await migrate(
        db,
        MIGRATIONS.filter((m) => m.module === "core"),
      );
      jobs = jobQueue(db);
    }, 60_000);
    afterAll(async () => {
      await jobs?.stopAll();
      await handle?.close();
    });

    const row = (queue: string) =>
      db.query<{ status: string; attempts: number; last_error: string | null; result: unknown }>(
        "SELECT status, attempts, last_error, result FROM core.jobs WHERE queue = $1 ORDER BY id",
        [queue],
      );

    it("runs each keyed job once, even when it is enqueued twice", async () => {
      const seen: string[] = [];
      expect(await jobs.enqueue("t-once", { to: "a" }, { key: "alert-1:a" })).toBe(true);
      expect(await jobs.enqueue("t-once", { to: "a" }, { key: "alert-1:a" })).toBe(false);
      expect(
        await jobs.enqueueMany("t-once", [
          { payload: { to: "a" }, key: "alert-1:a" },
          { payload: { to: "b" }, key: "alert-1:b" },
        ]),
      ).toBe(1);
      const w = jobs.work<{ to: string }>(
        "t-once",
        async (job) => {
          seen.push(job.payload.to);
          return { sent: job.payload.to };
        },
        fast,
      );
      await until(async () => (await jobs.stats("t-once")).done === 2);
      await w.stop();
      expect(seen.sort()).toEqual(["a", "b"]);
      expect((await row("t-once")).map((r) => r.result)).toEqual([{ sent: "a" }, { sent: "b" }]);
    });

    it("a job enqueued in a transaction that rolls back never runs", async () => {
      await db
        .tx(async () => {
          await jobs.enqueue("t-rollback", { x: 1 });
          throw new Error("abort");
        })
        .catch(() => undefined);
      expect(await row("t-rollback")).toEqual([]);
    });

    it("retries a failing job, then records the failure after max attempts", async () => {
      let calls = 0;
      await jobs.enqueue("t-retry", { n: 1 }, { maxAttempts: 3 });
      await jobs.enqueue("t-retry", { n: 2 }, { maxAttempts: 3 });
      const w = jobs.work<{ n: number }>(
        "t-retry",
        async (job) => {
          calls++;
          if (job.payload.n === 1 && job.attempts < 2) throw new Error("receiver down");
          if (job.payload.n === 2) throw new Error("always down");
        },
        fast,
      );
      await until(async () => {
        const s = await jobs.stats("t-retry");
        return s.done === 1 && s.failed === 1;
      });
      await w.stop();
      const [first, second] = await row("t-retry");
      expect(first).toMatchObject({ status: "done", attempts: 2, last_error: null });
      expect(second).toMatchObject({ status: "failed", attempts: 3, last_error: "always down" });
      expect(calls).toBe(5);
    });

    it("gives up at once on a permanent error", async () => {
      await jobs.enqueue("t-perm", {}, { maxAttempts: 8 });
      const w = jobs.work(
        "t-perm",
        async () => {
          throw new PermanentJobError("address does not exist");
        },
        fast,
      );
      await until(async () => (await jobs.stats("t-perm")).failed === 1);
      await w.stop();
      expect((await row("t-perm"))[0]).toMatchObject({ status: "failed", attempts: 1, last_error: "address does not exist" });
    });

    it("an idle worker wakes when a retry comes due, not at its next poll", async () => {
      const attempts: number[] = [];
      await jobs.enqueue("t-due", {}, { maxAttempts: 3 });
      // A poll once a minute: the retry 300 ms later must not wait for it.
      const w = jobs.work(
        "t-due",
        async (job) => {
          attempts.push(job.attempts);
          if (job.attempts === 1) throw new Error("receiver down");
        },
        { pollMs: 60_000, backoffMs: () => 300 },
      );
      await until(async () => (await jobs.stats("t-due")).done === 1);
      await w.stop();
      expect(attempts).toEqual([1, 2]);
    });

    it.runIf(target.name === "postgres")("a job enqueued by another process starts at once, without polling", async () => {
      const other = jobQueue(db);
      const ran: string[] = [];
      const w = other.work<{ from: string }>("t-remote", async (job) => void ran.push(job.payload.from), { pollMs: 60_000 });
      // Let the idle worker settle into its minute-long wait, then enqueue from a separate queue
      // object (as another Sen process would): only the notice can wake it in time.
      await new Promise((r) => setTimeout(r, 300));
      await jobs.enqueue("t-remote", { from: "elsewhere" });
      await until(async () => ran.length === 1);
      await w.stop();
      expect(ran).toEqual(["elsewhere"]);
    });

    it("takes over a job whose worker died (lease expired), and after a crash on restart", async () => {
      await jobs.enqueue("t-lease", { id: "x" });
      // A worker claims it and dies: the job stays 'running' with a lease.
      await db.query("UPDATE core.jobs SET status = 'running', attempts = 1, locked_until = now() + interval '1 hour' WHERE queue = 't-lease'");
      const seen: number[] = [];
      const w = jobs.work<{ id: string }>("t-lease", async (job) => void seen.push(job.attempts), fast);
      await new Promise((r) => setTimeout(r, 200));
      expect(seen).toEqual([]); // still leased to the dead worker
      await db.query("UPDATE core.jobs SET locked_until = now() - interval '1 second' WHERE queue = 't-lease'");
      await until(async () => (await jobs.stats("t-lease")).done === 1);
      await w.stop();
      expect(seen).toEqual([2]);

      await jobs.enqueue("t-crash", {});
      await db.query("UPDATE core.jobs SET status = 'running', locked_until = now() + interval '1 hour' WHERE queue = 't-crash'");
      expect(await jobs.recoverAfterCrash()).toBe(1);
      expect((await jobs.stats("t-crash")).pending).toBe(1);
    });

    it("signed webhooks: the receiver can verify the body and drop repeats by delivery id", async () => {
      const received: Array<{ sig: string; id: string; body: string }> = [];
      let status = 500;
      const server: Server = createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
          received.push({ sig: String(req.headers["x-sen-signature"]), id: String(req.headers["x-sen-delivery"]), body });
          res.statusCode = status;
          res.end();
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      try {
        await expect(postWebhook({ url, secret: "s3cret" }, "test", "d-1", { a: 1 })).rejects.toThrow(/answered 500/);
        status = 410;
        await expect(postWebhook({ url, secret: "s3cret" }, "test", "d-1", { a: 1 })).rejects.toBeInstanceOf(PermanentJobError);
        status = 204;
        expect((await postWebhook({ url, secret: "s3cret" }, "test", "d-1", { a: 1 })).status).toBe(204);
        const last = received[received.length - 1];
        expect(last.id).toBe("d-1");
        expect(last.sig).toBe(`sha256=${createHmac("sha256", "s3cret").update(last.body).digest("hex")}`);
        expect(signBody("s3cret", last.body)).toBe(last.sig);
        expect(JSON.parse(last.body)).toEqual({ a: 1 });
      } finally {
        server.close();
      }
      await expect(postWebhook({ url: "http://127.0.0.1:1/none" }, "test", "d-2", {})).rejects.toThrow(/unreachable/);
    });
  });
}
