#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=32768 node --max-semi-space-size=8 --heap-growing-percent=50
// The `sen` command. Sen is written in TypeScript and runs compiled: the sources in src/ are
// compiled to dist/ here whenever they changed (a few seconds), so a fresh clone needs no build
// step, and the running server carries no transpiler (~60 MB less memory than tsx).
//
// The first line sets how the process uses memory, for every way of running `sen` (npm start, npx
// sen, ./bin/sen.js): glibc keeps two malloc arenas instead of one per thread and returns blocks of
// 32 KB and more to the system when they are freed (threads compiling PostgreSQL's WebAssembly,
// and the 64 KB chunks of an upload, otherwise leave tens of MB resident for good), V8's young
// generation stays at 2 × 8 MB, and V8 lets the old generation grow to 1.5 × what the last full
// collection left before the next one (by default up to 4 ×: under sustained writes, such as
// 10,000 package_create calls, the server went from ~210 to 347 MB). Together: about 100 MB less
// resident memory on the embedded database (BENCHMARKS.md, "Memory settings for the sen process"
// and "Memory, second pass"). `node bin/sen.js` works too, without these settings.
import { buildServer } from "./build.js";

buildServer();
await import("../dist/cli.js");
