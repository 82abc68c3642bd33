// Why: `npm run bench:k80` runs BENCHMARKS.md §3 on the platform's own cluster (16 K80 devices = 8
// boards on 4 nodes, an assumption until the inventory is discovered): FIFO first-fit without backfill
// against backfill with best-fit, fgd and hotpath (and hotpath with preemption), over seeded day-long
// job streams at ~1.2× load. It prints allocation while work waits, waits (overall and per priority),
// preemptions, completions, lost jobs and the invariant check, and the ratio to the baseline; it exits
// non-zero when a job is lost or an invariant breaks. Results JSON: bench/results/k80-<timestamp>.json
// (--json FILE); --help lists the options.
import { backfillWith, fifoBaseline, generateK80Jobs, k80Cluster, offeredLoad, simulateK80 } from '../src/sim/k80.ts';
import type { K80Result, SchedulerConfig } from '../src/sim/k80.ts';
import { clusterTotals } from '../src/gpu/scheduling/fair-share.ts';
import { benchCli, jsonOption, machine, mean, parseSeeds, resultsPath, sd, writeResults } from './lib/cli.ts';
import { runK80ThroughService, type ServiceK80Result } from './lib/k80-service.ts';
import { measureGpuThroughput, type ThroughputResult } from './lib/gpu-throughput.ts';
import { hasRedisServer, startRedisServer } from '../src/shared/redis-autostart.ts';
import { freePort } from '../test/helpers/redis.ts';

const TARGET_ALLOC_PCT = 90;

const sum = (xs: number[]): number => xs.reduce((a, x) => a + x, 0);

const cli = benchCli({
  name: 'bench:k80',
  about: `Compares FIFO first-fit without backfill against backfill with best-fit, fgd and hotpath (and hotpath with
preemption) on the platform's 16 K80 devices (8 boards, 4 nodes), over seeded job streams: allocation
while work waits, waits (overall and per priority), preemptions, completions, lost jobs, invariants and
the ratio to the FIFO baseline; then one seed through the service's own code (BullMQ intake, Redis Lua
scripts, scheduler ticks, on a private redis-server) and the scheduler's HTTP throughput.`,
  options: {
    seeds: { type: 'string', arg: 'SPEC', default: '1-5', help: 'job-stream seeds, e.g. 1-5 or 1,3,7' },
    hours: { type: 'number', arg: 'H', default: 24, min: 0.01, max: 8760, help: 'simulated hours of each job stream' },
    load: { type: 'number', arg: 'X', default: 1.2, min: 0.01, max: 100, help: 'offered GPU load asked for, × the capacity' },
    'starvation-min': { type: 'number', arg: 'MIN', default: 120, min: 0, max: 1e6, help: 'anti-starvation: minutes a job may wait before backfill stops passing it' },
    'no-service': { type: 'boolean', help: 'skip the run through the service and the throughput run; no redis-server needed' },
    'service-seed': { type: 'number', arg: 'SEED', integer: true, min: 0, max: Number.MAX_SAFE_INTEGER, defaultText: 'the first of --seeds', help: 'seed of the run through the service' },
    'service-hours': { type: 'number', arg: 'H', min: 0.01, max: 8760, defaultText: 'same as --hours', help: 'simulated hours of the run through the service, which runs in real time per event' },
    'throughput-jobs': { type: 'number', arg: 'N', integer: true, default: 1000, min: 1, max: 1_000_000, help: 'jobs submitted over HTTP for the throughput figure' },
    json: jsonOption('k80'),
  },
  notes: 'Exits 1 when a job is lost or an invariant breaks (or it cannot run), 2 on a usage error.',
});

async function main(): Promise<number> {
  const o = cli.opts;
  const startedAt = new Date();
  const seeds = parseSeeds(o.seeds);
  const { hours, load } = o;
  const starvationMin = o['starvation-min'];

  const spec = k80Cluster();
  const capacity = clusterTotals(spec).gpuMilli;
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
    // Let a signal handler run between seeds (the simulation is synchronous).
    await new Promise((r) => setImmediate(r));
  }
  const elapsedS = (performance.now() - started) / 1000;

  console.log(`bench:k80 — ${spec.nodes.length} nodes, ${capacity / 1000} K80 devices; seeds ${seeds.join(',')}; ${hours} h each; ` +
    `offered GPU load ${mean(loads).toFixed(2)}× (asked ${load}×); anti-starvation after ${starvationMin} min; ${elapsedS.toFixed(2)} s`);
  // Priorities present in any result, highest first: one "wait mean/p95" column each.
  const priorities = [...new Set([...results.values()].flat().flatMap((r) => Object.keys(r.waitByPriority).map(Number)))].sort((a, b) => b - a);
  const header = ['scheduler', 'alloc% while waiting', 'alloc% overall', 'wait mean min', 'wait p95 min',
    ...priorities.map((p) => `prio ${p} wait mean/p95 min`), 'preemptions', 'completed', 'queued@end', 'lost', 'invariants'];
  const rows: string[][] = [];
  const simRows: Record<string, unknown>[] = [];
  let failed = false;
  const baseAlloc = mean((results.get(fifoBaseline.name) ?? []).map((r) => r.allocWhileWaitingPct));
  for (const s of schedulers) {
    const rs = results.get(s.name) ?? [];
    const alloc = rs.map((r) => r.allocWhileWaitingPct);
    const lost = sum(rs.map((r) => r.lost));
    const violations = rs.flatMap((r) => r.violations);
    if (lost !== 0 || violations.length > 0) failed = true;
    const byPriority = priorities.map((p) => {
      const ws = rs.map((r) => r.waitByPriority[p]).filter((w) => w !== undefined);
      return { priority: p, meanMin: mean(ws.map((w) => w.meanMin)), p95Min: mean(ws.map((w) => w.p95Min)) };
    });
    rows.push([
      s.name,
      `${mean(alloc).toFixed(2)} ± ${sd(alloc).toFixed(2)}`,
      mean(rs.map((r) => r.allocMeanPct)).toFixed(2),
      mean(rs.map((r) => r.meanWaitMin)).toFixed(1),
      mean(rs.map((r) => r.p95WaitMin)).toFixed(1),
      ...byPriority.map((w) => `${w.meanMin.toFixed(1)} / ${w.p95Min.toFixed(1)}`),
      String(sum(rs.map((r) => r.preemptions))),
      String(sum(rs.map((r) => r.completed))),
      String(sum(rs.map((r) => r.queued))),
      String(lost),
      violations.length === 0 ? 'ok' : `${violations.length} violations: ${violations[0]?.message}`,
    ]);
    simRows.push({
      scheduler: s.name,
      config: s,
      allocWhileWaitingPct: { mean: mean(alloc), sd: sd(alloc) },
      allocMeanPct: mean(rs.map((r) => r.allocMeanPct)),
      meanWaitMin: mean(rs.map((r) => r.meanWaitMin)),
      p95WaitMin: mean(rs.map((r) => r.p95WaitMin)),
      waitByPriority: byPriority,
      preemptions: sum(rs.map((r) => r.preemptions)),
      completed: sum(rs.map((r) => r.completed)),
      queuedAtEnd: sum(rs.map((r) => r.queued)),
      lost,
      violations: violations.length,
      allocWhileWaitingVsFifo: mean(alloc) / baseAlloc,
      targetAllocPct: TARGET_ALLOC_PCT,
      targetMet: mean(alloc) >= TARGET_ALLOC_PCT,
      perSeed: rs,
    });
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

  // The same stream through the service's own code (BullMQ intake, Redis, Lua scripts, the scheduler
  // loop) on a virtual clock: one seed by default (it runs in real time per event), --no-service skips.
  let service: { seed: number; hours: number; jobs: number; rows: (ServiceK80Result & { pureSimAllocWhileWaitingPct: number })[] } | undefined;
  let throughput: ThroughputResult | undefined;
  if (!o['no-service']) {
    if (!hasRedisServer()) throw new Error('redis-server is not on PATH (needed for the service run; --no-service skips it)');
    const redis = await startRedisServer(await freePort(), { tiedToParent: true });
    cli.track(redis.process);
    const redisUrl = `redis://127.0.0.1:${redis.port}`;
    try {
      const seed = o['service-seed'] ?? seeds[0] ?? 1;
      const serviceHours = o['service-hours'] ?? hours;
      const jobs = generateK80Jobs(seed, serviceHours, load, capacity);
      service = { seed, hours: serviceHours, jobs: jobs.length, rows: [] };
      console.log(`\nthrough the service (BullMQ intake, Redis Lua place/finish, SchedulingLoop ticks; virtual clock): seed ${seed}, ${serviceHours} h, ${jobs.length} jobs`);
      const svcHeader = ['scheduler', 'alloc% while waiting', 'pure sim (same seed)', 'wait mean/p95 min', ...priorities.map((p) => `prio ${p} wait mean/p95 min`), 'preemptions', 'completed', 'queued@end', 'lost', 'audit', 'tick ms', 'wall s'];
      const svcRows: string[][] = [];
      for (const s of schedulers) {
        process.stderr.write(`service run: ${s.name}...\n`);
        const r = await runK80ThroughService(spec, jobs, s, serviceHours * 60, redisUrl);
        const sim = simulateK80(spec, jobs, s, serviceHours * 60, seed);
        if (r.lost !== 0 || r.auditProblems.length > 0) failed = true;
        service.rows.push({ ...r, pureSimAllocWhileWaitingPct: sim.allocWhileWaitingPct });
        svcRows.push([
          s.name,
          r.allocWhileWaitingPct.toFixed(2),
          sim.allocWhileWaitingPct.toFixed(2),
          `${r.meanWaitMin.toFixed(1)} / ${r.p95WaitMin.toFixed(1)}`,
          ...priorities.map((p) => (r.waitByPriority[p] === undefined ? '–' : `${r.waitByPriority[p].meanMin.toFixed(1)} / ${r.waitByPriority[p].p95Min.toFixed(1)}`)),
          String(r.preemptions),
          String(r.completed),
          String(r.queued),
          String(r.lost),
          r.auditProblems.length === 0 ? 'ok' : `${r.auditProblems.length} problems: ${r.auditProblems[0]}`,
          r.tickMsMean.toFixed(2),
          r.wallS.toFixed(1),
        ]);
      }
      const w = svcHeader.map((h, i) => Math.max(h.length, ...svcRows.map((r) => (r[i] ?? '').length)));
      const l = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(w[i] ?? 0)).join(' | ')} |`;
      console.log(l(svcHeader));
      console.log(`|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`);
      for (const r of svcRows) console.log(l(r));
      const tputJobs = o['throughput-jobs'];
      process.stderr.write(`throughput: ${tputJobs} jobs over HTTP...\n`);
      const t = await measureGpuThroughput(redisUrl, tputJobs);
      throughput = t;
      console.log(`\nscheduler throughput, whole path (HTTP submit -> BullMQ intake -> leader tick -> Lua place), ${t.jobs} jobs, 32 concurrent clients: ` +
        `${t.submitPerS.toFixed(0)} submits/s, ${t.placedPerS.toFixed(0)} placements/s (${t.wallS.toFixed(2)} s)`);
    } finally {
      redis.stop();
    }
  }

  const file = resultsPath('k80', startedAt, o.json);
  writeResults(file, {
    bench: 'bench:k80',
    startedAt,
    finishedAt: new Date(),
    options: { seeds, hours, load, starvationMin, service: !o['no-service'], serviceSeed: service?.seed, serviceHours: service?.hours, throughputJobs: o['throughput-jobs'] },
    machine: machine(),
    cluster: { nodes: spec.nodes.length, devices: capacity / 1000, gpuMilli: capacity },
    offeredLoad: { asked: load, mean: mean(loads), perSeed: loads },
    simulation: { elapsedS, rows: simRows },
    service: service ?? null,
    throughput: throughput ?? null,
    failed,
  });
  console.log(`\nresults: ${file}`);
  if (failed) {
    console.error('bench:k80: FAILED — a job was lost or a placement invariant broke');
    return 1;
  }
  return 0;
}

cli.run(main);
