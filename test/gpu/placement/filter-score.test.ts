// Why: the filter's reasons and the policies' scores on tiny nodes, expected values worked out by hand.
import { describe, it, expect } from 'vitest';
import { demandOf } from '../../../src/gpu/placement/demand.ts';
import { explain, fits } from '../../../src/gpu/placement/filter.ts';
import { ClusterState } from '../../../src/gpu/placement/state.ts';
import { bestFitScore } from '../../../src/gpu/placement/policies/best-fit.ts';
import { createPolicy, policyNames } from '../../../src/gpu/placement/policies/registry.ts';
import { fgdScoreOfGrowth } from '../../../src/gpu/placement/policies/fgd.ts';
import { selectPlacement } from '../../../src/gpu/placement/select.ts';
import { createPrng } from '../../../src/gpu/placement/prng.ts';
import { cluster, node, req } from './helpers.ts';

describe('filter', () => {
  const state = new ClusterState(cluster(node('a', 2000, 2, 'T4')));
  state.reserve({ requestId: 'x', node: 'a', cpuMilli: 0, memoryMiB: 0, devices: [{ gpuIndex: 0, milli: 600, memoryMiB: 0 }] });
  it.each([
    ['cpu short', req('r', 4000), 'cpu: need 4000m, free 2000m'],
    ['memory short', req('r', 1000, { memoryMiB: 100_000 }), 'memory: need 100000MiB, free 65536MiB'],
    ['model', req('r', 1000, { gpus: 1, gpuModels: ['V100M16', 'V100M32'] }), 'gpu model: wants V100M16|V100M32, node has T4'],
    // device 0 has 400m free, device 1 1000m: a 500m share fits device 1 only, two whole GPUs do not fit.
    ['share fits', req('r', 1000, { gpuMilli: 500 }), undefined],
    ['whole short', req('r', 1000, { gpus: 2 }), 'gpu: need 2 idle devices, node has 1'],
  ])('%s', (_name, request, reason) => {
    const d = demandOf(request);
    expect(explain(state, d, 0)).toBe(reason);
    expect(fits(state, d, 0)).toBe(reason === undefined);
  });
  it('a share larger than any device free is refused with the milli asked', () => {
    state.reserve({ requestId: 'y', node: 'a', cpuMilli: 0, memoryMiB: 0, devices: [{ gpuIndex: 1, milli: 700, memoryMiB: 0 }] });
    expect(explain(state, demandOf(req('r', 100, { gpuMilli: 500 })), 0)).toBe('gpu: no device with 500m free');
    state.unreserve('y');
  });
});

describe('best-fit score', () => {
  it.each([
    // empty 64-core 8-GPU node, pod 4 CPU + 1 GPU: s = 0.5·60000/128000 + 0.5·7000/8000 = 0.234375 + 0.4375
    //   = 0.671875 -> (1 − s)·100 = 32.8125 -> 32
    [64000, 4000, 8000, 1000, 32],
    // node exactly consumed: s = 0 -> 100
    [4000, 4000, 1000, 1000, 100],
    // 128 cores, 8 GPUs free, CPU-only pod of 0: s = 0.5 + 0.5 = 1 -> 0
    [128000, 0, 8000, 0, 0],
  ])('free cpu %i req %i, free gpu %i req %i -> %i', (cf, cr, gf, gr, expected) => {
    expect(bestFitScore(cf, cr, gf, gr)).toBe(expected);
  });
  it('prefers the fuller node and puts a share on the fullest device that fits', () => {
    const state = new ClusterState(cluster(node('empty', 32000, 2), node('busy', 32000, 2)));
    state.reserve({ requestId: 'b', node: 'busy', cpuMilli: 16000, memoryMiB: 0, devices: [{ gpuIndex: 1, milli: 500, memoryMiB: 0 }] });
    const out = selectPlacement(state, req('p', 1000, { gpuMilli: 300 }), createPolicy('best-fit'), createPrng(1));
    expect(out.kind).toBe('placed');
    if (out.kind === 'placed') {
      expect(out.placement.node).toBe('busy');
      expect(out.placement.devices).toEqual([{ gpuIndex: 1, milli: 300, memoryMiB: 0 }]);
    }
  });
});

describe('registry', () => {
  it('knows first-fit, best-fit, fgd and hotpath', () => expect(policyNames).toEqual(['first-fit', 'best-fit', 'fgd', 'hotpath']));
  it('throws on an unknown name, listing the known ones', () => {
    expect(() => createPolicy('worst-fit')).toThrow('unknown placement policy "worst-fit"; known: first-fit, best-fit, fgd');
  });
  it('fgd needs typical specs', () => expect(() => createPolicy('fgd')).toThrow(/typicalSpecs/));
});

describe('fgd score quantisation', () => {
  // sigmoid(0)·100 = 50; growth +1000 -> sigmoid(−1) = 0.2689 -> 26; growth −1000 -> 73
  it.each([[0, 50], [1000, 26], [-1000, 73], [20, 49]])('growth %i -> %i', (g, s) => expect(fgdScoreOfGrowth(g)).toBe(s));
});

describe('select', () => {
  it('says why nothing fits, k8s style', () => {
    const state = new ClusterState(cluster(node('a', 1000, 1), node('b', 8000, 1, 'P100')));
    const out = selectPlacement(state, req('p', 2000, { gpus: 1, gpuModels: ['T4'] }), createPolicy('best-fit'), createPrng(1));
    expect(out).toEqual({
      kind: 'unschedulable',
      reasons: ['0/2 nodes are available: 1 cpu, 1 gpu model', 'a: cpu: need 2000m, free 1000m', 'b: gpu model: wants T4, node has P100'],
    });
  });
  it('breaks ties with the seeded PRNG, reproducibly, reaching every tied node', () => {
    const spec = cluster(node('a', 8000, 1), node('b', 8000, 1), node('c', 8000, 1));
    const pick = (seed: number): string => {
      const out = selectPlacement(new ClusterState(spec), req('p', 1000, { gpus: 1 }), createPolicy('best-fit'), createPrng(seed));
      return out.kind === 'placed' ? out.placement.node : 'none';
    };
    const seen = new Set(Array.from({ length: 60 }, (_, s) => pick(s)));
    expect(seen).toEqual(new Set(['a', 'b', 'c']));
    expect(pick(7)).toBe(pick(7));
  });
  it('with a node rank, ties always go to the lowest-ranked node (the authors\' simulator packs ties this way)', () => {
    const spec = cluster(node('a', 8000, 1), node('b', 8000, 1), node('c', 8000, 1));
    const rank = new Uint32Array([2, 0, 1]); // b first, then c, then a
    const state = new ClusterState(spec);
    const picks: string[] = [];
    for (let i = 0; i < 3; i++) {
      const out = selectPlacement(state, req(`p${i}`, 1000, { gpus: 1 }), createPolicy('best-fit'), createPrng(i), undefined, rank);
      if (out.kind !== 'placed') throw new Error('not placed');
      picks.push(out.placement.node);
      state.reserve(out.placement);
    }
    // identical nodes score alike: the rank alone decides, and a full node drops out
    expect(picks).toEqual(['b', 'c', 'a']);
  });
});
