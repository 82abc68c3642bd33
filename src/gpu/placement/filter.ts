// Why: the Filter step of the pipeline (BENCHMARKS.md §2 step 4): may this node host the request?
// `fits` is the hot path (no allocation); `explain` gives the readable reason when it may not.
import type { Demand } from './demand.ts';
import { modelAllowed } from './demand.ts';
import type { ClusterState } from './state.ts';

/** Devices on node n that could take one unit of the demand (exclusive: idle devices only). */
export function usableDeviceCount(state: ClusterState, demand: Demand, n: number): number {
  const off = state.gpuOffset[n] ?? 0;
  const count = state.gpuCount[n] ?? 0;
  let usable = 0;
  for (let g = 0; g < count; g++) {
    const d = off + g;
    if (state.gpuExclusive[d] === 1) continue;
    if (demand.exclusive) {
      if ((state.gpuHolders[d] ?? 0) === 0) usable++;
    } else if (
      (state.gpuFreeMilli[d] ?? 0) >= demand.gpuMilliPerDevice &&
      (state.gpuFreeMemoryMiB[d] ?? 0) >= demand.gpuMemoryMiBPerDevice
    ) {
      usable++;
    }
  }
  return usable;
}

export function fits(state: ClusterState, demand: Demand, n: number): boolean {
  if ((state.cpuFreeMilli[n] ?? 0) < demand.cpuMilli) return false;
  if ((state.memoryFreeMiB[n] ?? 0) < demand.memoryMiB) return false;
  if (demand.gpuCount === 0) return true;
  if (!modelAllowed(demand.gpuModels, state.nodeModel[n] ?? '')) return false;
  if ((state.nodeGpuFreeMilli[n] ?? 0) < demand.gpuCount * demand.gpuMilliPerDevice) return false;
  return usableDeviceCount(state, demand, n) >= demand.gpuCount;
}

export type FailKind = 'cpu' | 'memory' | 'gpu model' | 'gpu';

/** What stops node n hosting the demand, without building a message (summaries count these). */
export function failKind(state: ClusterState, demand: Demand, n: number): FailKind | undefined {
  if ((state.cpuFreeMilli[n] ?? 0) < demand.cpuMilli) return 'cpu';
  if ((state.memoryFreeMiB[n] ?? 0) < demand.memoryMiB) return 'memory';
  if (demand.gpuCount === 0) return undefined;
  if (!modelAllowed(demand.gpuModels, state.nodeModel[n] ?? '')) return 'gpu model';
  return usableDeviceCount(state, demand, n) >= demand.gpuCount ? undefined : 'gpu';
}

/** Why node n cannot host the demand, readably; undefined when it can. */
export function explain(state: ClusterState, demand: Demand, n: number): string | undefined {
  switch (failKind(state, demand, n)) {
    case undefined:
      return undefined;
    case 'cpu':
      return `cpu: need ${demand.cpuMilli}m, free ${state.cpuFreeMilli[n] ?? 0}m`;
    case 'memory':
      return `memory: need ${demand.memoryMiB}MiB, free ${state.memoryFreeMiB[n] ?? 0}MiB`;
    case 'gpu model': {
      const model = state.nodeModel[n] ?? '';
      return `gpu model: wants ${demand.gpuModels.join('|')}, node has ${model === '' ? 'no GPU' : model}`;
    }
    case 'gpu':
      if (demand.exclusive) return `gpu: need ${demand.gpuCount} idle devices, node has ${usableDeviceCount(state, demand, n)}`;
      return demand.gpuMemoryMiBPerDevice > 0
        ? `gpu: no device with ${demand.gpuMilliPerDevice}m and ${demand.gpuMemoryMiBPerDevice}MiB free`
        : `gpu: no device with ${demand.gpuMilliPerDevice}m free`;
  }
}
