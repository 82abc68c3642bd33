// Why: a Trino-door answer as its pages become available. A hit is complete at once; a miss is fed by
// the engine page by page while the client polls, so a large result is never held whole: the producer
// waits when it is `maxPagesAhead` pages ahead of the client, and pages the client moved past are let go.
//
//   open ──setColumns──> pages pushed … ──finish(status)──> done
//     └──────────────────────────────────fail(err)──────> failed

import type { AppError } from '../shared/errors.ts';

export class PageStream {
  columns: Buffer | undefined;
  /** Pages by index; entries the client moved past are released (undefined). */
  private readonly pages: (Buffer | undefined)[] = [];
  done = false;
  error: AppError | undefined;
  cacheStatus: string;
  sessionHeaders: Record<string, string[]> | undefined;
  rowCount = 0;
  private consumedUpTo = -1;
  private wakeConsumers: (() => void)[] = [];
  private wakeProducer: (() => void) | undefined;
  private readonly maxPagesAhead: number;

  constructor(cacheStatus: string, maxPagesAhead = 2) {
    this.cacheStatus = cacheStatus;
    this.maxPagesAhead = maxPagesAhead;
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
    this.wake();
  }

  /** Add a page (the producer keeps rowCount); resolves when the client is close enough behind to accept more. */
  async push(page: Buffer): Promise<void> {
    this.pages.push(page);
    this.wake();
    while (!this.done && this.error === undefined && this.pages.length - 1 - this.consumedUpTo > this.maxPagesAhead) {
      await new Promise<void>((resolve) => (this.wakeProducer = resolve));
    }
  }

  /** Add the remaining pages of an answer that is already complete, and finish. */
  appendComplete(pages: readonly Buffer[], rowCount: number, cacheStatus: string): void {
    this.pages.push(...pages);
    this.rowCount = rowCount;
    this.finish(cacheStatus);
  }

  finish(cacheStatus: string): void {
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
    for (let i = Math.max(0, this.consumedUpTo); i <= index; i++) this.pages[i] = undefined;
    this.consumedUpTo = index;
    const w = this.wakeProducer;
    this.wakeProducer = undefined;
    w?.();
  }

  /** Resolves when page `index` exists, the stream ended or failed, or `timeoutMs` passed. */
  async waitFor(index: number, timeoutMs: number): Promise<void> {
    if (index < this.pages.length || this.done || this.error || timeoutMs <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
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
