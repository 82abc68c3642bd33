// Why: the default within-node device choice (BENCHMARKS.md §2 step 5): a share goes to the device with
// the least free milli that fits (lowest index on ties); whole devices are the first idle ones by index.
import type { Demand } from '../demand.ts';
import type { ClusterState } from '../state.ts';

export function bestFitDevices(state: ClusterState, demand: Demand, n: number): number[] | undefined {
  if (demand.gpuCount === 0) return [];
  const off = state.gpuOffset[n] ?? 0;
  const count = state.gpuCount[n] ?? 0;
  if (demand.exclusive) {
    const chosen: number[] = [];
    for (let g = 0; g < count && chosen.length < demand.gpuCount; g++) {
      if (state.gpuExclusive[off + g] === 0 && state.gpuHolders[off + g] === 0) chosen.push(g);
    }
    return chosen.length === demand.gpuCount ? chosen : undefined;
  }
  let best = -1;
  let bestFree = Infinity;
  for (let g = 0; g < count; g++) {
    const d = off + g;
    const free = state.gpuFreeMilli[d] ?? 0;
    if (state.gpuExclusive[d] === 1) continue;
    if (free < demand.gpuMilliPerDevice || (state.gpuFreeMemoryMiB[d] ?? 0) < demand.gpuMemoryMiBPerDevice) continue;
    if (free < bestFree) {
      best = g;
      bestFree = free;
    }
  }
  return best < 0 ? undefined : [best];
}
