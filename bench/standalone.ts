// A benchmark that brings its own servers and ceilings (e.g. ingest: brokers, Sen with MQTT
// settings), instead of measuring HTTP endpoints on the Sen the runner starts. bench/run.ts runs
// these after the HTTP benchmarks and appends their report and results.
import type { PostgresServer, Settings } from "./lib.ts";

export interface StandaloneContext {
  settings: Settings;
  /** The PostgreSQL server to use, or why there is none (then PostgreSQL targets are skipped). */
  postgres: { server?: PostgresServer; note?: string };
}

export interface StandaloneResult {
  /** Markdown: one section with its table and notes, printed after the HTTP tables. */
  report: string;
  /** Everything measured, saved under its name in bench/results/latest.json. */
  json: Record<string, unknown>;
  /** A target was flagged (loss, errors) or failed: the run exits with 1. */
  flagged: boolean;
}

export interface StandaloneBenchmark {
  standalone: true;
  /** Short name used on the command line: `npm run bench -- ingest`. */
  name: string;
  title: string;
  run(ctx: StandaloneContext): Promise<StandaloneResult>;
}
