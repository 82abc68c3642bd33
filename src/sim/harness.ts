// Why: one (trace, policy, seed) trial of the FGD protocol: sequential placement, one attempt per pod,
// no retry, no departures; after every pod it records arrived/allocated GPU and the fragment amount,
// and it times each decision (the only place with a clock; the core has none).
import { performance } from 'node:perf_hooks';
import type { ClusterSpec, PlacementRequest } from '../gpu/placement/model.ts';
import { demandOf } from '../gpu/placement/demand.ts';
import { nodeFragMilli } from '../gpu/placement/frag.ts';
import { checkState } from '../gpu/placement/invariants.ts';
import { createPrng, shuffleInPlace } from '../gpu/placement/prng.ts';
import { createPolicy } from '../gpu/placement/policies/registry.ts';
import { selectPlacement } from '../gpu/placement/select.ts';
import { ClusterState } from '../gpu/placement/state.ts';
import { BucketMeans, gpuMilliOf, prepareWorkload, typicalSpecs } from './protocol.ts';

export interface TrialResult {
  policy: string;
  seed: number;
  pods: number;
  placed: number;
  failed: number;
  /** Allocation % and fragment % (of all GPU) by arrived %, index 0..130. */
  allocationPctByArrived: number[];
  fragmentPctByArrived: number[];
  unallocatedPctAt100: number;
  unallocatedPctAt130: number;
  fragmentPctAt100: number;
  decisionMs: Float64Array;
  invariantViolations: string[];
}

export function runTrial(cluster: ClusterSpec, pods: readonly PlacementRequest[], policyName: string, seed: number): TrialResult {
  const state = new ClusterState(cluster);
  const capacity = state.totalGpuMilli;
  const workload = prepareWorkload(pods, capacity, createPrng(seed));
  const specs = typicalSpecs(workload);
  const policy = createPolicy(policyName, { typicalSpecs: specs });
  const tiePrng = createPrng((seed * 2654435761) >>> 0);
  // As in the authors' simulator: each run gives the nodes a random order, and ties go to the first.
  const nodeRank = new Uint32Array(shuffleInPlace(Array.from({ length: state.nodeCount }, (_, i) => i), tiePrng));
  const nodeFrag = new Float64Array(state.nodeCount);
  let fragTotal = 0;
  const refreshFrag = (n: number): void => {
    const f = nodeFragMilli(state.cpuFreeMilli[n] ?? 0, state.nodeModel[n] ?? '', state.gpuFreeMilli, state.gpuOffset[n] ?? 0, state.gpuCount[n] ?? 0, specs);
    fragTotal += f - (nodeFrag[n] ?? 0);
    nodeFrag[n] = f;
  };
  for (let n = 0; n < state.nodeCount; n++) refreshFrag(n);

  const alloc = new BucketMeans(130);
  const frag = new BucketMeans(130);
  const decisionMs = new Float64Array(workload.length);
  let arrived = 0;
  let placed = 0;
  const violations: string[] = [];
  workload.forEach((request, i) => {
    const demand = demandOf(request);
    const t0 = performance.now();
    const outcome = selectPlacement(state, request, policy, tiePrng, demand, nodeRank);
    decisionMs[i] = performance.now() - t0;
    if (outcome.kind === 'placed') {
      const r = state.reserve(outcome.placement);
      if (!r.ok) violations.push(`reserve refused a selected placement: ${r.reason}`);
      else {
        placed++;
        refreshFrag(state.nodeIndexByName.get(outcome.placement.node) ?? 0);
      }
    }
    arrived += gpuMilliOf(request);
    const arrivedPct = (100 * arrived) / capacity;
    alloc.add(arrivedPct, (100 * state.allocatedGpuMilli) / capacity);
    frag.add(arrivedPct, (100 * fragTotal) / capacity);
  });
  violations.push(...checkState(state).map((v) => `${v.kind}: ${v.message}`));
  const allocationPctByArrived = alloc.means();
  const fragmentPctByArrived = frag.means();
  return {
    policy: policyName,
    seed,
    pods: workload.length,
    placed,
    failed: workload.length - placed,
    allocationPctByArrived,
    fragmentPctByArrived,
    unallocatedPctAt100: 100 - (allocationPctByArrived[100] ?? Number.NaN),
    unallocatedPctAt130: 100 - (allocationPctByArrived[130] ?? Number.NaN),
    fragmentPctAt100: fragmentPctByArrived[100] ?? Number.NaN,
    decisionMs,
    invariantViolations: violations,
  };
}
