// Why: which of a model's replicas serve. The pool is created at its largest (autoscaling's
// maxReplicas, else the configured count); the first `active` of them serve. A GPU-backed replica
// serves only while its job holds its share (gpu-replicas.ts): activating it submits the job,
// deactivating it stops new batches, waits for the one running, then completes the job (the share goes
// back to the scheduler). A plain replica is simply switched on and off in the runner.
import { ReplicaLease, type ReplicaLeaseOptions } from './gpu-replicas.ts';
import type { ModelRunner } from './runner.ts';

export interface ReplicaSetOptions {
  runner: ModelRunner;
  size: number;
  /** GPU-backed: how each replica's lease is made (all but the replica index and the callback). */
  gpu?: Omit<ReplicaLeaseOptions, 'replica' | 'onAvailable'>;
  /** Replicas able to take batches changed. */
  onChange?(available: number): void;
}

export class ReplicaSet {
  private readonly o: ReplicaSetOptions;
  private readonly wanted: boolean[];
  private readonly leases: (ReplicaLease | undefined)[];
  private closed = false;

  constructor(o: ReplicaSetOptions) {
    this.o = o;
    this.wanted = Array.from({ length: o.size }, () => false);
    this.leases = Array.from({ length: o.size }, () => undefined);
    // Every replica starts off; setActive turns the first ones on.
    for (let i = 0; i < o.size; i++) o.runner.setAvailable(i, false);
  }

  /** Replicas asked for (serving, or waiting for their GPU share). */
  get active(): number {
    return this.wanted.filter(Boolean).length;
  }

  setActive(n: number): void {
    if (this.closed) return;
    const target = Math.max(0, Math.min(this.o.size, n));
    for (let i = 0; i < this.o.size; i++) {
      if (i < target && !this.wanted[i]) this.activate(i);
      else if (i >= target && this.wanted[i]) void this.deactivate(i);
    }
  }

  private changed(): void {
    this.o.onChange?.(this.o.runner.availableReplicas);
  }

  private activate(i: number): void {
    this.wanted[i] = true;
    if (this.o.gpu === undefined) {
      this.o.runner.setAvailable(i, true);
      this.changed();
      return;
    }
    const lease = new ReplicaLease({
      ...this.o.gpu,
      replica: i,
      onAvailable: (on) => {
        // A lease still heartbeating while being closed must not switch its replica back on.
        this.o.runner.setAvailable(i, on && this.wanted[i] === true && this.leases[i] === lease);
        this.changed();
      },
    });
    this.leases[i] = lease;
    lease.start();
  }

  private async deactivate(i: number): Promise<void> {
    this.wanted[i] = false;
    this.o.runner.setAvailable(i, false);
    this.changed();
    const lease = this.leases[i];
    if (lease === undefined) return;
    this.leases[i] = undefined;
    // Let the batch it runs finish before its GPU share is given back.
    for (let waited = 0; this.o.runner.isBusy(i) && waited < 30_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    await lease.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.leases.map(async (lease, i) => {
        this.wanted[i] = false;
        this.leases[i] = undefined;
        await lease?.close();
      }),
    );
  }
}
