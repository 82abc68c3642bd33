// Why: a PlacementRequest can say "2 whole GPUs", "a 300-milli share" or "no GPU"; filters, scorers
// and the fragment measure all want one normal form: how many devices, how much of each.
import type { PlacementRequest } from './model.ts';

export const MILLI_PER_GPU = 1000;

export interface Demand {
  cpuMilli: number;
  memoryMiB: number;
  /** Devices wanted: 0 (CPU only), 1 (share or one whole), or more (whole devices). */
  gpuCount: number;
  /** Milli wanted on each device: 1000 for whole devices, 1..999 for a share, 0 when gpuCount is 0. */
  gpuMilliPerDevice: number;
  gpuMemoryMiBPerDevice: number;
  /** Whole devices are held exclusively (nothing else may share them). */
  exclusive: boolean;
  /** Allowed models; empty = any. */
  gpuModels: readonly string[];
  /** Stable key of what the scorers depend on (cpu, gpu shape, models); memory excluded. */
  key: string;
  /** The GPU part of `key` alone (devices, milli and memory per device, models). */
  gpuKey: string;
}

export function demandOf(request: PlacementRequest): Demand {
  const whole = request.gpus ?? 0;
  const shareMilli = request.gpuMilli ?? 0;
  const shareMemoryMiB = request.gpuMemoryMiB ?? 0;
  let gpuCount = 0;
  let gpuMilliPerDevice = 0;
  let gpuMemoryMiBPerDevice = 0;
  let exclusive = false;
  if (whole > 0) {
    gpuCount = whole;
    gpuMilliPerDevice = MILLI_PER_GPU;
    exclusive = true;
  } else if (shareMilli >= MILLI_PER_GPU) {
    gpuCount = 1;
    gpuMilliPerDevice = MILLI_PER_GPU;
    exclusive = true;
  } else if (shareMilli > 0 || shareMemoryMiB > 0) {
    gpuCount = 1;
    gpuMilliPerDevice = shareMilli;
    gpuMemoryMiBPerDevice = shareMemoryMiB;
  }
  const gpuModels = request.gpuModels ?? [];
  const gpuKey = `${gpuCount}x${gpuMilliPerDevice}:${gpuMemoryMiBPerDevice}/${gpuModels.join('|')}`;
  return {
    cpuMilli: request.cpuMilli,
    memoryMiB: request.memoryMiB,
    gpuCount,
    gpuMilliPerDevice,
    gpuMemoryMiBPerDevice,
    exclusive,
    gpuModels,
    key: `${request.cpuMilli}/${gpuKey}`,
    gpuKey,
  };
}

/** GPU milli a request holds: whole devices 1000 each, a share its milli (≥ 1000 counts as one device). */
export function gpuMilliOf(request: PlacementRequest): number {
  const d = demandOf(request);
  return d.gpuCount * d.gpuMilliPerDevice;
}

export function modelAllowed(models: readonly string[], nodeModel: string): boolean {
  return models.length === 0 || models.includes(nodeModel);
}
