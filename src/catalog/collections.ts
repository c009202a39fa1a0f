// OGC API – Features collections from the catalog: every public dataset whose data has a geometry,
// and live collections of Sen's own data (the latest reading of each device, per device type).
// They plug into src/geo/ogc.ts as providers; field reports add theirs the same way.
import type { Feature } from "geojson";
import type { OgcProvider } from "../geo/ogc.ts";
import type { IotService } from "../iot/service.ts";
import type { CatalogService } from "./service.ts";

/** Datasets with geometry, one collection each, named like the dataset. */
export function catalogCollections(catalog: CatalogService): OgcProvider {
  return {
    async collections() {
      return (await catalog.geoCollections()).map((g) => ({
        id: g.dataset,
        title: g.title,
        description: g.notes || `${g.title} (${g.rows_loaded} features)`,
        bbox: g.bbox,
      }));
    },
    async items(id, q) {
      const r = await catalog.features(id, q);
      return r && { features: r.features as Feature[], matched: r.matched };
    },
    async item(id, featureId) {
      const r = await catalog.features(id, { limit: 1, offset: 0, filters: {}, featureId });
      if (!r) return undefined;
      return (r.features[0] as Feature | undefined) ?? null;
    },
  };
}

const LIVE_PREFIX = "latest-";

/** The latest values of each device type, as points: `latest-water_level`, `latest-air_quality`, … */
export function iotCollections(iot: Pick<IotService, "all" | "listProfiles">): OgcProvider {
  const devicesOf = (type: string) =>
    iot
      .all()
      .filter((d) => d.info.type === type && d.info.lat !== null && d.info.lon !== null && d.row.enabled !== false)
      .sort((a, b) => a.info.id.localeCompare(b.info.id));
  const toFeature = (d: ReturnType<IotService["all"]>[number]): Feature => {
    const props: Record<string, unknown> = { name: d.info.name, type: d.info.type, commune: d.info.commune, agency: d.info.agency, online: d.online };
    let last = 0;
    for (const [k, v] of d.latest) {
      props[k] = v.value;
      last = Math.max(last, v.ts);
    }
    props.observedAt = last ? new Date(last).toISOString() : null;
    return { type: "Feature", id: d.info.id, geometry: { type: "Point", coordinates: [d.info.lon as number, d.info.lat as number] }, properties: props };
  };
  const typeOf = (id: string) => (id.startsWith(LIVE_PREFIX) ? id.slice(LIVE_PREFIX.length) : undefined);
  return {
    async collections() {
      const types = [...new Set(iot.all().map((d) => d.info.type))].sort();
      const profiles = iot.listProfiles();
      return types.map((t) => {
        const p = profiles.find((x) => x.type === t || x.id === t) as { name?: string } | undefined;
        return { id: `${LIVE_PREFIX}${t}`, title: `${p?.name ?? t} – mới nhất / latest`, description: `Latest reading of every ${t} device (live).` };
      });
    },
    async items(id, q) {
      const type = typeOf(id);
      if (!type || !iot.all().some((d) => d.info.type === type)) return undefined;
      let features = devicesOf(type).map(toFeature);
      if (q.bbox) {
        const [minx, miny, maxx, maxy] = q.bbox;
        features = features.filter((f) => {
          const [x, y] = (f.geometry as { coordinates: number[] }).coordinates;
          return x >= minx && x <= maxx && y >= miny && y <= maxy;
        });
      }
      for (const [k, v] of Object.entries(q.filters)) features = features.filter((f) => String(f.properties?.[k] ?? "") === v);
      return { features: features.slice(q.offset, q.offset + q.limit), matched: features.length };
    },
    async item(id, featureId) {
      const type = typeOf(id);
      if (!type || !iot.all().some((d) => d.info.type === type)) return undefined;
      const d = devicesOf(type).find((x) => x.info.id === featureId);
      return d ? toFeature(d) : null;
    },
  };
}
