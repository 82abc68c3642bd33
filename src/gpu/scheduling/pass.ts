// Why: one scheduling pass of the GPU job service, as a pure function of (cluster, live jobs, queue,
// time): which queued jobs start where, which lower-priority jobs they evict, and why the others wait.
// The service and the K80 simulation both call it, so what the bench measures is what would run.
// No I/O, no clock (nowMs is an input), randomness only through the given seeded PRNG.
import type { ClusterSpec, Outcome, Placement, PlacementRequest } from '../placement/model.ts';
import type { Demand } from '../placement/demand.ts';
import { demandOf } from '../placement/demand.ts';
import { fits } from '../placement/filter.ts';
import type { Policy } from '../placement/policies/types.ts';
import type { Prng } from '../placement/prng.ts';
import { neverFits, selectPlacement, type NodeMask } from '../placement/select.ts';
import { ClusterState } from '../placement/state.ts';
import { addUsage, clusterTotals, dominantShare, tenantUsage, usageOfRequest } from './fair-share.ts';
import { choosePreemption, isPreemptibleFor } from './preemption.ts';

export interface PendingJob {
  id: string;
  request: PlacementRequest;
  queuedAtMs: number;
  /**
   * A gang (a Kubernetes pod group): its members are placed together or not at all, once `minMember`
   * of them (running members included) can run at the same time.
   */
  gang?: Gang;
  /**
   * Why a node is out for this job apart from resources ("kind: detail": a pod's nodeSelector, an
   * untolerated taint, a cordoned node), by node name; undefined = every node may be used.
   */
  excludedNodes?: ReadonlyMap<string, string>;
}

export interface Gang {
  id: string;
  /** Members that must run at once (>= 1): running ones count. */
  minMember: number;
}

export interface LiveJob {
  id: string;
  request: PlacementRequest;
  placement: Placement;
  startedAtMs: number;
  /** false: never evicted for a higher-priority job (undefined = may be). */
  preemptible?: boolean;
  /** The gang this job belongs to (its running members count towards the gang's minMember). */
  gangId?: string;
}

export interface TenantPolicy {
  /** Fair-share weight (> 0): a tenant of weight 2 is served as if its usage were half. */
  weight: number;
  /** Most GPU milli the tenant may hold at once (undefined = no limit). */
  quotaGpuMilli?: number;
}

export interface PassInput {
  cluster: ClusterSpec;
  /** Current allocations; the pass reserves them into a fresh ClusterState (placement.requestId === id). */
  live: readonly LiveJob[];
  /** Any order; request.id === id; request.tenant and request.priority are used. */
  pending: readonly PendingJob[];
  nowMs: number;
  policy: Policy;
  prng: Prng;
  /** Default { weight: 1 } for every tenant. */
  tenantPolicy?: (tenant: string) => TenantPolicy;
  /** false: strict order, the first job that does not fit stops the pass (the FIFO baseline). */
  backfill: boolean;
  /**
   * 'fair' (default): priority, then fair share between tenants, then age. 'arrival': age alone, blind
   * to priority and tenant, as a plain queue (the FIFO baseline of BENCHMARKS.md §3).
   */
  order?: 'fair' | 'arrival';
  /** Backfill: a job that does not fit and has waited longer than this gets a reservation. */
  starvationMs: number;
  preemption: boolean;
  /** Most place decisions per pass (default unlimited); the rest wait for the next pass. */
  maxPlacements?: number;
}

export type Decision =
  /** preempt: victims to release atomically before binding the placement (usually []). */
  { kind: 'place'; jobId: string; placement: Placement; preempt: string[] };

export interface Blocked {
  jobId: string;
  /** Readable: "0/4 nodes are available: ...", "quota: ...", "waiting behind X", ... */
  reason: string;
}

export interface Reservation {
  jobId: string;
  node: string;
}

export interface PassResult {
  /** In the order they were made; applying them in order never over-commits. */
  decisions: Decision[];
  blocked: Blocked[];
  /** Backfill: at most one per pass (see schedulePass). */
  reservations: Reservation[];
  /** The live jobs, minus victims, plus the placed jobs. */
  state: ClusterState;
}

const DEFAULT_TENANT_POLICY: TenantPolicy = { weight: 1 };

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byAge = (a: PendingJob, b: PendingJob): number => a.queuedAtMs - b.queuedAtMs || compareStrings(a.id, b.id);

/**
 * Order: priority descending; within a priority, progressive filling between tenants (repeatedly the
 * tenant of lowest weighted dominant share, recomputed as the pass places and evicts; ties by tenant
 * name) and its oldest job (queuedAtMs, then id). A job that does not fit:
 *  1. with `preemption`, evicts the cheapest lower-priority preemptible live jobs that make it fit;
 *  2. else with `backfill` waits while later jobs may pass it; the first job in pass order that has
 *     waited longer than `starvationMs` reserves a node (the compatible node with the most free GPU
 *     milli, ties by node order) that no later job may use in this pass. One reservation per pass
 *     (EASY backfill: once that job starts, the next starving job gets the next pass's reservation);
 *  3. else (FIFO) stops the pass: every job behind it is blocked "waiting behind" it.
 * Jobs over their tenant's GPU quota (checked before any eviction), jobs already placed or whose
 * request.id differs from their id, and jobs that fit no node even on the empty cluster are blocked
 * with their reason and never stop the pass nor trigger eviction. `maxPlacements` counts decisions.
 * Gangs (PendingJob.gang) are placed all or none when their first member comes up (see handleGang):
 * no eviction and no reservation for them yet.
 * Throws only when `live` itself over-commits the cluster (the caller's state is corrupt).
 */
export function schedulePass(input: PassInput): PassResult {
  const { cluster, nowMs, policy, prng } = input;
  const state = new ClusterState(cluster);
  for (const job of input.live) {
    if (job.placement.requestId !== job.id) throw new Error(`schedulePass: live job ${job.id} holds a placement of ${job.placement.requestId}`);
    const r = state.reserve(job.placement);
    if (!r.ok) throw new Error(`schedulePass: live job ${job.id} cannot be reserved: ${r.reason}`);
  }
  const liveById = new Map(input.live.map((l) => [l.id, l]));
  const usage = tenantUsage(input.live);
  const totals = clusterTotals(cluster);
  const policies = new Map<string, TenantPolicy>();
  const tenantPolicyOf = (tenant: string): TenantPolicy => {
    let p = policies.get(tenant);
    if (p === undefined) {
      p = input.tenantPolicy?.(tenant) ?? DEFAULT_TENANT_POLICY;
      policies.set(tenant, p);
    }
    return p;
  };
  const shareOf = (tenant: string): number => dominantShare(usage.get(tenant), totals, tenantPolicyOf(tenant).weight);

  const decisions: Decision[] = [];
  const blocked: Blocked[] = [];
  const reservations: Reservation[] = [];
  let reserved: { jobId: string; nodeIndex: number } | undefined;
  const mask = (n: number): boolean => reserved === undefined || n !== reserved.nodeIndex;
  /** The nodes a job may use now: not the reserved one, nor one its own filter excludes (with its reason). */
  const maskFor = (job: PendingJob): NodeMask | undefined => {
    const excluded = job.excludedNodes;
    if (excluded === undefined || excluded.size === 0) return reserved === undefined ? undefined : mask;
    return (n) => (!mask(n) ? false : (excluded.get(cluster.nodes[n]?.name ?? '') ?? true));
  };
  let empty: ClusterState | undefined;
  const emptyState = (): ClusterState => (empty ??= new ClusterState(cluster));
  const maxPlacements = input.maxPlacements ?? Infinity;

  const place = (job: PendingJob, placement: Placement, preempt: string[]): void => {
    for (const id of preempt) {
      const victim = liveById.get(id);
      if (victim === undefined || !state.unreserve(id)) throw new Error(`schedulePass: victim ${id} is not live`);
      addUsage(usage, victim.request.tenant, usageOfRequest(victim.request), -1);
    }
    const r = state.reserve(placement);
    if (!r.ok) throw new Error(`schedulePass: selected placement for ${job.id} refused: ${r.reason}`);
    addUsage(usage, job.request.tenant, usageOfRequest(job.request), 1);
    decisions.push({ kind: 'place', jobId: job.id, placement, preempt });
  };

  const unschedulableReason = (out: Outcome, demand: Demand): string => {
    if (reserved !== undefined && fits(state, demand, reserved.nodeIndex)) {
      return `waiting behind reserved job ${reserved.jobId} (node ${cluster.nodes[reserved.nodeIndex]?.name})`;
    }
    return out.kind === 'unschedulable' ? out.reasons.join('; ') : 'internal: placed';
  };

  /** Why the job can never run here, or undefined when some node could take it once empty. */
  const neverFitsByShape = new Map<string, string | undefined>();
  const neverFitsReason = (demand: Demand): string | undefined => {
    const key = `${demand.key}/${demand.memoryMiB}`;
    if (!neverFitsByShape.has(key)) {
      const reasons = neverFits(emptyState(), demand);
      neverFitsByShape.set(key, reasons === undefined ? undefined : `never fits, even on the empty cluster: ${reasons.join('; ')}`);
    }
    return neverFitsByShape.get(key);
  };

  /** The node a starving job holds: compatible with it when empty, most free GPU milli now, lowest index. */
  const reservationNode = (demand: Demand, job: PendingJob): number => {
    const e = emptyState();
    const allowed = maskFor(job); // the reserved node and the job's own exclusions
    let best = -1;
    for (let n = 0; n < state.nodeCount; n++) {
      if ((allowed !== undefined && allowed(n) !== true) || !fits(e, demand, n)) continue;
      if (best < 0 || (state.nodeGpuFreeMilli[n] ?? 0) > (state.nodeGpuFreeMilli[best] ?? 0)) best = n;
    }
    return best;
  };

  // Gangs: every pending member, oldest first, handled together when the first of them comes up.
  const gangMembers = new Map<string, PendingJob[]>();
  for (const job of input.pending) {
    if (job.gang === undefined) continue;
    const members = gangMembers.get(job.gang.id);
    if (members === undefined) gangMembers.set(job.gang.id, [job]);
    else members.push(job);
  }
  for (const members of gangMembers.values()) members.sort(byAge);
  const gangRunning = new Map<string, number>();
  for (const l of input.live) if (l.gangId !== undefined) gangRunning.set(l.gangId, (gangRunning.get(l.gangId) ?? 0) + 1);
  const gangsHandled = new Set<string>();

  /**
   * All or none: each member is placed on a tentative state (no eviction for gangs); when running plus
   * placed members reach minMember they are all decided, else every tentative reservation is undone and
   * every member waits with the gang's reason (and FIFO stops behind it).
   */
  const handleGang = (gang: Gang): { stop?: string } => {
    if (gangsHandled.has(gang.id)) return {};
    gangsHandled.add(gang.id);
    const members = gangMembers.get(gang.id) ?? [];
    const blockAll = (reason: string) => {
      for (const m of members) blocked.push({ jobId: m.id, reason });
    };
    const tenant = members[0]?.request.tenant ?? '';
    const quota = tenantPolicyOf(tenant).quotaGpuMilli;
    const wanted = members.reduce((n, m) => n + usageOfRequest(m.request).gpuMilli, 0);
    if (quota !== undefined && (usage.get(tenant)?.gpuMilli ?? 0) + wanted > quota) {
      blockAll(`quota: gang ${gang.id} would put tenant ${tenant} at ${(usage.get(tenant)?.gpuMilli ?? 0) + wanted}m > ${quota}m`);
      return {};
    }
    if (decisions.length + members.length > maxPlacements) {
      blockAll(`pass limit: gang ${gang.id} needs ${members.length} placements, ${Math.max(0, maxPlacements - decisions.length)} left; next pass`);
      return {};
    }
    const tentative: { job: PendingJob; placement: Placement }[] = [];
    const misfits: { job: PendingJob; reason: string }[] = [];
    for (const m of members) {
      if (m.request.id !== m.id || state.has(m.id)) {
        misfits.push({ job: m, reason: m.request.id !== m.id ? `invalid: request.id ${m.request.id} differs from the job id` : 'already placed (live, or earlier in this pass)' });
        continue;
      }
      const demand = demandOf(m.request);
      const out = selectPlacement(state, m.request, policy, prng, demand, undefined, maskFor(m));
      if (out.kind === 'placed' && state.reserve(out.placement).ok) tentative.push({ job: m, placement: out.placement });
      else misfits.push({ job: m, reason: unschedulableReason(out, demand) });
    }
    for (const t of tentative) state.unreserve(t.job.id);
    const running = gangRunning.get(gang.id) ?? 0;
    if (running + tentative.length >= gang.minMember) {
      for (const t of tentative) place(t.job, t.placement, []);
      for (const m of misfits) blocked.push({ jobId: m.job.id, reason: `gang ${gang.id} runs with ${gang.minMember} members; this one: ${m.reason}` });
      return {};
    }
    blockAll(`gang ${gang.id}: ${running + tentative.length} of ${gang.minMember} members can run (${running} running); placed all or none${misfits[0] ? `; ${misfits[0].job.id}: ${misfits[0].reason}` : ''}`);
    return input.backfill ? {} : { stop: `waiting behind gang ${gang.id}` };
  };

  /** `stop` set: a FIFO misfit; every job after this one waits with that reason. */
  const handle = (job: PendingJob): { stop?: string } => {
    if (job.gang) return handleGang(job.gang);
    const request = job.request;
    if (request.id !== job.id) {
      blocked.push({ jobId: job.id, reason: `invalid: request.id ${request.id} differs from the job id` });
      return {};
    }
    if (state.has(job.id)) {
      blocked.push({ jobId: job.id, reason: 'already placed (live, or earlier in this pass)' });
      return {};
    }
    const quota = tenantPolicyOf(request.tenant).quotaGpuMilli;
    if (quota !== undefined) {
      const wouldHold = (usage.get(request.tenant)?.gpuMilli ?? 0) + usageOfRequest(request).gpuMilli;
      if (wouldHold > quota) {
        blocked.push({ jobId: job.id, reason: `quota: tenant ${request.tenant} would hold ${wouldHold}m > ${quota}m` });
        return {};
      }
    }
    const demand = demandOf(request);
    const out = selectPlacement(state, request, policy, prng, demand, undefined, maskFor(job));
    if (out.kind === 'placed') {
      place(job, out.placement, []);
      return {};
    }
    const never = neverFitsReason(demand);
    if (never !== undefined) {
      blocked.push({ jobId: job.id, reason: never });
      return {};
    }
    if (input.preemption) {
      const candidates = input.live.filter((l) => isPreemptibleFor(l, request) && state.has(l.id));
      if (candidates.length > 0) {
        const plan = choosePreemption(state, request, candidates, nowMs, policy, prng, maskFor(job));
        if (plan !== undefined) {
          place(job, plan.placement, plan.victims);
          return {};
        }
      }
    }
    const reason = unschedulableReason(out, demand);
    blocked.push({ jobId: job.id, reason });
    if (!input.backfill) return { stop: `waiting behind ${job.id}` };
    if (reserved === undefined && nowMs - job.queuedAtMs > input.starvationMs) {
      const n = reservationNode(demand, job);
      if (n >= 0) {
        reserved = { jobId: job.id, nodeIndex: n };
        reservations.push({ jobId: job.id, node: cluster.nodes[n]?.name ?? '' });
      }
    }
    return {};
  };

  // Levels of priority, highest first; within a level, each tenant's queue oldest first, consumed
  // from `head` (no shifting: a pass over a long queue stays linear in it).
  const levels = new Map<number, Map<string, { jobs: PendingJob[]; head: number }>>();
  const arrival = input.order === 'arrival';
  for (const job of input.pending) {
    // Arrival order: one level, one queue, so age alone decides.
    const level = arrival ? 0 : job.request.priority;
    const queue = arrival ? '' : job.request.tenant;
    const byTenant = levels.get(level) ?? new Map<string, { jobs: PendingJob[]; head: number }>();
    const q = byTenant.get(queue) ?? { jobs: [], head: 0 };
    q.jobs.push(job);
    byTenant.set(queue, q);
    levels.set(level, byTenant);
  }
  const priorities = [...levels.keys()].sort((a, b) => b - a);
  for (const byTenant of levels.values()) for (const q of byTenant.values()) q.jobs.sort(byAge);

  let stop: string | undefined;
  for (const priority of priorities) {
    const byTenant = levels.get(priority) ?? new Map<string, { jobs: PendingJob[]; head: number }>();
    while (stop === undefined) {
      let tenant: string | undefined;
      let tenantShare = Infinity;
      for (const [t, q] of byTenant) {
        if (q.head >= q.jobs.length) continue;
        const s = shareOf(t);
        if (tenant === undefined || s < tenantShare || (s === tenantShare && t < tenant)) {
          tenant = t;
          tenantShare = s;
        }
      }
      if (tenant === undefined) break;
      if (decisions.length >= maxPlacements) {
        stop = `pass limit: ${maxPlacements} placements made; next pass`;
        break;
      }
      const q = byTenant.get(tenant);
      const job = q?.jobs[q.head];
      if (q === undefined || job === undefined) break;
      q.head++;
      stop = handle(job).stop;
    }
    if (stop !== undefined) break;
  }
  if (stop !== undefined) {
    const rest: PendingJob[] = [];
    for (const byTenant of levels.values()) for (const q of byTenant.values()) rest.push(...q.jobs.slice(q.head));
    rest.sort((a, b) => (arrival ? 0 : b.request.priority - a.request.priority) || byAge(a, b));
    for (const job of rest) if (!(job.gang && gangsHandled.has(job.gang.id))) blocked.push({ jobId: job.id, reason: stop });
  }
  return { decisions, blocked, reservations, state };
}
