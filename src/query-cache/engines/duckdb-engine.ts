// Why: an embedded DuckDB lets hotpath serve (and demo) Trino-protocol queries with no cluster; a small
// connection pool runs queries in parallel, and timeouts/aborts interrupt DuckDB so no query outlives its caller.

import { DuckDBInstance, StatementType } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBMaterializedResult } from '@duckdb/node-api';
import { abortError, closedEngineError, ENGINE_CLOSED, EngineError } from './engine.ts';
import type { Cell, Engine, EngineQuery, EngineResult } from './engine.ts';
import { columnReader } from './duckdb-types.ts';
import { column } from './trino-types.ts';
import { DEFAULT_DEMO_ORDER_COUNT, DEMO_CATALOG, DEMO_SCHEMA, demoDataStatements } from './duckdb-demo-data.ts';

export interface DuckDbEngineOptions {
  /** Build the `demo` catalog (sales.customers, sales.orders, ops.gpu_usage) at start. */
  demoData: boolean;
  /** Rows in demo.sales.orders; default 1,000,000. */
  demoOrderRowCount?: number;
  /** Connections, hence statements running at once; default 4. */
  maxConnections?: number;
  /** Budget of one execute (waiting for a connection included) or ping. */
  statementTimeoutMs: number;
}

export type DuckDbEngine = Engine & { executions(): number };

/** Statement kinds a query may be: reads only, so no query changes data or a pooled connection's state. */
const READ_STATEMENTS: ReadonlySet<number> = new Set([StatementType.SELECT, StatementType.EXPLAIN]);

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const ENGINE_NAME = 'embedded DuckDB';
const closedError = (): EngineError => closedEngineError(ENGINE_NAME);
const aborted = (reason: unknown, timeoutMs: number): EngineError => abortError(reason, timeoutMs, ENGINE_NAME);

/** Maps a DuckDB error (`<Kind> Error: message`) to an EngineError with a Trino-like error name. */
export function toEngineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const message = (err instanceof Error ? err.message : String(err)).replace(/^Failed to extract statements: /, '');
  const kind = /^([A-Za-z_ -]+?) Error:/.exec(message)?.[1]?.toUpperCase() ?? '';
  const internal = (name: string): EngineError => new EngineError('internal', name, message, { cause: err });
  const user = (name: string): EngineError => new EngineError('user', name, message, { cause: err });
  if (kind === 'OUT OF MEMORY') return internal('EXCEEDED_LOCAL_MEMORY_LIMIT');
  if (['INTERNAL', 'FATAL', 'IO', 'NETWORK', 'HTTP', 'CONNECTION'].includes(kind)) {
    return internal('GENERIC_INTERNAL_ERROR');
  }
  if (kind === 'PARSER' || kind === 'SYNTAX') return user('SYNTAX_ERROR');
  if (kind === 'CONVERSION') return user('INVALID_CAST_ARGUMENT');
  if (kind === 'PERMISSION') return user('PERMISSION_DENIED');
  if (kind === 'CATALOG' || kind === 'BINDER') {
    if (/^Catalog Error: (Table|View) with name .* does not exist/.test(message)) return user('TABLE_NOT_FOUND');
    if (/^Catalog Error: Schema with name .* does not exist/.test(message)) return user('SCHEMA_NOT_FOUND');
    if (/^Catalog Error: (Scalar |Table |Aggregate )?Function with name .* does not exist/.test(message)) {
      return user('FUNCTION_NOT_FOUND');
    }
    if (/^Binder Error: .*column .* not found/i.test(message)) return user('COLUMN_NOT_FOUND');
  }
  return user('GENERIC_USER_ERROR');
}

/**
 * Runs `work` until it settles or the caller's signal / the time limit aborts it. On abort it rejects at once
 * and calls the function `work` registered with `interruptWith` (a DuckDB interrupt); `work` itself still runs
 * to its end, so the connection goes back to the pool only once DuckDB has let go of it.
 */
function abortable<T>(
  signal: AbortSignal,
  timeoutMs: number,
  inflight: Set<AbortController>,
  work: (aborted: AbortSignal, interruptWith: (fn: () => void) => void) => Promise<T>,
): Promise<T> {
  if (signal.aborted) return Promise.reject(aborted(signal.reason, timeoutMs));
  const inner = new AbortController();
  let interrupt: () => void = () => {};
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      interrupt();
      reject(aborted(inner.signal.reason, timeoutMs));
    };
    const onOuterAbort = (): void => inner.abort(signal.reason);
    const timer = setTimeout(() => inner.abort('timeout'), timeoutMs);
    inner.signal.addEventListener('abort', onAbort, { once: true });
    signal.addEventListener('abort', onOuterAbort, { once: true });
    inflight.add(inner);
    const done = work(inner.signal, (fn) => (interrupt = fn));
    done.then(resolve, (err: unknown) =>
      reject(inner.signal.aborted ? aborted(inner.signal.reason, timeoutMs) : toEngineError(err)),
    );
    void done.catch(() => {}).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onOuterAbort);
      inner.signal.removeEventListener('abort', onAbort);
      inflight.delete(inner);
    });
  });
}

/** Converts a materialized DuckDB result to Trino columns and JSON cells. */
function toEngineResult(result: DuckDBMaterializedResult): EngineResult {
  const readers = result.columnTypes().map(columnReader);
  const names = result.columnNames();
  const columns = readers.map((r, i) => column(names[i] ?? `_col${i}`, r.trino));
  const rows: Cell[][] = [];
  for (let c = 0; c < result.chunkCount; c++) {
    const chunk = result.getChunk(c);
    const vectors = readers.map((_, i) => chunk.getColumnVector(i));
    for (let rowIndex = 0; rowIndex < chunk.rowCount; rowIndex++) {
      rows.push(readers.map((r, i) => r.read(vectors[i]!, rowIndex)));
    }
  }
  return { columns, rows };
}

export async function createDuckDbEngine(opts: DuckDbEngineOptions): Promise<DuckDbEngine> {
  const timeoutMs = opts.statementTimeoutMs;
  const poolSize = Math.max(1, opts.maxConnections ?? 4);
  const defaultCatalog = opts.demoData ? DEMO_CATALOG : 'memory';
  const defaultSchema = opts.demoData ? DEMO_SCHEMA : 'main';
  // No file, network or extension access: the SQL comes from clients.
  const instance = await DuckDBInstance.create(':memory:', {
    enable_external_access: 'false',
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const all: DuckDBConnection[] = [];
  try {
    const setup = await instance.connect();
    all.push(setup);
    if (opts.demoData) {
      for (const sql of demoDataStatements(opts.demoOrderRowCount ?? DEFAULT_DEMO_ORDER_COUNT)) await setup.run(sql);
    }
    for (let i = 0; i < poolSize; i++) all.push(await instance.connect());
  } catch (err) {
    for (const c of all) c.disconnectSync();
    instance.closeSync();
    throw toEngineError(err);
  }
  const pingConnection = all[0]!;
  const idle = all.slice(1);
  const waiters: Array<{ resolve: (c: DuckDBConnection) => void; reject: (e: unknown) => void }> = [];
  const inflight = new Set<AbortController>();
  const running = new Set<Promise<unknown>>();
  let pingChain: Promise<unknown> = Promise.resolve();
  let executionCount = 0;
  let closed = false;

  function acquire(aborted: AbortSignal): Promise<DuckDBConnection> {
    const ready = idle.pop();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      waiters.push(waiter);
      aborted.addEventListener('abort', () => {
        const at = waiters.indexOf(waiter);
        if (at >= 0) waiters.splice(at, 1);
        reject(aborted.reason);
      }, { once: true });
    });
  }

  function release(conn: DuckDBConnection): void {
    const next = waiters.shift();
    if (next) next.resolve(conn);
    else idle.push(conn);
  }

  /** Keeps `p` in `running` until it settles, so close() can wait for DuckDB to let go of connections. */
  function track<T>(p: Promise<T>): Promise<T> {
    running.add(p);
    void p.catch(() => {}).finally(() => running.delete(p));
    return p;
  }

  async function useCatalog(conn: DuckDBConnection, query: EngineQuery, aborted: AbortSignal): Promise<void> {
    const catalog = query.catalog || (query.schema ? defaultCatalog : '');
    const target = catalog
      ? query.schema ? `${quoteIdent(catalog)}.${quoteIdent(query.schema)}` : quoteIdent(catalog)
      : `${quoteIdent(defaultCatalog)}.${quoteIdent(defaultSchema)}`;
    try {
      await conn.run(`USE ${target}`);
    } catch (err) {
      aborted.throwIfAborted();
      const sql = 'SELECT count(*) FROM duckdb_databases() WHERE database_name = $1';
      const found = await conn.runAndReadAll(sql, [catalog]);
      const name = found.getRows()[0]?.[0] === 0n ? 'CATALOG_NOT_FOUND' : 'SCHEMA_NOT_FOUND';
      const what = name === 'CATALOG_NOT_FOUND' ? `Catalog '${catalog}'` : `Schema '${catalog}.${query.schema ?? 'main'}'`;
      throw new EngineError('user', name, `${what} does not exist`, { cause: err });
    }
  }

  async function runOne(conn: DuckDBConnection, query: EngineQuery, aborted: AbortSignal): Promise<EngineResult> {
    await useCatalog(conn, query, aborted);
    aborted.throwIfAborted();
    const extracted = await conn.extractStatements(query.sql);
    if (extracted.count !== 1) {
      const why = extracted.count === 0 ? 'No statement' : `${extracted.count} statements`;
      throw new EngineError('user', 'SYNTAX_ERROR', `${why} given; a query must be exactly one statement`);
    }
    const prepared = await extracted.prepare(0);
    try {
      if (!READ_STATEMENTS.has(prepared.statementType)) {
        throw new EngineError('user', 'NOT_SUPPORTED', 'Only read statements (SELECT, EXPLAIN) are supported');
      }
      aborted.throwIfAborted();
      return toEngineResult(await prepared.run());
    } finally {
      prepared.destroySync();
    }
  }

  return {
    id: 'duckdb-embedded',
    executions: () => executionCount,
    execute(query: EngineQuery, signal: AbortSignal): Promise<EngineResult> {
      if (closed) return Promise.reject(closedError());
      executionCount++;
      return abortable(signal, timeoutMs, inflight, (aborted, interruptWith) =>
        track((async () => {
          const conn = await acquire(aborted);
          interruptWith(() => conn.interrupt());
          try {
            aborted.throwIfAborted();
            return await runOne(conn, query, aborted);
          } finally {
            interruptWith(() => {}); // never interrupt a connection another execution may hold next
            release(conn);
          }
        })()),
      );
    },
    ping(signal: AbortSignal): Promise<void> {
      if (closed) return Promise.reject(closedError());
      return abortable(signal, timeoutMs, inflight, (aborted, interruptWith) => {
        interruptWith(() => pingConnection.interrupt());
        const run = pingChain.then(async () => {
          aborted.throwIfAborted();
          await pingConnection.run('SELECT 1');
        });
        pingChain = run.catch(() => {});
        return track(run);
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const w of waiters.splice(0)) w.reject(ENGINE_CLOSED);
      for (const c of inflight) c.abort(ENGINE_CLOSED);
      await Promise.allSettled([...running]);
      for (const c of all) c.disconnectSync();
      instance.closeSync();
    },
  };
}
