// Runs a datastore load's reading half (load-worker.ts) in a worker thread and hands each block of
// COPY rows to the caller, one at a time, in order.
import { Worker } from "node:worker_threads";
import { IngestError } from "./ingest.ts";
import type { FreeMessage, LoadJob, LoadMessage } from "./load-worker.ts";

// Compiled (dist/), the worker is a JavaScript file beside this one. From source (the tests) it is
// TypeScript, loaded through tsx by a one-line bootstrap.
const FROM_SOURCE = import.meta.url.endsWith(".ts");
function workerUrl(): URL {
  if (!FROM_SOURCE) return new URL("./load-worker.js", import.meta.url);
  const target = new URL("./load-worker.ts", import.meta.url).href;
  const bootstrap = `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))}; register(); await import(${JSON.stringify(target)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`);
}

/**
 * The worker's heap is capped: a CSV load stays far below (its garbage is collected as it goes);
 * a JSON or GeoJSON upload (at most 64 MB, parsed whole) needs a few hundred MB.
 */
const RESOURCE_LIMITS = { maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: 8 };

export async function loadBlocks(
  job: LoadJob,
  onBlock: (data: Buffer, rowsSoFar: number, bytesRead: number) => Promise<void>,
): Promise<{ rows: number; bytesRead: number }> {
  const worker = new Worker(workerUrl(), { workerData: job, resourceLimits: RESOURCE_LIMITS });
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
