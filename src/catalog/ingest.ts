// Reading uploaded files as rows, with bounded memory: CSV (papaparse, streamed, UTF-8 with or
// without BOM, UTF-16 LE/BE detected), XLSX (exceljs streaming reader, after a zip-bomb check of
// the archive's directory), JSON arrays of objects and GeoJSON feature collections (size-capped,
// parsed whole). Types are inferred from a sample; values are converted and checked on load.
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { Transform, type TransformCallback } from "node:stream";
import turfBbox from "@turf/bbox";
import type ExcelJS from "exceljs";
import type { Geometry } from "geojson";
import Papa from "papaparse";

export type FileFormat = "CSV" | "XLSX" | "JSON" | "GEOJSON";
export const COLUMN_TYPES = ["text", "int8", "numeric", "bool", "date", "timestamp"] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export interface Column {
  /** The published field name (the header as written, trimmed). */
  id: string;
  type: ColumnType;
  /** Physical column in the datastore table: c1, c2, … (never derived from user input). */
  col: string;
  /** Whether the datastore table gets an index on it (filters and sorts on big tables). */
  index?: boolean;
  /** A few example values, shown when the publisher confirms the types. */
  sample?: string[];
}

export const LIMITS = {
  maxColumns: 1000,
  maxHeaderLength: 200,
  /** A CSV line (outside quotes this is a row) longer than this is refused: no newline bombs. */
  maxLineBytes: 4 * 1024 * 1024,
  /** JSON and GeoJSON are parsed whole, so they are capped. */
  maxJsonBytes: 64 * 1024 * 1024,
  /** XLSX: the declared uncompressed size of all parts, one part's ratio, and the part count. */
  maxXlsxUncompressed: 1024 * 1024 * 1024,
  maxXlsxRatio: 200,
  maxXlsxEntries: 5000,
  sampleRows: 1000,
};

/** A problem with the file itself: shown to the publisher as is. */
export class IngestError extends Error {}

export interface Row {
  cells: unknown[];
  geometry?: Geometry | null;
}

export interface RowSource {
  header: string[];
  encoding: string;
  /** Whether rows carry a geometry (GeoJSON, or CSV with latitude/longitude columns). */
  geometry: boolean;
  rows: AsyncIterable<Row>;
  bytesRead(): number;
  close(): void;
}

// ---------------------------------------------------------------------------------------------
// Format and encoding

export function formatOf(filename: string, head: Buffer): FileFormat {
  const ext = filename.toLowerCase().split(".").pop() ?? "";
  const isZip = head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
  if (ext === "xlsx" || isZip) {
    if (!isZip) throw new IngestError("The file is named .xlsx but is not an XLSX (zip) workbook.");
    return "XLSX";
  }
  if (ext === "geojson") return "GEOJSON";
  if (ext === "json") return "JSON";
  if (ext === "csv" || ext === "txt" || ext === "tsv" || ext === "") return "CSV";
  throw new IngestError(`Files of type .${ext} cannot be loaded into the datastore; use CSV, XLSX, JSON or GeoJSON.`);
}

type Encoding = "utf-8" | "utf-16le" | "utf-16be";

export function encodingOf(head: Buffer): { encoding: Encoding; bom: number } {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: "utf-8", bom: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: "utf-16le", bom: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: "utf-16be", bom: 2 };
  // No BOM: UTF-16 text of mostly ASCII has a zero in every other byte.
  let evenZeros = 0;
  let oddZeros = 0;
  const n = Math.min(head.length, 1024) & ~1;
  for (let i = 0; i < n; i += 2) {
    if (head[i] === 0) evenZeros++;
    if (head[i + 1] === 0) oddZeros++;
  }
  if (n >= 8 && oddZeros > n / 4 && evenZeros === 0) return { encoding: "utf-16le", bom: 0 };
  if (n >= 8 && evenZeros > n / 4 && oddZeros === 0) return { encoding: "utf-16be", bom: 0 };
  return { encoding: "utf-8", bom: 0 };
}

/** Bytes → text in the detected encoding, refusing invalid UTF-8 and over-long lines. */
class Decode extends Transform {
  private readonly decoder: StringDecoder;
  private carry?: number;
  private line = 0;
  private inQuotes = false;
  bytes = 0;
  constructor(private readonly encoding: Encoding) {
    super({ readableObjectMode: false, decodeStrings: true, encoding: "utf8" });
    this.decoder = new StringDecoder(encoding === "utf-8" ? "utf8" : "utf16le");
  }
  _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
    this.bytes += chunk.length;
    let buf = chunk;
    if (this.encoding === "utf-16be") {
      // Swap byte pairs to little-endian, carrying an odd byte to the next chunk.
      if (this.carry !== undefined) buf = Buffer.concat([Buffer.from([this.carry]), buf]);
      this.carry = buf.length % 2 ? buf[buf.length - 1] : undefined;
      buf = Buffer.from(buf.subarray(0, buf.length - (buf.length % 2)));
      buf.swap16();
    }
    const text = this.decoder.write(buf);
    if (this.encoding === "utf-8" && text.includes("\uFFFD") && !chunk.includes(Buffer.from([0xef, 0xbf, 0xbd])))
      return cb(new IngestError("The file is not valid UTF-8 (or UTF-16 with a byte-order mark); save it as CSV UTF-8."));
    // Track the length of the current row (newlines inside quotes do not end it), jumping from
    // quote to newline rather than reading every character.
    const re = /["\n]/g;
    let last = 0;
    let m: RegExpExecArray | null;
    // biome-ignore lint/suspicious/noAssignInExpressions: the usual regex loop
    while ((m = re.exec(text))) {
      if (m[0] === '"') this.inQuotes = !this.inQuotes;
      else if (!this.inQuotes) {
        this.line = 0;
        last = m.index + 1;
        continue;
      }
      this.line += m.index + 1 - last;
      last = m.index + 1;
      if (this.line > LIMITS.maxLineBytes) break;
    }
    this.line += text.length - last;
    if (this.line > LIMITS.maxLineBytes) return cb(new IngestError(`A row of the file is longer than ${LIMITS.maxLineBytes / 1048576} MB; it is not a table.`));
    cb(null, text.includes("\u0000") ? text.replaceAll("\u0000", "") : text);
  }
  _flush(cb: TransformCallback) {
    cb(null, this.decoder.end());
  }
}

// ---------------------------------------------------------------------------------------------
// Headers

export function checkHeader(raw: unknown[]): string[] {
  if (raw.length > LIMITS.maxColumns) throw new IngestError(`The header has ${raw.length} columns; at most ${LIMITS.maxColumns} are allowed.`);
  const seen = new Map<string, number>();
  const header = raw.map((h, i) => {
    let name = String(h ?? "")
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
      .replace(/[\u0000-\u001f\u007f]/g, " ")
      .trim();
    if (name.length > LIMITS.maxHeaderLength)
      throw new IngestError(`Column ${i + 1}'s name is ${name.length} characters long; at most ${LIMITS.maxHeaderLength} are allowed.`);
    if (!name) name = `column_${i + 1}`;
    // CKAN reserves names starting with "_" (the row id _id, _full_text).
    if (name.startsWith("_")) name = `f${name}`;
    const n = (seen.get(name.toLowerCase()) ?? 0) + 1;
    seen.set(name.toLowerCase(), n);
    return n > 1 ? `${name}_${n}` : name;
  });
  if (header.length === 0) throw new IngestError("The file has no header row.");
  return header;
}

const LAT = /^(lat|latitude|vi[_ ]?do|vĩ[_ ]?độ|y)$/i;
const LON = /^(lon|lng|long|longitude|kinh[_ ]?do|kinh[_ ]?độ|x)$/i;

/** Latitude and longitude columns of a table, when it has both (a point per row). */
export function latLonColumns(header: string[]): { lat: number; lon: number } | undefined {
  const lat = header.findIndex((h) => LAT.test(h));
  const lon = header.findIndex((h) => LON.test(h));
  return lat >= 0 && lon >= 0 ? { lat, lon } : undefined;
}

// ---------------------------------------------------------------------------------------------
// Readers

export async function openRows(file: string, format: FileFormat): Promise<RowSource> {
  if (format === "CSV") return csvRows(file);
  if (format === "XLSX") return xlsxRows(file);
  return jsonRows(file, format);
}

async function readHead(file: string, n = 4096): Promise<Buffer> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function csvRows(file: string): Promise<RowSource> {
  const head = await readHead(file);
  const { encoding, bom } = encodingOf(head);
  const input = createReadStream(file, { start: bom, highWaterMark: 32 * 1024 });
  const decode = new Decode(encoding);
  const parser = Papa.parse(Papa.NODE_STREAM_INPUT, { skipEmptyLines: "greedy", header: false, delimitersToGuess: [",", ";", "\t", "|"] });
  // Errors of any stage end the iteration with that error.
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    parser.destroy(err);
  };
  input.on("error", fail);
  decode.on("error", fail);
  input.pipe(decode).pipe(parser);
  const it = rowIterator(parser);
  const first = await it.next().catch((err) => {
    throw failure ?? err;
  });
  if (first.done) {
    input.destroy();
    throw failure ?? new IngestError("The file is empty.");
  }
  let header: string[];
  try {
    header = checkHeader(first.value);
  } catch (err) {
    input.destroy();
    parser.destroy();
    throw err;
  }
  const ll = latLonColumns(header);
  const width = header.length;
  async function* rows(): AsyncGenerator<Row> {
    let n = 1;
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) break;
        n++;
        const cells = r.value;
        if (cells.length !== width) {
          // A trailing empty field is a common artefact of spreadsheet exports.
          if (!(cells.length === width + 1 && cells[width] === ""))
            throw new IngestError(`Row ${n} has ${cells.length} fields but the header has ${width}; check quotes and separators.`);
        }
        yield { cells, geometry: ll ? point(cells[ll.lat], cells[ll.lon]) : undefined };
      }
    } catch (err) {
      if (failure) throw failure;
      if (err instanceof IngestError) throw err;
      throw new IngestError(`Row ${n + 1} cannot be read: ${(err as Error).message}`);
    } finally {
      input.destroy();
    }
    if (failure) throw failure;
  }
  return { header, encoding, geometry: !!ll, rows: rows(), bytesRead: () => decode.bytes + bom, close: () => input.destroy() };
}

/**
 * Rows of papaparse's stream. Its async iterator pauses the parser after every few rows (very
 * slow); here rows are taken in batches from 'data' events and the parser is paused only when
 * a batch waits, which keeps memory bounded just the same.
 */
function rowIterator(parser: NodeJS.ReadWriteStream): AsyncIterator<string[]> {
  const queue: string[][] = [];
  let ended = false;
  let error: Error | undefined;
  let wake: (() => void) | undefined;
  let batch: string[][] = [];
  let i = 0;
  parser.on("data", (row: string[]) => {
    queue.push(row);
    if (queue.length >= 500) parser.pause();
    wake?.();
  });
  parser.on("end", () => {
    ended = true;
    wake?.();
  });
  parser.on("error", (err: Error) => {
    error ??= err;
    wake?.();
  });
  parser.on("close", () => {
    ended = true;
    wake?.();
  });
  return {
    async next(): Promise<IteratorResult<string[]>> {
      for (;;) {
        if (i < batch.length) return { done: false, value: batch[i++] };
        if (queue.length) {
          batch = queue.splice(0);
          i = 0;
          parser.resume();
          continue;
        }
        if (error) throw error;
        if (ended) return { done: true, value: undefined };
        await new Promise<void>((r) => {
          wake = r;
        });
        wake = undefined;
      }
    },
  };
}

function point(lat: unknown, lon: unknown): Geometry | null {
  const y = Number(String(lat ?? "").replace(",", "."));
  const x = Number(String(lon ?? "").replace(",", "."));
  if (!String(lat ?? "").trim() || !Number.isFinite(x) || !Number.isFinite(y) || Math.abs(y) > 90 || Math.abs(x) > 180) return null;
  return { type: "Point", coordinates: [x, y] };
}

/**
 * Refuse zip bombs before decompressing anything: read the archive's central directory and check
 * the declared sizes (total, per-part ratio, number of parts).
 */
export async function checkZip(file: string): Promise<void> {
  const { size } = await stat(file);
  const tailLen = Math.min(size, 65_557);
  const fh = await open(file, "r");
  try {
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new IngestError("The workbook is not a valid XLSX file (its zip directory is missing).");
    const entries = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    if (entries === 0xffff || cdOffset === 0xffffffff) throw new IngestError("ZIP64 workbooks are not accepted.");
    if (entries > LIMITS.maxXlsxEntries) throw new IngestError(`The workbook has ${entries} parts; at most ${LIMITS.maxXlsxEntries} are allowed.`);
    if (cdOffset + cdSize > size || cdSize > 16 * 1024 * 1024) throw new IngestError("The workbook's zip directory is damaged.");
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    let total = 0;
    let p = 0;
    for (let i = 0; i < entries; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw new IngestError("The workbook's zip directory is damaged.");
      const compressed = cd.readUInt32LE(p + 20);
      const uncompressed = cd.readUInt32LE(p + 24);
      total += uncompressed;
      if (uncompressed > 10 * 1024 * 1024 && uncompressed / Math.max(1, compressed) > LIMITS.maxXlsxRatio)
        throw new IngestError(`The workbook looks like a zip bomb: one part expands ${Math.round(uncompressed / Math.max(1, compressed))} times.`);
      if (total > LIMITS.maxXlsxUncompressed)
        throw new IngestError(`The workbook expands to more than ${LIMITS.maxXlsxUncompressed / 1024 ** 3} GB; split it or upload CSV.`);
      p += 46 + cd.readUInt16LE(p + 28) + cd.readUInt16LE(p + 30) + cd.readUInt16LE(p + 32);
    }
  } finally {
    await fh.close();
  }
}

function cellValue(v: unknown): unknown {
  if (v === null || v === undefined) return "";
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    // A formula cell contributes its cached result, never the formula.
    if ("result" in o) return cellValue(o.result);
    if ("formula" in o || "sharedFormula" in o) return "";
    if (Array.isArray(o.richText)) return (o.richText as Array<{ text: string }>).map((t) => t.text).join("");
    if ("text" in o) return String(o.text);
    if ("error" in o) return "";
    return "";
  }
  return v;
}

async function xlsxRows(file: string): Promise<RowSource> {
  await checkZip(file);
  // Loaded here, not at start: the library is large, and most files are CSV.
  const { default: Excel } = await import("exceljs");
  const input = createReadStream(file, { highWaterMark: 256 * 1024 });
  let bytes = 0;
  input.on("data", (c) => {
    bytes += c.length;
  });
  const reader = new Excel.stream.xlsx.WorkbookReader(input, {
    sharedStrings: "cache",
    hyperlinks: "ignore",
    styles: "cache",
    worksheets: "emit",
    entries: "ignore",
  });
  const sheets = reader[Symbol.asyncIterator]() as AsyncIterator<AsyncIterable<ExcelJS.Row>>;
  let sheetIt: AsyncIterator<ExcelJS.Row>;
  let first: IteratorResult<ExcelJS.Row>;
  try {
    const sheet = await sheets.next();
    if (sheet.done) throw new IngestError("The workbook has no worksheet.");
    sheetIt = sheet.value[Symbol.asyncIterator]();
    first = await sheetIt.next();
  } catch (err) {
    input.destroy();
    if (err instanceof IngestError) throw err;
    throw new IngestError(`The workbook cannot be read: ${(err as Error).message}`);
  }
  if (first.done) {
    input.destroy();
    throw new IngestError("The first worksheet is empty.");
  }
  const rawHeader = first.value.values as unknown[];
  let header: string[];
  try {
    header = checkHeader(rawHeader.slice(1).map(cellValue));
  } catch (err) {
    input.destroy();
    throw err;
  }
  const width = header.length;
  const ll = latLonColumns(header);
  async function* rows(): AsyncGenerator<Row> {
    try {
      for (;;) {
        const r = await sheetIt.next();
        if (r.done) break;
        const values = r.value.values as unknown[];
        if (values.length - 1 > width && values.slice(width + 1).some((v) => cellValue(v) !== ""))
          throw new IngestError(`Row ${r.value.number} has values beyond the header's ${width} columns.`);
        const cells: unknown[] = new Array(width);
        for (let i = 0; i < width; i++) cells[i] = cellValue(values[i + 1]);
        if (cells.every((c) => c === "")) continue;
        yield { cells, geometry: ll ? point(cells[ll.lat], cells[ll.lon]) : undefined };
      }
    } catch (err) {
      if (err instanceof IngestError) throw err;
      throw new IngestError(`The workbook cannot be read: ${(err as Error).message}`);
    } finally {
      input.destroy();
    }
  }
  return { header, encoding: "xlsx", geometry: !!ll, rows: rows(), bytesRead: () => bytes, close: () => input.destroy() };
}

async function jsonRows(file: string, format: FileFormat): Promise<RowSource> {
  const { size } = await stat(file);
  if (size > LIMITS.maxJsonBytes)
    throw new IngestError(`JSON and GeoJSON files are limited to ${LIMITS.maxJsonBytes / 1048576} MB; upload large tables as CSV.`);
  const raw = await readHead(file, size);
  const { encoding, bom } = encodingOf(raw);
  let text = new TextDecoder(encoding).decode(raw.subarray(bom));
  text = text.replace(/^\uFEFF/, "");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new IngestError(`The file is not valid JSON: ${(err as Error).message}`);
  }
  let records: Array<Record<string, unknown>>;
  let geoms: Array<Geometry | null> | undefined;
  const d = doc as Record<string, unknown>;
  if (d && d.type === "FeatureCollection" && Array.isArray(d.features)) {
    const feats = d.features as Array<Record<string, unknown>>;
    records = feats.map((f, i) => {
      if (f?.type !== "Feature") throw new IngestError(`Feature ${i + 1} is not a GeoJSON Feature.`);
      return (f.properties ?? {}) as Record<string, unknown>;
    });
    geoms = feats.map((f, i) => validGeometry(f.geometry, i + 1));
  } else if (format === "GEOJSON") {
    throw new IngestError("A GeoJSON file must be a FeatureCollection.");
  } else if (Array.isArray(doc) && doc.every((r) => r && typeof r === "object" && !Array.isArray(r))) {
    records = doc as Array<Record<string, unknown>>;
  } else if (d && typeof d === "object" && Array.isArray(d.records ?? d.data)) {
    records = (d.records ?? d.data) as Array<Record<string, unknown>>;
  } else throw new IngestError("A JSON file must be an array of objects (one per row) or a GeoJSON FeatureCollection.");
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const r of records) {
    if (!r || typeof r !== "object" || Array.isArray(r)) throw new IngestError("Every row of a JSON file must be an object.");
    for (const k of Object.keys(r))
      if (!seen.has(k)) {
        seen.add(k);
        keys.push(k);
        if (keys.length > LIMITS.maxColumns) throw new IngestError(`The rows have more than ${LIMITS.maxColumns} distinct fields.`);
      }
  }
  const header = checkHeader(keys.length ? keys : []);
  async function* rows(): AsyncGenerator<Row> {
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      yield { cells: keys.map((k) => jsonCell(r[k])), geometry: geoms?.[i] };
    }
  }
  return { header, encoding, geometry: !!geoms, rows: rows(), bytesRead: () => size, close: () => undefined };
}

function jsonCell(v: unknown): unknown {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return v;
}

const GEOM_TYPES = new Set(["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"]);

function validGeometry(g: unknown, n: number): Geometry | null {
  if (g === null || g === undefined) return null;
  const o = g as Record<string, unknown>;
  if (!GEOM_TYPES.has(String(o.type)) || (o.type !== "GeometryCollection" && !Array.isArray(o.coordinates)))
    throw new IngestError(`Feature ${n} has an invalid geometry.`);
  try {
    const b = turfBbox(o as unknown as Geometry);
    if (b.some((x) => !Number.isFinite(x))) throw new Error();
  } catch {
    throw new IngestError(`Feature ${n} has an invalid geometry.`);
  }
  return o as unknown as Geometry;
}

// ---------------------------------------------------------------------------------------------
// Types: inference from a sample, conversion on load

const INT = /^[+-]?\d{1,18}$/;
const NUM = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$/;
const DATE_ISO = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_VN = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;
const TS = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$/;
const BOOL = /^(true|false)$/i;

function validDate(y: number, m: number, d: number): boolean {
  const dt = new Date(Date.UTC(y, m - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

/** The value in the form PostgreSQL reads for the type, null for empty, or an error message. */
export function convert(v: unknown, type: ColumnType): string | null | { error: string } {
  if (v === null || v === undefined) return null;
  if (type === "text") {
    const s = typeof v === "string" ? v : String(v);
    return s === "" ? null : s;
  }
  const s = (typeof v === "string" ? v : String(v)).trim();
  if (s === "") return null;
  switch (type) {
    case "int8":
      return INT.test(s) ? s : { error: "is not a whole number" };
    case "numeric":
      return NUM.test(s) ? s : { error: "is not a number" };
    case "bool":
      return BOOL.test(s) ? s.toLowerCase() : { error: "is not true or false" };
    case "date": {
      let m = DATE_ISO.exec(s);
      if (m && validDate(+m[1], +m[2], +m[3])) return s;
      m = DATE_VN.exec(s);
      if (m && validDate(+m[3], +m[2], +m[1])) return `${m[3]}-${m[2].padStart(2, "0")}-${m[1].padStart(2, "0")}`;
      // Spreadsheet dates arrive as ISO date-times at midnight UTC.
      if (/^\d{4}-\d{2}-\d{2}T00:00:00(\.000)?Z$/.test(s)) return s.slice(0, 10);
      return { error: "is not a date (YYYY-MM-DD or DD/MM/YYYY)" };
    }
    case "timestamp": {
      if (!TS.test(s) || Number.isNaN(Date.parse(s.replace(" ", "T")))) return { error: "is not a date and time (ISO 8601)" };
      // Without an offset the time is the province's (Asia/Ho_Chi_Minh).
      return /(Z|[+-]\d{2}:?\d{2})$/.test(s) ? s : `${s.replace(" ", "T")}+07:00`;
    }
  }
}

/** The narrowest type every non-empty sample value fits. */
export function inferType(values: unknown[]): ColumnType {
  const candidates: ColumnType[] = ["bool", "int8", "numeric", "date", "timestamp"];
  let any = false;
  let alive = candidates;
  for (const v of values) {
    if (v === null || v === undefined || String(v).trim() === "") continue;
    // Leading zeros (codes, phone numbers) stay text.
    if (typeof v === "string" && /^0\d+$/.test(v.trim())) return "text";
    any = true;
    alive = alive.filter((t) => {
      const c = convert(v, t);
      return c === null || typeof c === "string";
    });
    if (!alive.length) return "text";
  }
  return any ? alive[0] : "text";
}

/** Sample the first rows: the header, inferred columns and the detected encoding. */
export async function inspect(file: string, format: FileFormat): Promise<{ columns: Column[]; encoding: string; geometry: boolean; sampleRows: number }> {
  const src = await openRows(file, format);
  const samples: unknown[][] = src.header.map(() => []);
  let n = 0;
  try {
    for await (const row of src.rows) {
      for (let i = 0; i < row.cells.length; i++) samples[i]?.push(row.cells[i]);
      if (++n >= LIMITS.sampleRows) break;
    }
  } finally {
    src.close();
  }
  const columns = src.header.map((id, i): Column => {
    const type = inferType(samples[i]);
    const examples = samples[i]
      .map((v) => String(v ?? ""))
      .filter(Boolean)
      .slice(0, 3)
      .map((s) => s.slice(0, 80));
    return { id, type, col: `c${i + 1}`, sample: examples, index: false };
  });
  // Index the first few columns a filter is likely to use (codes, dates, small text); the
  // publisher can change this when confirming.
  let indexed = 0;
  for (const c of columns) {
    const short = (c.sample ?? []).every((s) => s.length <= 64);
    if (indexed < 6 && c.type !== "numeric" && short) {
      c.index = true;
      indexed++;
    }
  }
  return { columns, encoding: src.encoding, geometry: src.geometry, sampleRows: n };
}
