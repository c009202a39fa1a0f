// "My places": the communes a citizen follows, kept on the device (no account needed to read
// warnings). Shared by the warnings screen and the home banner.
import { useSyncExternalStore } from "react";

const KEY = "sen.alerts.places";
const listeners = new Set<() => void>();

function read(): string {
  try {
    return localStorage.getItem(KEY) ?? "";
  } catch {
    return "";
  }
}

export function setPlaces(codes: string[]): void {
  try {
    localStorage.setItem(KEY, [...new Set(codes)].filter((c) => /^\d{5}$/.test(c)).join(","));
  } catch {}
  for (const l of listeners) l();
}

export function usePlaces(): string[] {
  const raw = useSyncExternalStore((l) => {
    listeners.add(l);
    return () => listeners.delete(l);
  }, read);
  return raw ? raw.split(",") : [];
}
