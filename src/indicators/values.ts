// Checking one raw value against its data element, and the DHIS2 dataValueSets shapes (JSON and
// CSV) Sen imports and exports.
import Papa from "papaparse";
import type { ElementRow } from "./store.ts";

export type Checked = { ok: true; value: string; num: number | null } | { ok: false; message: string };

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A raw value (string, number or boolean) as the element stores it, or why it cannot be. */
export function checkValue(e: ElementRow, raw: unknown): Checked {
  if (typeof raw === "number" && !Number.isFinite(raw)) return { ok: false, message: "is not a finite number" };
  const s = typeof raw === "string" ? raw.trim() : typeof raw === "number" || typeof raw === "boolean" ? String(raw) : undefined;
  if (s === undefined) return { ok: false, message: "must be a string, number or boolean" };
  if (e.value_type === "text") {
    if (s.length > 50_000) return { ok: false, message: "is longer than 50,000 characters" };
    return { ok: true, value: s, num: null };
  }
  if (e.value_type === "boolean") {
    const l = s.toLowerCase();
    if (["true", "1", "yes", "có"].includes(l)) return { ok: true, value: "true", num: 1 };
    if (["false", "0", "no", "không"].includes(l)) return { ok: true, value: "false", num: 0 };
    return { ok: false, message: `"${s.slice(0, 40)}" is not yes/no (true or false)` };
  }
  if (!NUMBER.test(s)) return { ok: false, message: `"${s.slice(0, 40)}" is not a number` };
  const n = Number(s);
  if (!Number.isFinite(n)) return { ok: false, message: "is out of range" };
  if (e.value_type === "integer" && !Number.isInteger(n)) return { ok: false, message: `${s} is not a whole number` };
  if (e.value_type === "percent" && (n < 0 || n > 100)) return { ok: false, message: `${s} is not a percentage from 0 to 100` };
  if (e.min_value !== null && n < e.min_value) return { ok: false, message: `${s} is below the minimum ${e.min_value}` };
  if (e.max_value !== null && n > e.max_value) return { ok: false, message: `${s} is above the maximum ${e.max_value}` };
  return { ok: true, value: String(n), num: n };
}

/** One value as DHIS2's dataValueSets carries it. */
export interface DataValueIn {
  dataElement: string;
  period: string;
  orgUnit: string;
  categoryOptionCombo?: string;
  value: string | number | boolean | null;
  comment?: string;
}

export interface DataValueOut extends Required<Omit<DataValueIn, "value" | "comment">> {
  value: string;
  comment?: string;
  storedBy: string;
  lastUpdated: string;
}

/** DHIS2's CSV columns for data values (the header row is optional on import). */
export const CSV_COLUMNS = [
  "dataelement",
  "period",
  "orgunit",
  "categoryoptioncombo",
  "attributeoptioncombo",
  "value",
  "storedby",
  "lastupdated",
  "comment",
  "followup",
];

export interface CsvProblem {
  row: number;
  field: string;
  message: string;
}

/** Parse CSV into data values; problems name the line (1-based, header included) and column. */
export function parseCsv(text: string): { values: Array<DataValueIn & { row: number }>; problems: CsvProblem[] } {
  const parsed = Papa.parse<string[]>(text.replace(/^\uFEFF/, ""), { skipEmptyLines: "greedy" });
  const problems: CsvProblem[] = parsed.errors.map((e) => ({ row: (e.row ?? 0) + 1, field: "csv", message: e.message }));
  const rows = parsed.data;
  let start = 0;
  let cols = CSV_COLUMNS;
  const first = rows[0]?.map((c) =>
    c
      .trim()
      .toLowerCase()
      .replace(/[^a-z]/g, ""),
  );
  if (first?.includes("dataelement")) {
    cols = first;
    start = 1;
    for (const need of ["dataelement", "period", "orgunit", "value"])
      if (!cols.includes(need)) problems.push({ row: 1, field: need, message: `the header has no "${need}" column` });
  }
  const at = (r: string[], name: string) => {
    const i = cols.indexOf(name);
    return i < 0 ? undefined : r[i]?.trim();
  };
  const values: Array<DataValueIn & { row: number }> = [];
  for (let i = start; i < rows.length; i++) {
    const r = rows[i] as string[];
    const row = i + 1;
    if (r.length < 4) {
      problems.push({ row, field: "csv", message: `expected at least 4 columns (dataelement, period, orgunit, …, value), got ${r.length}` });
      continue;
    }
    values.push({
      row,
      dataElement: at(r, "dataelement") ?? "",
      period: at(r, "period") ?? "",
      orgUnit: at(r, "orgunit") ?? "",
      categoryOptionCombo: at(r, "categoryoptioncombo") || undefined,
      value: at(r, "value") ?? null,
      comment: at(r, "comment") || undefined,
    });
  }
  return { values, problems };
}

export function toCsv(values: DataValueOut[]): string {
  return Papa.unparse({
    fields: CSV_COLUMNS,
    data: values.map((v) => [v.dataElement, v.period, v.orgUnit, v.categoryOptionCombo, "", v.value, v.storedBy, v.lastUpdated, v.comment ?? "", "false"]),
  });
}
