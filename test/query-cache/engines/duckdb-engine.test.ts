// Why: exercises the embedded DuckDB engine for real (demo data, Trino type mapping, errors, timeouts, aborts,
// concurrency), since its value is in matching Trino's wire forms exactly.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createDuckDbEngine } from '../../../src/query-cache/engines/duckdb-engine.ts';
import type { DuckDbEngine } from '../../../src/query-cache/engines/duckdb-engine.ts';
import { EngineError } from '../../../src/query-cache/engines/engine.ts';
import type { EngineQuery, EngineResult } from '../../../src/query-cache/engines/engine.ts';

const ORDER_ROWS = 20_000;
// A cross join far too big to finish within any test's time limit.
const SLOW_SQL = 'SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = 7';

let engine: DuckDbEngine;

function run(sql: string, extra: Partial<EngineQuery> = {}, signal = new AbortController().signal): Promise<EngineResult> {
  return engine.execute({ sql, user: 'alice', session: {}, ...extra }, signal);
}

async function one(sql: string): Promise<{ type: string; value: unknown }> {
  const result = await run(sql);
  return { type: result.columns[0]!.type, value: result.rows[0]![0] };
}

async function failure(p: Promise<unknown>): Promise<EngineError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(EngineError);
  return err as EngineError;
}

beforeAll(async () => {
  engine = await createDuckDbEngine({ demoData: true, demoOrderRowCount: ORDER_ROWS, statementTimeoutMs: 20_000 });
});

afterAll(async () => {
  await engine.close();
});

describe('demo data', () => {
  it('creates the demo tables with the expected row counts', async () => {
    const result = await run(`SELECT (SELECT count(*) FROM demo.sales.orders), (SELECT count(*) FROM demo.sales.customers),
      (SELECT count(*) FROM demo.ops.gpu_usage), (SELECT count(DISTINCT node) FROM demo.ops.gpu_usage)`);
    expect(result.rows).toEqual([[ORDER_ROWS, 50_000, 200_000, 4]]);
  });

  it('types the demo columns as Trino does and defaults to demo.sales', async () => {
    const orders = await run('SELECT * FROM orders LIMIT 1');
    expect(orders.columns.map((c) => `${c.name} ${c.type}`)).toEqual([
      'order_id bigint', 'customer_id bigint', 'order_date date', 'status varchar',
      'total_amount decimal(12, 2)', 'quantity integer', 'created_at timestamp(6)',
    ]);
    const customers = await run('SELECT * FROM customers ORDER BY customer_id LIMIT 1');
    expect(customers.columns.map((c) => c.type)).toEqual(['bigint', 'varchar', 'varchar', 'varchar', 'date', 'decimal(12, 2)']);
    expect(customers.rows[0]![0]).toBe(1);
  });

  it('is identical across starts', async () => {
    const other = await createDuckDbEngine({ demoData: true, demoOrderRowCount: ORDER_ROWS, statementTimeoutMs: 5000 });
    try {
      const sql = `SELECT (SELECT CAST(sum(hash(c)) AS VARCHAR) FROM customers c), (SELECT CAST(sum(hash(o)) AS VARCHAR) FROM orders o),
        (SELECT CAST(sum(hash(g)) AS VARCHAR) FROM demo.ops.gpu_usage g)`;
      const mine = await run(sql);
      const theirs = await other.execute({ sql, user: 'u', session: {} }, new AbortController().signal);
      expect(theirs.rows).toEqual(mine.rows);
    } finally {
      await other.close();
    }
  });
});

describe('type mapping', () => {
  it.each([
    ['SELECT true', 'boolean', true],
    ['SELECT 7::TINYINT', 'tinyint', 7],
    ['SELECT 300::SMALLINT', 'smallint', 300],
    ['SELECT 70000::INTEGER', 'integer', 70000],
    ['SELECT 42::BIGINT', 'bigint', 42],
    ['SELECT 9007199254740993::BIGINT', 'bigint', 9007199254740993n],
    ['SELECT (-9223372036854775808)::BIGINT', 'bigint', -9223372036854775808n],
    ['SELECT 18446744073709551615::UBIGINT', 'decimal(20, 0)', '18446744073709551615'],
    // HUGEINT is what DuckDB widens sum() of integers to: Trino's bigint (past its range: NUMERIC_VALUE_OUT_OF_RANGE, below).
    ['SELECT sum(x) FROM (VALUES (9007199254740993::BIGINT), (1::BIGINT)) t(x)', 'bigint', 9007199254740994n],
    ['SELECT count_if(true)', 'bigint', 1],
    ['SELECT 0.1::FLOAT', 'real', 0.1],
    ['SELECT 0.1::DOUBLE', 'double', 0.1],
    ["SELECT 'nan'::DOUBLE", 'double', 'NaN'],
    ["SELECT 'inf'::DOUBLE", 'double', 'Infinity'],
    ["SELECT '-inf'::FLOAT", 'real', '-Infinity'],
    ['SELECT 12.3::DECIMAL(10,2)', 'decimal(10, 2)', '12.30'],
    ['SELECT -0.05::DECIMAL(4,2)', 'decimal(4, 2)', '-0.05'],
    ["SELECT '12345678901234567890123456.123456789012'::DECIMAL(38,12)", 'decimal(38, 12)', '12345678901234567890123456.123456789012'],
    ["SELECT 'héllo'", 'varchar(5)', 'héllo'], // a literal's type, as Trino's: its length in characters
    ["SELECT lower('héllo')", 'varchar', 'héllo'],
    [`SELECT '{"a": [1, 2]}'::JSON`, 'json', '{"a": [1, 2]}'],
    ["SELECT '\\xAA\\xBB\\xCC'::BLOB", 'varbinary', 'qrvM'],
    ["SELECT DATE '2024-01-31'", 'date', '2024-01-31'],
    ["SELECT DATE '0001-01-01' - 1", 'date', '0000-12-31'],
    ["SELECT DATE '12000-06-01'", 'date', '+12000-06-01'],
    ["SELECT TIME '12:34:56.789'", 'time(6)', '12:34:56.789000'],
    ["SELECT TIMESTAMP '2024-01-31 12:34:56.789'", 'timestamp(6)', '2024-01-31 12:34:56.789000'],
    ["SELECT TIMESTAMP '0001-01-01 00:00:00'", 'timestamp(6)', '0001-01-01 00:00:00.000000'],
    ["SELECT '2024-01-31 12:34:56.789'::TIMESTAMP_MS", 'timestamp(3)', '2024-01-31 12:34:56.789'],
    ["SELECT '2024-01-31 12:34:56'::TIMESTAMP_S", 'timestamp(0)', '2024-01-31 12:34:56'],
    ["SELECT '2024-01-31 12:34:56.123456789'::TIMESTAMP_NS", 'timestamp(9)', '2024-01-31 12:34:56.123456789'],
    ["SELECT TIMESTAMPTZ '2024-01-31 12:34:56.789+00'", 'timestamp(6) with time zone', '2024-01-31 12:34:56.789000 UTC'],
    ["SELECT 'infinity'::TIMESTAMP", 'timestamp(6)', 'infinity'],
    ["SELECT UUID 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", 'uuid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
    ["SELECT INTERVAL '1 day 2 hours 3 minutes 4 seconds'", 'interval day to second', '1 02:03:04.000'],
    ["SELECT 'b'::ENUM('a', 'b')", 'varchar', 'b'],
    ['SELECT [1, 2, NULL]::BIGINT[]', 'array(bigint)', [1, 2, null]],
    ['SELECT [1.5, 2.25]::DECIMAL(4,2)[2]', 'array(decimal(4, 2))', ['1.50', '2.25']],
    ["SELECT {'a': 1, 'b': 'x'}", 'row(a integer, b varchar)', [1, 'x']],
    ["SELECT (1, 'x')", 'row(integer, varchar)', [1, 'x']],
    ["SELECT MAP {'k': 1, 'j': 2}", 'map(varchar, integer)', { k: 1, j: 2 }],
    ["SELECT MAP {1: [DATE '2024-01-31']}", 'map(integer, array(date))', { '1': ['2024-01-31'] }],
  ])('%s -> %s', async (sql, type, value) => {
    expect(await one(sql)).toEqual({ type, value });
  });

  it('gives the Trino typeSignature', async () => {
    const result = await run("SELECT 12.3::DECIMAL(10,2) d, {'a': 1}::STRUCT(a BIGINT) r");
    expect(result.columns[0]).toEqual({
      name: 'd',
      type: 'decimal(10, 2)',
      typeSignature: { rawType: 'decimal', arguments: [{ kind: 'LONG', value: 10 }, { kind: 'LONG', value: 2 }] },
    });
    expect(result.columns[1]!.typeSignature).toEqual({
      rawType: 'row',
      arguments: [{ kind: 'NAMED_TYPE', value: { fieldName: { name: 'a' }, typeSignature: { rawType: 'bigint', arguments: [] } } }],
    });
  });

  it("a sum past bigint's range fails as Trino's does (NUMERIC_VALUE_OUT_OF_RANGE), never a wrong number", async () => {
    await expect(run('SELECT sum(x) FROM (VALUES (9223372036854775807::BIGINT), (1::BIGINT)) t(x)')).rejects.toMatchObject({ errorName: 'NUMERIC_VALUE_OUT_OF_RANGE' });
  });

  it('maps NULL of every type to null', async () => {
    const types = ['BOOLEAN', 'TINYINT', 'INTEGER', 'BIGINT', 'UBIGINT', 'HUGEINT', 'FLOAT', 'DOUBLE', 'DECIMAL(10,2)',
      'VARCHAR', 'JSON', 'BLOB', 'DATE', 'TIME', 'TIMESTAMP', 'TIMESTAMPTZ', 'TIMESTAMP_NS', 'UUID', 'INTERVAL',
      'INTEGER[]', 'STRUCT(a INTEGER)', 'MAP(VARCHAR, INTEGER)'];
    const result = await run(`SELECT ${types.map((t) => `NULL::${t}`).join(', ')}`);
    expect(result.rows).toEqual([types.map(() => null)]);
    expect(result.columns.map((c) => c.type)).not.toContain('varchar(0)');
  });
});

describe('errors', () => {
  it('reports a syntax error', async () => {
    const err = await failure(run('SELEC 1'));
    expect([err.kind, err.errorName]).toEqual(['user', 'SYNTAX_ERROR']);
  });

  it('reports missing tables and columns as user errors', async () => {
    const table = await failure(run('SELECT * FROM no_such_table'));
    expect([table.kind, table.errorName]).toEqual(['user', 'TABLE_NOT_FOUND']);
    const col = await failure(run('SELECT no_such_column FROM orders'));
    expect([col.kind, col.errorName]).toEqual(['user', 'COLUMN_NOT_FOUND']);
  });

  it('rejects more than one statement, and writes', async () => {
    const multi = await failure(run('SELECT 1; SELECT 2'));
    expect(multi.kind).toBe('user');
    expect((await run('SELECT 1;')).rows).toEqual([[1]]);
    const drop = await failure(run('DROP TABLE orders'));
    expect([drop.kind, drop.errorName]).toEqual(['user', 'NOT_SUPPORTED']);
    expect((await run('SELECT count(*) FROM orders')).rows).toEqual([[ORDER_ROWS]]);
  });

  it('refuses file access', async () => {
    const err = await failure(run("SELECT * FROM read_csv('/etc/passwd')"));
    expect(err.kind).toBe('user');
  });

  it('never shows a file-system path in an error message', async () => {
    for (const sql of ["SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM glob('/root/*')", "SELECT * FROM read_parquet('/var/lib/x.parquet')"]) {
      const err = await failure(run(sql));
      expect(err.message).not.toMatch(/\/(etc|root|home|tmp|usr)\//);
      expect(err.message).toContain('<path>');
    }
  });
});

describe('resources', () => {
  it('runs with a bounded memory_limit and thread count (defaults for a shared pod, or as configured)', async () => {
    const setting = async (e: DuckDbEngine, name: string) =>
      (await e.execute({ sql: `SELECT current_setting('${name}')`, user: 'a', session: {} }, new AbortController().signal)).rows[0]![0];
    expect(await setting(engine, 'memory_limit')).toBe('1.0 GiB');
    expect(await setting(engine, 'threads')).toBe(2);
    const small = await createDuckDbEngine({ demoData: false, statementTimeoutMs: 5000, memoryLimitMiB: 256, threads: 1 });
    try {
      expect(await setting(small, 'memory_limit')).toBe('256.0 MiB');
      expect(await setting(small, 'threads')).toBe(1);
    } finally {
      await small.close();
    }
  });

  it('never spills to disk (a query over the memory limit fails as a user error), and names no host path in its settings', async () => {
    const small = await createDuckDbEngine({ demoData: false, statementTimeoutMs: 20_000, memoryLimitMiB: 64, threads: 1 });
    try {
      const q = (sql: string) => small.execute({ sql, user: 'a', session: {} }, new AbortController().signal);
      const err = await failure(q('SELECT length(list(i)) FROM range(30000000) t(i)'));
      expect([err.kind, err.errorName]).toEqual(['user', 'EXCEEDED_LOCAL_MEMORY_LIMIT']);
      const settings = (await q("SELECT name, value FROM duckdb_settings() WHERE name IN ('temp_directory', 'secret_directory', 'home_directory', 'max_temp_directory_size')")).rows;
      for (const [name, value] of settings) {
        if (name === 'max_temp_directory_size') expect(value).toBe('0 bytes');
        else expect(String(value)).toMatch(/hotpath-duckdb-/);
      }
    } finally {
      await small.close();
    }
  });

  it('streams: rows come chunk by chunk, never materialised, and a slow consumer holds the engine back', async () => {
    const batches: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const end = await engine.stream!({ sql: 'SELECT * FROM range(100000)', user: 'a', session: {} }, new AbortController().signal, async (b) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      batches.push(b.rows.length);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
    });
    expect(end).toEqual({});
    expect(batches.reduce((a, b) => a + b, 0)).toBe(100_000);
    expect(batches.length).toBeGreaterThan(10); // DuckDB's chunks are 2048 rows
    expect(Math.max(...batches)).toBeLessThanOrEqual(2048);
    expect(maxInFlight).toBe(1);
  });

  it('stops a streaming run on abort, and the connection is usable again', async () => {
    const ac = new AbortController();
    let rows = 0;
    const p = engine.stream!({ sql: 'SELECT * FROM range(100000000)', user: 'a', session: {} }, ac.signal, async (b) => {
      rows += b.rows.length;
      if (rows > 50_000) ac.abort('client went away');
    });
    const err = await failure(p);
    expect(err.errorName).toBe('USER_CANCELED');
    expect(rows).toBeLessThan(1_000_000);
    expect((await run('SELECT 42')).rows).toEqual([[42]]);
  });
});

describe('relations (the parser behind cache table sets)', () => {
  const rel = (sql: string, ctx: { catalog?: string; schema?: string } = {}) => engine.relations!({ sql, ...ctx }, new AbortController().signal);

  it.each([
    ['SELECT * FROM orders', ['demo.sales.orders'], true],
    ['SELECT * FROM ops.gpu_usage g, sales.customers c', ['demo.ops.gpu_usage', 'demo.sales.customers'], true],
    ['SELECT * FROM (SELECT * FROM demo.sales.orders) x, LATERAL (SELECT * FROM customers WHERE customer_id = x.customer_id) y', ['demo.sales.customers', 'demo.sales.orders'], true],
    ['WITH orders AS (SELECT * FROM customers) SELECT * FROM orders', ['demo.sales.customers'], true],
    ['WITH orders AS (SELECT * FROM orders) SELECT * FROM orders', ['demo.sales.orders'], true], // the CTE body reads the table
    ['WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT * FROM t', [], true],
    ['WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a', [], false], // b in a is no CTE (DuckDB binds a table)
    ['SELECT * FROM range(3), unnest([1]), generate_series(1, 2)', [], true],
    ["SELECT * FROM query_table('demo.sales.orders')", [], false],
    ['SELECT * FROM no_such_table', [], false],
    ['DESCRIBE orders', [], false], // Trino's DESCRIBE reads the catalog (trino-face.ts): a system-table read
    ['SHOW TABLES', [], false],
  ])('%j', async (sql, tables, complete) => {
    expect(await rel(sql)).toMatchObject({ kind: 'parsed', tables, complete });
  });

  it('resolves names in the session context and flags system relations and sampling', async () => {
    expect(await rel('SELECT * FROM gpu_usage', { catalog: 'demo', schema: 'ops' })).toMatchObject({ tables: ['demo.ops.gpu_usage'], complete: true });
    expect(await rel('SELECT * FROM pg_class')).toMatchObject({ readsSystem: true, complete: false });
    expect(await rel('SELECT * FROM orders USING SAMPLE 10%')).toMatchObject({ nondeterministic: true });
    // by DuckDB's own stability of the functions called, quoted or schema-qualified names included
    for (const sql of ['SELECT "random"()', 'SELECT main.uuidv4()', 'SELECT gen_random_uuid()', 'SELECT "now"()']) {
      expect(await rel(sql)).toMatchObject({ nondeterministic: true });
    }
    expect(await rel('SELECT lower(name), abs(-1) FROM customers')).toMatchObject({ nondeterministic: false });
  });

  it('reports syntax errors with Trino-style positions', async () => {
    expect(await rel('SELECT * FORM orders')).toMatchObject({ kind: 'syntax-error', message: expect.stringMatching(/^line 1:\d+: syntax error at or near "orders"/) });
  });
});

describe('catalog and schema', () => {
  it('runs in the catalog and schema the query names', async () => {
    expect((await run('SELECT count(*) FROM gpu_usage', { catalog: 'demo', schema: 'ops' })).rows).toEqual([[200_000]]);
    expect((await run('SELECT count(*) FROM sales.customers', { catalog: 'demo' })).rows).toEqual([[50_000]]);
    // The next query on any connection is back in the default schema.
    expect((await run('SELECT count(*) FROM customers')).rows).toEqual([[50_000]]);
  });

  it('rejects an unknown catalog or schema as a user error', async () => {
    const cat = await failure(run('SELECT 1', { catalog: 'nope"; DROP' }));
    expect([cat.kind, cat.errorName]).toEqual(['user', 'CATALOG_NOT_FOUND']);
    const schema = await failure(run('SELECT 1', { catalog: 'demo', schema: 'nope' }));
    expect([schema.kind, schema.errorName]).toEqual(['user', 'SCHEMA_NOT_FOUND']);
  });
});

describe('time limits, aborts and concurrency', () => {
  it('times out a slow query and recovers', async () => {
    const fast = await createDuckDbEngine({ demoData: false, maxConnections: 1, statementTimeoutMs: 50 });
    try {
      const started = performance.now();
      const err = await failure(fast.execute({ sql: SLOW_SQL, user: 'u', session: {} }, new AbortController().signal));
      expect([err.kind, err.errorName]).toEqual(['timeout', 'EXCEEDED_TIME_LIMIT']);
      expect(performance.now() - started).toBeLessThan(2000);
      // The single connection was interrupted and handed back.
      expect((await fast.execute({ sql: 'SELECT 1', user: 'u', session: {} }, new AbortController().signal)).rows).toEqual([[1]]);
    } finally {
      await fast.close();
    }
  });

  it('rejects on abort: cancel and timeout reasons', async () => {
    const controller = new AbortController();
    const pending = run(SLOW_SQL, {}, controller.signal);
    setTimeout(() => controller.abort(), 30);
    const cancel = await failure(pending);
    expect([cancel.kind, cancel.errorName]).toEqual(['internal', 'USER_CANCELED']);
    const timedOut = await failure(run(SLOW_SQL, {}, AbortSignal.timeout(30)));
    expect(timedOut.kind).toBe('timeout');
    const already = await failure(run('SELECT 1', {}, AbortSignal.abort()));
    expect(already.errorName).toBe('USER_CANCELED');
    expect((await run('SELECT 2')).rows).toEqual([[2]]);
  });

  it('runs concurrent executions, more than the pool size', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => run(`SELECT ${i} AS n, count(*) AS c FROM orders WHERE quantity > ${i % 5}`)),
    );
    expect(results.map((r) => r.rows[0]![0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('counts executions and answers ping', async () => {
    const before = engine.executions();
    await run('SELECT 1');
    await failure(run('SELEC 1'));
    expect(engine.executions()).toBe(before + 2);
    await engine.ping(new AbortController().signal);
    expect(engine.executions()).toBe(before + 2);
    expect(engine.id).toBe('duckdb-embedded');
  });

  it('rejects in-flight and later executions once closed', async () => {
    const closing = await createDuckDbEngine({ demoData: false, statementTimeoutMs: 10_000 });
    const inflight = failure(closing.execute({ sql: SLOW_SQL, user: 'u', session: {} }, new AbortController().signal));
    await new Promise((r) => setTimeout(r, 20));
    await closing.close();
    expect((await inflight).kind).toBe('unavailable');
    const later = await failure(closing.execute({ sql: 'SELECT 1', user: 'u', session: {} }, new AbortController().signal));
    expect(later.kind).toBe('unavailable');
    expect((await failure(closing.ping(new AbortController().signal))).kind).toBe('unavailable');
  });
});
