#!/usr/bin/env node
// The `sen` command. Sen is written in TypeScript and runs compiled: the sources in src/ are
// compiled to dist/ here whenever they changed (a few seconds), so a fresh clone needs no build
// step, and the running server carries no transpiler (~60 MB less memory than tsx).
import { buildServer } from "./build.js";

buildServer();
await import("../dist/cli.js");
