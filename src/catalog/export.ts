// Downloads of a version's rows as CSV, JSON, GeoJSON or XLSX, streamed a page at a time. Text
// cells that a spreadsheet would run as a formula (starting with = + - @, tab or carriage return)
// are prefixed with an apostrophe (OWASP "CSV injection"), in CSV and XLSX alike.
import { PassThrough, Readable } from "node:stream";
import Papa from "papaparse";
import type { Column } from "./ingest.ts";

export const EXPORT_FORMATS = ["csv", "json", "geojson", "xlsx"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: "text/csv; charset=utf-8",
  json: "application/json; charset=utf-8",
  geojson: "application/geo+json; charset=utf-8",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
};

const FORMULA = /^[=+\-@\t\r]/;

/** A text cell made safe for spreadsheets. */
export function escapeFormula(s: string): string {
  return FORMULA.test(s) ? `'${s}` : s;
}

type Page = Array<Record<string, unknown>>;

function cell(_c: Column, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  return v;
}

export function exportStream(format: ExportFormat, columns: Column[], geometry: boolean, pages: AsyncIterable<Page>): Readable {
  if (format === "xlsx") return xlsx(columns, pages);
  return Readable.from(text(format, columns, geometry, pages), { objectMode: false });
}

async function* text(format: ExportFormat, columns: Column[], geometry: boolean, pages: AsyncIterable<Page>): AsyncGenerator<string> {
  if (format === "csv") {
    // The BOM makes spreadsheet programs read the file as UTF-8 (Vietnamese diacritics).
    yield `\uFEFF${Papa.unparse([["_id", ...columns.map((c) => escapeFormula(c.id))]], { newline: "\r\n" })}\r\n`;
    for await (const page of pages) {
      const rows = page.map((r) => [
        r._id,
        ...columns.map((c) => {
          const v = cell(c, r[c.col]);
          return typeof v === "string" && c.type === "text" ? escapeFormula(v) : v;
        }),
      ]);
      yield `${Papa.unparse(rows, { newline: "\r\n" })}\r\n`;
    }
    return;
  }
  if (format === "json") {
    yield "[";
    let first = true;
    for await (const page of pages)
      for (const r of page) {
        const o: Record<string, unknown> = { _id: r._id };
        for (const c of columns) o[c.id] = cell(c, r[c.col]);
        yield `${first ? "" : ","}\n${JSON.stringify(o)}`;
        first = false;
      }
    yield "\n]\n";
    return;
  }
  // GeoJSON: rows without a geometry become features with a null geometry.
  yield '{"type":"FeatureCollection","features":[';
  let first = true;
  for await (const page of pages)
    for (const r of page) {
      const props: Record<string, unknown> = {};
      for (const c of columns) props[c.id] = cell(c, r[c.col]);
      const g = geometry ? (r._geom ?? null) : null;
      yield `${first ? "" : ","}\n${JSON.stringify({ type: "Feature", id: r._id, geometry: g, properties: props })}`;
      first = false;
    }
  yield "\n]}\n";
}

function xlsx(columns: Column[], pages: AsyncIterable<Page>): Readable {
  const out = new PassThrough();
  void (async () => {
    const { default: ExcelJS } = await import("exceljs");
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false, useStyles: false });
    const ws = wb.addWorksheet("data");
    ws.addRow(["_id", ...columns.map((c) => escapeFormula(c.id))]).commit();
    for await (const page of pages)
      for (const r of page) {
        ws.addRow([
          r._id,
          ...columns.map((c) => {
            const v = cell(c, r[c.col]);
            // Always a plain value: never an object ExcelJS would write as a formula.
            if (typeof v === "string") return c.type === "text" ? escapeFormula(v) : v;
            return v;
          }),
        ]).commit();
      }
    ws.commit();
    await wb.commit();
  })().catch((err) => out.destroy(err));
  return out;
}
