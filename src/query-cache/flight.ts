// Why: single-flight. N identical concurrent misses must cause one engine execution, in one replica
// (a shared promise) and across replicas (a Redis lock; the others wait for the holder's "done"
// message and read its entry from Redis). Errors reach every waiter; nothing is stored after one.
// While the event channel is silent (no "done" may come), a waiter looks in Redis every 250 ms instead.
//
//   miss ─> local flight? ──yes──> await it (collapsed)
//             └─no─> register remote waiter ─> tryLock ──won──> run fill, store, publish done, unlock
//                                                └─lost─> entry in L2 already? ─> use it (collapsed)
//                                                          └─> await done ─ok+stored─> read L2 (collapsed)
//                                                                       ├─error──────> throw it
//                                                                       └─not stored / timeout ─> try again

import { randomUUID } from 'node:crypto';
import { AppError, type ErrorCode } from '../shared/errors.ts';
import type { CachedEntry } from './store/entry.ts';
import type { FlightSignals, ResultStore } from './store/ports.ts';
import type { FlightDone, FlightError } from './store/redis-store.ts';

const SKIPPED = new Error('background refresh skipped: another replica holds the lock');
/**
 * Errors of the holder's own making, not of the query: its client cancelled, or read its answer too
 * slowly. A waiter then tries to lead instead of inheriting them. (A full admission queue is the
 * server's state, not the holder's: it is passed on.)
 */
export const HOLDER_ERRORS: ReadonlySet<string> = new Set(['QUERY_CANCELLED', 'CLIENT_TOO_SLOW']);
/** While the event channel is silent no "done" may arrive: look in Redis this often instead. */
const SILENT_CHANNEL_POLL_MS = 250;

export interface FillOutcome {
  /** The answer's bytes (and meta when it was stored or read back from the store). */
  entry: CachedEntry;
  stored: boolean;
  /** Why it was not stored, when it was not. */
  notStoredReason?: 'too-large' | 'invalidated' | 'cache-unavailable' | 'session-change';
  sessionHeaders?: Record<string, string[]>;
  /** This caller waited for another's execution. */
  collapsed: boolean;
}

/** The leader's work: execute, render, store (when allowed). Runs at most once per key at a time. */
export type Fill = () => Promise<Omit<FillOutcome, 'collapsed'>>;

/** A flight of this replica: what waiters share, when it has fully ended, and whether its fill is done. */
interface LocalFlight {
  shared: Promise<FillOutcome>;
  ended: Promise<void>;
  filled: boolean;
}

export interface FlightOptions {
  lockTtlMs: number;
  /** Upper bound on waiting for other replicas before executing without the lock. */
  maxWaitMs: number;
  /** Clock of the waiting deadline (ms; default Date.now). */
  now?: () => number;
}

export class SingleFlight {
  private readonly local = new Map<string, LocalFlight>();
  private readonly remoteWaiters = new Map<string, Set<(done: FlightDone) => void>>();
  private readonly owner = randomUUID();
  private readonly store: Pick<ResultStore, 'lookup' | 'invalidationChannelUp'>;
  private readonly signals: FlightSignals;
  private readonly opts: FlightOptions;
  private readonly now: () => number;
  private readonly unsubscribe: () => void;

  /** `store`: where an entry another replica stored is read; `signals`: the lock and "done" messages. */
  constructor(store: Pick<ResultStore, 'lookup' | 'invalidationChannelUp'>, signals: FlightSignals, opts: FlightOptions) {
    this.store = store;
    this.signals = signals;
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.unsubscribe = signals.onDone((done) => this.onDone(done));
  }

  /** Stops hearing "done" messages (the app is closing). */
  close(): void {
    this.unsubscribe();
  }

  private onDone(done: FlightDone): void {
    const set = this.remoteWaiters.get(done.key);
    if (set) for (const w of [...set]) w(done);
  }

  isInFlight(hash: string): boolean {
    return this.local.has(hash);
  }

  /**
   * Run `fill` once for `hash` across all replicas. With `waitForOthers` false (a background
   * refresh) it returns undefined when another replica already holds the lock. `usable` says whether an
   * entry found in the store while waiting may stand in for our own run (fresh enough, new enough).
   * Only requests that arrive while the fill runs share it: one that comes once the fill is done (its
   * answer may predate an invalidation this request has seen) waits for the flight to end, then runs anew.
   */
  run(hash: string, fill: Fill, waitForOthers = true, usable: (entry: CachedEntry) => boolean = () => true): Promise<FillOutcome | undefined> {
    const existing = this.local.get(hash);
    if (existing) {
      if (existing.filled) return existing.ended.then(() => this.run(hash, fill, waitForOthers, usable));
      // A skipped background refresh leaves nothing to share: then lead (or wait) ourselves.
      return existing.shared.then(
        (o) => ({ ...o, collapsed: true }),
        (err: unknown) => (err === SKIPPED ? this.run(hash, fill, waitForOthers, usable) : Promise.reject(err)),
      );
    }
    const flight: LocalFlight = { shared: Promise.resolve() as never, ended: Promise.resolve(), filled: false };
    const p = this.acrossReplicas(hash, () => fill().finally(() => (flight.filled = true)), waitForOthers, usable);
    flight.shared = p.then((o) => o ?? Promise.reject(SKIPPED));
    flight.shared.catch(() => {});
    flight.ended = p.then(
      () => {},
      () => {},
    ).finally(() => {
      if (this.local.get(hash) === flight) this.local.delete(hash);
    });
    this.local.set(hash, flight);
    return p;
  }

  private async acrossReplicas(hash: string, fill: Fill, waitForOthers: boolean, usable: (entry: CachedEntry) => boolean): Promise<FillOutcome | undefined> {
    const deadline = this.now() + this.opts.maxWaitMs;
    while (this.now() < deadline) {
      const waiter = this.registerWaiter(hash);
      try {
        let locked: boolean;
        try {
          locked = await this.signals.tryLock(hash, this.owner, this.opts.lockTtlMs);
        } catch {
          return { ...(await fill()), collapsed: false }; // Redis failing: run alone; the fill will not store
        }
        if (locked) return { ...(await this.asLeader(hash, fill)), collapsed: false };
        if (!waitForOthers) return undefined;
        const already = await this.store.lookup(hash).catch(() => undefined);
        if (already && usable(already.entry)) return { entry: already.entry, stored: true, collapsed: true };
        const pollMs = this.store.invalidationChannelUp() ? this.opts.lockTtlMs : SILENT_CHANNEL_POLL_MS;
        const done = await waiter.wait(Math.min(this.opts.lockTtlMs, pollMs, Math.max(1, deadline - this.now())));
        if (done?.ok === false && !HOLDER_ERRORS.has(done.error.code)) throw remoteError(done.error);
        if (done?.ok && done.stored) {
          const found = await this.store.lookup(hash).catch(() => undefined);
          if (found && usable(found.entry)) return { entry: found.entry, stored: true, collapsed: true };
        }
        // Not stored (too large, invalidated), the holder cancelled or gone, or the entry evicted: try to lead.
      } finally {
        waiter.cancel();
      }
    }
    return { ...(await fill()), collapsed: false };
  }

  private async asLeader(hash: string, fill: Fill): Promise<Omit<FillOutcome, 'collapsed'>> {
    const renew = setInterval(
      () => void this.signals.extendLock(hash, this.owner, this.opts.lockTtlMs).catch(() => {}),
      Math.max(50, Math.floor(this.opts.lockTtlMs / 3)),
    );
    try {
      const outcome = await fill();
      await this.signals.publishDone({ key: hash, ok: true, stored: outcome.stored }).catch(() => {});
      return outcome;
    } catch (err) {
      await this.signals.publishDone({ key: hash, ok: false, error: toFlightError(err) }).catch(() => {});
      throw err;
    } finally {
      clearInterval(renew);
      await this.signals.releaseLock(hash, this.owner).catch(() => {});
    }
  }

  private registerWaiter(hash: string): { wait: (ms: number) => Promise<FlightDone | undefined>; cancel: () => void } {
    let resolve: (d: FlightDone | undefined) => void = () => {};
    const got = new Promise<FlightDone | undefined>((r) => (resolve = r));
    const listener = (d: FlightDone) => resolve(d);
    let set = this.remoteWaiters.get(hash);
    if (!set) this.remoteWaiters.set(hash, (set = new Set()));
    set.add(listener);
    let timer: NodeJS.Timeout | undefined;
    return {
      wait: (ms) => {
        timer = setTimeout(() => resolve(undefined), ms);
        return got;
      },
      cancel: () => {
        clearTimeout(timer);
        set.delete(listener);
        if (set.size === 0 && this.remoteWaiters.get(hash) === set) this.remoteWaiters.delete(hash);
      },
    };
  }
}

function toFlightError(err: unknown): FlightError {
  if (err instanceof AppError) return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  return { code: 'INTERNAL', message: 'internal error' };
}

function remoteError(e: FlightError): AppError {
  return new AppError(e.code as ErrorCode, e.message, e.details ? { details: e.details } : {});
}
