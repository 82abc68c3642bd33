// Why: the JSON door as a user sees it, over a real socket, with real Redis and DuckDB: hits, per-user
// keys, shared rules, every bypass reason, bigint exactness, and clear 4xx errors for bad input.
import { describe, expect, it } from 'vitest';
import { ControlledEngine, query, startApp, testConfig, type TestApp, useTestStack } from '../helpers/app.ts';
import type { TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
let engine: ControlledEngine;
let h: TestApp;
useTestStack(async (s) => {
  ({ redis, engine } = s);
  h = await s.app({
    HOTPATH_CACHE_RULES: JSON.stringify([{ tables: ['demo.ops.*'], shared: true }]),
    HOTPATH_CACHE_MAX_ENTRY_BYTES: '4096',
    HOTPATH_MAX_SQL_BYTES: '2048',
  });
});

describe('POST /v1/query', () => {
  it('misses, stores, then hits with the same bytes, Cache-Status and Age', async () => {
    const sql = 'SELECT region, count(*) AS n FROM demo.sales.customers GROUP BY region ORDER BY region';
    const first = await query(h.url, sql, { user: 'alice' });
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');
    expect(first.headers.get('age')).toBeNull();
    expect(first.body.columns).toEqual([{ name: 'region', type: 'varchar' }, { name: 'n', type: 'bigint' }]);
    expect(first.body.rowCount).toBe(first.body.rows.length);
    expect(first.body.rowCount).toBeGreaterThan(1);

    const second = await query(h.url, `  ${sql.replace(' FROM', '\n  FROM')} -- same query, other layout\n`, { user: 'alice' });
    expect(second.status).toBe(200);
    expect(second.headers.get('cache-status')).toMatch(/^hotpath; hit; ttl=\d+$/);
    expect(second.headers.get('age')).toMatch(/^\d+$/);
    expect(second.text).toBe(first.text);
    expect(engine.executions(sql)).toBe(1);
  });

  it("never serves user A's entry to user B", async () => {
    const sql = 'SELECT count(*) AS n FROM demo.sales.orders WHERE quantity > 3';
    const a1 = await query(h.url, sql, { user: 'alice' });
    const b1 = await query(h.url, sql, { user: 'bob' });
    const anon = await query(h.url, sql);
    expect(a1.headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');
    expect(b1.headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');
    expect(anon.headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');
    expect(engine.executions(sql)).toBe(3);
    expect((await query(h.url, sql, { user: 'bob' })).headers.get('cache-status')).toMatch(/hit/);
  });

  it('shares an entry across users when an admin rule says the tables are shared', async () => {
    const sql = 'SELECT node, avg(utilization_pct) AS u FROM demo.ops.gpu_usage GROUP BY node ORDER BY node';
    const a = await query(h.url, sql, { user: 'alice' });
    const b = await query(h.url, sql, { user: 'bob' });
    expect(a.headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');
    expect(b.headers.get('cache-status')).toMatch(/^hotpath; hit/);
    expect(b.text).toBe(a.text);
    expect(engine.executions(sql)).toBe(1);
  });

  it('keeps a query per-user when it joins a shared table with a non-shared one', async () => {
    const sql = 'SELECT count(*) FROM demo.ops.gpu_usage g, demo.sales.orders o WHERE o.order_id = g.gpu_index';
    await query(h.url, sql, { user: 'alice' });
    const b = await query(h.url, sql, { user: 'bob' });
    expect(b.headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');
  });

  it.each([
    ['nondeterministic', 'SELECT now() AS t'],
    ['nondeterministic', 'SELECT random() AS r'],
    ['system-table', 'SELECT count(*) AS n FROM information_schema.tables'],
  ])('bypasses (%s): %s', async (reason, sql) => {
    const before = engine.executions(sql);
    const r1 = await query(h.url, sql, { user: 'carol' });
    const r2 = await query(h.url, sql, { user: 'carol' });
    expect(r1.headers.get('cache-status')).toBe(`hotpath; fwd=bypass; detail=${reason}`);
    expect(r2.headers.get('cache-status')).toBe(`hotpath; fwd=bypass; detail=${reason}`);
    expect(engine.executions(sql) - before).toBe(2);
  });

  it('bypasses (rule) when an admin rule says cache: false', async () => {
    const other = await startApp(testConfig(redis.url, { HOTPATH_CACHE_RULES: '[{"tables":["demo.sales.*"],"cache":false}]' }), engine);
    try {
      const sql = 'SELECT count(*) AS n FROM demo.sales.customers WHERE segment = \'enterprise\'';
      const r1 = await query(other.url, sql, { user: 'carol' });
      const r2 = await query(other.url, sql, { user: 'carol' });
      expect(r1.headers.get('cache-status')).toBe('hotpath; fwd=bypass; detail=rule');
      expect(r2.headers.get('cache-status')).toBe('hotpath; fwd=bypass; detail=rule');
      expect(engine.executions(sql)).toBe(2);
    } finally {
      await other.close();
    }
  });

  it('bypasses (not-read-only) when writes are allowed; multi-statement and unparsable SQL are never cached', async () => {
    const other = await startApp(testConfig(redis.url, { HOTPATH_ALLOW_WRITES: 'true' }), engine);
    try {
      const sql = 'EXPLAIN ANALYZE SELECT 1'; // executes the query: not read-only
      const r = await query(other.url, sql, { user: 'carol' });
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-status')).toBe('hotpath; fwd=bypass; detail=not-read-only');
      for (const bad of ['SELECT 1; SELECT 2', "SELECT 'unterminated"]) {
        const r1 = await query(other.url, bad, { user: 'carol' });
        const r2 = await query(other.url, bad, { user: 'carol' });
        expect(r1.status).toBe(400); // syntax errors, refused before the engine; never stored or served from cache
        expect(r1.body.error).toMatchObject({ code: 'SQL_ERROR', errorName: 'SYNTAX_ERROR' });
        expect(r2.body).toEqual(r1.body);
        expect(engine.executions(bad)).toBe(0);
      }
    } finally {
      await other.close();
    }
  });

  it('with L1 off, hits come from Redis; large entries are gzip-compressed there and sent as the original bytes', async () => {
    const other = await startApp(testConfig(redis.url, { HOTPATH_L1_MAX_BYTES: '0', HOTPATH_CACHE_COMPRESS_MIN_BYTES: '1024' }), engine);
    try {
      const sql = 'SELECT customer_id, name, region FROM demo.sales.customers ORDER BY customer_id LIMIT 300';
      const miss = await query(other.url, sql, { user: 'zoe' });
      const hit = await query(other.url, sql, { user: 'zoe' });
      expect(hit.headers.get('cache-status')).toMatch(/^hotpath; hit/);
      expect(hit.text).toBe(miss.text);
      expect(Buffer.byteLength(miss.text)).toBeGreaterThan(10_000);
      const l2 = other.app.queryCache.store.l2.redis;
      const keys = await l2.keys(`${other.config.redisPrefix}g*:e:*`);
      const sizes = await Promise.all(keys.map((k) => l2.strlen(k)));
      expect(Math.min(...sizes)).toBeLessThan(Buffer.byteLength(miss.text) / 2); // compressed
      const metrics = await (await fetch(`${other.url}/metrics`)).text();
      expect(metrics).toMatch(/^hotpath_cache_tier_hits_total\{tier="l2"\} 1$/m);
    } finally {
      await other.close();
    }
  });

  it('serves results over the size cap without storing them', async () => {
    const sql = 'SELECT * FROM demo.sales.customers ORDER BY customer_id LIMIT 200';
    const r1 = await query(h.url, sql, { user: 'dave' });
    const r2 = await query(h.url, sql, { user: 'dave' });
    expect(r1.status).toBe(200);
    expect(r1.body.rowCount).toBe(200);
    expect(Buffer.byteLength(r1.text)).toBeGreaterThan(4096);
    expect(r1.headers.get('cache-status')).toBe('hotpath; fwd=miss; detail=too-large');
    expect(r2.headers.get('cache-status')).toBe('hotpath; fwd=miss; detail=too-large');
    expect(engine.executions(sql)).toBe(2);
  });

  it('refuses writes with 403 NOT_READ_ONLY (writes are off by default)', async () => {
    const r = await query(h.url, 'DROP TABLE demo.sales.orders', { user: 'eve' });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('NOT_READ_ONLY');
    expect(engine.executions('DROP TABLE demo.sales.orders')).toBe(0);
  });

  it('refuses session statements with 403 (the JSON door has no session to carry them; the Trino door does)', async () => {
    for (const sql of ['USE demo.ops', "SET SESSION query_max_run_time = '1h'", 'START TRANSACTION']) {
      const r = await query(h.url, sql, { user: 'eve' });
      expect(r.status, sql).toBe(403);
      expect(r.body.error.code).toBe('NOT_READ_ONLY');
      expect(engine.executions(sql)).toBe(0);
    }
  });

  it('round-trips bigints past 2^53 bit-exact, on the miss and on the hit', async () => {
    const sql = 'SELECT 9007199254740993::BIGINT AS big, -9223372036854775807::BIGINT AS min, 9223372036854775807::BIGINT AS max, 12.30::DECIMAL(10,2) AS d';
    const miss = await query(h.url, sql, { user: 'alice' });
    const hit = await query(h.url, sql, { user: 'alice' });
    expect(miss.text).toContain('[[9007199254740993,-9223372036854775807,9223372036854775807,"12.30"]]');
    expect(hit.headers.get('cache-status')).toMatch(/hit/);
    expect(hit.text).toBe(miss.text);
    expect(miss.body.columns.map((c: { type: string }) => c.type)).toEqual(['bigint', 'bigint', 'bigint', 'decimal(10, 2)']);
  });

  it('a negative zero double keeps its sign (-0.0, as Trino writes it), on the miss and on the hit', async () => {
    const sql = "SELECT CAST('-0.0' AS DOUBLE) AS negzero, CAST(0 AS DOUBLE) AS zero, [CAST('-0.0' AS DOUBLE)] AS nested";
    const miss = await query(h.url, sql, { user: 'alice' });
    const hit = await query(h.url, sql, { user: 'alice' });
    expect(miss.text).toContain('[[-0.0,0,[-0.0]]]');
    expect(hit.text).toBe(miss.text);
    expect(Object.is(miss.body.rows[0][0], -0)).toBe(true);
  });

  it('Cache-Control: no-cache forces a refresh and stores the new result', async () => {
    const sql = 'SELECT max(order_id) AS m FROM demo.sales.orders';
    await query(h.url, sql, { user: 'alice' });
    const forced = await query(h.url, sql, { user: 'alice', headers: { 'cache-control': 'no-cache' } });
    expect(forced.headers.get('cache-status')).toBe('hotpath; fwd=request; stored');
    expect(engine.executions(sql)).toBe(2);
    expect((await query(h.url, sql, { user: 'alice' })).headers.get('cache-status')).toMatch(/hit/);
  });

  it('refuses session property names outside the schema pattern', async () => {
    const r = await query(h.url, 'SELECT 1', { user: 'alice', body: { session: { 'a b': 'x' } } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('BAD_REQUEST');
  });

  it('answers an engine SQL error with 400 and the engine error name, and stores nothing', async () => {
    const sql = 'SELECT * FROM demo.sales.no_such_table';
    const r1 = await query(h.url, sql, { user: 'alice' });
    const r2 = await query(h.url, sql, { user: 'alice' });
    expect(r1.status).toBe(400);
    expect(r1.body.error).toMatchObject({ code: 'SQL_ERROR', errorName: expect.any(String) });
    expect(r1.body.error.message).toMatch(/no_such_table/);
    expect(r2.status).toBe(400);
    expect(engine.executions(sql)).toBe(2);
  });
});

describe('bad input gets a clear JSON 4xx', () => {
  const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${h.url}/v1/query`, { method: 'POST', headers, body }).then(async (r) => ({ status: r.status, type: r.headers.get('content-type'), body: await r.json() }));

  it.each([
    ['malformed JSON', '{"sql": ', 400, 'BAD_REQUEST'],
    ['missing sql', '{"catalog":"demo"}', 400, 'BAD_REQUEST'],
    ['sql not a string', '{"sql": 42}', 400, 'BAD_REQUEST'],
    ['empty sql', '{"sql": ""}', 400, 'BAD_REQUEST'],
    ['unknown field', '{"sql":"SELECT 1","cache":"yes"}', 400, 'BAD_REQUEST'],
    ['session not strings', '{"sql":"SELECT 1","session":{"a":1}}', 400, 'BAD_REQUEST'],
    ['comment-only sql', '{"sql":"-- nothing"}', 400, 'BAD_REQUEST'],
    ['oversized sql', JSON.stringify({ sql: `SELECT '${'x'.repeat(3000)}'` }), 413, 'SQL_TOO_LARGE'],
    ['oversized body', JSON.stringify({ sql: 'SELECT 1', pad: 'x'.repeat(200_000) }), 413, 'BODY_TOO_LARGE'],
  ])('%s', async (_name, body, status, code) => {
    const r = await post(body);
    expect(r.status).toBe(status);
    expect(r.type).toMatch(/application\/json/);
    expect(r.body.error.code).toBe(code);
    expect(typeof r.body.error.message).toBe('string');
    expect(JSON.stringify(r.body)).not.toMatch(/ at .*\.ts:\d+/); // no stack trace
  });

  it('wrong content type -> 415 JSON', async () => {
    const r = await post('SELECT 1', { 'content-type': 'text/plain' });
    expect(r.status).toBe(415);
    expect(r.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('unknown route -> 404 JSON, not HTML', async () => {
    const r = await fetch(`${h.url}/v1/nope`);
    expect(r.status).toBe(404);
    expect((await r.json()).error.code).toBe('NOT_FOUND');
  });
});

describe('service endpoints', () => {
  it('/healthz, /readyz and /metrics answer', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { redis: 'ok', cache: 'ok', engine: 'ok' } });
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    for (const name of [
      'hotpath_query_requests_total{door="json",result="hit"',
      'hotpath_query_requests_total{door="json",result="bypass",reason="nondeterministic"}',
      'hotpath_engine_execution_seconds_bucket',
      'hotpath_cache_hit_seconds_bucket',
      'hotpath_cache_tier_hits_total{tier="l1"}',
      'hotpath_cache_stored_bytes_total',
      'hotpath_cache_evictions_total',
      'hotpath_cache_collapsed_waiters_total',
      'hotpath_admission_queue_depth',
      'hotpath_cache_invalidation_channel_up 1',
    ]) {
      expect(metrics).toContain(name);
    }
    expect(metrics).not.toMatch(/alice|SELECT/); // no user names or SQL as label values
  });

  it('/docs/json describes POST /v1/query from the validation schema', async () => {
    const doc = await (await fetch(`${h.url}/docs/json`)).json();
    const op = doc.paths['/v1/query'].post;
    expect(op.requestBody.content['application/json'].schema.required).toEqual(['sql']);
    expect(doc.paths['/v1/cache'].delete).toBeDefined();
  });
});
