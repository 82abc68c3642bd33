// Why: how many replicas a model should have. From what the batcher sees (the arrival rate, what one
// replica serves at the model's full batch, the queue, recent SLO misses): grow at once when the load
// needs more replicas than run or requests miss their deadline with a backlog; shrink one at a time,
// only after the load has wanted fewer for a while (a replica lost is a GPU share given back, a
// replica added takes a placement). Pure: the caller passes the time and the measurements.

export interface AutoscaleOptions {
  minReplicas: number;
  maxReplicas: number;
  /** The share of a replica's full-batch capacity each replica is planned to carry (default 0.7). */
  targetUtilization?: number;
  /** How long the load must want fewer replicas before one is removed, ms (default 60 s). */
  scaleDownDelayMs?: number;
}

export interface AutoscaleInput {
  nowMs: number;
  /** Replicas running or asked for now. */
  replicas: number;
  arrivalRowsPerMs: number;
  /** Rows per ms one replica serves at the model's maximum batch. */
  replicaRowsPerMs: number;
  /** Rows waiting in the queue. */
  queuedRows: number;
  maxBatchSize: number;
  /** Requests that missed their deadline since the last decision. */
  recentMisses: number;
}

export class Autoscaler {
  private readonly o: Required<AutoscaleOptions>;
  private wantFewerSinceMs: number | undefined;

  constructor(o: AutoscaleOptions) {
    if (!(o.minReplicas >= 0 && o.maxReplicas >= Math.max(1, o.minReplicas))) throw new RangeError('autoscaling needs 0 <= minReplicas <= maxReplicas, maxReplicas >= 1');
    this.o = { targetUtilization: 0.7, scaleDownDelayMs: 60_000, ...o };
  }

  /** The replica count to have now. */
  desired(i: AutoscaleInput): number {
    const byLoad = Math.ceil(i.arrivalRowsPerMs / (i.replicaRowsPerMs * this.o.targetUtilization) - 1e-9);
    const backlogged = i.queuedRows > i.maxBatchSize * Math.max(1, i.replicas);
    let want = Math.max(this.o.minReplicas, Math.min(this.o.maxReplicas, byLoad));
    if (i.recentMisses > 0 && backlogged) want = Math.max(want, Math.min(this.o.maxReplicas, i.replicas + 1));
    if (want >= i.replicas) {
      this.wantFewerSinceMs = undefined;
      return want;
    }
    // Fewer wanted: one at a time, after the delay.
    this.wantFewerSinceMs ??= i.nowMs;
    if (i.nowMs - this.wantFewerSinceMs < this.o.scaleDownDelayMs) return i.replicas;
    this.wantFewerSinceMs = i.nowMs;
    return i.replicas - 1;
  }
}
