// Why: a high-priority job that fits nowhere may evict lower-priority work, and what it destroys is the
// work those jobs have done so far. Per node, evict the cheapest candidates until the job fits, put
// back any that turn out unneeded, then take the node whose victims cost least. Pure: plans on a
// clone of the state and never touches the caller's.
import type { NodeMask } from '../placement/select.ts';
import type { Placement, PlacementRequest } from '../placement/model.ts';
import { demandOf } from '../placement/demand.ts';
import { fits } from '../placement/filter.ts';
import type { Policy } from '../placement/policies/types.ts';
import type { Prng } from '../placement/prng.ts';
import { selectPlacement } from '../placement/select.ts';
import type { ClusterState } from '../placement/state.ts';
import type { LiveJob } from './pass.ts';

export interface PreemptionPlan {
  /** Ids of the jobs to release (all on the placement's node), cheapest first. */
  victims: string[];
  /** Where the request goes once the victims are released (computed on that state by the policy). */
  placement: Placement;
  /** Sum of the victims' costs (see preemptionCost). */
  costGpuMilliSeconds: number;
}

/** GPU milli the placement holds. */
export function gpuMilliHeld(placement: Placement): number {
  let milli = 0;
  for (const d of placement.devices) milli += d.milli;
  return milli;
}

/** Work lost by evicting the job now: GPU milli held × seconds it has run (0 for CPU-only jobs). */
export function preemptionCost(job: LiveJob, nowMs: number): number {
  return (gpuMilliHeld(job.placement) * Math.max(0, nowMs - job.startedAtMs)) / 1000;
}

/** May `job` be evicted for `request`: strictly lower priority and not marked non-preemptible. */
export function isPreemptibleFor(job: LiveJob, request: PlacementRequest): boolean {
  return job.request.priority < request.priority && job.preemptible !== false;
}

interface Candidate {
  job: LiveJob;
  costGpuMilliSeconds: number;
}

/** Cheapest first; equal cost: the later start first (it has less to lose beyond GPU work), then id. */
function byCost(a: Candidate, b: Candidate): number {
  return (
    a.costGpuMilliSeconds - b.costGpuMilliSeconds ||
    b.job.startedAtMs - a.job.startedAtMs ||
    (a.job.id < b.job.id ? -1 : a.job.id > b.job.id ? 1 : 0)
  );
}

/**
 * The cheapest set of candidates whose release lets `request` fit on one node, and its placement
 * there; undefined when no node works even after evicting every eligible candidate on it. Only nodes
 * holding an eligible candidate are considered (the caller asks once plain placement has failed).
 * Candidates not eligible (isPreemptibleFor), not held in `state`, or on nodes masked out by
 * `allowed` are ignored. A "fit" includes the policy being able to score the node.
 */
export function choosePreemption(
  state: ClusterState,
  request: PlacementRequest,
  candidates: readonly LiveJob[],
  nowMs: number,
  policy: Policy,
  prng: Prng,
  allowed?: NodeMask,
): PreemptionPlan | undefined {
  const demand = demandOf(request);
  const byNode = new Map<number, Candidate[]>();
  for (const job of candidates) {
    if (!isPreemptibleFor(job, request) || !state.has(job.id)) continue;
    const n = state.nodeIndexByName.get(job.placement.node);
    if (n === undefined) continue;
    const list = byNode.get(n) ?? [];
    list.push({ job, costGpuMilliSeconds: preemptionCost(job, nowMs) });
    byNode.set(n, list);
  }
  if (byNode.size === 0) return undefined;

  const scratch = state.clone();
  // "Fits" includes the policy being able to score the node, so the final selectPlacement agrees.
  const fitsOn = (n: number): boolean => fits(scratch, demand, n) && policy.score(scratch, demand, n) !== undefined;
  const putBack = (c: Candidate): void => {
    const r = scratch.reserve(c.job.placement);
    if (!r.ok) throw new Error(`choosePreemption: cannot restore ${c.job.id}: ${r.reason}`);
  };

  let best: { nodeIndex: number; victims: Candidate[]; cost: number } | undefined;
  for (const [n, list] of [...byNode].sort((a, b) => a[0] - b[0])) {
    if (allowed !== undefined && allowed(n) !== true) continue;
    list.sort(byCost);
    const removed: Candidate[] = [];
    let ok = fitsOn(n);
    for (const c of list) {
      if (ok) break;
      scratch.unreserve(c.job.id);
      removed.push(c);
      ok = fitsOn(n);
    }
    if (!ok) {
      for (const c of removed) putBack(c);
      continue;
    }
    // Prune: the greedy prefix may include cheap victims a later, bigger one made unnecessary.
    const needed = new Set<Candidate>(removed);
    for (let i = removed.length - 1; i >= 0; i--) {
      const c = removed[i] as Candidate;
      putBack(c);
      if (fitsOn(n)) needed.delete(c);
      else scratch.unreserve(c.job.id);
    }
    const victims = removed.filter((c) => needed.has(c));
    const cost = victims.reduce((a, c) => a + c.costGpuMilliSeconds, 0);
    if (best === undefined || cost < best.cost || (cost === best.cost && victims.length < best.victims.length)) {
      best = { nodeIndex: n, victims, cost };
    }
    for (const c of victims) putBack(c);
  }
  if (best === undefined) return undefined;

  for (const c of best.victims) scratch.unreserve(c.job.id);
  const chosen = best.nodeIndex;
  const out = selectPlacement(scratch, request, policy, prng, demand, undefined, (n) => n === chosen);
  if (out.kind !== 'placed') return undefined;
  return { victims: best.victims.map((c) => c.job.id), placement: out.placement, costGpuMilliSeconds: best.cost };
}
