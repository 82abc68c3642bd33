// Why: the inference tests' common ground: one private Redis, one engine and one app with the given
// environment for the whole file (beforeAll/afterAll registered here); read `.t`, `.redis`, `.engine`
// inside tests.
import { afterAll, beforeAll } from 'vitest';
import { ControlledEngine, startApp, testConfig, type TestApp } from '../helpers/app.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';

export function useInferenceApp(env: Record<string, string>): { readonly t: TestApp; readonly redis: TestRedis; readonly engine: ControlledEngine } {
  const s: { t?: TestApp; redis?: TestRedis; engine?: ControlledEngine } = {};
  beforeAll(async () => {
    s.redis = await startTestRedis();
    s.engine = await ControlledEngine.create();
    s.t = await startApp(testConfig(s.redis.url, env), s.engine);
  });
  afterAll(async () => {
    await s.t?.close();
    await s.engine?.close();
    await s.redis?.stop();
  });
  return {
    get t() {
      return s.t!;
    },
    get redis() {
      return s.redis!;
    },
    get engine() {
      return s.engine!;
    },
  };
}
