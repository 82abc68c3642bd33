// Why: the upstream Trino adapter must return exactly what the embedded engine returns for the same SQL when
// pointed at a Trino-protocol server (hotpath's own door, over real sockets), and must retry, cancel and map
// errors as Trino's Java client does; tiny node:http fakes script the cases a healthy server never shows.

import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrinoEngine, fromTrinoError, parseTrinoJson } from '../../../src/query-cache/engines/trino-engine.ts';
import { EngineError } from '../../../src/query-cache/engines/engine.ts';
import type { Engine, EngineQuery } from '../../../src/query-cache/engines/engine.ts';
import { ControlledEngine, startApp, testConfig, type TestApp } from '../../helpers/app.ts';
import { freePort, startTestRedis, type TestRedis } from '../../helpers/redis.ts';

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What a fake answers: a status, headers and a body; `undefined` from a proxy hook forwards the request. */
interface Canned {
  status: number;
  headers?: Record<string, string | string[]>;
  body?: string;
}

interface Fake {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

/** A node:http server; `answer` sees every request (body read) and writes the response itself. */
async function fakeServer(answer: (req: Seen, res: ServerResponse, base: string) => void | Promise<void>): Promise<Fake> {
  const seen: Seen[] = [];
  let base = '';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(s);
      void Promise.resolve(answer(s, res, base)).catch((err: unknown) => res.writeHead(500).end(String(err)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url: base,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, c: Canned): void {
  res.writeHead(c.status, { 'content-type': 'application/json', ...c.headers }).end(c.body ?? '');
}

/** A proxy in front of the app's Trino door; the door builds nextUri from X-Forwarded-Host, so paging comes back through it. */
function proxy(target: string, hook: (req: Seen, count: (method: string) => number) => Canned | undefined = () => undefined): Promise<Fake & { forwarded: Canned[] }> {
  const forwarded: Canned[] = [];
  let fake: Fake;
  const count = (method: string) => fake.seen.filter((s) => s.method === method).length;
  return fakeServer(async (req, res, base) => {
    const canned = hook(req, count);
    if (canned) return send(res, canned);
    const headers: Record<string, string> = { 'x-forwarded-host': new URL(base).host };
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string' && !['host', 'connection', 'content-length', 'transfer-encoding'].includes(k)) headers[k] = v;
    }
    const up = await fetch(`${target}${req.path}`, { method: req.method, headers, body: req.method === 'POST' ? req.body : undefined });
    const reply: Canned = { status: up.status, body: await up.text() };
    forwarded.push(reply);
    send(res, reply);
  }).then((f) => (fake = f) && Object.assign(f, { forwarded }));
}

const stats = (state: string) => ({ state, queued: state === 'QUEUED', scheduled: state !== 'QUEUED', nodes: 1, totalSplits: 0, queuedSplits: 0,
  runningSplits: 0, completedSplits: 0, cpuTimeMillis: 0, wallTimeMillis: 0, queuedTimeMillis: 0, elapsedTimeMillis: 0, processedRows: 0,
  processedBytes: 0, physicalInputBytes: 0, peakMemoryBytes: 0, spilledBytes: 0 });

/** A QueryResults page in the wire format; `rawData` is spliced in as JSON text (for exact bigints). */
function page(base: string, p: { state: string; nextUri?: string; columns?: unknown[]; rawData?: string; error?: unknown }): string {
  const head = JSON.stringify({ id: 'q1', infoUri: `${base}/v1/query/q1`, ...(p.nextUri ? { nextUri: `${base}${p.nextUri}` } : {}), ...(p.columns ? { columns: p.columns } : {}) });
  const tail = JSON.stringify({ stats: stats(p.state), ...(p.error ? { error: p.error } : {}), warnings: [] });
  return `${head.slice(0, -1)}${p.rawData ? `,"data":${p.rawData}` : ''},${tail.slice(1)}`;
}

const bigintColumn = { name: 'b', type: 'bigint', typeSignature: { rawType: 'bigint', arguments: [] } };

let redis: TestRedis;
let duck: ControlledEngine;
let h: TestApp;
const engines: Engine[] = [];
const fakes: Fake[] = [];

function trino(url: string, extra: Partial<Parameters<typeof createTrinoEngine>[0]> = {}): Engine {
  const e = createTrinoEngine({ url, requestTimeoutMs: 10_000, statementTimeoutMs: 20_000, ...extra });
  engines.push(e);
  return e;
}

const q = (sql: string, extra: Partial<EngineQuery> = {}): EngineQuery => ({ sql, user: 'alice', catalog: 'demo', schema: 'sales', session: {}, ...extra });
const never = () => new AbortController().signal;

async function failure(p: Promise<unknown>): Promise<EngineError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(EngineError);
  return err as EngineError;
}

beforeAll(async () => {
  redis = await startTestRedis();
  duck = await ControlledEngine.create();
  h = await startApp(testConfig(redis.url, { HOTPATH_TRUST_PROXY: 'loopback' }), duck); // the proxy below is on loopback
});
afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await Promise.all(fakes.map((f) => f.close()));
  await h?.close();
  await duck?.close();
  await redis?.stop();
});

describe('against a Trino-protocol server (the door over DuckDB)', () => {
  it('returns the same columns and rows as the DuckDB engine, bigints past 2^53 as exact bigint', async () => {
    const sql = `SELECT 42::INTEGER AS i, 9007199254740993::BIGINT AS b, 9223372036854775807::BIGINT AS bmax,
      (-9223372036854775807 - 1)::BIGINT AS bmin, 1.5::DOUBLE AS d, 12.30::DECIMAL(10,2) AS dec, 'hé' AS v,
      DATE '2024-01-31' AS dt, TIMESTAMP '2024-01-31 12:34:56.789' AS ts, true AS ok, NULL::INTEGER AS n,
      [1, 2] AS arr, [9007199254740993]::BIGINT[] AS barr, MAP {'a': 1} AS m, {'x': 1, 'y': 'z'} AS r`;
    const direct = await duck.inner.execute(q(sql), never());
    const viaTrino = await trino(h.url).execute(q(sql), never());
    expect(viaTrino.columns).toEqual(direct.columns);
    expect(viaTrino.rows).toEqual(direct.rows);
    expect(viaTrino.columns.map((c) => c.type)).toEqual(['integer', 'bigint', 'bigint', 'bigint', 'double', 'decimal(10, 2)', 'varchar(2)', 'date',
      'timestamp(6)', 'boolean', 'integer', 'array(integer)', 'array(bigint)', 'map(varchar, integer)', 'row(x integer, y varchar)']);
    const [i, b, bmax, bmin, , dec, , dt, ts, , n, , barr, m, r] = viaTrino.rows[0]!;
    expect([i, b, bmax, bmin, barr]).toEqual([42, 9007199254740993n, 9223372036854775807n, -9223372036854775808n, [9007199254740993n]]);
    expect([dec, dt, ts, n, m, r]).toEqual(['12.30', '2024-01-31', '2024-01-31 12:34:56.789000', null, { a: 1 }, [1, 'z']]);
    expect(viaTrino.sessionChanges).toBeUndefined();
  });

  it('follows nextUri through a multi-page result (60k rows)', async () => {
    const sql = 'SELECT order_id, customer_id, status, total_amount FROM demo.sales.orders CROSS JOIN range(3) ORDER BY order_id';
    const p = await proxy(h.url);
    fakes.push(p);
    const result = await trino(p.url).execute(q(sql), never());
    expect(result.rows.length).toBe(60_000);
    expect(p.forwarded.filter((r) => r.body?.includes('"data":')).length).toBeGreaterThan(1);
    expect(result.rows).toEqual((await duck.inner.execute(q(sql), never())).rows);
  });

  it('reports a SQL error as a user EngineError with Trino error name', async () => {
    const err = await failure(trino(h.url).execute(q('SELECT * FROM demo.sales.no_such_table'), never()));
    expect(err).toMatchObject({ kind: 'user', errorName: 'TABLE_NOT_FOUND' });
    expect(err.message).toMatch(/no_such_table/);
  });

  it('retries 503 (Retry-After) on the POST and 502 on a page, then succeeds', async () => {
    const p = await proxy(h.url, (req, count) => {
      if (req.method === 'POST' && count('POST') === 1) return { status: 503, headers: { 'retry-after': '0' }, body: 'busy' };
      if (req.method === 'GET' && count('GET') === 1) return { status: 502, body: 'bad gateway' };
      return undefined;
    });
    fakes.push(p);
    const result = await trino(p.url).execute(q('SELECT 7 AS seven'), never());
    expect(result.rows).toEqual([[7]]);
    expect(p.seen.filter((s) => s.method === 'POST').length).toBe(2);
    const gets = p.seen.filter((s) => s.method === 'GET').map((s) => s.path);
    expect(gets[0]).toBe(gets[1]); // the same page asked again
  });

  it('honours Retry-After seconds on 429', async () => {
    const p = await proxy(h.url, (req, count) => (req.method === 'POST' && count('POST') === 1 ? { status: 429, headers: { 'retry-after': '1' } } : undefined));
    fakes.push(p);
    const started = Date.now();
    expect((await trino(p.url).execute(q('SELECT 1 AS one'), never())).rows).toEqual([[1]]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // a lower bound only: a slow machine waits longer
  });

  it('pings /v1/info', async () => {
    await expect(trino(h.url).ping(never())).resolves.toBeUndefined();
  });
});

describe('failures', () => {
  it('gives up on an unreachable upstream after the retries', async () => {
    const port = await freePort(); // freshly closed: nothing listens there
    const e = trino(`http://127.0.0.1:${port}`, { maxRetries: 2 });
    const err = await failure(e.execute(q('SELECT 1'), never()));
    expect(err).toMatchObject({ kind: 'unavailable', errorName: 'UPSTREAM_UNAVAILABLE' });
    expect(err.message).toMatch(/after 3 attempts.*ECONNREFUSED/);
    expect(await failure(e.ping(never()))).toMatchObject({ kind: 'unavailable' });
  });

  it('gives up on a 503 that persists, and maps 401 to PERMISSION_DENIED', async () => {
    const busy = await fakeServer((_req, res) => send(res, { status: 503, body: 'overloaded' }));
    const denied = await fakeServer((_req, res) => send(res, { status: 401, headers: { 'www-authenticate': 'Basic' }, body: 'Unauthorized' }));
    fakes.push(busy, denied);
    expect(await failure(trino(busy.url, { maxRetries: 1 }).execute(q('SELECT 1'), never()))).toMatchObject({ kind: 'unavailable', errorName: 'UPSTREAM_UNAVAILABLE' });
    expect(busy.seen.length).toBe(2);
    const err = await failure(trino(denied.url).execute(q('SELECT 1'), never()));
    expect(err).toMatchObject({ kind: 'user', errorName: 'PERMISSION_DENIED' });
    expect(err.message).toMatch(/refused user "alice" \(HTTP 401/);
    expect(denied.seen.length).toBe(1);
    expect(await failure(trino(denied.url).execute(q('SELECT 1', { user: 'a\r\nb' }), never()))).toMatchObject({ kind: 'user' });
    expect(denied.seen.length).toBe(1); // refused before any request
  });

  it('maps FAILED pages by error type', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ errorName: 'SYNTAX_ERROR', errorType: 'USER_ERROR' }, 'user'],
      [{ errorName: 'GENERIC_INTERNAL_ERROR', errorType: 'INTERNAL_ERROR' }, 'internal'],
      [{ errorName: 'EXCEEDED_TIME_LIMIT', errorType: 'INSUFFICIENT_RESOURCES' }, 'timeout'],
      [{ errorName: 'EXCEEDED_GLOBAL_MEMORY_LIMIT', errorType: 'INSUFFICIENT_RESOURCES' }, 'unavailable'],
      [{ errorName: 'HIVE_METASTORE_ERROR', errorType: 'EXTERNAL' }, 'unavailable'],
    ];
    for (const [error, kind] of cases) expect(fromTrinoError({ message: 'm', ...error })).toMatchObject({ kind, errorName: error.errorName, message: 'm' });
  });
});

describe('wire details (scripted server)', () => {
  it('sends the statement headers, keeps rows from the POST answer, exact bigints and session changes', async () => {
    const f = await fakeServer((req, res, base) => {
      if (req.method === 'POST') {
        return send(res, { status: 200, body: page(base, { state: 'RUNNING', nextUri: '/v1/statement/executing/q1/s/1', columns: [bigintColumn], rawData: '[[9223372036854775807],[9007199254740992]]' }) });
      }
      send(res, {
        status: 200,
        headers: { 'x-trino-set-session': ['a=1', 'b=x%20y'], 'x-trino-set-catalog': 'other' },
        body: page(base, { state: 'FINISHED', columns: [bigintColumn], rawData: '[[-9223372036854775808],[9007199254740991]]' }),
      });
    });
    fakes.push(f);
    const query = q('SELECT b FROM t', { session: { query_max_run_time: '1h', 'hive.x': 'a,b c' }, timeZone: 'Europe/Oslo' });
    const result = await trino(f.url, { source: 'tests' }).execute(query, never());
    expect(result.rows).toEqual([[9223372036854775807n], [9007199254740992n], [-9223372036854775808n], [9007199254740991]]);
    expect(result.columns).toEqual([bigintColumn]);
    expect(result.sessionChanges).toEqual({ 'x-trino-set-session': ['a=1', 'b=x%20y'], 'x-trino-set-catalog': ['other'] });
    const post = f.seen[0]!;
    expect(post).toMatchObject({ method: 'POST', path: '/v1/statement', body: 'SELECT b FROM t' });
    expect(post.headers).toMatchObject({
      'content-type': 'text/plain; charset=utf-8', 'x-trino-user': 'alice', 'x-trino-catalog': 'demo', 'x-trino-schema': 'sales',
      'x-trino-session': 'query_max_run_time=1h,hive.x=a%2Cb%20c', 'x-trino-time-zone': 'Europe/Oslo', 'x-trino-source': 'tests',
    });
    expect(post.headers['x-trino-query-data-encoding']).toBeUndefined();
    expect(f.seen[1]).toMatchObject({ method: 'GET', path: '/v1/statement/executing/q1/s/1' });
  });

  it('on abort, DELETEs the page being polled and rejects as canceled; on statement timeout, as a timeout', async () => {
    let polled = (): void => {};
    let deleted = (_path: string): void => {};
    const f = await fakeServer((req, res, base) => {
      if (req.method === 'POST') return send(res, { status: 200, body: page(base, { state: 'QUEUED', nextUri: '/v1/statement/queued/q1/s/1' }) });
      if (req.method === 'DELETE') {
        res.writeHead(204).end();
        return deleted(req.path);
      }
      polled(); // and never answer
    });
    fakes.push(f);
    const nextPoll = () => new Promise<void>((r) => (polled = r));
    const nextDelete = () => new Promise<string>((r) => (deleted = r));

    const ctl = new AbortController();
    let poll = nextPoll();
    let del = nextDelete();
    const canceled = trino(f.url).execute(q('SELECT 1'), ctl.signal);
    await poll;
    ctl.abort();
    expect(await failure(canceled)).toMatchObject({ kind: 'internal', errorName: 'USER_CANCELED' });
    expect(await del).toBe('/v1/statement/queued/q1/s/1');

    poll = nextPoll();
    del = nextDelete();
    const timedOutRun = trino(f.url, { statementTimeoutMs: 500 }).execute(q('SELECT 1'), never());
    const timedOut = failure(timedOutRun);
    const reachedPoll = await Promise.race([poll.then(() => true), timedOutRun.then(() => false, () => false)]);
    expect(await timedOut).toMatchObject({ kind: 'timeout', errorName: 'EXCEEDED_TIME_LIMIT' });
    if (reachedPoll) expect(await del).toBe('/v1/statement/queued/q1/s/1'); // else the POST alone took 500 ms: nothing to cancel

    [poll, del] = [nextPoll(), nextDelete()];
    const e = trino(f.url);
    const closing = failure(e.execute(q('SELECT 1'), never())); // handled now: close() rejects it while we wait
    await poll;
    await e.close();
    expect(await closing).toMatchObject({ kind: 'unavailable', errorName: 'ENGINE_CLOSED' });
    expect(await del).toBe('/v1/statement/queued/q1/s/1');
  });

  it('ping needs starting: false; ids name the cluster', async () => {
    const f = await fakeServer((_req, res) => send(res, { status: 200, body: JSON.stringify({ starting: true }) }));
    fakes.push(f);
    expect(await failure(trino(f.url).ping(never()))).toMatchObject({ kind: 'unavailable' });
    expect(trino(f.url).id).toBe(`trino:${new URL(f.url).host}`);
    expect(trino(f.url, { clusterId: 'prod-eu' }).id).toBe('trino:prod-eu');
  });

  it('parses integers past 2^53 exactly and leaves everything else to JSON.parse', () => {
    expect(parseTrinoJson('[9007199254740991,9007199254740992,-9007199254740993,1.0E20,12345678901234567.5,"12345678901234567890",1e400]'))
      .toEqual([9007199254740991, 9007199254740992n, -9007199254740993n, 1e20, 12345678901234568, '12345678901234567890', Infinity]);
    expect(parseTrinoJson('{"a":{"b":[18446744073709551615]}}')).toEqual({ a: { b: [18446744073709551615n] } });
  });
});
