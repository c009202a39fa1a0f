// Data that many pages use and that rarely changes is fetched once per page load.
import type { FeatureCollection, MultiPolygon, Polygon } from "geojson";
import { type AdminUnit, type Agency, api } from "../shared/api";
import type { DeviceProfile } from "./iot";

export const PROVINCE_CODE = "82";

const cache = new Map<string, Promise<unknown>>();

function once<T>(key: string, load: () => Promise<T>): Promise<T> {
  let p = cache.get(key) as Promise<T> | undefined;
  if (!p) {
    p = load();
    cache.set(key, p);
    // A failed load is retried next time instead of being cached.
    p.catch(() => cache.delete(key));
  }
  return p;
}

export interface CommuneProperties {
  code: string;
  name: string;
  nameEn: string;
  fullName: string;
  fullNameEn: string;
  unitType: string;
  areaKm2: number | null;
}

export type Communes = FeatureCollection<Polygon | MultiPolygon, CommuneProperties>;
export type ProvinceBoundary = FeatureCollection<Polygon | MultiPolygon>;

export const loadProvince = () => once("province", () => api<AdminUnit>(`/api/geo/units/${PROVINCE_CODE}`));
export const loadCommuneUnits = () => once("communeUnits", () => api<AdminUnit[]>(`/api/geo/units?parent=${PROVINCE_CODE}`));
export const loadCommuneShapes = () => once("communeShapes", () => api<Communes>("/ogc/collections/communes/items?limit=200"));
export const loadProvinceShape = () => once("provinceShape", () => api<ProvinceBoundary>("/ogc/collections/province/items"));
export const loadAgencies = () => once("agencies", () => api<Agency[]>("/api/agencies"));
export const loadProfiles = () => once("deviceProfiles", () => api<DeviceProfile[]>("/api/device-profiles"));
