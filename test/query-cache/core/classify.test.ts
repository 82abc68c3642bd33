// Why: the cacheability rules are the cache's correctness; each row is a statement and what a careful
// reader of DESIGN.md would decide for it.
import { describe, expect, it } from 'vitest';
import { classifySql, qualifyTables } from '../../../src/query-cache/core/classify.ts';
import { normalizeSql, tokenize } from '../../../src/query-cache/core/sql.ts';

describe('normalizeSql', () => {
  it.each([
    ['SELECT  1', 'SELECT 1'],
    ['SELECT\n\t1 ;', 'SELECT 1'],
    ['SELECT 1 -- comment\n', 'SELECT 1'],
    ['SELECT /* c */ 1', 'SELECT 1'],
    ["SELECT 'a  -- not a comment'", "SELECT 'a  -- not a comment'"],
    ["SELECT 'it''s  ok'  FROM t", "SELECT 'it''s  ok' FROM t"],
    ['SELECT "weird  name" FROM t', 'SELECT "weird  name" FROM t'],
    ['SELECT a.b,c', 'SELECT a.b,c'],
  ])('%j -> %j', (sql, want) => {
    expect(normalizeSql(tokenize(sql).tokens)).toBe(want);
  });

  it('keeps literals distinct: whitespace inside strings is significant', () => {
    const a = normalizeSql(tokenize("SELECT 'a b'").tokens);
    const b = normalizeSql(tokenize("SELECT 'a  b'").tokens);
    expect(a).not.toBe(b);
  });

  it('reports unterminated literals and comments', () => {
    expect(tokenize("SELECT 'abc").error).toMatch(/string/);
    expect(tokenize('SELECT /* abc').error).toMatch(/comment/);
    expect(tokenize('SELECT "abc').error).toMatch(/identifier/);
  });
});

describe('classifySql', () => {
  it.each([
    // [sql, readOnly, bypass]
    ['SELECT 1', true, undefined],
    ['  (SELECT 1) UNION (SELECT 2)', true, undefined],
    ['WITH x AS (SELECT 1) SELECT * FROM x', true, undefined],
    ['VALUES (1, 2)', true, undefined],
    ['SHOW TABLES', true, undefined],
    ['DESCRIBE demo.sales.orders', true, undefined],
    ['EXPLAIN SELECT 1', true, undefined],
    ['EXPLAIN ANALYZE SELECT 1', false, 'not-read-only'], // ANALYZE executes
    ['INSERT INTO t VALUES (1)', false, 'not-read-only'],
    ['WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x', false, 'not-read-only'],
    ['DELETE FROM t', false, 'not-read-only'],
    ['CREATE TABLE t AS SELECT 1', false, 'not-read-only'],
    ['SET SESSION query_max_run_time = \'1h\'', false, 'session'], // allowed, never cached
    ['START TRANSACTION', false, 'session'],
    ['USE hive.web', false, 'session'],
    ['PREPARE q FROM SELECT 1', false, 'session'],
    ['SET ROLE admin', false, 'session'],
    ['EXECUTE q', false, 'not-read-only'], // the prepared body could write
    ['SELECT 1; SELECT 2', false, 'multi-statement'],
    ['SELECT 1;', true, undefined], // a trailing semicolon is not a second statement
    ['SELECT now()', true, 'nondeterministic'],
    ['SELECT current_timestamp', true, 'nondeterministic'],
    ['SELECT CURRENT_DATE - 1', true, 'nondeterministic'],
    ['SELECT random() FROM t', true, 'nondeterministic'],
    ['SELECT uuid()', true, 'nondeterministic'],
    ['SELECT current_user', true, 'nondeterministic'],
    ['SELECT * FROM t TABLESAMPLE BERNOULLI (10)', true, 'nondeterministic'],
    ["SELECT 'now()' AS label", true, undefined], // inside a literal: not a call
    ['SELECT * FROM system.runtime.queries', true, 'system-table'],
    ['SELECT * FROM demo.information_schema.tables', true, 'system-table'],
    ['SELECT * FROM "orders$partitions"', true, 'system-table'],
    ["SELECT 'x", false, 'unparsable'],
    ['', false, 'empty'],
    ['-- only a comment', false, 'empty'],
  ] as const)('%j', (sql, readOnly, bypass) => {
    const c = classifySql(sql);
    expect(c.readOnly).toBe(readOnly);
    expect(c.bypass).toBe(bypass);
  });
});

describe('table extraction', () => {
  const tables = (sql: string, catalog = 'demo', schema = 'sales') => {
    const refs = classifySql(sql).tableRefs;
    return refs && qualifyTables(refs, catalog, schema);
  };

  it.each([
    ['SELECT * FROM orders', ['demo.sales.orders']],
    ['SELECT * FROM ops.gpu_usage', ['demo.ops.gpu_usage']],
    ['SELECT * FROM Hive.Web.Clicks c', ['hive.web.clicks']],
    ['SELECT * FROM orders o JOIN customers AS c ON o.customer_id = c.customer_id', ['demo.sales.customers', 'demo.sales.orders']],
    ['SELECT * FROM orders, customers c WHERE 1=1', ['demo.sales.customers', 'demo.sales.orders']],
    ['SELECT * FROM (SELECT * FROM orders) x', ['demo.sales.orders']],
    ['WITH big AS (SELECT * FROM orders) SELECT * FROM big JOIN customers USING (customer_id)', ['demo.sales.customers', 'demo.sales.orders']],
    ['SELECT * FROM orders WHERE customer_id IN (SELECT customer_id FROM customers)', ['demo.sales.customers', 'demo.sales.orders']],
    ['SELECT * FROM range(10)', []],
    ['SELECT * FROM UNNEST(ARRAY[1,2]) AS t(x)', []],
    ['SELECT 1', []],
    ['SELECT * FROM "My Schema"."Orders"', ['demo.my schema.orders']],
    ['DESCRIBE orders', ['demo.sales.orders']],
    ['SELECT * FROM a.b.c.d', undefined], // four parts: not a table name we understand
  ])('%j', (sql, want) => {
    expect(tables(sql)).toEqual(want);
  });
});
