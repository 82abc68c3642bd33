// Why: the real-Trino suite's hotpath apps: a private Redis per file, and the service built exactly as
// `npm start` builds it for HOTPATH_ENGINE=trino (createEngine from the config) or with the embedded
// DuckDB engine, listening on a loopback port.
import { afterAll, beforeAll, inject } from 'vitest';
import { createEngine } from '../../../src/query-cache/engines/create-engine.ts';
import type { Engine } from '../../../src/query-cache/engines/engine.ts';
import { startApp, testConfig, type TestApp } from '../../helpers/app.ts';
import { startTestRedis, type TestRedis } from '../../helpers/redis.ts';
import { DEMO_ORDER_ROWS } from '../global-setup.ts';

export interface TrinoSuiteStack {
  trinoUrl: string;
  redis: TestRedis;
  /** hotpath with the real Trino behind it (HOTPATH_ENGINE=trino, TRINO_URL). */
  upstream(env?: Record<string, string>): Promise<TestApp>;
  /** hotpath on its embedded DuckDB engine with the demo data (the tables the test Trino's demo catalog copies). */
  embedded(env?: Record<string, string>): Promise<TestApp>;
}

/** Per file: a Redis, and apps closed after the file. `ready` runs once everything is up. */
export function useTrinoSuite(ready: (stack: TrinoSuiteStack) => Promise<void> = async () => {}): void {
  const closers: (() => Promise<void>)[] = [];
  let redis: TestRedis | undefined;
  beforeAll(async () => {
    redis = await startTestRedis();
    const { url } = inject('trino');
    const r = redis;
    const app = async (env: Record<string, string>): Promise<TestApp> => {
      const config = testConfig(r.url, env);
      const engine: Engine = await createEngine(config);
      const started = await startApp(config, engine);
      closers.push(async () => {
        await started.close();
        await engine.close();
      });
      return started;
    };
    await ready({
      trinoUrl: url,
      redis: r,
      upstream: (env = {}) => app({ HOTPATH_ENGINE: 'trino', TRINO_URL: url, ...env }),
      embedded: (env = {}) => app({ HOTPATH_ENGINE: 'duckdb', HOTPATH_DEMO_ORDER_ROWS: String(DEMO_ORDER_ROWS), ...env }),
    });
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await redis?.stop();
  });
}
