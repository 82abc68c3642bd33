// Why: the AST reader decides whether a table set is complete; its resolution of names against the
// catalog is pure, so the cases DuckDB's binder distinguishes (views, a.b as schema or catalog, the search
// path, system relations) are tabled here against a hand-made catalog.
import { describe, expect, it } from 'vitest';
import { readAst, resolveRelations, type CatalogRelation } from '../../../src/query-cache/engines/duckdb-ast.ts';

const catalog: CatalogRelation[] = [
  { catalog: 'demo', schema: 'sales', name: 'orders', kind: 'table' },
  { catalog: 'demo', schema: 'sales', name: 'big_orders', kind: 'view' },
  { catalog: 'demo', schema: 'ops', name: 'orders', kind: 'table' },
  { catalog: 'ops', schema: 'main', name: 'orders', kind: 'table' },
  { catalog: 'system', schema: 'pg_catalog', name: 'pg_class', kind: 'view' },
];
const ctx = { catalog: 'demo', schema: 'sales', volatileFunctions: new Set(['random']) };
const base = (catalog_name: string, schema_name: string, table_name: string) => ({ type: 'BASE_TABLE', alias: '', sample: null, catalog_name, schema_name, table_name });
const select = (from: unknown, cte: [string, unknown][] = []) => ({
  node: { type: 'SELECT_NODE', modifiers: [], cte_map: { map: cte.map(([key, query]) => ({ key, value: { query: { node: query } } })) }, from_table: from, sample: null },
});

describe('resolveRelations', () => {
  it.each([
    ['one part binds in the session schema', base('', '', 'orders'), ['demo.sales.orders'], true, false],
    ['a.b may be a schema or a catalog: both kept', base('', 'ops', 'orders'), ['demo.ops.orders', 'ops.main.orders'], true, false],
    ['a view hides what it reads', base('', '', 'big_orders'), [], false, false],
    ['a name the catalog lacks', base('', '', 'nope'), [], false, false],
    ['the search path reaches system relations', base('', '', 'pg_class'), [], false, true],
  ])('%s', (_name, ref, tables, complete, readsSystem) => {
    const reading = readAst([select(ref)] as never);
    expect(resolveRelations(reading, catalog, ctx)).toMatchObject({ tables, complete, readsSystem });
  });

  it('table functions: pure ones read nothing, any other makes the set incomplete', () => {
    const fn = (name: string) => ({ type: 'TABLE_FUNCTION', alias: '', sample: null, function: { function_name: name, schema: '' } });
    expect(resolveRelations(readAst([select(fn('range'))] as never), catalog, ctx)).toMatchObject({ complete: true });
    expect(resolveRelations(readAst([select(fn('query_table'))] as never), catalog, ctx)).toMatchObject({ complete: false, incompleteReason: 'table function query_table' });
    expect(resolveRelations(readAst([select(fn('duckdb_tables'))] as never), catalog, ctx)).toMatchObject({ complete: false, readsSystem: true });
  });

  it('an unknown table-ref type fails closed', () => {
    const odd = { type: 'SOMETHING_NEW', alias: '', sample: null, child: base('', '', 'orders') };
    expect(resolveRelations(readAst([select(odd)] as never), catalog, ctx)).toMatchObject({ tables: ['demo.sales.orders'], complete: false });
  });

  it('names the tables it found as rules and invalidations do (lower case), whatever case DuckDB kept', () => {
    const withUmlaut: CatalogRelation[] = [...catalog, { catalog: 'demo', schema: 'sales', name: 'Ärzte', kind: 'table' }];
    expect(resolveRelations(readAst([select(base('', '', 'Ärzte'))] as never), withUmlaut, ctx)).toMatchObject({ tables: ['demo.sales.ärzte'], complete: true });
  });

  it('folds names as DuckDB does, in ASCII only: a CTE named with a Kelvin sign does not hide table kv', () => {
    const reading = readAst([select(base('', '', 'kv'), [['\u212Av', select({ type: 'EMPTY', alias: '', sample: null }).node]])] as never);
    expect(reading.references).toEqual([{ catalog: '', schema: '', table: 'kv' }]);
  });

  it('a recursive CTE sees itself only in its recursive branch, not in its first', () => {
    const recursive = {
      type: 'RECURSIVE_CTE_NODE', modifiers: [], cte_map: { map: [] }, cte_name: 'customers',
      left: select(base('', '', 'customers')).node, right: select(base('', '', 'customers')).node,
    };
    const reading = readAst([select(base('', '', 'customers'), [['customers', recursive]])] as never);
    expect(reading.references).toEqual([{ catalog: '', schema: '', table: 'customers' }]); // the first branch's read only
  });

  it('scopes CTE names: the body, not the CTE itself or earlier ones, sees a CTE', () => {
    // WITH orders AS (SELECT * FROM orders) SELECT * FROM orders: the body's `orders` is the CTE, the CTE's is the table
    const reading = readAst([select(base('', '', 'orders'), [['orders', select(base('', '', 'orders')).node]])] as never);
    expect(reading.references).toEqual([{ catalog: '', schema: '', table: 'orders' }]);
    // a qualified name is never a CTE
    const qualified = readAst([select(base('demo', 'sales', 'orders'), [['orders', { type: 'SELECT_NODE', modifiers: [], cte_map: { map: [] }, sample: null }]])] as never);
    expect(qualified.references).toHaveLength(1);
  });
});
