// Why: the live batcher of one model: requests queue (batching/queue.ts), and whenever a replica is free
// the policy (batching/policies.ts) decides what to send, exactly as in the simulation, but on the real
// clock with timers. A batch is the queued parts' rows stacked; its outputs are cut back per part, and a
// request is answered when its last part is. A batch that fails on a replica is retried once on another
// (its parts go back to the front of the queue); failing again, its requests get an error. Every request
// is answered exactly once: outputs, or a refusal (queue full, timeout, failure, closed).
import { MeasuredCost } from './cost.ts';
import { BatchQueue, type Part, type QueueConfig } from './batching/queue.ts';
import type { BatchPolicy } from './batching/policies.ts';
import { planBatches } from './batching/plan.ts';
import { RateEstimator } from './batching/rate.ts';
import type { Replica } from './replica.ts';
import { concatRows, sliceRows, type Tensor } from './tensors.ts';

export interface InferCall {
  id: string;
  inputs: Tensor[];
  /** Triton's level: 1 highest, 0 the default. */
  priority: number;
  /** Queue timeout asked by the request, ms. */
  timeoutMs?: number;
}

export type InferOutcome =
  | { ok: true; outputs: Tensor[]; queueMs: number; batchRows: number }
  | { ok: false; code: 'QUEUE_FULL' | 'BAD_PRIORITY' | 'BAD_ROWS' | 'TIMEOUT' | 'REPLICA_FAILED' | 'CLOSED'; message: string };

export interface RunnerEvents {
  /** A batch ended on a replica (ok or not). */
  batch?(e: { replica: string; rows: number; executionMs: number; ok: boolean }): void;
  /** A request was answered (queueMs: from its arrival to its first part's dispatch, or to its refusal; late: after its deadline). */
  answered?(e: { outcome: InferOutcome; queueMs: number; late: boolean }): void;
}

export interface RunnerOptions {
  queue: QueueConfig;
  policy: BatchPolicy;
  replicas: readonly Replica[];
  /** The model's latency objective (each request's deadline), ms; Infinity for none. */
  sloMs: number;
  events?: RunnerEvents;
  now?: () => number;
}

interface Pending {
  call: InferCall;
  arrivalMs: number;
  rows: number;
  partRows: number[];
  outputs: (Tensor[] | undefined)[];
  left: number;
  resolve: (o: InferOutcome) => void;
  /** Parts already retried once after a failed batch. */
  retried: Set<number>;
  startedMs?: number;
  batchRows: number;
}

export class ModelRunner {
  private readonly o: RunnerOptions;
  private readonly queue: BatchQueue;
  private readonly rate = new RateEstimator();
  private readonly pending = new Map<string, Pending>();
  private readonly busy = new Set<number>();
  /** Replicas that may take batches (a GPU-backed one only while its job holds its GPU share). */
  private readonly available: boolean[];
  private readonly costs: MeasuredCost[];
  private readonly aborts = new Set<AbortController>();
  /** Parts of a failed batch, waiting for a free replica other than the one that failed them. */
  private retries: { parts: Part[]; notOn: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Infinity;
  private closed = false;
  private readonly now: () => number;

  constructor(o: RunnerOptions) {
    if (o.replicas.length === 0) throw new RangeError('a model needs at least one replica');
    this.o = o;
    this.queue = new BatchQueue(o.queue);
    this.costs = o.replicas.map((r) => new MeasuredCost(r.costMs));
    this.available = o.replicas.map(() => true);
    this.now = o.now ?? (() => performance.now());
  }

  get queuedParts(): number {
    return this.queue.size;
  }

  /** Whether replica `i` runs a batch now. */
  isBusy(i: number): boolean {
    return this.busy.has(i);
  }

  /** Rows waiting in the queue. */
  get queuedRows(): number {
    return this.queue.rows;
  }

  /** Recent arrivals, rows per ms. */
  arrivalRowsPerMs(): number {
    return this.rate.rowsPerMs(this.now());
  }

  /** Replicas that may take batches now. */
  get availableReplicas(): number {
    return this.available.filter(Boolean).length;
  }

  /** Lets replica `i` take batches, or stops giving it new ones (a batch it runs finishes). */
  setAvailable(i: number, on: boolean): void {
    if (this.available[i] === on) return;
    this.available[i] = on;
    if (on) this.pump();
  }

  infer(call: InferCall): Promise<InferOutcome> {
    const refuse = (outcome: InferOutcome): Promise<InferOutcome> => {
      this.o.events?.answered?.({ outcome, queueMs: 0, late: false });
      return Promise.resolve(outcome);
    };
    if (this.closed) return refuse({ ok: false, code: 'CLOSED', message: 'the model is shutting down' });
    const rows = call.inputs[0]?.shape[0] ?? 0;
    const nowMs = this.now();
    if (this.pending.has(call.id)) return refuse({ ok: false, code: 'BAD_ROWS', message: `request id ${call.id} is already queued` });
    const refusal = this.queue.enqueue({ id: call.id, rows, arrivalMs: nowMs, priority: call.priority, ...(call.timeoutMs !== undefined ? { timeoutMs: call.timeoutMs } : {}), deadlineMs: nowMs + this.o.sloMs });
    if (refusal !== undefined) return refuse({ ok: false, code: refusal.code, message: refusal.message });
    return new Promise<InferOutcome>((resolve) => {
      const max = this.o.queue.maxBatchSize;
      const partRows = Array.from({ length: Math.ceil(rows / max) }, (_, i) => Math.min(max, rows - i * max));
      this.pending.set(call.id, { call, arrivalMs: nowMs, rows, partRows, outputs: partRows.map(() => undefined), left: partRows.length, resolve, retried: new Set(), batchRows: 0 });
      this.rate.add(nowMs, rows);
      this.pump();
    });
  }

  /** Refuses everything still queued or running (batches in flight are aborted). */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const a of this.aborts) a.abort(new Error('closed'));
    for (const [id, p] of this.pending) this.finish(id, p, { ok: false, code: 'CLOSED', message: 'the model is shutting down' });
  }

  private finish(id: string, p: Pending, outcome: InferOutcome): void {
    if (!this.pending.delete(id)) return; // answered already
    this.queue.remove(id);
    p.resolve(outcome);
    const nowMs = this.now();
    this.o.events?.answered?.({ outcome, queueMs: (p.startedMs ?? nowMs) - p.arrivalMs, late: nowMs > p.arrivalMs + this.o.sloMs });
  }

  private pump(): void {
    if (this.closed) return;
    const nowMs = this.now();
    for (const id of this.queue.expire(nowMs)) {
      const p = this.pending.get(id);
      if (p !== undefined) this.finish(id, p, { ok: false, code: 'TIMEOUT', message: 'the request waited in the queue past its timeout' });
    }
    let wakeMs = this.queue.nextTimeoutMs();
    this.retries = this.retries.filter((retry) => {
      const r = this.o.replicas.findIndex((_, i) => i !== retry.notOn && !this.busy.has(i) && this.available[i]);
      if (r < 0) return true;
      this.dispatch(r, retry.parts, nowMs);
      return false;
    });
    const plan = planBatches({
      nowMs,
      queue: this.queue,
      policy: this.o.policy,
      maxBatchSize: this.o.queue.maxBatchSize,
      free: this.o.replicas.map((_, i) => i).filter((i) => !this.busy.has(i) && this.available[i]),
      costOf: (r) => this.costs[r]!.cost,
      arrivalRowsPerMs: this.rate.rowsPerMs(nowMs),
      replicas: Math.max(1, this.availableReplicas),
    });
    for (const b of plan.batches) this.dispatch(b.replica, b.parts, nowMs);
    wakeMs = Math.min(wakeMs, plan.wakeMs);
    this.arm(wakeMs);
  }

  private arm(atMs: number): void {
    if (atMs === this.timerAtMs) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAtMs = atMs;
    if (atMs === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAtMs = Infinity;
      this.pump();
    }, Math.max(0, atMs - this.now()));
  }

  private dispatch(r: number, parts: Part[], startMs: number): void {
    const live = parts.filter((p) => this.pending.has(p.requestId));
    if (live.length === 0) return;
    this.busy.add(r);
    const rows = live.reduce((n, p) => n + p.rows, 0);
    const inputs = concatRows(
      live.map((p) => {
        const pend = this.pending.get(p.requestId)!;
        pend.startedMs ??= startMs;
        pend.batchRows = Math.max(pend.batchRows, rows);
        const from = p.part * this.o.queue.maxBatchSize;
        return sliceRows(pend.call.inputs, from, from + p.rows);
      }),
    );
    const abort = new AbortController();
    this.aborts.add(abort);
    const replica = this.o.replicas[r]!;
    const t0 = this.now();
    void replica
      .infer(inputs, abort.signal)
      .then(
        (outputs) => ({ ok: true as const, outputs }),
        (err: unknown) => ({ ok: false as const, err }),
      )
      .then((res) => {
        this.aborts.delete(abort);
        this.busy.delete(r);
        const executionMs = this.now() - t0;
        this.o.events?.batch?.({ replica: replica.id, rows, executionMs, ok: res.ok });
        if (this.closed) return;
        if (res.ok) {
          this.costs[r]!.observe(rows, executionMs);
          this.o.policy.observe?.(rows, this.now() - Math.min(...live.map((p) => p.arrivalMs)), executionMs);
          this.deliver(live, res.outputs);
        } else this.failed(live, r, res.err);
        this.pump();
      });
  }

  private deliver(parts: Part[], outputs: Tensor[]): void {
    let row = 0;
    for (const part of parts) {
      const p = this.pending.get(part.requestId);
      const mine = sliceRows(outputs, row, row + part.rows);
      row += part.rows;
      if (p === undefined || p.outputs[part.part] !== undefined) continue;
      p.outputs[part.part] = mine;
      p.left--;
      if (p.left === 0) this.finish(part.requestId, p, { ok: true, outputs: concatRows(p.outputs as Tensor[][]), queueMs: (p.startedMs ?? this.now()) - p.arrivalMs, batchRows: p.batchRows });
    }
  }

  private failed(parts: Part[], replica: number, err: unknown): void {
    const again: Part[] = [];
    for (const part of parts) {
      const p = this.pending.get(part.requestId);
      if (p === undefined) continue;
      if (p.retried.has(part.part) || this.o.replicas.length === 1) {
        this.finish(part.requestId, p, { ok: false, code: 'REPLICA_FAILED', message: `replica ${this.o.replicas[replica]!.id} failed the batch: ${String((err as Error)?.message ?? err)}` });
      } else {
        p.retried.add(part.part);
        again.push(part);
      }
    }
    // Retried once, on another replica: the next one free (pump runs right after).
    if (again.length > 0) this.retries.push({ parts: again, notOn: replica });
  }
}
