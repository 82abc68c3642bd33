// Why: admission control in front of the engine. A burst of misses must not become a burst of engine
// executions: at most `maxGlobal` run at once and at most `maxPerUser` for one user; the rest wait in a
// bounded FIFO queue, and only a full queue (or a wait past `maxWaitMs`) is refused, with Retry-After.
//
//   acquire ──slot free──> running ──release()──> (next waiter that fits is started)
//      └──no slot──> queued ──slot──> running
//                      ├──queue full────────> QUEUE_FULL (429)
//                      └──maxWaitMs/abort───> QUEUE_TIMEOUT (429) / abort reason

import { AppError } from '../shared/errors.ts';

export interface AdmissionOptions {
  maxGlobal: number;
  maxPerUser: number;
  maxQueued: number;
  maxWaitMs: number;
}

interface Waiter {
  user: string;
  start: () => void;
  fail: (err: unknown) => void;
}

export type Release = () => void;

export class Admission {
  private running = 0;
  private readonly runningByUser = new Map<string, number>();
  private readonly queue: Waiter[] = [];
  private readonly opts: AdmissionOptions;

  constructor(opts: AdmissionOptions) {
    this.opts = opts;
  }

  get runningCount(): number {
    return this.running;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  private fits(user: string): boolean {
    return this.running < this.opts.maxGlobal && (this.runningByUser.get(user) ?? 0) < this.opts.maxPerUser;
  }

  private take(user: string): Release {
    this.running++;
    this.runningByUser.set(user, (this.runningByUser.get(user) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      const left = (this.runningByUser.get(user) ?? 1) - 1;
      if (left === 0) this.runningByUser.delete(user);
      else this.runningByUser.set(user, left);
      this.drain();
    };
  }

  /** Start every queued waiter that now fits, oldest first (a user at its limit does not block others). */
  private drain(): void {
    for (let i = 0; i < this.queue.length && this.running < this.opts.maxGlobal; ) {
      const w = this.queue[i]!;
      if (this.fits(w.user)) {
        this.queue.splice(i, 1);
        w.start();
      } else i++;
    }
  }

  private retryAfterSeconds(): string {
    return String(Math.max(1, Math.ceil(this.opts.maxWaitMs / 1000 / 2)));
  }

  /** Resolves with a release function once the query may run. Always call release exactly once. */
  acquire(user: string, signal?: AbortSignal): Promise<Release> {
    if (this.queue.length === 0 && this.fits(user)) return Promise.resolve(this.take(user));
    if (this.queue.length >= this.opts.maxQueued) {
      return Promise.reject(new AppError('QUEUE_FULL', undefined, { headers: { 'retry-after': this.retryAfterSeconds() } }));
    }
    return new Promise<Release>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        user,
        start: () => {
          cleanup();
          resolve(this.take(user));
        },
        fail: (err) => {
          cleanup();
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(err);
        },
      };
      const timer = setTimeout(
        () => waiter.fail(new AppError('QUEUE_TIMEOUT', undefined, { headers: { 'retry-after': this.retryAfterSeconds() } })),
        this.opts.maxWaitMs,
      );
      const onAbort = () => waiter.fail(signal?.reason ?? new AppError('QUERY_CANCELLED'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }
}
