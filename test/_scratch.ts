import { spawnSync } from "node:child_process";
import { dbTargets, startSen } from "./helpers.ts";
const sen = await startSen(dbTargets()[0]);
await sen.app.listen({ port: 0, host: "127.0.0.1" });
const port = (sen.app.server.address() as any).port;
const { execFile } = await import("node:child_process");
await new Promise<void>((res) => execFile("ogrinfo", ["-ro", "-al", "-so", `OAPIF:http://127.0.0.1:${port}/ogc`, "communes"], (e, out, err) => { console.log(e?.code, out, err); res(); }));
const o = (await sen.app.inject({ url: "/api/openapi.json" })).json();
console.log(o.openapi, Object.keys(o.paths).length, Object.keys(o.paths).slice(0, 40), Object.keys(o.components.securitySchemes));
const c1 = await sen.app.inject({ url: "/api/health", headers: { origin: "https://evil.example" } });
console.log(c1.headers["access-control-allow-origin"]);
const c2 = await sen.app.inject({ method: "OPTIONS", url: "/api/health", headers: { origin: "https://evil.example", "access-control-request-method": "GET" } });
console.log(c2.statusCode, c2.headers, c2.body);
await sen.dispose();
const sen2 = await startSen(dbTargets()[0], { SEN_CORS_ORIGINS: "https://portal.example.vn" });
for (const origin of ["https://portal.example.vn", "https://evil.example"]) {
const r = await sen2.app.inject({ url: "/api/health", headers: { origin } });
console.log(origin, r.headers["access-control-allow-origin"], r.headers["access-control-allow-credentials"], r.headers.vary);
const p = await sen2.app.inject({ method: "OPTIONS", url: "/api/auth/login", headers: { origin, "access-control-request-method": "POST" } });
console.log(p.statusCode, p.headers["access-control-allow-origin"], p.body.slice(0, 200));
}
await sen2.dispose();
