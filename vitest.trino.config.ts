// Why: the real-Trino suite (npm run test:trino) runs apart from npm test: it needs Java and a Trino
// server (test/trino/global-setup.ts starts one for the whole run and loads the demo tables), so npm
// test stays fast and Java-free. One file at a time: the server and its JVM clients share 2 cores.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/trino/**/*.test.ts'],
    globalSetup: ['test/trino/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
