#!/usr/bin/env node
// The `sen` command. Sen is written in TypeScript and runs from source through tsx, so a fresh
// clone needs no build step.
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
