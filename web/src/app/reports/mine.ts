// The reports filed on this device, with their tracking keys (kept in localStorage): an anonymous
// citizen follows, reopens and rates them with these.
const KEY = "sen.reports.mine";

export interface MineEntry {
  id: string;
  key: string;
}

export function myReports(): MineEntry[] {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? "[]");
    return Array.isArray(v) ? v.filter((x) => typeof x?.id === "string" && typeof x?.key === "string") : [];
  } catch {
    return [];
  }
}

export function rememberReport(entry: MineEntry): void {
  const list = myReports().filter((x) => x.id !== entry.id);
  list.unshift(entry);
  try {
    localStorage.setItem(KEY, JSON.stringify(list.slice(0, 100)));
  } catch {}
}

export const keyOf = (id: string) => myReports().find((x) => x.id === id)?.key;
