// Why: BENCHMARKS.md §2 step 3 and 7 exactly, so our numbers compare with the FGD paper's: the
// per-seed workload (sort by name, shuffle, inflate/trim to 1.3× GPU capacity), the typical pod specs,
// and the bucketing of allocation and fragment by arrived GPU.
import type { PlacementRequest } from '../gpu/placement/model.ts';
import type { Prng } from '../gpu/placement/prng.ts';
import { shuffleInPlace } from '../gpu/placement/prng.ts';

export { typicalSpecs } from '../gpu/placement/typical-specs.ts';

export { gpuMilliOf } from '../gpu/placement/demand.ts';
import { gpuMilliOf } from '../gpu/placement/demand.ts';

/** Sorted by name, shuffled, then inflated (sampling with replacement) or trimmed to ≤ ratio × capacity. */
export function prepareWorkload(
  pods: readonly PlacementRequest[],
  capacityGpuMilli: number,
  prng: Prng,
  tuneRatio = 1.3,
): PlacementRequest[] {
  const sorted = [...pods].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const out = shuffleInPlace([...sorted], prng);
  const target = tuneRatio * capacityGpuMilli;
  let total = out.reduce((a, p) => a + gpuMilliOf(p), 0);
  if (total < target && sorted.length > 0) {
    for (let copy = 0; ; copy++) {
      const pick = sorted[prng.int(sorted.length)] as PlacementRequest;
      const milli = gpuMilliOf(pick);
      if (total + milli > target) break;
      out.push({ ...pick, id: `${pick.id}-copy${copy}` });
      total += milli;
    }
  } else {
    while (total > target && out.length > 0) {
      const [removed] = out.splice(prng.int(out.length), 1);
      if (removed !== undefined) total -= gpuMilliOf(removed);
    }
  }
  return out;
}

/** Mean per bucket round(100·arrived/capacity), 0..maxPct; NaN where a bucket saw no sample. */
export class BucketMeans {
  private readonly sums: Float64Array;
  private readonly counts: Float64Array;
  readonly maxPct: number;
  constructor(maxPct = 130) {
    this.maxPct = maxPct;
    this.sums = new Float64Array(maxPct + 1);
    this.counts = new Float64Array(maxPct + 1);
  }
  add(arrivedPct: number, value: number): void {
    const b = Math.round(arrivedPct);
    if (b < 0 || b > this.maxPct) return;
    this.sums[b] = (this.sums[b] ?? 0) + value;
    this.counts[b] = (this.counts[b] ?? 0) + 1;
  }
  means(): number[] {
    return Array.from(this.sums, (s, i) => ((this.counts[i] ?? 0) > 0 ? s / (this.counts[i] ?? 1) : Number.NaN));
  }
}
