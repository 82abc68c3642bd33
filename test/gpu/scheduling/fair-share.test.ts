// Why: dominant-resource fairness orders tenants in every pass; its shares are worked out by hand
// here on a small cluster so a wrong resource, total or weight shows up as a wrong number.
import { describe, it, expect } from 'vitest';
import { clusterTotals, dominantShare, tenantUsage, usageOfRequest } from '../../../src/gpu/scheduling/fair-share.ts';
import { cluster, node, req } from '../placement/helpers.ts';

// Two nodes of 16 cores, 64 GiB and 4 GPUs: totals 8000 GPU milli, 32000 mCPU, 131072 MiB.
const spec = cluster(node('a', 16000, 4), node('b', 16000, 4));
const totals = clusterTotals(spec);

describe('usage', () => {
  it('sums the cluster', () => expect(totals).toEqual({ gpuMilli: 8000, cpuMilli: 32000, memoryMiB: 131072 }));
  it.each([
    ['2 whole GPUs', req('r', 2000, { gpus: 2 }), { gpuMilli: 2000, cpuMilli: 2000, memoryMiB: 1024 }],
    ['a 300m share', req('r', 1000, { gpuMilli: 300, gpuMemoryMiB: 4000 }), { gpuMilli: 300, cpuMilli: 1000, memoryMiB: 1024 }],
    // a share of 1000 or more is one whole device
    ['a 1500m "share"', req('r', 1000, { gpuMilli: 1500 }), { gpuMilli: 1000, cpuMilli: 1000, memoryMiB: 1024 }],
    ['CPU only', req('r', 8000, { memoryMiB: 32768 }), { gpuMilli: 0, cpuMilli: 8000, memoryMiB: 32768 }],
  ])('%s', (_name, request, expected) => expect(usageOfRequest(request)).toEqual(expected));

  it('sums per tenant over live jobs', () => {
    const live = [
      { request: req('a1', 2000, { tenant: 'a', gpus: 1 }) },
      { request: req('a2', 1000, { tenant: 'a', gpuMilli: 250 }) },
      { request: req('b1', 16000, { tenant: 'b', memoryMiB: 32768 }) },
    ];
    expect(tenantUsage(live)).toEqual(new Map([
      ['a', { gpuMilli: 1250, cpuMilli: 3000, memoryMiB: 2048 }],
      ['b', { gpuMilli: 0, cpuMilli: 16000, memoryMiB: 32768 }],
    ]));
  });
});

describe('dominantShare', () => {
  it.each([
    // gpu 1250/8000 = 0.15625, cpu 3000/32000 = 0.09375, mem 2048/131072 = 0.015625 -> GPU dominates
    ['GPU-heavy', { gpuMilli: 1250, cpuMilli: 3000, memoryMiB: 2048 }, 1, 0.15625],
    // cpu 16000/32000 = 0.5, mem 32768/131072 = 0.25 -> CPU dominates although it holds no GPU
    ['CPU-heavy', { gpuMilli: 0, cpuMilli: 16000, memoryMiB: 32768 }, 1, 0.5],
    // the same with weight 2: 0.5 / 2
    ['CPU-heavy, weight 2', { gpuMilli: 0, cpuMilli: 16000, memoryMiB: 32768 }, 2, 0.25],
    // memory 65536/131072 = 0.5 beats gpu 2000/8000 = 0.25; weight 0.5 doubles it
    ['memory-heavy, weight 0.5', { gpuMilli: 2000, cpuMilli: 0, memoryMiB: 65536 }, 0.5, 1],
    ['nothing held', { gpuMilli: 0, cpuMilli: 0, memoryMiB: 0 }, 3, 0],
  ])('%s', (_name, usage, weight, expected) => expect(dominantShare(usage, totals, weight)).toBe(expected));

  it('defaults the weight to 1 and treats an unknown tenant as holding nothing', () => {
    expect(dominantShare({ gpuMilli: 4000, cpuMilli: 0, memoryMiB: 0 }, totals)).toBe(0.5);
    expect(dominantShare(undefined, totals, 1)).toBe(0);
  });
  it('leaves out a resource the cluster has none of (a CPU-only cluster)', () => {
    const cpuOnly = clusterTotals(cluster(node('c', 8000, 0)));
    // gpu total 0 is skipped; cpu 2000/8000 = 0.25
    expect(dominantShare({ gpuMilli: 0, cpuMilli: 2000, memoryMiB: 0 }, cpuOnly)).toBe(0.25);
  });
  it.each([0, -1, Number.NaN, Infinity])('refuses weight %s', (w) => {
    expect(() => dominantShare({ gpuMilli: 1, cpuMilli: 1, memoryMiB: 1 }, totals, w)).toThrow(/weight must be/);
  });
});
