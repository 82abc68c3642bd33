// Why: one place decides what the free replicas of a model take, for the live batcher (runner.ts) and
// the bench's simulation (sim/simulate.ts) alike, so the policy the bench measures is the one that
// serves. Each free replica in turn asks the policy; the first wait or idle ends the round (the others
// would see the same queue). Pure apart from taking the batches out of the queue.
import type { CostCurve } from '../cost.ts';
import type { BatchPolicy } from './policies.ts';
import type { BatchQueue, Part } from './queue.ts';

export interface PlanInput {
  nowMs: number;
  queue: BatchQueue;
  policy: BatchPolicy;
  maxBatchSize: number;
  /** The replicas free to take a batch now, in the order they are offered one. */
  free: readonly number[];
  costOf(replica: number): CostCurve;
  arrivalRowsPerMs: number;
  /** Replicas serving the model (busy or not). */
  replicas: number;
}

export interface Plan {
  batches: { replica: number; parts: Part[] }[];
  /** When to decide again because a policy waits (Infinity: at the next arrival or completion). */
  wakeMs: number;
}

export function planBatches(i: PlanInput): Plan {
  const batches: Plan['batches'] = [];
  for (const replica of i.free) {
    if (i.queue.size === 0) break;
    const decision = i.policy.decide({
      nowMs: i.nowMs,
      // A part holds at least one row, so maxBatchSize + 1 parts are always enough to decide on.
      queued: i.queue.head(i.maxBatchSize + 1),
      queuedParts: i.queue.size,
      maxBatchSize: i.maxBatchSize,
      costMs: i.costOf(replica),
      arrivalRowsPerMs: i.arrivalRowsPerMs,
      replicas: i.replicas,
    });
    if (decision.kind === 'idle') break;
    if (decision.kind === 'wait') return { batches, wakeMs: decision.untilMs };
    batches.push({ replica, parts: i.queue.take(decision.maxRows) });
  }
  return { batches, wakeMs: Infinity };
}
