// Why: BENCHMARKS.md §3 asks how well the platform's own 16 K80 devices stay allocated while work is
// waiting, for FIFO without backfill (the baseline) and for backfill with each placement policy. This
// is the pure simulation behind `npm run bench:k80`: a seeded job stream shaped like the platform's ML
// work and a virtual clock (arrivals and departures as events), so a day runs in milliseconds; each
// event runs the service's own schedulePass. No clock, no I/O: the same seed gives the same result.
import type { ClusterSpec, Placement, PlacementRequest } from '../gpu/placement/model.ts';
import { ClusterState } from '../gpu/placement/state.ts';
import { gpuMilliOf } from '../gpu/placement/demand.ts';
import { schedulePass } from '../gpu/scheduling/pass.ts';
import { createPolicy } from '../gpu/placement/policies/registry.ts';
import { createPrng } from '../gpu/placement/prng.ts';
import type { Prng } from '../gpu/placement/prng.ts';
import { checkState } from '../gpu/placement/invariants.ts';
import type { Violation } from '../gpu/placement/invariants.ts';
import { typicalSpecs } from './protocol.ts';

// The platform's cluster (16 K80 devices on 4 nodes) is the service's default inventory.
export { K80_DEVICE_MEMORY_MIB, k80Cluster } from '../gpu/inventory.ts';
import { K80_DEVICE_MEMORY_MIB } from '../gpu/inventory.ts';

export type JobKind = 'train1' | 'train2' | 'infer250' | 'infer500' | 'cpu';

export interface K80Job {
  kind: JobKind;
  request: PlacementRequest;
  arrivalMin: number;
  durationMin: number;
}

interface JobShape {
  kind: JobKind;
  share: number;
  /** Log-normal duration: median (minutes) and sigma of the underlying normal. */
  medianMin: number;
  sigma: number;
  request: Omit<PlacementRequest, 'id'>;
}

const quarterMiB = Math.floor(K80_DEVICE_MEMORY_MIB / 4);
/** The mix: training on whole devices, inference replicas by memory share, a few CPU-heavy jobs. */
const SHAPES: readonly JobShape[] = [
  { kind: 'train1', share: 0.35, medianMin: 90, sigma: 0.9, request: { tenant: 'ml', priority: 0, cpuMilli: 4000, memoryMiB: 32000, gpus: 1 } },
  { kind: 'train2', share: 0.15, medianMin: 120, sigma: 0.9, request: { tenant: 'ml', priority: 0, cpuMilli: 8000, memoryMiB: 64000, gpus: 2 } },
  { kind: 'infer250', share: 0.2, medianMin: 60, sigma: 0.7, request: { tenant: 'serve', priority: 1, cpuMilli: 1000, memoryMiB: 4000, gpuMilli: 250, gpuMemoryMiB: quarterMiB } },
  { kind: 'infer500', share: 0.22, medianMin: 60, sigma: 0.7, request: { tenant: 'serve', priority: 1, cpuMilli: 2000, memoryMiB: 8000, gpuMilli: 500, gpuMemoryMiB: 2 * quarterMiB } },
  { kind: 'cpu', share: 0.08, medianMin: 45, sigma: 0.6, request: { tenant: 'etl', priority: 0, cpuMilli: 16000, memoryMiB: 64000 } },
];


const MAX_DURATION_MIN = 24 * 60;

function standardNormal(prng: Prng): number {
  const u1 = 1 - prng.next();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * prng.next());
}

/**
 * A seeded stream over `hours`: Poisson arrivals whose rate makes the expected GPU work `load` × the
 * cluster's GPU capacity (1.2 = 20 % more than it can serve, so work queues), log-normal durations.
 */
export function generateK80Jobs(seed: number, hours: number, load = 1.2, capacityGpuMilli = 16000): K80Job[] {
  const prng = createPrng(seed);
  const meanWorkMilliMin = SHAPES.reduce((a, s) => a + s.share * gpuMilliOf({ id: '', ...s.request }) * s.medianMin * Math.exp((s.sigma * s.sigma) / 2), 0);
  const ratePerMin = (load * capacityGpuMilli) / meanWorkMilliMin;
  const horizonMin = hours * 60;
  const jobs: K80Job[] = [];
  let t = 0;
  for (;;) {
    t += -Math.log(1 - prng.next()) / ratePerMin;
    if (t >= horizonMin) return jobs;
    let u = prng.next();
    let shape = SHAPES[SHAPES.length - 1] as JobShape;
    for (const s of SHAPES) {
      if (u < s.share) { shape = s; break; }
      u -= s.share;
    }
    const durationMin = Math.min(MAX_DURATION_MIN, Math.max(1, shape.medianMin * Math.exp(shape.sigma * standardNormal(prng))));
    const id = `j${String(jobs.length).padStart(5, '0')}`;
    jobs.push({ kind: shape.kind, arrivalMin: t, durationMin, request: { id, ...shape.request } });
  }
}

/** GPU work offered over the horizon as a multiple of what the cluster can serve. */
export function offeredLoad(jobs: readonly K80Job[], horizonMin: number, capacityGpuMilli: number): number {
  return jobs.reduce((a, j) => a + gpuMilliOf(j.request) * Math.min(j.durationMin, horizonMin - j.arrivalMin), 0) / (capacityGpuMilli * horizonMin);
}

export interface SchedulerConfig {
  /** Name shown in tables, e.g. `fifo/first-fit`, `backfill/fgd` or `backfill/hotpath+preempt`. */
  name: string;
  policy: string;
  backfill: boolean;
  /** Backfill only: a job waiting longer than this that does not fit reserves a node (see schedulePass). */
  starvationMin: number;
  /** A higher-priority job that fits nowhere may evict lower-priority ones (default false). */
  preemption?: boolean;
}

export const fifoBaseline: SchedulerConfig = { name: 'fifo/first-fit', policy: 'first-fit', backfill: false, starvationMin: Infinity };
export const backfillWith = (policy: string, starvationMin = 120, preemption = false): SchedulerConfig => ({
  name: `backfill/${policy}${preemption ? '+preempt' : ''}`,
  policy,
  backfill: true,
  starvationMin,
  preemption,
});

export interface WaitStats {
  meanMin: number;
  p95Min: number;
  count: number;
}

export interface K80Result {
  scheduler: string;
  arrived: number;
  /** Jobs started at least once (a preempted job that restarts counts once). */
  started: number;
  completed: number;
  /** Running at the horizon, and queued at the horizon. */
  running: number;
  queued: number;
  /** Arrived jobs neither completed, running nor queued: must be 0. */
  lost: number;
  /** Time-weighted mean GPU allocation (% of milli) over the time the queue was non-empty. */
  allocWhileWaitingPct: number;
  /** Minutes during which the queue was non-empty. */
  waitingMin: number;
  allocMeanPct: number;
  /**
   * One wait per arrived job that started or is still queued: arrival to its last start, or to the
   * horizon when it is queued there (a preempted job keeps its arrival time, so its wait includes the
   * run it lost).
   */
  meanWaitMin: number;
  p95WaitMin: number;
  /** The same waits split by request priority. */
  waitByPriority: Record<number, WaitStats>;
  /** Evictions of running jobs for higher-priority ones; each victim restarts from scratch. */
  preemptions: number;
  violations: Violation[];
}

interface Running { job: K80Job; placement: Placement; startMin: number; endMin: number }

const MS_PER_MIN = 60_000;

/** The waits split by priority, highest first (shared with the service-level run of bench:k80). */
export function waitStatsByPriority(waits: Iterable<{ waitMin: number; priority: number }>): Record<number, WaitStats> {
  const byPriority = new Map<number, number[]>();
  for (const w of waits) {
    const list = byPriority.get(w.priority);
    if (list === undefined) byPriority.set(w.priority, [w.waitMin]);
    else list.push(w.waitMin);
  }
  const out: Record<number, WaitStats> = {};
  for (const p of [...byPriority.keys()].sort((a, b) => b - a)) out[p] = waitStats(byPriority.get(p) ?? []);
  return out;
}

/** Mean, p95 and count of waits in minutes (shared with the service-level run of bench:k80). */
export function waitStats(waits: readonly number[]): WaitStats {
  const sorted = [...waits].sort((a, b) => a - b);
  return {
    meanMin: sorted.length > 0 ? sorted.reduce((a, x) => a + x, 0) / sorted.length : 0,
    p95Min: sorted[Math.min(sorted.length - 1, Math.floor(0.95 * sorted.length))] ?? 0,
    count: sorted.length,
  };
}

/**
 * Runs one scheduler over `jobs` (sorted by arrival) until `horizonMin`. After every arrival and
 * departure, one schedulePass (the service's own pass) decides what starts and what is evicted.
 */
export function simulateK80(spec: ClusterSpec, jobs: readonly K80Job[], config: SchedulerConfig, horizonMin: number, seed: number): K80Result {
  let state = new ClusterState(spec);
  const policy = createPolicy(config.policy, { typicalSpecs: typicalSpecs(jobs.map((j) => j.request)) });
  const prng = createPrng((seed ^ 0x9e3779b9) >>> 0);
  let queue: K80Job[] = [];
  const running: Running[] = [];
  /** Per job id: its wait (minutes) and priority; overwritten when a preempted job starts again. */
  const waits = new Map<string, { waitMin: number; priority: number }>();
  const startedIds = new Set<string>();
  let next = 0, completed = 0, preemptions = 0;
  let now = 0, waitingMin = 0, allocWaitingMilliMin = 0, allocMilliMin = 0;

  const schedule = (): void => {
    if (queue.length === 0) return;
    const result = schedulePass({
      cluster: spec,
      live: running.map((r) => ({ id: r.job.request.id, request: r.job.request, placement: r.placement, startedAtMs: r.startMin * MS_PER_MIN })),
      pending: queue.map((j) => ({ id: j.request.id, request: j.request, queuedAtMs: j.arrivalMin * MS_PER_MIN })),
      nowMs: now * MS_PER_MIN,
      policy,
      prng,
      backfill: config.backfill,
      // The FIFO baseline is what a plain queue does: arrival order, blind to priority and tenant.
      order: config.backfill ? 'fair' : 'arrival',
      starvationMs: config.starvationMin * MS_PER_MIN,
      preemption: config.preemption === true,
    });
    state = result.state;
    if (result.decisions.length === 0) return;
    const queued = new Map(queue.map((j) => [j.request.id, j]));
    for (const d of result.decisions) {
      for (const victim of d.preempt) {
        const i = running.findIndex((r) => r.job.request.id === victim);
        if (i < 0) throw new Error(`${config.name}: victim ${victim} is not running`);
        const r = running.splice(i, 1)[0] as Running;
        queued.set(victim, r.job); // back in the queue with its arrival time; its progress is lost
        preemptions++;
      }
      const job = queued.get(d.jobId);
      if (job === undefined) throw new Error(`${config.name}: decision for ${d.jobId}, which is not queued`);
      queued.delete(d.jobId);
      running.push({ job, placement: d.placement, startMin: now, endMin: now + job.durationMin });
      waits.set(d.jobId, { waitMin: now - job.arrivalMin, priority: job.request.priority });
      startedIds.add(d.jobId);
    }
    queue = [...queued.values()];
  };

  while (now < horizonMin) {
    let ri = -1;
    running.forEach((r, i) => { if (ri < 0 || r.endMin < (running[ri]?.endMin ?? Infinity)) ri = i; });
    const tDepart = ri >= 0 ? (running[ri]?.endMin ?? Infinity) : Infinity;
    const tArrive = jobs[next]?.arrivalMin ?? Infinity;
    const t = Math.min(tDepart, tArrive, horizonMin);
    const dt = t - now;
    allocMilliMin += state.allocatedGpuMilli * dt;
    if (queue.length > 0) { waitingMin += dt; allocWaitingMilliMin += state.allocatedGpuMilli * dt; }
    now = t;
    if (now >= horizonMin) break;
    if (tDepart <= tArrive) {
      const [r] = running.splice(ri, 1);
      if (r !== undefined && state.unreserve(r.job.request.id)) completed++;
    } else {
      queue.push(jobs[next] as K80Job);
      next++;
    }
    schedule();
  }

  for (const job of queue) waits.set(job.request.id, { waitMin: horizonMin - job.arrivalMin, priority: job.request.priority });
  const arrived = next;
  const accounted = new Set([...queue.map((j) => j.request.id), ...running.map((r) => r.job.request.id)]);
  const lost = arrived - completed - accounted.size;
  const all = waitStats([...waits.values()].map((w) => w.waitMin));
  const waitByPriority = waitStatsByPriority(waits.values());
  const total = state.totalGpuMilli;
  return {
    scheduler: config.name,
    arrived,
    started: startedIds.size,
    completed,
    running: running.length,
    queued: queue.length,
    lost,
    allocWhileWaitingPct: waitingMin > 0 ? (100 * allocWaitingMilliMin) / (total * waitingMin) : Number.NaN,
    waitingMin,
    allocMeanPct: horizonMin > 0 ? (100 * allocMilliMin) / (total * horizonMin) : Number.NaN,
    meanWaitMin: all.meanMin,
    p95WaitMin: all.p95Min,
    waitByPriority,
    preemptions,
    violations: checkState(state, new Set(running.map((r) => r.job.request.id))),
  };
}
