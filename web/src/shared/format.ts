// Formatting helpers. Times are always shown in Asia/Ho_Chi_Minh, whatever the browser's zone.
export const TIME_ZONE = "Asia/Ho_Chi_Minh";

function locale(lang: string): string {
  return lang.startsWith("en") ? "en-GB" : "vi-VN";
}

/** "27/11/2026 10:50:58" in both languages (day first, 24-hour clock), in Vietnam's time zone. */
export function formatDateTime(value: string | number | Date | null | undefined, lang: string): string {
  if (value === null || value === undefined || value === "") return "—";
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const day = new Intl.DateTimeFormat(locale(lang), { timeZone: TIME_ZONE, day: "2-digit", month: "2-digit", year: "numeric" }).format(date);
  return `${day} ${formatTime(date, lang)}`;
}

export function formatTime(value: string | number | Date, lang: string): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(locale(lang), { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(date);
}

/** Numbers are formatted the Vietnamese way (1.234,5) in Vietnamese and the English way in English. */
export function formatNumber(value: number | null | undefined, lang: string, maximumFractionDigits = 1): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return new Intl.NumberFormat(lang.startsWith("en") ? "en-US" : "vi-VN", { maximumFractionDigits }).format(value);
}

const RELATIVE_UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 86_400],
  ["month", 30 * 86_400],
  ["day", 86_400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

/** "3 phút trước" / "3 minutes ago"; under 10 seconds "vừa xong" / "just now" (numeric: "auto"). */
export function formatRelative(value: string | number | Date | null | undefined, lang: string, now = Date.now()): string {
  if (value === null || value === undefined || value === "") return "—";
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const seconds = Math.round((date.getTime() - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(lang), { numeric: "auto" });
  if (Math.abs(seconds) < 10) return rtf.format(0, "second");
  for (const [unit, size] of RELATIVE_UNITS) {
    if (Math.abs(seconds) >= size || unit === "second") return rtf.format(Math.trunc(seconds / size), unit);
  }
  return rtf.format(seconds, "second");
}
