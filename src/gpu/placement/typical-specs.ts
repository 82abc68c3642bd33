// Why: FGD-style scorers weigh fragmentation by the typical pods a cluster sees. The trace harness
// (BENCHMARKS.md §2 step 3, every pod counts once) and the running scheduler (recent requests, older
// ones weighing less) both derive them here.
import type { PlacementRequest } from './model.ts';
import { demandOf } from './demand.ts';
import type { TypicalSpec } from './frag.ts';

/**
 * The typical pod specs: specs (cpu, gpu count, milli per gpu, models) by decreasing frequency, taken
 * `step` at a time (the reference simulator's experiments use step 1) until they cover ≥ coveragePct of pods;
 * probabilities renormalised over the chosen specs. CPU-only pods included. `weights` (aligned with
 * `pods`, default 1 each) let recent requests count more than old ones.
 */
export function typicalSpecs(pods: readonly PlacementRequest[], coveragePct = 95, step = 1, weights?: readonly number[]): TypicalSpec[] {
  const counts = new Map<string, { spec: TypicalSpec; count: number; memorySumMiB: number }>();
  let totalWeight = 0;
  for (const [i, p] of pods.entries()) {
    const w = weights?.[i] ?? 1;
    if (!(w > 0)) continue;
    totalWeight += w;
    const d = demandOf(p);
    const key = `${d.cpuMilli}/${d.gpuMilliPerDevice}/${d.gpuCount}/${d.gpuModels.join('|')}`;
    const e = counts.get(key);
    if (e !== undefined) {
      e.count += w;
      e.memorySumMiB += w * d.memoryMiB;
    } else {
      const spec = { cpuMilli: d.cpuMilli, gpuCount: d.gpuCount, gpuMilliPerDevice: d.gpuMilliPerDevice, gpuModels: d.gpuModels, probability: 0 };
      counts.set(key, { spec, count: w, memorySumMiB: w * d.memoryMiB });
    }
  }
  const ranked = [...counts.values()].sort((a, b) =>
    b.count - a.count || a.spec.cpuMilli - b.spec.cpuMilli || a.spec.gpuMilliPerDevice - b.spec.gpuMilliPerDevice ||
    a.spec.gpuCount - b.spec.gpuCount || (a.spec.gpuModels.join('|') < b.spec.gpuModels.join('|') ? -1 : 1));
  const wanted = (coveragePct / 100) * totalWeight;
  let taken = 0;
  let covered = 0;
  while (covered < wanted && taken < ranked.length) {
    const end = Math.min(taken + step, ranked.length);
    for (; taken < end; taken++) covered += ranked[taken]?.count ?? 0;
  }
  return ranked.slice(0, taken).map((e) => ({ ...e.spec, probability: e.count / covered, memoryMiB: e.memorySumMiB / e.count }));
}
