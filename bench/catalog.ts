// Open data: package_search with 10,000 datasets, datastore_search with a filter on a large table,
// and CSV ingest (upload → confirm → loaded) beside a raw COPY of the same file into the same
// database engine in the same run.
//
// The large table has BENCH_CATALOG_ROWS rows (default 10,000,000, the size: the catalog
// bench then takes ~11 minutes on a 2-core machine; BENCH_CATALOG_ROWS=1000000 for a quick run).
import { chmodSync, createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { once } from "node:events";
import { Readable } from "node:stream";
import pg from "pg";
import { type Benchmark, createBenchDatabase, findPostgres, load } from "./lib.ts";

const DATASETS = Number(process.env.BENCH_CATALOG_DATASETS ?? 10_000);
const ROWS = Number(process.env.BENCH_CATALOG_ROWS ?? 10_000_000);
const PASSWORD = "bench-password-1";
const ORGS = ["SNNMT", "SKHCN", "SYT", "SGDDT", "SXD", "SCT", "STC", "TTCDS"];
const WORDS = [
  "ngập lụt",
  "mực nước",
  "sạt lở",
  "trường học",
  "bệnh viện",
  "dân số",
  "giao thông",
  "du lịch",
  "lúa gạo",
  "xâm nhập mặn",
  "chất lượng không khí",
  "Đồng Tháp",
];
const COMMUNES = ["Cao Lãnh", "Sa Đéc", "Mỹ Tho", "Hồng Ngự", "Gò Công", "Cai Lậy", "Tân Châu", "Lai Vung"];

async function json<T>(url: string, init: RequestInit & { token?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(url, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });
  const body = (await res.json()) as T;
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${url} → ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  return body;
}

/** The large CSV, written once per run. */
let csvFile: string | undefined;
async function largeCsv(): Promise<string> {
  if (csvFile) return csvFile;
  const dir = mkdtempSync(path.join(os.tmpdir(), "sen-bench-catalog-"));
  const file = path.join(dir, "lon.csv");
  const out = createWriteStream(file);
  out.write("ma,xa,ngay,muc_nuoc,ghi_chu\n");
  for (let i = 1; i <= ROWS; i += 10_000) {
    const lines: string[] = [];
    for (let r = i; r < i + 10_000 && r <= ROWS; r++) {
      const d = new Date(Date.UTC(2020, 0, 1) + (r % 2000) * 86_400_000).toISOString().slice(0, 10);
      lines.push(`${r},${COMMUNES[r % COMMUNES.length]},${d},${(r % 997) / 10},quan trắc số ${r}`);
    }
    if (!out.write(`${lines.join("\n")}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  // The PostgreSQL server reads it for the raw COPY, as its own user.
  chmodSync(dir, 0o755);
  chmodSync(file, 0o644);
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  csvFile = file;
  return file;
}

/** A raw COPY of the same file into a fresh table of the same engine: the ingest ceiling. */
async function rawCopy(database: "pglite" | "postgres", file: string): Promise<{ seconds: number; note: string }> {
  const ddl = "CREATE TABLE raw_copy (ma bigint, xa text, ngay date, muc_nuoc numeric, ghi_chu text)";
  if (database === "pglite") {
    const { PGlite } = await import("@electric-sql/pglite");
    // On disk, as Sen's embedded database is (in memory, the table's pages would be JavaScript buffers).
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "sen-bench-rawcopy-"));
    const db = await PGlite.create({ dataDir });
    await db.exec(ddl);
    const blob = new Blob([readFileSync(file)]);
    const t0 = performance.now();
    await db.query("COPY raw_copy FROM '/dev/blob' WITH (FORMAT csv, HEADER true)", [], { blob });
    const seconds = (performance.now() - t0) / 1000;
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
    return { seconds, note: "PGlite (on disk) COPY FROM a blob, in the benchmark process" };
  }
  const { server } = await findPostgres();
  if (!server) throw new Error("no PostgreSQL server for the raw COPY");
  const bench = await createBenchDatabase(server.url);
  const client = new pg.Client({ connectionString: bench.url });
  await client.connect();
  try {
    await client.query(ddl);
    const t0 = performance.now();
    // Server-side COPY from the file (the server runs on this machine); a client stream would need pg-copy-streams.
    await client.query(`COPY raw_copy FROM '${file.replace(/'/g, "''")}' WITH (FORMAT csv, HEADER true)`);
    return { seconds: (performance.now() - t0) / 1000, note: "PostgreSQL server-side COPY FROM the same file" };
  } finally {
    await client.end();
    await bench.drop();
  }
}

export const catalogBenchmark: Benchmark = {
  name: "catalog",
  title: "Open data: CKAN package_search, datastore_search, CSV ingest",
  endpoints: ["GET /api/3/action/package_search", "GET /api/3/action/datastore_search"],
  async run(sen, settings) {
    const token = (
      await json<{ token: string }>(`${sen.url}/api/auth/login`, { method: "POST", body: JSON.stringify({ username: "admin", password: PASSWORD }) })
    ).token;
    const t0 = performance.now();
    // 10,000 datasets through the API, eight at a time.
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (;;) {
          const i = next++;
          if (i >= DATASETS) return;
          const w = [WORDS[i % WORDS.length], WORDS[(i * 7) % WORDS.length]];
          await json(`${sen.url}/api/3/action/package_create`, {
            method: "POST",
            token,
            body: JSON.stringify({
              name: `bo-du-lieu-${i}`,
              title: `${w[0]} ${COMMUNES[i % COMMUNES.length]} ${i}`,
              notes: `Số liệu ${w[1]} tại ${COMMUNES[(i * 3) % COMMUNES.length]}, năm ${2015 + (i % 10)}.`,
              owner_org: ORGS[i % ORGS.length],
              tags: w,
              groups: [["moi-truong", "giao-thong", "y-te", "dan-cu"][i % 4]],
            }),
          });
        }
      }),
    );
    const seedSeconds = (performance.now() - t0) / 1000;
    const check = await json<{ result: { count: number } }>(`${sen.url}/api/3/action/package_search?q=ngap%20lut&rows=1`);
    if (check.result.count < DATASETS / WORDS.length) throw new Error(`package_search found ${check.result.count} for "ngap lut"`);
    const facets = encodeURIComponent(JSON.stringify(["organization", "groups", "tags", "res_format", "license_id"]));
    const queries = ["ngap lut", "Dong Thap", "muc nuoc Cao Lanh", "truong hoc", "benh vien Sa Dec", "xam nhap man", "du lich", ""];
    const searchPaths = queries.flatMap((q) => [
      `/api/3/action/package_search?q=${encodeURIComponent(q)}&rows=20&facet.field=${facets}`,
      `/api/3/action/package_search?q=${encodeURIComponent(q)}&rows=10&fq=${encodeURIComponent("organization:SNNMT")}`,
    ]);

    // The large table: upload, confirm, and time the load.
    const file = await largeCsv();
    const bytes = statSync(file).size;
    const r = await json<{ id: string }>(`${sen.url}/api/catalog/datasets/bo-du-lieu-0/resources`, {
      method: "POST",
      token,
      body: JSON.stringify({ name: "Bảng lớn", kind: "upload" }),
    });
    const boundary = "----senbench";
    async function* body() {
      yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="lon.csv"\r\nContent-Type: text/csv\r\n\r\n`);
      for await (const chunk of createReadStream(file)) yield chunk as Buffer;
      yield Buffer.from(`\r\n--${boundary}--\r\n`);
    }
    const rssBefore = sen.rssMb() ?? 0;
    const tUp = performance.now();
    const up = await fetch(`${sen.url}/api/catalog/resources/${r.id}/versions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": `multipart/form-data; boundary=${boundary}` },
      body: Readable.toWeb(Readable.from(body())) as ReadableStream,
      duplex: "half",
    } as RequestInit);
    const version = (await up.json()) as { id: string };
    if (up.status !== 201) throw new Error(`upload → ${up.status} ${JSON.stringify(version)}`);
    const uploadSeconds = (performance.now() - tUp) / 1000;
    const tLoad = performance.now();
    await json(`${sen.url}/api/catalog/versions/${version.id}/confirm`, { method: "POST", token, body: "{}" });
    let peakRss = sen.rssMb() ?? 0;
    let resets = 0;
    for (;;) {
      // Polled as the upload page polls: a poll that fails is skipped. On PGlite the index builds of
      // a large table hold the event loop for minutes, and Node resets requests that waited too long.
      let v: { status: string; rowsLoaded: number; error: string | null };
      try {
        v = await json(`${sen.url}/api/catalog/versions/${version.id}`, { token });
      } catch (err) {
        if (sen.rssMb() === undefined) throw new Error(`the server stopped during the load: ${(err as Error).message}\n${sen.output()}`);
        resets++;
        await new Promise((res) => setTimeout(res, 250));
        continue;
      }
      peakRss = Math.max(peakRss, sen.rssMb() ?? 0);
      if (v.status === "failed") throw new Error(`load failed: ${v.error}`);
      if (v.status === "ready") {
        if (v.rowsLoaded !== ROWS) throw new Error(`loaded ${v.rowsLoaded} rows, expected ${ROWS}`);
        break;
      }
      await new Promise((res) => setTimeout(res, 250));
    }
    const loadSeconds = (performance.now() - tLoad) / 1000;
    const raw = await rawCopy(sen.database, file);

    const filter = (xa: string, extra = "") =>
      `/api/3/action/datastore_search?resource_id=${r.id}&filters=${encodeURIComponent(JSON.stringify({ xa }))}&limit=100${extra}`;
    const dsPaths = [
      ...COMMUNES.map((c) => filter(c, "&include_total=false")),
      ...COMMUNES.slice(0, 4).map((c, i) => filter(c, `&offset=${i * 1000}&include_total=false`)),
      `/api/3/action/datastore_search?resource_id=${r.id}&filters=${encodeURIComponent(JSON.stringify({ ma: [17, 4242, 99_999, 500_000] }))}`,
    ];
    const one = await json<{ result: { records: unknown[] } }>(`${sen.url}${filter("Sa Đéc")}`);
    if (one.result.records.length !== 100) throw new Error("datastore_search returned fewer rows than expected");

    const search = await load({ server: sen, paths: searchPaths, settings });
    const ds = await load({ server: sen, paths: dsPaths, settings });
    const rowsPerSecond = Math.round(ROWS / loadSeconds);
    const rawRowsPerSecond = Math.round(ROWS / raw.seconds);
    const ingest = `CSV ingest: ${ROWS.toLocaleString("en")} rows (${(bytes / 1048576).toFixed(0)} MB) loaded in ${loadSeconds.toFixed(1)} s = ${rowsPerSecond.toLocaleString("en")} rows/s (upload + inspect ${uploadSeconds.toFixed(1)} s); raw COPY of the same file ${raw.seconds.toFixed(1)} s = ${rawRowsPerSecond.toLocaleString("en")} rows/s (${raw.note}); Sen at ${Math.round((100 * rowsPerSecond) / rawRowsPerSecond)} % of COPY; server RSS ${rssBefore.toFixed(0)} MB before the upload, at most ${peakRss.toFixed(0)} MB while loading; status polls reset: ${resets}`;
    return [
      {
        endpoint: "GET /api/3/action/package_search",
        result: search,
        notes: [
          `${DATASETS.toLocaleString("en")} datasets (seeded through package_create in ${seedSeconds.toFixed(0)} s); ${searchPaths.length} queries: Vietnamese text without diacritics, with the five facets or an fq filter`,
        ],
      },
      {
        endpoint: "GET /api/3/action/datastore_search",
        result: ds,
        notes: [`filter on an indexed text column of a ${ROWS.toLocaleString("en")}-row table, 100 rows a page`, ingest],
      },
    ];
  },
};
