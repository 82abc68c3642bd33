// Why: one compact access line per request (by default only for what is not a cache hit) and a
// request-duration histogram labelled by route pattern, never by URL: what an operator greps for and
// graphs, at a cost a sub-millisecond hit can carry.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildApp, loggerOptions } from '../../src/app.ts';
import { doorOf, shouldLog } from '../../src/shared/access-log.ts';
import { ControlledEngine, query, testConfig, useTestStack } from '../helpers/app.ts';
import type { TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
let engine: ControlledEngine;
useTestStack(async (s) => void ({ redis, engine } = s));

describe('shouldLog', () => {
  it.each([
    // mode, status, Cache-Status, logged
    ['misses', 200, 'hotpath; hit; ttl=59', false],
    ['misses', 200, 'hotpath; hit; ttl=-3; detail=stale', false],
    ['misses', 200, 'hotpath; fwd=miss; stored', true],
    ['misses', 200, 'hotpath; fwd=bypass; detail=write', true],
    ['misses', 200, undefined, true], // not a query (health, GPU, docs)
    ['misses', 429, 'hotpath; hit; ttl=1', true], // an error is always logged
    ['all', 200, 'hotpath; hit; ttl=59', true],
    ['off', 500, undefined, false],
  ] as const)('%s, %i, %s', (mode, status, cache, logged) => {
    expect(shouldLog(mode, status, cache)).toBe(logged);
  });

  it('doors by route pattern', () => {
    expect(['/v1/query', '/v1/statement', '/v1/statement/executing/:id/:slug/:token', '/v1/query/:id', '/v1/gpu/jobs/:id', '/v1/cache', '/healthz', '(no route)'].map(doorOf)).toEqual([
      'json', 'trino', 'trino', 'trino', 'gpu', 'admin', 'ops', 'ops',
    ]);
  });
});

async function logged(env: Record<string, string>, run: (url: string) => Promise<void>): Promise<{ lines: Record<string, unknown>[]; metrics: string }> {
  const config = testConfig(redis.url, { LOG_LEVEL: 'info', ...env });
  let out = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const app = await buildApp(config, { engine, defaultMetrics: false, logger: { ...loggerOptions(config), stream } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  let metrics = '';
  try {
    await run(url);
    metrics = await (await fetch(`${url}/metrics`)).text();
  } finally {
    await app.close();
  }
  const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { lines: lines.filter((l) => l.msg === 'request completed' && l.route !== '/metrics'), metrics };
}

describe('access lines', () => {
  const sql = `SELECT count(*) AS n FROM demo.sales.orders WHERE quantity = ${Math.floor(Math.random() * 1e6)}`;

  it('by default: one line per miss, error and non-query request, none per hit; no fastify "incoming request" lines', async () => {
    const { lines } = await logged({}, async (url) => {
      expect((await query(url, sql)).headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');
      for (let i = 0; i < 5; i++) expect((await query(url, sql)).headers.get('cache-status')).toMatch(/^hotpath; hit/);
      expect((await query(url, 'SELEC 1')).status).toBe(400);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    });
    expect(lines.map((l) => [l.method, l.route, l.status, l.cache])).toEqual([
      ['POST', '/v1/query', 200, 'hotpath; fwd=miss; stored'],
      ['POST', '/v1/query', 400, undefined],
      ['GET', '/healthz', 200, undefined],
    ]);
    for (const l of lines) {
      expect(typeof l.reqId).toBe('string');
      expect(typeof l.ms).toBe('number');
      expect(l).not.toHaveProperty('req'); // no request object: no headers for redaction to walk
    }
  });

  it('HOTPATH_ACCESS_LOG=all logs hits too; off logs no request line', async () => {
    const all = await logged({ HOTPATH_ACCESS_LOG: 'all' }, async (url) => {
      await query(url, sql);
      await query(url, sql);
    });
    expect(all.lines.map((l) => l.cache)).toEqual(['hotpath; fwd=miss; stored', expect.stringMatching(/^hotpath; hit/)]);
    const off = await logged({ HOTPATH_ACCESS_LOG: 'off' }, async (url) => {
      await query(url, `${sql} AND 1 = 1`);
    });
    expect(off.lines).toEqual([]);
  });

  it('the request-duration histogram is labelled by door and route pattern, never by URL', async () => {
    const { metrics } = await logged({ HOTPATH_GPU_ENABLED: 'true', HOTPATH_GPU_EXECUTOR: 'none' }, async (url) => {
      await query(url, sql);
      expect((await fetch(`${url}/v1/gpu/jobs/j-does-not-exist-42`)).status).toBe(404);
      expect((await fetch(`${url}/no/such/path/7`)).status).toBe(404);
    });
    expect(metrics).toMatch(/hotpath_http_request_duration_seconds_count\{door="json",route="\/v1\/query",method="POST",status="2xx"\} [1-9]/);
    expect(metrics).toMatch(/hotpath_http_request_duration_seconds_count\{door="gpu",route="\/v1\/gpu\/jobs\/:id",method="GET",status="4xx"\} 1/);
    expect(metrics).toMatch(/hotpath_http_request_duration_seconds_count\{door="ops",route="\(no route\)",method="GET",status="4xx"\} 1/);
    expect(metrics).not.toContain('j-does-not-exist-42');
    expect(metrics).not.toContain('/no/such/path');
  });
});
