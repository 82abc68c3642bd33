// Why: Fragmentation Gradient Descent (Weng et al., ATC '23): place where the node's expected
// fragmentation F_n(M) grows least. Score = trunc(sigmoid(−growth/1000)·100), the authors' integer
// quantisation, so growths within a few tens of milli tie and the seeded PRNG decides.
// A share tries every device that fits (first best wins); whole devices take the first idle ones.
// Cost: O(|M|·devices) per (node, device) candidate, i.e. up to |M|·8·8 per node per decision; a
// per-node cache keyed by the demand's GPU shape and CPU/memory buckets (dropped when the node
// changes) makes a decision cost O(nodes) map look-ups plus one recomputation for the node changed last.
import type { Demand } from '../demand.ts';
import type { TypicalSpec } from '../frag.ts';
import { nodeFragMilli } from '../frag.ts';
import type { ClusterState } from '../state.ts';
import type { NodeScore, Policy } from './types.ts';
import { bestFitDevices } from './devices.ts';

export function fgdScoreOfGrowth(growthMilli: number): number {
  return Math.trunc((1 / (1 + Math.exp(growthMilli / 1000))) * 100);
}

export interface FgdOptions {
  /** Count a typical pod as unable to run where the node lacks its typical memory (FGD proper ignores memory). */
  memoryAware?: boolean;
  /**
   * Which idle devices whole-device demands take (default: the first by index). Any choice scores the
   * same (every idle device has 1000 milli free), so it is cached with the score.
   */
  wholeDevices?: (state: ClusterState, demand: Demand, n: number) => number[] | undefined;
}

export function createFgd(typicalSpecs: readonly TypicalSpec[], options: FgdOptions = {}): Policy {
  const memoryAware = options.memoryAware === true;
  const wholeDevices = options.wholeDevices ?? bestFitDevices;
  if (typicalSpecs.length === 0) throw new Error('fgd: expected a non-empty list of typical pod specs');
  let cachedFor: ClusterState | undefined;
  let versions = new Uint32Array(0);
  let caches: Map<string, Map<number, NodeScore | undefined>>[] = [];
  // F_n(M) depends on the node's free CPU (and, memory-aware, free memory) only through which typical
  // specs' CPU (memory) still fits: the score of a placement depends on the pod's CPU and memory only
  // through the bucket its leftovers fall in among those thresholds. The cache keys on the GPU shape
  // and the two buckets, so pods that differ only in CPU or memory share entries (same results).
  const cpuThresholds = thresholdsOf(typicalSpecs.map((s) => s.cpuMilli));
  const memoryThresholds = memoryAware ? thresholdsOf(typicalSpecs.map((s) => s.memoryMiB ?? 0)) : new Float64Array(0);
  let fragBefore = new Float64Array(0);
  const scratch = new Float64Array(64);

  const evaluate = (state: ClusterState, demand: Demand, n: number): NodeScore | undefined => {
    const off = state.gpuOffset[n] ?? 0;
    const count = state.gpuCount[n] ?? 0;
    const model = state.nodeModel[n] ?? '';
    const cpuAfter = (state.cpuFreeMilli[n] ?? 0) - demand.cpuMilli;
    const before = fragBefore[n] ?? 0;
    const memAfter = memoryAware ? (state.memoryFreeMiB[n] ?? 0) - demand.memoryMiB : undefined;
    for (let g = 0; g < count; g++) scratch[g] = state.gpuFreeMilli[off + g] ?? 0;
    if (demand.gpuCount === 1 && !demand.exclusive) {
      let best: NodeScore | undefined;
      for (let g = 0; g < count; g++) {
        const d = off + g;
        const free = state.gpuFreeMilli[d] ?? 0;
        if (state.gpuExclusive[d] === 1 || free < demand.gpuMilliPerDevice) continue;
        if ((state.gpuFreeMemoryMiB[d] ?? 0) < demand.gpuMemoryMiBPerDevice) continue;
        scratch[g] = free - demand.gpuMilliPerDevice;
        const score = fgdScoreOfGrowth(nodeFragMilli(cpuAfter, model, scratch, 0, count, typicalSpecs, memAfter) - before);
        scratch[g] = free;
        if (best === undefined || score > best.score) best = { score, devices: [g] };
      }
      return best;
    }
    const devices = demand.exclusive ? wholeDevices(state, demand, n) : bestFitDevices(state, demand, n);
    if (devices === undefined) return undefined;
    for (const g of devices) scratch[g] = (scratch[g] ?? 0) - demand.gpuMilliPerDevice;
    const growth = nodeFragMilli(cpuAfter, model, scratch, 0, count, typicalSpecs, memAfter) - before;
    return { score: fgdScoreOfGrowth(growth), devices };
  };

  return {
    name: 'fgd',
    score: (state, demand, n) => {
      if (cachedFor !== state) {
        cachedFor = state;
        versions = new Uint32Array(state.nodeCount).fill(0xffffffff);
        caches = Array.from({ length: state.nodeCount }, () => new Map());
        fragBefore = new Float64Array(state.nodeCount);
      }
      const cache = caches[n];
      if (cache === undefined) return undefined;
      if (versions[n] !== state.nodeVersion[n]) {
        versions[n] = state.nodeVersion[n] ?? 0;
        cache.clear();
        fragBefore[n] = nodeFragMilli(
          state.cpuFreeMilli[n] ?? 0,
          state.nodeModel[n] ?? '',
          state.gpuFreeMilli,
          state.gpuOffset[n] ?? 0,
          state.gpuCount[n] ?? 0,
          typicalSpecs,
          memoryAware ? (state.memoryFreeMiB[n] ?? 0) : undefined,
        );
      }
      let byBucket = cache.get(demand.gpuKey);
      if (byBucket === undefined) {
        byBucket = new Map();
        cache.set(demand.gpuKey, byBucket);
      }
      const cpuBucket = bucketOf(cpuThresholds, (state.cpuFreeMilli[n] ?? 0) - demand.cpuMilli);
      const memoryBucket = memoryAware ? bucketOf(memoryThresholds, (state.memoryFreeMiB[n] ?? 0) - demand.memoryMiB) : 0;
      const bucket = cpuBucket * (memoryThresholds.length + 1) + memoryBucket;
      if (byBucket.has(bucket)) return byBucket.get(bucket);
      const result = evaluate(state, demand, n);
      byBucket.set(bucket, result);
      return result;
    },
  };
}

/** Distinct values, ascending. */
function thresholdsOf(values: readonly number[]): Float64Array {
  return Float64Array.from(new Set(values)).sort();
}

/** How many thresholds are ≤ value (binary search): equal buckets = same "fits" answers for every spec. */
function bucketOf(thresholds: Float64Array, value: number): number {
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((thresholds[mid] ?? 0) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
