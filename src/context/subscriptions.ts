// NGSI-LD subscriptions: CRUD, matching every committed change against the active
// subscriptions (entities, watchedAttributes, q, geoQ, throttling), periodic notifications
// (timeInterval), and delivery through the durable job queue over HTTP or MQTT with retries and
// status fields. The notification body is rendered in the transaction of the change, so what a
// subscriber receives is the entity as that change left it.
import { randomUUID } from "node:crypto";
import type { Geometry } from "geojson";
import type { MqttClient } from "mqtt";
import type { AuditService } from "../core/audit/service.ts";
import type { Actor } from "../core/context.ts";
import type { Db } from "../core/db.ts";
import type { EventBus } from "../core/events/bus.ts";
import { type Job, type JobQueue, PermanentJobError } from "../core/jobs/queue.ts";
import { type Format, type StoredEntity, geometryOf, isUri, renderEntity } from "./entity.ts";
import { alreadyExists, badRequestData, notFound } from "./errors.ts";
import { type GeoQuery, geoMatches, parseGeoQuery } from "./geo.ts";
import { type ActiveContext, CORE_CONTEXT_URL, compact, expand, linkHeader } from "./jsonld.ts";
import { type QNode, checkRegex, evalQ, normalizeDateTime, parseQ } from "./q.ts";
import type { Change, ContextService } from "./service.ts";
import type { ContextStore, NotificationTally, SubscriptionRow } from "./store.ts";

export const NOTIFY_QUEUE = "context.notify";
const MAX_SUBSCRIPTIONS_PER_TENANT = 10_000;

interface EntitySelector {
  id?: string;
  idPattern?: string;
  type: string;
}

/** A subscription as kept in memory for matching. */
interface Active {
  tenant: string;
  id: string;
  ctx: ActiveContext;
  entities: Array<{ id?: string; idPattern?: RegExp; type: string }>;
  watched?: Set<string>;
  q?: QNode;
  geo?: { q: GeoQuery; iri: string };
  throttling: number | null;
  expiresAt: number | null;
  notification: StoredNotification;
  onDelete: boolean;
  /** Notifies every timeInterval seconds (instead of on change). */
  periodic: boolean;
}

interface StoredNotification {
  attributes?: string[];
  format: Format;
  sysAttrs: boolean;
  endpoint: {
    uri: string;
    accept: "application/json" | "application/ld+json";
    receiverInfo?: Array<{ key: string; value: string }>;
    notifierInfo?: Array<{ key: string; value: string }>;
  };
}

export interface NotifyPayload {
  tenant: string;
  subscriptionId: string;
  endpoint: StoredNotification["endpoint"];
  /** The @context to send (ld+json) or link (json). */
  context: unknown[];
  data: unknown[];
  triggeredAt: number;
}

export interface SubscriptionDeps {
  db: Db;
  audit: AuditService;
  bus: EventBus;
  jobs: JobQueue;
  store: ContextStore;
  service: () => ContextService;
  logger?: { warn(obj: object, msg: string): void };
}

const asArray = (v: unknown, what: string): unknown[] => {
  if (!Array.isArray(v)) throw badRequestData(`${what} must be an array.`);
  return v;
};

export function subscriptionService(deps: SubscriptionDeps) {
  const { db, audit, bus, jobs, store } = deps;
  let active: Active[] = [];
  let byTenant = new Map<string, Active[]>();
  /** Observers of delivered notifications in this process (the benchmark measures latency). */
  const delivered = new Set<(p: NotifyPayload, ok: boolean) => void>();

  function compile(row: SubscriptionRow): Active | undefined {
    try {
      const b = row.body as Record<string, unknown>;
      const ctx = deps.service().resolve(row.ld_context.length ? row.ld_context : undefined);
      const ents = (b.entities as EntitySelector[] | undefined) ?? [];
      return {
        tenant: row.tenant,
        id: row.id,
        ctx,
        entities: ents.map((e) => ({ id: e.id, idPattern: e.idPattern ? new RegExp(e.idPattern) : undefined, type: e.type })),
        watched: b.watchedAttributes ? new Set(b.watchedAttributes as string[]) : undefined,
        q: typeof b.q === "string" ? parseQ(b.q) : undefined,
        geo: b.geoQ
          ? (() => {
              const g = parseGeoQuery(b.geoQ as Record<string, unknown>) as GeoQuery;
              return { q: g, iri: expand(ctx, g.geoproperty) };
            })()
          : undefined,
        throttling: row.throttling,
        expiresAt: row.expires_at ? new Date(row.expires_at).getTime() : null,
        notification: b.notification as StoredNotification,
        onDelete: Array.isArray(b.notificationTrigger) && (b.notificationTrigger as string[]).includes("entityDeleted"),
        periodic: row.time_interval !== null,
      };
    } catch (err) {
      deps.logger?.warn({ err, subscription: row.id }, "subscription cannot be compiled; it is skipped");
      return undefined;
    }
  }

  async function load(): Promise<void> {
    const rows = await store.allActiveSubscriptions();
    active = rows.map(compile).filter((x): x is Active => x !== undefined);
    byTenant = new Map();
    for (const a of active) byTenant.set(a.tenant, [...(byTenant.get(a.tenant) ?? []), a]);
  }

  function selects(a: Active, e: StoredEntity): boolean {
    if (!a.entities.length) return true;
    return a.entities.some((s) => e.types.includes(s.type) && (s.id === undefined || s.id === e.id) && (!s.idPattern || s.idPattern.test(e.id)));
  }

  function render(a: Active, e: StoredEntity): Record<string, unknown> {
    const keep = a.notification.attributes ? new Set(a.notification.attributes) : undefined;
    return renderEntity(e, a.ctx, { format: a.notification.format, sysAttrs: a.notification.sysAttrs, keep });
  }

  function payload(a: Active, data: unknown[]): NotifyPayload {
    return { tenant: a.tenant, subscriptionId: a.id, endpoint: a.notification.endpoint, context: a.ctx.source, data, triggeredAt: Date.now() };
  }

  /** In the transaction of a write: enqueue the notifications it triggers. */
  async function onChanges(tenant: string, changes: Change[]): Promise<void> {
    const subs = byTenant.get(tenant);
    if (!subs?.length) return;
    const now = Date.now();
    const batches: Array<{ payload: NotifyPayload; key: string }> = [];
    for (const a of subs) {
      if (a.expiresAt !== null && a.expiresAt <= now) continue;
      const data: unknown[] = [];
      for (const c of changes) {
        const e = c.after ?? c.before;
        if (!e || !selects(a, e)) continue;
        if (!c.after) {
          if (a.onDelete) data.push({ id: e.id, type: e.types.map((t) => compact(a.ctx, t))[0], deletedAt: new Date(now).toISOString() });
          continue;
        }
        if (a.watched && ![...c.attrs].some((x) => a.watched?.has(x))) continue;
        if (a.q && !evalQ(a.q, c.after.attrs, (n) => expand(a.ctx, n))) continue;
        if (a.geo) {
          const g = geometryOf(c.after, a.geo.iri);
          if (!g || !geoMatches(a.geo.q, g as Geometry)) continue;
        }
        data.push(render(a, c.after));
      }
      if (!data.length) continue;
      if (a.throttling && !(await store.claimThrottle(a.tenant, a.id))) continue;
      batches.push({ payload: payload(a, data), key: `${a.tenant}|${a.id}|${randomUUID()}` });
    }
    if (batches.length === 1) await jobs.enqueue(NOTIFY_QUEUE, batches[0].payload, { key: batches[0].key, maxAttempts: 10 });
    else if (batches.length) await jobs.enqueueMany(NOTIFY_QUEUE, batches, { maxAttempts: 10 });
  }

  // ---------------------------------------------------------------- delivery

  const mqttClients = new Map<string, Promise<MqttClient>>();

  async function sendMqtt(p: NotifyPayload, body: string): Promise<void> {
    const u = new URL(p.endpoint.uri);
    const origin = `${u.protocol}//${u.username ? `${u.username}:${u.password}@` : ""}${u.host}`;
    let client = mqttClients.get(origin);
    if (!client) {
      client = import("mqtt").then(({ default: mqtt }) => mqtt.connectAsync(origin, { reconnectPeriod: 0, connectTimeout: 5000 }));
      mqttClients.set(origin, client);
    }
    let c: MqttClient;
    try {
      c = await client;
    } catch (err) {
      mqttClients.delete(origin);
      throw err;
    }
    if (!c.connected) {
      mqttClients.delete(origin);
      c.end(true);
      throw new Error(`MQTT broker ${u.host} disconnected`);
    }
    const qos = Number(p.endpoint.notifierInfo?.find((x) => x.key === "MQTT-QoS")?.value ?? 0) === 1 ? 1 : 0;
    const topic = decodeURIComponent(u.pathname.replace(/^\//, ""));
    // NGSI-LD MQTT binding: the message carries metadata (headers) and body.
    const message = JSON.stringify({
      metadata: { "Content-Type": p.endpoint.accept, ...(p.endpoint.accept === "application/json" ? { Link: linkHeader(linkOf(p)) } : {}) },
      body: JSON.parse(body),
    });
    await c.publishAsync(topic, message, { qos });
  }

  // Status fields are counted in memory and written a few times a second: one UPDATE per
  // subscription and flush instead of one per notification (they would all hit the same row).
  const tallies = new Map<string, NotificationTally>();
  let tallyTimer: NodeJS.Timeout | undefined;
  function record(p: NotifyPayload, ok: boolean, error: string | null) {
    const key = `${p.tenant}|${p.subscriptionId}`;
    const t = tallies.get(key) ?? { tenant: p.tenant, id: p.subscriptionId, sent: 0, failed: 0, errorsSinceOk: 0, sawOk: false, error: null };
    t.sent++;
    if (ok) {
      t.lastSuccess = new Date();
      t.errorsSinceOk = 0;
      t.sawOk = true;
    } else {
      t.failed++;
      t.lastFailure = new Date();
      t.errorsSinceOk++;
      t.error = error;
    }
    tallies.set(key, t);
    tallyTimer ??= setTimeout(() => void flushTallies(), 200);
  }
  async function flushTallies(): Promise<void> {
    tallyTimer = undefined;
    const list = [...tallies.values()];
    tallies.clear();
    for (const t of list) await store.recordNotifications(t).catch((err) => deps.logger?.warn({ err }, "subscription status update failed"));
  }

  const linkOf = (p: NotifyPayload) => (typeof p.context[0] === "string" ? (p.context[0] as string) : CORE_CONTEXT_URL);

  async function deliver(job: Job<NotifyPayload>): Promise<{ status: number } | { mqtt: true }> {
    const p = job.payload;
    const ld = p.endpoint.accept === "application/ld+json";
    const notification = {
      id: `urn:ngsi-ld:Notification:${job.key?.split("|")[2] ?? job.id}`,
      type: "Notification",
      subscriptionId: p.subscriptionId,
      notifiedAt: new Date().toISOString(),
      data: ld ? p.data.map((d) => ({ ...(d as object), "@context": p.context.length ? p.context : CORE_CONTEXT_URL })) : p.data,
      ...(ld ? { "@context": p.context.length ? p.context : CORE_CONTEXT_URL } : {}),
    };
    const body = JSON.stringify(notification);
    try {
      if (p.endpoint.uri.startsWith("mqtt")) {
        await sendMqtt(p, body);
        record(p, true, null);
        for (const l of delivered) l(p, true);
        return { mqtt: true };
      }
      const headers: Record<string, string> = {
        "content-type": p.endpoint.accept,
        "user-agent": "Sen-NGSI-LD/1",
        "idempotency-key": notification.id,
        ...(p.tenant ? { "ngsild-tenant": p.tenant } : {}),
        ...(ld ? {} : { link: linkHeader(linkOf(p)) }),
      };
      for (const r of p.endpoint.receiverInfo ?? []) headers[r.key.toLowerCase()] = r.value;
      let res: Response;
      try {
        res = await fetch(p.endpoint.uri, { method: "POST", headers, body, redirect: "error", signal: AbortSignal.timeout(10_000) });
      } catch (err) {
        throw new Error(`${p.endpoint.uri} unreachable: ${(err as Error).message}`);
      }
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) {
        const msg = `${p.endpoint.uri} answered ${res.status}`;
        throw res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429 ? new PermanentJobError(msg) : new Error(msg);
      }
      record(p, true, null);
      for (const l of delivered) l(p, true);
      return { status: res.status };
    } catch (err) {
      record(p, false, (err as Error).message.slice(0, 500));
      for (const l of delivered) l(p, false);
      throw err;
    }
  }

  /** Periodic notifications: claim due subscriptions and send what matches now. */
  async function tickIntervals(): Promise<void> {
    // Every node loads every change to subscriptions: with no periodic one, nothing to ask.
    if (!active.some((a) => a.periodic)) return;
    const due = await store.claimIntervals();
    for (const row of due) {
      const a = compile(row);
      if (!a) continue;
      const svc = deps.service();
      const types = a.entities.length ? a.entities.map((e) => e.type) : undefined;
      const found = await svc.store.query({ tenant: a.tenant, types }, 1000, 0);
      const data = found
        .filter((e) => selects(a, e) && (!a.q || evalQ(a.q, e.attrs, (n) => expand(a.ctx, n))))
        .filter((e) => {
          if (!a.geo) return true;
          const g = geometryOf(e, a.geo.iri);
          return !!g && geoMatches(a.geo.q, g as Geometry);
        })
        .map((e) => render(a, e));
      if (data.length) await jobs.enqueue(NOTIFY_QUEUE, payload(a, data), { key: `${a.tenant}|${a.id}|${randomUUID()}`, maxAttempts: 3 });
    }
  }

  // ---------------------------------------------------------------- CRUD

  function parseBody(raw: unknown, ctx: ActiveContext, partial: Record<string, unknown> | undefined): Record<string, unknown> {
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw badRequestData("A subscription is a JSON object.");
    const input = raw as Record<string, unknown>;
    const known = new Set([
      "id",
      "type",
      "@context",
      "subscriptionName",
      "description",
      "entities",
      "watchedAttributes",
      "notificationTrigger",
      "q",
      "geoQ",
      "notification",
      "throttling",
      "timeInterval",
      "expiresAt",
      "isActive",
      "lang",
      "status",
    ]);
    for (const k of Object.keys(input)) if (!known.has(k)) throw badRequestData(`Unknown subscription member "${k.slice(0, 60)}".`);
    const b: Record<string, unknown> = { ...(partial ?? {}) };
    if (!partial && input.type !== "Subscription") throw badRequestData('A subscription has "type": "Subscription".');
    for (const k of ["subscriptionName", "description"])
      if (input[k] !== undefined) {
        if (typeof input[k] !== "string" || (input[k] as string).length > 1000) throw badRequestData(`${k} must be a text of at most 1000 characters.`);
        b[k] = input[k];
      }
    if (input.entities !== undefined) {
      const list = asArray(input.entities, "entities");
      if (list.length > 100) throw badRequestData("At most 100 entity selectors.");
      b.entities = list.map((s) => {
        const e = s as Record<string, unknown>;
        if (!e || typeof e !== "object" || typeof e.type !== "string") throw badRequestData("Each entities selector needs a type.");
        if (e.id !== undefined && !isUri(e.id)) throw badRequestData("entities[].id must be a URI.");
        if (e.idPattern !== undefined) {
          if (typeof e.idPattern !== "string") throw badRequestData("idPattern must be a string.");
          checkRegex(e.idPattern);
        }
        return { type: expand(ctx, e.type), ...(e.id ? { id: e.id } : {}), ...(e.idPattern ? { idPattern: e.idPattern } : {}) };
      });
    }
    if (input.watchedAttributes !== undefined) {
      const list = asArray(input.watchedAttributes, "watchedAttributes");
      if (!list.length || list.length > 100 || !list.every((x) => typeof x === "string"))
        throw badRequestData("watchedAttributes is a non-empty list of attribute names.");
      b.watchedAttributes = (list as string[]).map((n) => expand(ctx, n));
    }
    if (input.notificationTrigger !== undefined) {
      const ok = ["entityCreated", "entityUpdated", "entityDeleted", "attributeCreated", "attributeUpdated", "attributeDeleted"];
      const list = asArray(input.notificationTrigger, "notificationTrigger");
      if (!list.every((x) => ok.includes(x as string))) throw badRequestData(`notificationTrigger values: ${ok.join(", ")}.`);
      b.notificationTrigger = list;
    }
    if (input.q !== undefined) {
      if (typeof input.q !== "string") throw badRequestData("q must be a string.");
      parseQ(input.q);
      b.q = input.q;
    }
    if (input.geoQ !== undefined) {
      const g = input.geoQ as Record<string, unknown>;
      if (!g || typeof g !== "object") throw badRequestData("geoQ must be an object.");
      const coords = typeof g.coordinates === "string" ? g.coordinates : JSON.stringify(g.coordinates);
      const parsed = parseGeoQuery({ georel: g.georel, geometry: g.geometry, coordinates: coords, geoproperty: g.geoproperty });
      if (!parsed) throw badRequestData("geoQ needs georel, geometry and coordinates.");
      b.geoQ = { georel: g.georel, geometry: g.geometry, coordinates: coords, geoproperty: parsed.geoproperty };
    }
    if (input.notification !== undefined) {
      const n = input.notification as Record<string, unknown>;
      if (!n || typeof n !== "object") throw badRequestData("notification must be an object.");
      const ep = n.endpoint as Record<string, unknown>;
      if (!ep || typeof ep !== "object" || typeof ep.uri !== "string") throw badRequestData("notification.endpoint.uri is required.");
      let u: URL;
      try {
        u = new URL(ep.uri);
      } catch {
        throw badRequestData("notification.endpoint.uri must be an absolute URL.");
      }
      if (!["http:", "https:", "mqtt:", "mqtts:"].includes(u.protocol) || ep.uri.length > 2000)
        throw badRequestData("notification.endpoint.uri must be http(s):// or mqtt(s)://.");
      if (u.protocol.startsWith("mqtt") && u.pathname.length < 2) throw badRequestData("An MQTT endpoint names its topic: mqtt://host:1883/topic.");
      const accept = ep.accept ?? "application/json";
      if (accept !== "application/json" && accept !== "application/ld+json")
        throw badRequestData("endpoint.accept is application/json or application/ld+json.");
      const kv = (v: unknown, what: string) => {
        if (v === undefined) return undefined;
        const list = asArray(v, what);
        if (
          list.length > 20 ||
          !list.every((x) => x && typeof (x as { key?: unknown }).key === "string" && typeof (x as { value?: unknown }).value === "string")
        )
          throw badRequestData(`${what} is a list of {key, value} strings.`);
        for (const x of list as Array<{ key: string; value: string }>)
          if (!/^[A-Za-z0-9-]{1,64}$/.test(x.key) || /[\r\n]/.test(x.value)) throw badRequestData(`${what}: invalid header ${x.key.slice(0, 40)}.`);
        return list as Array<{ key: string; value: string }>;
      };
      const fmt = n.format ?? "normalized";
      if (!["normalized", "concise", "keyValues"].includes(fmt as string)) throw badRequestData("notification.format is normalized, concise or keyValues.");
      let attributes: string[] | undefined;
      if (n.attributes !== undefined) {
        const list = asArray(n.attributes, "notification.attributes");
        if (!list.every((x) => typeof x === "string")) throw badRequestData("notification.attributes is a list of names.");
        attributes = (list as string[]).map((x) => expand(ctx, x));
      }
      const stored: StoredNotification = {
        format: fmt as Format,
        sysAttrs: n.sysAttrs === true,
        endpoint: { uri: ep.uri, accept, receiverInfo: kv(ep.receiverInfo, "receiverInfo"), notifierInfo: kv(ep.notifierInfo, "notifierInfo") },
        ...(attributes ? { attributes } : {}),
      };
      b.notification = stored;
    }
    if (!b.notification) throw badRequestData("A subscription needs notification.endpoint.");
    for (const k of ["throttling", "timeInterval"] as const)
      if (input[k] !== undefined) {
        if (typeof input[k] !== "number" || !((input[k] as number) > 0) || (input[k] as number) > 31_536_000)
          throw badRequestData(`${k} is a positive number of seconds.`);
        b[k] = input[k];
      }
    if (b.timeInterval !== undefined && b.watchedAttributes !== undefined) throw badRequestData("timeInterval and watchedAttributes exclude each other.");
    if (b.timeInterval !== undefined && b.throttling !== undefined) throw badRequestData("timeInterval and throttling exclude each other.");
    if (b.timeInterval !== undefined && (b.timeInterval as number) < 1) throw badRequestData("timeInterval is at least 1 second.");
    if (!b.entities && !b.watchedAttributes && b.timeInterval === undefined) throw badRequestData("A subscription needs entities or watchedAttributes.");
    if (input.expiresAt !== undefined) {
      const t = typeof input.expiresAt === "string" ? normalizeDateTime(input.expiresAt) : undefined;
      if (!t) throw badRequestData("expiresAt must be an ISO 8601 date-time.");
      if (!partial && new Date(t).getTime() <= Date.now()) throw badRequestData("expiresAt is in the past.");
      b.expiresAt = t;
    }
    if (input.isActive !== undefined) {
      if (typeof input.isActive !== "boolean") throw badRequestData("isActive is true or false.");
      b.isActive = input.isActive;
    }
    if (input.lang !== undefined) b.lang = String(input.lang).slice(0, 50);
    return b;
  }

  function present(row: SubscriptionRow, ctx: ActiveContext) {
    const b = row.body as Record<string, unknown>;
    const n = b.notification as StoredNotification;
    const expired = row.expires_at !== null && new Date(row.expires_at).getTime() <= Date.now();
    const iso = (d: Date | null) => (d ? new Date(d).toISOString() : undefined);
    const out: Record<string, unknown> = {
      id: row.id,
      type: "Subscription",
      ...(b.subscriptionName ? { subscriptionName: b.subscriptionName } : {}),
      ...(b.description ? { description: b.description } : {}),
      ...(b.entities
        ? {
            entities: (b.entities as EntitySelector[]).map((e) => ({
              ...(e.id ? { id: e.id } : {}),
              ...(e.idPattern ? { idPattern: e.idPattern } : {}),
              type: compact(ctx, e.type),
            })),
          }
        : {}),
      ...(b.watchedAttributes ? { watchedAttributes: (b.watchedAttributes as string[]).map((x) => compact(ctx, x)) } : {}),
      ...(b.notificationTrigger ? { notificationTrigger: b.notificationTrigger } : {}),
      ...(b.q ? { q: b.q } : {}),
      ...(b.geoQ ? { geoQ: { ...(b.geoQ as object), coordinates: JSON.parse((b.geoQ as { coordinates: string }).coordinates) } } : {}),
      ...(row.throttling ? { throttling: row.throttling } : {}),
      ...(row.time_interval ? { timeInterval: row.time_interval } : {}),
      ...(row.expires_at ? { expiresAt: iso(row.expires_at) } : {}),
      isActive: row.is_active,
      status: expired ? "expired" : row.is_active ? "active" : "paused",
      notification: {
        ...(n.attributes ? { attributes: n.attributes.map((x) => compact(ctx, x)) } : {}),
        format: n.format,
        ...(n.sysAttrs ? { sysAttrs: true } : {}),
        endpoint: {
          uri: n.endpoint.uri,
          accept: n.endpoint.accept,
          ...(n.endpoint.receiverInfo ? { receiverInfo: n.endpoint.receiverInfo } : {}),
          ...(n.endpoint.notifierInfo ? { notifierInfo: n.endpoint.notifierInfo } : {}),
        },
        status: row.consecutive_errors > 0 ? "failed" : "ok",
        timesSent: Number(row.times_sent),
        timesFailed: Number(row.times_failed),
        ...(row.last_notification ? { lastNotification: iso(row.last_notification) } : {}),
        ...(row.last_success ? { lastSuccess: iso(row.last_success) } : {}),
        ...(row.last_failure ? { lastFailure: iso(row.last_failure) } : {}),
        consecutiveErrors: row.consecutive_errors,
        ...(row.last_error ? { lastErrorReason: row.last_error } : {}),
      },
      createdAt: iso(row.created_at),
      modifiedAt: iso(row.modified_at),
    };
    return out;
  }

  const changed = () => bus.publish("context.config", { what: "subscriptions" }, "staff");

  return {
    load,
    onChanges,
    deliver,
    tickIntervals,
    present,
    onDelivered(l: (p: NotifyPayload, ok: boolean) => void) {
      delivered.add(l);
      return () => delivered.delete(l);
    },
    activeCount: () => active.length,
    flushStatus: async () => {
      if (tallyTimer) clearTimeout(tallyTimer);
      await flushTallies();
    },
    closeMqtt: async () => {
      for (const c of mqttClients.values()) await c.then((x) => x.endAsync()).catch(() => undefined);
      mqttClients.clear();
    },

    async create(actor: Actor, tenant: string, raw: unknown, ctx: ActiveContext): Promise<string> {
      const b = parseBody(raw, ctx, undefined);
      const input = raw as Record<string, unknown>;
      if (input.id !== undefined && !isUri(input.id)) throw badRequestData("A subscription id must be a URI.");
      const id = (input.id as string | undefined) ?? `urn:ngsi-ld:Subscription:${randomUUID()}`;
      if ((await store.countSubscriptions(tenant)) >= MAX_SUBSCRIPTIONS_PER_TENANT)
        throw badRequestData(`A tenant may have at most ${MAX_SUBSCRIPTIONS_PER_TENANT} subscriptions.`);
      await db.tx(async () => {
        const row = await store.insertSubscription({
          tenant,
          id,
          body: b,
          ldContext: ctx.source,
          isActive: (b.isActive as boolean | undefined) ?? true,
          expiresAt: (b.expiresAt as string | undefined) ?? null,
          throttling: (b.throttling as number | undefined) ?? null,
          timeInterval: (b.timeInterval as number | undefined) ?? null,
          ownerType: actor.type,
          ownerId: actor.id ?? null,
          ownerAgency: actor.agency ?? null,
        });
        if (!row) throw alreadyExists(`Subscription ${id} already exists.`);
        await audit.record({
          action: "context.subscription.create",
          targetType: "ngsi-ld-subscription",
          targetId: id,
          details: { tenant, endpoint: (b.notification as StoredNotification).endpoint.uri },
        });
        await changed();
      });
      await load();
      return id;
    },

    async get(tenant: string, id: string, ctx: ActiveContext) {
      const row = await store.getSubscription(tenant, id);
      if (!row) throw notFound(`Subscription ${id} not found.`);
      return present(row, ctx);
    },

    async list(tenant: string, ctx: ActiveContext, limit: number, offset: number) {
      const rows = await store.listSubscriptions(tenant, limit, offset);
      return { items: rows.map((r) => present(r, ctx)), count: await store.countSubscriptions(tenant) };
    },

    async update(tenant: string, id: string, raw: unknown, ctx: ActiveContext): Promise<void> {
      await db.tx(async () => {
        const row = await store.getSubscription(tenant, id);
        if (!row) throw notFound(`Subscription ${id} not found.`);
        if ((raw as { id?: unknown })?.id !== undefined && (raw as { id?: unknown }).id !== id) throw badRequestData("The id cannot change.");
        const b = parseBody(raw, ctx, row.body);
        const input = raw as Record<string, unknown>;
        await store.updateSubscription(tenant, id, {
          body: b,
          ldContext: input["@context"] !== undefined || ctx.source.length ? ctx.source : row.ld_context,
          isActive: (b.isActive as boolean | undefined) ?? row.is_active,
          expiresAt: (b.expiresAt as string | undefined) ?? (row.expires_at ? new Date(row.expires_at).toISOString() : null),
          throttling: (b.throttling as number | undefined) ?? null,
          timeInterval: (b.timeInterval as number | undefined) ?? null,
        });
        await audit.record({
          action: "context.subscription.update",
          targetType: "ngsi-ld-subscription",
          targetId: id,
          details: { tenant, changed: Object.keys(input) },
        });
        await changed();
      });
      await load();
    },

    async remove(tenant: string, id: string): Promise<void> {
      await db.tx(async () => {
        if (!(await store.deleteSubscription(tenant, id))) throw notFound(`Subscription ${id} not found.`);
        await audit.record({ action: "context.subscription.delete", targetType: "ngsi-ld-subscription", targetId: id, details: { tenant } });
        await changed();
      });
      await load();
    },
  };
}

export type SubscriptionService = ReturnType<typeof subscriptionService>;
