// Typed events. publish() writes the event in the caller's transaction and sends a notification,
// which is delivered only after commit, to every Sen process on the database, this one included.
// Listeners therefore see committed changes only, exactly once per process.
import type { Db } from "../db.ts";

/** Modules add their events by augmenting this interface (declaration merging). */
export interface SenEvents {
  "user.created": { id: string; username: string };
  "user.updated": { id: string; username: string };
  "apikey.created": { id: string; name: string };
  "apikey.revoked": { id: string };
  "session.revoked": { userId: string };
  "system.hello": { node: string };
}
export type Topic = keyof SenEvents;

/**
 * Who may see an event: "all" (anyone signed in, citizens too), "staff" (console users),
 * "admin", or "agency:CODE" (that agency's people, plus admins and operators).
 */
export type Audience = "all" | "staff" | "admin" | `agency:${string}`;

export interface SenEvent<T extends Topic = Topic> {
  id: number;
  topic: T;
  audience: Audience;
  payload: SenEvents[T];
  at: string;
}

const CHANNEL = "sen_events";
// NOTIFY payloads are limited to 8000 bytes; larger events are read back from the table.
const MAX_NOTIFY = 7000;
const REPLAY_PAGE = 1000;

type Listener = (e: SenEvent) => void;

export function eventBus(db: Db) {
  const listeners = new Set<Listener>();
  let unlisten: (() => Promise<void>) | undefined;

  const deliver = (e: SenEvent) => {
    for (const l of listeners) {
      try {
        l(e);
      } catch (err) {
        process.emitWarning(`event listener failed on ${e.topic}: ${(err as Error).message}`);
      }
    }
  };

  const rowToEvent = (r: { id: number; topic: string; audience: string; payload: unknown; at: Date | string }): SenEvent =>
    ({ id: Number(r.id), topic: r.topic, audience: r.audience, payload: r.payload, at: new Date(r.at).toISOString() }) as SenEvent;

  const bus = {
    async start(): Promise<void> {
      // Deliver in arrival order: a large event read back from the table must not be overtaken by
      // a small one behind it (SSE clients skip ids at or below the last they sent).
      let chain: Promise<void> = Promise.resolve();
      // After the listening connection was lost, what was published in between (ids above the
      // highest seen) is read back from the table. Commit order is not id order, so notices may
      // arrive below the highest id: the ids recently delivered, not a watermark, keep each once.
      let lastId = 0;
      const recent = new Set<number>();
      const deliverOnce = (e: SenEvent) => {
        if (e.id > lastId) lastId = e.id;
        if (recent.has(e.id)) return;
        recent.add(e.id);
        if (recent.size > 10_000) recent.delete(recent.values().next().value as number);
        deliver(e);
      };
      unlisten = await db.listen(
        CHANNEL,
        (raw) => {
          const msg = JSON.parse(raw) as SenEvent | { id: number; ref: true };
          chain = chain.then(async () => {
            if (!("ref" in msg)) return deliverOnce(msg);
            const r = await db
              .one<{ id: number; topic: string; audience: string; payload: unknown; at: Date }>("SELECT * FROM core.events WHERE id = $1", [msg.id])
              .catch(() => undefined);
            if (r) deliverOnce(rowToEvent(r));
          });
        },
        (up) => {
          if (!up) return;
          chain = chain.then(async () => {
            for (let more = true; more; ) {
              const missed = await bus.since(lastId).catch(() => []);
              for (const e of missed) deliverOnce(e);
              more = missed.length === REPLAY_PAGE;
            }
          });
        },
      );
    },

    async stop(): Promise<void> {
      await unlisten?.();
    },

    /** Publish within the current transaction; delivered after it commits. */
    publish<T extends Topic>(topic: T, payload: SenEvents[T], audience: Audience = "staff"): Promise<number> {
      return db.tx(async () => {
        const row = await db.one<{ id: number; at: Date }>("INSERT INTO core.events (topic, audience, payload) VALUES ($1, $2, $3) RETURNING id, at", [
          topic,
          audience,
          JSON.stringify(payload),
        ]);
        if (!row) throw new Error("event insert returned nothing");
        const event = rowToEvent({ id: row.id, topic, audience, payload, at: row.at });
        let msg = JSON.stringify(event);
        if (Buffer.byteLength(msg) > MAX_NOTIFY) msg = JSON.stringify({ id: event.id, ref: true });
        await db.notify(CHANNEL, msg);
        return event.id;
      });
    },

    subscribe(listener: Listener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** Events after a given id, for replay to a reconnecting client. */
    async since(afterId: number, limit = REPLAY_PAGE): Promise<SenEvent[]> {
      const rows = await db.query<{ id: number; topic: string; audience: string; payload: unknown; at: Date }>(
        "SELECT * FROM core.events WHERE id > $1 ORDER BY id LIMIT $2",
        [afterId, limit],
      );
      return rows.map(rowToEvent);
    },

    /** Drop events older than the replay window. */
    prune: (olderThanDays: number) => db.query("DELETE FROM core.events WHERE at < now() - make_interval(days => $1)", [olderThanDays]),
  };
  return bus;
}

export type EventBus = ReturnType<typeof eventBus>;
