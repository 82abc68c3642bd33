// Why: the batching policies compared on a virtual clock (bench:batching, and the tests' invariants):
// open-loop arrivals, a model's queue (batching/queue.ts), its replicas each with a cost curve, and a
// policy deciding whenever a replica is free. Every request ends exactly once: answered (all its parts
// executed) or refused (queue full, timed out). Pure and deterministic for given arrivals.
import type { CostCurve } from '../cost.ts';
import { BatchQueue, type Arrival, type Part, type QueueConfig } from '../batching/queue.ts';
import type { BatchPolicy } from '../batching/policies.ts';
import { planBatches } from '../batching/plan.ts';
import { RateEstimator } from '../batching/rate.ts';

export interface SimReplica {
  costMs: CostCurve;
  /** Share of a device it holds (GPU-seconds are counted by it). */
  deviceShare: number;
}

export interface SimOptions {
  arrivals: readonly Arrival[];
  replicas: readonly SimReplica[];
  queue: QueueConfig;
  policy: BatchPolicy;
  /** Time from a batch's dispatch to its execution start on the replica (network, copy), ms. */
  dispatchMs?: number;
}

export interface Answer {
  id: string;
  rows: number;
  arrivalMs: number;
  doneMs: number;
  deadlineMs: number;
}

export interface SimBatch {
  replica: number;
  startMs: number;
  rows: number;
  executionMs: number;
}

export interface SimResult {
  answered: Answer[];
  refused: { id: string; code: string }[];
  batches: SimBatch[];
  /** From the first arrival to the last answer, ms. */
  spanMs: number;
  /** Device-ms spent executing (execution time x the replica's device share). */
  deviceMs: number;
}

export function simulate(o: SimOptions): SimResult {
  const queue = new BatchQueue(o.queue);
  const rate = new RateEstimator();
  const dispatchMs = o.dispatchMs ?? 0;
  const freeAt = o.replicas.map(() => 0);
  const running: { replica: number; endMs: number; parts: Part[]; rows: number; executionMs: number; oldestMs: number }[] = [];
  const partsLeft = new Map<string, number>();
  const arrivalOf = new Map<string, Arrival>();
  const answered: Answer[] = [];
  const refused: { id: string; code: string }[] = [];
  const batches: SimBatch[] = [];
  let deviceMs = 0;
  let next = 0;
  let wakeMs: number;
  let now = o.arrivals[0]?.arrivalMs ?? 0;
  const firstMs = now;

  const finish = (r: (typeof running)[number]): void => {
    o.policy.observe?.(r.rows, r.endMs - r.oldestMs, r.executionMs);
    for (const p of r.parts) {
      const left = (partsLeft.get(p.requestId) ?? 1) - 1;
      if (left > 0) partsLeft.set(p.requestId, left);
      else {
        partsLeft.delete(p.requestId);
        const a = arrivalOf.get(p.requestId)!;
        arrivalOf.delete(p.requestId);
        answered.push({ id: a.id, rows: a.rows, arrivalMs: a.arrivalMs, doneMs: r.endMs, deadlineMs: a.deadlineMs });
      }
    }
  };

  for (;;) {
    // Arrivals and completions due now.
    while (next < o.arrivals.length && o.arrivals[next]!.arrivalMs <= now) {
      const a = o.arrivals[next++]!;
      const refusal = queue.enqueue(a);
      if (refusal !== undefined) refused.push({ id: a.id, code: refusal.code });
      else {
        rate.add(a.arrivalMs, a.rows);
        partsLeft.set(a.id, Math.ceil(a.rows / o.queue.maxBatchSize));
        arrivalOf.set(a.id, a);
      }
    }
    running.sort((x, y) => x.endMs - y.endMs);
    while (running.length > 0 && running[0]!.endMs <= now) finish(running.shift()!);
    for (const id of queue.expire(now)) {
      refused.push({ id, code: 'TIMEOUT' });
      partsLeft.delete(id);
      arrivalOf.delete(id);
    }

    // Free replicas take what the policy gives them (the live batcher's own planning: batching/plan.ts).
    const plan = planBatches({
      nowMs: now,
      queue,
      policy: o.policy,
      maxBatchSize: o.queue.maxBatchSize,
      free: o.replicas.map((_, r) => r).filter((r) => freeAt[r]! <= now),
      costOf: (r) => o.replicas[r]!.costMs,
      arrivalRowsPerMs: rate.rowsPerMs(now),
      replicas: o.replicas.length,
    });
    wakeMs = plan.wakeMs;
    for (const { replica: r, parts } of plan.batches) {
      const replica = o.replicas[r]!;
      const rows = parts.reduce((n, p) => n + p.rows, 0);
      const executionMs = replica.costMs(rows);
      const startMs = now + dispatchMs;
      freeAt[r] = startMs + executionMs;
      deviceMs += executionMs * replica.deviceShare;
      batches.push({ replica: r, startMs, rows, executionMs });
      running.push({ replica: r, endMs: freeAt[r]!, parts, rows, executionMs, oldestMs: Math.min(...parts.map((p) => p.arrivalMs)) });
    }

    const nextArrival = o.arrivals[next]?.arrivalMs ?? Infinity;
    const nextEnd = running.reduce((m, x) => Math.min(m, x.endMs), Infinity);
    const nextTimeout = queue.nextTimeoutMs();
    const t = Math.min(nextArrival, nextEnd, wakeMs, nextTimeout);
    if (t === Infinity) break;
    now = Math.max(now, t);
  }
  const lastMs = answered.reduce((m, a) => Math.max(m, a.doneMs), firstMs);
  return { answered, refused, batches, spanMs: lastMs - firstMs, deviceMs };
}
