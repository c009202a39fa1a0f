import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Suites start real databases and servers; two at a time suits a 2-core machine.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
