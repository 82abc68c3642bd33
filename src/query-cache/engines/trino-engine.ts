// Why: hotpath's misses go to an upstream Trino cluster; this adapter speaks Trino's client protocol as the
// Java client does (POST, follow nextUri, retry 502/503/504 with attempt × 100 ms back-off, DELETE to cancel),
// keeps rows from every page (the POST answer included) and keeps bigints past 2^53 exact.
// HTTP: undici's `request` over one Agent (a keep-alive Pool per origin, so nextUri on another host still
// works) rather than global fetch: connection reuse is explicit and tunable, and there is no WHATWG stream layer.
// Over https the Agent trusts TRINO_CA_FILE's bundle when given (else Node's default roots).

import { Agent, request } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortError, closedEngineError, ENGINE_CLOSED, EngineError } from './engine.ts';
import type { Cell, Column, Engine, EngineBatch, EngineQuery, EngineResult, EngineStreamEnd, StatementUpdate } from './engine.ts';

export interface TrinoEngineOptions {
  /** Coordinator base URL, e.g. `http://trino:8080`. */
  url: string;
  /** Budget of one HTTP request (a long-polled page included). */
  requestTimeoutMs: number;
  /** Budget of one whole execute, retries and paging included. */
  statementTimeoutMs: number;
  /** Retries of one request after 429/502/503/504 or a failed connection; default 5. */
  maxRetries?: number;
  /** X-Trino-Source; default `hotpath`. */
  source?: string;
  /** Part of the engine id; default the URL's host. */
  clusterId?: string;
  /** Send the caller's Authorization header upstream (default true; create-engine applies HOTPATH_TRINO_FORWARD_AUTHORIZATION). */
  forwardAuthorization?: boolean;
  /** PEM CA bundle trusted instead of the default roots for https (TRINO_CA_FILE): a private CA or a self-signed coordinator. */
  ca?: string;
}

const DEFAULT_MAX_RETRIES = 5;
const RETRY_STEP_MS = 100;
const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
const MAX_CANCEL_WAIT_MS = 5000;
const USER_AGENT = 'hotpath-trino-engine';
/** Response headers that mean the statement changed session state (TRINO-PROTOCOL.md). */
const SESSION_CHANGE_HEADERS = [
  'x-trino-set-catalog', 'x-trino-set-schema', 'x-trino-set-path', 'x-trino-set-session', 'x-trino-clear-session',
  'x-trino-set-role', 'x-trino-added-prepare', 'x-trino-deallocated-prepare', 'x-trino-started-transaction-id',
  'x-trino-clear-transaction-id', 'x-trino-set-authorization-user', 'x-trino-reset-authorization-user',
];
/** Characters an HTTP field value may carry (no CR/LF, Latin-1 only). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

const INTEGER_TEXT = /^-?\d+$/;
/** Every integer outside ±(2^53−1) has at least 16 digits; pages without such a run skip the reviver. */
const LONG_DIGIT_RUN = /\d{16}/;

function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || Number.isSafeInteger(value)) return value;
  const source = context?.source;
  return source !== undefined && INTEGER_TEXT.test(source) ? BigInt(source) : value;
}

/** Whether JSON.parse hands revivers the source text of primitives (V8 ≥ 11.4: Node 21+). */
const SOURCE_TEXT_SUPPORTED = ((): boolean => {
  let seen: string | undefined;
  JSON.parse('1', (_k: string, v: unknown, ctx?: { source?: string }) => ((seen = ctx?.source), v));
  return seen === '1';
})();

/** JSON.parse, except that integers outside ±(2^53−1) become exact `bigint`s (doubles such as `1.0E20` stay numbers). */
export function parseTrinoJson(text: string): unknown {
  return LONG_DIGIT_RUN.test(text) ? JSON.parse(text, exactIntegers) : JSON.parse(text);
}

/** A JSON number (a bigint past 2^53 too) as a number; undefined for anything else. */
const numberOf = (v: unknown): number | undefined => (typeof v === 'number' || typeof v === 'bigint' ? Number(v) : undefined);

interface TrinoErrorBody { message?: unknown; errorName?: unknown; errorType?: unknown; errorCode?: unknown }

/**
 * A FAILED page's error -> EngineError. EXCEEDED_TIME_LIMIT -> timeout; USER_ERROR -> user;
 * INSUFFICIENT_RESOURCES and EXTERNAL -> unavailable (the cluster or a system behind a connector cannot run it
 * now: neither the query's fault nor a hotpath bug, and worth retrying later); INTERNAL_ERROR and anything
 * unknown -> internal.
 */
export function fromTrinoError(error: TrinoErrorBody): EngineError {
  const name = typeof error.errorName === 'string' && error.errorName ? error.errorName : 'GENERIC_INTERNAL_ERROR';
  const message = typeof error.message === 'string' ? error.message : `Upstream Trino query failed (${name})`;
  // Trino's own code and type travel on, so a Trino client sees the error Trino reported.
  const code = numberOf(error.errorCode);
  const opts = code !== undefined && typeof error.errorType === 'string' ? { trinoCode: { errorCode: code, errorType: error.errorType } } : {};
  if (name === 'EXCEEDED_TIME_LIMIT') return new EngineError('timeout', name, message, opts);
  if (error.errorType === 'USER_ERROR') return new EngineError('user', name, message, opts);
  if (error.errorType === 'INSUFFICIENT_RESOURCES' || error.errorType === 'EXTERNAL') return new EngineError('unavailable', name, message, opts);
  return new EngineError('internal', name, message, opts);
}

const unavailable = (message: string, cause?: unknown) => new EngineError('unavailable', 'UPSTREAM_UNAVAILABLE', message, { cause });
const protocolError = (message: string) => new EngineError('unavailable', 'UPSTREAM_PROTOCOL_ERROR', message);
const ENGINE_NAME = 'upstream Trino';
const closedError = (): EngineError => closedEngineError(ENGINE_NAME);
const aborted = (reason: unknown, timeoutMs: number): EngineError => abortError(reason, timeoutMs, ENGINE_NAME);

const describe = (err: unknown) => (err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err));
const snippet = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 200);

interface Reply { status: number; headers: IncomingHttpHeaders; text: string }
interface QueryResultsPage { nextUri?: string; columns?: Column[]; data?: Cell[][]; error?: TrinoErrorBody; updateType?: unknown; updateCount?: unknown }

/** `Retry-After` (seconds or an HTTP date) in ms, if present. */
function retryAfterMs(v: string | string[] | undefined): number | undefined {
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  if (!s) return undefined;
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** X-Trino-* request headers for a statement; throws a user EngineError for values no header can carry. */
function statementHeaders(query: EngineQuery, source: string): Record<string, string> {
  const h: Record<string, string> = { 'user-agent': USER_AGENT, 'x-trino-user': query.user, 'x-trino-source': source };
  if (query.authorization) h.authorization = query.authorization;
  // Parametric time types (timestamp(6), …) as the embedded engine reports them, not ones rounded to ms,
  // unless a Trino client said what it supports (upstreamHeaders).
  h['x-trino-client-capabilities'] = 'PARAMETRIC_DATETIME';
  if (query.catalog) h['x-trino-catalog'] = query.catalog;
  if (query.schema) h['x-trino-schema'] = query.schema;
  if (query.timeZone) h['x-trino-time-zone'] = query.timeZone;
  // A Trino client's own context (the Trino door): its capabilities decide how Trino encodes times.
  for (const [name, value] of Object.entries(query.upstreamHeaders ?? {})) {
    if (value === '') delete h[name];
    else h[name] = value;
  }
  const session = Object.entries(query.session).map(([name, value]) => {
    if (!/^[^\s=,]+$/.test(name)) throw new EngineError('user', 'INVALID_SESSION_PROPERTY', `Invalid session property name "${name.slice(0, 64)}"`);
    return `${name}=${encodeURIComponent(value)}`;
  });
  if (session.length > 0) h['x-trino-session'] = session.join(',');
  for (const [name, value] of Object.entries(h)) {
    if (!HEADER_VALUE.test(value)) throw new EngineError('user', 'GENERIC_USER_ERROR', `${name}: the value has characters an HTTP header cannot carry`);
  }
  return h;
}

/** A QueryResults page out of a reply, or the EngineError the reply means. */
function readPage(reply: Reply, user: string): QueryResultsPage {
  const { status } = reply;
  const why = reply.text ? `: ${snippet(reply.text)}` : '';
  if (status === 401 || status === 403) {
    throw new EngineError('user', 'PERMISSION_DENIED', `Upstream Trino refused user "${user}" (HTTP ${status}${why}); check that user's access and hotpath's credentials for the cluster`);
  }
  if (status === 413) throw new EngineError('user', 'QUERY_TEXT_TOO_LARGE', 'Upstream Trino refused the statement as too large (HTTP 413)');
  if (status === 400) throw new EngineError('user', 'GENERIC_USER_ERROR', `Upstream Trino rejected the request (HTTP 400${why})`);
  if (status !== 200) throw unavailable(`Upstream Trino answered HTTP ${status}${why}`);
  let page: unknown;
  try {
    page = parseTrinoJson(reply.text);
  } catch {
    throw protocolError(`Upstream answered 200 with a body that is not JSON${why}`);
  }
  if (typeof page !== 'object' || page === null || Array.isArray(page)) throw protocolError('Upstream answered 200 with a body that is not a QueryResults');
  const { nextUri, columns, data, error } = page as Record<string, unknown>;
  const wrong = (nextUri !== undefined && typeof nextUri !== 'string' && 'nextUri') || (columns !== undefined && !Array.isArray(columns) && 'columns')
    || (data !== undefined && !Array.isArray(data) && 'data') || (error !== undefined && (typeof error !== 'object' || error === null) && 'error');
  if (wrong) throw protocolError(`QueryResults.${wrong} has the wrong shape`);
  return page as QueryResultsPage;
}

function collectSessionChanges(headers: IncomingHttpHeaders, into: Record<string, string[]>): void {
  for (const name of SESSION_CHANGE_HEADERS) {
    const v = headers[name];
    if (v === undefined) continue;
    (into[name] ??= []).push(...(Array.isArray(v) ? v : [v]));
  }
}

export function createTrinoEngine(opts: TrinoEngineOptions): Engine {
  if (!SOURCE_TEXT_SUPPORTED) throw new Error('the Trino engine needs JSON.parse source text access (Node 22 or later)');
  const parsed = new URL(opts.url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`Trino URL must be http(s): ${opts.url}`);
  const base = opts.url.replace(/\/+$/, '');
  const maxRetries = Math.max(0, Math.floor(opts.maxRetries ?? DEFAULT_MAX_RETRIES));
  const source = opts.source ?? 'hotpath';
  // The query as it goes upstream: without the caller's credentials when they are not to be forwarded.
  const forwardAuthorization = opts.forwardAuthorization ?? true;
  const asSent = (query: EngineQuery): EngineQuery => (forwardAuthorization || query.authorization === undefined ? query : { ...query, authorization: undefined });
  const { requestTimeoutMs, statementTimeoutMs } = opts;
  const cancelWaitMs = Math.min(requestTimeoutMs, MAX_CANCEL_WAIT_MS);
  const agent = new Agent({ keepAliveTimeout: 10_000, ...(opts.ca !== undefined ? { connect: { ca: opts.ca } } : {}) });
  const inflight = new Set<AbortController>();
  const cancels = new Set<Promise<unknown>>();
  let closed = false;

  /** One HTTP exchange, bounded by requestTimeoutMs and by `outer`; the whole body is read. */
  async function once(method: 'GET' | 'POST' | 'DELETE', uri: string, headers: Record<string, string>, body: string | undefined, outer: AbortSignal): Promise<Reply> {
    outer.throwIfAborted();
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new Error(`no complete answer within ${requestTimeoutMs} ms`)), requestTimeoutMs);
    const forward = () => ctl.abort(outer.reason);
    outer.addEventListener('abort', forward, { once: true });
    try {
      const res = await request(uri, { dispatcher: agent, method, headers, body, signal: ctl.signal });
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    } catch (err) {
      throw ctl.signal.aborted && !outer.aborted ? ctl.signal.reason : err;
    } finally {
      clearTimeout(timer);
      outer.removeEventListener('abort', forward);
    }
  }

  /**
   * An exchange retried as the Java client does: 429/502/503/504 and failures before a whole answer
   * (refused, reset, per-request timeout) up to maxRetries times, sleeping attempt × 100 ms or Retry-After.
   * Repeating a POST is safe: Trino starts a query only on the first GET of its queued URI. Repeating a GET
   * is safe: the last token's page is served again.
   */
  async function exchange(method: 'GET' | 'POST', uri: string, headers: Record<string, string>, body: string | undefined, stmt: AbortSignal): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      let failure: string;
      let cause: unknown;
      let waitMs = (attempt + 1) * RETRY_STEP_MS;
      try {
        const reply = await once(method, uri, headers, body, stmt);
        if (!RETRY_STATUSES.has(reply.status)) return reply;
        failure = `HTTP ${reply.status}`;
        if (reply.status === 503 || reply.status === 429) waitMs = retryAfterMs(reply.headers['retry-after']) ?? waitMs;
      } catch (err) {
        stmt.throwIfAborted();
        if (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'UND_ERR_INVALID_ARG') throw protocolError(`cannot request ${uri}: ${describe(err)}`);
        failure = describe(err);
        cause = err;
      }
      if (attempt >= maxRetries) {
        throw unavailable(`Upstream Trino at ${new URL(uri).host} is unavailable after ${attempt + 1} attempts (last: ${failure})`, cause);
      }
      await sleep(waitMs, undefined, { signal: stmt });
    }
  }

  /** Best effort: tells Trino to drop the query; never awaited by the caller, bounded by cancelWaitMs. */
  function cancelUpstream(uri: string, query: EngineQuery): void {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'x-trino-user': query.user };
    if (query.authorization) headers.authorization = query.authorization;
    const p = once('DELETE', uri, headers, undefined, AbortSignal.timeout(cancelWaitMs)).catch(() => {});
    cancels.add(p);
    void p.finally(() => cancels.delete(p));
  }

  /** Follows the statement to its end; rows go to `onBatch` page by page when given, else are collected. */
  async function run(
    query: EngineQuery,
    headers: Record<string, string>,
    stmt: AbortSignal,
    track: (uri: string | undefined) => void,
    onBatch?: (batch: EngineBatch) => Promise<void>,
  ): Promise<EngineResult> {
    const postHeaders = { ...headers, 'content-type': 'text/plain; charset=utf-8' };
    const pollHeaders: Record<string, string> = { 'user-agent': USER_AGENT, 'x-trino-user': query.user };
    if (query.authorization) pollHeaders.authorization = query.authorization;
    let reply = await exchange('POST', `${base}/v1/statement`, postHeaders, query.sql, stmt);
    let columns: Column[] | undefined;
    const rows: Cell[][] = [];
    const sessionChanges: Record<string, string[]> = {};
    let handedOver = false;
    let update: StatementUpdate | undefined;
    for (;;) {
      const page = readPage(reply, query.user);
      collectSessionChanges(reply.headers, sessionChanges);
      if (typeof page.updateType === 'string') {
        const count = numberOf(page.updateCount);
        update = { type: page.updateType, ...(count !== undefined ? { count } : {}) };
      }
      columns ??= page.columns;
      if (page.data) {
        if (!columns) throw protocolError('QueryResults carried data before columns');
        if (onBatch) {
          handedOver = true;
          await onBatch({ columns, rows: page.data });
        } else for (const row of page.data) rows.push(row);
      }
      if (page.error) {
        if (page.nextUri) cancelUpstream(page.nextUri, query);
        throw fromTrinoError(page.error);
      }
      if (page.nextUri === undefined) break;
      const next = new URL(page.nextUri, base);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw protocolError(`nextUri is not http(s): ${page.nextUri}`);
      stmt.throwIfAborted();
      track(next.href);
      reply = await exchange('GET', next.href, pollHeaders, undefined, stmt);
    }
    track(undefined);
    if (onBatch && !handedOver) await onBatch({ columns: columns ?? [], rows: [] }); // an empty result still has columns
    return { columns: columns ?? [], rows, ...(Object.keys(sessionChanges).length > 0 ? { sessionChanges } : {}), ...(update ? { update } : {}) };
  }

  /** One statement under the engine's abort rules: the caller's signal, the statement timeout, close(). */
  function statement<T>(query: EngineQuery, signal: AbortSignal, work: (headers: Record<string, string>, stmt: AbortSignal, track: (uri: string | undefined) => void) => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(closedError());
    if (signal.aborted) return Promise.reject(aborted(signal.reason, statementTimeoutMs));
    const inner = new AbortController();
    let current: string | undefined;
    return new Promise<T>((resolve, reject) => {
      const headers = statementHeaders(query, source); // throws (rejects) before anything starts
      // On abort: reject at once and DELETE the page being polled (a POST still in flight is simply dropped:
      // Trino starts nothing until its queued URI is fetched, and abandons it).
      const onAbort = (): void => {
        if (current !== undefined) cancelUpstream(current, query);
        reject(aborted(inner.signal.reason, statementTimeoutMs));
      };
      const onOuterAbort = (): void => inner.abort(signal.reason);
      const timer = setTimeout(() => inner.abort('timeout'), statementTimeoutMs);
      inner.signal.addEventListener('abort', onAbort, { once: true });
      signal.addEventListener('abort', onOuterAbort, { once: true });
      inflight.add(inner);
      work(headers, inner.signal, (uri) => (current = uri))
        .then(resolve, (err: unknown) => {
          if (inner.signal.aborted) return reject(aborted(inner.signal.reason, statementTimeoutMs));
          reject(err instanceof EngineError ? err : new EngineError('internal', 'GENERIC_INTERNAL_ERROR', describe(err), { cause: err }));
        })
        .finally(() => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onOuterAbort);
          inner.signal.removeEventListener('abort', onAbort);
          inflight.delete(inner);
        });
    });
  }

  return {
    id: `trino:${opts.clusterId ?? parsed.host}`,
    execute(query: EngineQuery, signal: AbortSignal): Promise<EngineResult> {
      const q = asSent(query);
      return statement(q, signal, (headers, stmt, track) => run(q, headers, stmt, track));
    },
    async stream(query: EngineQuery, signal: AbortSignal, onBatch: (batch: EngineBatch) => Promise<void>): Promise<EngineStreamEnd> {
      const q = asSent(query);
      const { sessionChanges, update } = await statement(q, signal, (headers, stmt, track) => run(q, headers, stmt, track, onBatch));
      return { ...(sessionChanges ? { sessionChanges } : {}), ...(update ? { update } : {}) };
    },
    async ping(signal: AbortSignal): Promise<void> {
      if (closed) throw closedError();
      let reply: Reply;
      try {
        reply = await once('GET', `${base}/v1/info`, { 'user-agent': USER_AGENT }, undefined, signal);
      } catch (err) {
        if (signal.aborted) throw aborted(signal.reason, requestTimeoutMs);
        throw unavailable(`Upstream Trino at ${parsed.host} is unreachable (${describe(err)})`, err);
      }
      let ready = false;
      try {
        ready = reply.status === 200 && (JSON.parse(reply.text) as { starting?: unknown } | null)?.starting === false;
      } catch {
        // not JSON: not ready
      }
      if (!ready) throw unavailable(`Upstream Trino at ${parsed.host} is not ready (/v1/info: HTTP ${reply.status} ${snippet(reply.text)})`);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const c of inflight) c.abort(ENGINE_CLOSED);
      await Promise.allSettled([...cancels]);
      await agent.close();
    },
  };
}
