// Why: an answer as its pages become available, the one shape both doors consume (the JSON door writes
// the pages out as one document, the Trino door hands them to polls). A hit is complete at once; a miss is
// fed by the engine page by page, so a large result is never held whole: the producer waits when it is
// `maxPagesAhead` pages ahead of the consumer, and pages the consumer moved past are let go.
//
//   open ──setColumns──> pages pushed … ──finish(status)──> done
//     └──────────────────────────────────fail(err)──────> failed

import type { StatementUpdate } from './engines/engine.ts';
import type { AppError } from '../shared/errors.ts';

export interface PageStreamOptions {
  maxPagesAhead?: number;
  /** Nobody reads it (a background refresh): pages are dropped as they come and the producer never waits. */
  discard?: boolean;
}

export class PageStream {
  columns: Buffer | undefined;
  /** Pages by index; entries the client moved past are released (undefined). */
  private readonly pages: (Buffer | undefined)[] = [];
  done = false;
  error: AppError | undefined;
  cacheStatus: string;
  sessionHeaders: Record<string, string[]> | undefined;
  /** The engine said the statement is not a query (Trino's updateType): the Trino door's pages say so. */
  update: StatementUpdate | undefined;
  rowCount = 0;
  /** Seconds since the stored entry was written, for an answer from the cache. */
  ageSeconds: number | undefined;
  /** Bytes of pages held (pushed, not yet released). */
  bytesHeld = 0;
  /** Told of every change of `bytesHeld` (a registry bounding what idle queries hold). */
  onBytes: ((delta: number) => void) | undefined;
  private consumedUpTo = -1;
  private wakeConsumers: (() => void)[] = [];
  private wakeProducer: (() => void) | undefined;
  private readonly maxPagesAhead: number;
  private readonly discard: boolean;

  constructor(cacheStatus: string, opts: PageStreamOptions = {}) {
    this.cacheStatus = cacheStatus;
    this.maxPagesAhead = opts.maxPagesAhead ?? 2;
    this.discard = opts.discard ?? false;
  }

  get pageCount(): number {
    return this.pages.length;
  }

  page(index: number): Buffer | undefined {
    return this.pages[index];
  }

  setColumns(columns: Buffer): void {
    // A copy: on a hit the columns are a view into the whole cached answer, which a finished query
    // (kept a few minutes for late polls) must not hold alive.
    this.columns ??= Buffer.from(columns);
  }

  private held(delta: number): void {
    this.bytesHeld += delta;
    this.onBytes?.(delta);
  }

  /**
   * Add a page (the producer keeps rowCount); resolves when the client is close enough behind to accept
   * more, or at once when `signal` aborts (the client went away, the time limit passed: the producer stops),
   * or at once with `noWait` (the producer keeps the pages anyway, within its own bound).
   */
  async push(page: Buffer, signal?: AbortSignal, noWait = false): Promise<void> {
    if (this.discard) return;
    this.pages.push(page);
    this.held(page.length);
    this.wake();
    while (!noWait && !this.done && this.error === undefined && signal?.aborted !== true && this.pages.length - 1 - this.consumedUpTo > this.maxPagesAhead) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.wakeProducer = wake;
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** Add the remaining pages of an answer that is already complete, and finish. */
  appendComplete(pages: readonly Buffer[], rowCount: number, cacheStatus: string): void {
    this.pages.push(...pages);
    this.held(pages.reduce((n, p) => n + p.length, 0));
    this.rowCount = rowCount;
    this.finish(cacheStatus);
  }

  finish(cacheStatus: string): void {
    if (this.error !== undefined) return;
    this.cacheStatus = cacheStatus;
    this.done = true;
    this.wake();
  }

  fail(err: AppError): void {
    if (this.done) return;
    this.error = err;
    this.wake();
    const w = this.wakeProducer;
    this.wakeProducer = undefined;
    w?.();
  }

  /**
   * The client has page `index`: the producer may run ahead again, and pages up to it are released
   * (a retried GET is answered from the response kept with the query, not from here).
   */
  consumed(index: number): void {
    if (index <= this.consumedUpTo) return;
    let released = 0;
    for (let i = Math.max(0, this.consumedUpTo); i <= index; i++) {
      released += this.pages[i]?.length ?? 0;
      this.pages[i] = undefined;
    }
    if (released > 0) this.held(-released);
    this.consumedUpTo = index;
    const w = this.wakeProducer;
    this.wakeProducer = undefined;
    w?.();
  }

  /** Let go of every page (the query is gone): what it held no longer counts. */
  release(): void {
    if (this.pages.length > 0) this.consumed(this.pages.length - 1);
  }

  /** Resolves when page `index` exists, the stream ended or failed, or `timeoutMs` passed. */
  async waitFor(index: number, timeoutMs: number): Promise<void> {
    if (index < this.pages.length || this.done || this.error || timeoutMs <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    let woken: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      woken = resolve;
      timer = setTimeout(() => {
        // timed out: do not leave this waiter behind for the next wake
        this.wakeConsumers = this.wakeConsumers.filter((w) => w !== woken);
        resolve();
      }, timeoutMs);
      this.wakeConsumers.push(resolve);
    });
    clearTimeout(timer);
  }

  private wake(): void {
    const waiting = this.wakeConsumers;
    this.wakeConsumers = [];
    for (const w of waiting) w();
  }
}
