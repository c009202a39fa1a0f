// Compiles the server (src/, TypeScript) to dist/ (JavaScript), when the sources changed since the
// last build. Sen runs the compiled code: transpiling at start (tsx) costs ~60 MB of resident
// memory for as long as the server runs (a loader thread and the transpiled sources).
//
// Each file is transpiled on its own (TypeScript's transpileModule: no type check, ~1 s for the
// whole tree; `npm run typecheck` checks types). Files that are not TypeScript (migrations, JSON)
// are copied beside them. The build is written beside dist/ and swapped in, so a second process
// starting at the same moment never runs a half-written build.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SRC = path.join(ROOT, "src");
const DIST = path.join(ROOT, "dist");
const STAMP = ".build-stamp";

function files(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) files(p, out);
    else out.push(p);
  }
  return out;
}

/** What the build depends on: every source file's name, size and time, the compiler and its settings. */
function fingerprint(sources) {
  const hash = createHash("sha256");
  for (const f of [...sources, path.join(ROOT, "tsconfig.json"), path.join(ROOT, "package-lock.json"), fileURLToPath(import.meta.url)]) {
    const s = statSync(f);
    hash.update(`${path.relative(ROOT, f)}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return hash.digest("hex");
}

/** Build dist/ unless it is up to date; returns true when it built. */
export function buildServer({ quiet = false } = {}) {
  const sources = files(SRC).sort();
  const stamp = fingerprint(sources);
  const stampFile = path.join(DIST, STAMP);
  if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) return false;

  const started = Date.now();
  if (!quiet) process.stdout.write("Compiling the server (first start or changed sources)…\n");
  const ts = createRequire(import.meta.url)("typescript");
  const config = ts.readConfigFile(path.join(ROOT, "tsconfig.json"), ts.sys.readFile);
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, "\n"));
  const { options } = ts.convertCompilerOptionsFromJson(config.config.compilerOptions, ROOT);
  // package.json says "type": "module": every file is an ES module.
  Object.assign(options, {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    noEmit: false,
    sourceMap: true,
    inlineSources: false,
  });

  const tmp = path.join(ROOT, `.dist-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  for (const file of sources) {
    const rel = path.relative(SRC, file);
    mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
    if (!file.endsWith(".ts")) {
      copyFileSync(file, path.join(tmp, rel));
      continue;
    }
    const out = rel.replace(/\.ts$/, ".js");
    const result = ts.transpileModule(readFileSync(file, "utf8"), { compilerOptions: options, fileName: file, reportDiagnostics: true });
    if (result.diagnostics?.length) {
      const d = result.diagnostics[0];
      throw new Error(`${rel}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    }
    writeFileSync(path.join(tmp, out), result.outputText);
    if (result.sourceMapText) writeFileSync(path.join(tmp, `${out}.map`), result.sourceMapText);
  }
  writeFileSync(path.join(tmp, STAMP), stamp);

  const old = path.join(ROOT, `.dist-old-${process.pid}`);
  try {
    renameSync(DIST, old);
  } catch {
    // no build yet, or another process is swapping in its own
  }
  try {
    renameSync(tmp, DIST);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process won the race; use its build
  }
  rmSync(old, { recursive: true, force: true });
  if (!quiet) process.stdout.write(`Compiled ${sources.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s.\n`);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) buildServer();
