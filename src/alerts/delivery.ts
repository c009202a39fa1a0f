// Delivery of published alerts to subscribers: web push (VAPID), email and webhooks. Publishing
// enqueues one fan-out job in its transaction; the fan-out job pages through the matching
// subscriptions and enqueues one delivery job per recipient with the unique key
// `<alert>:<subscription>`, so a crash and re-run of the fan-out adds no second job for anyone.
// Each delivery job is at least once; the same key goes to the receiver as X-Sen-Delivery (and
// as the push/email message id) so a receiver that remembers keys acts exactly once.
import webPush from "web-push";
import type { AuditService } from "../core/audit/service.ts";
import type { Actor } from "../core/context.ts";
import type { Db } from "../core/db.ts";
import { badRequest, notFound } from "../core/errors.ts";
import { type Mailer, postWebhook } from "../core/jobs/outbound.ts";
import { type Job, type JobQueue, PermanentJobError } from "../core/jobs/queue.ts";
import type { AreaIndex } from "./area.ts";
import { SEVERITY_RANK } from "./cap.ts";
import { isCurrent, textIn } from "./service.ts";
import { type AlertRow, type NewSubscription, type SubscriptionRow, alertsStore } from "./store.ts";

export const FANOUT_QUEUE = "alerts.fanout";
export const DELIVERY_QUEUE = "alerts.deliver";
/** Recipients enqueued per fan-out step (one enqueueMany statement). */
const PAGE = 2000;
/** A step waits while more deliveries of its message than this are still to be done. */
const BACKLOG = 4000;

export interface DeliveryDeps {
  db: Db;
  audit: AuditService;
  jobs: JobQueue;
  mailer: Mailer;
  area: AreaIndex;
  publicUrl: string;
  locate(lat: number, lon: number): string | undefined;
  /** Accept http:// push endpoints (tests and closed networks); otherwise https only. */
  allowHttpPush?: boolean;
}

export interface SubscriptionInput {
  name?: string;
  channel: "webpush" | "email" | "webhook";
  /** webpush: the browser's PushSubscription JSON; email: {email}; webhook: {url, secret?}. */
  target: Record<string, unknown>;
  communes?: string[];
  lat?: number;
  lon?: number;
  categories?: string[];
  minSeverity?: string;
  language?: "vi" | "en";
}

export interface SubscriptionDto {
  id: string;
  name: string;
  channel: string;
  /** The target without secrets (webhook secret and push keys are not shown again). */
  target: Record<string, unknown>;
  communes: string[];
  lat: number | null;
  lon: number | null;
  categories: string[];
  minSeverity: string;
  language: string;
  active: boolean;
  createdAt: string;
}

const MAX_PER_USER = 20;

export const toSubscriptionDto = (s: SubscriptionRow): SubscriptionDto => ({
  id: s.id,
  name: s.name,
  channel: s.channel,
  target:
    s.channel === "webhook"
      ? { url: s.target.url }
      : s.channel === "webpush"
        ? { endpoint: String(s.target.endpoint ?? "").replace(/^(https?:\/\/[^/]+\/).*$/, "$1…") }
        : { email: s.target.email },
  communes: s.communes,
  lat: s.lat,
  lon: s.lon,
  categories: s.categories,
  minSeverity: s.min_severity,
  language: s.language,
  active: s.active,
  createdAt: new Date(s.created_at).toISOString(),
});

/** A fan-out step: the message, the last subscription already handled, and how many matched so far. */
export interface FanoutPayload {
  alertId: string;
  after?: string | null;
  matched?: number;
  wait?: number;
}

export interface DeliveryPayload {
  alertId: string;
  subscriptionId: string;
}

/**
 * Group many concurrent calls into one: callers wait for the batch their item went into, and a
 * batch starts when the previous one ends (so under load each statement carries many items).
 */
function batcher<I, O>(run: (items: I[]) => Promise<O[]>, max = 500): (item: I) => Promise<O> {
  let queue: Array<{ item: I; resolve(o: O): void; reject(e: unknown): void }> = [];
  let running = false;
  const drain = async () => {
    running = true;
    while (queue.length) {
      const batch = queue.slice(0, max);
      queue = queue.slice(batch.length);
      try {
        const out = await run(batch.map((b) => b.item));
        for (const [i, b] of batch.entries()) b.resolve(out[i]);
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    running = false;
  };
  return (item) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!running) void Promise.resolve().then(drain);
    });
}

export function deliveryService(deps: DeliveryDeps) {
  const { db, jobs, area } = deps;
  const store = alertsStore(db);
  // Under fan-out, recipients are read and log entries written in batches: one statement (and
  // one commit) for many deliveries. Each delivery still waits for its own row to be committed.
  const subscriptionOf = batcher<string, SubscriptionRow | undefined>(async (ids) => {
    const rows = new Map((await store.subscriptionsByIds([...new Set(ids)])).map((r) => [r.id, r]));
    return ids.map((id) => rows.get(id));
  });
  type LogEntry = Parameters<typeof store.logDelivery>[0];
  const logDelivery = batcher<LogEntry, void>(async (entries) => {
    await store.logDeliveries(entries);
    return entries.map(() => undefined);
  });
  let vapid: { publicKey: string; privateKey: string } | undefined;

  /** The VAPID key pair: generated once, kept in the database, shared by every node. */
  async function vapidKeys() {
    vapid ??= await store.initSetting("vapid", webPush.generateVAPIDKeys());
    return vapid;
  }

  function checkTarget(input: SubscriptionInput, actor: Actor): Record<string, unknown> {
    const t = input.target;
    const str = (k: string, max = 2000) => (typeof t[k] === "string" && (t[k] as string).length <= max ? (t[k] as string) : undefined);
    switch (input.channel) {
      case "email": {
        const email = str("email", 254);
        if (!email || !/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(email)) throw badRequest("target.email must be an email address.");
        return { email };
      }
      case "webhook": {
        // Webhooks reach other systems (Zalo OA, SMS gateways): registered by staff only.
        if (!actor.permissions.has("alerts:manage") && actor.type !== "system")
          throw badRequest("Webhook subscriptions are registered by staff (alerts:manage).");
        const url = str("url");
        if (!url || !/^https?:\/\/[^\s]+$/.test(url)) throw badRequest("target.url must be an http(s) address.");
        const secret = str("secret", 200);
        return secret ? { url, secret } : { url };
      }
      case "webpush": {
        const endpoint = str("endpoint");
        const keys = t.keys as Record<string, unknown> | undefined;
        const ok = endpoint && (/^https:\/\/\S+$/.test(endpoint) || (deps.allowHttpPush && /^http:\/\/\S+$/.test(endpoint)));
        if (!ok) throw badRequest("target.endpoint must be the browser's https push endpoint.");
        if (!keys || typeof keys.p256dh !== "string" || typeof keys.auth !== "string" || keys.p256dh.length > 200 || keys.auth.length > 100)
          throw badRequest("target.keys must hold the browser's p256dh and auth keys.");
        return { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } };
      }
    }
  }

  function toNew(input: SubscriptionInput, actor: Actor): NewSubscription {
    const communes = [...new Set(input.communes ?? [])];
    const unknown = communes.filter((c) => !area.byCode(c));
    if (unknown.length) throw badRequest(`Not communes of the province: ${unknown.slice(0, 10).join(", ")}.`);
    if ((input.lat === undefined) !== (input.lon === undefined)) throw badRequest("Give both lat and lon, or neither.");
    if (input.lat !== undefined && input.lon !== undefined) {
      const here = deps.locate(input.lat, input.lon);
      if (!here) throw badRequest("That place is outside the province.");
      if (!communes.includes(here)) communes.push(here);
    }
    if (!communes.length) throw badRequest("Choose at least one commune, or give your location.");
    if (input.minSeverity && SEVERITY_RANK[input.minSeverity] === undefined) throw badRequest("minSeverity: Extreme, Severe, Moderate, Minor or Unknown.");
    return {
      user_id: actor.type === "user" && actor.id && input.channel !== "webhook" ? actor.id : null,
      name: input.name ?? "",
      channel: input.channel,
      target: checkTarget(input, actor),
      communes,
      lat: input.lat ?? null,
      lon: input.lon ?? null,
      categories: input.categories ?? [],
      min_severity: input.minSeverity ?? "Minor",
      language: input.language ?? "vi",
    };
  }

  // ---------------------------------------------------------------- sending

  /** What the recipient reads, per language. */
  function message(a: AlertRow, lang: "vi" | "en") {
    const t = textIn(a, lang);
    const url = `${deps.publicUrl}/app/alerts/${a.id}`;
    return { t, url };
  }

  const alertCache = new Map<string, AlertRow>();
  async function alertOf(id: string): Promise<AlertRow | undefined> {
    const hit = alertCache.get(id);
    if (hit) return hit;
    const a = await store.get(id);
    if (a) {
      alertCache.set(id, a);
      if (alertCache.size > 100) alertCache.delete(alertCache.keys().next().value as string);
    }
    return a;
  }

  async function send(a: AlertRow, s: SubscriptionRow, deliveryId: string): Promise<string> {
    const { t, url } = message(a, s.language);
    switch (s.channel) {
      case "webhook": {
        const r = await postWebhook({ url: String(s.target.url), secret: s.target.secret as string | undefined }, "alert", deliveryId, {
          deliveryId,
          subscription: { id: s.id, name: s.name },
          alert: {
            id: a.id,
            identifier: a.identifier,
            sender: a.sender,
            sent: a.sent ? new Date(a.sent).toISOString() : null,
            status: a.status,
            msgType: a.msg_type,
            references: a.refs,
            categories: a.categories,
            event: t.event,
            urgency: a.urgency,
            severity: a.severity,
            certainty: a.certainty,
            headline: t.headline,
            description: t.description,
            instruction: t.instruction ?? null,
            language: t.language,
            areaDesc: a.area_desc,
            communes: a.communes,
            expires: a.expires ? new Date(a.expires).toISOString() : null,
            web: url,
            cap: `${deps.publicUrl}/cap/alerts/${a.id}.xml`,
          },
        });
        return `HTTP ${r.status}`;
      }
      case "email": {
        const lines = [t.headline, "", t.description, t.instruction ? `\n${t.instruction}` : "", "", url, `CAP: ${deps.publicUrl}/cap/alerts/${a.id}.xml`];
        const r = await deps.mailer.send({
          to: String(s.target.email),
          subject: `[${a.severity}] ${t.headline}`.slice(0, 250),
          text: lines.join("\n"),
        });
        return r.messageId;
      }
      case "webpush": {
        const keys = await vapidKeys();
        const ttl = a.expires ? Math.max(60, Math.min(2_419_200, Math.round((new Date(a.expires).getTime() - Date.now()) / 1000))) : 86_400;
        const details = webPush.generateRequestDetails(
          { endpoint: String(s.target.endpoint), keys: s.target.keys as { p256dh: string; auth: string } },
          JSON.stringify({ id: a.id, deliveryId, title: t.headline, body: t.description.slice(0, 300), severity: a.severity, msgType: a.msg_type, url }),
          {
            vapidDetails: { subject: deps.publicUrl.startsWith("https:") ? deps.publicUrl : "mailto:ioc@localhost", ...keys },
            TTL: ttl,
            urgency: SEVERITY_RANK[a.severity] >= 3 ? "high" : "normal",
            topic: a.id.replace(/-/g, "").slice(0, 32),
          },
        );
        const res = await fetch(details.endpoint, {
          method: "POST",
          headers: Object.fromEntries(Object.entries(details.headers).map(([k, v]) => [k, String(v)])),
          body: details.body ? new Uint8Array(details.body) : undefined,
          redirect: "error",
          signal: AbortSignal.timeout(10_000),
        }).catch((err) => {
          throw new Error(`push service unreachable: ${(err as Error).message}`);
        });
        await res.arrayBuffer().catch(() => undefined);
        // The browser unsubscribed: stop sending to it.
        if (res.status === 404 || res.status === 410) {
          await store.deactivateSubscription(s.id);
          throw new PermanentJobError(`push subscription gone (${res.status})`);
        }
        if (!res.ok) {
          const msg = `push service answered ${res.status}`;
          if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new PermanentJobError(msg);
          throw new Error(msg);
        }
        return `HTTP ${res.status}`;
      }
    }
  }

  /** One delivery job: send, then log. A last failure is logged as failed. */
  async function deliver(job: Job<DeliveryPayload>): Promise<unknown> {
    const { alertId, subscriptionId } = job.payload;
    const deliveryId = job.key ?? `${alertId}:${subscriptionId}`;
    const [a, s] = await Promise.all([alertOf(alertId), subscriptionOf(subscriptionId)]);
    if (!a || !s?.active) return { skipped: !a ? "alert gone" : "unsubscribed" };
    try {
      const detail = await send(a, s, deliveryId);
      await logDelivery({ alertId, subscriptionId, deliveryId, channel: s.channel, status: "sent", attempts: job.attempts, detail });
      return { sent: detail };
    } catch (err) {
      if (err instanceof PermanentJobError || job.attempts >= job.maxAttempts)
        await logDelivery({
          alertId,
          subscriptionId,
          deliveryId,
          channel: s.channel,
          status: "failed",
          attempts: job.attempts,
          detail: (err as Error).message.slice(0, 500),
        }).catch(() => undefined);
      throw err;
    }
  }

  /** The fan-out job of one published message: enqueue a delivery per matching subscription. */
  /**
   * One step of the fan-out of a message: enqueue the deliveries of the next page of matching
   * subscriptions, and the step after it, in one transaction. The fan-out is paced: while more
   * than BACKLOG deliveries of this message wait, a step only re-schedules itself, so the queue
   * holds a few thousand due jobs rather than every recipient at once (claims stay cheap, and
   * other messages' deliveries are not stuck behind a large one). Each step's key is derived from
   * its position, so a step run twice after a crash enqueues nothing twice.
   */
  async function fanout(job: Job<FanoutPayload>): Promise<unknown> {
    const { alertId, after = null, matched = 0, wait = 0 } = job.payload;
    const a = await store.get(alertId);
    if (a?.state !== "published") return { skipped: true };
    // A message that ended before its turn came (an expired or replaced alert) is not sent;
    // its Update or Cancel is.
    if (!isCurrent(a) && a.end_reason !== "updated" && a.end_reason !== "cancelled") return { skipped: "ended" };
    const next = (p: FanoutPayload, delayMs: number) =>
      jobs.enqueue<FanoutPayload>(FANOUT_QUEUE, p, { key: `fanout:${alertId}:${p.after ?? "start"}:${p.wait ?? 0}`, runAt: new Date(Date.now() + delayMs) });
    if (after === null && wait === 0) await store.startFanout(a.id);
    else if ((await store.countLogged(a.id)) < matched - BACKLOG) {
      await db.tx(() => next({ alertId, after, matched, wait: wait + 1 }, Math.min(30_000, 250 * 2 ** Math.min(wait, 7))));
      return { waiting: matched };
    }
    const rank = SEVERITY_RANK[a.severity] ?? 0;
    // Exercises, tests and system messages go to systems only, never to citizens.
    const channels = a.status === "Actual" ? ["webpush", "email", "webhook"] : ["webhook"];
    const page = await store.matching({ communes: a.communes, categories: a.categories, rank, after, limit: PAGE, channels });
    // A subscriber's own point must lie in the area (its commune chosen, or under a shape).
    const hits = page.filter(
      (s) =>
        s.lat === null ||
        s.lon === null ||
        s.communes.some((c) => a.chosen_communes.includes(c)) ||
        area.inShapes({ polygons: a.polygons, circles: a.circles }, s.lat, s.lon),
    );
    const total = matched + hits.length;
    await db.tx(async () => {
      await jobs.enqueueMany<DeliveryPayload>(
        DELIVERY_QUEUE,
        hits.map((s) => ({ key: `${a.id}:${s.id}`, payload: { alertId: a.id, subscriptionId: s.id } })),
      );
      if (page.length === PAGE) {
        await store.setMatched(a.id, total);
        await next({ alertId, after: page[page.length - 1].id, matched: total, wait: 0 }, 0);
      } else await store.finishFanout(a.id, total);
    });
    return { matched: total };
  }

  return {
    vapidPublicKey: async () => (await vapidKeys()).publicKey,

    /** In the publishing transaction: one fan-out job per message. */
    enqueueFanout: (alertId: string) => jobs.enqueue(FANOUT_QUEUE, { alertId }, { key: `fanout:${alertId}` }).then(() => undefined),

    start(opts: { concurrency: number }) {
      const w1 = jobs.work<FanoutPayload>(FANOUT_QUEUE, fanout, { concurrency: 2, leaseMs: 120_000 });
      const w2 = jobs.work<DeliveryPayload>(DELIVERY_QUEUE, deliver, { concurrency: opts.concurrency, leaseMs: 60_000 });
      return { stop: () => Promise.all([w1.stop(), w2.stop()]).then(() => undefined) };
    },

    async subscribe(input: SubscriptionInput, actor: Actor): Promise<SubscriptionDto> {
      const sub = toNew(input, actor);
      return db.tx(async () => {
        if (sub.user_id && (await store.subscriptionsOf(sub.user_id)).length >= MAX_PER_USER)
          throw badRequest(`At most ${MAX_PER_USER} subscriptions per person; remove one first.`);
        if (sub.channel === "webpush") await store.deletePushEndpoint(String(sub.target.endpoint));
        const [row] = await store.insertSubscriptions([sub]);
        await deps.audit.record({
          action: "alert.subscribe",
          targetType: "alert-subscription",
          targetId: row.id,
          details: { channel: row.channel, communes: row.communes.length },
        });
        return toSubscriptionDto(row);
      });
    },

    /** Many system subscriptions at once (an SMS gateway's recipients, a migration). */
    async subscribeMany(inputs: SubscriptionInput[], actor: Actor): Promise<number> {
      const subs = inputs.map((i, k) => {
        try {
          return toNew(i, actor);
        } catch (err) {
          throw badRequest(`subscriptions[${k}]: ${(err as Error).message}`);
        }
      });
      return db.tx(async () => {
        let n = 0;
        for (let i = 0; i < subs.length; i += 2000) n += (await store.insertSubscriptions(subs.slice(i, i + 2000))).length;
        await deps.audit.record({ action: "alert.subscribe.bulk", targetType: "alert-subscription", details: { count: n } });
        return n;
      });
    },

    mine: async (actor: Actor) => (actor.type === "user" && actor.id ? (await store.subscriptionsOf(actor.id)).map(toSubscriptionDto) : []),
    list: async (f: { channel?: string; limit: number; offset: number }) => (await store.listSubscriptions(f)).map(toSubscriptionDto),

    async unsubscribe(id: string, actor: Actor): Promise<void> {
      const s = /^[0-9a-f-]{36}$/i.test(id) ? await store.getSubscription(id) : undefined;
      const own = s && actor.type === "user" && s.user_id === actor.id;
      if (!s || !(own || actor.permissions.has("alerts:manage"))) throw notFound("No such subscription, or you have no access to it.");
      await db.tx(async () => {
        await store.deleteSubscription(id);
        await deps.audit.record({ action: "alert.unsubscribe", targetType: "alert-subscription", targetId: id });
      });
    },

    /** How far the delivery of a message has come. */
    async progress(alertId: string) {
      const [f, counts, recent] = await Promise.all([store.fanout(alertId), store.deliveryCounts(alertId), store.recentDeliveries(alertId, 50)]);
      const by: Record<string, { sent: number; failed: number }> = {};
      let sent = 0;
      let failed = 0;
      for (const c of counts) {
        by[c.channel] ??= { sent: 0, failed: 0 };
        by[c.channel][c.status as "sent" | "failed"] += c.n;
        if (c.status === "sent") sent += c.n;
        else failed += c.n;
      }
      return {
        matched: f?.matched ?? 0,
        fanoutDone: Boolean(f?.enqueued_at),
        sent,
        failed,
        pending: Math.max(0, (f?.matched ?? 0) - sent - failed),
        byChannel: by,
        recent: recent.map((r) => ({
          subscriptionId: r.subscription_id,
          deliveryId: r.delivery_id,
          channel: r.channel,
          status: r.status,
          attempts: r.attempts,
          detail: r.detail,
          at: new Date(r.at).toISOString(),
        })),
      };
    },
  };
}

export type DeliveryService = ReturnType<typeof deliveryService>;
