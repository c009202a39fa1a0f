// IoT devices as NGSI-LD entities. Each device is projected into the entity table as an entity
// of its profile's Smart Data Models type (urn:ngsi-ld:WaterLevelObserved:wl-tan-chau), with its
// latest values as Properties carrying observedAt and unitCode. The projection is refreshed from
// iot's committed-points hook (coalesced, at most every REFRESH_MS) and on device changes, so q,
// geo-queries and subscriptions treat stations like any other entity. Their history is the
// telemetry store.
import type { CachedDevice, IotService } from "../iot/index.ts";
import type { Db } from "../core/db.ts";
import type { Attrs, Instance, StoredEntity } from "./entity.ts";
import { CORE, expand } from "./jsonld.ts";
import type { Change, ContextService } from "./service.ts";

/** UN/CEFACT common codes for the units device profiles use. */
const UNIT_CODES: Record<string, string> = {
  m: "MTR",
  cm: "CMT",
  mm: "MMT",
  "%": "P1",
  "°C": "CEL",
  "µg/m³": "GQ",
  "mg/L": "M1",
  "mg/l": "M1",
  "km/h": "KMH",
  "m/s": "MTS",
  "m³/s": "MQS",
  hPa: "A97",
  V: "VLT",
  W: "WTT",
  kWh: "KWH",
  lx: "LUX",
  lux: "LUX",
  ppm: "59",
  "µS/cm": "G42",
};

export const DEVICE_PREFIX = "urn:ngsi-ld:Device:";
const REF_DEVICE = expand(CORE, "refDevice");

export function deviceEntityId(d: CachedDevice): string {
  return `urn:ngsi-ld:${d.profile.type}:${d.row.id}`;
}

/** The device id behind a projected entity (from its refDevice relationship). */
export function deviceIdOf(e: StoredEntity): string | undefined {
  if (e.origin !== "iot") return undefined;
  const obj = e.attrs[REF_DEVICE]?.[0]?.object;
  return typeof obj === "string" && obj.startsWith(DEVICE_PREFIX) ? obj.slice(DEVICE_PREFIX.length) : undefined;
}

export function buildDeviceEntity(d: CachedDevice, before: StoredEntity | undefined, at: string): StoredEntity {
  const keep = (iri: string, inst: Instance): Instance => {
    const old = before?.attrs[iri]?.[0];
    const same = old && JSON.stringify({ ...old, createdAt: 0, modifiedAt: 0 }) === JSON.stringify({ ...inst, createdAt: 0, modifiedAt: 0 });
    return { ...inst, createdAt: old?.createdAt ?? at, modifiedAt: same ? (old?.modifiedAt ?? at) : at };
  };
  const attrs: Attrs = {};
  const put = (name: string, inst: Instance) => {
    const iri = expand(CORE, name);
    attrs[iri] = [keep(iri, inst)];
  };
  put("name", { type: "Property", value: d.row.name });
  if (d.row.lat !== null && d.row.lon !== null) put("location", { type: "GeoProperty", value: { type: "Point", coordinates: [d.row.lon, d.row.lat] } });
  put("refDevice", { type: "Relationship", object: `${DEVICE_PREFIX}${d.row.id}` });
  if (d.row.agency_code) put("dataProvider", { type: "Property", value: d.row.agency_code });
  if (d.row.commune_code) put("areaServed", { type: "Property", value: d.row.commune_code });
  for (const [key, v] of d.latest) {
    if (!/^[A-Za-z0-9_]{1,100}$/.test(key) || key === "name" || key === "location" || key === "refDevice") continue;
    const unit = d.profile.keys?.[key]?.unit;
    const inst: Instance = { type: "Property", value: v.value, observedAt: new Date(v.ts).toISOString() };
    if (unit && UNIT_CODES[unit]) inst.unitCode = UNIT_CODES[unit];
    put(key, inst);
  }
  return {
    id: deviceEntityId(d),
    types: [expand(CORE, d.profile.type)],
    attrs,
    createdAt: before?.createdAt ?? at,
    modifiedAt: at,
    origin: "iot",
  };
}

/**
 * Device entities are refreshed at most this often. Under heavy ingest one write then covers
 * many telemetry batches (each entity write is several statements and a history row); a quiet
 * station's entity is still refreshed at once.
 */
const REFRESH_MS = 500;

export function deviceProjection(deps: { db: Db; iot: IotService; service: ContextService; logger?: { warn(o: object, m: string): void } }) {
  const { db, iot, service } = deps;
  const pending = new Map<string, Set<string>>();
  let timer: NodeJS.Timeout | undefined;
  let lastFlush = 0;
  let running: Promise<void> = Promise.resolve();

  async function write(devices: CachedDevice[], touched: (d: CachedDevice, e: StoredEntity) => Set<string>): Promise<void> {
    if (!devices.length) return;
    const at = new Date().toISOString();
    await db.tx(async () => {
      const ids = devices.map(deviceEntityId);
      const current = await service.lockedById("", ids);
      const changes: Change[] = [];
      for (const d of devices) {
        const before = current.get(deviceEntityId(d));
        if (before && before.origin !== "iot") continue; // an API entity has that id: leave it alone
        const after = buildDeviceEntity(d, before, at);
        changes.push({ before, after, attrs: touched(d, after) });
      }
      await service.commit("", changes, at);
    });
  }

  function flush() {
    clearTimeout(timer);
    timer = undefined;
    lastFlush = Date.now();
    const batch = new Map(pending);
    pending.clear();
    running = running
      .then(() =>
        write(
          [...batch.keys()].map((id) => iot.byDeviceId(id)).filter((d): d is CachedDevice => d !== undefined),
          (d) => new Set([...(batch.get(d.row.id) ?? [])].map((k) => expand(CORE, k))),
        ),
      )
      .catch((err) => deps.logger?.warn({ err }, "device entities could not be updated"));
  }

  return {
    /** iot's committed-points hook: coalesce the devices of one batch into one write. */
    onPoints(deviceId: string, keys: string[]) {
      const set = pending.get(deviceId) ?? new Set();
      for (const k of keys) set.add(k);
      pending.set(deviceId, set);
      if (!timer) timer = setTimeout(flush, Math.max(0, lastFlush + REFRESH_MS - Date.now()));
    },
    /** Project every device (start-up) and drop projections of devices that are gone. */
    async syncAll(): Promise<void> {
      const devices = iot.all();
      for (let i = 0; i < devices.length; i += 500) await write(devices.slice(i, i + 500), (_d, e) => new Set(Object.keys(e.attrs)));
      const ids = new Set(devices.map(deviceEntityId));
      const stale = (await db.query<{ id: string }>("SELECT id FROM context.entities WHERE tenant = '' AND origin = 'iot'")).filter((r) => !ids.has(r.id));
      if (stale.length)
        await db.tx(async () => {
          const gone = await service.store.getMany(
            "",
            stale.map((r) => r.id),
            true,
          );
          await service.commit(
            "",
            gone.map((e) => ({ before: e, after: null, attrs: new Set(Object.keys(e.attrs)) })),
            new Date().toISOString(),
          );
        });
    },
    async syncDevice(id: string): Promise<void> {
      const d = iot.byDeviceId(id);
      if (d) return write([d], (_d, e) => new Set(Object.keys(e.attrs)));
      const gone = (
        await db.query<{ id: string }>("SELECT id FROM context.entities WHERE tenant = '' AND origin = 'iot' AND id LIKE $1", [
          `%:${id.replace(/[%_\\]/g, "\\$&")}`,
        ])
      ).map((r) => r.id);
      if (!gone.length) return;
      await db.tx(async () => {
        const list = (await service.store.getMany("", gone, true)).filter((e) => e.id.endsWith(`:${id}`));
        await service.commit(
          "",
          list.map((e) => ({ before: e, after: null, attrs: new Set(Object.keys(e.attrs)) })),
          new Date().toISOString(),
        );
      });
    },
    /** Wait until queued projections are written (tests, shutdown). */
    async settle(): Promise<void> {
      if (timer) flush();
      await running;
    },
  };
}

export type DeviceProjection = ReturnType<typeof deviceProjection>;
