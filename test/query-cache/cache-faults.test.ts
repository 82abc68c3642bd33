// Why: faults degrade service but never corrupt it. Redis dies -> queries still answer (bypass) and the
// cache comes back by itself; stale entries are served while refreshing (once) and when the engine
// fails; a burst beyond the admission limits waits, and only a full queue is refused with Retry-After.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlledEngine, query, startApp, testConfig, unreachable, type TestApp, useTestStack } from '../helpers/app.ts';
import type { TestRedis } from '../helpers/redis.ts';

/** The admin these tests invalidate as (HOTPATH_ADMIN_USERS=ops: with HOTPATH_AUTH=none only listed users are admins). */
const OPS = { 'x-trino-user': 'ops' };

let redis: TestRedis;
let engine: ControlledEngine;

const until = async (cond: () => boolean | Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

useTestStack(async (s) => void ({ redis, engine } = s));

describe('Redis down', () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await startApp(testConfig(redis.url, { HOTPATH_ADMIN_USERS: 'ops' }), engine);
  });
  afterAll(async () => h?.close());

  it('answers 200 from the engine while Redis is dead, and caches again once it is back', async () => {
    const sql = 'SELECT count(*) AS n FROM demo.sales.orders WHERE quantity = 7';
    expect((await query(h.url, sql, { user: 'alice' })).headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');

    await redis.kill();
    await until(() => !h.app.queryCache.store.available());
    for (let i = 0; i < 3; i++) {
      const r = await query(h.url, sql, { user: 'alice' });
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-status')).toBe('hotpath; fwd=bypass; detail=cache-unavailable');
      expect(r.body.rows).toHaveLength(1);
    }
    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).toBe(503);
    expect((await ready.json()).checks.redis).toMatch(/failed/);
    const inv = await fetch(`${h.url}/v1/cache?all=true`, { method: 'DELETE', headers: OPS });
    expect(inv.status).toBe(503);
    expect((await inv.json()).error.code).toBe('CACHE_UNAVAILABLE');

    await redis.restart(); // empty: the new Redis has nothing
    await until(() => h.app.queryCache.store.available());
    expect((await query(h.url, sql, { user: 'alice' })).headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');
    expect((await query(h.url, sql, { user: 'alice' })).headers.get('cache-status')).toMatch(/^hotpath; hit/);
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
  });
});

describe('freshness', () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await startApp(
      testConfig(redis.url, {
        HOTPATH_CACHE_RULES: JSON.stringify([
          { tables: ['demo.sales.orders'], ttlSeconds: 1, swrSeconds: 60, staleIfErrorSeconds: 60 },
          { tables: ['demo.sales.customers'], ttlSeconds: 1, swrSeconds: 0, staleIfErrorSeconds: 60 },
        ]),
      }),
      engine,
    );
  });
  afterAll(async () => h?.close());

  it('serves stale while revalidating, and refreshes exactly once for a burst', async () => {
    const sql = 'SELECT count(*) AS n FROM demo.sales.orders WHERE status = \'pending\'';
    const first = await query(h.url, sql, { user: 'alice' });
    await new Promise((r) => setTimeout(r, 1100)); // past the 1 s TTL, inside the SWR window
    engine.delayMs = 200;
    try {
      const burst = await Promise.all(Array.from({ length: 10 }, () => query(h.url, sql, { user: 'alice' })));
      for (const r of burst) {
        expect(r.status).toBe(200);
        expect(r.headers.get('cache-status')).toMatch(/^hotpath; hit; ttl=-\d+; detail=stale-while-revalidate$/);
        expect(r.text).toBe(first.text);
      }
      await until(() => engine.executions(sql) === 2 && !h.app.queryCache.admission.runningCount);
    } finally {
      engine.delayMs = 0;
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.executions(sql)).toBe(2);
    const fresh = await query(h.url, sql, { user: 'alice' });
    expect(fresh.headers.get('cache-status')).toMatch(/^hotpath; hit; ttl=\d+$/);
  });

  it('serves stale when the engine is unreachable (stale-if-error), and 502 JSON when nothing is cached', async () => {
    const sql = 'SELECT count(*) AS n FROM demo.sales.customers WHERE region = \'europe\'';
    const first = await query(h.url, sql, { user: 'alice' });
    await new Promise((r) => setTimeout(r, 1100)); // expired, no SWR window, inside stale-if-error
    engine.failWith = unreachable();
    try {
      const stale = await query(h.url, sql, { user: 'alice' });
      expect(stale.status).toBe(200);
      expect(stale.headers.get('cache-status')).toMatch(/^hotpath; hit; ttl=-\d+; detail=stale-if-error$/);
      expect(stale.text).toBe(first.text);

      const cold = await query(h.url, 'SELECT count(*) FROM demo.sales.customers WHERE region = \'africa\'', { user: 'alice' });
      expect(cold.status).toBe(502);
      expect(cold.body.error.code).toBe('ENGINE_UNAVAILABLE');
    } finally {
      engine.failWith = undefined;
    }
    const refreshed = await query(h.url, sql, { user: 'alice' });
    expect(refreshed.headers.get('cache-status')).toBe('hotpath; fwd=stale; stored');
  });
});

describe('admission control', () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await startApp(
      testConfig(redis.url, {
        HOTPATH_MAX_CONCURRENT_PER_USER: '1',
        HOTPATH_MAX_CONCURRENT_EXECUTIONS: '2',
        HOTPATH_MAX_QUEUED: '2',
        HOTPATH_MAX_QUEUE_WAIT_MS: '5000',
      }),
      engine,
    );
  });
  afterAll(async () => h?.close());

  it('queues misses over the limits and refuses only past the queue bound, with Retry-After', async () => {
    engine.delayMs = 300;
    try {
      const sqls = Array.from({ length: 4 }, (_, i) => `SELECT ${i} AS admission_${i}`);
      const answers = await Promise.all(sqls.map((sql) => query(h.url, sql, { user: 'greedy' })));
      // one runs, two wait in the queue, the fourth finds the queue full
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 200, 200, 429]);
      const refused = answers.find((r) => r.status === 429)!;
      expect(refused.body.error.code).toBe('QUEUE_FULL');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      engine.delayMs = 0;
    }
  });

  it('one user at its limit does not block another user', async () => {
    engine.delayMs = 300;
    try {
      const slow = query(h.url, 'SELECT 1 AS slow_one', { user: 'greedy' });
      const admission = h.app.queryCache.admission;
      await until(() => admission.runningCount === 1);
      const other = query(h.url, 'SELECT 2 AS other_user', { user: 'polite' });
      // polite is admitted next to greedy's running query instead of queueing behind it
      await until(() => admission.runningCount === 2);
      expect(admission.queuedCount).toBe(0);
      expect((await other).status).toBe(200);
      expect((await slow).status).toBe(200);
    } finally {
      engine.delayMs = 0;
    }
  });
});
