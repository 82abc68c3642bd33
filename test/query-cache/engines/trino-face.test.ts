// Why: Trino's metadata statements on the embedded engine (trino-face.ts), through the JSON door of a
// real app on real DuckDB: Trino's column names, Trino's type names, Trino's order; a malformed form is
// a syntax error and an uncovered one NOT_SUPPORTED, never DuckDB's own words; metadata is never cached.
import { describe, expect, it } from 'vitest';
import { translateForDuckDb } from '../../../src/query-cache/engines/trino-face.ts';
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
