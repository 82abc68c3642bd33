// Why: a Trino client's session lives in headers, and errors are read by name, code and type: through
// hotpath (real Trino behind it) SET SESSION, USE, PREPARE/EXECUTE, EXECUTE IMMEDIATE with parameters and
// transactions must answer with the same session headers and rows as Trino does directly, errors with the
// same triple, and a cancel must end the query in Trino as USER_CANCELED.
import { describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.ts';
import { useTrinoSuite } from './helpers/hotpath.ts';
import { comparable, runStatement, trinoOutcome, type RawAnswer } from './helpers/protocol.ts';

let trinoUrl: string;
let hotpath: TestApp;
useTrinoSuite(async (s) => {
  trinoUrl = s.trinoUrl;
  hotpath = await s.upstream();
});

/** Session headers with what is expected to differ (a transaction id) masked. */
const session = (a: RawAnswer) => Object.fromEntries(Object.entries(a.sessionHeaders).map(([k, v]) => [k, [...new Set(v.map((x) => (k.includes('transaction-id') ? '<id>' : x)))]]));
const both = async (sql: string, headers: Record<string, string> = {}) => {
  const direct = await runStatement(trinoUrl, sql, { user: 'alice', headers });
  const via = await runStatement(hotpath.url, sql, { user: 'alice', headers });
  return { direct, via };
};

describe('session statements through hotpath, as Trino answers them', () => {
  it.each([
    ["SET SESSION query_max_run_time = '1h'"],
    ['RESET SESSION query_max_run_time'],
    ['USE tpch.tiny'],
    ['PREPARE q1 FROM SELECT name FROM tpch.tiny.nation WHERE nationkey = ?'],
    ['DEALLOCATE PREPARE q1'],
    ["SET TIME ZONE 'America/New_York'"],
  ])('%s', async (sql) => {
    const { direct, via } = await both(sql, sql.startsWith('DEALLOCATE') ? { 'x-trino-prepared-statement': 'q1=SELECT+1' } : {});
    expect(direct.error).toBeUndefined();
    expect(via.error).toEqual(direct.error);
    expect(via.updateType).toBe(direct.updateType);
    expect(session(via)).toEqual(session(direct));
    expect(via.cacheStatus).toMatch(/bypass/);
  });

  it('EXECUTE of a prepared statement the client holds, and EXECUTE IMMEDIATE with parameters: same rows; cached per body and values', async () => {
    const prepared = { 'x-trino-prepared-statement': `q1=${encodeURIComponent('SELECT name, regionkey FROM tpch.tiny.nation WHERE nationkey = ?')}` };
    for (const [sql, headers] of [
      ['EXECUTE q1 USING 3', prepared],
      ["EXECUTE IMMEDIATE 'SELECT name, regionkey FROM tpch.tiny.nation WHERE nationkey = ?' USING 7", {}],
    ] as const) {
      const { direct, via } = await both(sql, headers);
      expect(direct.error).toBeUndefined();
      expect(via.columns).toEqual(direct.columns);
      expect(comparable(via.rows)).toEqual(comparable(direct.rows));
      expect(via.cacheStatus).toMatch(/fwd=miss/);
      const again = await runStatement(hotpath.url, sql, { user: 'alice', headers });
      expect(again.cacheStatus).toMatch(/^hotpath; hit/);
      expect(comparable(again.rows)).toEqual(comparable(direct.rows));
    }
    // Another body under the same name is another entry, never the first body's answer.
    const other = { 'x-trino-prepared-statement': `q1=${encodeURIComponent('SELECT comment FROM tpch.tiny.nation WHERE nationkey = ?')}` };
    const changed = await runStatement(hotpath.url, 'EXECUTE q1 USING 3', { user: 'alice', headers: other });
    expect(changed.cacheStatus).toMatch(/fwd=miss/);
    expect(changed.columns?.map((c) => c.name)).toEqual(['comment']);
  });

  it('a transaction: its statements run on Trino, never from the cache, and end with COMMIT', async () => {
    // X-Trino-Transaction-Id: NONE is how a client says it supports transactions (Trino refuses otherwise).
    const start = await runStatement(hotpath.url, 'START TRANSACTION', { user: 'alice', headers: { 'x-trino-transaction-id': 'NONE' } });
    expect(start.error).toBeUndefined();
    const tx = start.sessionHeaders['x-trino-started-transaction-id']?.[0];
    expect(tx).toMatch(/^[0-9a-f-]{36}$/);
    const inTx = { 'x-trino-transaction-id': tx! };
    const q = 'SELECT count(*) FROM tpch.tiny.region';
    const first = await runStatement(hotpath.url, q, { user: 'alice', headers: inTx });
    const second = await runStatement(hotpath.url, q, { user: 'alice', headers: inTx });
    expect(first.error).toBeUndefined();
    expect([first.cacheStatus, second.cacheStatus]).toEqual(['hotpath; fwd=bypass; detail=transaction', 'hotpath; fwd=bypass; detail=transaction']);
    const commit = await runStatement(hotpath.url, 'COMMIT', { user: 'alice', headers: inTx });
    expect(commit.error).toBeUndefined();
    expect(commit.sessionHeaders['x-trino-clear-transaction-id']).toBeDefined();
  });
});

describe('errors through hotpath carry Trino\'s own name, code and type', () => {
  it.each([
    ['SELEC 1'],
    ['SELECT * FROM tpch.tiny.no_such_table'],
    ['SELECT no_such_column FROM tpch.tiny.nation'],
    ['SELECT 1 / 0'],
    ["SELECT CAST('x' AS integer)"],
    ['SELECT * FROM no_such_catalog.s.t'],
    ['SELECT no_such_function(1)'],
    ['SELECT * FROM tpch.no_such_schema.t'],
  ])('%s', async (sql) => {
    const { direct, via } = await both(sql);
    expect(direct.error).toBeDefined();
    expect(via.error).toEqual(direct.error);
    expect(via.state).toBe('FAILED');
  });
});

describe('cancel', () => {
  it('DELETE of the page being polled ends the query in Trino as USER_CANCELED', async () => {
    const slow = 'SELECT count(*) FROM tpch.sf1.lineitem a CROSS JOIN tpch.sf1.lineitem b WHERE a.orderkey > b.orderkey';
    const post = (await (await fetch(`${hotpath.url}/v1/statement`, { method: 'POST', headers: { 'x-trino-user': 'alice' }, body: slow })).json()) as { nextUri: string };
    let page = (await (await fetch(post.nextUri)).json()) as { nextUri?: string };
    for (let i = 0; i < 3 && page.nextUri; i++) page = (await (await fetch(`${page.nextUri}?maxWait=300ms`)).json()) as { nextUri?: string };
    expect(page.nextUri).toBeDefined();
    expect((await fetch(page.nextUri!, { method: 'DELETE' })).status).toBe(204);
    expect(await trinoOutcome(trinoUrl, slow, 'alice')).toBe('FAILED:USER_CANCELED');
  });
});
