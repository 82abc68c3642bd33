// Why: tests run against real Redis/DuckDB/sockets; give them room on a 2-core machine, and run files
// in separate processes so each file's private redis-server and engine stay its own.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
