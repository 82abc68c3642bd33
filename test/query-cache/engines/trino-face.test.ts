// Why: Trino's metadata statements on the embedded engine (trino-face.ts), through the JSON door of a
// real app on real DuckDB: Trino's column names, Trino's type names, Trino's order; a malformed form is
// a syntax error and an uncovered one NOT_SUPPORTED, never DuckDB's own words; metadata is never cached.
import { describe, expect, it } from 'vitest';
import { TRINO_FUNCTIONS, translateForDuckDb } from '../../../src/query-cache/engines/trino-face.ts';
import { query, useTestStack, type TestApp } from '../../helpers/app.ts';

let h: TestApp;
useTestStack(async (s) => {
  h = await s.app();
});

describe("Trino's metadata statements on the embedded engine", () => {
  it.each([
    ['SHOW CATALOGS', ['Catalog'], [['demo'], ['memory']]],
    ["SHOW CATALOGS LIKE 'de%'", ['Catalog'], [['demo']]],
    ['SHOW SCHEMAS FROM demo', ['Schema'], [['main'], ['ops'], ['sales']]],
    ['SHOW SCHEMAS', ['Schema'], [['main'], ['ops'], ['sales']]], // the session's catalog (demo)
    ['SHOW TABLES FROM demo.sales', ['Table'], [['customers'], ['orders']]],
    ['SHOW TABLES', ['Table'], [['customers'], ['orders']]], // demo.sales
    ["SHOW TABLES IN ops LIKE 'gpu\\_%' ESCAPE '\\'", ['Table'], [['gpu_usage']]],
  ])('%s', async (sql, names, rows) => {
    const r = await query(h.url, sql, { user: 'alice' });
    expect(r.status, r.text).toBe(200);
    expect(r.body.columns.map((c: { name: string; type: string }) => [c.name, c.type])).toEqual(names.map((n) => [n, 'varchar']));
    expect(r.body.rows).toEqual(rows);
  });

  it('SHOW COLUMNS and DESCRIBE answer Column, Type, Extra, Comment with Trino type names, in column order', async () => {
    const expected = [
      ['order_id', 'bigint', '', ''],
      ['customer_id', 'bigint', '', ''],
      ['order_date', 'date', '', ''],
      ['status', 'varchar', '', ''],
      ['total_amount', 'decimal(12,2)', '', ''],
      ['quantity', 'integer', '', ''],
      ['created_at', 'timestamp(6)', '', ''],
    ];
    for (const sql of ['SHOW COLUMNS FROM demo.sales.orders', 'DESCRIBE orders', 'DESC sales.orders', 'describe "demo"."sales"."orders";']) {
      const r = await query(h.url, sql, { user: 'alice' });
      expect(r.status, `${sql}: ${r.text}`).toBe(200);
      expect(r.body.columns.map((c: { name: string }) => c.name)).toEqual(['Column', 'Type', 'Extra', 'Comment']);
      expect(r.body.rows).toEqual(expected);
    }
    const like = await query(h.url, "SHOW COLUMNS FROM demo.sales.orders LIKE '%_id'", { user: 'alice' });
    expect(like.body.rows.map((r: string[]) => r[0])).toEqual(['order_id', 'customer_id']);
  });

  it('metadata is read fresh every time (never cached: it reads the catalog)', async () => {
    const a = await query(h.url, 'SHOW TABLES FROM demo.sales', { user: 'alice' });
    const b = await query(h.url, 'SHOW TABLES FROM demo.sales', { user: 'alice' });
    expect(a.headers.get('cache-status')).toMatch(/fwd=bypass/);
    expect(b.headers.get('cache-status')).toMatch(/fwd=bypass/);
  });

  it('a malformed form is a SYNTAX_ERROR and an uncovered one NOT_SUPPORTED (400, the catalogue shape)', async () => {
    const bad = await query(h.url, 'SHOW TABLES FROM a.b.c', { user: 'alice' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'SQL_ERROR', errorName: 'SYNTAX_ERROR' });
    const uncovered = await query(h.url, 'SHOW GRANTS', { user: 'alice' });
    expect(uncovered.status).toBe(400);
    expect(uncovered.body.error).toMatchObject({ code: 'SQL_ERROR', errorName: 'NOT_SUPPORTED' });
    expect(uncovered.body.error.message).toBe('SHOW GRANTS is not supported by the embedded engine');
  });

  it('names are literals in the generated SQL: a quote in a name cannot break out', () => {
    const sql = translateForDuckDb(`SHOW TABLES FROM "x'; DROP TABLE t; --"`, { catalog: 'demo', schema: 'sales' });
    expect(sql).toContain("table_schema = 'x''; drop table t; --'");
    expect(translateForDuckDb('SELECT 1', { catalog: 'demo', schema: 'sales' })).toBe('SELECT 1');
  });
});

describe("Trino's function names and error words on the embedded engine", () => {
  it('Trino functions DuckDB knows by another name answer (each mapping runs on DuckDB)', async () => {
    const sql =
      "SELECT approx_distinct(region) AS ad, arbitrary(1) AS arb, regexp_like('abc', 'b') AS rl, cardinality(ARRAY[1, 2]) AS card, " +
      "contains(ARRAY[1, 2], 2) AS cont, from_unixtime(0) = TIMESTAMP '1970-01-01 00:00:00+00' AS fu, is_nan(nan()) AS nan, " +
      "infinity() > 1e308 AS inf, day_of_week(DATE '2024-01-07') AS dow_sunday, day_of_year(DATE '2024-02-01') AS doy, " +
      "levenshtein_distance('kitten', 'sitting') AS lev, to_hex(255) AS hex, array_join(ARRAY['a', 'b'], '-') AS aj, " +
      "cardinality(sequence(1, 5)) AS seq, array_max(ARRAY[3, 9, 1]) AS amax, cardinality(split('a,b,c', ',')) AS parts, " +
      "truncate(2.7) AS tr, json_extract_scalar('{\"a\": \"x\"}', '$.a') AS js FROM demo.sales.customers";
    const r = await query(h.url, sql, { user: 'alice' });
    expect(r.status, r.text).toBe(200);
    const row = Object.fromEntries(r.body.columns.map((c: { name: string }, i: number) => [c.name, r.body.rows[0][i]]));
    expect(row).toMatchObject({ arb: 1, rl: true, card: 2, cont: true, fu: true, nan: true, inf: true, dow_sunday: 7, doy: 32, lev: 3, hex: 'FF', aj: 'a-b', seq: 5, amax: 9, parts: 3, js: 'x' });
    expect(row.ad).toBeGreaterThanOrEqual(5); // six regions, approximately
  });

  it('every mapping names a function this DuckDB has', async () => {
    const r = await query(h.url, 'SELECT DISTINCT function_name FROM duckdb_functions()', { user: 'alice' });
    expect(r.status, r.text).toBe(200);
    const known = new Set(r.body.rows.map((row: string[]) => row[0]));
    expect(Object.values(TRINO_FUNCTIONS).filter((f) => !known.has(f))).toEqual([]);
  });

  it("a name that is no function call is left alone (a column named cardinality, t.contains)", () => {
    const ctx = { catalog: 'demo', schema: 'sales' };
    expect(translateForDuckDb('SELECT cardinality FROM t', ctx)).toBe('SELECT cardinality FROM t');
    expect(translateForDuckDb('SELECT s.contains(x) FROM t', ctx)).toBe('SELECT s.contains(x) FROM t');
    expect(translateForDuckDb("SELECT 'approx_distinct(x)'", ctx)).toBe("SELECT 'approx_distinct(x)'");
    expect(translateForDuckDb('SELECT APPROX_DISTINCT (x), nan( ) FROM t', ctx)).toBe("SELECT approx_count_distinct (x), CAST('NaN' AS DOUBLE) FROM t");
  });

  it('errors say what Trino says: TABLE_NOT_FOUND, FUNCTION_NOT_FOUND, COLUMN_NOT_FOUND with line:column', async () => {
    const cases: [string, string, string][] = [
      ['SELECT * FROM no_such_table', 'TABLE_NOT_FOUND', "line 1:15: Table 'no_such_table' does not exist"],
      ['SELECT no_such_function(1)', 'FUNCTION_NOT_FOUND', "line 1:8: Function 'no_such_function' not registered"],
      ['SELECT no_such_column FROM demo.sales.orders', 'COLUMN_NOT_FOUND', "line 1:8: Column 'no_such_column' cannot be resolved"],
    ];
    for (const [sql, errorName, message] of cases) {
      const r = await query(h.url, sql, { user: 'alice' });
      expect(r.status, sql).toBe(400);
      expect(r.body.error, sql).toMatchObject({ errorName, message });
    }
  });
});

describe("Trino's names for result columns on the embedded engine", () => {
  it.each([
    ['SELECT count(*), region AS Region, c.segment, 1 + 2, "name" FROM demo.sales.customers c GROUP BY 2, 3, 5 LIMIT 1', ['_col0', 'Region', 'segment', '_col3', 'name']],
    ['SELECT 1 UNION ALL SELECT 2', ['_col0']],
    ['VALUES (1, 2)', ['_col0', '_col1']],
    ['SELECT *, 1 FROM demo.sales.customers LIMIT 1', ['customer_id', 'name', 'region', 'segment', 'signup_date', 'credit_limit', '_col6']],
    ['SELECT 1 AS "Mixed Case", true, NULL, current_date', ['Mixed Case', '_col1', '_col2', '_col3']],
  ])('%s', async (sql, names) => {
    const r = await query(h.url, sql, { user: 'alice' });
    expect(r.status, r.text).toBe(200);
    expect(r.body.columns.map((c: { name: string }) => c.name)).toEqual(names);
  });
});
