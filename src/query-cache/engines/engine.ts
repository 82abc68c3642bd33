// Why: the query cache talks to every SQL engine (embedded DuckDB, an upstream Trino) through this one
// small port, shaped by what the cache needs and by Trino's wire model, not by any client library.

/** Trino type signature, as sent in QueryResults `columns[].typeSignature`. */
export interface TypeSignature {
  rawType: string;
  arguments: TypeArgument[];
}

export type TypeArgument =
  | { kind: 'LONG'; value: number }
  | { kind: 'TYPE'; value: TypeSignature }
  | { kind: 'NAMED_TYPE'; value: { fieldName?: { name: string }; typeSignature: TypeSignature } };

/** A result column with its Trino type name (`decimal(12, 2)`, `array(bigint)`, …). */
export interface Column {
  name: string;
  type: string;
  typeSignature: TypeSignature;
}

/**
 * A cell already in Trino's JSON encoding, except that integers past 2^53 are JS `bigint`
 * (the serialiser writes them as bare digits, bit-exact). Decimals and temporal values are strings.
 */
export type Cell = null | boolean | number | bigint | string | Cell[] | { [key: string]: Cell };

export interface EngineQuery {
  sql: string;
  /** Verified principal the query runs as. */
  user: string;
  catalog?: string;
  schema?: string;
  session: Record<string, string>;
  timeZone?: string;
  /** The caller's Authorization header, passed through to an upstream that authenticates itself. */
  authorization?: string | undefined;
  /**
   * Trino-protocol headers of the client's request for an upstream Trino (the Trino door's; names in the
   * x-trino- spelling, already part of the cache key). Engines without such an upstream ignore them.
   */
  upstreamHeaders?: Record<string, string>;
  /**
   * Prepared statements the client holds (X-Trino-Prepared-Statement, name → body; part of the key): an
   * engine that answers EXECUTE itself (the embedded one) reads the body here.
   */
  preparedStatements?: Record<string, string> | undefined;
}

/** What a statement that is not a query reports (Trino's QueryResults `updateType`/`updateCount`). */
export interface StatementUpdate {
  /** e.g. `SET SESSION`, `PREPARE`, `INSERT`. */
  type: string;
  count?: number;
}

export interface EngineResult {
  columns: Column[];
  rows: Cell[][];
  /**
   * Session-changing response headers an upstream Trino sent (`x-trino-set-session`, …; names lower-cased,
   * values as received). Present only when there were any: such a statement changed session state.
   */
  sessionChanges?: Record<string, string[]>;
  /** Present for a statement that is not a query: clients (the JDBC driver) treat it as an update. */
  update?: StatementUpdate;
}

/**
 * Errors an engine reports. `kind` decides the HTTP status at the door:
 * user (bad SQL: 400), unavailable (unreachable: 502), timeout (504), internal (500).
 */
export type EngineErrorKind = 'user' | 'unavailable' | 'timeout' | 'internal';

export class EngineError extends Error {
  readonly kind: EngineErrorKind;
  /** The engine's own error name, e.g. Trino's `SYNTAX_ERROR` or DuckDB's `Parser Error`. */
  readonly errorName: string;
  /** An upstream Trino's own errorCode and errorType, passed to Trino clients as they were. */
  readonly trinoCode: { errorCode: number; errorType: string } | undefined;
  constructor(kind: EngineErrorKind, errorName: string, message: string, options?: { cause?: unknown; trinoCode?: { errorCode: number; errorType: string } }) {
    super(message, options);
    this.name = 'EngineError';
    this.kind = kind;
    this.errorName = errorName;
    this.trinoCode = options?.trinoCode;
  }
}

/** Rows as they arrive from an engine; every batch names the columns (the first may carry no rows). */
export interface EngineBatch {
  columns: Column[];
  rows: Cell[][];
}

export interface EngineStreamEnd {
  sessionChanges?: Record<string, string[]>;
  update?: StatementUpdate;
}

/** A statement to parse, in the session context its names resolve in. */
export interface RelationsQuery {
  sql: string;
  /**
   * The statement as the cache key has it (comments dropped, whitespace collapsed). An engine that can
   * parse both answers `kind: 'key-mismatch'` when they do not mean the same (the key would let a
   * different statement share this one's entry).
   */
  normalized?: string;
  catalog?: string | undefined;
  schema?: string | undefined;
}

/**
 * What the engine's own parser says a statement reads. `tables` are fully qualified and lower-cased;
 * `complete` is false when something read may be missing from them (a view, a table function that can
 * read tables, a name the catalog does not know, a statement kind the parser cannot show).
 */
export type Relations =
  | {
      kind: 'parsed';
      tables: string[];
      complete: boolean;
      /** Why the set is incomplete, for the log. */
      incompleteReason?: string;
      /** Reads a system catalog (information_schema, pg_catalog, duckdb_* …). */
      readsSystem: boolean;
      /**
       * Samples rows (USING SAMPLE, TABLESAMPLE) or calls a function whose value changes between executions
       * (DuckDB: stability VOLATILE or CONSISTENT_WITHIN_QUERY, e.g. random(), uuidv4(), now()): never cacheable.
       */
      nondeterministic: boolean;
    }
  | { kind: 'syntax-error'; message: string }
  | { kind: 'key-mismatch' };

/**
 * The port. `execute` runs one statement to completion and resolves with every row, or rejects with
 * an EngineError. The signal aborts it (timeout or client cancel); an aborted run rejects.
 */
export interface Engine {
  /** Stable id of the engine/cluster; part of every cache key so two clusters never share entries. */
  readonly id: string;
  execute(query: EngineQuery, signal: AbortSignal): Promise<EngineResult>;
  /**
   * Optional: run the statement handing rows to `onBatch` as they arrive. `onBatch` is awaited, so a
   * slow consumer slows the engine instead of buffering the result. Engines without it are executed
   * whole and handed over as one batch.
   */
  stream?(query: EngineQuery, signal: AbortSignal, onBatch: (batch: EngineBatch) => Promise<void>): Promise<EngineStreamEnd>;
  /**
   * Optional: the relations a read-only statement reads, from the engine's own parser and catalog
   * (engine I/O; callers memoise it per distinct statement). Engines without it give no table set:
   * their entries are per-user and dropped by any table invalidation.
   */
  relations?(query: RelationsQuery, signal: AbortSignal): Promise<Relations>;
  /** Cheap reachability probe for /readyz. */
  ping(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** The abort reason an engine gives its in-flight runs when it closes. */
export const ENGINE_CLOSED = Symbol('engine closed');

export const closedEngineError = (engineName: string): EngineError =>
  new EngineError('unavailable', 'ENGINE_CLOSED', `The ${engineName} engine is closed`);

/** The EngineError an aborted run rejects with, from the abort reason (close, timeout, cancel). */
export function abortError(reason: unknown, timeoutMs: number, engineName: string): EngineError {
  if (reason === ENGINE_CLOSED) return closedEngineError(engineName);
  if (reason instanceof EngineError) return reason;
  if (reason === 'timeout' || (reason instanceof Error && reason.name === 'TimeoutError')) {
    return new EngineError('timeout', 'EXCEEDED_TIME_LIMIT', `Query exceeded the ${timeoutMs} ms time limit`, { cause: reason });
  }
  return new EngineError('internal', 'USER_CANCELED', 'Query was canceled', { cause: reason });
}
