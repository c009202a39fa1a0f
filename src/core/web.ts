// The web console and citizen app: one Vite build in web/dist, rebuilt on start when its sources
// are newer than the last build, and served by the same process with client-side routing.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { notFoundProblem } from "./http/server.ts";

const STAMP = ".build-stamp";
// Paths that belong to APIs: an unknown one is a 404 problem, never the web page.
const API_PREFIXES = ["/api/", "/ogc", "/open311/", "/ngsi-ld/", "/cap/", "/api/3/"];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "dist" || entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Build web/dist when it is missing or older than its sources; returns the dist folder. */
export async function ensureWebBuilt(root: string, logger: Logger): Promise<string | undefined> {
  const webDir = path.join(root, "web");
  const dist = path.join(webDir, "dist");
  if (!existsSync(path.join(webDir, "vite.config.ts"))) {
    logger.warn("web/vite.config.ts is missing: the console is not served");
    return undefined;
  }
  const sourceStamp = String(Math.floor(Math.max(newestMtime(webDir), statSync(path.join(root, "package-lock.json")).mtimeMs)));
  const stampFile = path.join(dist, STAMP);
  if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === sourceStamp) return dist;

  const started = Date.now();
  process.stdout.write("Building the web console (first start or changed sources)…\n");
  // Build beside the live folder, then swap, so a second process starting at the same moment
  // never serves a half-written build.
  const tmp = path.join(webDir, `.dist-${process.pid}`);
  // The build runs in a child process: bundling takes hundreds of MB that a server would keep.
  await new Promise<void>((resolve, reject) => {
    const vite = path.join(path.dirname(createRequire(import.meta.url).resolve("vite/package.json")), "bin/vite.js");
    const child = spawn(
      process.execPath,
      [vite, "build", webDir, "--config", path.join(webDir, "vite.config.ts"), "--outDir", tmp, "--emptyOutDir", "--logLevel", "warn"],
      {
        cwd: root,
        // Always the production build, whatever this process runs as (tests set NODE_ENV=test).
        env: { ...process.env, NODE_ENV: "production" },
        stdio: ["ignore", "inherit", "inherit"],
      },
    );
    child.on("error", reject);
    child.on("exit", (code, signal) => (code === 0 ? resolve() : reject(new Error(`the web build failed (${signal ?? `exit code ${code}`})`))));
  });
  writeFileSync(path.join(tmp, STAMP), sourceStamp);
  const old = path.join(webDir, `.dist-old-${process.pid}`);
  if (existsSync(dist)) renameSync(dist, old);
  try {
    renameSync(tmp, dist);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process won the race; use its build
  }
  rmSync(old, { recursive: true, force: true });
  logger.info({ ms: Date.now() - started }, "web console built");
  return dist;
}

export async function webRoutes(app: FastifyInstance, dist: string | undefined): Promise<void> {
  if (dist) {
    mkdirSync(dist, { recursive: true });
    await app.register(fastifyStatic, { root: dist, serve: false });
  }
  app.get("/*", { config: { access: "public" }, schema: { hide: true } }, async (req, reply) => {
    const urlPath = decodeURIComponent(req.url.split("?")[0]);
    if (!dist || API_PREFIXES.some((p) => urlPath.startsWith(p)) || urlPath.includes("\0")) {
      return reply.code(404).type("application/problem+json").send(notFoundProblem(req));
    }
    const rel = path
      .normalize(urlPath)
      .replace(/^(\.\.[/\\])+/, "")
      .replace(/^[/\\]+/, "");
    const file = path.join(dist, rel);
    if (file.startsWith(dist + path.sep) && existsSync(file) && statSync(file).isFile()) {
      const immutable = rel.startsWith("assets/");
      return reply.sendFile(rel, { maxAge: immutable ? 31_536_000_000 : 0, immutable });
    }
    if (path.extname(rel)) return reply.code(404).type("application/problem+json").send(notFoundProblem(req));
    // Client-side routes: the citizen app under /app, the console everywhere else.
    reply.header("Cache-Control", "no-cache");
    return reply.sendFile(urlPath === "/app" || urlPath.startsWith("/app/") ? "app/index.html" : "index.html", { maxAge: 0 });
  });
}
