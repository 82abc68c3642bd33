// Why: the lifecycle of one statement submitted through the Trino door, as Trino clients expect it:
// ids and slugs hotpath owns, tokens that advance page by page (a repeated last token returns the same
// page, an older one is gone), execution started on the first poll, cancel, and abandonment.
//
//   POST ─> QUEUED ──first GET queued/1──> running (a PageStream: a hit at once, a miss as it arrives)
//              │                              ├─ pages ─> executing pages 0..n-1 ─> FINISHED
//              │                              └─ error ─> FAILED page
//              └─ DELETE / not polled for abandonAfterMs ─> gone (410 for its URIs); the engine is cancelled
//
// A query lives in the replica that accepted its POST; others forward to it (owners.ts).

import { randomBytes } from 'node:crypto';
import { AppError } from '../../shared/errors.ts';
import type { PageStream } from '../page-stream.ts';
import type { TrinoContext } from './protocol.ts';

export interface StatementQuery {
  id: string;
  slug: string;
  sql: string;
  user: string;
  context: TrinoContext;
  /** Credentials to forward upstream on a miss; never logged, never in a key. */
  authorization: string | undefined;
  createdAtMs: number;
  lastSeenAtMs: number;
  startedAtMs: number | undefined;
  finishedAtMs: number | undefined;
  /**
   * Tokens number responses, as in Trino: each new token gets the next response, and the last one
   * served is kept so a retried GET gets the identical page (`last`). Data pages are counted apart.
   */
  queuedToken: number;
  executingToken: number;
  last: { kind: 'queued' | 'executing'; token: number; body: Buffer } | undefined;
  /** Index of the next data page to hand out. */
  nextPage: number;
  run: Promise<void> | undefined;
  stream: PageStream | undefined;
  /** Refused before anything ran (read-only, admission at open). */
  error: AppError | undefined;
  /** Aborted on cancel or abandonment: the engine execution stops. */
  abort: AbortController;
}

export type Open = (q: StatementQuery) => Promise<PageStream>;

export class StatementRegistry {
  private readonly queries = new Map<string, StatementQuery>();
  /** Ids removed recently: their URIs answer 410 Gone rather than 404. */
  private readonly gone = new Map<string, number>();
  private sequence = 0;
  private readonly abandonAfterMs: number;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(opts: { abandonAfterMs: number; now?: () => number }) {
    this.abandonAfterMs = opts.abandonAfterMs;
    this.now = opts.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), Math.min(10_000, opts.abandonAfterMs));
    this.sweeper.unref();
  }

  /** A Trino-shaped id (`20261127_054712_00001_k3x9q`) and an unguessable slug. */
  create(sql: string, user: string, context: TrinoContext, authorization?: string): StatementQuery {
    const d = new Date(this.now());
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    const stamp = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}_${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
    this.sequence = (this.sequence + 1) % 100_000;
    const id = `${stamp}_${p(this.sequence, 5)}_${randomBytes(4).toString('hex').slice(0, 5)}`;
    const q: StatementQuery = {
      id,
      slug: `y${randomBytes(16).toString('hex')}`,
      sql,
      user,
      context,
      authorization,
      createdAtMs: this.now(),
      lastSeenAtMs: this.now(),
      startedAtMs: undefined,
      finishedAtMs: undefined,
      queuedToken: 0,
      executingToken: -1,
      last: undefined,
      nextPage: 0,
      run: undefined,
      stream: undefined,
      error: undefined,
      abort: new AbortController(),
    };
    this.queries.set(id, q);
    return q;
  }

  /** The query for a page URI: 404 unknown id or slug, 410 for one that was cancelled or abandoned. */
  lookup(id: string, slug?: string): StatementQuery {
    const q = this.queries.get(id);
    if (!q) {
      if (this.gone.has(id)) throw new AppError('GONE', `query ${id} is gone (finished, cancelled or abandoned)`);
      throw new AppError('NOT_FOUND', `unknown query ${id}`);
    }
    if (slug !== undefined && slug !== q.slug) throw new AppError('NOT_FOUND', `unknown query ${id}`);
    q.lastSeenAtMs = this.now();
    return q;
  }

  /** Start execution once; later calls share it. Resolves when the answer's stream exists. */
  start(q: StatementQuery, open: Open): Promise<void> {
    if (!q.run) {
      q.startedAtMs = this.now();
      q.run = open(q).then(
        (stream) => {
          q.stream = stream;
        },
        (err: unknown) => {
          q.error = err instanceof AppError ? err : new AppError('INTERNAL', undefined, { cause: err });
          q.finishedAtMs = this.now();
        },
      );
    }
    return q.run;
  }

  /** Forget a run that was refused admission, so the client's retry starts it again. */
  resetRun(q: StatementQuery): void {
    q.run = undefined;
    q.stream = undefined;
    q.error = undefined;
    q.startedAtMs = undefined;
    q.finishedAtMs = undefined;
  }

  has(id: string): boolean {
    return this.queries.has(id) || this.gone.has(id);
  }

  remove(id: string): boolean {
    const q = this.queries.get(id);
    if (!q) return false;
    const cancelled = new AppError('QUERY_CANCELLED', `query ${id} was cancelled`);
    q.abort.abort(cancelled);
    q.stream?.fail(cancelled);
    this.queries.delete(id);
    this.gone.set(id, this.now());
    return true;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, q] of this.queries) if (now - q.lastSeenAtMs > this.abandonAfterMs) this.remove(id);
    for (const [id, at] of this.gone) if (now - at > 4 * this.abandonAfterMs) this.gone.delete(id);
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const id of [...this.queries.keys()]) this.remove(id);
  }
}
