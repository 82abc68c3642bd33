// Why: the PRNG is deterministic, the protocol inflates/trims to ≤ 1.3× capacity, and the loader reads
// the real trace in place (1213 nodes, 6212 GPUs, 8152 default pods).
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { createPrng } from '../../src/gpu/placement/prng.ts';
import { DEFAULT_TRACE_DIR, loadCluster, loadPods } from '../../src/sim/trace.ts';
import { BucketMeans, gpuMilliOf, prepareWorkload, typicalSpecs } from '../../src/sim/protocol.ts';
import type { PlacementRequest } from '../../src/gpu/placement/model.ts';

const pod = (id: string, gpus: number): PlacementRequest => ({ id, tenant: 't', priority: 0, cpuMilli: 1000, memoryMiB: 1, gpus });

describe('prng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = createPrng(42), b = createPrng(42), c = createPrng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(c.next()).not.toBe(xs[0]);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe('workload preparation', () => {
  it('inflates up to, never past, 1.3× capacity', () => {
    const pods = Array.from({ length: 50 }, (_, i) => pod(`p${String(i).padStart(2, '0')}`, 1 + (i % 3)));
    const capacity = 100_000;
    for (const seed of [1, 2, 3]) {
      const w = prepareWorkload(pods, capacity, createPrng(seed));
      const total = w.reduce((a, p) => a + gpuMilliOf(p), 0);
      expect(total).toBeLessThanOrEqual(1.3 * capacity);
      expect(total).toBeGreaterThan(1.3 * capacity - 3000);
      expect(new Set(w.map((p) => p.id)).size).toBe(w.length);
    }
  });
  it('trims to at or under 1.3× when over', () => {
    const pods = Array.from({ length: 200 }, (_, i) => pod(`p${i}`, 1));
    const w = prepareWorkload(pods, 100_000, createPrng(5));
    expect(w.reduce((a, p) => a + gpuMilliOf(p), 0)).toBe(130_000);
  });
  it('typical specs cover ≥ 95 % and their probabilities sum to 1', () => {
    const pods = [...Array.from({ length: 90 }, (_, i) => pod(`a${i}`, 1)), ...Array.from({ length: 10 }, (_, i) => pod(`b${i}`, 2))];
    const specs = typicalSpecs(pods);
    expect(specs.map((s) => [s.gpuCount, s.probability])).toEqual([[1, 0.9], [2, 0.1]]);
  });
  it('a typical spec carries the mean memory of its pods (for memory-aware measures)', () => {
    const pods = [{ ...pod('a', 1), memoryMiB: 1000 }, { ...pod('b', 1), memoryMiB: 3000 }, { ...pod('c', 2), memoryMiB: 500 }];
    expect(typicalSpecs(pods, 100).map((s) => [s.gpuCount, s.memoryMiB])).toEqual([[1, 2000], [2, 500]]);
  });
  it('buckets by rounded arrived %', () => {
    const b = new BucketMeans(2);
    b.add(0.4, 1); b.add(0.6, 3); b.add(1.49, 5);
    expect(b.means()).toEqual([1, 4, Number.NaN]);
  });
});

describe.skipIf(!existsSync(DEFAULT_TRACE_DIR))('the real trace', () => {
  it('has 1213 nodes, 6212 GPUs and 8152 default pods', () => {
    const c = loadCluster();
    expect(c.nodes.length).toBe(1213);
    expect(c.nodes.reduce((a, n) => a + n.gpus.length, 0)).toBe(6212);
    const pods = loadPods('default');
    expect(pods.length).toBe(8152);
    expect(pods.filter((p) => p.gpuMilli !== undefined).length).toBe(3078);
    expect(pods.reduce((a, p) => a + gpuMilliOf(p), 0)).toBeGreaterThan(6_000_000);
  });
  it('names the folder when a file is missing', () => {
    expect(() => loadPods('nope', '/tmp/')).toThrow(/openb_pod_list_nope.csv not found in \/tmp\//);
  });
});
