// Once before all suites: compile the server (bin/build.js), so the system tests' `sen` processes,
// started several at a time, find dist/ ready instead of each building and swapping it in.
import path from "node:path";
import { fileURLToPath } from "node:url";

export default async function setup(): Promise<void> {
  const build = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/build.js");
  const { buildServer } = (await import(build)) as { buildServer: (o?: { quiet?: boolean }) => boolean };
  buildServer({ quiet: true });
}
