#!/usr/bin/env -S node --max-semi-space-size=32
// The `sen` command. Sen is written in TypeScript and runs compiled: the sources in src/ are
// compiled to dist/ here whenever they changed (about a second), so a fresh clone needs no build
// step. A larger young generation (--max-semi-space-size=32, also in `npm start`) means fewer
// garbage collections per request: ~30% less CPU per request on the embedded database.
import { buildServer } from "./build.js";

buildServer();
await import("../dist/cli.js");
