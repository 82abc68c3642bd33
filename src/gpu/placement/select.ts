// Why: the pipeline for one request: filter every node, score the feasible ones, pick the best score,
// build the placement. Ties go to the node of lowest `nodeRank` when one is given (the FGD authors'
// simulator: nodes carry a per-run random order and its scheduler prefers the smallest name, which
// quietly packs ties onto the same nodes), else to a uniform draw from the seeded PRNG. Returns an
// Outcome value; it does not reserve (the caller reserves, so a failed bind can unreserve).
// `allowed` masks nodes out (the scheduling pass holds a node for a starving job): a masked node is
// skipped like one that does not fit, and the summary counts it as "reserved".
import type { Outcome, PlacementRequest } from './model.ts';
import type { Demand } from './demand.ts';
import { demandOf } from './demand.ts';
import { explain, failKind, fits } from './filter.ts';
import type { Prng } from './prng.ts';
import type { Policy } from './policies/types.ts';
import type { ClusterState } from './state.ts';

export function selectPlacement(
  state: ClusterState,
  request: PlacementRequest,
  policy: Policy,
  prng: Prng,
  demand: Demand = demandOf(request),
  nodeRank?: ArrayLike<number>,
  allowed?: NodeMask,
): Outcome {
  let bestScore = -Infinity;
  let bestDevices: readonly number[] = [];
  let ties = 0;
  let chosen = -1;
  for (let n = 0; n < state.nodeCount; n++) {
    if (allowed !== undefined && allowed(n) !== true) continue;
    if (!fits(state, demand, n)) continue;
    const s = policy.score(state, demand, n);
    if (s === undefined) continue;
    if (s.score > bestScore) {
      bestScore = s.score;
      bestDevices = s.devices;
      chosen = n;
      ties = 1;
    } else if (s.score === bestScore) {
      if (nodeRank !== undefined) {
        if ((nodeRank[n] ?? 0) < (nodeRank[chosen] ?? 0)) {
          chosen = n;
          bestDevices = s.devices;
        }
        continue;
      }
      // Reservoir sampling: each of the k tied nodes ends up chosen with probability 1/k.
      ties++;
      if (prng.int(ties) === 0) {
        chosen = n;
        bestDevices = s.devices;
      }
    }
  }
  if (chosen < 0) return { kind: 'unschedulable', reasons: summarise(state, demand, allowed) };
  const node = state.spec.nodes[chosen];
  if (node === undefined) return { kind: 'unschedulable', reasons: ['internal: chosen node out of range'] };
  return {
    kind: 'placed',
    placement: {
      requestId: request.id,
      node: node.name,
      cpuMilli: demand.cpuMilli,
      memoryMiB: demand.memoryMiB,
      devices: bestDevices.map((g) => ({
        gpuIndex: g,
        milli: demand.gpuMilliPerDevice,
        memoryMiB: demand.exclusive ? (node.gpus[g]?.memoryMiB ?? 0) : demand.gpuMemoryMiBPerDevice,
      })),
      exclusive: demand.exclusive,
    },
  };
}

/** The reason given for a node masked out by `allowed` (false); its kind (before the colon) is "reserved". */
export const RESERVED_REASON = 'reserved: held for another job in this pass';

/**
 * Which nodes a placement may use: true; false (held for another job: "reserved"); or a reason it may
 * not ("kind: detail", e.g. a pod's untolerated taint), counted by its kind in the summary.
 */
export type NodeMask = (nodeIndex: number) => boolean | string;

/**
 * Why the request could never be placed, even with every node empty (`empty` is a ClusterState with
 * nothing reserved); undefined when some node could take it. The API refuses such requests (422) and
 * the scheduling pass never waits for them.
 */
export function neverFits(empty: ClusterState, demand: Demand): string[] | undefined {
  for (let n = 0; n < empty.nodeCount; n++) if (fits(empty, demand, n)) return undefined;
  return summarise(empty, demand);
}

/** k8s style: "0/1213 nodes are available: 800 cpu, 413 gpu", then the first few node reasons. */
function summarise(state: ClusterState, demand: Demand, allowed?: NodeMask): string[] {
  // Counted by kind for every node; readable reasons (strings) only for the first few.
  const byKind = new Map<string, number>();
  const detail: string[] = [];
  for (let n = 0; n < state.nodeCount; n++) {
    const verdict = allowed === undefined ? true : allowed(n);
    const masked = verdict === true ? undefined : verdict === false ? RESERVED_REASON : verdict;
    const kind = masked !== undefined ? masked.split(':')[0]! : (failKind(state, demand, n) ?? 'policy');
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    if (detail.length < 3) {
      const reason = masked ?? explain(state, demand, n) ?? 'policy: could not score';
      detail.push(`${state.spec.nodes[n]?.name}: ${reason}`);
    }
  }
  const kinds = [...byKind].map(([k, c]) => `${c} ${k}`).join(', ');
  return [`0/${state.nodeCount} nodes are available: ${kinds}`, ...detail];
}
