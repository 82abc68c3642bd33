// Why: `npm run bench:placement` runs the FGD protocol (BENCHMARKS.md §2) on the Alibaba trace for the
// chosen traces, seeds and policies, prints the table beside the published figures, says whether the
// harness is TRUSTED (best-fit and fgd within ±0.5 of 7.14 and 4.77 on default), and writes JSON
// (bench/results/placement-<timestamp>.json, or --json FILE), a CSV shaped like the authors'
// analysis_allo_discrete.csv (--csv) and an allocation chart (--svg). --help lists the options.
import { writeFileSync } from 'node:fs';
import { DEFAULT_TRACE_DIR, TRACE_NAMES, loadCluster, loadPods } from '../src/sim/trace.ts';
import { runTrial } from '../src/sim/harness.ts';
import type { TrialResult } from '../src/sim/harness.ts';
import { policyNames } from '../src/gpu/placement/policies/registry.ts';
import { placementCsv } from './lib/placement-csv.ts';
import type { CsvTrialRow } from './lib/placement-csv.ts';
import { meanCurve, placementSvg } from './lib/placement-svg.ts';
import type { ChartSeries, TraceChart } from './lib/placement-svg.ts';
import { benchCli, jsonOption, machine, mean, pairedDelta, parseSeeds, resultsPath, sd, UsageError, writeResults } from './lib/cli.ts';
import { PUBLISHED_DEFAULT_EXTRA, PUBLISHED_UNALLOCATED_PCT_AT_100, TRUST_TOLERANCE_POINTS } from './lib/placement-published.ts';

const meanSd = (xs: number[]): [number, number] => [mean(xs), sd(xs)];
const pct = (sorted: Float64Array, q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

const cli = benchCli({
  name: 'bench:placement',
  about: `Runs the FGD paper's protocol (BENCHMARKS.md §2) on the Alibaba GPU trace (cluster-trace-gpu-v2023):
per trace, policy and seed, GPU allocation as pods arrive; prints the unallocated GPU share when 100% and 130%
of the cluster's GPUs are requested, fragmentation, decision time p50/p99 and invariant violations beside
the published figures, paired comparisons against fgd, and whether the harness is TRUSTED (best-fit and
fgd on default within ±${TRUST_TOLERANCE_POINTS} points of the paper, 10+ seeds). Starts no process.`,
  options: {
    data: { type: 'string', arg: 'DIR', default: DEFAULT_TRACE_DIR, help: 'folder of the trace CSVs' },
    trace: { type: 'string', arg: 'NAMES', default: 'default', help: `traces, comma-separated (<name> of openb_pod_list_<name>.csv), or all: the paper's ${TRACE_NAMES.length}` },
    seeds: { type: 'string', arg: 'SPEC', default: '42-51', help: 'seeds, e.g. 42-51 or 42,43' },
    policies: { type: 'string', arg: 'LIST', default: 'best-fit,fgd', help: `comma-separated, of ${policyNames.join(', ')}` },
    json: jsonOption('placement'),
    csv: { type: 'string', arg: 'FILE', help: 'also write the per-seed allocation curves as CSV shaped like analysis_allo_discrete.csv' },
    svg: { type: 'string', arg: 'FILE', help: 'also write the allocation chart as SVG' },
  },
  notes: 'Exits 1 when it cannot run (e.g. the trace is missing), 2 on a usage error.',
  // Nothing to stop, and the trials are synchronous: a signal should end it at once.
  handleSignals: false,
});

cli.run(async () => {
  const startedAt = new Date();
  const dataDir = cli.opts.data;
  const traceArg = cli.opts.trace;
  const traces = traceArg === 'all' ? [...TRACE_NAMES] : traceArg.split(',');
  const seeds = parseSeeds(cli.opts.seeds);
  const policies = cli.opts.policies.split(',');
  for (const p of policies) if (!policyNames.includes(p)) throw new UsageError(`--policies: unknown policy ${p}; known: ${policyNames.join(', ')}`);
  const csvFile = cli.opts.csv ?? '';
  const svgFile = cli.opts.svg ?? '';

  const cluster = loadCluster(dataDir);
  const rows: Record<string, unknown>[] = [];
  const csvRows: CsvTrialRow[] = [];
  const charts: TraceChart[] = [];
  let trusted: boolean | undefined;
  const lines: string[] = [];
  lines.push('trace        policy      unalloc@100      (pub)   unalloc@130     frag@100   (pub)   p50 ms  p99 ms  violations');
  for (const trace of traces) {
    const pods = loadPods(trace, dataDir);
    const series: ChartSeries[] = [];
    charts.push({ trace, seeds, series });
    const unallocatedByPolicy = new Map<string, number[]>(); // policy -> unallocated@100 per seed, for the paired comparison
    for (const policy of policies) {
      const results: TrialResult[] = [];
      for (const seed of seeds) {
        const t0 = performance.now();
        const r = runTrial(cluster, pods, policy, seed);
        results.push(r);
        process.stderr.write(`${trace} ${policy} seed ${seed}: unalloc@100 ${r.unallocatedPctAt100.toFixed(2)} (${((performance.now() - t0) / 1000).toFixed(1)}s)\n`);
      }
      for (const r of results) csvRows.push({ trace, policy, seed: r.seed, allocationPctByArrived: r.allocationPctByArrived });
      series.push({ policy, allocationPctByArrived: meanCurve(results.map((r) => r.allocationPctByArrived)) });
      const [u100, u100sd] = meanSd(results.map((r) => r.unallocatedPctAt100));
      unallocatedByPolicy.set(policy, results.map((r) => r.unallocatedPctAt100));
      const [u130, u130sd] = meanSd(results.map((r) => r.unallocatedPctAt130));
      const [f100] = meanSd(results.map((r) => r.fragmentPctAt100));
      const all = new Float64Array(results.reduce((a, r) => a + r.decisionMs.length, 0));
      let o = 0;
      for (const r of results) { all.set(r.decisionMs, o); o += r.decisionMs.length; }
      all.sort();
      const violations = results.reduce((a, r) => a + r.invariantViolations.length, 0);
      const pub = PUBLISHED_UNALLOCATED_PCT_AT_100[trace]?.[policy];
      const pubFrag = trace === 'default' ? PUBLISHED_DEFAULT_EXTRA[policy]?.fragmentPctAt100 : undefined;
      const fmt = (x: number | undefined): string => (x === undefined ? '   –  ' : x.toFixed(2).padStart(6));
      lines.push(
        `${trace.padEnd(12)} ${policy.padEnd(10)} ${u100.toFixed(2).padStart(6)} ± ${u100sd.toFixed(2)}  ${fmt(pub)}  ${u130.toFixed(2).padStart(6)} ± ${u130sd.toFixed(2)}  ${f100.toFixed(2).padStart(6)}  ${fmt(pubFrag)}  ${pct(all, 0.5).toFixed(3).padStart(6)}  ${pct(all, 0.99).toFixed(3).padStart(6)}  ${violations}`,
      );
      rows.push({ trace, policy, seeds, unallocatedAt100: { mean: u100, sd: u100sd }, unallocatedAt130: { mean: u130, sd: u130sd }, decisionP99Ms: pct(all, 0.99), unallocatedPctAt100: u100, unallocatedPctAt100Sd: u100sd, unallocatedPctAt130: u130, unallocatedPctAt130Sd: u130sd, fragmentPctAt100: f100, publishedUnallocatedPctAt100: pub, decisionMsP50: pct(all, 0.5), decisionMsP99: pct(all, 0.99), invariantViolations: violations, perSeed: results.map((r) => ({ seed: r.seed, pods: r.pods, placed: r.placed, unallocatedPctAt100: r.unallocatedPctAt100, unallocatedPctAt130: r.unallocatedPctAt130, fragmentPctAt100: r.fragmentPctAt100 })) });
      if (trace === 'default' && (policy === 'best-fit' || policy === 'fgd') && pub !== undefined) {
        const close = Math.abs(u100 - pub) <= TRUST_TOLERANCE_POINTS;
        const ok = close && violations === 0 && seeds.length >= 10;
        trusted = (trusted ?? true) && ok;
        const why = seeds.length < 10 ? `; only ${seeds.length} seeds, trust needs 10` : violations > 0 ? `; ${violations} invariant violations` : '';
        lines.push(`  -> ${policy}: ${(u100 - pub >= 0 ? '+' : '') + (u100 - pub).toFixed(2)} points from published (${close ? 'within' : 'OUTSIDE'} ±${TRUST_TOLERANCE_POINTS}${why})`);
      }
    }
    // Seeds are shared, so policies compare seed by seed: the paired difference has far less noise than
    // the two means' sds suggest.
    const fgd = unallocatedByPolicy.get('fgd');
    for (const [policy, values] of unallocatedByPolicy) {
      if (fgd === undefined || policy === 'fgd' || policy === 'best-fit' || policy === 'first-fit') continue;
      const p = pairedDelta(fgd, values);
      lines.push(`  -> ${policy} vs fgd (paired by seed): ${(p.mean >= 0 ? '+' : '') + p.mean.toFixed(3)} ± ${p.se.toFixed(3)} (se) points unallocated@100, lower in ${p.lower}/${p.n} seeds`);
      const row = rows.find((r) => r['trace'] === trace && r['policy'] === policy);
      if (row !== undefined) row['vsFgdUnallocatedAt100'] = p;
    }
  }
  const ran = traces.includes('default') && policies.includes('best-fit') && policies.includes('fgd');
  lines.push(ran ? `harness: ${trusted === true ? 'TRUSTED' : 'NOT TRUSTED'} (best-fit and fgd on default, ≥10 seeds, ±${TRUST_TOLERANCE_POINTS} points, 0 invariant violations)` : 'harness: trust not assessed (needs --trace default with best-fit,fgd)');
  console.log(lines.join('\n'));
  const jsonFile = resultsPath('placement', startedAt, cli.opts.json);
  writeResults(jsonFile, {
    bench: 'bench:placement',
    startedAt,
    finishedAt: new Date(),
    options: { data: dataDir, traces, seeds, policies, csv: csvFile || null, svg: svgFile || null },
    machine: machine(),
    trusted: ran ? trusted === true : null,
    rows,
  });
  if (csvFile !== '') writeFileSync(csvFile, placementCsv(csvRows, cluster.nodes.reduce((a, n) => a + n.gpus.length, 0)));
  if (svgFile !== '') writeFileSync(svgFile, placementSvg(charts));
  console.log(`\nresults: ${jsonFile}`);
  return 0;
});
