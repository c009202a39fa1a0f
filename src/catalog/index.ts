// The catalog module: open-data portal and shared data warehouse. Organisations are the agencies;
// datasets, resources and versions live in the `catalog` schema, loaded rows in `datastore`.
// Outward: the CKAN Action API, DCAT-AP 3, downloads, and OGC API – Features collections.
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import type { AgencyDto } from "../core/accounts/service.ts";
import type { OgcProvider } from "../geo/ogc.ts";
import { ckanRoutes } from "./ckan.ts";
import { catalogCollections, iotCollections } from "./collections.ts";
import { catalogRoutes } from "./routes.ts";
import { type CatalogDeps, type CatalogService, catalogService } from "./service.ts";

export const CATALOG_MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");

export interface Catalog {
  service: CatalogService;
  /** Register the CKAN API, Sen's catalog routes and DCAT-AP documents. */
  routes(app: FastifyInstance, meta: { agencies(): Promise<AgencyDto[]>; siteTitle(): Promise<string> }): void;
  /** OGC API – Features collections: the catalog's geo datasets. */
  ogc: OgcProvider;
  /** Start the datastore loader (a durable job queue worker). */
  start(): { stop(): Promise<void> };
}

export function createCatalog(deps: CatalogDeps): Catalog {
  const service = catalogService(deps);
  return {
    service,
    routes(app, meta) {
      ckanRoutes(app, { catalog: service, ...meta });
      catalogRoutes(app, { catalog: service, ...meta });
    },
    ogc: catalogCollections(service),
    start: () => service.startWorker(deps.logger),
  };
}

export { iotCollections };
export type { CatalogService };
export { escapeFormula } from "./export.ts";
