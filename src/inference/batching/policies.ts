// Why: when a replica is free, whether to send a batch now and how large, or to wait. Four policies,
// side by side in the bench: none (one request per call), Triton's fixed delay (preferred sizes, a
// maximum queue delay), Clipper's AIMD (a batch-size cap grown while batches meet the SLO, cut by 10 %
// when one does not), and hotpath's SLO-aware policy, which sizes each batch from the replica's cost
// curve and the earliest deadline in it, and waits only when waiting can help: when the arrival rate
// is more than the replicas can serve at the current batch size and a larger batch would still meet
// that deadline. Pure: the caller passes the queue's view, the time, and the cost curve.
import type { CostCurve } from '../cost.ts';

/** What the policy sees of the queue: its parts in batch order. */
export interface QueuedView {
  rows: number;
  arrivalMs: number;
  deadlineMs: number;
}

export interface PolicyInput {
  nowMs: number;
  /** The first queued parts in batch order: at least enough to fill a batch (the whole queue if shorter). */
  queued: readonly QueuedView[];
  /** Parts queued in all (queued may show only the head). */
  queuedParts: number;
  maxBatchSize: number;
  /** The free replica's cost curve. */
  costMs: CostCurve;
  /** Recent arrivals, in rows per ms (an estimate). */
  arrivalRowsPerMs: number;
  /** Replicas serving the model (busy or not). */
  replicas: number;
}

export type Decision = { kind: 'dispatch'; maxRows: number } | { kind: 'wait'; untilMs: number } | { kind: 'idle' };

export interface BatchPolicy {
  readonly name: string;
  decide(input: PolicyInput): Decision;
  /** A batch of `rows` ended, `latencyMs` after its oldest request arrived (AIMD adapts on it). */
  observe?(rows: number, latencyMs: number, executionMs: number): void;
}

/** The rows of the longest prefix of `queued` that fits in `maxRows` (at least the first part). */
function prefixRows(queued: readonly QueuedView[], maxRows: number): { rows: number; count: number } {
  let rows = 0;
  let count = 0;
  for (const q of queued) {
    if (count > 0 && rows + q.rows > maxRows) break;
    rows += q.rows;
    count++;
  }
  return { rows, count };
}

export function noBatching(): BatchPolicy {
  return {
    name: 'none',
    decide: ({ queued }) => (queued.length === 0 ? { kind: 'idle' } : { kind: 'dispatch', maxRows: queued[0]!.rows }),
  };
}

export interface FixedDelayOptions {
  maxQueueDelayMs: number;
  preferredBatchSizes?: readonly number[];
}

/**
 * Triton's dynamic batcher: the largest preferred size, once it can be formed, or else a full batch
 * (maxBatchSize rows) goes at once; otherwise it waits until the oldest request has waited maxQueueDelayMs, then sends the largest
 * preferred size it can form, or all it has.
 */
export function fixedDelay(o: FixedDelayOptions): BatchPolicy {
  const preferred = [...(o.preferredBatchSizes ?? [])].sort((a, b) => a - b);
  return {
    name: `fixed-${o.maxQueueDelayMs}ms`,
    decide: ({ nowMs, queued, maxBatchSize }) => {
      if (queued.length === 0) return { kind: 'idle' };
      const all = prefixRows(queued, maxBatchSize).rows;
      const largestPreferred = preferred.filter((p) => p <= maxBatchSize).at(-1);
      // Triton sends a preferred size as soon as one can be formed (the largest), else a full batch.
      if (largestPreferred !== undefined && all >= largestPreferred) return { kind: 'dispatch', maxRows: largestPreferred };
      if (all >= maxBatchSize) return { kind: 'dispatch', maxRows: maxBatchSize };
      const dueMs = queued[0]!.arrivalMs + o.maxQueueDelayMs;
      if (nowMs < dueMs) return { kind: 'wait', untilMs: dueMs };
      const formable = preferred.filter((p) => p <= all).at(-1);
      return { kind: 'dispatch', maxRows: formable ?? all };
    },
  };
}

export interface AimdOptions {
  sloMs: number;
  /** Rows added to the cap after a batch that met the SLO. */
  step?: number;
  /** Multiplier of the cap after a batch that did not (Clipper: 0.9). */
  backoff?: number;
}

/**
 * Clipper's adaptive batching: never waits; the batch-size cap grows additively while a batch's
 * execution fits the latency objective and shrinks multiplicatively when one does not (Clipper measures
 * the batch's processing time, not the queueing in front of it).
 */
export function aimd(o: AimdOptions): BatchPolicy {
  const step = o.step ?? 1;
  const backoff = o.backoff ?? 0.9;
  let cap = 1;
  return {
    name: 'aimd',
    decide: ({ queued, maxBatchSize }) => {
      if (queued.length === 0) return { kind: 'idle' };
      cap = Math.min(cap, maxBatchSize);
      return { kind: 'dispatch', maxRows: Math.max(1, Math.floor(cap)) };
    },
    observe: (_rows, _latencyMs, executionMs) => {
      cap = executionMs <= o.sloMs ? cap + step : Math.max(1, cap * backoff);
    },
  };
}

export interface SloAwareOptions {
  /** Spare time kept before a deadline for what the cost curve does not see (dispatch, network), ms. */
  marginMs?: number;
  /** Waiting is considered when arrivals exceed this share of what the replicas serve at the current size. */
  loadThreshold?: number;
}

export function sloAware(o: SloAwareOptions = {}): BatchPolicy {
  const margin = o.marginMs ?? 2;
  const threshold = o.loadThreshold ?? 0.9;
  return {
    name: 'slo-aware',
    decide: ({ nowMs, queued, queuedParts, maxBatchSize, costMs, arrivalRowsPerMs, replicas }) => {
      if (queued.length === 0) return { kind: 'idle' };
      // The largest prefix whose execution, started now, ends before the earliest deadline among the
      // requests in it that can still make theirs (one already past hope does not shrink the batch; the
      // first part always goes, since alone it either makes its deadline or is past hope).
      let rows = 0;
      let earliest = Infinity;
      let best = 0;
      let count = 0;
      for (const q of queued) {
        if (count > 0 && rows + q.rows > maxBatchSize) break;
        const rowsWith = rows + q.rows;
        const hopeless = nowMs + costMs(q.rows) + margin > q.deadlineMs;
        const deadline = hopeless ? earliest : Math.min(earliest, q.deadlineMs);
        if (nowMs + costMs(rowsWith) + margin > deadline) break;
        rows = rowsWith;
        earliest = deadline;
        best = rows;
        count++;
      }
      const everything = count === queuedParts;
      if (!everything || best >= maxBatchSize) return { kind: 'dispatch', maxRows: best };
      // All that waits fits: wait for more only if the load needs larger batches and a larger one still
      // meets the earliest deadline.
      const servedRowsPerMs = (replicas * best) / costMs(best);
      if (arrivalRowsPerMs < threshold * servedRowsPerMs) return { kind: 'dispatch', maxRows: best };
      const latestStartMs = earliest - costMs(best + 1) - margin;
      if (latestStartMs <= nowMs) return { kind: 'dispatch', maxRows: best };
      return { kind: 'wait', untilMs: latestStartMs };
    },
  };
}
