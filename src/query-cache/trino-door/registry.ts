// Why: the Trino door's statements held by this replica, live and recently finished, under bounds: what
// queries hold is bounded, per user and overall, by count and by bytes (statement text, the page kept for
// a retried poll, pages produced and not yet fetched): over a bound a new POST is refused as Trino refuses
// a full queue, and a running query whose pages would pass one fails. A query whose answer is being
// produced while its client reads nothing holds an engine slot, so it is abandoned much sooner than an
// idle one. Each statement's own lifecycle and tokens are statement.ts's; ids, slugs, the counts and the
// finished LRU are here. A query lives in the replica that accepted its POST; others forward to it
// (owners.ts).

import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AppError } from '../../shared/errors.ts';
import type { PageStream } from '../page-stream.ts';
import type { PageKind, QueryState, TrinoContext } from './protocol.ts';
import { Statement } from './statement.ts';

export type Open = (q: Statement) => Promise<PageStream>;

export interface RegistryOptions {
  /** Statements held at once, all users / one user; beyond, a POST is refused (QUERY_QUEUE_FULL). */
  maxQueries: number;
  maxQueriesPerUser: number;
  /** Bytes they hold (statement text, kept pages), all users / one user. */
  maxBytes: number;
  maxBytesPerUser: number;
  /**
   * Pages each query may hold without counting against its user's bound (one stored answer: the entry
   * cap), so a user's concurrent large answers that are being fetched never fail; the overall bound
   * counts everything.
   */
  perQueryAllowanceBytes?: number;
  /** A query not polled for this long is abandoned (Trino's query.client.timeout). */
  clientTimeoutMs: number;
  /** Sooner for a query whose answer is being produced (it holds an engine slot) while nobody polls. */
  busyClientTimeoutMs: number;
  /** The door's clock (ms since the epoch): abandonment, page stats and ids read it. */
  now: () => number;
}

/** What one query costs beyond its text: the object, its context and bookkeeping (an estimate). */
const QUERY_OVERHEAD_BYTES = 2048;
/** Bytes of finished queries kept for a retried last poll (a retry after that answers 410, as Trino's would). */
const FINISHED_MAX_BYTES = 32 * 1024 * 1024;
/** Ids of removed queries remembered (their URIs answer 410); bounded so a flood cannot grow it. */
const GONE_MAX = 100_000;
/** Final states of removed queries, for GET /v1/query/{id} after a cancel (as Trino answers it): bytes kept. */
const OUTCOMES_MAX_BYTES = 8 * 1024 * 1024;
/** Statement text kept with an outcome (the info's `query`), at most. */
const OUTCOME_SQL_MAX_CHARS = 4096;

/** How a query that is no longer held ended: what its info page still tells its user. */
export interface Outcome {
  user: string;
  sql: string;
  state: QueryState;
  failure: AppError | undefined;
}

interface Usage {
  count: number;
  bytes: number;
}

export class StatementRegistry {
  private readonly queries = new Map<string, Statement>();
  /** Ids removed recently: their URIs answer 410 Gone rather than 404. */
  private readonly gone: LRUCache<string, true>;
  private readonly outcomes = new LRUCache<string, Outcome>({ maxSize: OUTCOMES_MAX_BYTES, sizeCalculation: (o) => 256 + o.sql.length * 2 });
  /** Queries whose last page was served, kept (bounded by their kept page's bytes) for retries and info. */
  private readonly finished: LRUCache<string, Statement>;
  /** Per query: bytes counted overall, bytes charged to its user, and bytes of its stream's pages. */
  private readonly bytesOf = new Map<string, { total: number; user: number; stream: number }>();
  private readonly byUser = new Map<string, Usage>();
  private readonly total: Usage = { count: 0, bytes: 0 };
  private sequence = 0;
  private readonly opts: RegistryOptions;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(opts: RegistryOptions) {
    this.opts = opts;
    this.now = opts.now;
    this.gone = new LRUCache({ max: GONE_MAX, ttl: 4 * opts.clientTimeoutMs });
    this.finished = new LRUCache({
      maxSize: FINISHED_MAX_BYTES,
      sizeCalculation: (q) => QUERY_OVERHEAD_BYTES + Buffer.byteLength(q.sql) + q.keptBytes,
      ttl: opts.clientTimeoutMs,
      dispose: (q, id, reason) => {
        if (reason === 'delete') return;
        this.gone.set(id, true);
        this.remember(id, q, q.infoState, q.failure);
      },
    });
    const everyMs = Math.max(250, Math.min(10_000, Math.floor(Math.min(opts.clientTimeoutMs, opts.busyClientTimeoutMs) / 3)));
    this.sweeper = setInterval(() => this.sweep(), everyMs);
    this.sweeper.unref();
  }

  /** Statements held and their bytes, overall. */
  get usage(): Usage {
    return { ...this.total };
  }

  /** What `delta` more bytes (of its stream's pages, or of anything else) add overall and to the user's charge. */
  private charge(q: Statement, delta: number, stream: boolean): { total: number; user: number } {
    if (!stream) return { total: delta, user: delta };
    const allowance = this.opts.perQueryAllowanceBytes ?? 0;
    const before = this.bytesOf.get(q.id)?.stream ?? 0;
    const over = (n: number) => Math.max(0, n - allowance);
    return { total: delta, user: over(before + delta) - over(before) };
  }

  private account(q: Statement, delta: number, stream = false): void {
    const b = this.bytesOf.get(q.id);
    if (!b || !this.queries.has(q.id) || delta === 0) return;
    const c = this.charge(q, delta, stream);
    b.total += c.total;
    b.user += c.user;
    if (stream) b.stream += delta;
    this.total.bytes += c.total;
    const u = this.byUser.get(q.user);
    if (u) u.bytes += c.user;
  }

  /** Which bound `delta` more bytes of `q`'s would pass, if any. */
  private overBy(q: Statement, delta: number, stream: boolean): string | undefined {
    const c = this.charge(q, delta, stream);
    const u = this.byUser.get(q.user);
    if (c.user > 0 && (u?.bytes ?? 0) + c.user > this.opts.maxBytesPerUser) return `user ${q.user}'s answers passed HOTPATH_TRINO_DOOR_MAX_HELD_BYTES_PER_USER (${this.opts.maxBytesPerUser} bytes)`;
    if (this.total.bytes + c.total > this.opts.maxBytes) return `all answers held passed HOTPATH_TRINO_DOOR_MAX_HELD_BYTES (${this.opts.maxBytes} bytes)`;
    return undefined;
  }

  /**
   * The bounds hold while answers come in, not only at POST: a query whose pages would pass one fails
   * (its pages let go), as Trino fails a query over its memory limit.
   */
  private refuseOverflow(q: Statement, why: string): void {
    const err = new AppError('HELD_BYTES_EXCEEDED', `${why}: fetch the pages of running queries, or cancel them`, { details: { errorName: 'EXCEEDED_LOCAL_MEMORY_LIMIT' } });
    q.fail(err, this.now());
    q.halt(err);
    this.detach(q);
  }

  /** Refuses, as Trino refuses a full queue, a new statement that would pass a bound. */
  private admit(user: string, bytes: number): void {
    const u = this.byUser.get(user) ?? { count: 0, bytes: 0 };
    const o = this.opts;
    const over =
      this.total.count + 1 > o.maxQueries ? `${o.maxQueries} statements are held (HOTPATH_TRINO_DOOR_MAX_QUERIES)`
      : u.count + 1 > o.maxQueriesPerUser ? `user ${user} holds ${u.count} statements (HOTPATH_TRINO_DOOR_MAX_QUERIES_PER_USER)`
      : this.total.bytes + bytes > o.maxBytes ? `statements hold ${this.total.bytes} bytes (HOTPATH_TRINO_DOOR_MAX_HELD_BYTES)`
      : u.bytes + bytes > o.maxBytesPerUser ? `user ${user}'s statements hold ${u.bytes} bytes (HOTPATH_TRINO_DOOR_MAX_HELD_BYTES_PER_USER)`
      : undefined;
    if (over) {
      throw new AppError('QUEUE_FULL', `Too many queued queries: ${over}; fetch or cancel running ones, or retry later`, {
        details: { errorName: 'QUERY_QUEUE_FULL' },
        headers: { 'retry-after': '5' },
      });
    }
  }

  /** A Trino-shaped id (`20261127_054712_00001_k3x9q`) and an unguessable slug; throws QUEUE_FULL over a bound. */
  create(sql: string, user: string, context: TrinoContext, authorization?: string): Statement {
    const bytes = Buffer.byteLength(sql) + QUERY_OVERHEAD_BYTES + Object.values(context.preparedStatements ?? {}).reduce((n, v) => n + Buffer.byteLength(v), 0);
    this.admit(user, bytes);
    const id = this.newId();
    const q = new Statement({ id, slug: `y${randomBytes(16).toString('hex')}`, sql, user, context, authorization, nowMs: this.now() });
    this.queries.set(id, q);
    const u = this.byUser.get(user) ?? { count: 0, bytes: 0 };
    u.count++;
    this.byUser.set(user, u);
    this.total.count++;
    this.bytesOf.set(id, { total: 0, user: 0, stream: 0 });
    this.account(q, bytes);
    return q;
  }

  /** An id of Trino's shape, unused: `<utc date>_<time>_<sequence>_<random>`. */
  newId(): string {
    const d = new Date(this.now());
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    const stamp = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}_${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
    this.sequence = (this.sequence + 1) % 100_000;
    return `${stamp}_${p(this.sequence, 5)}_${randomBytes(4).toString('hex').slice(0, 5)}`;
  }

  /**
   * A new response went out for a poll of `q`: it is kept for a retried poll of that token (its bytes
   * count against the bounds); when it was the last one (FINISHED or FAILED), the query completes.
   */
  servePage(q: Statement, kind: PageKind, token: number, body: Buffer): void {
    this.account(q, q.servePage(kind, token, body));
    if (q.ended) this.complete(q);
  }

  /** The query for a page URI: 404 unknown id or slug, 410 for one that was cancelled or abandoned. */
  lookup(id: string, slug?: string): Statement {
    const q = this.queries.get(id) ?? this.finished.get(id);
    if (!q) {
      if (this.gone.has(id)) throw new AppError('GONE', `query ${id} is gone (finished, cancelled or abandoned)`);
      throw new AppError('NOT_FOUND', `unknown query ${id}`);
    }
    if (slug !== undefined && slug !== q.slug) throw new AppError('NOT_FOUND', `unknown query ${id}`);
    q.seen(this.now());
    return q;
  }

  /** Start execution once; later calls share it. Resolves when the answer's stream exists. */
  start(q: Statement, open: Open): Promise<void> {
    return (
      q.run ??
      q.begin(this.now(), () =>
        open(q).then(
          (stream) => this.attach(q, stream),
          (err: unknown) => q.fail(err instanceof AppError ? err : new AppError('INTERNAL', undefined, { cause: err }), this.now()),
        ),
      )
    );
  }

  /** Its answer opened: pages produced and not yet fetched count against the bounds while the query is held. */
  private attach(q: Statement, stream: PageStream): void {
    if (!this.queries.has(q.id)) {
      stream.release();
      return;
    }
    const over = this.overBy(q, stream.bytesHeld, true);
    if (over) {
      stream.release();
      this.refuseOverflow(q, over);
      return;
    }
    q.attach(stream);
    this.account(q, stream.bytesHeld, true);
    stream.onBytes = (delta) => {
      const grows = delta > 0 ? this.overBy(q, delta, true) : undefined;
      this.account(q, delta, true);
      if (grows) this.refuseOverflow(q, grows);
    };
  }

  /** Forget a run that was refused admission, so the client's retry starts it again. */
  resetRun(q: Statement): void {
    this.detach(q);
    q.reset();
  }

  /** Lets go of `q`'s stream and stops counting its pages. */
  private detach(q: Statement): void {
    const stream = q.detach();
    if (!stream) return;
    stream.onBytes = undefined;
    this.account(q, -stream.bytesHeld, true);
    stream.release();
  }

  has(id: string): boolean {
    return this.queries.has(id) || this.finished.has(id) || this.gone.has(id);
  }

  /**
   * The client has the query's last page: it stops counting against the bounds (a finished query holds
   * no engine slot and no pages), and is kept a while, bounded, for a retried last poll and its info.
   */
  private complete(q: Statement): void {
    if (q.completed || !this.queries.has(q.id)) return;
    q.complete();
    this.detach(q);
    this.forget(q);
    this.finished.set(q.id, q);
  }

  /** Takes `q` out of the live queries and their counts. */
  private forget(q: Statement): void {
    const u = this.byUser.get(q.user);
    const bytes = this.bytesOf.get(q.id) ?? { total: 0, user: 0, stream: 0 };
    this.total.count--;
    this.total.bytes -= bytes.total;
    if (u) {
      u.count--;
      u.bytes -= bytes.user;
      if (u.count === 0) this.byUser.delete(q.user);
    }
    this.bytesOf.delete(q.id);
    this.queries.delete(q.id);
  }

  remove(id: string): boolean {
    const done = this.finished.peek(id);
    if (done !== undefined) {
      this.finished.delete(id);
      this.gone.set(id, true);
      this.remember(id, done, done.infoState, done.failure);
      return true;
    }
    const q = this.queries.get(id);
    if (!q) return false;
    const cancelled = new AppError('QUERY_CANCELLED', `query ${id} was cancelled`);
    q.cancel(cancelled);
    this.detach(q);
    this.forget(q);
    this.gone.set(id, true);
    this.remember(id, q, 'FAILED', cancelled);
    return true;
  }

  /** How a query no longer held ended (cancelled, abandoned, or finished and let go), while remembered. */
  outcome(id: string): Outcome | undefined {
    return this.outcomes.get(id);
  }

  private remember(id: string, q: Statement, state: QueryState, failure: AppError | undefined): void {
    this.outcomes.set(id, { user: q.user, sql: q.sql.slice(0, OUTCOME_SQL_MAX_CHARS), state, failure });
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, q] of this.queries) {
      const limit = q.busy ? this.opts.busyClientTimeoutMs : this.opts.clientTimeoutMs;
      if (now - q.lastSeenAtMs > limit) this.remove(id);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const id of [...this.queries.keys()]) this.remove(id);
    this.finished.clear();
  }
}
