// Why: a password check costs a scrypt (tens of ms of a core and 16 MiB); a stranger must not be able to
// make hotpath pay for them without bound. FailureBudget limits wrong passwords per key (a user name, a
// client address); VerificationGate bounds the checks running at once and the ones waiting.

import { LRUCache } from 'lru-cache';

interface Bucket {
  /** Failures still allowed, fractional while refilling. */
  tokens: number;
  atMs: number;
}

/**
 * A token bucket per key: `failuresPerMinute` failures at once, refilled continuously at that rate.
 * A failure's token is taken before the (slow) check, so concurrent guesses cannot all slip through,
 * and given back when the check succeeds. Time is an argument (a monotonic clock in ms), so this is
 * pure apart from its own memory: at most `maxKeys` buckets, least recently used forgotten first (a
 * forgotten bucket is a full one), and a full bucket is not stored.
 */
export class FailureBudget {
  readonly failuresPerMinute: number;
  private readonly perMs: number;
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(opts: { failuresPerMinute: number; maxKeys: number }) {
    if (!(opts.failuresPerMinute > 0)) throw new TypeError(`expected opts.failuresPerMinute to be positive, got ${opts.failuresPerMinute}`);
    this.failuresPerMinute = opts.failuresPerMinute;
    this.perMs = opts.failuresPerMinute / 60_000;
    this.buckets = new LRUCache({ max: opts.maxKeys });
  }

  private level(key: string, nowMs: number): number {
    const b = this.buckets.get(key);
    if (!b) return this.failuresPerMinute;
    return Math.min(this.failuresPerMinute, b.tokens + Math.max(0, nowMs - b.atMs) * this.perMs);
  }

  /** 0 when `key` may fail once more now, else the ms until it may. */
  waitMs(key: string, nowMs: number): number {
    const tokens = this.level(key, nowMs);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.perMs);
  }

  /** Spend one failure (call only after waitMs said 0). */
  take(key: string, nowMs: number): void {
    this.buckets.set(key, { tokens: this.level(key, nowMs) - 1, atMs: nowMs });
  }

  /** Return a token taken for a check that did not fail (right password, or never run). */
  giveBack(key: string, nowMs: number): void {
    const tokens = this.level(key, nowMs) + 1;
    if (tokens >= this.failuresPerMinute) this.buckets.delete(key);
    else this.buckets.set(key, { tokens, atMs: nowMs });
  }
}

export const GATE_FULL = Symbol('gate full');

/**
 * At most `maxRunning` tasks at once and `maxQueued` waiting (FIFO); a task beyond both is not run and
 * answers GATE_FULL at once, so a flood meets a bounded queue instead of an unbounded one.
 */
export class VerificationGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly maxRunning: number;
  private readonly maxQueued: number;

  constructor(opts: { maxRunning: number; maxQueued: number }) {
    this.maxRunning = opts.maxRunning;
    this.maxQueued = opts.maxQueued;
  }

  async run<T>(task: () => Promise<T>): Promise<T | typeof GATE_FULL> {
    if (this.running < this.maxRunning) this.running++;
    else if (this.waiting.length < this.maxQueued) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else return GATE_FULL;
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter (running stays the same), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
