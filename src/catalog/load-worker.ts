// The datastore load's reading half, in a worker thread: parse the uploaded file, convert each
// row to PostgreSQL's COPY text format, and hand over blocks of rows to the server's thread, which
// copies them into the table. Parsing a large file makes a great deal of short-lived garbage; in
// its own small heap it is collected as it goes, instead of growing the server's heap by hundreds
// of MB (V8 lets a heap grow to about twice its live size before a full collection, and the
// server's live heap is large). It also puts the parsing on another core than the database work.
//
// Two block buffers travel between the threads (transferred, never copied): one fills here while
// the other is being copied into the table.
import { parentPort, workerData } from "node:worker_threads";
import turfBbox from "@turf/bbox";
import { copyField } from "./datastore.ts";
import { type Column, IngestError, type FileFormat, convert, openRows } from "./ingest.ts";

export interface LoadJob {
  file: string;
  format: FileFormat;
  columns: Column[];
  geometry: boolean;
  blockBytes: number;
}

/** Worker → server. */
export type LoadMessage =
  | { type: "block"; data: ArrayBuffer; rows: number; bytesRead: number }
  | { type: "done"; rows: number; bytesRead: number }
  | { type: "error"; message: string; ingest: boolean };

/** Server → worker: a block's buffer, copied and free again. */
export type FreeMessage = { type: "free"; data: ArrayBuffer };

/** ES2024's resizable ArrayBuffer (Node 20 has it; the ES2022 typings do not). */
interface Resizable extends ArrayBuffer {
  readonly maxByteLength: number;
  resize(n: number): void;
}
function resizable(n: number): Resizable {
  return new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable)(n, { maxByteLength: n });
}

if (!parentPort) throw new Error("load-worker runs as a worker thread");
const port = parentPort;
const job = workerData as LoadJob;

// Buffers that are back from the server, and whoever waits for one.
const free: Resizable[] = [resizable(job.blockBytes), resizable(job.blockBytes)];
let waiting: ((ab: Resizable) => void) | undefined;
port.on("message", (m: FreeMessage) => {
  let ab = m.data as Resizable;
  // A block made for a single oversized row is not kept.
  if (ab.maxByteLength !== job.blockBytes) ab = resizable(job.blockBytes);
  else ab.resize(job.blockBytes);
  if (waiting) {
    const w = waiting;
    waiting = undefined;
    w(ab);
  } else free.push(ab);
});
const nextFree = (): Promise<Resizable> => {
  const ab = free.pop();
  return ab ? Promise.resolve(ab) : new Promise((r) => (waiting = r));
};

async function run(): Promise<void> {
  const { columns, geometry } = job;
  const src = await openRows(job.file, job.format);
  if (src.header.length !== columns.length) throw new IngestError("The file's header changed since it was inspected.");
  let ab = await nextFree();
  let buf = Buffer.from(ab);
  let used = 0;
  let rows = 0;
  let inBlock = 0;
  const send = async () => {
    ab.resize(used);
    port.postMessage({ type: "block", data: ab, rows, bytesRead: src.bytesRead() } satisfies LoadMessage, [ab]);
    ab = await nextFree();
    buf = Buffer.from(ab);
    used = 0;
    inBlock = 0;
  };
  const n = columns.length;
  const fields: string[] = new Array(n + (geometry ? 6 : 1));
  for await (const row of src.rows) {
    rows++;
    fields[0] = String(rows);
    for (let i = 0; i < n; i++) {
      const c = convert(row.cells[i], columns[i].type);
      if (c !== null && typeof c === "object") {
        const shown = String(row.cells[i]).slice(0, 60);
        throw new IngestError(`Row ${rows + 1}, column "${columns[i].id}": "${shown}" ${c.error}. Change the column's type (e.g. to text) and confirm again.`);
      }
      fields[i + 1] = copyField(c);
    }
    if (geometry) {
      const g = row.geometry ?? null;
      const b = g ? (g.type === "Point" ? [g.coordinates[0], g.coordinates[1], g.coordinates[0], g.coordinates[1]] : turfBbox(g)) : null;
      fields[n + 1] = g ? copyField(JSON.stringify(g)) : "\\N";
      for (let k = 0; k < 4; k++) fields[n + 2 + k] = b ? String(b[k]) : "\\N";
    }
    const line = `${fields.join("\t")}\n`;
    // At most three bytes of UTF-8 per UTF-16 unit: a cheap bound before the exact length.
    if (used + line.length * 3 > buf.length) {
      const size = Buffer.byteLength(line);
      if (used + size > buf.length) {
        if (inBlock > 0) await send();
        if (size > buf.length) {
          // A single row larger than a block (a wide row of long texts): a block of its own.
          free.push(ab);
          ab = resizable(size);
          buf = Buffer.from(ab);
        }
      }
    }
    used += buf.write(line, used);
    inBlock++;
    if (used >= job.blockBytes) await send();
  }
  if (inBlock > 0) await send();
  port.postMessage({ type: "done", rows, bytesRead: src.bytesRead() } satisfies LoadMessage);
}

// The server ends the thread when it has the last message.
run().catch((err: Error) => port.postMessage({ type: "error", message: err.message, ingest: err instanceof IngestError } satisfies LoadMessage));
