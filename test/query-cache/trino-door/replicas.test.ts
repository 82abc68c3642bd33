// Why: behind a load balancer, any replica may get any page request of a query. Two hotpath replicas
// on one Redis: a query submitted to one is paged, inspected and cancelled through the other.
import { describe, expect, it } from 'vitest';
import { Trino, BasicAuth, type QueryResult } from 'trino-client';
import { ControlledEngine, testConfig, type TestApp, useTestStack } from '../../helpers/app.ts';

let engine: ControlledEngine;
let a: TestApp;
let b: TestApp;
useTestStack(async (s) => {
  engine = s.engine;
  const config = testConfig(s.redis.url); // same prefix: two replicas of one deployment
  a = await s.app(config);
  b = await s.app(config);
});

const viaB = (uri: string) => uri.replace(a.url, b.url);
/** Trino clients name their user on every request; only that user (or an admin) sees the query. */
const ALICE = { 'x-trino-user': 'alice' };

describe('Trino door across replicas', () => {
  it('pages of a query submitted to replica A are served through replica B', async () => {
    const sql = 'SELECT order_id, status, total_amount FROM demo.sales.orders CROSS JOIN range(5) ORDER BY order_id';
    const post = await fetch(`${a.url}/v1/statement`, { method: 'POST', headers: { 'x-trino-user': 'alice' }, body: sql });
    let page = (await post.json()) as QueryResult;
    const rows: unknown[][] = [];
    let pagesWithData = 0;
    while (page.nextUri) {
      const res = await fetch(viaB(page.nextUri), { headers: ALICE });
      expect(res.status).toBe(200);
      page = (await res.json()) as QueryResult;
      // B answers with URIs of the address the client used: B itself
      if (page.nextUri) expect(page.nextUri.startsWith(b.url)).toBe(true);
      if (page.data) pagesWithData++;
      rows.push(...(page.data ?? []));
    }
    expect(page.stats?.state).toBe('FINISHED');
    expect(rows).toHaveLength(100_000);
    expect(pagesWithData).toBeGreaterThan(1);

    const info = await fetch(`${b.url}/v1/query/${page.id}`, { headers: ALICE });
    expect(info.status).toBe(200);
    expect(((await info.json()) as { state: string }).state).toBe('FINISHED');
  });

  it('a client cannot pose as a forwarding replica to choose the URIs the owner hands out', async () => {
    const post = await fetch(`${a.url}/v1/statement`, { method: 'POST', headers: { 'x-trino-user': 'alice' }, body: 'SELECT 1 AS one' });
    const queued = (await post.json()) as QueryResult;
    const forged = await fetch(queued.nextUri!, { headers: { 'x-hotpath-forwarded': 'f'.repeat(64), 'x-hotpath-external-base': 'https://evil.example' } });
    const page = (await forged.json()) as QueryResult;
    expect(JSON.stringify(page)).not.toContain('evil.example');
    expect(page.infoUri?.startsWith(a.url)).toBe(true);
  });

  it('a cancel sent to replica B reaches the owner A', async () => {
    const post = await fetch(`${a.url}/v1/statement`, { method: 'POST', headers: { 'x-trino-user': 'alice' }, body: 'SELECT 1 AS one' });
    const { id, nextUri } = (await post.json()) as QueryResult;
    expect((await fetch(`${b.url}/v1/query/${id}`, { method: 'DELETE', headers: ALICE })).status).toBe(204);
    expect((await fetch(nextUri!, { headers: ALICE })).status).toBe(410);
  });

  it('trino-client pointed at B reads what A cached', async () => {
    const sql = 'SELECT region, count(*) AS n FROM demo.sales.customers GROUP BY region ORDER BY region';
    const read = async (server: string) => {
      const iter = await Trino.create({ server, auth: new BasicAuth('carol') }).query(sql);
      const rows: unknown[][] = [];
      for await (const p of iter) rows.push(...(p.data ?? []));
      return rows;
    };
    const fromA = await read(a.url);
    const before = engine.executions(sql);
    const fromB = await read(b.url);
    expect(fromB).toEqual(fromA);
    expect(engine.executions(sql)).toBe(before);
  });

  it('an unknown query id is 404 on every replica (no forwarding loop)', async () => {
    expect((await fetch(`${b.url}/v1/statement/executing/20260101_000000_00001_abcde/yx/0`)).status).toBe(404);
  });
});
