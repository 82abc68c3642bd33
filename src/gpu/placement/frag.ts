// Why: the FGD paper's fragment measure. F_n(M) = Σ_m p_m·F_n(m) over the typical pod specs M: the
// idle GPU milli on node n that a pod of spec m could not use. Shared by the FGD scorer (its growth)
// and the harness's "fragment amount" metric, so both measure the same thing.
import { modelAllowed } from './demand.ts';

/** One typical pod spec and its probability (the p_m sum to 1 over the list). */
export interface TypicalSpec {
  cpuMilli: number;
  gpuCount: number;
  /** Per device; 0 for CPU-only specs. */
  gpuMilliPerDevice: number;
  gpuModels: readonly string[];
  probability: number;
  /** Typical memory of pods of this spec (their mean); used only by memory-aware measures. */
  memoryMiB?: number;
}

/**
 * F_n(m) for one spec, given a node's free CPU, model and per-device free milli (`free[off..off+count)`).
 * CPU-only spec: all idle GPU is fragment. Spec that cannot run here (model, too few devices with
 * enough free milli, CPU short): all idle GPU. Else: idle milli on devices with less free than m wants.
 */
export function specFragMilli(
  cpuFreeMilli: number,
  model: string,
  free: ArrayLike<number>,
  off: number,
  count: number,
  spec: TypicalSpec,
  memoryFreeMiB?: number,
): number {
  let idle = 0;
  let below = 0;
  let enough = 0;
  for (let g = 0; g < count; g++) {
    const f = free[off + g] ?? 0;
    idle += f;
    if (f >= spec.gpuMilliPerDevice) enough++;
    else below += f;
  }
  if (spec.gpuCount === 0) return idle;
  if (!modelAllowed(spec.gpuModels, model)) return idle;
  if (enough < spec.gpuCount) return idle;
  if (cpuFreeMilli < spec.cpuMilli) return idle;
  if (memoryFreeMiB !== undefined && memoryFreeMiB < (spec.memoryMiB ?? 0)) return idle;
  return below;
}

/** F_n(M): expected fragment milli of a node over the typical specs. Cost O(|M| · devices). */
export function nodeFragMilli(
  cpuFreeMilli: number,
  model: string,
  free: ArrayLike<number>,
  off: number,
  count: number,
  specs: readonly TypicalSpec[],
  memoryFreeMiB?: number,
): number {
  if (count === 0) return 0;
  let sum = 0;
  for (const spec of specs) sum += spec.probability * specFragMilli(cpuFreeMilli, model, free, off, count, spec, memoryFreeMiB);
  return sum;
}
