// Why: `npm run bench:k80` runs BENCHMARKS.md §3 on the platform's own cluster (16 K80 devices = 8
// boards on 4 nodes, an assumption until the inventory is discovered): FIFO first-fit without backfill
// against backfill with best-fit, fgd and hotpath (and hotpath with preemption), over seeded day-long
// job streams at ~1.2× load. It prints allocation while work waits, waits (overall and per priority),
// preemptions, completions, lost jobs and the invariant check, and the ratio to the baseline; it exits
// non-zero when a job is lost or an invariant breaks.
import { backfillWith, fifoBaseline, generateK80Jobs, k80Cluster, offeredLoad, simulateK80 } from '../src/sim/k80.ts';
import type { K80Result, SchedulerConfig } from '../src/sim/k80.ts';
import { flag as arg, mean, parseSeeds as seedsOf, sd } from './lib/cli.ts';

const TARGET_ALLOC_PCT = 90;

const sum = (xs: number[]): number => xs.reduce((a, x) => a + x, 0);

const seeds = seedsOf(arg('seeds', '1-5'));
const hours = Number(arg('hours', '24'));
const load = Number(arg('load', '1.2'));
const starvationMin = Number(arg('starvation-min', '120'));
if (!(hours > 0) || !(load > 0) || !(starvationMin >= 0)) throw new Error('expected --hours > 0, --load > 0, --starvation-min >= 0');

const spec = k80Cluster();
const capacity = spec.nodes.reduce((a, n) => a + n.gpus.length * 1000, 0);
const schedulers: SchedulerConfig[] = [
  fifoBaseline,
  ...['best-fit', 'fgd', 'hotpath'].map((p) => backfillWith(p, starvationMin)),
  backfillWith('hotpath', starvationMin, true),
];
const results = new Map<string, K80Result[]>(schedulers.map((s) => [s.name, []]));
const loads: number[] = [];
const started = performance.now();
for (const seed of seeds) {
  const jobs = generateK80Jobs(seed, hours, load, capacity);
  loads.push(offeredLoad(jobs, hours * 60, capacity));
  for (const s of schedulers) results.get(s.name)?.push(simulateK80(spec, jobs, s, hours * 60, seed));
}
const elapsedS = (performance.now() - started) / 1000;

console.log(`bench:k80 — ${spec.nodes.length} nodes, ${capacity / 1000} K80 devices; seeds ${seeds.join(',')}; ${hours} h each; ` +
  `offered GPU load ${mean(loads).toFixed(2)}× (asked ${load}×); anti-starvation after ${starvationMin} min; ${elapsedS.toFixed(2)} s`);
// Priorities present in any result, highest first: one "wait mean/p95" column each.
const priorities = [...new Set([...results.values()].flat().flatMap((r) => Object.keys(r.waitByPriority).map(Number)))].sort((a, b) => b - a);
const header = ['scheduler', 'alloc% while waiting', 'alloc% overall', 'wait mean min', 'wait p95 min',
  ...priorities.map((p) => `prio ${p} wait mean/p95 min`), 'preemptions', 'completed', 'queued@end', 'lost', 'invariants'];
const rows: string[][] = [];
let failed = false;
const baseAlloc = mean((results.get(fifoBaseline.name) ?? []).map((r) => r.allocWhileWaitingPct));
for (const s of schedulers) {
  const rs = results.get(s.name) ?? [];
  const alloc = rs.map((r) => r.allocWhileWaitingPct);
  const lost = sum(rs.map((r) => r.lost));
  const violations = rs.flatMap((r) => r.violations);
  if (lost !== 0 || violations.length > 0) failed = true;
  rows.push([
    s.name,
    `${mean(alloc).toFixed(2)} ± ${sd(alloc).toFixed(2)}`,
    mean(rs.map((r) => r.allocMeanPct)).toFixed(2),
    mean(rs.map((r) => r.meanWaitMin)).toFixed(1),
    mean(rs.map((r) => r.p95WaitMin)).toFixed(1),
    ...priorities.map((p) => {
      const ws = rs.map((r) => r.waitByPriority[p]).filter((w) => w !== undefined);
      return `${mean(ws.map((w) => w.meanMin)).toFixed(1)} / ${mean(ws.map((w) => w.p95Min)).toFixed(1)}`;
    }),
    String(sum(rs.map((r) => r.preemptions))),
    String(sum(rs.map((r) => r.completed))),
    String(sum(rs.map((r) => r.queued))),
    String(lost),
    violations.length === 0 ? 'ok' : `${violations.length} violations: ${violations[0]?.message}`,
  ]);
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log('');
for (const s of schedulers) {
  const a = mean((results.get(s.name) ?? []).map((r) => r.allocWhileWaitingPct));
  const met = a >= TARGET_ALLOC_PCT ? 'MET' : 'NOT met';
  console.log(`${s.name.padEnd(24)} alloc while waiting ${a.toFixed(2)} % = ${(a / baseAlloc).toFixed(3)}× the FIFO baseline; target ≥ ${TARGET_ALLOC_PCT} %: ${met}`);
}
console.log('waits: mean/p95 per seed, then averaged over seeds; jobs still queued at the end count their wait up to the horizon;');
console.log('a preempted job keeps its arrival time and restarts from scratch, so its wait runs to its last start. preemptions: summed over seeds.');
if (failed) {
  console.error('bench:k80: FAILED — a job was lost or a placement invariant broke');
  process.exitCode = 1;
}
