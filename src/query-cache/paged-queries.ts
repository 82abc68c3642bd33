// Why: the Trino door's use case. Like QueryCacheService.query, but a miss is paged to the client as the
// engine produces it instead of after it finished: the pages are kept for the cache only while they
// fit under the entry cap (a larger result streams through and is not stored), and a cancel reaches the
// engine. Hits and collapsed waiters get the stored pages as they are.

import { AppError } from '../shared/errors.ts';
import { cacheStatus } from './core/cache-status.ts';
import { sqlHash } from './core/key.ts';
import type { CacheDecision } from './core/policy.ts';
import { assemblePagedAnswer, Pager, readPagedAnswer, renderColumns } from './core/render-trino.ts';
import { EngineError, type EngineBatch } from './engines/engine.ts';
import type { FillOutcome } from './flight.ts';
import { PageStream } from './page-stream.ts';
import { isEngineFault, toAppError, type QueryCacheService, type QueryRequest, type Renderer } from './service.ts';
import type { CachedEntry } from './store/entry.ts';

const DOOR = 'trino';

interface Streamed {
  columns: Buffer;
  /** The pages, while their total stayed under `keepBytes`; undefined once it did not. */
  kept: Buffer[] | undefined;
  sessionChanges: Record<string, string[]> | undefined;
  rowCount: number;
}

export class PagedQueries {
  private readonly svc: QueryCacheService;
  private readonly renderer: Renderer;

  constructor(svc: QueryCacheService, renderer: Renderer) {
    this.svc = svc;
    this.renderer = renderer;
  }

  /** The answer as a PageStream; fails (rejects) only for requests refused before anything runs. */
  async open(req: QueryRequest, signal: AbortSignal): Promise<PageStream> {
    const { metrics } = this.svc.d;
    const found = await this.svc.lookup(req, this.renderer);
    switch (found.kind) {
      case 'reject':
        metrics.countRequest(DOOR, 'error', found.error.code);
        throw found.error;
      case 'bypass':
        return this.bypass(req, signal, found.reason);
      case 'hit': {
        const { entry, detail } = found;
        metrics.countRequest(DOOR, detail ? 'stale' : 'hit', detail ?? '');
        return this.fromEntry(entry, cacheStatus({ hit: true, ttlSeconds: this.svc.ttlLeftSeconds(entry), detail }));
      }
      case 'miss': {
        const { hash, decision, principal } = found.plan;
        return this.miss(hash, req, signal, decision, principal, found.stale);
      }
    }
  }

  private miss(hash: string, req: QueryRequest, signal: AbortSignal, decision: CacheDecision & { cache: true }, principal: string | undefined, stale: CachedEntry | undefined): PageStream {
    const { flight, metrics, log } = this.svc.d;
    const fwd = req.noCache ? 'request' : stale ? 'stale' : 'miss';
    const stream = new PageStream(cacheStatus({ fwd }));
    let leader = false;
    flight
      .run(hash, () => {
        leader = true;
        return this.fill(hash, req, signal, decision, principal, stream, fwd);
      })
      .then(
        (outcome) => {
          if (leader || !outcome) return;
          metrics.collapsed.inc();
          // Another execution of the same query finished: use its stored pages, or run our own when it
          // could not keep them (too large, session change).
          if (outcome.entry.body.length > 0 && outcome.notStoredReason !== 'session-change') {
            metrics.countRequest(DOOR, 'miss', 'collapsed');
            appendEntry(stream, outcome.entry, cacheStatus({ fwd, collapsed: true }));
          } else {
            const detail = outcome.notStoredReason ?? 'not-stored';
            void this.runInto(req, signal, stream, 0, { status: cacheStatus({ fwd, detail }), result: 'miss', reason: detail }).catch(() => {});
          }
        },
        (err: unknown) => {
          const e = toAppError(err);
          if (stale && isEngineFault(e)) {
            log.warn({ sqlHash: sqlHash(req.sql), code: e.code }, 'engine failed: serving stale-if-error');
            metrics.countRequest(DOOR, 'stale', 'stale-if-error');
            appendEntry(stream, stale, cacheStatus({ hit: true, ttlSeconds: this.svc.ttlLeftSeconds(stale), detail: 'stale-if-error' }));
          } else if (!leader && e.code === 'QUERY_CANCELLED' && !signal.aborted) {
            // The execution we waited for was cancelled by its own client, not by ours: run it ourselves.
            void this.runInto(req, signal, stream, 0, { status: cacheStatus({ fwd, detail: 'collapsed-cancelled' }), result: 'miss', reason: 'collapsed-cancelled' }).catch(() => {});
          } else {
            if (leader) return; // fill already failed the stream and counted the error
            metrics.countRequest(DOOR, 'error', e.code);
            stream.fail(e);
          }
        },
      );
    return stream;
  }

  /**
   * The leader's work: stream the engine's answer into `stream`, keeping pages for the cache while they
   * fit; store them at the end unless too large, a session change, or invalidated meanwhile.
   */
  private async fill(
    hash: string,
    req: QueryRequest,
    signal: AbortSignal,
    decision: CacheDecision & { cache: true },
    principal: string | undefined,
    stream: PageStream,
    fwd: 'miss' | 'request' | 'stale',
  ): Promise<Omit<FillOutcome, 'collapsed'>> {
    const { metrics, config } = this.svc.d;
    const versions = await this.svc.versionsBeforeRun(decision, principal);
    const run = await this.runInto(req, signal, stream, config.cacheMaxEntryBytes, undefined);
    const meta = this.svc.entryMeta(decision, principal, this.renderer, run.rowCount);
    const finish = (stored: boolean, reason?: FillOutcome['notStoredReason']) => {
      stream.finish(cacheStatus({ fwd, stored, detail: reason }));
      metrics.countRequest(DOOR, 'miss', reason ?? '');
    };
    if (run.sessionChanges) {
      finish(false, 'session-change');
      return { entry: { meta, body: Buffer.alloc(0) }, stored: false, notStoredReason: 'session-change', sessionHeaders: run.sessionChanges };
    }
    if (!run.kept) {
      metrics.stored.inc({ outcome: 'too-large' });
      finish(false, 'too-large');
      return { entry: { meta, body: Buffer.alloc(0) }, stored: false, notStoredReason: 'too-large' };
    }
    const entry: CachedEntry = { meta, body: assemblePagedAnswer(run.columns, run.kept) };
    const outcome = await this.svc.storeEntry(hash, entry, versions);
    finish(outcome.stored, outcome.notStoredReason);
    return { entry, ...outcome };
  }

  private async bypass(req: QueryRequest, signal: AbortSignal, reason: string): Promise<PageStream> {
    const stream = new PageStream(cacheStatus({ fwd: 'bypass', detail: reason }));
    void this.runInto(req, signal, stream, 0, { status: stream.cacheStatus, result: 'bypass', reason }).catch(() => {});
    return stream;
  }

  /**
   * One engine execution under admission control and the statement timeout, paged into `stream` as it
   * arrives. Keeps the pages while they total at most `keepBytes`. With `end`, also finishes the stream
   * and counts the request. Fails the stream (and rejects, counted as an error) on error.
   */
  private async runInto(
    req: QueryRequest,
    signal: AbortSignal,
    stream: PageStream,
    keepBytes: number,
    end: { status: string; result: 'miss' | 'bypass'; reason: string } | undefined,
  ): Promise<Streamed> {
    const { admission, engine, metrics, config } = this.svc.d;
    let release: (() => void) | undefined;
    const started = performance.now();
    let outcome = 'ok';
    try {
      release = await admission.acquire(req.principal, signal);
      const pager = new Pager();
      let columns: Buffer | undefined;
      let kept: Buffer[] | undefined = keepBytes > 0 ? [] : undefined;
      let keptBytes = 0;
      let rowCount = 0;
      const emit = async (page: Buffer) => {
        if (kept) {
          keptBytes += page.length;
          if (keptBytes > keepBytes) kept = undefined;
          else kept.push(page);
        }
        await stream.push(page);
      };
      const onBatch = async (batch: EngineBatch) => {
        if (!columns) {
          columns = renderColumns(batch.columns);
          keptBytes += columns.length;
          stream.setColumns(columns);
        }
        rowCount += batch.rows.length;
        stream.rowCount = rowCount;
        for (const page of pager.add(batch.rows)) await emit(page);
      };
      const query = { sql: req.sql, user: req.principal, catalog: req.catalog, schema: req.schema, session: req.session, authorization: req.authorization };
      const limit = AbortSignal.any([signal, AbortSignal.timeout(config.statementTimeoutMs)]);
      let sessionChanges: Record<string, string[]> | undefined;
      if (engine.stream) {
        ({ sessionChanges } = await engine.stream(query, limit, onBatch));
      } else {
        const result = await engine.execute(query, limit);
        await onBatch({ columns: result.columns, rows: result.rows });
        sessionChanges = result.sessionChanges;
      }
      for (const page of pager.end()) await emit(page);
      if (signal.aborted) throw new AppError('QUERY_CANCELLED');
      columns ??= renderColumns([]);
      stream.setColumns(columns);
      stream.sessionHeaders = sessionChanges;
      if (end) {
        stream.finish(end.status);
        metrics.countRequest(DOOR, end.result, end.reason);
      }
      return { columns, kept, sessionChanges, rowCount };
    } catch (err) {
      outcome = err instanceof EngineError ? err.kind : 'internal';
      const e = signal.aborted ? new AppError('QUERY_CANCELLED') : toAppError(err);
      stream.fail(e);
      metrics.countRequest(DOOR, 'error', e.code);
      throw e;
    } finally {
      release?.();
      metrics.engineSeconds.observe({ engine: engine.id, outcome }, (performance.now() - started) / 1000);
    }
  }

  private fromEntry(entry: CachedEntry, status: string): PageStream {
    return appendEntry(new PageStream(status), entry, status);
  }
}

/** A stored answer, complete, into a stream (a new one, or one the door already holds). */
function appendEntry(to: PageStream, entry: CachedEntry, status: string): PageStream {
  const paged = readPagedAnswer(entry.body);
  to.setColumns(paged.columns);
  to.appendComplete(paged.pages, entry.meta.rowCount, status);
  return to;
}
