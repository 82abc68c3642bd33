// Why: the Trino client protocol's facts (../shared/TRINO-PROTOCOL.md) in one pure module: reading the
// X-Trino-* (or older X-Presto-*) request headers into a query context, naming Trino's error codes,
// assembling QueryResults pages from stored byte slices without parsing rows, the page URIs a client
// follows (and the base they are absolute under), and how long a poll may wait. Pure.

import type { FastifyRequest } from 'fastify';
import { sha256Hex } from '../../shared/hash.ts';
import { AppError } from '../../shared/errors.ts';

export type HeaderFamily = 'x-trino-' | 'x-presto-';
export type Headers = Record<string, string | string[] | undefined>;

/** What a statement's headers say; every field marked K in TRINO-PROTOCOL.md goes into the cache key. */
export interface TrinoContext {
  family: HeaderFamily;
  user: string | undefined;
  catalog: string | undefined;
  schema: string | undefined;
  path: string | undefined;
  timeZone: string | undefined;
  language: string | undefined;
  clientCapabilities: string | undefined;
  roles: string | undefined;
  session: Record<string, string>;
  extraCredentialHash: string | undefined;
  preparedStatements: Record<string, string> | undefined;
  /** Set (and not NONE): the statement runs in a transaction and is never cached. */
  transactionId: string | undefined;
  source: string | undefined;
  /**
   * The headers an upstream Trino must see to run the statement as the client asked (time zone, path,
   * language, client capabilities, roles, prepared statements, extra credentials, transaction, source,
   * client info and tags), in the x-trino- spelling; `x-trino-client-capabilities` is '' when the client
   * sent none (Trino then encodes times the legacy way, as it would for that client).
   */
  forward: Record<string, string>;
}

/** Request headers passed through to an upstream Trino as they came (names without the family prefix). */
const FORWARDED = ['time-zone', 'path', 'language', 'client-capabilities', 'role', 'prepared-statement', 'extra-credential', 'transaction-id', 'source', 'client-info', 'client-tags', 'trace-token'] as const;

function forwardedHeaders(headers: Headers, f: HeaderFamily): Record<string, string> {
  const out: Record<string, string> = { 'x-trino-client-capabilities': '' };
  for (const name of FORWARDED) {
    const v = headers[`${f}${name}`];
    if (v === undefined) continue;
    out[`x-trino-${name}`] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function values(headers: Headers, name: string): string[] {
  const v = headers[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
}

function single(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}

function decode(s: string, header: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    throw new AppError('BAD_REQUEST', `${header}: value is not URL-encoded correctly`);
  }
}

/** `name=urlencoded(value)` pairs, comma-joined or repeated. */
function pairs(headers: Headers, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of values(headers, name)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new AppError('BAD_REQUEST', `${name}: expected name=value, got "${item.slice(0, 64)}"`);
    out[item.slice(0, eq).trim()] = decode(item.slice(eq + 1).trim(), name);
  }
  return out;
}

/** Which spelling the client uses; a mix of both in one request is refused, as Trino does. */
function headerFamily(headers: Headers): HeaderFamily {
  let trino = false;
  let presto = false;
  for (const name of Object.keys(headers)) {
    if (name.startsWith('x-trino-')) trino = true;
    else if (name.startsWith('x-presto-')) presto = true;
  }
  if (trino && presto) throw new AppError('BAD_REQUEST', 'request mixes X-Trino-* and X-Presto-* headers; use one family');
  return presto ? 'x-presto-' : 'x-trino-';
}

export function parseTrinoHeaders(headers: Headers): TrinoContext {
  const f = headerFamily(headers);
  const extra = values(headers, `${f}extra-credential`);
  const prepared = pairs(headers, `${f}prepared-statement`);
  const tx = single(headers, `${f}transaction-id`);
  return {
    family: f,
    user: single(headers, `${f}user`),
    catalog: single(headers, `${f}catalog`),
    schema: single(headers, `${f}schema`),
    path: single(headers, `${f}path`),
    timeZone: single(headers, `${f}time-zone`),
    language: single(headers, `${f}language`),
    clientCapabilities: single(headers, `${f}client-capabilities`),
    roles: values(headers, `${f}role`).sort().join(',') || undefined,
    session: pairs(headers, `${f}session`),
    // Credentials themselves never enter a key or a log: only their hash does.
    extraCredentialHash: extra.length > 0 ? sha256Hex(extra.sort().join(',')) : undefined,
    preparedStatements: Object.keys(prepared).length > 0 ? prepared : undefined,
    transactionId: tx === undefined || tx.toUpperCase() === 'NONE' ? undefined : tx,
    source: single(headers, `${f}source`),
    forward: forwardedHeaders(headers, f),
  };
}

/** Trino's standard error codes (io.trino.spi.StandardErrorCode) for the names hotpath reports. */
const ERROR_CODES: Record<string, [number, TrinoErrorType]> = {
  GENERIC_USER_ERROR: [0, 'USER_ERROR'],
  SYNTAX_ERROR: [1, 'USER_ERROR'],
  ABANDONED_QUERY: [2, 'USER_ERROR'],
  USER_CANCELED: [3, 'USER_ERROR'],
  PERMISSION_DENIED: [4, 'USER_ERROR'],
  NOT_FOUND: [5, 'USER_ERROR'],
  FUNCTION_NOT_FOUND: [6, 'USER_ERROR'],
  INVALID_FUNCTION_ARGUMENT: [7, 'USER_ERROR'],
  DIVISION_BY_ZERO: [8, 'USER_ERROR'],
  INVALID_CAST_ARGUMENT: [9, 'USER_ERROR'],
  NOT_SUPPORTED: [13, 'USER_ERROR'],
  INVALID_SESSION_PROPERTY: [14, 'USER_ERROR'],
  NUMERIC_VALUE_OUT_OF_RANGE: [19, 'USER_ERROR'],
  INVALID_PARAMETER_USAGE: [80, 'USER_ERROR'],
  READ_ONLY_VIOLATION: [23, 'USER_ERROR'],
  QUERY_REJECTED: [31, 'USER_ERROR'],
  QUERY_TEXT_TOO_LARGE: [35, 'USER_ERROR'],
  CATALOG_NOT_FOUND: [44, 'USER_ERROR'],
  SCHEMA_NOT_FOUND: [45, 'USER_ERROR'],
  TABLE_NOT_FOUND: [46, 'USER_ERROR'],
  COLUMN_NOT_FOUND: [47, 'USER_ERROR'],
  GENERIC_INTERNAL_ERROR: [65536, 'INTERNAL_ERROR'],
  GENERIC_INSUFFICIENT_RESOURCES: [131072, 'INSUFFICIENT_RESOURCES'],
  QUERY_QUEUE_FULL: [131074, 'INSUFFICIENT_RESOURCES'],
  EXCEEDED_TIME_LIMIT: [131075, 'INSUFFICIENT_RESOURCES'],
  EXCEEDED_LOCAL_MEMORY_LIMIT: [131079, 'INSUFFICIENT_RESOURCES'],
  // Not a standard code: Trino connectors use 0x0100_0000 and up for EXTERNAL errors.
  UPSTREAM_UNAVAILABLE: [0x0100_0000, 'EXTERNAL'],
};

export type TrinoErrorType = 'USER_ERROR' | 'INTERNAL_ERROR' | 'INSUFFICIENT_RESOURCES' | 'EXTERNAL';

export interface TrinoError {
  message: string;
  errorCode: number;
  errorName: string;
  errorType: TrinoErrorType;
  failureInfo: { type: string; message: string; suppressed: []; stack: [] };
}

const TRINO_ERROR_TYPES: readonly string[] = ['USER_ERROR', 'INTERNAL_ERROR', 'INSUFFICIENT_RESOURCES', 'EXTERNAL'];
const isTrinoErrorType = (v: unknown): v is TrinoErrorType => typeof v === 'string' && TRINO_ERROR_TYPES.includes(v);

/** The Trino error a hotpath AppError becomes on a FAILED page. */
export function toTrinoError(err: AppError): TrinoError {
  const byCode: Record<string, string> = {
    NOT_READ_ONLY: 'READ_ONLY_VIOLATION',
    FORBIDDEN: 'PERMISSION_DENIED',
    SQL_TOO_LARGE: 'QUERY_TEXT_TOO_LARGE',
    QUEUE_FULL: 'QUERY_QUEUE_FULL',
    QUEUE_TIMEOUT: 'QUERY_QUEUE_FULL',
    ENGINE_TIMEOUT: 'EXCEEDED_TIME_LIMIT',
    ENGINE_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
    QUERY_CANCELLED: 'USER_CANCELED',
    BAD_REQUEST: 'GENERIC_USER_ERROR',
  };
  const fromEngine = typeof err.details?.errorName === 'string' ? err.details.errorName : undefined;
  const { errorCode: upstreamCode, errorType: upstreamType } = err.details ?? {};
  let name: string;
  let errorCode: number;
  let errorType: TrinoErrorType;
  let message = err.message;
  if (fromEngine !== undefined && typeof upstreamCode === 'number' && isTrinoErrorType(upstreamType)) {
    // An upstream Trino's error: its own name, code, type and message, as Trino would have sent them.
    [name, errorCode, errorType] = [fromEngine, upstreamCode, upstreamType];
  } else {
    name = (fromEngine && ERROR_CODES[fromEngine] ? fromEngine : undefined) ?? byCode[err.code] ?? (err.status < 500 ? 'GENERIC_USER_ERROR' : 'GENERIC_INTERNAL_ERROR');
    [errorCode, errorType] = ERROR_CODES[name] ?? [err.status < 500 ? 0 : 65536, err.status < 500 ? 'USER_ERROR' : 'INTERNAL_ERROR'];
    if (err.status >= 500 && err.code === 'INTERNAL') message = 'internal error';
  }
  return { message, errorCode, errorName: name, errorType, failureInfo: { type: `hotpath.${err.code}`, message, suppressed: [], stack: [] } };
}

export type QueryState = 'QUEUED' | 'RUNNING' | 'FINISHED' | 'FAILED';

export interface PageParts {
  id: string;
  infoUri: string;
  nextUri: string | undefined;
  state: QueryState;
  /** Stored `columns` JSON bytes, when known. */
  columns?: Buffer | undefined;
  /** Stored `data` JSON bytes (a list of rows); never without columns. */
  data?: Buffer | undefined;
  error?: TrinoError | undefined;
  elapsedMs: number;
  queuedMs: number;
  processedRows?: number;
  progressPercentage?: number;
  /** A statement that is not a query: Trino's updateType / updateCount (the JDBC driver reads them). */
  updateType?: string | undefined;
  updateCount?: number | undefined;
}

/** One QueryResults JSON document, built by concatenation; null fields are left out, as Trino does. */
export function buildPage(p: PageParts): Buffer {
  const stats = {
    state: p.state,
    queued: p.state === 'QUEUED',
    scheduled: p.state !== 'QUEUED',
    ...(p.progressPercentage !== undefined ? { progressPercentage: p.progressPercentage } : {}),
    nodes: 1,
    totalSplits: 1,
    queuedSplits: p.state === 'QUEUED' ? 1 : 0,
    runningSplits: p.state === 'RUNNING' ? 1 : 0,
    completedSplits: p.state === 'FINISHED' ? 1 : 0,
    cpuTimeMillis: 0,
    wallTimeMillis: p.elapsedMs,
    queuedTimeMillis: p.queuedMs,
    elapsedTimeMillis: p.elapsedMs,
    processedRows: p.processedRows ?? 0,
    processedBytes: 0,
    physicalInputBytes: 0,
    peakMemoryBytes: 0,
    spilledBytes: 0,
  };
  const head = JSON.stringify({ id: p.id, infoUri: p.infoUri, ...(p.nextUri ? { nextUri: p.nextUri } : {}) });
  const parts: (string | Buffer)[] = [head.slice(0, -1)];
  if (p.columns) parts.push(',"columns":', p.columns);
  if (p.columns && p.data) parts.push(',"data":', p.data);
  parts.push(`,"stats":${JSON.stringify(stats)}`);
  if (p.error) parts.push(`,"error":${JSON.stringify(p.error)}`);
  if (p.updateType !== undefined) parts.push(`,"updateType":${JSON.stringify(p.updateType)}`);
  if (p.updateCount !== undefined) parts.push(`,"updateCount":${JSON.stringify(p.updateCount)}`);
  parts.push(',"warnings":[]}');
  return Buffer.concat(parts.map((x) => (typeof x === 'string' ? Buffer.from(x) : x)));
}

// ---- Page URIs, page plans, polls -------------------------------------------------------------

/** Which of a statement's page URIs: `/v1/statement/{kind}/{id}/{slug}/{token}`. */
export type PageKind = 'queued' | 'executing';

/** A page URI's kind and token. */
export interface PageRef {
  kind: PageKind;
  token: number;
}

/** What a statement's page says, as its lifecycle decides it (statement.ts); statementPage writes it out. */
export interface PagePlan {
  state: QueryState;
  /** The page URI to follow; none on the last page (FINISHED or FAILED). */
  next: PageRef | undefined;
  columns?: Buffer | undefined;
  data?: Buffer | undefined;
  processedRows?: number;
  progressPercentage?: number;
  /** On a FAILED page: the error, as the catalogue has it (toTrinoError names it for the client). */
  failure?: AppError;
  updateType?: string | undefined;
  updateCount?: number | undefined;
}

const infoUri = (base: string, id: string) => `${base}/v1/query/${id}`;

/** A statement's page: its plan, with absolute URIs under `base` (where the client came in) and its timings. */
export function statementPage(plan: PagePlan, at: { id: string; slug: string; base: string; elapsedMs: number; queuedMs: number }): Buffer {
  const { next, failure, ...parts } = plan;
  return buildPage({
    ...parts,
    id: at.id,
    infoUri: infoUri(at.base, at.id),
    nextUri: next && `${at.base}/v1/statement/${next.kind}/${at.id}/${at.slug}/${next.token}`,
    elapsedMs: at.elapsedMs,
    queuedMs: at.queuedMs,
    error: failure && toTrinoError(failure),
  });
}

/** The answer to a POST refused over the registry's bounds: a FAILED page (QUERY_QUEUE_FULL; clients report it) for an id never held. */
export function refusedPage(id: string, base: string, err: AppError): Buffer {
  return buildPage({ id, infoUri: infoUri(base, id), nextUri: undefined, state: 'FAILED', elapsedMs: 0, queuedMs: 0, error: toTrinoError(err) });
}

/** Trino caps the wait of a queued poll at 1 s; executing polls may wait longer. */
export const MAX_WAIT_MS: Record<PageKind, number> = { queued: 1000, executing: 10_000 };

/** `maxWait=500ms` / `1s` / `0.5s` / bare milliseconds -> ms, capped. */
export function parseMaxWaitMs(value: unknown, capMs: number): number {
  if (typeof value !== 'string' || value === '') return capMs;
  const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m)?$/.exec(value.trim());
  if (!m) return capMs;
  const unit = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000 }[(m[2] ?? 'ms') as 'ms'];
  return Math.min(capMs, Math.max(0, Number(m[1]) * unit));
}

/** A host[:port] fit for a URI (a name, IPv4 or [IPv6], an optional port): nothing else goes into nextUri. */
const URI_HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** `http(s)://host[:port]` and nothing more. */
export function isUriBase(base: string): boolean {
  const m = /^(https?):\/\/(.+)$/.exec(base);
  return m !== null && URI_HOST.test(m[2]!);
}

/**
 * The base of the absolute URIs a client follows (with its credentials): X-Forwarded-Proto/-Host only
 * from a trusted proxy (fastify applies HOTPATH_TRUST_PROXY), else the Host header and the socket; a
 * value that is no valid scheme or host falls back to the address the request arrived at.
 */
export function externalBase(request: FastifyRequest): string {
  const proto = String(request.protocol ?? 'http').split(',')[0]!.trim().toLowerCase();
  const host = String(request.host ?? '').split(',')[0]!.trim();
  const local = request.raw.socket;
  const fallback = local.localAddress?.includes(':') ? `[${local.localAddress}]:${local.localPort}` : `${local.localAddress ?? '127.0.0.1'}:${local.localPort ?? 80}`;
  return `${proto === 'https' ? 'https' : 'http'}://${URI_HOST.test(host) ? host : fallback}`;
}
