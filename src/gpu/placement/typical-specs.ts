// Why: FGD-style scorers weigh fragmentation by the typical pods a cluster sees. The trace harness
// (BENCHMARKS.md §2 step 3) and the running scheduler (the live request mix) both derive them here.
import type { PlacementRequest } from './model.ts';
import { demandOf } from './demand.ts';
import type { TypicalSpec } from './frag.ts';

/**
 * The typical pod specs: specs (cpu, gpu count, milli per gpu, models) by decreasing frequency, taken
 * `step` at a time (the reference simulator's experiments use step 1) until they cover ≥ coveragePct of pods;
 * probabilities renormalised over the chosen specs. CPU-only pods included.
 */
export function typicalSpecs(pods: readonly PlacementRequest[], coveragePct = 95, step = 1): TypicalSpec[] {
  const counts = new Map<string, { spec: TypicalSpec; count: number; memorySumMiB: number }>();
  for (const p of pods) {
    const d = demandOf(p);
    const key = `${d.cpuMilli}/${d.gpuMilliPerDevice}/${d.gpuCount}/${d.gpuModels.join('|')}`;
    const e = counts.get(key);
    if (e !== undefined) {
      e.count++;
      e.memorySumMiB += d.memoryMiB;
    } else {
      const spec = { cpuMilli: d.cpuMilli, gpuCount: d.gpuCount, gpuMilliPerDevice: d.gpuMilliPerDevice, gpuModels: d.gpuModels, probability: 0 };
      counts.set(key, { spec, count: 1, memorySumMiB: d.memoryMiB });
    }
  }
  const ranked = [...counts.values()].sort((a, b) =>
    b.count - a.count || a.spec.cpuMilli - b.spec.cpuMilli || a.spec.gpuMilliPerDevice - b.spec.gpuMilliPerDevice ||
    a.spec.gpuCount - b.spec.gpuCount || (a.spec.gpuModels.join('|') < b.spec.gpuModels.join('|') ? -1 : 1));
  const wanted = (coveragePct / 100) * pods.length;
  let taken = 0;
  let covered = 0;
  while (covered < wanted && taken < ranked.length) {
    const end = Math.min(taken + step, ranked.length);
    for (; taken < end; taken++) covered += ranked[taken]?.count ?? 0;
  }
  return ranked.slice(0, taken).map((e) => ({ ...e.spec, probability: e.count / covered, memoryMiB: e.memorySumMiB / e.count }));
}
