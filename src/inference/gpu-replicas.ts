// Why: a model's replicas hold real GPU shares: each is a job of hotpath's own GPU scheduler (a share of
// a device by milli and memory, or a whole one), placed by the same policy as training jobs, visible in
// /v1/gpu/cluster, competing under the same tenants, fair share and priorities. A replica takes batches
// only while its job is placed or running; this keeps the lease alive by heartbeats, follows the job
// (preempted and re-queued: unavailable until placed again; ended: submitted anew) and, on close,
// completes the job so its GPU share is freed at once.
import type { Principal } from '../shared/auth.ts';
import type { GpuJobService } from '../gpu/jobs/service.ts';

export interface GpuAsk {
  tenant: string;
  /** A share of one device (1..999), or undefined for a whole device. */
  gpuMilli: number | undefined;
  gpuMemoryMiB: number;
  priority: number;
  preemptible: boolean;
}

export interface ReplicaLeaseOptions {
  service: GpuJobService;
  model: string;
  replica: number;
  ask: GpuAsk;
  /** Distinguishes this process's replicas from another replica of hotpath's (one job each). */
  instance: string;
  leaseTtlMs: number;
  onAvailable(available: boolean): void;
  log?: { warn(obj: object, msg: string): void };
}

/** The principal inference replicas act as: the service itself (admin: any tenant, any priority). */
export const INFERENCE_PRINCIPAL: Principal = { user: 'hotpath-inference', admin: true, groups: [] };

export class ReplicaLease {
  private readonly o: ReplicaLeaseOptions;
  private readonly abort = new AbortController();
  private jobId: string | undefined;
  private attempt = 0;
  private available = false;
  private generation = 0;
  private done: Promise<void> | undefined;

  constructor(o: ReplicaLeaseOptions) {
    this.o = o;
  }

  get id(): string | undefined {
    return this.jobId;
  }

  start(): void {
    this.done = this.run().catch((err) => this.o.log?.warn({ err: String(err), model: this.o.model, replica: this.o.replica }, 'inference replica lease stopped'));
  }

  private set(available: boolean): void {
    if (available === this.available) return;
    this.available = available;
    this.o.onAvailable(available);
  }

  private async run(): Promise<void> {
    const { service } = this.o;
    const signal = this.abort.signal;
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        timer.unref();
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    while (!signal.aborted) {
      try {
        if (this.jobId === undefined) {
          const { job } = await service.submit(
            {
              tenant: this.o.ask.tenant,
              priority: this.o.ask.priority,
              ...(this.o.ask.gpuMilli !== undefined ? { gpuMilli: this.o.ask.gpuMilli, gpuMemoryMiB: this.o.ask.gpuMemoryMiB } : { gpus: 1 }),
              cpuMilli: 500,
              memoryMiB: 1024,
              maxRetries: 10,
              requeueOnPreempt: true,
              preemptible: this.o.ask.preemptible,
              idempotencyKey: `inference:${this.o.model}:${this.o.replica}:${this.o.instance}:${this.generation}`,
              metadata: { inferenceModel: this.o.model, replica: this.o.replica },
            },
            INFERENCE_PRINCIPAL,
          );
          this.jobId = job.id;
        }
        const job = await service.get(this.jobId, INFERENCE_PRINCIPAL, this.available ? 0 : 10, signal);
        if (job.state === 'placed' || job.state === 'running') {
          const beat = await service.heartbeat(job.id, INFERENCE_PRINCIPAL, job.attempt);
          this.attempt = beat.attempt;
          this.set(true);
          await sleep(Math.max(200, this.o.leaseTtlMs / 3));
        } else if (job.state === 'queued') {
          this.set(false);
        } else {
          // Ended (failed, cancelled, preempted for good): a new job, a new idempotency key.
          this.set(false);
          this.jobId = undefined;
          this.generation++;
          await sleep(1000);
        }
      } catch (err) {
        if (signal.aborted) break;
        this.set(false);
        this.o.log?.warn({ err: String(err), model: this.o.model, replica: this.o.replica }, 'inference replica lease: retrying');
        await sleep(1000);
      }
    }
  }

  /** Stops heartbeating and completes the job (its GPU share is freed now, not at lease expiry). */
  async close(): Promise<void> {
    this.abort.abort();
    this.set(false);
    await this.done;
    if (this.jobId !== undefined) await this.o.service.complete(this.jobId, INFERENCE_PRINCIPAL, true, 'inference replica stopped', this.attempt).catch(() => {});
  }
}
