// The event bus: delivered after commit only, to every process on the database, and streamed to
// the console as server-sent events filtered by topic and by what the caller may see.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventBus, type SenEvent } from "../../src/core/events/bus.ts";
import { openDb } from "../../src/core/db.ts";
import { type TestSen, auth, dbTargets, startSen } from "../helpers.ts";

/** Read an SSE stream until `until` says stop; returns the parsed events and raw text. */
function readSse(url: string, headers: Record<string, string>, until: (events: SenEvent[], raw: string) => boolean, timeoutMs = 10_000) {
  return new Promise<{ events: SenEvent[]; raw: string; status: number }>((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let raw = "";
      const events: SenEvent[] = [];
      const timer = setTimeout(() => {
        req.destroy();
        resolve({ events, raw, status: res.statusCode ?? 0 });
      }, timeoutMs);
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        raw += chunk;
        events.length = 0;
        for (const block of raw.split("\n\n")) {
          const data = block.split("\n").find((l) => l.startsWith("data: "));
          const id = block.split("\n").find((l) => l.startsWith("id: "));
          if (data && id) events.push(JSON.parse(data.slice(6)));
        }
        if (until(events, raw)) {
          clearTimeout(timer);
          req.destroy();
          resolve({ events, raw, status: res.statusCode ?? 0 });
        }
      });
      res.on("end", () => resolve({ events, raw, status: res.statusCode ?? 0 }));
    });
    req.on("error", (err) => (err.message.includes("aborted") || err.message.includes("socket hang up") ? undefined : reject(err)));
  });
}

for (const target of dbTargets()) {
  describe(`events on ${target.name}`, () => {
    let sen: TestSen;
    let admin: string;
    let base: string;
    beforeAll(async () => {
      sen = await startSen(target, {}, { heartbeatMs: 200 });
      admin = await sen.login();
      await sen.app.listen({ port: 0, host: "127.0.0.1" });
      base = `http://127.0.0.1:${(sen.app.server.address() as { port: number }).port}`;
      for (const [username, roles, agency] of [
        ["op", ["operator"], "TTCDS"],
        ["snn", ["agency_officer"], "SNNMT"],
        ["syt", ["agency_officer"], "SYT"],
      ] as const) {
        await sen.app.inject({
          method: "POST",
          url: "/api/users",
          headers: auth(admin),
          payload: { username, displayName: username, password: "password-123", roles, agency },
        });
      }
    });
    afterAll(() => sen?.dispose());

    it("delivers an event after its transaction commits, and never after a rollback", async () => {
      const seen: SenEvent[] = [];
      const off = sen.services.bus.subscribe((e) => e.topic === "system.hello" && seen.push(e));
      const { db, bus } = sen.services;
      await db
        .tx(async () => {
          await bus.publish("system.hello", { node: "rolled-back" });
          throw new Error("abort");
        })
        .catch(() => undefined);
      let seenInside = -1;
      await db.tx(async () => {
        await bus.publish("system.hello", { node: "committed" });
        await new Promise((r) => setTimeout(r, 50));
        seenInside = seen.length;
      });
      await expect.poll(() => seen.map((e) => (e.payload as { node: string }).node)).toContain("committed");
      off();
      expect(seenInside).toBe(0);
      expect(seen.map((e) => (e.payload as { node: string }).node)).not.toContain("rolled-back");
      expect(await sen.services.db.one("SELECT 1 FROM core.events WHERE payload->>'node' = 'rolled-back'")).toBeUndefined();
    });

    it("streams to the console with heartbeats, filtered by topic", async () => {
      const stream = readSse(`${base}/api/events?topics=user.*`, auth(admin), (events, raw) => events.length >= 1 && raw.includes(": heartbeat"));
      await new Promise((r) => setTimeout(r, 300));
      await sen.services.bus.publish("system.hello", { node: "not-a-user-event" });
      await sen.app.inject({
        method: "POST",
        url: "/api/users",
        headers: auth(admin),
        payload: { username: "newbie", displayName: "N", password: "password-123", roles: [] },
      });
      const { events, raw, status } = await stream;
      expect(status).toBe(200);
      expect(events.map((e) => e.topic)).toEqual(["user.created"]);
      expect(events[0].payload).toMatchObject({ username: "newbie" });
      expect(raw).toMatch(/^id: \d+\ndata: \{.*"topic":"user.created"/m);
    });

    it("shows each person only what they may see", async () => {
      const op = await sen.login("op", "password-123");
      const snn = await sen.login("snn", "password-123");
      const done = (events: SenEvent[]) => events.some((e) => (e.payload as { node?: string }).node === "end");
      const streams = [op, snn].map((t) => readSse(`${base}/api/events?topics=system.*`, auth(t), done));
      await new Promise((r) => setTimeout(r, 300));
      const { bus } = sen.services;
      await bus.publish("system.hello", { node: "for-snnmt" }, "agency:SNNMT");
      await bus.publish("system.hello", { node: "for-syt" }, "agency:SYT");
      await bus.publish("system.hello", { node: "for-admins" }, "admin");
      await bus.publish("system.hello", { node: "end" }, "staff");
      const [opSaw, snnSaw] = (await Promise.all(streams)).map((s) => s.events.map((e) => (e.payload as { node: string }).node));
      expect(opSaw).toEqual(["for-snnmt", "for-syt", "end"]);
      expect(snnSaw).toEqual(["for-snnmt", "end"]);
    });

    it("replays what was missed after Last-Event-ID", async () => {
      const { bus } = sen.services;
      const first = await bus.publish("system.hello", { node: "r1" });
      await bus.publish("system.hello", { node: "r2" });
      await bus.publish("system.hello", { node: "r3" });
      const { events } = await readSse(`${base}/api/events?topics=system.hello`, { ...auth(admin), "last-event-id": String(first) }, (ev) => ev.length >= 2);
      expect(events.map((e) => (e.payload as { node: string }).node)).toEqual(["r2", "r3"]);
      expect(events[0].id).toBe(first + 1);
    });

    /** A second process's event bus on the same PostgreSQL database, noting each system.hello. */
    async function otherNode() {
      const db2 = await openDb({ url: sen.databaseUrl as string, poolSize: 2 });
      const bus2 = eventBus(db2);
      await bus2.start();
      const seen: string[] = [];
      bus2.subscribe((e) => e.topic === "system.hello" && seen.push((e.payload as { node: string }).node));
      return {
        seen,
        async close() {
          await bus2.stop();
          await db2.close();
        },
      };
    }

    it.runIf(target.name === "postgres")("reaches another Sen process on the same database", async () => {
      const { seen, close } = await otherNode();
      await sen.services.bus.publish("system.hello", { node: "from-node-1" });
      await expect.poll(() => seen).toContain("from-node-1");
      await close();
    });

    it.runIf(target.name === "postgres")("catches up on what was published while its LISTEN connection was down", async () => {
      const { seen, close } = await otherNode();
      try {
        await sen.services.bus.publish("system.hello", { node: "before" });
        await expect.poll(() => seen).toContain("before");
        // Every listening connection on this database is cut; what is published now is announced
        // to nobody, and the second process must read it back once it listens again.
        await sen.services.db.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()",
        );
        await sen.services.bus.publish("system.hello", { node: "during" });
        await sen.services.bus.publish("system.hello", { node: "during-2" });
        await expect.poll(() => seen, { timeout: 10_000 }).toContain("during-2");
        await sen.services.bus.publish("system.hello", { node: "after" });
        await expect.poll(() => seen, { timeout: 10_000 }).toContain("after");
        expect(seen).toEqual(["before", "during", "during-2", "after"]);
      } finally {
        await close();
      }
    });
  });
}
