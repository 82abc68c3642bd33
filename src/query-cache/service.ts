// Why: the query cache's use case, independent of any door: classify, key, look up, serve fresh or
// stale, fill through single-flight and admission, store, and report what happened in RFC 9211 terms.
// Doors (JSON, Trino) turn a request into a QueryRequest and a QueryAnswer into their wire format.

import type { Config } from '../shared/config.ts';
import { AppError } from '../shared/errors.ts';
import { sqlHash, type KeyInput } from './core/key.ts';
import { entryState, freshnessLeftSeconds, type CacheDecision, type Freshness } from './core/policy.ts';
import { Planner, type Plan } from './planner.ts';
import { cacheStatus } from './core/cache-status.ts';
import { EngineError, type Engine, type EngineResult } from './engines/engine.ts';
import type { Admission } from './admission.ts';
import type { SingleFlight } from './flight.ts';
import type { CachedEntry } from './store/entry.ts';
import type { TieredStore } from './store/tiered-store.ts';
import type { QueryCacheMetrics, RequestResult } from './metrics.ts';

export interface Logger {
  isLevelEnabled?(level: string): boolean;
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** How a door renders a full engine result into the bytes it sends (and the cache stores). */
export interface Renderer {
  format: string;
  contentType: string;
  render(result: EngineResult): Buffer;
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
  /** Other key inputs a door knows (Trino headers). */
  keyExtras?: Partial<Omit<KeyInput, 'format' | 'engineId' | 'principal' | 'normalizedSql' | 'session' | 'catalog' | 'schema'>>;
}

export interface QueryAnswer {
  body: Buffer;
  contentType: string;
  cacheStatus: string;
  /** Seconds since the entry was stored (hits only). */
  ageSeconds?: number;
  result: RequestResult;
  reason?: string;
  rowCount?: number;
  /** Session-state response headers from the engine (X-Trino-Set-*, …), for the client. */
  sessionHeaders?: Record<string, string[]>;
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
  store: TieredStore;
  flight: SingleFlight;
  admission: Admission;
  metrics: QueryCacheMetrics;
  log: Logger;
  now?: () => number;
}

export class QueryCacheService {
  readonly d: QueryCacheDeps;
  private readonly now: () => number;

  private readonly planner: Planner;

  constructor(deps: QueryCacheDeps) {
    this.d = deps;
    this.now = deps.now ?? Date.now;
    this.planner = new Planner(deps.config, deps.engine.id, (sql) =>
      deps.log.info({ sqlHash: sqlHash(sql) }, 'tables not recognised in SQL: entry is TTL-only (no invalidation by table)'),
    );
  }

  async query(req: QueryRequest, renderer: Renderer, door: string): Promise<QueryAnswer> {
    const answer = await this.answer(req, renderer).catch((err: unknown) => {
      this.d.metrics.countRequest(door, 'error', err instanceof AppError ? err.code : 'INTERNAL');
      throw err;
    });
    this.d.metrics.countRequest(door, answer.result, answer.reason ?? '');
    return answer;
  }

  /**
   * The first half of answering, shared by both doors: plan, then look the entry up. A stale entry
   * within stale-while-revalidate is a hit that has started one background refresh; an entry only
   * good for stale-if-error comes back with the miss.
   */
  async lookup(req: QueryRequest, renderer: Renderer): Promise<Lookup> {
    const { log, store, metrics } = this.d;
    // SQL text only at debug level; at info and above only its hash is ever logged.
    if (log.isLevelEnabled?.('debug')) log.debug({ sql: req.sql, sqlHash: sqlHash(req.sql), user: req.principal }, 'query');
    const plan = this.planner.plan(req, renderer.format);
    if (plan.kind !== 'cache') return plan;
    if (!store.available()) return { kind: 'bypass', reason: 'cache-unavailable' };
    if (req.noCache) return { kind: 'miss', plan, stale: undefined };
    const started = performance.now();
    let found: Awaited<ReturnType<TieredStore['lookup']>>;
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
      this.revalidate(plan.hash, req, renderer, plan.decision, plan.principal);
      return { kind: 'hit', entry, detail: 'stale-while-revalidate' };
    }
    return { kind: 'miss', plan, stale: state === 'stale-if-error-only' ? entry : undefined };
  }

  /** Seconds of freshness an entry has left (negative once stale), on this service's clock. */
  ttlLeftSeconds(entry: CachedEntry): number {
    return freshnessLeftSeconds(entry.meta.storedAtMs, entry.meta.freshness, this.now());
  }

  private async answer(req: QueryRequest, renderer: Renderer): Promise<QueryAnswer> {
    const { log } = this.d;
    const found = await this.lookup(req, renderer);
    if (found.kind === 'reject') throw found.error;
    if (found.kind === 'bypass') return this.bypass(req, renderer, found.reason);
    if (found.kind === 'hit') return this.fromEntry(found.entry, found.detail ? 'stale' : 'hit', found.detail);
    const { decision, principal, hash } = found.plan;
    const { stale } = found;

    try {
      const outcome = await this.d.flight.run(hash, () => this.fill(hash, req, renderer, decision, principal));
      // run() only skips when asked not to wait; a foreground query always waits.
      if (!outcome) throw new AppError('INTERNAL');
      if (outcome.collapsed) this.d.metrics.collapsed.inc();
      const fwd = req.noCache ? 'request' : stale ? 'stale' : 'miss';
      const status = cacheStatus({
        fwd,
        stored: outcome.stored && !outcome.collapsed,
        collapsed: outcome.collapsed,
        detail: outcome.notStoredReason,
      });
      return { body: outcome.entry.body, contentType: renderer.contentType, cacheStatus: status, result: 'miss', rowCount: outcome.entry.meta.rowCount, ...(outcome.notStoredReason ? { reason: outcome.notStoredReason } : {}), ...(outcome.sessionHeaders ? { sessionHeaders: outcome.sessionHeaders } : {}) };
    } catch (err) {
      if (stale && err instanceof AppError && isEngineFault(err)) {
        log.warn({ sqlHash: sqlHash(req.sql), code: (err as AppError).code }, 'engine failed: serving stale-if-error');
        return this.fromEntry(stale, 'stale', 'stale-if-error');
      }
      throw err;
    }
  }

  private fromEntry(entry: CachedEntry, result: 'hit' | 'stale', detail?: 'stale-while-revalidate' | 'stale-if-error'): QueryAnswer {
    const ageMs = this.now() - entry.meta.storedAtMs;
    const ttlSeconds = this.ttlLeftSeconds(entry);
    return {
      body: entry.body,
      contentType: entry.meta.contentType,
      cacheStatus: cacheStatus({ hit: true, ttlSeconds, detail }),
      ageSeconds: Math.max(0, Math.floor(ageMs / 1000)),
      result,
      rowCount: entry.meta.rowCount,
      ...(detail ? { reason: detail } : {}),
    };
  }

  /** Refresh once in the background; another replica already refreshing makes this a no-op. */
  revalidate(hash: string, req: QueryRequest, renderer: Renderer, decision: CacheDecision & { cache: true }, principal: string | undefined): void {
    if (this.d.flight.isInFlight(hash)) return;
    this.d.flight.run(hash, () => this.fill(hash, req, renderer, decision, principal), false).catch((err: unknown) => {
      this.d.log.warn({ sqlHash: sqlHash(req.sql), err }, 'background refresh failed; stale entry kept');
    });
  }

  /** Leader work: execute under admission, render, store unless too large or invalidated meanwhile. */
  private async fill(hash: string, req: QueryRequest, renderer: Renderer, decision: CacheDecision & { cache: true }, principal: string | undefined) {
    const { metrics, config } = this.d;
    const versions = await this.versionsBeforeRun(decision, principal);
    const result = await this.execute(req);
    const body = renderer.render(result);
    const entry: CachedEntry = { meta: this.entryMeta(decision, principal, renderer, result.rows.length), body };
    if (result.sessionChanges) {
      // The statement changed session state: its answer belongs to this client's session only.
      return { entry, stored: false, notStoredReason: 'session-change' as const, sessionHeaders: result.sessionChanges };
    }
    if (body.length > config.cacheMaxEntryBytes) {
      metrics.stored.inc({ outcome: 'too-large' });
      return { entry, stored: false, notStoredReason: 'too-large' as const };
    }
    return { entry, ...(await this.storeEntry(hash, entry, versions)) };
  }

  /**
   * The table/user versions read before a fill runs: storing checks them, so an invalidation during
   * the run keeps its (stale) result out. Undefined when Redis cannot answer (nothing will be stored).
   */
  async versionsBeforeRun(decision: CacheDecision & { cache: true }, principal: string | undefined): Promise<string[] | undefined> {
    try {
      return await this.d.store.l2.readVersions(principal, decision.tables ?? []);
    } catch {
      return undefined;
    }
  }

  entryMeta(decision: CacheDecision & { cache: true }, principal: string | undefined, renderer: Renderer, rowCount: number): CachedEntry['meta'] {
    return {
      storedAtMs: this.now(),
      freshness: decision.freshness satisfies Freshness,
      tables: decision.tables,
      principal,
      contentType: renderer.contentType,
      rowCount,
    };
  }

  /** Stores a filled entry unless an invalidation came first; counts what happened. */
  async storeEntry(hash: string, entry: CachedEntry, versions: string[] | undefined): Promise<{ stored: boolean; notStoredReason?: 'invalidated' | 'cache-unavailable' }> {
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

  private async bypass(req: QueryRequest, renderer: Renderer, reason: string): Promise<QueryAnswer> {
    const result = await this.execute(req);
    return {
      ...(result.sessionChanges ? { sessionHeaders: result.sessionChanges } : {}),
      rowCount: result.rows.length,
      body: renderer.render(result),
      contentType: renderer.contentType,
      cacheStatus: cacheStatus({ fwd: 'bypass', detail: reason }),
      result: 'bypass',
      reason,
    };
  }

  /** One engine execution under admission control, with the statement timeout. */
  async execute(req: QueryRequest): Promise<EngineResult> {
    const { admission, engine, metrics, config } = this.d;
    const release = await admission.acquire(req.principal);
    const started = performance.now();
    let outcome = 'ok';
    try {
      return await engine.execute(
        { sql: req.sql, user: req.principal, catalog: req.catalog, schema: req.schema, session: req.session, authorization: req.authorization },
        AbortSignal.timeout(config.statementTimeoutMs),
      );
    } catch (err) {
      outcome = err instanceof EngineError ? err.kind : 'internal';
      throw toAppError(err);
    } finally {
      release();
      metrics.engineSeconds.observe({ engine: engine.id, outcome }, (performance.now() - started) / 1000);
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
    const details = { errorName: err.errorName };
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
