// Why: the same SQL must run on the embedded engine and on the real Trino, so the test Trino's memory
// catalog `demo` holds the embedded engine's demo tables, row for row: read from a DuckDB engine built
// with the same demo data, created in Trino with the same column types, and inserted as typed literals
// in batches of TSV text (Trino's sequence() stops at 10,000 elements and DuckDB's hash() has no Trino twin, so the
// rows are copied, not regenerated).
import type { Cell, Column, Engine } from '../../../src/query-cache/engines/engine.ts';
import { execute } from './protocol.ts';

export const DEMO_TABLES = ['sales.customers', 'sales.orders', 'ops.gpu_usage'] as const;

/** Rows per INSERT (~100 characters a row; the test server's query.max-length is raised to fit). */
const ROWS_PER_INSERT = 25_000;
const NULL_MARK = '\\N';

/** One cell as TSV text (the demo data has no tab, newline or quote-free issue: checked, not assumed). */
function tsvCell(v: Cell): string {
  if (v === null) return NULL_MARK;
  const text = String(v);
  if (/[\t\n]/.test(text) || text === NULL_MARK) throw new Error(`demo value ${JSON.stringify(text)} cannot travel as TSV`);
  return text.replaceAll("'", "''");
}

/**
 * INSERT … SELECT over one varchar literal holding the batch as TSV, split and cast in Trino: planning a
 * VALUES list costs Trino per row (a 4,000-row VALUES took seconds), one string costs it nothing.
 */
function insertBatch(table: string, columns: Column[], rows: Cell[][]): string {
  const tsv = rows.map((row) => row.map(tsvCell).join('\t')).join('\n');
  const fields = columns.map((c, i) => `CAST(NULLIF(f[${i + 1}], '${NULL_MARK}') AS ${c.type})`).join(', ');
  return `INSERT INTO demo.${table} SELECT ${fields} FROM (SELECT split(line, U&'\\0009') AS f FROM UNNEST(split('${tsv}', U&'\\000A')) AS t(line))`;
}

/**
 * `run`, again (up to 20 times, a second apart) while Trino answers NO_NODES_AVAILABLE: on a loaded
 * 2-core machine its failure detector can briefly take the single node for gone; such a query was never
 * scheduled, so running it again is safe (an INSERT included).
 */
async function withNodes<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= 20 || !String((err as Error).message).includes('NO_NODES_AVAILABLE')) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Copies the demo tables from `source` (the embedded engine) into Trino's `demo` catalog. */
export async function loadDemoTables(source: Engine, trinoUrl: string, opts: { log?: (line: string) => void } = {}): Promise<Record<string, number>> {
  const run = (sql: string) => withNodes(() => execute(trinoUrl, sql, { user: 'hotpath-setup', timeoutMs: 300_000 }));
  const counts: Record<string, number> = {};
  for (const schema of new Set(DEMO_TABLES.map((t) => t.split('.')[0]!))) await run(`CREATE SCHEMA IF NOT EXISTS demo.${schema}`);
  for (const table of DEMO_TABLES) {
    const started = Date.now();
    const result = await source.execute({ sql: `SELECT * FROM demo.${table} ORDER BY 1, 2, 3, 4`, user: 'hotpath-setup', session: {} }, AbortSignal.timeout(120_000));
    const columns: Column[] = result.columns;
    await run(`DROP TABLE IF EXISTS demo.${table}`);
    await run(`CREATE TABLE demo.${table} (${columns.map((c) => `"${c.name}" ${c.type}`).join(', ')})`);
    const batches: string[] = [];
    for (let i = 0; i < result.rows.length; i += ROWS_PER_INSERT) batches.push(insertBatch(table, columns, result.rows.slice(i, i + ROWS_PER_INSERT)));
    // Two inserts at a time: the memory connector takes concurrent inserts into one table.
    for (let i = 0; i < batches.length; i += 2) await Promise.all(batches.slice(i, i + 2).map(run));
    const check = await withNodes(() => execute(trinoUrl, `SELECT count(*) FROM demo.${table}`, { user: 'hotpath-setup' }));
    const n = Number((check.rows[0]![0] as { text: string }).text);
    if (n !== result.rows.length) throw new Error(`demo.${table}: Trino holds ${n} rows, the embedded engine ${result.rows.length}`);
    counts[table] = n;
    opts.log?.(`demo.${table}: ${n} rows copied in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return counts;
}
