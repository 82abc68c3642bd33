// Why: a replica's L1 is only as fresh as its invalidation subscription, and a half-open connection
// (no reset; the socket still says "ready") delivers nothing while looking healthy. So the subscription
// must keep proving itself: the replica publishes a heartbeat stamped with its send time every
// `heartbeatIntervalMs` (H) and serves L1 only while its latest proof is younger than `maxSilenceMs` (B).
//
// Why a proof bounds staleness: Redis delivers pub/sub messages to one subscriber in publish order, so a
// heartbeat sent at s that came back means every invalidation published before s has arrived too; a
// (re)subscribe that began at s, followed by an L1 flush, is as good. Serving L1 at t needs t - s < B,
// so an invalidated entry is served from L1 for less than B after its invalidation was published.
//
//            proof (resubscribed, or own heartbeat back, sent < B ago)
//   silent ───────────────────────────────────────────────> alive
//     ^  └─ every B while silent: reconnect()                 │
//     └──────────── no proof for B: onDown (once) ────────────┘
//
// Starts silent; the first lapse (B after start with no proof) also calls onDown. Times are this
// process's monotonic clock (performance.now), so heartbeats compare only with themselves.

export interface ChannelLivenessOptions {
  heartbeatIntervalMs: number;
  maxSilenceMs: number;
  /** Publish a heartbeat carrying `sentAtMs` on the channel, through the command connection. */
  publishHeartbeat: (sentAtMs: number) => Promise<unknown>;
  /** The proof lapsed: L1 must go (it may hold invalidated entries). `silentMs`: since the last proof or start. */
  onDown: (silentMs: number) => void;
  /** Proven alive again after onDown; `downForMs` since onDown. */
  onUp: (downForMs: number) => void;
  /** Still silent at a lapse (and every B after): replace the subscriber with a fresh connection. */
  reconnect: () => void;
  now?: () => number;
}

export class ChannelLiveness {
  private readonly opts: ChannelLivenessOptions;
  readonly now: () => number;
  private readonly startedAtMs: number;
  private lastProofMs = Number.NEGATIVE_INFINITY;
  /** Subscribed, and the generation re-read since: only then does a heartbeat prove anything. */
  private subscribed = false;
  /** Set at onDown, cleared at onUp. */
  private downSinceMs: number | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lapseTimer: NodeJS.Timeout | undefined;

  constructor(opts: ChannelLivenessOptions) {
    this.opts = opts;
    this.now = opts.now ?? (() => performance.now());
    this.startedAtMs = this.now();
  }

  start(): void {
    this.heartbeatTimer = setInterval(() => void this.opts.publishHeartbeat(this.now()).catch(() => {}), this.opts.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
    this.armLapse(this.opts.maxSilenceMs);
  }

  stop(): void {
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.lapseTimer);
  }

  /** Exact: may L1 be used at `now`? */
  isUp(now = this.now()): boolean {
    return this.subscribed && now - this.lastProofMs < this.opts.maxSilenceMs;
  }

  /** How long the channel has been without proof (since start when never proven). */
  silentMs(now = this.now()): number {
    return now - Math.max(this.lastProofMs, this.startedAtMs);
  }

  /** The subscription is (re)established and the generation re-read; it began at `sinceMs`. */
  subscribedSince(sinceMs: number): void {
    this.subscribed = true;
    this.prove(sinceMs);
  }

  /** The subscriber connection closed or was replaced: nothing it delivered from now on counts. */
  unsubscribed(): void {
    this.subscribed = false;
  }

  /** This replica's own heartbeat, sent at `sentAtMs`, came back through the subscription. */
  heartbeatBack(sentAtMs: number): void {
    if (this.subscribed) this.prove(sentAtMs);
  }

  private prove(atMs: number): void {
    if (atMs > this.lastProofMs) this.lastProofMs = atMs;
    const now = this.now();
    // A heartbeat held up in the network for longer than B proves nothing about now.
    if (!this.isUp(now)) return;
    if (this.downSinceMs !== undefined) {
      const downForMs = now - this.downSinceMs;
      this.downSinceMs = undefined;
      this.opts.onUp(downForMs);
    }
    this.armLapse(this.lastProofMs + this.opts.maxSilenceMs - now);
  }

  private armLapse(ms: number): void {
    clearTimeout(this.lapseTimer);
    this.lapseTimer = setTimeout(() => this.lapsed(), Math.max(1, Math.ceil(ms)));
    this.lapseTimer.unref();
  }

  private lapsed(): void {
    const now = this.now();
    if (this.isUp(now)) {
      this.armLapse(this.lastProofMs + this.opts.maxSilenceMs - now);
      return;
    }
    if (this.downSinceMs === undefined) {
      this.downSinceMs = now;
      this.opts.onDown(this.silentMs(now));
    }
    this.opts.reconnect();
    this.armLapse(this.opts.maxSilenceMs);
  }
}
