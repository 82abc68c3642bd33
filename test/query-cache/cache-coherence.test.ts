// Why: two hotpath replicas on one Redis must behave as one cache: one engine execution for N identical
// concurrent misses (across both), errors reaching every waiter, and invalidation reaching the other
// replica's in-process L1.
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/query-cache/engines/engine.ts';
import { ControlledEngine, query, testConfig, type TestApp, useTestStack } from '../helpers/app.ts';

/** The admin these tests invalidate as (HOTPATH_ADMIN_USERS=ops: with HOTPATH_AUTH=none only listed users are admins). */
const OPS = { 'x-trino-user': 'ops' };

let engine: ControlledEngine;
let a: TestApp;
let b: TestApp;
useTestStack(async (s) => {
  engine = s.engine;
  const config = testConfig(s.redis.url, { HOTPATH_ADMIN_USERS: 'ops', HOTPATH_MAX_CONCURRENT_PER_USER: '64', HOTPATH_MAX_CONCURRENT_EXECUTIONS: '64' });
  a = await s.app(config); // same prefix: two replicas of one deployment
  b = await s.app(config);
});

describe('single-flight across replicas', () => {
  it('50 concurrent identical misses over two replicas -> one engine execution', async () => {
    engine.delayMs = 150; // keep the leader busy while the others arrive
    try {
      const sql = 'SELECT status, sum(total_amount) AS total FROM demo.sales.orders GROUP BY status ORDER BY status';
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => query(i % 2 ? a.url : b.url, sql, { user: 'alice' })));
      expect(answers.map((r) => r.status)).toEqual(Array(50).fill(200));
      expect(new Set(answers.map((r) => r.text)).size).toBe(1);
      expect(engine.executions(sql)).toBe(1);
      const statuses = answers.map((r) => r.headers.get('cache-status'));
      expect(statuses.filter((s) => s === 'hotpath; fwd=miss; stored')).toHaveLength(1);
      expect(statuses.filter((s) => s === 'hotpath; fwd=miss; collapsed').length).toBeGreaterThanOrEqual(40);
      const metrics = (await (await fetch(`${a.url}/metrics`)).text()) + (await (await fetch(`${b.url}/metrics`)).text());
      const collapsed = [...metrics.matchAll(/^hotpath_cache_collapsed_waiters_total (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
      expect(collapsed).toBeGreaterThanOrEqual(40);
    } finally {
      engine.delayMs = 0;
    }
  });

  it('an engine error reaches every waiter on both replicas, and nothing is stored', async () => {
    engine.delayMs = 150;
    const sql = 'SELECT 42 AS will_fail';
    engine.failWith = new EngineError('user', 'DIVISION_BY_ZERO', 'Division by zero');
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => query(i % 2 ? a.url : b.url, sql, { user: 'bob' })));
      expect(answers.map((r) => r.status)).toEqual(Array(20).fill(400));
      for (const r of answers) expect(r.body.error).toEqual({ code: 'SQL_ERROR', message: 'Division by zero', errorName: 'DIVISION_BY_ZERO' });
      expect(engine.executions(sql)).toBe(1);
    } finally {
      engine.failWith = undefined;
      engine.delayMs = 0;
    }
    const after = await query(a.url, sql, { user: 'bob' });
    expect(after.status).toBe(200);
    expect(after.headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');
    expect(engine.executions(sql)).toBe(2);
  });
});

describe('invalidation', () => {
  it("by table removes the entry from Redis and from the other replica's L1", async () => {
    const sql = 'SELECT count(*) AS n FROM demo.sales.orders WHERE status = \'shipped\'';
    const other = 'SELECT count(*) AS n FROM demo.sales.customers';
    await query(a.url, sql, { user: 'carol' });
    await query(a.url, other, { user: 'carol' });
    // b reads it twice: the second answer comes from b's own L1
    expect((await query(b.url, sql, { user: 'carol' })).headers.get('cache-status')).toMatch(/hit/);
    expect((await query(b.url, sql, { user: 'carol' })).headers.get('cache-status')).toMatch(/hit/);
    const before = (await (await fetch(`${b.url}/metrics`)).text()).match(/^hotpath_cache_tier_hits_total\{tier="l1"\} (\d+)/m);
    expect(Number(before?.[1])).toBeGreaterThanOrEqual(1);

    const res = await fetch(`${a.url}/v1/cache?table=demo.sales.orders`, { method: 'DELETE', headers: OPS });
    expect(res.status).toBe(200);
    expect((await res.json()).invalidated).toBeGreaterThanOrEqual(1);

    const executions = engine.executions(sql);
    // The message reaches b over its own Redis subscription: in this one process b may take the next
    // request off its socket before that message ("barring network delay", README). Within a moment it
    // must miss, execute once and store.
    let again = await query(b.url, sql, { user: 'carol' });
    for (const deadline = Date.now() + 1000; /hit/.test(again.headers.get('cache-status') ?? '') && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 10));
      again = await query(b.url, sql, { user: 'carol' });
    }
    expect(again.headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');
    expect(engine.executions(sql)).toBe(executions + 1);
    // an entry on another table is untouched
    expect((await query(b.url, other, { user: 'carol' })).headers.get('cache-status')).toMatch(/hit/);
  });

  it('by user removes only that user\'s entries; all=true removes everything', async () => {
    const sql = 'SELECT min(order_date) AS d FROM demo.sales.orders';
    await query(a.url, sql, { user: 'dave' });
    await query(a.url, sql, { user: 'erin' });
    await query(b.url, sql, { user: 'dave' }); // into b's L1
    const byUser = await (await fetch(`${a.url}/v1/cache?user=dave`, { method: 'DELETE', headers: OPS })).json();
    expect(byUser.invalidated).toBeGreaterThanOrEqual(1);
    expect((await query(b.url, sql, { user: 'dave' })).headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');
    expect((await query(b.url, sql, { user: 'erin' })).headers.get('cache-status')).toMatch(/hit/);

    const all = await (await fetch(`${b.url}/v1/cache?all=true`, { method: 'DELETE', headers: OPS })).json();
    expect(all.invalidated).toBeGreaterThanOrEqual(2);
    expect((await query(a.url, sql, { user: 'erin' })).headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');
    expect((await query(b.url, sql, { user: 'dave' })).headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');
  });

  it('an invalidation during a running miss keeps its (stale) result out of the cache', async () => {
    const sql = 'SELECT max(total_amount) AS m FROM demo.sales.orders';
    engine.delayMs = 300;
    try {
      const pending = query(a.url, sql, { user: 'frank' });
      await new Promise((r) => setTimeout(r, 100)); // the query is now executing
      await fetch(`${b.url}/v1/cache?table=demo.sales.orders`, { method: 'DELETE', headers: OPS });
      const r = await pending;
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-status')).toBe('hotpath; fwd=miss; detail=invalidated');
    } finally {
      engine.delayMs = 0;
    }
    expect((await query(a.url, sql, { user: 'frank' })).headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');
  });

  it('rejects a request naming no target, or two', async () => {
    for (const qs of ['', '?table=demo.sales.orders&user=x', '?table=orders', '?all=maybe']) {
      const res = await fetch(`${a.url}/v1/cache${qs}`, { method: 'DELETE', headers: OPS });
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe('BAD_REQUEST');
    }
  });
});
