// Why: the embedded default has no GPUs and no Ray, yet `npm start` should show a live cluster. The
// simulated executor behaves like a real worker for jobs that give durationSeconds: it notices the
// placement, heartbeats (the first heartbeat marks the job running), stops at once when a heartbeat
// says the lease is lost (preempted, cancelled), and completes the job after its duration. Any
// replica may run it; a short run claim in the store keeps two replicas from running the same
// attempt. Every write goes through JobStore (its Lua scripts): it holds no Redis keys of its own.
import type { JobEvents } from './events.ts';
import type { JobRecord } from './model.ts';
import type { JobStore } from './store.ts';

export interface SimulatedExecutorOptions {
  store: JobStore;
  events: JobEvents;
  /** Who holds this replica's run claims. */
  owner: string;
  leaseTtlMs: number;
  now?: () => number;
  /** How often to look for placed jobs an event may have missed (default leaseTtl / 3). */
  scanMs?: number;
}

interface Run {
  attempt: number;
  timer: NodeJS.Timeout | undefined;
}

export class SimulatedExecutor {
  private readonly o: SimulatedExecutorOptions;
  private readonly now: () => number;
  private readonly runs = new Map<string, Run>();
  private scanTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = true;
  completed = 0;

  constructor(opts: SimulatedExecutorOptions) {
    this.o = opts;
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.stopped = false;
    this.unsubscribe = this.o.events.onEvent((e) => {
      if (e.state === 'placed') void this.consider(e.id).catch(() => {});
      // Preempted, cancelled or expired: let go at once, as a worker told by its heartbeat would.
      else if (e.state !== 'running') this.drop(e.id);
    });
    const scan = (): void => {
      if (this.stopped) return;
      void this.scan().catch(() => {});
      this.scanTimer = setTimeout(scan, this.o.scanMs ?? Math.max(100, this.o.leaseTtlMs / 3));
      this.scanTimer.unref();
    };
    scan();
  }

  private async scan(): Promise<void> {
    const ids = await this.o.store.liveIds();
    for (const id of ids) if (!this.runs.has(id)) await this.consider(id);
  }

  private async consider(id: string): Promise<void> {
    if (this.stopped || this.runs.has(id)) return;
    const job = await this.o.store.get(id);
    if (job === undefined || job.spec.durationSeconds === undefined) return; // run by a real worker
    if (job.state !== 'placed' && job.state !== 'running') return;
    if (!(await this.claim(job.id, job.attempt))) return; // another replica runs this attempt
    this.run(job);
  }

  /** Takes or renews this replica's claim on the attempt, for two lease TTLs. */
  private claim(id: string, attempt: number): Promise<boolean> {
    return this.o.store.claimRun(id, attempt, this.o.owner, this.o.leaseTtlMs * 2);
  }

  private run(job: JobRecord): void {
    const run: Run = { attempt: job.attempt, timer: undefined };
    this.runs.set(job.id, run);
    // Work done so far survives a restart of this process: count from the job's start.
    const startedAtMs = job.startedAtMs ?? this.now();
    const endAtMs = startedAtMs + (job.spec.durationSeconds ?? 0) * 1000;
    const step = async (): Promise<void> => {
      if (this.stopped) return;
      if (this.now() >= endAtMs) {
        await this.o.store.finish(job.id, 'completed', this.now(), `simulated run of ${job.spec.durationSeconds} s`, run.attempt);
        this.completed++;
        this.runs.delete(job.id);
        return;
      }
      const hb = await this.o.store.heartbeat(job.id, run.attempt, this.now(), this.o.leaseTtlMs);
      if (hb.leaseExpiresAtMs === undefined) {
        this.runs.delete(job.id); // preempted, cancelled or expired: stop like a worker would
        return;
      }
      await this.claim(job.id, run.attempt);
      const wait = Math.max(5, Math.min(this.o.leaseTtlMs / 3, endAtMs - this.now()));
      run.timer = setTimeout(() => void step().catch(() => this.retryLater(job.id, run, step)), wait);
      run.timer.unref();
    };
    void step().catch(() => this.retryLater(job.id, run, step));
  }

  /** Redis hiccup: try again shortly; the lease TTL gives room for a few misses. */
  private retryLater(id: string, run: Run, step: () => Promise<void>): void {
    if (this.stopped || !this.runs.has(id)) return;
    run.timer = setTimeout(() => void step().catch(() => this.retryLater(id, run, step)), 500);
    run.timer.unref();
  }

  private drop(id: string): void {
    const run = this.runs.get(id);
    if (run === undefined) return;
    if (run.timer !== undefined) clearTimeout(run.timer);
    this.runs.delete(id);
  }

  get running(): number {
    return this.runs.size;
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.scanTimer !== undefined) clearTimeout(this.scanTimer);
    for (const r of this.runs.values()) if (r.timer !== undefined) clearTimeout(r.timer);
    this.runs.clear();
  }
}
