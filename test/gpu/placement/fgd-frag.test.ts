// Why: the fragment measure, FGD's choice on a hand-made 2-node cluster, and what hotpath changes.
import { describe, it, expect } from 'vitest';
import type { TypicalSpec } from '../../../src/gpu/placement/frag.ts';
import { nodeFragMilli, specFragMilli } from '../../../src/gpu/placement/frag.ts';
import { ClusterState } from '../../../src/gpu/placement/state.ts';
import { createPolicy } from '../../../src/gpu/placement/policies/registry.ts';
import { selectPlacement } from '../../../src/gpu/placement/select.ts';
import { createPrng } from '../../../src/gpu/placement/prng.ts';
import { cluster, node, req } from './helpers.ts';
import type { ClusterSpec } from '../../../src/gpu/placement/model.ts';
import { demandOf } from '../../../src/gpu/placement/demand.ts';
import { boardAwareDevices } from '../../../src/gpu/placement/policies/devices.ts';
import { k80Cluster } from '../../../src/sim/k80.ts';

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
  it.each([
    // FGD proper ignores memory (no free memory given): whole fits, fragment 300
    ['memory ignored', undefined, 300],
    // memory-aware: 8192 MiB free ≥ the spec's typical 4096: fits, fragment 300
    ['memory enough', 8192, 300],
    // memory-aware: 2048 MiB free < 4096: the spec cannot run here, all idle (1300) is fragment
    ['memory short', 2048, 1300],
  ])('%s', (_n, memoryFreeMiB, expected) => {
    expect(specFragMilli(8000, 'T4', free, 0, 2, { ...whole, memoryMiB: 4096 }, memoryFreeMiB)).toBe(expected);
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
  // two identical 8-GPU nodes; typical work is whole GPUs only (1 core, 10000 MiB typical memory).
  const wholeSpecs: TypicalSpec[] = [{ cpuMilli: 1000, gpuCount: 1, gpuMilliPerDevice: 1000, gpuModels: [], probability: 1, memoryMiB: 10_000 }];
  const place = (policy: string, spec: ClusterSpec, memoryMiB: number, rank: number[], setup?: (s: ClusterState) => void): string => {
    const state = new ClusterState(spec);
    setup?.(state);
    const out = selectPlacement(state, req('y', 1000, { memoryMiB, gpus: 1 }), createPolicy(policy, { typicalSpecs: wholeSpecs }), createPrng(1), undefined, new Uint32Array(rank));
    return out.kind === 'placed' ? out.placement.node : 'none';
  };

  it('among nodes FGD rates alike, prefers one already running GPU work over an idle one', () => {
    // Placing a whole GPU grows fragmentation on neither node: FGD scores them equally.
    const spec = cluster(node('a', 64_000, 8, 'G2', 256_000), node('b', 64_000, 8, 'G2', 256_000));
    const busyB = (s: ClusterState): void => void s.reserve({ requestId: 'x', node: 'b', cpuMilli: 1000, memoryMiB: 1000, devices: [{ gpuIndex: 0, milli: 1000, memoryMiB: 0 }], exclusive: true });
    expect(place('fgd', spec, 1000, [0, 1], busyB)).toBe('a'); // FGD: a tie, the node order decides
    expect(place('hotpath', spec, 1000, [0, 1], busyB)).toBe('b'); // hotpath: the node already in use
  });

  it('counts idle GPUs stranded by memory as fragment (FGD does not)', () => {
    // a: 2 GPUs, 15000 MiB; b: 2 GPUs, 100000 MiB. A whole GPU with 8000 MiB:
    // on a, 7000 MiB stay < the typical 10000, so a's other idle GPU becomes fragment: growth +1000;
    // on b, 92000 MiB stay: growth 0. FGD ignores memory (growth 0 on both; the order picks a).
    const spec = cluster(node('a', 16_000, 2, 'G2', 15_000), node('b', 16_000, 2, 'G2', 100_000));
    expect(place('fgd', spec, 8000, [0, 1])).toBe('a');
    expect(place('hotpath', spec, 8000, [0, 1])).toBe('b');
  });
});

describe('board-aware device choice (K80: two devices per board)', () => {
  const k80 = k80Cluster(1); // one node, devices 0,1 on board 0 and 2,3 on board 1
  const hold = (s: ClusterState, id: string, g: number): void => void s.reserve({ requestId: id, node: 'k80-0', cpuMilli: 0, memoryMiB: 0, devices: [{ gpuIndex: g, milli: 1000, memoryMiB: 11441 }], exclusive: true });
  it.each([
    ['2 GPUs on an idle node: one whole board', [], 2, [0, 1]],
    ['1 GPU beside a taken half: keeps board 1 whole', [0], 1, [1]],
    ['2 GPUs with board 0 half taken: the whole board 1', [0], 2, [2, 3]],
    ['2 GPUs with one half of each board taken: the two halves left', [0, 2], 2, [1, 3]],
    ['3 GPUs on an idle node: a whole board plus one', [], 3, [0, 1, 2]],
    ['3 GPUs with only 2 idle: none', [0, 3], 3, undefined],
  ])('%s', (_name, taken, gpus, expected) => {
    const s = new ClusterState(k80);
    taken.forEach((g, i) => hold(s, `t${i}`, g));
    expect(boardAwareDevices(s, demandOf(req('r', 0, { gpus })), 0)).toEqual(expected);
  });
  it('without board ids it is the first idle devices by index', () => {
    const s = new ClusterState(cluster(node('a', 8000, 4)));
    s.reserve({ requestId: 'x', node: 'a', cpuMilli: 0, memoryMiB: 0, devices: [{ gpuIndex: 1, milli: 1000, memoryMiB: 0 }], exclusive: true });
    expect(boardAwareDevices(s, demandOf(req('r', 0, { gpus: 2 })), 0)).toEqual([0, 2]);
  });
  it('hotpath places a 2-GPU job on one board where best-fit order would split boards', () => {
    const s = new ClusterState(k80);
    hold(s, 'x', 0);
    const out = selectPlacement(s, req('r', 1000, { gpus: 2 }), createPolicy('hotpath', { typicalSpecs: specs }), createPrng(1));
    expect(out.kind === 'placed' && out.placement.devices.map((d) => d.gpuIndex)).toEqual([2, 3]);
    const fgd = selectPlacement(s, req('r', 1000, { gpus: 2 }), createPolicy('fgd', { typicalSpecs: specs }), createPrng(1));
    expect(fgd.kind === 'placed' && fgd.placement.devices.map((d) => d.gpuIndex)).toEqual([1, 2]);
  });
});
