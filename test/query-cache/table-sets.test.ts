// Why: what a statement reads decides who may share its entry, whether a protected table is cached and
// which invalidations remove it. The set comes from DuckDB's own parser and is complete or known to be
// incomplete; each case here is a way the old tokenizer extractor was fooled (a cross-user leak).
import { describe, expect, it } from 'vitest';
import { query, type TestApp, useTestStack } from '../helpers/app.ts';

let h: TestApp;
let guarded: TestApp;
useTestStack(async (s) => {
  h = await s.app({
    HOTPATH_CACHE_RULES: JSON.stringify([{ tables: ['demo.ops.*'], shared: true }]),
    HOTPATH_ADMIN_USERS: 'ops',
  });
  guarded = await s.app({
    HOTPATH_CACHE_RULES: JSON.stringify([{ tables: ['demo.sales.customers'], cache: false }]),
    HOTPATH_ADMIN_USERS: 'ops',
  });
});

const status = async (app: TestApp, sql: string, user: string) => {
  const r = await query(app.url, sql, { user });
  expect(r.status, r.text).toBe(200);
  return r.headers.get('cache-status');
};

const invalidate = async (app: TestApp, table: string) => {
  const r = await fetch(`${app.url}/v1/cache?table=${table}`, { method: 'DELETE', headers: { 'x-trino-user': 'ops' } });
  expect(r.status).toBe(200);
};

// Each reads demo.sales.customers (per-user data) next to the shared demo.ops.gpu_usage.
const MIXED = [
  'select c.name, c.credit_limit from (select * from demo.ops.gpu_usage limit 1) g, demo.sales.customers c',
  'select c.name from (select * from demo.ops.gpu_usage limit 3) g, lateral (select * from demo.sales.customers where customer_id = g.gpu_index + 1) c',
  'select u.x, c.name from unnest([1, 2]) u(x), demo.sales.customers c, demo.ops.gpu_usage g limit 3',
  'select * from range(2) r, demo.ops.gpu_usage g, demo.sales.customers c limit 2',
  'select (select max(credit_limit) from demo.sales.customers) m from demo.ops.gpu_usage limit 1',
  'select node from demo.ops.gpu_usage where gpu_index in (select customer_id from demo.sales.customers) limit 1',
  '(select 1 from demo.ops.gpu_usage limit 1) union all (select credit_limit from demo.sales.customers limit 1)',
  'with gpu_usage as (select * from demo.sales.customers limit 1) select count(*) from demo.ops.gpu_usage, gpu_usage',
  'with x as (select * from demo.ops.gpu_usage limit 2), y as (select * from x, demo.sales.customers limit 5) select count(*) from y',
  "select * from demo.ops.gpu_usage, query_table('demo.sales.customers') limit 1",
  "select * from demo.ops.gpu_usage, query('select * from demo.sales.customers') limit 1",
  'select * from demo.ops.gpu_usage, (table demo.sales.customers) c limit 1',
  'explain select * from demo.ops.gpu_usage, demo.sales.customers',
];

describe('table sets from the engine parser', () => {
  it.each(MIXED)('never shares an entry that also reads a per-user table: %s', async (sql) => {
    expect(await status(h, sql, 'alice')).toMatch(/fwd=miss; stored/);
    expect(await status(h, sql, 'bob')).toMatch(/fwd=miss; stored/);
  });

  it('still shares what reads only shared tables, through subqueries, CTEs and joins', async () => {
    const sql = 'with x as (select * from demo.ops.gpu_usage limit 10) select count(*) from (select * from x) a join (select * from demo.ops.gpu_usage limit 10) b using (node)';
    expect(await status(h, sql, 'alice')).toMatch(/fwd=miss; stored/);
    expect(await status(h, sql, 'bob')).toMatch(/^hotpath; hit/);
  });

  it('a table function that could read a table makes the set incomplete: per-user, even over shared tables', async () => {
    const sql = "select count(*) from query_table('demo.ops.gpu_usage')";
    expect(await status(h, sql, 'alice')).toMatch(/fwd=miss; stored/);
    expect(await status(h, sql, 'bob')).toMatch(/fwd=miss; stored/);
  });

  it.each([
    'select * from demo.ops.gpu_usage g, (select * from demo.sales.customers) c limit 1',
    'select count(*) from demo.ops.gpu_usage where gpu_index in (select customer_id from demo.sales.customers)',
    'with c as (select * from demo.sales.customers) select count(*) from c',
    "select count(*) from query_table('demo.sales.customers')",
    "select count(*) from query('select * from sales.customers')",
    'select count(*) from customers',
  ])('a cache: false table anywhere in the statement wins: %s', async (sql) => {
    expect(await status(guarded, sql, 'alice')).toBe('hotpath; fwd=bypass; detail=rule');
    expect(await status(guarded, sql, 'alice')).toBe('hotpath; fwd=bypass; detail=rule');
  });

  it('invalidating a table removes entries that read it only inside a subquery', async () => {
    const sql = 'select count(*) from (select * from demo.sales.customers where region is not null) x';
    await status(h, sql, 'alice');
    expect(await status(h, sql, 'alice')).toMatch(/^hotpath; hit/);
    await invalidate(h, 'demo.sales.customers');
    expect(await status(h, sql, 'alice')).toMatch(/fwd=miss; stored/);
  });

  it('invalidating any table removes entries whose table set is incomplete', async () => {
    const sql = "select count(*) from query_table('demo.sales.orders')";
    await status(h, sql, 'carol');
    expect(await status(h, sql, 'carol')).toMatch(/^hotpath; hit/);
    await invalidate(h, 'demo.ops.gpu_usage');
    expect(await status(h, sql, 'carol')).toMatch(/fwd=miss; stored/);
  });

  it("DuckDB's USING SAMPLE is non-deterministic", async () => {
    expect(await status(h, 'select count(*) from demo.sales.orders using sample 10%', 'dave')).toBe('hotpath; fwd=bypass; detail=nondeterministic');
    expect(await status(h, 'select count(*) from demo.sales.orders using sample 5 rows', 'dave')).toBe('hotpath; fwd=bypass; detail=nondeterministic');
  });
});

describe('the key and the checks see what the engine runs', () => {
  it('a nested block comment cannot hide the statement that runs behind an EXPLAIN (it is refused)', async () => {
    const sql = '/* /* */ EXPLAIN SELECT count(*) FROM demo.ops.gpu_usage -- */ SELECT name, credit_limit FROM demo.sales.customers ORDER BY 1 LIMIT 3\n';
    const r = await query(h.url, sql, { user: 'alice' });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'SQL_ERROR', errorName: 'SYNTAX_ERROR' });
  });

  it('a CR inside a line comment ends it: code after it is part of the key and of the checks', async () => {
    const poisoned = 'SELECT count(*) AS n FROM demo.ops.gpu_usage --\r UNION ALL SELECT -1\n';
    expect(await status(h, poisoned, 'mallory')).toMatch(/fwd=miss; stored/);
    const plain = await query(h.url, 'SELECT count(*) AS n FROM demo.ops.gpu_usage', { user: 'alice' });
    expect(plain.body.rows).toEqual([[200_000]]); // not mallory's [[200000],[-1]]
    expect(await status(h, 'SELECT count(*) AS n FROM demo.ops.gpu_usage --\r WHERE now() IS NOT NULL\n', 'mallory')).toBe('hotpath; fwd=bypass; detail=nondeterministic');
  });

  it('strings lexed as DuckDB does cannot hide code from the checks', async () => {
    expect(await status(h, 'SELECT count(*) AS n FROM demo.ops.gpu_usage WHERE node <> $$ -- $$ AND now() IS NOT NULL', 'mallory')).toBe('hotpath; fwd=bypass; detail=nondeterministic');
    // an E'' string whose end Trino and DuckDB would put in different places is refused
    const r = await query(h.url, "SELECT count(*) AS n FROM demo.ops.gpu_usage WHERE node <> E'\\' -- ' AND now() IS NOT NULL", { user: 'mallory' });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'SQL_ERROR', errorName: 'SYNTAX_ERROR' });
  });

  it.each([
    "SELECT count(*), min(name) FROM query_table(reverse('sremotsuc.selas.omed'))",
    "SELECT count(*) FROM query_table(E'demo.sales.\\x63ustomers')",
    "SELECT count(*) FROM query('SELECT name FROM demo.sales.cust' || 'omers')",
  ])('a computed table name cannot dodge a cache: false rule: %s', async (sql) => {
    expect(await status(guarded, sql, 'alice')).toBe('hotpath; fwd=bypass; detail=rule');
  });

  it("a recursive CTE's first branch reads the table of that name, not itself", async () => {
    const sql = 'WITH RECURSIVE customers AS (SELECT name, credit_limit FROM customers UNION ALL SELECT name, credit_limit FROM customers WHERE false) SELECT c.name FROM customers c, (SELECT 1 FROM demo.ops.gpu_usage LIMIT 1) g ORDER BY 1 LIMIT 3';
    expect(await status(h, sql, 'alice')).toMatch(/fwd=miss; stored/);
    expect(await status(h, sql, 'bob')).toMatch(/fwd=miss; stored/);
    expect(await status(guarded, sql, 'alice')).toBe('hotpath; fwd=bypass; detail=rule');
  });

  it("DuckDB's British spelling of ANALYZE executes too: not read-only", async () => {
    const r = await query(h.url, 'EXPLAIN (ANALYSE) SELECT count(*) FROM demo.ops.gpu_usage', { user: 'mallory' });
    expect(r.status).toBe(403);
  });

  it('a statement with thousands of CTEs is planned without holding the event loop', async () => {
    const { monitorEventLoopDelay } = await import('node:perf_hooks');
    const ctes = Array.from({ length: 11_000 }, (_, i) => `c${i} AS (SELECT 1)`).join(','); // ~220 KB, under the SQL limit
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const r = await query(h.url, `WITH ${ctes} SELECT count(*) FROM demo.ops.gpu_usage`, { user: 'ctes' });
    delay.disable();
    expect(r.status, r.text.slice(0, 300)).toBe(400); // DuckDB's binder refuses that depth, but only once the loop is free
    expect(delay.max / 1e6).toBeLessThan(1000);
  });
});

describe('syntax errors are SQL errors, not 403', () => {
  it.each([
    ['SELEC 1', /SELEC/],
    ['select * form demo.sales.orders', /syntax error/i],
    ["select 'unterminated", /unterminated/],
    ['select 1; select 2', /one statement/],
    ['42', /mismatched input '42'. Expecting: 'ALTER', /], // Trino's own words
  ])('%j answers 400 SQL_ERROR SYNTAX_ERROR', async (sql, message) => {
    const r = await query(h.url, sql, { user: 'erin' });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'SQL_ERROR', errorName: 'SYNTAX_ERROR' });
    expect(r.body.error.message).toMatch(message);
  });

  it('the Trino door answers a FAILED page with SYNTAX_ERROR', async () => {
    const post = await fetch(`${h.url}/v1/statement`, { method: 'POST', headers: { 'x-trino-user': 'erin' }, body: 'SELEC 1' });
    let page = (await post.json()) as { nextUri?: string; error?: { errorName: string; errorType: string } };
    while (page.nextUri && !page.error) page = (await (await fetch(page.nextUri)).json()) as typeof page;
    expect(page.error).toMatchObject({ errorName: 'SYNTAX_ERROR', errorType: 'USER_ERROR' });
  });
});
