// Sen as an operator runs it: real `sen` processes, real ports, real data folders.
import { readdirSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb } from "../../src/core/db.ts";
import { createDatabase, dropDatabase } from "../helpers.ts";
import { ROOT, type SenProcess, cleanup, freePort, login, runSen, senEnv, startServer, tempDir } from "./proc.ts";

const SERVER_URL = process.env.TEST_DATABASE_URL;
const GENERATED_PASSWORD = /sign in as "admin" with password: (\S+)/;
const SLOW = 180_000;

const health = async (url: string) => {
  const res = await fetch(`${url}/api/health`);
  return { status: res.status, body: (await res.json()) as { status: string; database: { driver: string } } };
};

describe("first start, second process, stop and restart on the embedded database", () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let first: SenProcess;
  let url: string;
  let password: string;
  beforeAll(() => {
    dataDir = tempDir();
  });
  afterAll(cleanup);

  it(
    "prints the URL and a generated admin password that signs in",
    async () => {
      const port = await freePort();
      env = senEnv({ PORT: String(port), SEN_DATA_DIR: dataDir });
      ({ proc: first, url } = await startServer(env));
      expect(url).toBe(`http://127.0.0.1:${port}`);
      const m = first.stdout.match(GENERATED_PASSWORD);
      expect(m, first.output).not.toBeNull();
      password = m?.[1] ?? "";
      const signIn = await login(url, "admin", password);
      expect(signIn.status).toBe(200);
      const me = await fetch(`${url}/api/auth/me`, { headers: { authorization: `Bearer ${signIn.token}` } });
      expect(((await me.json()) as { name: string }).name).toBe("admin");
      expect((await login(url, "admin", `${password}x`)).status).toBe(401);
    },
    SLOW,
  );

  it(
    "refuses a second process on the same data folder, naming SEN_DATA_DIR, and keeps the first running",
    async () => {
      const second = await runSen(["start"], { ...env, PORT: String(await freePort()) });
      expect(second.code, second.output).not.toBe(0);
      expect(second.code, second.output).not.toBeNull();
      expect(second.stderr).toContain("SEN_DATA_DIR");
      expect((await health(url)).status).toBe(200);
    },
    SLOW,
  );

  it(
    "stops on SIGTERM with exit code 0",
    async () => {
      expect(await first.stop("SIGTERM")).toEqual({ code: 0, signal: null });
      await expect(fetch(`${url}/api/health`)).rejects.toThrow();
    },
    SLOW,
  );

  it(
    "keeps its data across a restart: no new password, the first one still works, 102 communes",
    async () => {
      const { proc, url: again } = await startServer(env);
      expect(proc.stdout).not.toMatch(GENERATED_PASSWORD);
      expect((await login(again, "admin", password)).status).toBe(200);
      const communes = (await (await fetch(`${again}/api/geo/units?parent=82`)).json()) as unknown[];
      expect(communes).toHaveLength(102);
      expect(await proc.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    },
    SLOW,
  );
});

describe.concurrent("invalid configuration stops start-up with a message naming the variable", () => {
  afterAll(cleanup);
  const cases: Array<[string, string]> = [
    ["PORT", "abc"],
    ["DATABASE_URL", "mysql://x"],
    ["LOG_LEVEL", "loud"],
    ["SEN_DEMO", "maybe"],
    // Not a province: found only after the database is opened on a first start.
    ["SEN_PROVINCE", "99"],
  ];
  for (const [variable, value] of cases) {
    it(
      `${variable}=${value}`,
      async () => {
        const env = senEnv({ PORT: String(await freePort()), SEN_DATA_DIR: tempDir(), [variable]: value });
        const r = await runSen(["start"], env);
        expect(r.code, r.output).not.toBe(0);
        expect(r.code, r.output).not.toBeNull();
        expect(r.stderr).toContain(variable);
        expect(r.stdout).not.toMatch(/is running at/);
      },
      SLOW,
    );
  }
});

describe.skipIf(!SERVER_URL)("two processes starting at once on one fresh PostgreSQL database", () => {
  let dbUrl: string;
  beforeAll(async () => {
    dbUrl = await createDatabase(SERVER_URL as string);
  });
  afterAll(async () => {
    await cleanup();
    if (dbUrl) await dropDatabase(SERVER_URL as string, dbUrl);
  });

  it(
    "both come up; migrations, communes and the admin exist once",
    async () => {
      const envs = await Promise.all([1, 2].map(async () => senEnv({ PORT: String(await freePort()), SEN_DATA_DIR: tempDir(), DATABASE_URL: dbUrl })));
      const servers = await Promise.all(envs.map((e) => startServer(e)));
      for (const s of servers) {
        const h = await health(s.url);
        expect(h.status).toBe(200);
        expect(h.body.database.driver).toBe("postgres");
      }

      const onDisk = readdirSync(path.join(ROOT, "src"), { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .flatMap((d) => {
          try {
            return readdirSync(path.join(ROOT, "src", d.name, "migrations"))
              .filter((f) => f.endsWith(".sql"))
              .map((f) => `${d.name}/${f}`);
          } catch {
            return [];
          }
        })
        .sort();
      expect(onDisk.length).toBeGreaterThan(0);

      const client = new pg.Client({ connectionString: dbUrl });
      await client.connect();
      try {
        const migrations = await client.query<{ module: string; name: string; n: number }>(
          "SELECT module, name, count(*)::int AS n FROM sen_migrations GROUP BY 1, 2 ORDER BY 1, 2",
        );
        expect(migrations.rows.every((r) => r.n === 1)).toBe(true);
        expect(migrations.rows.map((r) => `${r.module}/${r.name}`).sort()).toEqual(onDisk);
        const communes = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM geo.units WHERE parent_code = '82'");
        expect(communes.rows[0].n).toBe(102);
        const admins = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM core.users WHERE username = 'admin'");
        expect(admins.rows[0].n).toBe(1);
      } finally {
        await client.end();
      }

      // Exactly one of them created the admin and shows its password, which works on both.
      const shown = servers.map((s) => s.proc.stdout.match(GENERATED_PASSWORD)?.[1]).filter((p): p is string => Boolean(p));
      expect(shown).toHaveLength(1);
      for (const s of servers) expect((await login(s.url, "admin", shown[0])).status).toBe(200);

      for (const s of servers) expect(await s.proc.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    },
    SLOW,
  );
});

const auditTargets: Array<{ name: string; open(): Promise<{ env: Record<string, string>; tamper(sql: string): Promise<void>; drop(): Promise<void> }> }> = [
  {
    name: "the embedded database",
    async open() {
      const dataDir = tempDir();
      return {
        env: { SEN_DATA_DIR: dataDir },
        async tamper(sql) {
          const db = await openDb({ dataDir: path.join(dataDir, "pgdata") });
          try {
            await db.query(sql);
          } finally {
            await db.close();
          }
        },
        drop: async () => {},
      };
    },
  },
];
if (SERVER_URL)
  auditTargets.push({
    name: "PostgreSQL",
    async open() {
      const url = await createDatabase(SERVER_URL);
      return {
        env: { SEN_DATA_DIR: tempDir(), DATABASE_URL: url },
        async tamper(sql) {
          const db = await openDb({ url, poolSize: 1 });
          try {
            await db.query(sql);
          } finally {
            await db.close();
          }
        },
        drop: () => dropDatabase(SERVER_URL, url),
      };
    },
  });

for (const target of auditTargets) {
  describe(`sen migrate and sen audit verify on a stopped Sen on ${target.name}`, () => {
    let env: NodeJS.ProcessEnv;
    let handle: Awaited<ReturnType<(typeof auditTargets)[number]["open"]>>;
    beforeAll(async () => {
      handle = await target.open();
      env = senEnv({ PORT: String(await freePort()), ...handle.env });
      // A short life: the admin is created (entry 1) and signs in (entry 2).
      const { proc, url } = await startServer(env);
      const password = proc.stdout.match(GENERATED_PASSWORD)?.[1] ?? "";
      expect((await login(url, "admin", password)).status).toBe(200);
      expect(await proc.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    }, SLOW);
    afterAll(async () => {
      await cleanup();
      await handle?.drop();
    });

    it(
      "migrate and audit verify succeed",
      async () => {
        const migrate = await runSen(["migrate"], env);
        expect(migrate.code, migrate.output).toBe(0);
        const verify = await runSen(["audit", "verify"], env);
        expect(verify.code, verify.output).toBe(0);
        const m = verify.stdout.match(/intact: (\d+) entries/);
        expect(m, verify.output).not.toBeNull();
        expect(Number(m?.[1])).toBeGreaterThanOrEqual(2);
      },
      SLOW,
    );

    it(
      "audit verify fails and names the entry after one row is edited in the database",
      async () => {
        await handle.tamper(`UPDATE core.audit_log SET details = '{"tampered":true}' WHERE id = 2`);
        const verify = await runSen(["audit", "verify"], env);
        expect(verify.code, verify.output).not.toBe(0);
        expect(verify.code, verify.output).not.toBeNull();
        expect(verify.output).toMatch(/entry 2\b/);
      },
      SLOW,
    );
  });
}

describe("sen user add and sen apikey create, used at the next start", () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let server: { proc: SenProcess; url: string };
  const cliOutput: string[] = [];
  beforeAll(() => {
    dataDir = tempDir();
  });
  afterAll(cleanup);

  it(
    "the new user signs in and the new API key reads the audit trail",
    async () => {
      env = senEnv({ PORT: String(await freePort()), SEN_DATA_DIR: dataDir });
      const user = await runSen(["user", "add", "clerk", "--role", "operator", "--agency", "TTCDS", "--password", "clerk-password-1"], env);
      cliOutput.push(user.output);
      expect(user.code, user.output).toBe(0);
      expect(user.stdout).toMatch(/clerk/);
      const key = await runSen(["apikey", "create", "--name", "gis", "--permission", "audit:read"], env);
      cliOutput.push(key.output);
      expect(key.code, key.output).toBe(0);
      const apiKey = key.stdout.match(/^(sen_\S+)\s*$/m)?.[1];
      expect(apiKey, key.output).toBeDefined();

      server = await startServer(env);
      const clerk = await login(server.url, "clerk", "clerk-password-1");
      expect(clerk.status).toBe(200);
      expect(clerk.body.user).toMatchObject({ username: "clerk", roles: ["operator"], agency: "TTCDS" });

      const audit = await fetch(`${server.url}/api/audit?action=user.create`, { headers: { "x-api-key": apiKey as string } });
      expect(audit.status).toBe(200);
      const { entries } = (await audit.json()) as { entries: Array<{ action: string; details: { username?: string } }> };
      expect(entries.some((e) => e.details.username === "clerk")).toBe(true);
      expect((await fetch(`${server.url}/api/audit`)).status).toBe(401);
      expect((await fetch(`${server.url}/api/audit`, { headers: { "x-api-key": `${apiKey}x` } })).status).toBe(401);
    },
    SLOW,
  );

  it(
    "the first admin password is shown even when a CLI command set the folder up before the first start",
    async () => {
      const shown = [...cliOutput, server.proc.stdout].join("\n").match(/(?:admin[^\n]*password|admin password):?\s+([A-Za-z0-9_-]{8,})/i)?.[1];
      expect(shown, "neither `sen user add`, `sen apikey create` nor the first `sen start` showed the admin password").toBeDefined();
      expect((await login(server.url, "admin", shown as string)).status).toBe(200);
    },
    SLOW,
  );
});
