// Why: tests run against real Redis/DuckDB/sockets; give them room on a 2-core machine, and run files
// in separate processes so each file's private redis-server and engine stay its own.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real-Trino suite has its own config and command (vitest.trino.config.ts, npm run test:trino).
    // So have the chart checks (vitest.charts.config.ts, npm run charts:check).
    exclude: ['test/trino/**', 'test/charts/**', '**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
