// Why: an embedded DuckDB lets hotpath serve (and demo) Trino-protocol queries with no cluster; a small
// connection pool runs queries in parallel, and timeouts/aborts interrupt DuckDB so no query outlives its caller.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, StatementType } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBDataChunk } from '@duckdb/node-api';
import { abortError, closedEngineError, ENGINE_CLOSED, EngineError } from './engine.ts';
import type { Cell, Engine, EngineBatch, EngineQuery, EngineResult, EngineStreamEnd, Relations, RelationsQuery } from './engine.ts';
import { foldName, MAX_AST_CHARS, relationsFromSerialized, sameStatement, type CatalogRelation } from './duckdb-ast.ts';
import { columnReader } from './duckdb-types.ts';
import { checkRowSize } from '../core/answer-format.ts';
import { column, unknownType, varcharType, type TrinoType } from './trino-types.ts';
import { DEFAULT_DEMO_ORDER_COUNT, DEMO_CATALOG, DEMO_SCHEMA, demoDataStatements } from './duckdb-demo-data.ts';
import { faceSetupStatements, RAISED_PREFIX, translateForDuckDb } from './trino-face.ts';
import { trinoResultColumns, type LiteralType } from './trino-result-names.ts';
import { sessionStatement, sessionTimeLimitMs } from './trino-session.ts';

export interface DuckDbEngineOptions {
  /** Build the `demo` catalog (sales.customers, sales.orders, ops.gpu_usage) at start. */
  demoData: boolean;
  /** Rows in demo.sales.orders; default 1,000,000. */
  demoOrderRowCount?: number;
  /** Connections, hence statements running at once; default 4. */
  maxConnections?: number;
  /** Budget of one execute (waiting for a connection included) or ping. */
  statementTimeoutMs: number;
  /** DuckDB's memory_limit in MiB (what its buffer manager may use; a query over it fails); default 1024. */
  memoryLimitMiB?: number;
  /** DuckDB's worker threads; default 2. */
  threads?: number;
}

export type DuckDbEngine = Engine & { executions(): number };

/** Every table and view of every attached catalog, system ones included. */
const CATALOG_LISTING_SQL =
  "SELECT database_name, schema_name, table_name, 'table' FROM duckdb_tables() UNION ALL SELECT database_name, schema_name, view_name, 'view' FROM duckdb_views()";
/** Functions whose value may change between two executions of one statement, by DuckDB's own account. */
const VOLATILE_FUNCTIONS_SQL = "SELECT DISTINCT function_name FROM duckdb_functions() WHERE stability IN ('VOLATILE', 'CONSISTENT_WITHIN_QUERY')";

/** Statement kinds a query may be: reads only, so no query changes data or a pooled connection's state. */
const READ_STATEMENTS: ReadonlySet<number> = new Set([StatementType.SELECT, StatementType.EXPLAIN]);

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const ENGINE_NAME = 'embedded DuckDB';
const closedError = (): EngineError => closedEngineError(ENGINE_NAME);
const aborted = (reason: unknown, timeoutMs: number): EngineError => abortError(reason, timeoutMs, ENGINE_NAME);

/**
 * File-system paths in an engine message (`/root/.duckdb/extensions/…`, `"/etc/passwd"`) become `<path>`:
 * a client learns nothing about the host from an error. SQL such as `a/b` is left alone (a path here starts
 * at a boundary and has at least two segments).
 */
export function scrubPaths(message: string): string {
  return message.replace(/(^|[\s"'(=:,])(~?\/(?:[\w.@+-]+\/)+[\w.@*+-]*)/g, '$1<path>');
}

/** `line L:C: ` from DuckDB's `LINE L: <text>` and caret lines, or '' when it gave none. */
function duckPosition(message: string): string {
  const m = /\nLINE (\d+): (.*)\n( *)\^/.exec(message);
  if (!m) return '';
  const column = m[3]!.length - `LINE ${m[1]}: `.length + 1;
  return column >= 1 ? `line ${m[1]}:${column}: ` : '';
}

/** A column's Trino type: what DuckDB's type maps to, or what its literals make it in Trino (varchar(n), unknown) where DuckDB's agrees in kind. */
function trinoTypeOf(mapped: TrinoType, literal: LiteralType | undefined): TrinoType {
  if (literal?.kind === 'varchar' && mapped.type === 'varchar') return varcharType(literal.length);
  // A bare NULL: DuckDB answers it as integer; its values are all null, so only the type changes.
  if (literal?.kind === 'unknown' && mapped.type === 'integer') return unknownType();
  return mapped;
}

const RAISED = new RegExp(`${RAISED_PREFIX}([A-Z_]+):([^\\n]*)`);

/** Maps a DuckDB error (`<Kind> Error: message`) to an EngineError with a Trino-like error name. */
export function toEngineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const message = scrubPaths((err instanceof Error ? err.message : String(err)).replace(/^Failed to extract statements: /, ''));
  const kind = /^([A-Za-z_ -]+?) Error:/.exec(message)?.[1]?.toUpperCase() ?? '';
  // An error the face's SQL raises on purpose (trino-face.ts raiseSql): Trino's name and words.
  const raised = RAISED.exec(message);
  if (raised) return new EngineError('user', raised[1]!, raised[2]!, { cause: err });
  const internal = (name: string): EngineError => new EngineError('internal', name, message, { cause: err });
  const user = (name: string): EngineError => new EngineError('user', name, message, { cause: err });
  // A query too big for the memory limit is the query's fault (a 4xx; Trino's INSUFFICIENT_RESOURCES), not a bug.
  if (kind === 'OUT OF MEMORY') return user('EXCEEDED_LOCAL_MEMORY_LIMIT');
  if (['INTERNAL', 'FATAL', 'IO', 'NETWORK', 'HTTP', 'CONNECTION'].includes(kind)) {
    return internal('GENERIC_INTERNAL_ERROR');
  }
  if (kind === 'PARSER' || kind === 'SYNTAX') return user('SYNTAX_ERROR');
  if (kind === 'CONVERSION') return user('INVALID_CAST_ARGUMENT');
  if (kind === 'PERMISSION') return user('PERMISSION_DENIED');
  if (kind === 'CATALOG' || kind === 'BINDER') {
    // In Trino's words (line:column, then its sentence), as a Trino client would read them.
    const trino = (name: string, sentence: string): EngineError => new EngineError('user', name, `${duckPosition(message)}${sentence}`, { cause: err });
    let m = /^Catalog Error: (?:Table|View) with name (.+?) does not exist/.exec(message);
    if (m) return trino('TABLE_NOT_FOUND', `Table '${m[1]}' does not exist`);
    m = /^Catalog Error: Schema with name (.+?) does not exist/.exec(message);
    if (m) return trino('SCHEMA_NOT_FOUND', `Schema '${m[1]}' does not exist`);
    m = /^Catalog Error: (?:Scalar |Table |Aggregate )?Function with name (.+?) does not exist/.exec(message);
    if (m) return trino('FUNCTION_NOT_FOUND', `Function '${m[1]}' not registered`);
    m = /^Binder Error: Referenced column "?(.+?)"? not found/i.exec(message);
    if (m) return trino('COLUMN_NOT_FOUND', `Column '${m[1]}' cannot be resolved`);
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

/** A batch handed on once its rows add up to about this many bytes (a chunk of huge values is split). */
const BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Rows of one DuckDB chunk as Trino JSON cells, handed to `onBatch` every BATCH_BYTES: a chunk of 2048
 * huge values is never converted whole (memory stays at a batch and one row, and a slow consumer holds
 * DuckDB back between batches). A row over the answer's row limit fails the run as it is converted.
 */
async function deliverChunk(readers: readonly ReturnType<typeof columnReader>[], chunk: DuckDBDataChunk, columns: EngineBatch['columns'], onBatch: (batch: EngineBatch) => Promise<void>, aborted: AbortSignal): Promise<void> {
  const vectors = readers.map((_, i) => chunk.getColumnVector(i));
  let rows: Cell[][] = [];
  let bytes = 0;
  for (let rowIndex = 0; rowIndex < chunk.rowCount; rowIndex++) {
    const row = readers.map((r, i) => r.read(vectors[i]!, rowIndex));
    bytes += checkRowSize(row);
    rows.push(row);
    if (bytes >= BATCH_BYTES && rowIndex < chunk.rowCount - 1) {
      await onBatch({ columns, rows });
      aborted.throwIfAborted();
      rows = [];
      bytes = 0;
    }
  }
  await onBatch({ columns, rows });
}

export async function createDuckDbEngine(opts: DuckDbEngineOptions): Promise<DuckDbEngine> {
  const timeoutMs = opts.statementTimeoutMs;
  const poolSize = Math.max(1, opts.maxConnections ?? 4);
  const defaultCatalog = opts.demoData ? DEMO_CATALOG : 'memory';
  const defaultSchema = opts.demoData ? DEMO_SCHEMA : 'main';
  // No file, network or extension access: the SQL comes from clients. Bounded memory and threads: the
  // engine shares a pod with the service (DuckDB's defaults are 80 % of RAM and one thread per core).
  // Nothing spills to disk (a query over the memory limit fails instead of filling the pod's disk), the
  // directories DuckDB would use point at a private empty one (its settings name no path of the host's),
  // and the configuration is locked once the demo data is built.
  const privateDir = mkdtempSync(join(tmpdir(), 'hotpath-duckdb-'));
  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    memory_limit: `${opts.memoryLimitMiB ?? 1024}MiB`,
    threads: String(opts.threads ?? 2),
    max_temp_directory_size: '0B',
    secret_directory: privateDir,
    home_directory: privateDir,
    extension_directory: privateDir,
  });
  const all: DuckDBConnection[] = [];
  try {
    const setup = await instance.connect();
    all.push(setup);
    // DuckDB takes temp_directory only while external access is on: set it, then turn access off,
    // before any connection that runs a client's SQL exists.
    await setup.run(`SET temp_directory = '${privateDir.replaceAll("'", "''")}'`);
    await setup.run('SET enable_external_access = false');
    if (opts.demoData) {
      for (const sql of demoDataStatements(opts.demoOrderRowCount ?? DEFAULT_DEMO_ORDER_COUNT)) await setup.run(sql);
    }
    // Trino's system.jdbc tables (the JDBC driver's DatabaseMetaData) and its functions' macros (trino-face.ts).
    for (const sql of faceSetupStatements()) await setup.run(sql);
    // Trino's integer division (7 / 2 = 3), on every connection.
    await setup.run('SET GLOBAL integer_division = true');
    await setup.run('SET lock_configuration = true');
    for (let i = 0; i < poolSize; i++) all.push(await instance.connect());
    all.push(await instance.connect()); // the parse connection, last
  } catch (err) {
    for (const c of all) c.disconnectSync();
    instance.closeSync();
    rmSync(privateDir, { recursive: true, force: true });
    throw toEngineError(err);
  }
  // Two connections stay out of the pool, so a pool full of long queries never delays /readyz or the
  // planning of a new statement: pings run on the setup connection, parses on their own, one at a time.
  const pingConnection = all[0]!;
  const parseConnection = all.at(-1)!;
  const idle = all.slice(1, -1);
  const waiters: Array<{ resolve: (c: DuckDBConnection) => void; reject: (e: unknown) => void }> = [];
  const inflight = new Set<AbortController>();
  const running = new Set<Promise<unknown>>();
  const chains = new Map<DuckDBConnection, Promise<unknown>>();
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

  /** One piece of work on a dedicated connection, after the ones before it there, under `signal` and the time limit. */
  function onDedicated<T>(conn: DuckDBConnection, signal: AbortSignal, work: (conn: DuckDBConnection, aborted: AbortSignal) => Promise<T>): Promise<T> {
    return abortable(signal, timeoutMs, inflight, (aborted, interruptWith) => {
      const run = (chains.get(conn) ?? Promise.resolve()).then(async () => {
        aborted.throwIfAborted();
        // Only while this work runs: a timeout while still queued must not interrupt the one before it.
        interruptWith(() => conn.interrupt());
        try {
          return await work(conn, aborted);
        } finally {
          interruptWith(() => {});
        }
      });
      chains.set(conn, run.catch(() => {}));
      return track(run);
    });
  }

  /** The catalog and schema a query's names resolve in: what useCatalog makes current. */
  function contextOf(query: RelationsQuery): { catalog: string; schema: string } {
    if (query.catalog) return { catalog: foldName(query.catalog), schema: foldName(query.schema || 'main') };
    return { catalog: defaultCatalog, schema: foldName(query.schema || defaultSchema) };
  }

  /**
   * Read once, on first use: the catalog and its functions do not change once the demo data is built (only
   * read statements run, and the configuration is locked), so a parse does not list them again.
   */
  let catalogOnce: { relations: CatalogRelation[]; volatileFunctions: Set<string> } | undefined;
  async function catalogOf(conn: DuckDBConnection): Promise<NonNullable<typeof catalogOnce>> {
    if (catalogOnce) return catalogOnce;
    const listing = await conn.runAndReadAll(CATALOG_LISTING_SQL);
    const relations: CatalogRelation[] = listing.getRows().map(([c, s, n, kind]) => ({
      catalog: foldName(String(c)),
      schema: foldName(String(s)),
      name: foldName(String(n)),
      kind: kind === 'view' ? 'view' : 'table',
    }));
    const volatileFunctions = new Set((await conn.runAndReadAll(VOLATILE_FUNCTIONS_SQL)).getRows().map(([f]) => foldName(String(f))));
    catalogOnce = { relations, volatileFunctions };
    return catalogOnce;
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

  /** USE's check that its target exists, in Trino's words for USE. */
  async function checkUse(conn: DuckDBConnection, catalog: string, schema: string, aborted: AbortSignal): Promise<void> {
    try {
      await useCatalog(conn, { sql: '', user: '', session: {}, catalog, schema }, aborted);
    } catch (err) {
      if (!(err instanceof EngineError) || err.kind !== 'user') throw err;
      throw err.errorName === 'CATALOG_NOT_FOUND'
        ? new EngineError('user', 'CATALOG_NOT_FOUND', `Catalog '${catalog}' not found`)
        : new EngineError('user', 'NOT_FOUND', `Schema does not exist: ${catalog}.${schema}`);
    }
  }

  /**
   * Runs one read statement on `conn`, handing rows to `onBatch` chunk by chunk as DuckDB produces them
   * (a streaming result: nothing is materialised, and the loop is free between chunks). `onBatch` is
   * awaited, so a slow consumer holds DuckDB back instead of buffering.
   */
  async function runStreaming(conn: DuckDBConnection, query: EngineQuery, aborted: AbortSignal, onBatch: (batch: EngineBatch) => Promise<void>): Promise<EngineStreamEnd> {
    await useCatalog(conn, query, aborted);
    aborted.throwIfAborted();
    // Trino's session statements, answered as Trino answers them (trino-session.ts); EXECUTE runs its statement.
    const session = sessionStatement({ sql: query.sql, session: query.session, preparedStatements: query.preparedStatements });
    if (session?.kind === 'answer') {
      if (session.use) await checkUse(conn, session.use.catalog ?? query.catalog ?? defaultCatalog, session.use.schema, aborted);
      await onBatch({ columns: session.columns, rows: session.rows });
      return { ...(session.sessionChanges ? { sessionChanges: session.sessionChanges } : {}), ...(session.update ? { update: session.update } : {}) };
    }
    // Trino's metadata statements, answered in Trino's layout (trino-face.ts); anything else as it is.
    const sql = translateForDuckDb(session?.kind === 'run' ? session.sql : query.sql, contextOf(query));
    const extracted = await conn.extractStatements(sql);
    if (extracted.count !== 1) {
      const why = extracted.count === 0 ? 'No statement' : `${extracted.count} statements`;
      throw new EngineError('user', 'SYNTAX_ERROR', `${why} given; a query must be exactly one statement`);
    }
    const prepared = await extracted.prepare(0);
    try {
      if (!READ_STATEMENTS.has(prepared.statementType)) {
        throw new EngineError('user', 'NOT_SUPPORTED', 'Only read statements (SELECT, EXPLAIN) are supported');
      }
      // Trino's names for unnamed columns (_col0, …; `SELECT true` too, whose DuckDB name looks like a
      // column's), from the statement's AST, read before the result streams (another statement on the
      // connection would end that result). One more parse per execution: misses only.
      const ast = (await conn.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql])).getRows()[0]?.[0];
      const { names, literalTypes } = trinoResultColumns(Array.from({ length: prepared.columnCount }, (_v, i) => prepared.columnName(i)), String(ast ?? ''));
      aborted.throwIfAborted();
      const result = await prepared.stream();
      const readers = result.columnTypes().map(columnReader);
      const columns = readers.map((r, i) => column(names[i] ?? `_col${i}`, trinoTypeOf(r.trino, literalTypes[i])));
      let sent = false;
      for (;;) {
        aborted.throwIfAborted();
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        await deliverChunk(readers, chunk, columns, onBatch, aborted);
        sent = true;
      }
      if (!sent) await onBatch({ columns, rows: [] });
      return {};
    } finally {
      prepared.destroySync();
    }
  }

  /** The time limit of one execution: the engine's, or less when the client's session asks (SET SESSION query_max_run_time). */
  const limitOf = (query: EngineQuery): number => Math.max(1, Math.min(timeoutMs, sessionTimeLimitMs(query.session) ?? timeoutMs));

  /** A pooled connection for one statement, released only once DuckDB has let go of it. */
  function withConnection<T>(signal: AbortSignal, limitMs: number, work: (conn: DuckDBConnection, aborted: AbortSignal) => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(closedError());
    executionCount++;
    return abortable(signal, limitMs, inflight, (aborted, interruptWith) =>
      track((async () => {
        const conn = await acquire(aborted);
        interruptWith(() => conn.interrupt());
        try {
          aborted.throwIfAborted();
          return await work(conn, aborted);
        } finally {
          interruptWith(() => {}); // never interrupt a connection another execution may hold next
          release(conn);
        }
      })()),
    );
  }

  return {
    id: 'duckdb-embedded',
    executions: () => executionCount,
    execute(query: EngineQuery, signal: AbortSignal): Promise<EngineResult> {
      return withConnection(signal, limitOf(query), async (conn, aborted) => {
        const result: EngineResult = { columns: [], rows: [] };
        const end = await runStreaming(conn, query, aborted, async (batch) => {
          result.columns = batch.columns;
          for (const row of batch.rows) result.rows.push(row);
        });
        return { ...result, ...end };
      });
    },
    stream(query: EngineQuery, signal: AbortSignal, onBatch: (batch: EngineBatch) => Promise<void>): Promise<EngineStreamEnd> {
      return withConnection(signal, limitOf(query), (conn, aborted) => runStreaming(conn, query, aborted, onBatch));
    },
    ping(signal: AbortSignal): Promise<void> {
      if (closed) return Promise.reject(closedError());
      return onDedicated(pingConnection, signal, async (conn) => {
        await conn.run('SELECT 1');
      });
    },
    relations(query: RelationsQuery, signal: AbortSignal): Promise<Relations> {
      if (closed) return Promise.reject(closedError());
      return onDedicated(parseConnection, signal, async (conn, aborted) => {
        const serialize = async (sql: string) => String((await conn.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql])).getRows()[0]?.[0] ?? '');
        // What runs is the translated statement (trino-face.ts): its table sets are the ones that count.
        let sql: string;
        let normalized: string | undefined;
        try {
          // SHOW SESSION is answered from the client's session, reading no table (a system answer, never cached).
          if (sessionStatement({ sql: query.sql, session: {} })?.kind === 'answer') return { kind: 'parsed', tables: [], complete: true, readsSystem: true, nondeterministic: false };
          sql = translateForDuckDb(query.sql, contextOf(query));
          normalized = query.normalized === undefined ? undefined : translateForDuckDb(query.normalized, contextOf(query));
        } catch (err) {
          if (err instanceof EngineError && err.errorName === 'SYNTAX_ERROR') return { kind: 'syntax-error', message: err.message };
          throw err;
        }
        const serialized = await serialize(sql);
        aborted.throwIfAborted();
        if (serialized.length > MAX_AST_CHARS) return { kind: 'key-mismatch' }; // too large to check on the event loop: not cached
        // The key's form of the statement must be the same statement to DuckDB (else two statements
        // that run differently would share a key): compare the two ASTs, positions aside.
        if (normalized !== undefined && normalized !== sql && !sameStatement(serialized, await serialize(normalized))) {
          return { kind: 'key-mismatch' };
        }
        aborted.throwIfAborted();
        const catalog = await catalogOf(conn);
        const ctx = { ...contextOf(query), volatileFunctions: catalog.volatileFunctions };
        const relations = relationsFromSerialized(serialized, sql, catalog.relations, ctx);
        return relations.kind === 'syntax-error' ? { ...relations, message: scrubPaths(relations.message) } : relations;
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
      rmSync(privateDir, { recursive: true, force: true });
    },
  };
}
