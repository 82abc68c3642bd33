// Why: unmodified Trino clients must be able to point at hotpath. trino-client (npm) runs against the
// Trino door over a real socket: types, paging, errors, cancel, and hits keyed per user.
import { describe, expect, it } from 'vitest';
import { BasicAuth, Trino, type QueryResult } from 'trino-client';
import { ControlledEngine, type TestApp, useTestStack, rawTrinoPages } from '../../helpers/app.ts';

let engine: ControlledEngine;
let h: TestApp;
useTestStack(async (s) => {
  engine = s.engine;
  h = await s.app();
});

const client = (user: string) => Trino.create({ server: h.url, catalog: 'demo', schema: 'sales', auth: new BasicAuth(user) });

async function collect(user: string, sql: string): Promise<{ columns: QueryResult['columns']; rows: unknown[][]; pages: QueryResult[] }> {
  const iter = await client(user).query(sql);
  const pages: QueryResult[] = [];
  let columns: QueryResult['columns'];
  const rows: unknown[][] = [];
  for await (const page of iter) {
    pages.push(page);
    if (page.error) throw Object.assign(new Error(page.error.message), { trino: page.error });
    columns ??= page.columns;
    rows.push(...(page.data ?? []));
  }
  return { columns, rows, pages };
}

describe('trino-client against the Trino door', () => {
  it('returns rows and Trino column types', async () => {
    const sql = `SELECT 42::INTEGER AS i, 9007199254740993::BIGINT AS b, 1.5::DOUBLE AS d, 12.30::DECIMAL(10,2) AS dec,
      'hé' AS v, DATE '2024-01-31' AS dt, TIMESTAMP '2024-01-31 12:34:56.789' AS ts, true AS ok,
      [1, 2] AS arr, MAP {'a': 1} AS m, {'x': 1, 'y': 'z'} AS r`;
    const { columns, rows, pages } = await collect('alice', sql);
    expect(columns?.map((c) => c.type)).toEqual([
      'integer', 'bigint', 'double', 'decimal(10, 2)', 'varchar(2)', 'date', 'timestamp(6)', 'boolean', 'array(integer)', 'map(varchar, integer)', 'row(x integer, y varchar)',
    ]);
    expect(rows).toHaveLength(1);
    const [i, , d, dec, v, dt, ts, ok, arr, m, r] = rows[0]!;
    expect([i, d, dec, v, dt, ts, ok, arr, m, r]).toEqual([42, 1.5, '12.30', 'hé', '2024-01-31', '2024-01-31 12:34:56.789000', true, [1, 2], { a: 1 }, [1, 'z']]);
    expect(pages.at(-1)?.stats?.state).toBe('FINISHED');
  });

  it('keeps bigints past 2^53 bit-exact on the wire (a JS client then rounds them itself)', async () => {
    const raw = await rawTrinoPages(h.url, 'SELECT 9007199254740993::BIGINT AS b');
    expect(raw).toContain('"data":[[9007199254740993]]');
  });

  it('pages a large result (>= 50k rows) and hits the cache on repeat for the same user only', async () => {
    const sql = 'SELECT order_id, customer_id, status, total_amount FROM demo.sales.orders CROSS JOIN range(3) ORDER BY order_id';
    const before = engine.executions(sql);
    const first = await collect('alice', sql);
    expect(first.rows.length).toBe(60_000);
    expect(first.pages.filter((p) => (p.data?.length ?? 0) > 0).length).toBeGreaterThan(1);
    const again = await collect('alice', sql);
    expect(again.rows).toEqual(first.rows);
    expect(engine.executions(sql) - before).toBe(1);
    await collect('bob', sql);
    expect(engine.executions(sql) - before).toBe(2);
  });

  it('reports a failed query as a FAILED page with a Trino error', async () => {
    const iter = await client('alice').query('SELECT * FROM demo.sales.no_such_table');
    const pages: QueryResult[] = [];
    for await (const p of iter) pages.push(p);
    const failed = pages.at(-1)!;
    expect(failed.stats?.state).toBe('FAILED');
    expect(failed.error).toMatchObject({ errorName: 'TABLE_NOT_FOUND', errorCode: 46, errorType: 'USER_ERROR' });
    expect(failed.error?.message).toMatch(/no_such_table/);
  });

  it('cancels mid-result with trino-client: the rest of the query is gone and nothing is stored', async () => {
    const sql = 'SELECT order_id, status, total_amount, customer_id FROM demo.sales.orders CROSS JOIN range(8) ORDER BY order_id DESC';
    const c = client('dave');
    const iter = await c.query(sql);
    const first = await iter.next(); // the first page with rows
    expect(first.done).toBe(false);
    expect(first.value.data?.length).toBeGreaterThan(0);
    await c.cancel(first.value.id);
    await expect(iter.next()).rejects.toThrow(/410/);
    const before = engine.executions(sql);
    await collect('dave', sql); // runs again: the cancelled run stored nothing
    expect(engine.executions(sql)).toBe(before + 1);
  });

  it('cancels through DELETE /v1/query/{id}', async () => {
    const c = client('alice');
    const post = await fetch(`${h.url}/v1/statement`, { method: 'POST', headers: { 'x-trino-user': 'alice' }, body: 'SELECT 1 AS one' });
    const { id } = (await post.json()) as { id: string };
    await c.cancel(id);
    // As Trino: the info of a cancelled query is its final state, for its user (or an admin) only.
    const info = await fetch(`${h.url}/v1/query/${id}`, { headers: { 'x-trino-user': 'alice' } });
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ queryId: id, state: 'FAILED', query: 'SELECT 1 AS one', errorCode: { name: 'USER_CANCELED', type: 'USER_ERROR' } });
    expect((await fetch(`${h.url}/v1/query/${id}`, { headers: { 'x-trino-user': 'mallory' } })).status).toBe(410);
    expect((await fetch(`${h.url}/v1/query/20990101_000000_00000_nope0`, { headers: { 'x-trino-user': 'alice' } })).status).toBe(410);
  });
});
