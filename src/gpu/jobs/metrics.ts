// Why: every GPU scheduling metric in one file, on the app's registry. Gauges describe the cluster as
// Redis holds it (refreshed on scrape, so any replica reports the same); counters and histograms are
// fed by the scheduler's ticks on the leader. Label sets are closed: node, gpu and board from the
// inventory; tenant from the configured named tenants (any other counts as `other`); priority as one of
// five documented buckets (shared/tenants.ts). 3,000 invented tenants make no new series.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ClusterSpec } from '../placement/model.ts';
import { nodeFragMilli } from '../placement/frag.ts';
import { ClusterState } from '../placement/state.ts';
import { typicalSpecs } from '../placement/typical-specs.ts';
import type { JobRecord } from './model.ts';
import { livePlacements, requestOf } from './model.ts';
import { clusterViewOf } from './service.ts';
import type { TickStats } from './scheduling-loop.ts';
import { priorityBucket, tenantLabel, type Tenants } from '../../shared/tenants.ts';

const MIB = 1024 * 1024;

export function createGpuMetrics(registry: Registry) {
  const registers = [registry];
  return {
    // Base units (Prometheus): a share of the device as a ratio, memory in bytes.
    deviceShare: new Gauge({ name: 'hotpath_gpu_device_allocated_ratio', help: 'Share of each device\'s compute allocated (0..1; 1 = the whole device)', labelNames: ['node', 'gpu', 'board'] as const, registers }),
    deviceMemory: new Gauge({ name: 'hotpath_gpu_device_allocated_memory_bytes', help: 'GPU memory allocated on each device, bytes', labelNames: ['node', 'gpu', 'board'] as const, registers }),
    allocationRatio: new Gauge({ name: 'hotpath_gpu_allocation_ratio', help: 'Allocated GPU milli / total GPU milli (0..1)', registers }),
    fragmentationRatio: new Gauge({ name: 'hotpath_gpu_fragmentation_ratio', help: 'Idle GPU milli that the current request mix could not use (FGD fragment measure) / total', registers }),
    queueDepth: new Gauge({ name: 'hotpath_gpu_queue_depth', help: 'Jobs waiting, by tenant (configured name or other) and priority bucket (negative, 0, 1-9, 10-99, 100+)', labelNames: ['tenant', 'priority'] as const, registers }),
    liveJobs: new Gauge({ name: 'hotpath_gpu_live_jobs', help: 'Jobs holding GPUs (placed or running)', registers }),
    leader: new Gauge({ name: 'hotpath_gpu_scheduler_leader', help: '1 on the replica that schedules now', registers }),
    waitSeconds: new Histogram({ name: 'hotpath_gpu_wait_seconds', help: 'Queue wait of placed jobs, by priority bucket (negative, 0, 1-9, 10-99, 100+)', labelNames: ['priority'] as const, buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600], registers }),
    attemptSeconds: new Histogram({ name: 'hotpath_gpu_schedule_attempt_seconds', help: 'One scheduling round on the leader (read state, pass, apply)', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers }),
    placements: new Counter({ name: 'hotpath_gpu_placements_total', help: 'Jobs placed', registers }),
    preemptions: new Counter({ name: 'hotpath_gpu_preemptions_total', help: 'Jobs preempted for higher-priority work', registers }),
    leaseExpirations: new Counter({ name: 'hotpath_gpu_lease_expirations_total', help: 'Leases that ran out, by outcome (queued again, failed)', labelNames: ['outcome'] as const, registers }),
    refusedDecisions: new Counter({ name: 'hotpath_gpu_refused_decisions_total', help: 'Placements the store refused (stale view or lost leadership); the next round retries', registers }),
  };
}

export type GpuMetrics = ReturnType<typeof createGpuMetrics>;

export function recordTick(m: GpuMetrics, s: TickStats): void {
  m.leader.set(s.leader ? 1 : 0);
  if (!s.leader) return;
  m.attemptSeconds.observe(s.durationMs / 1000);
  for (const p of s.placed) m.waitSeconds.observe({ priority: priorityBucket(p.priority) }, p.waitMs / 1000);
  m.placements.inc(s.placed.length);
  m.preemptions.inc(s.preempted.length);
  if (s.expired.queued > 0) m.leaseExpirations.inc({ outcome: 'queued' }, s.expired.queued);
  if (s.expired.failed > 0) m.leaseExpirations.inc({ outcome: 'failed' }, s.expired.failed);
  if (s.refused !== undefined) m.refusedDecisions.inc();
}

/** Sets the cluster gauges from the jobs Redis holds now. */
export function recordCluster(m: GpuMetrics, cluster: ClusterSpec, tenants: Tenants, live: readonly JobRecord[], pending: readonly JobRecord[]): void {
  // The same sums as /v1/gpu/cluster (an over-commit, should Redis ever hold one, shows in both).
  const placements = livePlacements(live);
  const view = clusterViewOf(cluster, placements, pending.length);
  m.deviceShare.reset();
  m.deviceMemory.reset();
  for (const node of view.nodes) {
    for (const g of node.gpus) {
      const labels = { node: node.name, gpu: String(g.index), board: g.board === null ? '' : String(g.board) };
      m.deviceShare.set(labels, g.allocatedMilli / 1000);
      m.deviceMemory.set(labels, g.allocatedMemoryMiB * MIB);
    }
  }
  m.allocationRatio.set(view.allocationRatio);
  // Fragmentation needs the free amounts per node: the placement core's bookkeeping.
  const state = new ClusterState(cluster);
  for (const p of placements) state.reserve(p);
  const specs = typicalSpecs([...live, ...pending].map((j) => requestOf(j.id, j.spec)));
  let frag = 0;
  for (let n = 0; n < state.nodeCount; n++) {
    frag += nodeFragMilli(state.cpuFreeMilli[n] ?? 0, state.nodeModel[n] ?? '', state.gpuFreeMilli, state.gpuOffset[n] ?? 0, state.gpuCount[n] ?? 0, specs);
  }
  m.fragmentationRatio.set(state.totalGpuMilli > 0 && specs.length > 0 ? frag / state.totalGpuMilli : 0);
  m.liveJobs.set(placements.length);
  m.queueDepth.reset();
  const depth = new Map<string, { tenant: string; priority: string; n: number }>();
  for (const j of pending) {
    const tenant = tenantLabel(tenants, j.spec.tenant);
    const priority = priorityBucket(j.spec.priority);
    const key = `${tenant}\u0000${priority}`;
    const e = depth.get(key) ?? { tenant, priority, n: 0 };
    e.n++;
    depth.set(key, e);
  }
  for (const e of depth.values()) m.queueDepth.set({ tenant: e.tenant, priority: e.priority }, e.n);
}
