// The NGSI-LD context broker on 100,000 entities: attribute updates/s (PATCH, authenticated),
// GET-by-id/s, q-queries/s, geo-queries/s (anonymous reads of public types), and notification
// latency (commit → a local HTTP receiver) under a steady update stream.
import http from "node:http";
import type { AddressInfo } from "node:net";
import autocannon from "autocannon";
import { mulberry32 } from "../src/iot/simulator.ts";
import { type Benchmark, type LoadResult, type Measurement, type SenUnderTest, type Settings, load, sleep, spreadClients } from "./lib.ts";

const ENTITIES = Number(process.env.BENCH_CONTEXT_ENTITIES) || 100_000;
/** The context issue's goals, on a 2-core machine with the database and the load generator. */
const GOALS = {
  updates: { minRps: 5000 },
  get: { minRps: 10_000 },
  q: { minRps: 3000 },
  geo: {}, // printed, no goal set
  notification: { maxP99Ms: 100 },
} satisfies Record<string, Measurement["goal"]>;
const BATCH = 1000;
const PASSWORD = "bench-password-1";
// Đồng Tháp's bounding box (after the 2025 merger).
const BBOX = [105.18, 10.13, 106.82, 10.98] as const;
const TYPES = ["WaterObserved", "AirQualityObserved"];
/**
 * Distinct requests per mix. autocannon stops reporting responses (its "response" event) when a
 * connection cycles through thousands of requests (seen with 2000 here, with lib.ts's load() too),
 * so every mix stays at a few hundred.
 */
const PATHS = 200;

/** Wait until Sen answers promptly again: a backlog left by one phase must not spill into the next. */
async function settle(sen: SenUnderTest): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const t0 = performance.now();
    await fetch(`${sen.url}/api/health`).catch(() => undefined);
    if (performance.now() - t0 < 50) return;
    await sleep(500);
  }
}

const idOf = (i: number) => `urn:ngsi-ld:${TYPES[i % 2]}:bench-${i}`;

function entity(i: number, rand: () => number) {
  return {
    id: idOf(i),
    type: TYPES[i % 2],
    name: { type: "Property", value: `Điểm đo ${i}` },
    temperature: { type: "Property", value: Math.round((24 + rand() * 12) * 10) / 10, unitCode: "CEL", observedAt: "2026-11-27T00:00:00Z" },
    status: { type: "Property", value: rand() < 0.9 ? "ok" : "fault" },
    location: { type: "GeoProperty", value: { type: "Point", coordinates: [BBOX[0] + rand() * (BBOX[2] - BBOX[0]), BBOX[1] + rand() * (BBOX[3] - BBOX[1])] } },
  };
}

async function request(sen: SenUnderTest, method: string, path: string, token: string, body?: unknown): Promise<Response> {
  return fetch(sen.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Load the entities (skipped when a previous run on this database already did). */
async function ensureEntities(sen: SenUnderTest, token: string): Promise<{ loaded: number; seconds: number }> {
  const head = await request(sen, "GET", "/ngsi-ld/v1/entities?idPattern=bench-&limit=0&count=true", token);
  const have = Number(head.headers.get("ngsild-results-count") ?? 0);
  if (have >= ENTITIES) return { loaded: 0, seconds: 0 };
  const rand = mulberry32(2026);
  const t0 = performance.now();
  const batches: unknown[][] = [];
  for (let i = 0; i < ENTITIES; i += BATCH) batches.push(Array.from({ length: Math.min(BATCH, ENTITIES - i) }, (_, k) => entity(i + k, rand)));
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < batches.length) {
        const b = batches[next++];
        const res = await request(sen, "POST", "/ngsi-ld/v1/entityOperations/upsert", token, b);
        if (res.status !== 201 && res.status !== 204) throw new Error(`batch upsert answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      }
    }),
  );
  return { loaded: ENTITIES, seconds: Math.round((performance.now() - t0) / 100) / 10 };
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

function resultOf(latencies: number[], seconds: number, connections: number, paths: number, extra: Partial<LoadResult> = {}): LoadResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  const r2 = (n: number) => Math.round(n * 100) / 100;
  return {
    ok: latencies.length,
    seconds,
    rps: Math.round(latencies.length / seconds),
    latencyMs: {
      mean: r2(latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)),
      p50: r2(percentile(sorted, 50)),
      p90: r2(percentile(sorted, 90)),
      p99: r2(percentile(sorted, 99)),
      max: r2(sorted[sorted.length - 1] ?? Number.NaN),
    },
    non2xx: 0,
    statusCodes: {},
    errors: 0,
    timeouts: 0,
    connections,
    paths,
    loaderCpuPercent: 0,
    autocannon: { requestsPerSecondMean: 0, latencyP50: 0, latencyP99: 0, total: latencies.length, durationSeconds: seconds },
    ...extra,
  };
}

/** PATCH /entities/{id}/attrs at full speed (authenticated; autocannon with bodies). */
async function updates(sen: SenUnderTest, token: string, settings: Settings): Promise<LoadResult> {
  const rand = mulberry32(7);
  const requests = Array.from({ length: PATHS }, () => {
    const i = Math.floor(rand() * ENTITIES);
    return {
      method: "PATCH" as const,
      path: `/ngsi-ld/v1/entities/${idOf(i)}/attrs`,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ temperature: { type: "Property", value: Math.round((24 + rand() * 12) * 10) / 10, unitCode: "CEL" } }),
    };
  });
  const fire = (seconds: number, onResponse?: (status: number, ms: number) => void) =>
    new Promise<autocannon.Result>((resolve, reject) => {
      const inst = autocannon(
        { url: sen.url, connections: settings.connections, duration: seconds, requests, setupClient: spreadClients(requests, settings.connections) },
        (err, r) => (err ? reject(err) : resolve(r)),
      );
      if (onResponse) inst.on("response", (_c, status, _b, ms) => onResponse(status, ms));
    });
  if (settings.warmupSeconds) await fire(settings.warmupSeconds);
  const latencies: number[] = [];
  const cpu0 = sen.cpuSeconds();
  const t0 = performance.now();
  const end = t0 + settings.seconds * 1000;
  const r = await fire(settings.seconds, (status, ms) => {
    if (status >= 200 && status < 300 && performance.now() <= end) latencies.push(ms);
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = sen.cpuSeconds();
  return resultOf(latencies, settings.seconds, settings.connections, requests.length, {
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    serverCpuPercent: cpu0 !== undefined && cpu1 !== undefined ? Math.round(((cpu1 - cpu0) / wall) * 100) : undefined,
    serverRssMb: sen.rssMb(),
    autocannon: {
      requestsPerSecondMean: r.requests.mean,
      latencyP50: r.latency.p50,
      latencyP99: r.latency.p99,
      total: r.requests.total,
      durationSeconds: r.duration,
    },
  });
}

/**
 * Notification latency: a subscription on Sensor entities notifies a local receiver; updates are
 * sent at a steady rate (not at full speed, which measures queueing instead), each carrying its
 * send time; latency = arrival − send, so it includes the HTTP write, the commit, the job queue
 * and the POST.
 */
async function notifications(sen: SenUnderTest, token: string, settings: Settings): Promise<{ result: LoadResult; rate: number }> {
  const arrivals: number[] = [];
  let counting = false;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const now = Date.now();
      res.writeHead(204).end();
      if (!counting) return;
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { data: Array<{ sentAt?: number }> };
      for (const d of body.data) if (typeof d.sentAt === "number") arrivals.push(now - d.sentAt);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  try {
    const ids = Array.from({ length: 100 }, (_, i) => `urn:ngsi-ld:Sensor:n${i}`);
    const up = await request(
      sen,
      "POST",
      "/ngsi-ld/v1/entityOperations/upsert",
      token,
      ids.map((id) => ({ id, type: "Sensor", sentAt: { type: "Property", value: 0 } })),
    );
    if (up.status >= 300 && up.status !== 207) throw new Error(`sensor upsert answered ${up.status}`);
    const sub = await request(sen, "POST", "/ngsi-ld/v1/subscriptions", token, {
      type: "Subscription",
      entities: [{ type: "Sensor" }],
      watchedAttributes: ["sentAt"],
      notification: { format: "keyValues", attributes: ["sentAt"], endpoint: { uri: `http://127.0.0.1:${port}/notify` } },
    });
    if (sub.status !== 201) throw new Error(`subscription answered ${sub.status}: ${await sub.text()}`);
    const rate = 100; // updates per second
    const send = async (seconds: number) => {
      const t0 = Date.now();
      const inflight: Promise<unknown>[] = [];
      for (let k = 0; Date.now() - t0 < seconds * 1000; k++) {
        const due = t0 + (k * 1000) / rate;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        inflight.push(request(sen, "PATCH", `/ngsi-ld/v1/entities/${ids[k % ids.length]}/attrs`, token, { sentAt: { type: "Property", value: Date.now() } }));
        if (inflight.length > 500) await Promise.all(inflight.splice(0, 250));
      }
      await Promise.all(inflight);
    };
    await send(Math.max(1, settings.warmupSeconds));
    await sleep(500);
    counting = true;
    await send(settings.seconds);
    await sleep(2000);
    counting = false;
    return { result: resultOf(arrivals, settings.seconds, 1, ids.length), rate };
  } finally {
    await new Promise((r) => server.close(r));
  }
}

export const contextBenchmark: Benchmark = {
  name: "context",
  title: "NGSI-LD context broker (100,000 entities)",
  endpoints: [
    "PATCH /ngsi-ld/v1/entities/{id}/attrs",
    "GET /ngsi-ld/v1/entities/{id}",
    "GET /ngsi-ld/v1/entities?type&q",
    "GET /ngsi-ld/v1/entities?georel=near",
    "NGSI-LD notification (update → receiver)",
  ],
  async run(sen, settings) {
    const login = await fetch(`${sen.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: PASSWORD }),
    });
    if (login.status !== 200) throw new Error(`login answered ${login.status}`);
    const token = ((await login.json()) as { token: string }).token;
    const loaded = await ensureEntities(sen, token);
    for (const t of TYPES) {
      const res = await request(sen, "PUT", `/api/context/public-types/${t}`, token);
      if (res.status !== 204) throw new Error(`public-types answered ${res.status}`);
    }
    const rand = mulberry32(11);
    const getPaths = Array.from({ length: PATHS }, () => `/ngsi-ld/v1/entities/${idOf(Math.floor(rand() * ENTITIES))}`);
    const qPaths = Array.from(
      { length: PATHS },
      () =>
        `/ngsi-ld/v1/entities?type=${TYPES[Math.floor(rand() * 2)]}&q=${encodeURIComponent(`temperature>${(30 + rand() * 5).toFixed(1)};status=="ok"`)}&limit=20`,
    );
    const geoPaths = Array.from({ length: PATHS }, () => {
      const lon = (BBOX[0] + rand() * (BBOX[2] - BBOX[0])).toFixed(5);
      const lat = (BBOX[1] + rand() * (BBOX[3] - BBOX[1])).toFixed(5);
      return `/ngsi-ld/v1/entities?type=WaterObserved&georel=${encodeURIComponent("near;maxDistance==1500")}&geometry=Point&coordinates=${encodeURIComponent(`[${lon},${lat}]`)}&limit=20`;
    });
    // Right answers first: every path of each mix answers 200 with what it should.
    for (const p of [getPaths[0], qPaths[0], geoPaths[0]]) {
      const res = await fetch(sen.url + p);
      if (res.status !== 200) throw new Error(`${p} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    }
    const q = (await (await fetch(sen.url + qPaths[0])).json()) as Array<{ temperature: { value: number }; status: { value: string } }>;
    if (!q.length || q.some((e) => e.status.value !== "ok")) throw new Error("the q check returned no or wrong entities");
    // Sequential probes: what one request costs with nothing else queued.
    const probe = async (method: string, path: string, body?: unknown) => {
      const t0 = performance.now();
      const res = await request(sen, method, path, token, body);
      await res.arrayBuffer();
      return `${method} ${res.status} ${(performance.now() - t0).toFixed(1)} ms`;
    };
    const probes: string[] = [];
    for (let k = 0; k < 3; k++) {
      probes.push(await probe("GET", getPaths[k] as string));
      probes.push(await probe("PATCH", `/ngsi-ld/v1/entities/${idOf(k)}/attrs`, { temperature: { type: "Property", value: 30 } }));
    }
    if (process.env.BENCH_CONTEXT_DEBUG) console.log(probes.join("\n"));
    const loadNote = loaded.loaded
      ? `${loaded.loaded} entities loaded by batch upsert in ${loaded.seconds} s (${Math.round(loaded.loaded / loaded.seconds)}/s)`
      : "entities already loaded";

    const out: Measurement[] = [];
    await settle(sen);
    out.push({
      endpoint: "PATCH /ngsi-ld/v1/entities/{id}/attrs",
      result: await updates(sen, token, settings),
      goal: GOALS.updates,
      notes: [
        `random ids among ${ENTITIES}; each update writes the entity and its attribute history, in one transaction with the updates that arrive meanwhile`,
        loadNote,
      ],
    });
    await settle(sen);
    out.push({
      endpoint: "GET /ngsi-ld/v1/entities/{id}",
      result: await load({ server: sen, paths: getPaths, settings }),
      goal: GOALS.get,
      notes: [`anonymous read of a public type, ${PATHS} random ids`],
    });
    await settle(sen);
    out.push({
      endpoint: "GET /ngsi-ld/v1/entities?type&q",
      result: await load({ server: sen, paths: qPaths, settings }),
      goal: GOALS.q,
      notes: ['q=temperature>X;status=="ok", limit 20, over 50,000 entities of the type'],
    });
    await settle(sen);
    out.push({
      endpoint: "GET /ngsi-ld/v1/entities?georel=near",
      result: await load({ server: sen, paths: geoPaths, settings }),
      goal: GOALS.geo,
      notes: ["near;maxDistance==1500 m at random points in the province (GiST bbox prefilter + exact test)"],
    });
    await settle(sen);
    const n = await notifications(sen, token, settings);
    await settle(sen);
    out.push({
      endpoint: "NGSI-LD notification (update → receiver)",
      result: n.result,
      goal: GOALS.notification,
      notes: [`${n.rate} updates/s sent steadily; req/s = notifications received per second; p50/p99 = send of the PATCH → arrival of its notification`],
    });
    return out;
  },
};
