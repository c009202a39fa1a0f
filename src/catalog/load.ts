// Runs a datastore load's reading half (load-worker.ts) in a worker thread and hands each block of
// COPY rows to the caller, one at a time, in order.
import v8 from "node:v8";
import { Worker } from "node:worker_threads";
import { workerUrl } from "../core/worker.ts";
import { IngestError } from "./ingest.ts";
import type { FreeMessage, LoadJob, LoadMessage } from "./load-worker.ts";

/**
 * The worker's heap is capped: a CSV load stays far below (its garbage is collected as it goes);
 * a JSON or GeoJSON upload (at most 64 MB, parsed whole) needs a few hundred MB.
 */
const RESOURCE_LIMITS = { maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: 8 };

export async function loadBlocks(
  job: LoadJob,
  onBlock: (data: Buffer, rowsSoFar: number, bytesRead: number) => Promise<void>,
): Promise<{ rows: number; bytesRead: number }> {
  // The sen command sizes the server's young generation with --max-semi-space-size, a process-wide
  // flag that would also override these limits (16 MB of new space in the reader instead of 8, +9 MB
  // resident). The server's own heap was sized when it started; with the flag cleared, each reader's
  // young generation follows its resourceLimits.
  v8.setFlagsFromString("--max-semi-space-size=0");
  const worker = new Worker(workerUrl(import.meta.url, "load-worker"), { workerData: job, resourceLimits: RESOURCE_LIMITS });
  try {
    return await new Promise((resolve, reject) => {
      let chain = Promise.resolve();
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      worker.on("message", (m: LoadMessage) => {
        // Blocks are copied strictly in order; the end is reported after the last one is in.
        chain = chain.then(async () => {
          if (settled) return;
          if (m.type === "block") {
            await onBlock(Buffer.from(m.data), m.rows, m.bytesRead);
            worker.postMessage({ type: "free", data: m.data } satisfies FreeMessage, [m.data]);
          } else if (m.type === "done") {
            settled = true;
            resolve({ rows: m.rows, bytesRead: m.bytesRead });
          } else fail(m.ingest ? new IngestError(m.message) : new Error(m.message));
        });
        chain.catch(fail);
      });
      worker.on("error", (err: Error & { code?: string }) =>
        fail(err.code === "ERR_WORKER_OUT_OF_MEMORY" ? new IngestError("The file needs more memory to read than a load may use; upload it as CSV.") : err),
      );
      worker.on("exit", (code) => fail(new Error(`the load's reader stopped (exit code ${code})`)));
    });
  } finally {
    await worker.terminate();
  }
}
