// Why: the query cache's one answer pipeline, for both doors. Plan and look up; answer from a stored entry
// (hit, stale-while-revalidate, a collapsed waiter, stale-if-error) or run the engine once (single-flight,
// admission, the statement timeout over the whole answer, engine metrics, error mapping), streaming its
// rows into a PageStream as the door's format cuts them into pages, and keeping those pages for the store
// while they fit under the entry cap. A door decides only what a page is (its AnswerFormat) and how pages
// reach the wire; it never buffers a whole answer, and no answer holds the event loop.
//
//   open ─ plan ─┬─ reject ─────────────────────────────> throws (nothing ran)
//                ├─ bypass ─> run ─> pages ──────────────> finish (not stored)
//                ├─ hit ────> stored pages ──────────────> finish
//                └─ miss ───> single-flight ─┬─ leader: run ─> pages ─> store ─> finish
//                                            └─ waiter: the leader's stored pages (or its own run)

import type { Config } from '../shared/config.ts';
import { AppError } from '../shared/errors.ts';
import { sqlHash, type KeyInput } from './core/key.ts';
import { entryState, freshnessLeftSeconds, type CacheDecision } from './core/policy.ts';
import type { AnswerFormat } from './core/answer-format.ts';
import { Planner, type Plan } from './planner.ts';
import { cacheStatus } from './core/cache-status.ts';
import { EngineError, type Engine, type EngineBatch, type EngineQuery, type StatementUpdate } from './engines/engine.ts';
import type { Admission } from './admission.ts';
import { HOLDER_ERRORS, type FillOutcome, type SingleFlight } from './flight.ts';
import { PageStream } from './page-stream.ts';
import type { CachedEntry } from './store/entry.ts';
import type { ResultStore } from './store/ports.ts';
import type { FillVersions } from './store/redis-store.ts';
import type { QueryCacheMetrics, RequestResult } from './metrics.ts';

export interface Logger {
  isLevelEnabled?(level: string): boolean;
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface QueryRequest {
  sql: string;
  /** Verified principal. */
  principal: string;
  catalog?: string | undefined;
  schema?: string | undefined;
  session: Record<string, string>;
  /** `Cache-Control: no-cache`: skip the lookup, execute, store. */
  noCache: boolean;
  /** The caller's Authorization header, forwarded to an upstream engine on a miss (never part of a key). */
  authorization?: string | undefined;
  /**
   * Session statements (USE, SET/RESET SESSION, transactions) may run: only a door that carries
   * their effect back to the client (the Trino door's X-Trino-Set-* headers) allows them.
   */
  allowSessionStatements?: boolean;
  /** The door already knows the answer must not be cached (e.g. a Trino transaction). */
  bypassReason?: string | undefined;
  /**
   * Headers an upstream Trino must see (the Trino door's client context: EngineQuery.upstreamHeaders).
   * Whatever in them can change an answer is in `keyExtras` too.
   */
  upstreamHeaders?: Record<string, string>;
  /** Other key inputs a door knows (Trino headers). */
  keyExtras?: Partial<Omit<KeyInput, 'format' | 'engineId' | 'principal' | 'normalizedSql' | 'session' | 'catalog' | 'schema'>>;
}

/** What a lookup found: refuse, bypass the cache, a hit (maybe stale, refreshing), or a miss to fill. */
export type Lookup =
  | { kind: 'reject'; error: AppError }
  | { kind: 'bypass'; reason: string }
  | { kind: 'hit'; entry: CachedEntry; detail: 'stale-while-revalidate' | undefined }
  | { kind: 'miss'; plan: Extract<Plan, { kind: 'cache' }>; stale: CachedEntry | undefined };

export interface QueryCacheDeps {
  config: Config;
  engine: Engine;
  store: ResultStore;
  flight: SingleFlight;
  admission: Admission;
  metrics: QueryCacheMetrics;
  log: Logger;
  now?: () => number;
}

type Decision = CacheDecision & { cache: true };

/** A miss joins (or leads) a flight at most this many times before it runs alone without storing. */
const MAX_FLIGHT_ATTEMPTS = 3;

/** A leader's fill: the outcome single-flight shares, and the Cache-Status and reason that end its stream. */
interface Filled {
  outcome: Omit<FillOutcome, 'collapsed'>;
  status: string;
  reason: string;
}
type Fwd = 'miss' | 'request' | 'stale';

/** What one engine run gave: the pages kept for the store (undefined once over the cap), and its end. */
interface Run {
  columns: Buffer;
  kept: Buffer[] | undefined;
  sessionChanges: Record<string, string[]> | undefined;
  rowCount: number;
}

/** How a run that is itself the whole answer (not a leader's fill) ends the stream and is counted. */
interface RunEnd {
  door: string;
  status: string;
  result: Extract<RequestResult, 'miss' | 'bypass'>;
  reason: string;
}

export class QueryCacheService {
  private readonly d: QueryCacheDeps;
  private readonly now: () => number;
  private readonly planner: Planner;

  constructor(deps: QueryCacheDeps) {
    this.d = deps;
    this.now = deps.now ?? Date.now;
    this.planner = new Planner({
      config: deps.config,
      engineId: deps.engine.id,
      relations: deps.engine.relations?.bind(deps.engine),
      onIncomplete: (sql, reason) =>
        deps.log.info({ sqlHash: sqlHash(sql), reason }, 'table set incomplete: entry is per-user and dropped by any table invalidation'),
    });
  }

  /**
   * The answer to `req` in `format`, as a stream of pages; `door` labels the metrics. Rejects only for a
   * request refused before anything runs (syntax, read-only); every later failure fails the stream.
   * `signal` is the client going away: the engine run stops, nothing is stored.
   */
  async open(req: QueryRequest, format: AnswerFormat, door: string, signal: AbortSignal): Promise<PageStream> {
    const { metrics } = this.d;
    const found = await this.lookup(req, format);
    switch (found.kind) {
      case 'reject':
        metrics.countRequest(door, 'error', found.error.code);
        throw found.error;
      case 'bypass': {
        const stream = new PageStream(cacheStatus({ fwd: 'bypass', detail: found.reason }));
        void this.run(req, format, signal, stream, { keepBytes: 0, end: { door, status: stream.cacheStatus, result: 'bypass', reason: found.reason } }).catch(() => {});
        return stream;
      }
      case 'hit': {
        const { entry, detail } = found;
        metrics.countRequest(door, detail ? 'stale' : 'hit', detail ?? '');
        return this.fromEntry(new PageStream(''), entry, format, cacheStatus({ hit: true, ttlSeconds: this.ttlLeftSeconds(entry), detail }));
      }
      case 'miss':
        return this.miss(found.plan, found.stale, req, format, door, signal);
    }
  }

  /**
   * Plan, then look the entry up. A stale entry within stale-while-revalidate is a hit that has started one
   * background refresh; an entry only good for stale-if-error comes back with the miss.
   */
  async lookup(req: QueryRequest, format: AnswerFormat): Promise<Lookup> {
    const { log, store, metrics } = this.d;
    // SQL text only at debug level; at info and above only its hash is ever logged.
    if (log.isLevelEnabled?.('debug')) log.debug({ sql: req.sql, sqlHash: sqlHash(req.sql), user: req.principal }, 'query');
    const plan = await this.planner.plan(req, format.format);
    if (plan.kind !== 'cache') return plan;
    if (!store.available()) return { kind: 'bypass', reason: 'cache-unavailable' };
    if (req.noCache) return { kind: 'miss', plan, stale: undefined };
    const started = performance.now();
    let found: Awaited<ReturnType<ResultStore['lookup']>>;
    try {
      found = await store.lookup(plan.hash);
    } catch {
      return { kind: 'bypass', reason: 'cache-unavailable' };
    }
    if (found === undefined) return { kind: 'miss', plan, stale: undefined };
    const { entry, tier } = found;
    const state = entryState(entry.meta.storedAtMs, entry.meta.freshness, this.now());
    if (state === 'fresh' || state === 'stale-revalidate') {
      metrics.observeHit(tier, (performance.now() - started) / 1000);
      if (state === 'fresh') return { kind: 'hit', entry, detail: undefined };
      this.revalidate(plan, req, format);
      return { kind: 'hit', entry, detail: 'stale-while-revalidate' };
    }
    return { kind: 'miss', plan, stale: state === 'stale-if-error-only' ? entry : undefined };
  }

  /** Seconds of freshness an entry has left (negative once stale), on this service's clock. */
  ttlLeftSeconds(entry: CachedEntry): number {
    return freshnessLeftSeconds(entry.meta.storedAtMs, entry.meta.freshness, this.now());
  }

  /** A stored answer, complete, into a stream (a new one, or one a waiter already handed out). */
  private fromEntry(to: PageStream, entry: CachedEntry, format: AnswerFormat, status: string): PageStream {
    const { columns, pages } = format.split(entry.body);
    to.setColumns(columns);
    to.ageSeconds = Math.max(0, Math.floor((this.now() - entry.meta.storedAtMs) / 1000));
    to.appendComplete(pages, entry.meta.rowCount, status);
    return to;
  }

  private miss(plan: Extract<Plan, { kind: 'cache' }>, stale: CachedEntry | undefined, req: QueryRequest, format: AnswerFormat, door: string, signal: AbortSignal): PageStream {
    const { flight, metrics, log } = this.d;
    const fwd: Fwd = req.noCache ? 'request' : stale ? 'stale' : 'miss';
    const stream = new PageStream(cacheStatus({ fwd }));
    const openedAtMs = this.now();
    // What another execution stored may answer this request: fresh, and for no-cache stored after it came.
    const usable = (e: CachedEntry) => entryState(e.meta.storedAtMs, e.meta.freshness, this.now()) === 'fresh' && (!req.noCache || e.meta.storedAtMs >= openedAtMs);
    const runOwn = (detail: string) =>
      void this.run(req, format, signal, stream, { keepBytes: 0, end: { door, status: cacheStatus({ fwd, detail }), result: 'miss', reason: detail } }).catch(() => {});
    const attempt = (attemptsLeft: number): void => {
      let leading = false;
      let led: Filled | undefined;
      // The stream ends only once the flight has settled (lock released, waiters told): a request the
      // client sends after this answer can never join the finished flight and get its answer or its error.
      flight
        .run(
          plan.hash,
          async () => {
            leading = true;
            led = await this.fill(plan, req, format, signal, stream, fwd);
            return led.outcome;
          },
          true,
          usable,
        )
        .then(
          (outcome) => {
            if (led) {
              if (stream.error !== undefined) return; // the client went away meanwhile (counted there)
              stream.finish(led.status);
              metrics.countRequest(door, 'miss', led.reason);
              return;
            }
            if (!outcome) return;
            // Another execution of the same query finished. Its answer is ours only when it was stored:
            // one not stored because an invalidation came during its run may predate an invalidation this
            // request saw, so try again (single-flight among the waiters); one too large or session-bound
            // cannot be shared, so run our own.
            if (outcome.stored && usable(outcome.entry)) {
              metrics.collapsed.inc();
              metrics.countRequest(door, 'miss', 'collapsed');
              this.fromEntry(stream, outcome.entry, format, cacheStatus({ fwd, collapsed: true }));
            } else if (attemptsLeft > 0 && outcome.notStoredReason !== 'too-large' && outcome.notStoredReason !== 'session-change') {
              attempt(attemptsLeft - 1);
            } else runOwn(outcome.notStoredReason ?? 'not-stored');
          },
          (err: unknown) => {
            const e = toAppError(err);
            if (stale && isEngineFault(e) && stream.pageCount === 0) {
              // Nothing of the new answer went out yet: the stale entry stands in for it.
              log.warn({ sqlHash: sqlHash(req.sql), code: e.code }, 'engine failed: serving stale-if-error');
              metrics.countRequest(door, 'stale', 'stale-if-error');
              this.fromEntry(stream, stale, format, cacheStatus({ hit: true, ttlSeconds: this.ttlLeftSeconds(stale), detail: 'stale-if-error' }));
            } else if (!leading && !signal.aborted && HOLDER_ERRORS.has(e.code)) {
              // The execution we waited for failed for its own reasons (its client cancelled, its user's
              // admission limits): lead ourselves.
              if (attemptsLeft > 0) attempt(attemptsLeft - 1);
              else runOwn('collapsed-failed');
            } else this.failStream(stream, door, e);
          },
        )
        // A stored answer that cannot be read back (corrupt bytes) fails this request, never the process.
        .catch((err: unknown) => this.failStream(stream, door, toAppError(err)));
    };
    attempt(MAX_FLIGHT_ATTEMPTS - 1);
    return stream;
  }

  private failStream(stream: PageStream, door: string, e: AppError): void {
    if (stream.error !== undefined || stream.done) return;
    this.d.metrics.countRequest(door, 'error', e.code);
    stream.fail(e);
  }

  /**
   * The leader's work: stream the engine's answer into `stream`, keeping pages for the cache while they
   * fit; store them at the end unless too large, a session change, or invalidated meanwhile. Neither
   * finishes nor fails the stream: the caller does, once the flight has settled.
   */
  private async fill(plan: Extract<Plan, { kind: 'cache' }>, req: QueryRequest, format: AnswerFormat, signal: AbortSignal, stream: PageStream, fwd: Fwd): Promise<Filled> {
    const { metrics, config } = this.d;
    const { decision, principal, hash } = plan;
    const versions = await this.versionsBeforeRun(decision, principal);
    const run = await this.run(req, format, signal, stream, { keepBytes: config.cacheMaxEntryBytes, fwd });
    const meta = this.entryMeta(decision, principal, format, run.rowCount);
    const filled = (outcome: Filled['outcome']): Filled => ({
      outcome,
      status: cacheStatus({ fwd, stored: outcome.stored, detail: outcome.notStoredReason }),
      reason: outcome.notStoredReason ?? '',
    });
    if (run.sessionChanges) {
      return filled({ entry: { meta, body: Buffer.alloc(0) }, stored: false, notStoredReason: 'session-change', sessionHeaders: run.sessionChanges });
    }
    if (!run.kept) {
      metrics.stored.inc({ outcome: 'too-large' });
      return filled({ entry: { meta, body: Buffer.alloc(0) }, stored: false, notStoredReason: 'too-large' });
    }
    const entry: CachedEntry = { meta, body: format.assemble(run.columns, run.kept) };
    return filled({ entry, ...(await this.storeEntry(hash, entry, versions)) });
  }

  /** Refresh once in the background (nobody reads the pages); another replica already refreshing makes this a no-op. */
  private revalidate(plan: Extract<Plan, { kind: 'cache' }>, req: QueryRequest, format: AnswerFormat): void {
    if (this.d.flight.isInFlight(plan.hash)) return;
    const sink = new PageStream('', { discard: true });
    const background = AbortSignal.timeout(this.d.config.statementTimeoutMs + this.d.config.maxQueueWaitMs);
    this.d.flight.run(plan.hash, async () => (await this.fill(plan, { ...req, noCache: false }, format, background, sink, 'stale')).outcome, false).catch((err: unknown) => {
      this.d.log.warn({ sqlHash: sqlHash(req.sql), code: err instanceof AppError ? err.code : 'INTERNAL' }, 'background refresh failed; stale entry kept');
    });
  }

  /**
   * One engine execution under admission control and the statement timeout (which covers the whole answer,
   * the client's reading included), paged into `stream` as rows arrive, through the engine's streaming path
   * when it has one. Keeps the pages while they total at most `keepBytes`. With `end`, the run is the whole
   * answer: it finishes the stream, counts the request, and on error fails the stream (counted as an error).
   * Without `end` (a leader's fill) it only resolves or rejects: its caller ends the stream.
   */
  private async run(req: QueryRequest, format: AnswerFormat, signal: AbortSignal, stream: PageStream, opts: { keepBytes: number; fwd?: Fwd; end?: RunEnd }): Promise<Run> {
    const { keepBytes, fwd, end } = opts;
    if (end) stream.cacheStatus = end.status; // known from the start: a door may send it before the end
    const { admission, engine, metrics, config } = this.d;
    let release: (() => void) | undefined;
    let started: number | undefined;
    let outcome = 'ok';
    let waitedOnClientMs = 0;
    try {
      release = await admission.acquire(req.principal, signal);
      started = performance.now();
      const pager = format.pager();
      let columns: Buffer | undefined;
      let kept: Buffer[] | undefined = keepBytes > 0 ? [] : undefined;
      let keptBytes = 0;
      let rowCount = 0;
      // The time limit runs from here: it covers the engine and the client's reading of every page.
      const limit = AbortSignal.any([signal, AbortSignal.timeout(config.statementTimeoutMs)]);
      const emit = async (page: Buffer) => {
        if (kept) {
          keptBytes += page.length;
          if (keptBytes > keepBytes) {
            kept = undefined;
            // Known now: this answer will not be stored (a door may start sending it).
            if (fwd) stream.cacheStatus = cacheStatus({ fwd, detail: 'too-large' });
          } else kept.push(page);
        }
        // While the pages may still be stored the fill does not wait for its own client: a slow reader
        // must not hold the flight (and every request waiting on it). Past the cap, backpressure.
        const waitFrom = performance.now();
        await stream.push(page, limit, kept !== undefined);
        waitedOnClientMs += performance.now() - waitFrom;
      };
      const onBatch = async (batch: EngineBatch) => {
        if (!columns) {
          columns = pager.columns(batch.columns);
          keptBytes += columns.length;
          stream.setColumns(columns);
        }
        rowCount += batch.rows.length;
        stream.rowCount = rowCount;
        for (const page of pager.add(batch.rows)) await emit(page);
      };
      const query: EngineQuery = {
        sql: req.sql,
        user: req.principal,
        catalog: req.catalog,
        schema: req.schema,
        session: req.session,
        authorization: req.authorization,
        ...(req.upstreamHeaders !== undefined ? { upstreamHeaders: req.upstreamHeaders } : {}),
        ...(req.keyExtras?.preparedStatements !== undefined ? { preparedStatements: req.keyExtras.preparedStatements } : {}),
      };
      let sessionChanges: Record<string, string[]> | undefined;
      let update: StatementUpdate | undefined;
      if (engine.stream) {
        ({ sessionChanges, update } = await engine.stream(query, limit, onBatch));
      } else {
        const result = await engine.execute(query, limit);
        await onBatch({ columns: result.columns, rows: result.rows });
        ({ sessionChanges, update } = result);
      }
      // Before the last pages: the page that says FINISHED carries what the statement changed.
      stream.sessionHeaders = sessionChanges;
      stream.update = update;
      if (!columns) {
        columns = pager.columns([]);
        stream.setColumns(columns);
      }
      for (const page of pager.end(rowCount)) await emit(page);
      if (signal.aborted) throw new AppError('QUERY_CANCELLED');
      if (limit.aborted) throw new AppError('CLIENT_TOO_SLOW', `the answer was not read to its end within HOTPATH_STATEMENT_TIMEOUT_MS (${config.statementTimeoutMs} ms)`);
      if (end) {
        stream.finish(end.status);
        metrics.countRequest(end.door, end.result, end.reason);
      }
      return { columns, kept, sessionChanges, rowCount };
    } catch (err) {
      outcome = err instanceof EngineError ? err.kind : 'internal';
      let e = signal.aborted ? new AppError('QUERY_CANCELLED') : toAppError(err);
      // Out of time mostly waiting for this client to read: its fault, not the query's (waiters re-lead).
      if (e.code === 'ENGINE_TIMEOUT' && waitedOnClientMs > config.statementTimeoutMs / 2) {
        e = new AppError('CLIENT_TOO_SLOW', `the answer was not read within HOTPATH_STATEMENT_TIMEOUT_MS (${config.statementTimeoutMs} ms)`);
      }
      if (end) this.failStream(stream, end.door, e);
      throw e;
    } finally {
      release?.();
      if (started !== undefined) metrics.engineSeconds.observe({ engine: engine.id, outcome }, (performance.now() - started) / 1000);
    }
  }

  /**
   * The generation and table/user versions read before a fill runs: storing checks them, so an invalidation
   * during the run keeps its (stale) result out. Undefined when Redis cannot answer (nothing will be stored).
   */
  private async versionsBeforeRun(decision: Decision, principal: string | undefined): Promise<FillVersions | undefined> {
    try {
      return await this.d.store.versions(principal, decision.tables);
    } catch {
      return undefined;
    }
  }

  private entryMeta(decision: Decision, principal: string | undefined, format: AnswerFormat, rowCount: number): CachedEntry['meta'] {
    return { storedAtMs: this.now(), freshness: decision.freshness, tables: decision.tables, principal, contentType: format.contentType, rowCount };
  }

  /** Stores a filled entry unless an invalidation came first; counts what happened. */
  private async storeEntry(hash: string, entry: CachedEntry, versions: FillVersions | undefined): Promise<{ stored: boolean; notStoredReason?: 'invalidated' | 'cache-unavailable' }> {
    const { store, metrics } = this.d;
    if (versions === undefined) return { stored: false, notStoredReason: 'cache-unavailable' };
    try {
      const { stored, bytes } = await store.store(hash, entry, versions);
      metrics.stored.inc({ outcome: stored ? 'stored' : 'skipped-invalidated' });
      if (stored) metrics.storedBytes.inc(bytes);
      return stored ? { stored: true } : { stored: false, notStoredReason: 'invalidated' };
    } catch {
      return { stored: false, notStoredReason: 'cache-unavailable' };
    }
  }
}

/** The engine failed (not the query): a stale entry may stand in for the answer (stale-if-error). */
export function isEngineFault(err: AppError): boolean {
  return err.code === 'ENGINE_UNAVAILABLE' || err.code === 'ENGINE_TIMEOUT' || err.code === 'INTERNAL';
}

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof EngineError) {
    const details = { errorName: err.errorName, ...(err.trinoCode ?? {}) };
    switch (err.kind) {
      case 'user':
        return new AppError('SQL_ERROR', err.message, { details });
      case 'unavailable':
        return new AppError('ENGINE_UNAVAILABLE', err.message, { details, cause: err });
      case 'timeout':
        return new AppError('ENGINE_TIMEOUT', err.message, { details, cause: err });
      case 'internal':
        return err.errorName === 'USER_CANCELED' ? new AppError('QUERY_CANCELLED', err.message, { details }) : new AppError('INTERNAL', err.message, { details, cause: err });
    }
  }
  return new AppError('INTERNAL', undefined, { cause: err });
}
