// Why: the virtual-clock simulation is what the batching bench reports on, so its bookkeeping must be
// exact: every request ends exactly once, batches stay within the maximum, split requests finish when
// their last part does, priorities go first; and the policies behave as designed on a loaded K80 model.
import { describe, expect, it } from 'vitest';
import { K80_RESNET50_IMAGES_PER_S, tableCost } from '../../src/inference/cost.ts';
import { NO_TIMEOUT_POLICY, type Arrival, type QueueConfig } from '../../src/inference/batching/queue.ts';
import { aimd, fixedDelay, noBatching, sloAware, type BatchPolicy } from '../../src/inference/batching/policies.ts';
import { burstyArrivals, poissonArrivals } from '../../src/inference/sim/arrivals.ts';
import { simulate, type SimReplica } from '../../src/inference/sim/simulate.ts';

const k80 = tableCost(K80_RESNET50_IMAGES_PER_S);
const queue = (extra: Partial<QueueConfig> = {}): QueueConfig => ({ maxBatchSize: 32, priorityLevels: 2, defaultPriorityLevel: 2, policies: [], defaultPolicy: NO_TIMEOUT_POLICY, ...extra });
const replicas = (n: number, share = 1): SimReplica[] => Array.from({ length: n }, () => ({ costMs: tableCost(K80_RESNET50_IMAGES_PER_S, share), deviceShare: share }));
const attainment = (r: ReturnType<typeof simulate>, total: number) => r.answered.filter((a) => a.doneMs <= a.deadlineMs).length / total;

describe('simulate: bookkeeping', () => {
  const policies: (() => BatchPolicy)[] = [noBatching, () => fixedDelay({ maxQueueDelayMs: 5 }), () => aimd({ sloMs: 400 }), () => sloAware()];
  it.each(policies.map((p) => [p().name, p] as const))('%s: every request ends exactly once, batches within the maximum', (_name, make) => {
    const arrivals = poissonArrivals({ ratePerS: 600, count: 3000, seed: 7, sloMs: 400, rows: 1 });
    arrivals[100] = { ...arrivals[100]!, rows: 70 }; // split into 32 + 32 + 6
    const r = simulate({ arrivals, replicas: replicas(4), queue: queue(), policy: make() });
    const ids = [...r.answered.map((a) => a.id), ...r.refused.map((x) => x.id)];
    expect(ids.length).toBe(arrivals.length);
    expect(new Set(ids).size).toBe(arrivals.length);
    for (const b of r.batches) expect(b.rows).toBeLessThanOrEqual(32);
    expect(r.batches.reduce((n, b) => n + b.rows, 0)).toBe(arrivals.reduce((n, a) => n + a.rows, 0));
    for (const a of r.answered) expect(a.doneMs).toBeGreaterThan(a.arrivalMs);
    // A replica runs one batch at a time.
    for (let rep = 0; rep < 4; rep++) {
      const mine = r.batches.filter((b) => b.replica === rep);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.startMs).toBeGreaterThanOrEqual(mine[i - 1]!.startMs + mine[i - 1]!.executionMs - 1e-9);
    }
  });

  it('a request larger than a batch is spread over replicas and answered when its last part ends', () => {
    const arrivals: Arrival[] = [{ id: 'big', rows: 96, arrivalMs: 0, priority: 0, deadlineMs: Infinity }];
    const r = simulate({ arrivals, replicas: replicas(3), queue: queue(), policy: noBatching() });
    expect(r.batches.map((b) => [b.replica, b.rows])).toEqual([[0, 32], [1, 32], [2, 32]]);
    expect(r.answered).toEqual([{ id: 'big', rows: 96, arrivalMs: 0, doneMs: k80(32), deadlineMs: Infinity }]);
  });

  it('serves the higher level first', () => {
    const arrivals: Arrival[] = [
      { id: 'blocker', rows: 1, arrivalMs: 0, priority: 2, deadlineMs: Infinity },
      { id: 'low', rows: 1, arrivalMs: 1, priority: 2, deadlineMs: Infinity },
      { id: 'high', rows: 1, arrivalMs: 2, priority: 1, deadlineMs: Infinity },
    ];
    const r = simulate({ arrivals, replicas: replicas(1), queue: queue(), policy: noBatching() });
    expect(r.answered.map((a) => a.id)).toEqual(['blocker', 'high', 'low']);
  });

  it('refuses at a full queue and at the timeout, each once', () => {
    const arrivals = Array.from({ length: 10 }, (_, i): Arrival => ({ id: `r${i}`, rows: 1, arrivalMs: i * 0.001, priority: 0, deadlineMs: Infinity }));
    const r = simulate({ arrivals, replicas: replicas(1), queue: queue({ defaultPolicy: { timeoutAction: 'reject', defaultTimeoutMs: 20, allowTimeoutOverride: false, maxQueueSize: 5 } }), policy: noBatching() });
    // r0 runs at once, so r1..r5 fill the queue of five and r6..r9 are refused.
    expect(r.refused.filter((x) => x.code === 'QUEUE_FULL').map((x) => x.id)).toEqual(['r6', 'r7', 'r8', 'r9']);
    // r0 takes 14.8 ms; r1 starts then, within its 20 ms; r2..r5 are still queued at 20 ms: timed out.
    expect(r.answered.map((a) => a.id)).toEqual(['r0', 'r1']);
    expect(r.refused.filter((x) => x.code === 'TIMEOUT').map((x) => x.id).sort()).toEqual(['r2', 'r3', 'r4', 'r5']);
  });

  it('is deterministic for a seed', () => {
    const run = () => simulate({ arrivals: burstyArrivals({ ratePerS: 800, count: 2000, seed: 3, sloMs: 400 }), replicas: replicas(4), queue: queue(), policy: sloAware() });
    expect(run().answered.map((a) => a.doneMs)).toEqual(run().answered.map((a) => a.doneMs));
  });
});

describe('simulate: the policies on a loaded K80 model (16 devices, batch 32 serves 2550/s)', () => {
  const arrivals = poissonArrivals({ ratePerS: 1600, count: 16_000, seed: 11, sloMs: 500 });
  it('without batching the queue grows past every deadline; SLO-aware batching meets them', () => {
    const none = simulate({ arrivals, replicas: replicas(16), queue: queue(), policy: noBatching() });
    const slo = simulate({ arrivals, replicas: replicas(16), queue: queue(), policy: sloAware() });
    expect(attainment(none, arrivals.length)).toBeLessThan(0.5); // 1600/s > 16 x 67.4/s
    expect(attainment(slo, arrivals.length)).toBeGreaterThan(0.99);
    const meanBatch = slo.batches.reduce((n, b) => n + b.rows, 0) / slo.batches.length;
    expect(meanBatch).toBeGreaterThan(2);
  });

  it('at light load SLO-aware sends at once (no waiting when waiting cannot help)', () => {
    const light = poissonArrivals({ ratePerS: 100, count: 2000, seed: 5, sloMs: 500 });
    const slo = simulate({ arrivals: light, replicas: replicas(16), queue: queue(), policy: sloAware() });
    const latencies = slo.answered.map((a) => a.doneMs - a.arrivalMs).sort((a, b) => a - b);
    expect(latencies[Math.floor(latencies.length / 2)]).toBeLessThan(k80(2) + 1);
  });
});
