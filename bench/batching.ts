// Why: `npm run bench:batching` compares, side by side in one run and on one seeded arrival stream per
// row, how a model's requests are batched on the platform's 16 K80s: no batching; Triton-style fixed
// delay (several maxQueueDelayMs); Clipper's AIMD; hotpath's SLO-aware policy. Replicas are simulated
// K80 devices whose batch cost is the published ResNet-50 table (BENCHMARKS.md §4), on a virtual clock
// (src/inference/sim/), so hours of traffic take seconds and every run is reproducible. It prints, per
// arrival pattern and load, throughput, p50/p99, SLO attainment, mean batch, GPU-seconds per 1000
// inferences and devices busy; then the highest Poisson rate each policy serves with p99 within the SLO,
// as a multiple of no batching. Anchors: Triton's dynamic batcher 73 -> 272 infer/s (3.7x, Inception);
// the K80 table caps the gain at 2.55x (batch 128), 2.37x at batch 32.
import { K80_RESNET50_IMAGES_PER_S, tableCost } from '../src/inference/cost.ts';
import { NO_TIMEOUT_POLICY, type Arrival, type QueueConfig } from '../src/inference/batching/queue.ts';
import { aimd, fixedDelay, noBatching, sloAware, type BatchPolicy } from '../src/inference/batching/policies.ts';
import { burstyArrivals, poissonArrivals } from '../src/inference/sim/arrivals.ts';
import { simulate, type SimReplica, type SimResult } from '../src/inference/sim/simulate.ts';
import { benchCli, jsonOption, machine, progress, resultsPath, writeResults } from './lib/cli.ts';

const cli = benchCli({
  name: 'bench:batching',
  about: `Batching policies for a ResNet-50 model on the platform's 16 simulated K80 devices (virtual clock, the
published K80 cost table): no batching, Triton fixed delay, Clipper AIMD and hotpath's SLO-aware batching,
under Poisson and bursty arrivals at several loads; then each policy's highest rate with p99 within the SLO.`,
  options: {
    devices: { type: 'number', arg: 'N', integer: true, default: 16, min: 1, max: 1024, help: 'K80 devices, one replica each' },
    'max-batch': { type: 'number', arg: 'N', integer: true, default: 32, min: 1, max: 1024, help: "the model's maxBatchSize" },
    'slo-ms': { type: 'number', arg: 'MS', default: 300, min: 20, max: 60_000, help: "the model's p99 latency objective" },
    requests: { type: 'number', arg: 'N', integer: true, default: 30_000, min: 100, max: 10_000_000, help: 'requests per run' },
    loads: { type: 'string', arg: 'LIST', default: '0.2,0.5,0.8,0.95', help: 'offered loads, x the capacity at the maximum batch' },
    seed: { type: 'number', arg: 'N', integer: true, default: 1, min: 0, max: 2 ** 31, help: 'arrival stream seed' },
    quick: { type: 'boolean', help: 'CI size: 5000 requests per run, loads 0.5 and 0.8' },
    json: jsonOption('batching'),
  },
});

interface Row {
  pattern: string;
  load: number;
  ratePerS: number;
  policy: string;
  throughputPerS: number;
  p50Ms: number;
  p99Ms: number;
  sloPct: number;
  meanBatch: number;
  gpuSecondsPer1000: number;
  busyDevices: number;
  refused: number;
}

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

function summarize(r: SimResult, arrivals: readonly Arrival[]): Omit<Row, 'pattern' | 'load' | 'ratePerS' | 'policy'> {
  const total = arrivals.length;
  const latencies = r.answered.map((a) => a.doneMs - a.arrivalMs);
  const met = r.answered.filter((a) => a.doneMs <= a.deadlineMs).length;
  const rows = r.batches.reduce((n, b) => n + b.rows, 0);
  // Goodput: answers within the SLO per second of the arrival stream (a backlog served after the
  // stream ends does not count as throughput; neither does a late answer).
  const offeredMs = arrivals.length > 1 ? arrivals.at(-1)!.arrivalMs - arrivals[0]!.arrivalMs : 0;
  return {
    throughputPerS: offeredMs > 0 ? (met / offeredMs) * 1000 : 0,
    p50Ms: pct(latencies, 50),
    p99Ms: pct(latencies, 99),
    sloPct: (met / total) * 100,
    meanBatch: rows / Math.max(1, r.batches.length),
    gpuSecondsPer1000: r.deviceMs / 1000 / Math.max(1, r.answered.length) * 1000,
    busyDevices: r.spanMs > 0 ? r.deviceMs / r.spanMs : 0,
    refused: r.refused.length,
  };
}

async function main(): Promise<number> {
  const o = cli.opts;
  const startedAt = new Date();
  const count = o.quick ? Math.min(o.requests, 5000) : o.requests;
  const loads = (o.quick ? '0.5,0.8' : o.loads).split(',').map(Number);
  if (loads.some((l) => !(l > 0 && l < 10))) throw new Error(`--loads: each load must be in (0, 10), got ${o.loads}`);
  const maxBatch = o['max-batch'];
  const sloMs = o['slo-ms'];
  const cost = tableCost(K80_RESNET50_IMAGES_PER_S);
  const replicas: SimReplica[] = Array.from({ length: o.devices }, () => ({ costMs: cost, deviceShare: 1 }));
  const queue: QueueConfig = { maxBatchSize: maxBatch, priorityLevels: 1, defaultPriorityLevel: 1, policies: [], defaultPolicy: NO_TIMEOUT_POLICY };
  const capacityPerS = (o.devices * maxBatch * 1000) / cost(maxBatch);
  const unbatchedPerS = (o.devices * 1000) / cost(1);
  const policies: (() => BatchPolicy)[] = [
    noBatching,
    () => fixedDelay({ maxQueueDelayMs: 1 }),
    () => fixedDelay({ maxQueueDelayMs: 5 }),
    () => fixedDelay({ maxQueueDelayMs: 20 }),
    () => aimd({ sloMs }),
    () => sloAware(),
  ];
  const run = (arrivals: Arrival[], make: () => BatchPolicy) => summarize(simulate({ arrivals, replicas, queue, policy: make() }), arrivals);

  progress(`bench:batching: ${o.devices} K80 devices, maxBatchSize ${maxBatch}, SLO ${sloMs} ms; capacity ${capacityPerS.toFixed(0)}/s at batch ${maxBatch}, ${unbatchedPerS.toFixed(0)}/s unbatched`);
  const rows: Row[] = [];
  const t0 = performance.now();
  for (const pattern of ['poisson', 'bursty'] as const) {
    for (const load of loads) {
      const ratePerS = load * capacityPerS;
      const stream = { ratePerS, count, seed: o.seed, sloMs };
      const arrivals = pattern === 'poisson' ? poissonArrivals(stream) : burstyArrivals(stream);
      // The stream's own rate (a finite bursty stream strays from its mean).
      const offeredPerS = ((arrivals.length - 1) / (arrivals.at(-1)!.arrivalMs - arrivals[0]!.arrivalMs)) * 1000;
      for (const make of policies) rows.push({ pattern, load, ratePerS: offeredPerS, policy: make().name, ...run(arrivals, make) });
      progress(`  ${pattern} at ${load}x: done`);
    }
  }

  // The highest Poisson rate served with p99 within the SLO, by bisection over the rate, on streams three
  // times longer than the rows' (past the capacity a short stream ends before its backlog shows).
  const within = (make: () => BatchPolicy, ratePerS: number): boolean => {
    const arrivals = poissonArrivals({ ratePerS, count: count * 3, seed: o.seed, sloMs });
    const s = run(arrivals, make);
    return s.p99Ms <= sloMs && s.refused === 0;
  };
  const capacities = policies.map((make) => {
    let lo = 0;
    let hi = capacityPerS * 1.2;
    for (let i = 0; i < 9; i++) {
      const mid = (lo + hi) / 2;
      if (within(make, mid)) lo = mid;
      else hi = mid;
    }
    return { policy: make().name, ratePerS: lo };
  });
  const elapsedS = (performance.now() - t0) / 1000;

  console.log(`\n== bench:batching: ResNet-50 on ${o.devices} simulated K80s, maxBatchSize ${maxBatch}, SLO p99 ${sloMs} ms, ${count} requests per run, seed ${o.seed} ==`);
  const header = ['arrivals', 'load asked', 'req/s offered', 'policy', 'within SLO/s', 'p50 ms', 'p99 ms', 'SLO met', 'mean batch', 'GPU-s / 1000', 'devices busy'];
  const table = rows.map((r) => [r.pattern, `${r.load}x`, r.ratePerS.toFixed(0), r.policy, r.throughputPerS.toFixed(0), r.p50Ms.toFixed(1), r.p99Ms.toFixed(1), `${r.sloPct.toFixed(2)} %`, r.meanBatch.toFixed(1), r.gpuSecondsPer1000.toFixed(1), r.busyDevices.toFixed(1)]);
  const w = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`);
  for (const r of table) console.log(line(r));

  const none = capacities[0]!.ratePerS;
  console.log(`\nhighest Poisson rate with p99 <= ${sloMs} ms (bisection, ${count * 3} requests a run):`);
  for (const c of capacities) console.log(`  ${c.policy.padEnd(10)} ${c.ratePerS.toFixed(0).padStart(6)} req/s  ${(c.ratePerS / none).toFixed(2)}x no batching`);
  const cap = (cost(1) * 128) / cost(128);
  console.log(`\nnotes: capacity at batch ${maxBatch} is ${capacityPerS.toFixed(0)}/s (${(capacityPerS / unbatchedPerS).toFixed(2)}x unbatched); the K80 table caps batching at ${cap.toFixed(2)}x (batch 128).` +
    ` Simulated replicas on a virtual clock (${elapsedS.toFixed(1)} s of CPU for all runs); the real CPU backend is not in this bench yet.`);

  const file = resultsPath('batching', startedAt, o.json);
  writeResults(file, { bench: 'bench:batching', startedAt, finishedAt: new Date(), machine: machine(), options: { devices: o.devices, maxBatch, sloMs, count, loads, seed: o.seed }, rows, capacities });
  console.log(`raw results: ${file}`);
  return 0;
}

cli.run(main);
