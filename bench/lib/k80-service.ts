// Why: BENCHMARKS.md §3 through the service's own code, not a model of it: the K80 job stream is
// submitted through GpuJobService (BullMQ intake into Redis), placed by SchedulingLoop ticks (the leader's
// loop: Lua place scripts with fencing and capacity checks), and finished through the service, on a
// virtual clock the driver advances from event to event. The driver plays the workers: a job runs for
// its duration from its (last) placement and is then completed; a preempted job starts over.
import { localTenants } from '../../src/shared/tenants.ts';
import { randomUUID } from 'node:crypto';
import type { ClusterSpec } from '../../src/gpu/placement/model.ts';
import { gpuMilliOf } from '../../src/gpu/placement/demand.ts';
import { clusterTotals } from '../../src/gpu/scheduling/fair-share.ts';
import { JobEvents } from '../../src/gpu/jobs/events.ts';
import { IntakeQueue } from '../../src/gpu/jobs/intake-queue.ts';
import { IntakeWorker } from '../../src/gpu/jobs/intake-worker.ts';
import { LeaderElector } from '../../src/gpu/jobs/leader.ts';
import { SchedulingLoop } from '../../src/gpu/jobs/scheduling-loop.ts';
import { GpuJobService } from '../../src/gpu/jobs/service.ts';
import { JobStore } from '../../src/gpu/jobs/store.ts';
import { auditStore } from '../../src/gpu/jobs/audit.ts';
import { closeRedis, createRedis, waitReady } from '../../src/shared/redis.ts';
import type { K80Job, SchedulerConfig, WaitStats } from '../../src/sim/k80.ts';
import { waitStats, waitStatsByPriority } from '../../src/sim/k80.ts';

export interface ServiceK80Result {
  scheduler: string;
  arrived: number;
  completed: number;
  running: number;
  queued: number;
  /** Submitted jobs without a consistent record at the end: must be 0. */
  lost: number;
  preemptions: number;
  allocWhileWaitingPct: number;
  waitByPriority: Record<number, WaitStats>;
  meanWaitMin: number;
  p95WaitMin: number;
  auditProblems: string[];
  ticks: number;
  /** Real time spent in scheduler ticks, and per tick. */
  tickMsMean: number;
  wallS: number;
}

const MS_PER_MIN = 60_000;
const principal = { user: 'bench', admin: true };

export async function runK80ThroughService(spec: ClusterSpec, jobs: readonly K80Job[], config: SchedulerConfig, horizonMin: number, redisUrl: string): Promise<ServiceK80Result> {
  const t0 = performance.now();
  const prefix = `bk80-${randomUUID().slice(0, 8)}:`;
  let virtualMs = 0;
  const now = (): number => virtualMs;
  const redis = createRedis({ url: redisUrl, commandTimeoutMs: 5000, connectionName: 'bench:k80' });
  const sub = createRedis({ url: redisUrl, commandTimeoutMs: 5000, connectionName: 'bench:k80-events', autoPipelining: false });
  await waitReady(redis, 5000);
  const store = new JobStore(redis, prefix, spec, 86_400);
  const events = new JobEvents(sub, store.channel);
  const intakeQueue = new IntakeQueue({ redisUrl, prefix: `${prefix}bull` });
  const intakeWorker = new IntakeWorker({ redisUrl, prefix: `${prefix}bull`, store });
  const elector = new LeaderElector({ campaign: store, owner: 'bench', ttlMs: 60_000 });
  await elector.tick();
  const leaseTtlMs = 30 * 86_400_000; // the driver does not heartbeat: leases outlive the run
  const scheduler = new SchedulingLoop({
    store, elector, cluster: spec, policy: config.policy, tickMs: 1e9, leaseTtlMs,
    starvationMs: config.starvationMin * MS_PER_MIN, preemption: config.preemption === true,
    backfill: config.backfill, order: config.backfill ? 'fair' : 'arrival', now,
  });
  // One admin submits the whole stream: no tenant rights or per-user bound apply.
  const service = new GpuJobService({ store, intake: intakeQueue, events, cluster: spec, leaseTtlMs, tenants: localTenants(), maxOpenJobsPerUser: Number.MAX_SAFE_INTEGER, now });

  const idOf = new Map<string, K80Job>(); // service id -> job
  const running = new Map<string, { endMin: number; gpuMilli: number }>();
  const waits = new Map<string, { waitMin: number; priority: number }>();
  let preemptions = 0;
  let completed = 0;
  let next = 0;
  let nowMin = 0;
  let waitingMin = 0;
  let allocWaitingMilliMin = 0;
  let allocatedMilli = 0;
  let queued = 0;
  let ticks = 0;
  let tickMs = 0;
  const total = clusterTotals(spec).gpuMilli;

  const tick = async (): Promise<void> => {
    const t = performance.now();
    const stats = await scheduler.tick();
    tickMs += performance.now() - t;
    ticks++;
    if (stats.refused !== undefined) throw new Error(`${config.name}: the store refused a decision: ${stats.refused}`);
    for (const victim of stats.preempted) {
      const r = running.get(victim);
      if (r !== undefined) allocatedMilli -= r.gpuMilli;
      running.delete(victim);
      preemptions++;
    }
    for (const p of stats.placed) {
      const job = idOf.get(p.id);
      if (job === undefined) continue;
      const gpuMilli = gpuMilliOf(job.request);
      running.set(p.id, { endMin: nowMin + job.durationMin, gpuMilli });
      allocatedMilli += gpuMilli;
      waits.set(p.id, { waitMin: nowMin - job.arrivalMin, priority: job.request.priority });
    }
    queued = stats.pending.length - stats.placed.length + stats.preempted.length;
  };

  while (nowMin < horizonMin) {
    let departId: string | undefined;
    let tDepart = Infinity;
    for (const [id, r] of running) if (r.endMin < tDepart) [tDepart, departId] = [r.endMin, id];
    const tArrive = jobs[next]?.arrivalMin ?? Infinity;
    const t = Math.min(tDepart, tArrive, horizonMin);
    if (queued > 0) {
      waitingMin += t - nowMin;
      allocWaitingMilliMin += allocatedMilli * (t - nowMin);
    }
    nowMin = t;
    virtualMs = Math.round(t * MS_PER_MIN);
    if (nowMin >= horizonMin) break;
    if (tDepart <= tArrive && departId !== undefined) {
      await service.complete(departId, principal, true, 'done');
      allocatedMilli -= running.get(departId)?.gpuMilli ?? 0;
      running.delete(departId);
      completed++;
    } else {
      const job = jobs[next++] as K80Job;
      const { id: _ignored, tenant, priority, ...rest } = job.request;
      const { job: submitted } = await service.submit({ tenant, priority, ...rest }, principal);
      idOf.set(submitted.id, job);
      // The intake records it asynchronously (BullMQ): wait until the scheduler can see it.
      for (let i = 0; (await store.get(submitted.id)) === undefined; i++) {
        if (i > 2000) throw new Error(`intake did not record ${submitted.id}`);
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    await tick();
  }

  const ids = [...idOf.keys()];
  const records = await store.getMany(ids);
  const states = new Map(records.map((r) => [r.id, r.state]));
  const lost = ids.filter((id) => {
    const s = states.get(id);
    if (s === undefined) return true;
    if (running.has(id)) return s !== 'placed' && s !== 'running';
    return !(s === 'completed' || s === 'queued');
  }).length;
  const audit = await auditStore(store, spec);
  for (const id of ids) if (!waits.has(id)) waits.set(id, { waitMin: horizonMin - (idOf.get(id)?.arrivalMin ?? 0), priority: idOf.get(id)?.request.priority ?? 0 });
  const byPriority = waitStatsByPriority(waits.values());
  const all = waitStats([...waits.values()].map((w) => w.waitMin));

  await scheduler.stop();
  await elector.stop();
  await intakeWorker.close();
  await intakeQueue.close();
  events.close();
  await closeRedis(redis);
  return {
    scheduler: config.name,
    arrived: ids.length,
    completed,
    running: running.size,
    queued: records.filter((r) => r.state === 'queued').length,
    lost,
    preemptions,
    allocWhileWaitingPct: waitingMin > 0 ? (100 * allocWaitingMilliMin) / (total * waitingMin) : Number.NaN,
    waitByPriority: byPriority,
    meanWaitMin: all.meanMin,
    p95WaitMin: all.p95Min,
    auditProblems: audit.problems,
    ticks,
    tickMsMean: tickMs / Math.max(1, ticks),
    wallS: (performance.now() - t0) / 1000,
  };
}
