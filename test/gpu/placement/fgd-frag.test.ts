// Why: the fragment measure and FGD's choice on a hand-made 2-node cluster.
import { describe, it, expect } from 'vitest';
import type { TypicalSpec } from '../../../src/gpu/placement/frag.ts';
import { nodeFragMilli, specFragMilli } from '../../../src/gpu/placement/frag.ts';
import { ClusterState } from '../../../src/gpu/placement/state.ts';
import { createPolicy } from '../../../src/gpu/placement/policies/registry.ts';
import { selectPlacement } from '../../../src/gpu/placement/select.ts';
import { createPrng } from '../../../src/gpu/placement/prng.ts';
import { cluster, node, req } from './helpers.ts';

const whole: TypicalSpec = { cpuMilli: 4000, gpuCount: 1, gpuMilliPerDevice: 1000, gpuModels: [], probability: 0.5 };
const half: TypicalSpec = { cpuMilli: 2000, gpuCount: 1, gpuMilliPerDevice: 500, gpuModels: [], probability: 0.25 };
const cpuOnly: TypicalSpec = { cpuMilli: 1000, gpuCount: 0, gpuMilliPerDevice: 0, gpuModels: [], probability: 0.25 };
const specs = [whole, half, cpuOnly];

describe('fragment measure', () => {
  const free = [1000, 300];
  it.each([
    // whole GPU spec fits (device 0 is idle): fragment = devices with < 1000 free = 300
    ['whole fits', 8000, 'T4', whole, 300],
    // half spec fits on device 0: device 1 (300 < 500) is fragment = 300
    ['half fits', 8000, 'T4', half, 300],
    // CPU-only: all idle GPU (1300) is fragment
    ['cpu-only', 8000, 'T4', cpuOnly, 1300],
    // CPU short for the whole spec: all idle (1300)
    ['cpu short', 3000, 'T4', whole, 1300],
    // model mismatch: all idle
    ['model', 8000, 'T4', { ...whole, gpuModels: ['A10'] }, 1300],
  ])('%s', (_n, cpu, model, spec, expected) => {
    expect(specFragMilli(cpu, model, free, 0, 2, spec)).toBe(expected);
  });
  it('F_n(M) is the probability-weighted sum: 0.5·300 + 0.25·300 + 0.25·1300 = 550', () => {
    expect(nodeFragMilli(8000, 'T4', free, 0, 2, specs)).toBe(550);
  });
  it('a node without GPUs has no fragment', () => expect(nodeFragMilli(8000, '', [], 0, 0, specs)).toBe(0));
});

describe('fgd on two nodes', () => {
  // Node a: devices [idle, 400 free]; node b: two idle devices; both 8 cores.
  // A 400m share: on a#1 -> a = [1000, 0]: F = 0.5·0 + 0.25·0 + 0.25·1000 = 250 (was 0.5·400+0.25·400+0.25·1400 = 650): growth −400.
  // On b#0 -> b = [600, 1000]: F = 0.5·600 + 0.25·0 + 0.25·1600 = 700 (was 500): growth +200. FGD picks a#1.
  it('fills the partly used device that leaves least fragment', () => {
    const state = new ClusterState(cluster(node('a', 8000, 2), node('b', 8000, 2)));
    state.reserve({ requestId: 'x', node: 'a', cpuMilli: 0, memoryMiB: 0, devices: [{ gpuIndex: 1, milli: 600, memoryMiB: 0 }] });
    const out = selectPlacement(state, req('p', 1000, { gpuMilli: 400 }), createPolicy('fgd', { typicalSpecs: specs }), createPrng(3));
    expect(out.kind === 'placed' && out.placement.node).toBe('a');
    expect(out.kind === 'placed' && out.placement.devices[0]?.gpuIndex).toBe(1);
  });
});

describe('hotpath policy', () => {
  it('among nodes FGD rates alike, prefers one already running GPU work over an idle one', async () => {
    const { createPolicy: create } = await import('../../../src/gpu/placement/policies/registry.ts');
    const { ClusterState: State } = await import('../../../src/gpu/placement/state.ts');
    const { selectPlacement: select } = await import('../../../src/gpu/placement/select.ts');
    const { createPrng: prng } = await import('../../../src/gpu/placement/prng.ts');
    // two identical 8-GPU nodes; "b" already holds one whole GPU. Typical work is whole GPUs only, so
    // placing another whole GPU grows fragmentation on neither node: FGD scores them equally.
    const specs = [{ cpuMilli: 1000, gpuCount: 1, gpuMilliPerDevice: 1000, gpuModels: [], probability: 1 }];
    const spec = { nodes: ['a', 'b'].map((name) => ({ name, cpuMilli: 64_000, memoryMiB: 256_000, labels: {}, gpus: Array.from({ length: 8 }, (_, i) => ({ index: i, model: 'G2', memoryMiB: 0, milli: 1000 })) })) };
    const rankAFirst = new Uint32Array([0, 1]);
    const place = (policy: string) => {
      const state = new State(spec);
      const first = select(state, { id: 'x', tenant: 't', priority: 0, cpuMilli: 1000, memoryMiB: 1000, gpus: 1 }, create(policy, { typicalSpecs: specs }), prng(1), undefined, new Uint32Array([1, 0]));
      if (first.kind !== 'placed') throw new Error('first not placed');
      state.reserve(first.placement); // lands on b (b ranks first here)
      const next = select(state, { id: 'y', tenant: 't', priority: 0, cpuMilli: 1000, memoryMiB: 1000, gpus: 1 }, create(policy, { typicalSpecs: specs }), prng(1), undefined, rankAFirst);
      return next.kind === 'placed' ? next.placement.node : 'none';
    };
    expect(place('fgd')).toBe('a'); // FGD: a tie, the node order decides
    expect(place('hotpath')).toBe('b'); // hotpath: the node already in use
  });
});
