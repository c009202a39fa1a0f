// The `sen` command: start the server and run administrative tasks.
import { randomBytes } from "node:crypto";
import os from "node:os";
import { parseArgs } from "node:util";
import { ROOT, createSen, openServices } from "./app.ts";
import { type Config, ConfigError, loadConfig } from "./core/config.ts";
import { SYSTEM, runWithContext } from "./core/context.ts";
import { MigrationError } from "./core/migrate.ts";
import { DEMO_PASSWORD } from "./core/seed.ts";
import { ensureWebBuilt } from "./core/web.ts";
import { runSimulateCommand } from "./iot/simulator.ts";
import pino from "pino";

const HELP = `Sen — the province's digital operations platform

Usage: sen <command> [options]

  start                       start the server (PORT, HOST, DATABASE_URL … see README)
  migrate                     apply pending database migrations
  seed                        (re)load the province's units, boundaries and agencies
  audit verify                check the audit trail's hash chain; exit 1 at the first bad entry
  user add <username>         create a user
      --name "Display Name" --role admin|operator|agency_officer|publisher|citizen (repeatable)
      --agency CODE  --password P (or SEN_USER_PASSWORD; a random one is printed when neither)
  apikey create               create an API key for a machine client (printed once)
      --name NAME --permission P (repeatable) --agency CODE --expires-days N (default 365)
  build-web                   build the web console into web/dist
  simulate                    run the demo devices against a running Sen over MQTT
      --url http://localhost:8080 --mqtt mqtt://localhost:1883 --speed N --interval S --no-faults
      (registers them with SEN_API_KEY or SEN_ADMIN_PASSWORD)
`;

const cliActor = () => ({ ...SYSTEM, name: `cli:${os.userInfo().username}` });

async function withServices<T>(config: Config, fn: (s: Awaited<ReturnType<typeof openServices>>) => Promise<T>): Promise<T> {
  const services = await openServices({ config, logger: pino({ level: config.logLevel === "info" ? "warn" : config.logLevel }) });
  try {
    return await runWithContext({ actor: cliActor() }, () => fn(services));
  } finally {
    await services.close();
  }
}

/** First-start load before a CLI command; the generated admin password must not be lost. */
async function seedAndTell(s: Awaited<ReturnType<typeof openServices>>): Promise<void> {
  const r = await s.seed();
  if (r.admin?.generated) process.stdout.write(`Province loaded. Sign in as "admin" with password: ${r.admin.password}   (shown once)\n`);
}

async function start(config: Config): Promise<void> {
  const t0 = Date.now();
  const sen = await createSen({ config });
  const address = await sen.app.listen({ port: config.port, host: config.host });
  const port = (sen.app.server.address() as { port: number }).port;
  const url = `http://${config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host}:${port}`;
  const lines = [
    "",
    `Sen ${sen.services.config.province === "82" ? "– Tỉnh Đồng Tháp " : ""}is running at ${url}  (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    `  database: ${sen.services.db.driver === "pglite" ? `embedded PostgreSQL in ${config.dataDir}` : "PostgreSQL server (DATABASE_URL)"}`,
    `  console:  ${url}/        citizen app: ${url}/app/        API docs: ${url}/api/docs`,
    sen.mqttPort
      ? `  devices:  mqtt://${new URL(url).hostname}:${sen.mqttPort} (access token as MQTT user name)`
      : `  devices:  through the external broker ${config.mqttUrl?.replace(/\/\/[^@]*@/, "//")}`,
  ];
  const admin = sen.seeded.admin;
  if (admin?.generated) lines.push(`  sign in as "admin" with password: ${admin.password}   (shown once — change it after signing in)`);
  else if (admin) lines.push(`  sign in as "admin" with the password from SEN_ADMIN_PASSWORD`);
  else lines.push(`  sign in as "admin" (or any user) with your password`);
  if (sen.seeded.demoUsers.length) lines.push(`  demo users ${sen.seeded.demoUsers.join(", ")} — password: ${DEMO_PASSWORD}`);
  process.stdout.write(`${lines.join("\n")}\n\n`);
  sen.app.log.info({ address }, "listening");

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    sen.app.log.info({ signal }, "shutting down: finishing requests in flight");
    const force = setTimeout(() => {
      sen.app.log.error("shutdown took over 20 s; exiting");
      process.exit(1);
    }, 20_000);
    force.unref();
    await sen.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(HELP);
    return command ? 0 : 1;
  }
  // The simulator is a client of a running Sen; it does not need the server's configuration.
  if (command === "simulate") return runSimulateCommand(rest, process.env);
  const config = loadConfig();

  switch (command) {
    case "start":
      await start(config);
      return -1; // keep running
    case "migrate":
      return withServices(config, async () => {
        process.stdout.write("Database is up to date.\n");
        return 0;
      });
    case "seed":
      return withServices(config, async (s) => {
        const r = await s.seed({ force: true });
        process.stdout.write(`Province ${config.province} loaded.${r.admin ? ` Admin password: ${r.admin.password}` : ""}\n`);
        return 0;
      });
    case "audit": {
      if (rest[0] !== "verify") break;
      return withServices(config, async (s) => {
        const r = await s.audit.verify();
        if (r.ok) {
          process.stdout.write(`Audit trail intact: ${r.entries} entries, last hash ${r.lastHash}\n`);
          return 0;
        }
        process.stderr.write(`Audit trail BROKEN at entry ${r.badId}: ${r.reason}. ${r.entries} entries before it are intact.\n`);
        return 1;
      });
    }
    case "user": {
      if (rest[0] !== "add") break;
      const { values, positionals } = parseArgs({
        args: rest.slice(1),
        allowPositionals: true,
        options: {
          name: { type: "string" },
          role: { type: "string", multiple: true },
          agency: { type: "string" },
          password: { type: "string" },
          email: { type: "string" },
        },
      });
      const username = positionals[0];
      if (!username) throw new UsageError("user add needs a user name: sen user add <username> --role operator");
      const password = values.password ?? process.env.SEN_USER_PASSWORD ?? randomBytes(12).toString("base64url");
      return withServices(config, async (s) => {
        await seedAndTell(s);
        const u = await s.accounts.createUser({
          username,
          displayName: values.name ?? username,
          password,
          roles: values.role ?? [],
          agency: values.agency,
          email: values.email,
        });
        process.stdout.write(
          `User ${u.username} created (${u.roles.join(", ") || "no roles"}).${values.password || process.env.SEN_USER_PASSWORD ? "" : ` Password: ${password}`}\n`,
        );
        return 0;
      });
    }
    case "apikey": {
      if (rest[0] !== "create") break;
      const { values } = parseArgs({
        args: rest.slice(1),
        options: { name: { type: "string" }, permission: { type: "string", multiple: true }, agency: { type: "string" }, "expires-days": { type: "string" } },
      });
      if (!values.name) throw new UsageError("apikey create needs --name");
      const days = values["expires-days"] === undefined ? 365 : Number(values["expires-days"]);
      if (!Number.isInteger(days) || days < 1 || days > 3650) throw new UsageError("--expires-days must be a whole number from 1 to 3650");
      return withServices(config, async (s) => {
        await seedAndTell(s);
        const r = await s.accounts.createApiKey(
          {
            name: values.name as string,
            permissions: values.permission ?? [],
            agency: values.agency,
            expiresAt: new Date(Date.now() + days * 86_400_000).toISOString(),
          },
          cliActor(),
        );
        process.stdout.write(`API key "${r.apiKey.name}" (expires ${r.apiKey.expiresAt}). Shown only now:\n${r.key}\n`);
        return 0;
      });
    }
    case "build-web":
      await ensureWebBuilt(ROOT, pino({ level: config.logLevel }));
      return 0;
  }
  throw new UsageError(`unknown command: ${argv.join(" ")}\n\n${HELP}`);
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`Configuration error — ${err.message}\n`);
    else if (err instanceof UsageError || err instanceof MigrationError) process.stderr.write(`${err.message}\n`);
    else if (err && typeof err === "object" && "status" in err && "message" in err) process.stderr.write(`${(err as unknown as Error).message}\n`);
    else process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(2);
  },
);
