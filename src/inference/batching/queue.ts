// Why: one model's waiting requests, as Triton's dynamic batcher keeps them: priority levels (1 is the
// highest; a request's 0 means the model's default level), FIFO within a level, and a queue policy per
// level: a bounded size (beyond it the request is refused at once) and a timeout that either rejects a
// request still waiting or delays it behind the requests that have not timed out. A request larger than
// the model's maximum batch is split into parts of at most that size (each part may go to another
// replica); the request is answered when all its parts are. Pure: the caller passes the time.

export interface QueuePolicy {
  /** What happens to a request still queued at its timeout. */
  timeoutAction: 'reject' | 'delay';
  /** Default queue timeout in ms (0: none). */
  defaultTimeoutMs: number;
  /** Whether a request's own timeout (OIP `parameters.timeout`) may replace the default. */
  allowTimeoutOverride: boolean;
  /** Requests (not rows) waiting at this level at most; 0: unbounded. */
  maxQueueSize: number;
}

export interface QueueConfig {
  maxBatchSize: number;
  priorityLevels: number;
  defaultPriorityLevel: number;
  /** Per level (index 0 is level 1); a missing level uses the default policy. */
  policies: readonly QueuePolicy[];
  defaultPolicy: QueuePolicy;
}

export const NO_TIMEOUT_POLICY: QueuePolicy = { timeoutAction: 'reject', defaultTimeoutMs: 0, allowTimeoutOverride: true, maxQueueSize: 0 };

export interface Arrival {
  id: string;
  rows: number;
  arrivalMs: number;
  /** Triton's level: 1 is the highest, 0 means the default level. */
  priority: number;
  /** The request's own queue timeout in ms, if it sent one. */
  timeoutMs?: number;
  /** When its answer is due (its SLO); Infinity when it has none. */
  deadlineMs: number;
}

/** One queued part of a request. */
export interface Part {
  requestId: string;
  part: number;
  parts: number;
  rows: number;
  arrivalMs: number;
  level: number;
  deadlineMs: number;
  timeoutAtMs: number;
  delayed: boolean;
}

export type Refusal = { code: 'QUEUE_FULL' | 'BAD_PRIORITY' | 'BAD_ROWS' | 'TIMEOUT'; message: string };

export class BatchQueue {
  /** levels[l - 1]: the level's parts in arrival order. */
  private readonly levels: Part[][];
  private readonly config: QueueConfig;
  /** Parts with a finite timeout that have not timed out (so most queues never scan for timeouts). */
  private timed = 0;
  private count = 0;
  /** Per level: request id -> its parts queued there (its size is the level's requests, for maxQueueSize). */
  private readonly requests: Map<string, number>[];

  constructor(config: QueueConfig) {
    this.config = config;
    if (!(config.maxBatchSize >= 1)) throw new RangeError('maxBatchSize must be at least 1');
    if (!(config.defaultPriorityLevel >= 1 && config.defaultPriorityLevel <= config.priorityLevels)) throw new RangeError('defaultPriorityLevel must be one of the levels');
    this.levels = Array.from({ length: config.priorityLevels }, () => []);
    this.requests = Array.from({ length: config.priorityLevels }, () => new Map());
  }

  policyOf(level: number): QueuePolicy {
    return this.config.policies[level - 1] ?? this.config.defaultPolicy;
  }

  /** Queues `a` (split into parts when it is larger than a batch), or says why not. */
  enqueue(a: Arrival): Refusal | undefined {
    if (!Number.isInteger(a.rows) || a.rows < 1) return { code: 'BAD_ROWS', message: `a request has at least one row, got ${a.rows}` };
    const level = a.priority === 0 ? this.config.defaultPriorityLevel : a.priority;
    if (!Number.isInteger(level) || level < 1 || level > this.config.priorityLevels) {
      return { code: 'BAD_PRIORITY', message: `priority must be 0 (the default) or 1..${this.config.priorityLevels}, got ${a.priority}` };
    }
    const policy = this.policyOf(level);
    const queue = this.levels[level - 1]!;
    if (policy.maxQueueSize > 0 && this.requests[level - 1]!.size >= policy.maxQueueSize) {
      return { code: 'QUEUE_FULL', message: `the queue of priority level ${level} holds its maximum of ${policy.maxQueueSize} requests` };
    }
    const timeoutMs = a.timeoutMs !== undefined && a.timeoutMs > 0 && policy.allowTimeoutOverride ? a.timeoutMs : policy.defaultTimeoutMs;
    const timeoutAtMs = timeoutMs > 0 ? a.arrivalMs + timeoutMs : Infinity;
    const parts = Math.ceil(a.rows / this.config.maxBatchSize);
    for (let i = 0; i < parts; i++) {
      const rows = Math.min(this.config.maxBatchSize, a.rows - i * this.config.maxBatchSize);
      queue.push({ requestId: a.id, part: i, parts, rows, arrivalMs: a.arrivalMs, level, deadlineMs: a.deadlineMs, timeoutAtMs, delayed: false });
    }
    this.count += parts;
    if (timeoutAtMs !== Infinity) this.timed += parts;
    this.requests[level - 1]!.set(a.id, (this.requests[level - 1]!.get(a.id) ?? 0) + parts);
    return undefined;
  }

  /**
   * Applies the timeouts due by `nowMs`: parts of levels that reject are removed and their request ids
   * returned (once each); parts of levels that delay move behind that level's waiting parts.
   */
  expire(nowMs: number): string[] {
    if (this.timed === 0) return [];
    const rejected = new Set<string>();
    this.levels.forEach((queue, i) => {
      const policy = this.policyOf(i + 1);
      const keep: Part[] = [];
      const late: Part[] = [];
      for (const p of queue) {
        if (p.timeoutAtMs > nowMs || p.delayed) keep.push(p);
        else if (policy.timeoutAction === 'reject') rejected.add(p.requestId);
        else late.push({ ...p, delayed: true });
      }
      // A request rejected in one part loses its other parts too (it is answered once, with the error).
      const survivors = [...keep.filter((p) => !p.delayed), ...keep.filter((p) => p.delayed), ...late].filter((p) => !rejected.has(p.requestId));
      queue.splice(0, queue.length, ...survivors);
    });
    this.recount();
    return [...rejected];
  }

  /** The parts in the order batches take them: highest level first, FIFO, delayed ones last in their level. */
  ordered(): readonly Part[] {
    return this.levels.flat();
  }

  /** The first parts in batch order, at most `limit` of them (what a batching decision looks at). */
  head(limit: number): Part[] {
    const out: Part[] = [];
    for (const queue of this.levels) {
      for (const p of queue) {
        if (out.length >= limit) return out;
        out.push(p);
      }
    }
    return out;
  }

  /** The earliest timeout still ahead of a queued part that has not been delayed, or Infinity. */
  nextTimeoutMs(): number {
    if (this.timed === 0) return Infinity;
    let t = Infinity;
    for (const queue of this.levels) for (const p of queue) if (!p.delayed && p.timeoutAtMs < t) t = p.timeoutAtMs;
    return t;
  }

  get rows(): number {
    return this.levels.reduce((n, q) => n + q.reduce((m, p) => m + p.rows, 0), 0);
  }

  /** Parts queued. */
  get size(): number {
    return this.count;
  }

  private recount(): void {
    this.count = 0;
    this.timed = 0;
    this.levels.forEach((queue, i) => {
      const requests = this.requests[i]!;
      requests.clear();
      for (const p of queue) {
        requests.set(p.requestId, (requests.get(p.requestId) ?? 0) + 1);
        this.count++;
        if (!p.delayed && p.timeoutAtMs !== Infinity) this.timed++;
      }
    });
  }

  /**
   * Removes and returns the first parts, in order, whose rows add up to at most `maxRows` (at least one
   * part when any is queued: a part never exceeds maxBatchSize). Order is kept: a part that does not fit
   * ends the batch rather than being skipped.
   */
  take(maxRows: number): Part[] {
    const out: Part[] = [];
    let rows = 0;
    for (const queue of this.levels) {
      while (queue.length > 0 && (out.length === 0 || rows + queue[0]!.rows <= maxRows)) {
        const p = queue.shift()!;
        out.push(p);
        rows += p.rows;
        this.count--;
        if (!p.delayed && p.timeoutAtMs !== Infinity) this.timed--;
        const requests = this.requests[p.level - 1]!;
        const left = (requests.get(p.requestId) ?? 1) - 1;
        if (left > 0) requests.set(p.requestId, left);
        else requests.delete(p.requestId);
      }
      if (queue.length > 0) break;
    }
    return out;
  }

  /** Removes every part of `requestId` (cancelled or failed), returning how many there were. */
  remove(requestId: string): number {
    let n = 0;
    for (const queue of this.levels) {
      for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.requestId === requestId) (queue.splice(i, 1), n++);
    }
    if (n > 0) this.recount();
    return n;
  }
}
