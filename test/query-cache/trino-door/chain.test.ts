// Why: the deployment shape, end to end with real clients: trino-client -> hotpath (engine=trino) ->
// hotpath's own Trino door (engine=duckdb) standing in for a Trino coordinator. The front answers what
// the back answers, bit for bit, and repeats come from the front's cache without reaching the back.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BasicAuth, Trino } from 'trino-client';
import { createTrinoEngine } from '../../../src/query-cache/engines/trino-engine.ts';
import { ControlledEngine, startApp, testConfig, type TestApp, useTestStack, rawTrinoPages } from '../../helpers/app.ts';
import type { TestRedis } from '../../helpers/redis.ts';

let redis: TestRedis;
let duck: ControlledEngine;
let back: TestApp;
let front: TestApp;
useTestStack(async (s) => {
  ({ redis, engine: duck } = s);
  back = await s.app();
  const upstream = createTrinoEngine({ url: back.url, requestTimeoutMs: 30_000, statementTimeoutMs: 30_000 });
  s.onClose(() => upstream.close()); // after the front app closes
  front = await s.app({ HOTPATH_ENGINE: 'trino', TRINO_URL: back.url }, upstream);
});

async function rowsVia(server: string, sql: string, user = 'alice'): Promise<{ columns: unknown; rows: unknown[][] }> {
  const iter = await Trino.create({ server, catalog: 'demo', schema: 'sales', auth: new BasicAuth(user) }).query(sql);
  const rows: unknown[][] = [];
  let columns: unknown;
  for await (const page of iter) {
    if (page.error) throw new Error(page.error.message);
    columns ??= page.columns;
    rows.push(...(page.data ?? []));
  }
  return { columns, rows };
}

describe('trino-client -> hotpath (trino) -> hotpath door (duckdb)', () => {
  it('answers exactly what the upstream answers, then serves repeats from its own cache', async () => {
    const sql = `SELECT c.region, o.status, count(*) AS n, sum(o.total_amount) AS total, max(o.created_at) AS last_at
      FROM demo.sales.orders o JOIN demo.sales.customers c USING (customer_id) GROUP BY 1, 2 ORDER BY 1, 2`;
    const direct = await rowsVia(back.url, sql, 'bob');
    const before = duck.executions(sql);
    const viaFront = await rowsVia(front.url, sql);
    expect(viaFront).toEqual(direct);
    expect(duck.executions(sql)).toBe(before + 1);
    const again = await rowsVia(front.url, sql);
    expect(again).toEqual(direct);
    expect(duck.executions(sql)).toBe(before + 1); // the front's cache answered
  });

  it('keeps bigints past 2^53 bit-exact through both hops', async () => {
    const raw = await rawTrinoPages(front.url, 'SELECT 9007199254740993::BIGINT AS b, -9223372036854775807::BIGINT AS m');
    expect(raw).toContain('"data":[[9007199254740993,-9223372036854775807]]');
  });

  it('pages a large result through both hops', async () => {
    const sql = 'SELECT order_id, status, total_amount FROM demo.sales.orders CROSS JOIN range(3) ORDER BY order_id';
    const { rows } = await rowsVia(front.url, sql);
    expect(rows).toHaveLength(60_000);
  });

  it('passes upstream SQL errors through as Trino errors', async () => {
    await expect(rowsVia(front.url, 'SELECT * FROM demo.sales.nope')).rejects.toThrow(/nope/);
  });
});

describe('session-changing statements through hotpath (engine=trino)', () => {
  let fake: Server;
  let url = '';
  let h: TestApp;
  beforeAll(async () => {
    // A minimal upstream speaking Trino's wire format: SET SESSION answers with X-Trino-Set-Session.
    fake = createServer((req, res) => {
      const base = `http://${req.headers.host}`;
      const page = (body: object, headers: Record<string, string> = {}) => {
        res.writeHead(200, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify({ id: 'q1', infoUri: `${base}/v1/query/q1`, stats: { state: 'FINISHED' }, warnings: [], ...body }));
      };
      if (req.method === 'POST') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'q1', infoUri: `${base}/v1/query/q1`, nextUri: `${base}/v1/statement/queued/q1/s/1`, stats: { state: 'QUEUED' }, warnings: [] }));
      } else page({ columns: [{ name: 'result', type: 'boolean', typeSignature: { rawType: 'boolean', arguments: [] } }], data: [[true]], updateType: 'SET SESSION' }, { 'x-trino-set-session': 'query_max_run_time=1h' });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
    h = await startApp(testConfig(redis.url, { HOTPATH_ENGINE: 'trino', TRINO_URL: url }), createTrinoEngine({ url, requestTimeoutMs: 5000, statementTimeoutMs: 5000 }));
  });
  afterAll(async () => {
    await h?.close();
    await h?.app.queryCache.engine.close();
    await new Promise((r) => fake?.close(r));
  });

  it('passes X-Trino-Set-Session to the client and never caches the statement', async () => {
    for (let i = 0; i < 2; i++) {
      const post = await fetch(`${h.url}/v1/statement`, { method: 'POST', headers: { 'x-trino-user': 'alice' }, body: "SET SESSION query_max_run_time = '1h'" });
      let page = (await post.json()) as { nextUri?: string };
      const seen: (string | null)[] = [];
      while (page.nextUri) {
        const res = await fetch(page.nextUri);
        seen.push(res.headers.get('x-trino-set-session'));
        seen.push(res.headers.get('cache-status'));
        page = await res.json();
      }
      expect(seen).toContain('query_max_run_time=1h');
      expect(seen).toContain('hotpath; fwd=bypass; detail=session');
    }
  });
});

describe('upstream unreachable', () => {
  it('answers a FAILED page with errorType EXTERNAL (and the JSON door 502)', async () => {
    const { createServer: mk } = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const s = mk().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const down = await startApp(
      testConfig(redis.url, { HOTPATH_ENGINE: 'trino', TRINO_URL: url }),
      createTrinoEngine({ url, requestTimeoutMs: 2000, statementTimeoutMs: 20_000, maxRetries: 2 }),
    );
    try {
      const iter = await Trino.create({ server: down.url, auth: new BasicAuth('alice') }).query('SELECT 1');
      const pages = [];
      for await (const p of iter) pages.push(p);
      const last = pages.at(-1)!;
      expect(last.stats?.state).toBe('FAILED');
      expect(last.error).toMatchObject({ errorType: 'EXTERNAL', errorName: 'UPSTREAM_UNAVAILABLE' });
      const json = await fetch(`${down.url}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sql":"SELECT 1"}' });
      expect(json.status).toBe(502);
      expect(((await json.json()) as { error: { code: string } }).error.code).toBe('ENGINE_UNAVAILABLE');
    } finally {
      await down.close();
      await down.app.queryCache.engine.close();
    }
  });
});
