// Real `sen` processes for system tests: spawn `bin/sen.js …` from the repository root with a
// minimal environment, watch its output, and make sure none outlives the test that started it.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const tempDirs: string[] = [];

/** A fresh temporary folder, removed by cleanup(). */
export function tempDir(prefix = "sen-sys-"): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** process.env without anything that configures Sen, plus the given overrides. */
export function senEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("SEN_") || k.startsWith("MQTT_") || ["DATABASE_URL", "PORT", "HOST", "LOG_LEVEL", "TEST_DATABASE_URL"].includes(k)) continue;
    env[k] = v;
  }
  // The web console is not under test here: skip its build (SEN_WEB=0).
  return { ...env, MQTT_PORT: "0", HOST: "127.0.0.1", SEN_WEB: "0", LOG_LEVEL: "warn", ...overrides };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<SenProcess>();

export class SenProcess {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<Exit>;
  exit?: Exit;
  private waiters: Array<() => void> = [];

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    // bin/sen.js itself, as `npm start` and `npx sen` run it: its first line sets the process's memory settings.
    this.child = spawn(path.join(ROOT, "bin/sen.js"), args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    live.add(this);
    this.child.stdout?.setEncoding("utf8").on("data", (s: string) => {
      this.stdout += s;
      this.poke();
    });
    this.child.stderr?.setEncoding("utf8").on("data", (s: string) => {
      this.stderr += s;
      this.poke();
    });
    this.exited = new Promise((resolve) => {
      this.child.once("close", (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        this.poke();
        resolve(this.exit);
      });
    });
  }

  get output(): string {
    return `${this.stdout}\n${this.stderr}`;
  }

  private poke() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolve with the first match of re in the output; reject when the process ends first or after ms. */
  waitFor(re: RegExp, ms = 90_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${re} in the output after ${ms / 1000} s:\n${this.output}`)), ms);
      const check = () => {
        const m = this.output.match(re);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        } else if (this.exit) {
          clearTimeout(timer);
          reject(new Error(`sen exited (${JSON.stringify(this.exit)}) before printing ${re}:\n${this.output}`));
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** Wait for the process to end; SIGKILL it after ms. */
  async done(ms = 60_000): Promise<Exit> {
    const timer = setTimeout(() => this.child.kill("SIGKILL"), ms);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(signal: NodeJS.Signals = "SIGTERM", ms = 30_000): Promise<Exit> {
    if (!this.exit) this.child.kill(signal);
    return this.done(ms);
  }
}

/** Start `sen start` and wait until it prints its URL. */
export async function startServer(env: NodeJS.ProcessEnv): Promise<{ proc: SenProcess; url: string }> {
  const proc = new SenProcess(["start"], env);
  const m = await proc.waitFor(/is running at (http:\/\/\S+)/);
  return { proc, url: m[1] };
}

/** Run a `sen` command to its end. */
export async function runSen(args: string[], env: NodeJS.ProcessEnv, ms = 90_000): Promise<Exit & { stdout: string; stderr: string; output: string }> {
  const proc = new SenProcess(args, env);
  const exit = await proc.done(ms);
  return { ...exit, stdout: proc.stdout, stderr: proc.stderr, output: proc.output };
}

/** SIGKILL every process still alive and remove the temporary folders. */
export async function cleanup(): Promise<void> {
  await Promise.all(
    [...live].map((p) => {
      p.child.kill("SIGKILL");
      return p.exited;
    }),
  );
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** POST /api/auth/login; returns the HTTP status and the token when it worked. */
export async function login(url: string, username: string, password: string): Promise<{ status: number; token?: string; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, token: typeof body.token === "string" ? body.token : undefined, body };
}
