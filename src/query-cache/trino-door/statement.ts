// Why: one statement submitted through the Trino door, from its POST to its last page, as Trino clients
// expect it; only its own transitions below change it. The registry (registry.ts) bounds what it holds
// and forgets it; the routes ask it what a poll gets and hand it the page that went out.
//
//   POST ─> QUEUED ──begin: first poll──> STARTING ──attach: its answer's stream──> RUNNING
//             ▲                              │                                      │
//             │                       fail: open refused                  take: the last data page
//             │                              ▼                                      ▼
//             └── reset: a queued poll ──  FAILED <── fail: over a bound,        FINISHED
//                 finds admission             │       or the stream's error        │
//                 refused it (503)            └──────── serve: its page out ───────┴──> completed
//                                                                                     (kept a while, for a
//   any ──cancel: DELETE, abandoned, close──> cancelled (the registry forgets it: 410)   retry and for info)
//
// Tokens number responses, as in Trino: each new token gets the next response, and the last page served
// is kept so a retried GET gets the identical bytes. Data pages are counted apart (the next to take).
//
//   queued tokens:     0 ─serve 1─> 1 ─serve 2─> 2 …     a QUEUED page names queued/n+1
//   executing tokens: -1 ─serve 0─> 0 ─serve 1─> 1 …     the first RUNNING or data page names executing/0
//   the last served (kind, token) again ─> the same bytes      a lower token, or a queued one once an
//   above the next token, or no integer ─> 404                 executing page was served ─> 410

import { AppError } from '../../shared/errors.ts';
import type { PageStream } from '../page-stream.ts';
import type { PageKind, PagePlan, QueryState, TrinoContext } from './protocol.ts';

/** What its answer's headers were: the stream's while it runs, kept when it is let go at completion. */
export interface AnswerHeaders {
  cacheStatus: string;
  sessionHeaders: Record<string, string[]> | undefined;
  /** A hit's Age (seconds since it was stored), as the JSON door sends it. */
  ageSeconds: number | undefined;
}

/** A poll's token checked: the kept page again (a retry), or the token of a new response. */
export type TokenCheck = { again: Buffer } | { token: number };

/** What a new poll gets: a page, or (a queued poll whose run admission refused) 503 to retry the same URI. */
export type PollAnswer = { page: PagePlan } | { retry: AppError };

/** Refusals of admission: the run is forgotten and the client's retry of the same URI starts it again. */
const RETRY_SAME_URI = new Set(['QUEUE_FULL', 'QUEUE_TIMEOUT']);

export class Statement {
  readonly id: string;
  readonly slug: string;
  readonly sql: string;
  readonly user: string;
  readonly context: TrinoContext;
  /** Credentials to forward upstream on a miss; never logged, never in a key. */
  readonly authorization: string | undefined;
  readonly createdAtMs: number;
  private seenAtMs: number;
  private startedAtMs: number | undefined;
  private finishedAtMs: number | undefined;
  private queuedToken = 0;
  private executingToken = -1;
  private kept: { kind: PageKind; token: number; body: Buffer } | undefined;
  /** Index of the next data page to hand out. */
  private dataPage = 0;
  private running: Promise<void> | undefined;
  private answer: PageStream | undefined;
  /** Refused before anything ran (read-only, admission at open), or over a bound. */
  private error: AppError | undefined;
  /** Aborted on cancel or abandonment: the engine execution stops. */
  private readonly abort = new AbortController();
  private isCompleted = false;
  private finalHeaders: AnswerHeaders | undefined;

  constructor(init: { id: string; slug: string; sql: string; user: string; context: TrinoContext; authorization: string | undefined; nowMs: number }) {
    this.id = init.id;
    this.slug = init.slug;
    this.sql = init.sql;
    this.user = init.user;
    this.context = init.context;
    this.authorization = init.authorization;
    this.createdAtMs = init.nowMs;
    this.seenAtMs = init.nowMs;
  }

  // ---- what it is ------------------------------------------------------------------------------

  /** Stops the engine execution of its answer (on cancel or abandonment). */
  get signal(): AbortSignal {
    return this.abort.signal;
  }
  get lastSeenAtMs(): number {
    return this.seenAtMs;
  }
  /** Its run, once begun: resolves when the answer's stream exists (or open failed). */
  get run(): Promise<void> | undefined {
    return this.running;
  }
  get stream(): PageStream | undefined {
    return this.answer;
  }
  /** Its last page (FINISHED or FAILED) was served: it no longer counts against the bounds. */
  get completed(): boolean {
    return this.isCompleted;
  }
  /** Bytes of the page kept for a retried poll. */
  get keptBytes(): number {
    return this.kept?.body.length ?? 0;
  }
  /** Its error, if it failed: refused at open, over a bound, or failed while running. */
  get failure(): AppError | undefined {
    return this.error ?? this.answer?.error;
  }
  /** The next page served is its last (FINISHED or FAILED). */
  get ended(): boolean {
    return this.finishedAtMs !== undefined || this.failure !== undefined;
  }
  get headers(): AnswerHeaders | undefined {
    return this.answer ?? this.finalHeaders;
  }
  /** Its state as /v1/query/{id} tells it (FINISHED once the answer is complete, fetched or not). */
  get infoState(): QueryState {
    return this.failure ? 'FAILED' : this.isCompleted || this.answer?.done ? 'FINISHED' : this.running ? 'RUNNING' : 'QUEUED';
  }
  /**
   * Never polled since its POST (a client polls at once), or its answer is being produced (an engine slot
   * is held, or awaited) and not finished: such a query is abandoned sooner.
   */
  get busy(): boolean {
    if (this.running === undefined) return true;
    return this.answer !== undefined && !this.answer.done && this.answer.error === undefined;
  }
  /** A page's stats: time since the POST (to its end, once ended) and time queued (to its start). */
  timings(nowMs: number): { elapsedMs: number; queuedMs: number } {
    return { elapsedMs: (this.finishedAtMs ?? nowMs) - this.createdAtMs, queuedMs: (this.startedAtMs ?? nowMs) - this.createdAtMs };
  }

  // ---- polls -----------------------------------------------------------------------------------

  /** Its client asked for it (polls and lookups keep it from being abandoned). */
  seen(nowMs: number): void {
    this.seenAtMs = nowMs;
  }

  /**
   * Checks a page URI's token: the last one served is answered again as it was (a retry); the next one
   * gets a new response; an older one is gone (410), a later one unknown (404).
   */
  checkToken(kind: PageKind, raw: string): TokenCheck {
    const token = Number(raw);
    const kept = this.kept;
    if (kept && kept.kind === kind && kept.token === token) return { again: kept.body };
    const current = kind === 'queued' ? this.queuedToken : this.executingToken;
    if (!Number.isInteger(token) || token > current + 1 || token < 0) throw new AppError('NOT_FOUND', `no page ${raw}`);
    if (token <= current || (kept && kept.kind === 'executing' && kind === 'queued')) throw new AppError('GONE', `page ${raw} was replaced by a later one`);
    return { token };
  }

  /** Its last page is out: only a retry of that page (checkToken answers it) is left to ask for. */
  assertNotCompleted(): void {
    if (this.isCompleted) throw new AppError('GONE', `query ${this.id} has finished; its last page was token ${this.kept?.token ?? '-'}`);
  }

  /** Resolves when a poll of `kind` has something new to say (the first page, or the next data page), or after `timeoutMs`. */
  async waitForPage(kind: PageKind, timeoutMs: number): Promise<void> {
    await this.answer?.waitFor(kind === 'queued' ? 0 : this.dataPage, timeoutMs);
  }

  /** The POST's answer: queued, follow queued/1. */
  submittedPage(): PagePlan {
    return { state: 'QUEUED', next: { kind: 'queued', token: this.queuedToken + 1 } };
  }

  /** What a new poll of `kind` with `token` gets; takes the next data page, if that is what it gets. */
  nextPage(kind: PageKind, token: number, nowMs: number): PollAnswer {
    const failed = this.failure;
    if (kind === 'queued' && failed && RETRY_SAME_URI.has(failed.code)) return { retry: failed };
    if (failed) return { page: { state: 'FAILED', next: undefined, failure: failed } };
    const s = this.answer;
    if (kind === 'executing') return { page: s ? this.takeDataPage(s, token, nowMs) : { state: 'RUNNING', next: { kind: 'executing', token: token + 1 } } };
    if (!s || (!s.columns && !s.done)) return { page: { state: 'QUEUED', next: { kind: 'queued', token: token + 1 } } };
    // Data may come on any page: when the first page is already there (a hit), it comes now, which
    // saves the client a round trip; the executing tokens start over (executing/0 is next).
    if (s.pageCount > 0 || s.done) {
      this.executingToken = -1;
      return { page: this.takeDataPage(s, -1, nowMs) };
    }
    return { page: { state: 'RUNNING', next: { kind: 'executing', token: 0 } } };
  }

  /** The next data page if there is one, FINISHED after the last, else an empty RUNNING page. */
  private takeDataPage(s: PageStream, token: number, nowMs: number): PagePlan {
    const index = this.dataPage;
    const data = s.page(index);
    if (data !== undefined) {
      s.consumed(index);
      this.dataPage = index + 1;
    }
    const last = s.done && this.dataPage >= s.pageCount;
    if (last) this.finishedAtMs ??= nowMs;
    return {
      state: last ? 'FINISHED' : 'RUNNING',
      columns: s.columns,
      data,
      next: last ? undefined : { kind: 'executing', token: token + 1 },
      processedRows: s.rowCount,
      ...(last ? { progressPercentage: 100 } : {}),
      ...(s.update ? { updateType: s.update.type, updateCount: s.update.count } : {}),
    };
  }

  /** A new response went out for (kind, token): it is kept for a retry. Returns how many more bytes are kept. */
  servePage(kind: PageKind, token: number, body: Buffer): number {
    const delta = body.length - this.keptBytes;
    this.kept = { kind, token, body };
    if (kind === 'queued') this.queuedToken = token;
    else this.executingToken = token;
    return delta;
  }

  // ---- its run ---------------------------------------------------------------------------------

  /** QUEUED -> STARTING: `start` opens the answer (called once, after the start is stamped). */
  begin(nowMs: number, start: () => Promise<void>): Promise<void> {
    this.startedAtMs = nowMs;
    this.running = start();
    return this.running;
  }

  /** STARTING -> RUNNING: its answer's pages, as they come. */
  attach(stream: PageStream): void {
    this.answer = stream;
  }

  /** -> FAILED: refused at open, or over a bound (then halt it too). */
  fail(err: AppError, nowMs: number): void {
    this.error = err;
    this.finishedAtMs = nowMs;
  }

  /** Stops its engine execution and fails its answer's stream. */
  halt(err: AppError): void {
    this.abort.abort(err);
    this.answer?.fail(err);
  }

  /** FAILED (admission refused it) -> QUEUED: its run is forgotten; detach its stream first. */
  reset(): void {
    this.running = undefined;
    this.error = undefined;
    this.startedAtMs = undefined;
    this.finishedAtMs = undefined;
  }

  /** Lets go of its answer's stream (the registry stops counting its pages); returns it, if there was one. */
  detach(): PageStream | undefined {
    const s = this.answer;
    this.answer = undefined;
    return s;
  }

  /** FINISHED or FAILED, its page out -> completed: keeps what a retried last page needs; detach its stream after. */
  complete(): void {
    if (this.answer) {
      this.finalHeaders = { cacheStatus: this.answer.cacheStatus, sessionHeaders: this.answer.sessionHeaders, ageSeconds: this.answer.ageSeconds };
      this.error ??= this.answer.error;
    }
    this.isCompleted = true;
  }

  /** -> cancelled: halts it and drops its kept page (the registry forgets it). */
  cancel(err: AppError): void {
    this.halt(err);
    this.kept = undefined;
  }
}
