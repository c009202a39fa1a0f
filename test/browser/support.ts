// What the browser tests share: a real Sen started as in production (its own process, a fresh data
// folder, the web console built) and Debian's chromium driven by playwright-core.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Browser, chromium } from "playwright-core";
import { ROOT, freePort } from "../system/proc.ts";

export { ROOT };
export const RESULTS = path.join(ROOT, "test-results");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const PASSWORD = "browser-test-Passw0rd!";

export interface ConsoleServer {
  base: string;
  stop(): Promise<void>;
}

/** Start `sen start` with the web console and wait until it answers (the first start builds the web). */
export async function startConsoleServer(prefix: string): Promise<ConsoleServer> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium was not found at ${CHROMIUM}. Install it (apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary.`);
  }
  mkdirSync(RESULTS, { recursive: true });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // As in production: without the NODE_ENV=test Vitest sets for itself, and without the demo fleet.
  const { NODE_ENV: _testEnv, SEN_DEMO: _demo, ...env } = process.env;
  const server: ChildProcess = spawn(path.join(ROOT, "bin/sen.js"), ["start"], {
    cwd: ROOT,
    env: { ...env, PORT: String(port), HOST: "127.0.0.1", MQTT_PORT: "0", SEN_DATA_DIR: dataDir, SEN_ADMIN_PASSWORD: PASSWORD, LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const collect = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  server.stdout?.on("data", collect);
  server.stderr?.on("data", collect);
  let exited: number | null = null;
  server.once("exit", (code) => {
    exited = code ?? -1;
  });
  const stop = async () => {
    if (server.exitCode === null) {
      const stopped = new Promise((r) => server.once("exit", r));
      server.kill("SIGTERM");
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 10_000))]);
      if (server.exitCode === null) server.kill("SIGKILL");
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited !== null) {
      await stop();
      throw new Error(`the server exited with code ${exited} before it was ready:\n${log}`);
    }
    try {
      if ((await fetch(`${base}/api/health`)).status === 200) return { base, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the server did not answer /api/health within 120 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Debian's chromium, headless, with nothing reaching out to the network on its own. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}
