// Why: one active scheduler at a time. Every replica campaigns (by default for the leader key in Redis:
// the JobStore; on Kubernetes optionally for a Lease, kubernetes/lease-campaign.ts); the winner gets a
// new epoch (the fencing token its writes carry, so a paused old leader's writes are refused) and renews
// every ttl/3. A replica believes it leads only until its last successful renewal plus the TTL minus a
// margin, so a partitioned leader stops acting before another can take over.
import type { Fence } from './store.ts';

/**
 * How a replica campaigns. acquireLeader: takes or renews leadership for `ttlMs`; the epoch it leads
 * with, which must be the fencing token the store's scripts check, or 0 when another owner leads.
 * resignLeader: gives it up and tells the others. (JobStore is one: the Redis election.)
 */
export interface Campaign {
  acquireLeader(owner: string, ttlMs: number): Promise<number>;
  resignLeader(owner: string): Promise<unknown>;
}

export interface LeaderElectorOptions {
  campaign: Campaign;
  owner: string;
  ttlMs: number;
  now?: () => number;
}

/** Told when this replica gains (a fence) or loses (undefined) leadership. */
export type LeadershipListener = (fence: Fence | undefined) => void;

export class LeaderElector {
  private readonly opts: LeaderElectorOptions;
  private readonly now: () => number;
  private fenceHeld: Fence | undefined;
  private validUntilMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly listeners = new Set<LeadershipListener>();

  constructor(opts: LeaderElectorOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Registers `listener` for every later gain or loss of leadership (so whoever reacts to it, such as
   * the scheduling loop or the metrics, is built after the elector and subscribes itself); returns
   * the unsubscribe.
   */
  onChange(listener: LeadershipListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private tell(fence: Fence | undefined): void {
    for (const l of [...this.listeners]) l(fence);
  }

  /** The fencing token while this replica leads (and its lease is surely still its own). */
  fence(): Fence | undefined {
    if (this.fenceHeld !== undefined && this.now() >= this.validUntilMs) this.lose();
    return this.fenceHeld;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** The leader resigned (an event): campaign now instead of at the next renewal. */
  poke(): void {
    if (this.stopped || this.fenceHeld !== undefined) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    void this.tick();
  }

  /** One acquire-or-renew round (also called by tests to step the election). */
  async tick(): Promise<void> {
    const started = this.now();
    let failed = false;
    try {
      const epoch = await this.opts.campaign.acquireLeader(this.opts.owner, this.opts.ttlMs);
      if (epoch > 0) {
        // Count the TTL from before the call: the key may have been set at any point during it.
        this.validUntilMs = started + this.opts.ttlMs - Math.min(1000, this.opts.ttlMs / 5);
        if (this.fenceHeld?.epoch !== epoch) {
          this.fenceHeld = { owner: this.opts.owner, epoch };
          this.tell(this.fenceHeld);
        }
      } else this.lose();
    } catch {
      // Redis (or the API server) unreachable, or not connected yet: keep the belief only until validUntil (fence()
      // checks it), and try again soon rather than a third of the TTL later.
      failed = true;
    }
    if (!this.stopped) {
      const renewMs = Math.max(50, Math.floor(this.opts.ttlMs / 3));
      this.timer = setTimeout(() => void this.tick(), failed ? Math.min(250, renewMs) : renewMs);
      this.timer.unref();
    }
  }

  private lose(): void {
    if (this.fenceHeld === undefined) return;
    this.fenceHeld = undefined;
    this.tell(undefined);
  }

  /** Stops electing; resigns when leading so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.fenceHeld !== undefined) {
      this.lose();
      await this.opts.campaign.resignLeader(this.opts.owner).catch(() => 0);
    }
  }
}
