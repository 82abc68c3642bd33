// Why: Trino's metadata statements on the embedded engine (trino-face.ts), through the JSON door of a
// real app on real DuckDB: Trino's column names, Trino's type names, Trino's order; a malformed form is
// a syntax error and an uncovered one NOT_SUPPORTED, never DuckDB's own words; metadata is never cached.
import { describe, expect, it } from 'vitest';
import { translateForDuckDb } from '../../../src/query-cache/engines/trino-face.ts';
import { TRANSLATED_FUNCTIONS, TRINO_FUNCTIONS } from '../../../src/query-cache/engines/trino-functions.ts';
import { query, useTestStack, type TestApp } from '../../helpers/app.ts';
import { comparable, runStatement } from '../../trino/helpers/protocol.ts';

let h: TestApp;
useTestStack(async (s) => {
  h = await s.app();
});

describe("Trino's metadata statements on the embedded engine", () => {
  it.each([
    ['SHOW CATALOGS', ['Catalog'], [['demo'], ['memory']]],
    ["SHOW CATALOGS LIKE 'de%'", ['Catalog'], [['demo']]],
    ['SHOW SCHEMAS FROM demo', ['Schema'], [['information_schema'], ['main'], ['ops'], ['sales']]],
    ['SHOW SCHEMAS', ['Schema'], [['information_schema'], ['main'], ['ops'], ['sales']]], // the session's catalog (demo)
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
    expect(row.ad).toBe(6); // exact: the six regions
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
    expect(translateForDuckDb('SELECT APPROX_DISTINCT (x), nan( ) FROM t', ctx)).toBe("SELECT hotpath_system.main.trino_approx_distinct (x), CAST('NaN' AS DOUBLE) FROM t");
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

describe("Trino's functions whose DuckDB twin answers another type or takes other arguments (typed macros)", () => {
  it('date_trunc and date_add keep a date a date; date_diff counts whole units; the format functions convert their patterns', async () => {
    const sql =
      "SELECT date_trunc('month', DATE '2024-01-30') AS dt, date_trunc('hour', TIMESTAMP '2024-01-30 10:42:00') AS tt, " +
      "date_add('day', 3, DATE '2024-01-30') AS da, date_add('month', -1, DATE '2024-03-31') AS dm, date_add('hour', 3, TIMESTAMP '2024-01-30 23:00:00') AS ta, " +
      "date_diff('day', TIMESTAMP '2024-01-01 23:00:00', TIMESTAMP '2024-01-02 01:00:00') AS whole, date_diff('day', DATE '2024-01-01', DATE '2024-03-01') AS days, " +
      "date_format(TIMESTAMP '2024-01-02 03:04:05', '%Y-%m-%d %H:%i:%s %p %W') AS mysql, format_datetime(TIMESTAMP '2024-01-02 03:04:05', 'yyyy-MM-dd''T''HH:mm EEE') AS joda, " +
      "date(TIMESTAMP '2024-01-02 03:04:05') AS d, from_iso8601_date('2024-05-06') AS iso, e() AS e, version() AS v, 7 / 2 AS int_div";
    const r = await query(h.url, sql, { user: 'alice' });
    expect(r.status, r.text).toBe(200);
    const types = Object.fromEntries(r.body.columns.map((c: { name: string; type: string }) => [c.name, c.type]));
    const row = Object.fromEntries(r.body.columns.map((c: { name: string }, i: number) => [c.name, r.body.rows[0][i]]));
    expect(types).toMatchObject({ dt: 'date', tt: 'timestamp(6)', da: 'date', dm: 'date', ta: 'timestamp(6)', whole: 'bigint', d: 'date', iso: 'date', v: 'varchar', int_div: 'integer' });
    expect(row).toEqual({
      dt: '2024-01-01', tt: '2024-01-30 10:00:00.000000', da: '2024-02-02', dm: '2024-02-29', ta: '2024-01-31 02:00:00.000000', whole: 0, days: 60,
      mysql: '2024-01-02 03:04:05 AM Tuesday', joda: '2024-01-02T03:04 Tue', d: '2024-01-02', iso: '2024-05-06', e: Math.E, v: '476', int_div: 3,
    });
  });

  it('a format that is not one string literal, or a pattern letter with no strftime twin, is NOT_SUPPORTED', async () => {
    for (const sql of ["SELECT date_format(TIMESTAMP '2024-01-02 03:04:05', name) FROM demo.sales.customers", "SELECT date_format(TIMESTAMP '2024-01-02 03:04:05', '%D')", "SELECT format_datetime(TIMESTAMP '2024-01-02 03:04:05', 'GG')"]) {
      const r = await query(h.url, sql, { user: 'alice' });
      expect(r.status, sql).toBe(400);
      expect(r.body.error.errorName, sql).toBe('NOT_SUPPORTED');
    }
  });

  it('every macro and every renamed target exists in this DuckDB (the face created them at start)', async () => {
    const r = await query(h.url, "SELECT DISTINCT function_name FROM duckdb_functions() WHERE database_name IN ('system', 'hotpath_system')", { user: 'alice' });
    const known = new Set(r.body.rows.map((row: string[]) => row[0]));
    for (const name of TRANSLATED_FUNCTIONS) {
      const ctx = { catalog: 'demo', schema: 'sales' };
      const pattern = name.endsWith('_datetime') ? 'yyyy' : '%Y';
      const call = /format|parse/.test(name) ? `SELECT ${name}(x, '${pattern}')` : `SELECT ${name}(x)`; // the format functions want a literal pattern
      let translated = translateForDuckDb(call, ctx);
      if (translated === call) translated = translateForDuckDb(`SELECT ${name}()`, ctx); // a constant: only without arguments
      expect(translated, name).not.toMatch(new RegExp(`^SELECT ${name}\\(`));
      const target = /SELECT (?:hotpath_system\.main\.)?([a-z_0-9]+)\(/.exec(translated)?.[1];
      if (target !== undefined && !/CAST|exp/.test(translated)) expect(known.has(target), `${name} -> ${translated}`).toBe(true);
    }
  });
});

describe("Trino's information_schema, SHOW FUNCTIONS and missing names on the embedded engine", () => {
  it("information_schema.columns/tables/schemata answer Trino's columns and type names, for the session's catalog or the one named", async () => {
    const cols = await query(h.url, "SELECT * FROM information_schema.columns WHERE table_schema = 'sales' AND table_name = 'orders' ORDER BY ordinal_position", { user: 'alice' });
    expect(cols.status, cols.text).toBe(200);
    expect(cols.body.columns.map((c: { name: string; type: string }) => `${c.name}:${c.type}`)).toEqual([
      'table_catalog:varchar', 'table_schema:varchar', 'table_name:varchar', 'column_name:varchar', 'ordinal_position:bigint', 'column_default:varchar', 'is_nullable:varchar', 'data_type:varchar',
    ]);
    expect(cols.body.rows[4]).toEqual(['demo', 'sales', 'orders', 'total_amount', 5, null, 'YES', 'decimal(12,2)']);
    const aliased = await query(h.url, "SELECT t.table_name FROM demo.information_schema.tables t WHERE t.table_schema = 'sales' ORDER BY 1", { user: 'alice' });
    expect(aliased.body.rows).toEqual([['customers'], ['orders']]);
    const schemata = await query(h.url, 'SELECT schema_name FROM information_schema.schemata ORDER BY 1', { user: 'alice' });
    expect(schemata.body.rows).toEqual([['information_schema'], ['main'], ['ops'], ['sales']]);
    expect(cols.headers.get('cache-status')).toMatch(/fwd=bypass; detail=system-table/);
  });

  it('SHOW FUNCTIONS lists what a statement can call, Trino names included, in Trino\'s six columns', async () => {
    const r = await query(h.url, "SHOW FUNCTIONS LIKE 'date\\_%' ESCAPE '\\'", { user: 'alice' });
    expect(r.status, r.text).toBe(200);
    expect(r.body.columns.map((c: { name: string }) => c.name)).toEqual(['Function', 'Return Type', 'Argument Types', 'Function Type', 'Deterministic', 'Description']);
    const names = new Set(r.body.rows.map((row: string[]) => row[0]));
    for (const n of ['date_add', 'date_diff', 'date_trunc', 'date_format', 'date_parse']) expect(names.has(n), n).toBe(true);
  });

  it.each([
    ['SHOW COLUMNS FROM no_such_table', 'TABLE_NOT_FOUND', "line 1:1: Table 'demo.sales.no_such_table' does not exist"],
    ['DESCRIBE demo.nope.t', 'SCHEMA_NOT_FOUND', "line 1:1: Schema 'nope' does not exist"],
    ['SHOW TABLES FROM no_such_schema', 'SCHEMA_NOT_FOUND', "line 1:1: Schema 'no_such_schema' does not exist"],
    ['SHOW TABLES FROM nope.x', 'CATALOG_NOT_FOUND', "line 1:1: Catalog 'nope' not found"],
    ['SHOW SCHEMAS FROM nope', 'CATALOG_NOT_FOUND', "line 1:1: Catalog 'nope' not found"],
  ])('%s fails as Trino does: %s', async (sql, errorName, message) => {
    const r = await query(h.url, sql, { user: 'alice' });
    expect(r.status, r.text).toBe(400);
    expect(r.body.error).toMatchObject({ errorName, message });
  });

  it("literals are typed as Trino types them: 'abc' varchar(3), a CASE of literals the widest, NULL unknown, a VALUES column too", async () => {
    const r = await query(h.url, "SELECT 'abc' AS a, CASE WHEN true THEN 'large' ELSE 's' END AS b, NULL AS c, lower('abc') AS d", { user: 'alice' });
    expect(r.body.columns.map((c: { type: string }) => c.type)).toEqual(['varchar(3)', 'varchar(5)', 'unknown', 'varchar']);
    const v = await query(h.url, "SELECT * FROM (VALUES (1, 'a'), (2, 'bcd')) AS t(id, v) ORDER BY id", { user: 'alice' });
    expect(v.body.columns.map((c: { type: string }) => c.type)).toEqual(['integer', 'varchar(3)']);
  });
});

describe("Trino's session statements through the Trino door on the embedded engine", () => {
  const trino = (sql: string, headers: Record<string, string> = {}) =>
    runStatement(h.url, sql, { user: 'alice', headers: { 'x-trino-catalog': 'demo', 'x-trino-schema': 'sales', ...headers } });

  it('SET SESSION, USE and PREPARE answer with the headers a Trino client applies; nothing of theirs is cached', async () => {
    const set = await trino("SET SESSION query_max_run_time = '1h'");
    expect([set.state, set.updateType, set.sessionHeaders['x-trino-set-session']]).toEqual(['FINISHED', 'SET SESSION', ['query_max_run_time=1h']]);
    expect(set.cacheStatus).toMatch(/fwd=bypass; detail=session/);
    const use = await trino('USE demo.ops');
    expect(use.sessionHeaders).toMatchObject({ 'x-trino-set-catalog': ['demo'], 'x-trino-set-schema': ['ops'] });
    const prep = await trino('PREPARE q1 FROM SELECT name FROM customers WHERE customer_id = ?');
    expect(prep.sessionHeaders['x-trino-added-prepare']).toEqual(['q1=SELECT+name+FROM+customers+WHERE+customer_id+%3D+%3F']);
  });

  it('EXECUTE runs the body the client holds with its parameters; cached per body and values, never across bodies', async () => {
    const held = (body: string) => ({ 'x-trino-prepared-statement': `q1=${encodeURIComponent(body)}` });
    const first = await trino('EXECUTE q1 USING 3', held('SELECT name FROM customers WHERE customer_id = ?'));
    expect(first.error).toBeUndefined();
    expect(comparable(first.rows)).toEqual([['Customer 00003']]);
    const again = await trino('EXECUTE q1 USING 3', held('SELECT name FROM customers WHERE customer_id = ?'));
    expect(again.cacheStatus).toMatch(/^hotpath; hit/);
    const other = await trino('EXECUTE q1 USING 3', held('SELECT region FROM customers WHERE customer_id = ?'));
    expect(other.cacheStatus).toMatch(/fwd=miss/);
    expect(other.columns?.map((c) => c.name)).toEqual(['region']);
    const missing = await trino('EXECUTE q2 USING 3');
    expect(missing.error).toMatchObject({ errorName: 'NOT_FOUND', message: 'Prepared statement not found: q2' });
  });

  it("the session's query_max_run_time bounds the embedded engine's run (EXCEEDED_TIME_LIMIT)", async () => {
    const slow = await trino('SELECT count(*) FROM demo.ops.gpu_usage a CROSS JOIN demo.ops.gpu_usage b', { 'x-trino-session': 'query_max_run_time=500ms' });
    expect(slow.error).toMatchObject({ errorName: 'EXCEEDED_TIME_LIMIT', message: 'Query exceeded the 500 ms time limit' });
  });
});
