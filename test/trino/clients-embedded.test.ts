// Why: the default configuration has no Trino behind hotpath (the embedded DuckDB engine), and Trino's
// reference clients must still work against it for what the embedded engine answers: the JDBC driver's
// executeQuery with Trino's types, setMaxRows and cancel, and the CLI's --execute with --catalog/--schema
// and its output formats, DatabaseMetaData over the system.jdbc emulation, PreparedStatement (EXECUTE
// IMMEDIATE … USING) and SET SESSION, which the embedded engine answers itself (trino-session.ts).
import { describe, expect, inject, it } from 'vitest';
import type { TestApp } from '../helpers/app.ts';
import { cli, jdbc } from './helpers/java-clients.ts';
import { useTrinoSuite } from './helpers/hotpath.ts';

const { setup } = inject('trino');
let embedded: TestApp;
useTrinoSuite(async (s) => {
  embedded = await s.embedded();
});
const url = () => `jdbc:trino://${new URL(embedded.url).host}`;

describe('Trino JDBC driver and CLI against the embedded engine', () => {
  it('JDBC: executeQuery with Trino type names, setMaxRows, cancel', async () => {
    const [q, max, cancel] = await jdbc(setup, url(), 'alice', undefined, [
      'QUERY SELECT customer_id, name, credit_limit, signup_date FROM demo.sales.customers ORDER BY customer_id LIMIT 3',
      'MAXROWS 2 SELECT customer_id FROM demo.sales.customers ORDER BY 1',
      'CANCEL SELECT count(*) FROM demo.ops.gpu_usage a CROSS JOIN demo.ops.gpu_usage b',
    ]);
    expect(q!.columns).toEqual([
      { name: 'customer_id', type: 'bigint', jdbcType: -5 },
      { name: 'name', type: 'varchar', jdbcType: 12 },
      { name: 'credit_limit', type: 'decimal(12,2)', jdbcType: 3 },
      { name: 'signup_date', type: 'date', jdbcType: 91 },
    ]);
    expect(q!.rows).toEqual([
      ['1', 'Customer 00001', '71250.00', '2021-06-21'],
      ['2', 'Customer 00002', '191850.00', '2020-12-02'],
      ['3', 'Customer 00003', '234000.00', '2023-07-13'],
    ]);
    expect(max!.rowCount).toBe(2);
    expect(cancel!.outcome).toMatch(/^error:/); // cancelled after 1 s, long before a 40-billion-row join ends
  });

  it('CLI: --execute with --catalog/--schema in CSV_HEADER and JSON', async () => {
    const base = ['--server', embedded.url, '--user', 'alice', '--catalog', 'demo', '--schema', 'sales', '--execute', 'SELECT customer_id, name FROM customers ORDER BY 1 LIMIT 3'];
    const csv = await cli(setup, [...base, '--output-format', 'CSV_HEADER']);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toBe('"customer_id","name"\n"1","Customer 00001"\n"2","Customer 00002"\n"3","Customer 00003"\n');
    const json = await cli(setup, [...base, '--output-format', 'JSON']);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { customer_id: 1, name: 'Customer 00001' },
      { customer_id: 2, name: 'Customer 00002' },
      { customer_id: 3, name: 'Customer 00003' },
    ]);
  });

  it('JDBC PreparedStatement (EXECUTE IMMEDIATE … USING, parameters substituted)', async () => {
    const [p] = await jdbc(setup, url(), 'alice', undefined, ['PREPARED SELECT name FROM demo.sales.customers WHERE customer_id = ? ||| 3']);
    expect(p!.rows).toEqual([['Customer 00003']]);
  });
  it('JDBC DatabaseMetaData (getCatalogs, getSchemas, getTables, getColumns, getTypeInfo) over the system.jdbc emulation', async () => {
    const [catalogs, schemas, tables, columns, types] = await jdbc(setup, url(), 'alice', undefined, ['META catalogs', 'META schemas', 'META tables', 'META columns', 'META typeinfo']);
    expect(catalogs!.rows).toEqual([['demo'], ['memory']]);
    expect(schemas!.rows).toEqual([['main', 'demo'], ['ops', 'demo'], ['sales', 'demo']]);
    expect(tables!.rows!.map((r) => r.slice(0, 4))).toEqual([['demo', 'sales', 'customers', 'TABLE'], ['demo', 'sales', 'orders', 'TABLE']]);
    expect(columns!.rows!.map((r) => [r[3], r[4], r[5], r[6], r[8], r[16], r[17]])).toEqual([
      // COLUMN_NAME, DATA_TYPE (java.sql.Types), TYPE_NAME, COLUMN_SIZE, DECIMAL_DIGITS, ORDINAL_POSITION, IS_NULLABLE
      ['customer_id', '-5', 'bigint', '19', null, '1', 'YES'],
      ['name', '12', 'varchar', '2147483647', null, '2', 'YES'],
      ['region', '12', 'varchar', '2147483647', null, '3', 'YES'],
      ['segment', '12', 'varchar', '2147483647', null, '4', 'YES'],
      ['signup_date', '91', 'date', '14', null, '5', 'YES'],
      ['credit_limit', '3', 'decimal(12,2)', '12', '2', '6', 'YES'],
    ]);
    expect(types!.columns!.map((c) => c.name)).toEqual(['TYPE_NAME', 'DATA_TYPE', 'PRECISION', 'LITERAL_PREFIX', 'LITERAL_SUFFIX', 'CREATE_PARAMS', 'NULLABLE', 'CASE_SENSITIVE', 'SEARCHABLE', 'UNSIGNED_ATTRIBUTE', 'FIXED_PREC_SCALE', 'AUTO_INCREMENT', 'LOCAL_TYPE_NAME', 'MINIMUM_SCALE', 'MAXIMUM_SCALE', 'SQL_DATA_TYPE', 'SQL_DATETIME_SUB', 'NUM_PREC_RADIX']);
    expect(types!.rows).toContainEqual(['bigint', '-5', '19', null, null, null, '1', 'false', '3', null, 'false', null, null, '0', '0', null, null, '10']);
  });

  it('JDBC SET SESSION: accepted as Trino accepts it, refused as Trino refuses it', async () => {
    const [ok, unknown, badType] = await jdbc(setup, url(), 'alice', undefined, [
      "EXECUTE SET SESSION query_max_run_time = '1h'",
      'EXECUTE SET SESSION no_such_property = 1',
      "EXECUTE SET SESSION query_priority = 'high'",
    ]);
    expect(ok!.error).toBeUndefined();
    expect(unknown!.error?.message).toMatch(/Session property 'no_such_property' does not exist/);
    expect(badType!.error?.message).toMatch(/Cannot cast type varchar\(4\) to integer/);
  });
});
