// Why: the two ports the answer pipeline reaches the cache store through (STYLE.md: shaped by what the
// core needs, not by Redis): a ResultStore of entries (lookup, store, invalidate, the versions a fill
// stores against) and FlightSignals, single-flight's cross-replica signals (a lock per key, its
// renewal and release, and "done" published to the other replicas). TieredStore is the ResultStore,
// RedisCacheStore the FlightSignals; SingleFlight depends on these interfaces only.
import type { CachedEntry } from './entry.ts';
import type { FillVersions, FlightDone, Invalidation } from './redis-store.ts';

export type Tier = 'l1' | 'l2';

export interface ResultStore {
  /** Redis answers: lookups and stores can work. */
  available(): boolean;
  /** The invalidation channel is proven alive (L1 is in use, and a "done" message can arrive). */
  invalidationChannelUp(): boolean;
  /** The entry and the tier it came from; undefined when there is none. Rejects when Redis fails. */
  lookup(hash: string): Promise<{ entry: CachedEntry; tier: Tier } | undefined>;
  /** Stores unless something it depends on was invalidated since `versionsAtStart` were read. */
  store(hash: string, entry: CachedEntry, versionsAtStart: FillVersions): Promise<{ stored: boolean; bytes: number }>;
  invalidate(inv: Invalidation): Promise<number>;
  /** The versions a fill reads before it runs, to store against (see store). */
  versions(principal: string | undefined, tables: readonly string[] | undefined): Promise<FillVersions>;
}

export interface FlightSignals {
  /** Takes the key's lock for `owner` for `ttlMs`; false when another owner holds it. */
  tryLock(hash: string, owner: string, ttlMs: number): Promise<boolean>;
  extendLock(hash: string, owner: string, ttlMs: number): Promise<boolean>;
  releaseLock(hash: string, owner: string): Promise<void>;
  /** Tells every replica's waiters that the key's flight ended (stored, not stored, or failed). */
  publishDone(done: FlightDone): Promise<void>;
  /** Hears every replica's "done" messages; returns the unsubscribe. */
  onDone(listener: (done: FlightDone) => void): () => void;
}
