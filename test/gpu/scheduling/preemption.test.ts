// Why: preemption destroys work, so which jobs it evicts must be the cheapest set that really makes
// room: costs (GPU milli × seconds run) are worked out by hand per case, and the cases where it must
// evict nothing (equal/higher priority, non-preemptible, hopeless) are pinned down.
import { describe, it, expect } from 'vitest';
import type { ClusterSpec, PlacementRequest } from '../../../src/gpu/placement/model.ts';
import { ClusterState } from '../../../src/gpu/placement/state.ts';
import { checkState } from '../../../src/gpu/placement/invariants.ts';
import { createPolicy } from '../../../src/gpu/placement/policies/registry.ts';
import { createPrng } from '../../../src/gpu/placement/prng.ts';
import { choosePreemption, preemptionCost } from '../../../src/gpu/scheduling/preemption.ts';
import type { LiveJob } from '../../../src/gpu/scheduling/pass.ts';
import { cluster, node } from '../placement/helpers.ts';
import { liveWhole } from './helpers.ts';

const want = (gpus: number, priority = 5): PlacementRequest => ({ id: 'hi', tenant: 'x', priority, cpuMilli: 1000, memoryMiB: 1024, gpus });

/** A live share of `milli` on device `gpuIndex`. */
const liveShare = (id: string, nodeName: string, gpuIndex: number, milli: number, startedAtMs: number): LiveJob => ({
  id,
  request: { id, tenant: 't', priority: 0, cpuMilli: 1000, memoryMiB: 1024, gpuMilli: milli },
  placement: { requestId: id, node: nodeName, cpuMilli: 1000, memoryMiB: 1024, devices: [{ gpuIndex, milli, memoryMiB: 0 }], exclusive: false },
  startedAtMs,
});

const stateOf = (spec: ClusterSpec, live: readonly LiveJob[]): ClusterState => {
  const s = new ClusterState(spec);
  for (const j of live) expect(s.reserve(j.placement)).toEqual({ ok: true });
  return s;
};

const twoFour = cluster(node('a', 16000, 4), node('b', 16000, 4));
const NOW = 100_000;
// Costs at NOW (ms -> s): j1 2000m × 100 s = 200000; j2 2000 × 10 = 20000; j3 1000 × 50 = 50000;
// j4 1000 × 30 = 30000; j5 2000 × 5 = 10000.
const fiveJobs = [
  liveWhole('j1', 'a', [0, 1], { startedAtMs: 0 }),
  liveWhole('j2', 'a', [2, 3], { startedAtMs: 90_000 }),
  liveWhole('j3', 'b', [0], { startedAtMs: 50_000 }),
  liveWhole('j4', 'b', [1], { startedAtMs: 70_000 }),
  liveWhole('j5', 'b', [2, 3], { startedAtMs: 95_000 }),
];

interface Case {
  name: string;
  spec: ClusterSpec;
  live: LiveJob[];
  request: PlacementRequest;
  allowed?: (n: number) => boolean;
  expected: { victims: string[]; node: string; devices: number[]; cost: number } | undefined;
}

const cases: Case[] = [
  // a: j2 alone frees 2 GPUs (20000); b: j5 alone frees 2 (10000) -> b, [j5].
  { name: 'the node whose victims cost least', spec: twoFour, live: fiveJobs, request: want(2), expected: { victims: ['j5'], node: 'b', devices: [2, 3], cost: 10000 } },
  // The same with b masked out (held for a starving job): a, [j2].
  { name: 'a masked node is not considered', spec: twoFour, live: fiveJobs, request: want(2), allowed: (n) => n !== 1, expected: { victims: ['j2'], node: 'a', devices: [2, 3], cost: 20000 } },
  // 3 GPUs. a: j2 (20000) frees 2, then j1 (200000) frees 4 -> fits; pruning puts j1 back (2 free:
  // needed), then j2 (2 free: needed) -> 220000. b: j5 (10000) frees 2, j4 (30000) makes 3 -> fits;
  // pruning puts j4 back (2 free: needed), then j5 (1 free: needed) -> 40000. b wins.
  { name: 'several victims on one node', spec: twoFour, live: fiveJobs, request: want(3), expected: { victims: ['j5', 'j4'], node: 'b', devices: [1, 2, 3], cost: 40000 } },
  // One node: k1 [0] 1000 × 1 s = 1000, k2 [1,2,3] 3000 × 2 s = 6000. Greedy evicts k1 (1 free, no),
  // then k2 (4 free, fits); pruning puts k2 back (1 free: needed) and then k1 (3 free: fits) -> [k2].
  {
    name: 'pruning puts back a cheap victim made unnecessary by a bigger one',
    spec: cluster(node('a', 16000, 4)),
    live: [liveWhole('k1', 'a', [0], { startedAtMs: 99_000 }), liveWhole('k2', 'a', [1, 2, 3], { startedAtMs: 98_000 })],
    request: want(3),
    expected: { victims: ['k2'], node: 'a', devices: [1, 2, 3], cost: 6000 },
  },
  // a: x and y, 1 GPU × 50 s each = 100000 together; b: z, 2 GPUs × 50 s = 100000 -> equal, b has fewer.
  {
    name: 'equal cost: fewer victims',
    spec: cluster(node('a', 16000, 2), node('b', 16000, 2)),
    live: [liveWhole('x', 'a', [0], { startedAtMs: 50_000 }), liveWhole('y', 'a', [1], { startedAtMs: 50_000 }), liveWhole('z', 'b', [0, 1], { startedAtMs: 50_000 })],
    request: want(2),
    expected: { victims: ['z'], node: 'b', devices: [0, 1], cost: 100000 },
  },
  {
    name: 'equal cost and count: node order',
    spec: cluster(node('a', 16000, 2), node('b', 16000, 2)),
    live: [liveWhole('y', 'a', [0, 1], { startedAtMs: 50_000 }), liveWhole('x', 'b', [0, 1], { startedAtMs: 50_000 })],
    request: want(2),
    expected: { victims: ['y'], node: 'a', devices: [0, 1], cost: 100000 },
  },
  // s1: 500m × 100 s = 50000; s2: 1000m × 50 s = 50000. Equal cost: the later start (s2) goes first,
  // which frees device 1 whole.
  {
    name: 'equal cost on one node: the later start first',
    spec: cluster(node('a', 16000, 2)),
    live: [liveShare('s1', 'a', 0, 500, 0), liveWhole('s2', 'a', [1], { startedAtMs: 50_000 })],
    request: want(1),
    expected: { victims: ['s2'], node: 'a', devices: [1], cost: 50000 },
  },
  {
    name: 'never equal or higher priority',
    spec: cluster(node('a', 16000, 2)),
    live: [liveWhole('e', 'a', [0], { priority: 5 }), liveWhole('h', 'a', [1], { priority: 7 })],
    request: want(1, 5),
    expected: undefined,
  },
  {
    name: 'never a job marked non-preemptible',
    spec: cluster(node('a', 16000, 2)),
    live: [liveWhole('p', 'a', [0, 1], { preemptible: false })],
    request: want(1),
    expected: undefined,
  },
  // 3 GPUs wanted; evicting the low-priority pair frees 2, the priority-9 job keeps the other 2.
  {
    name: 'undefined when evicting every candidate still would not make it fit',
    spec: cluster(node('a', 16000, 4)),
    live: [liveWhole('top', 'a', [0, 1], { priority: 9 }), liveWhole('low', 'a', [2, 3])],
    request: want(3),
    expected: undefined,
  },
  { name: 'undefined for a request larger than any node', spec: twoFour, live: fiveJobs, request: want(5), expected: undefined },
  // CPU, not GPU, is what is short: c holds 15000 of 16000 mCPU and no GPU, so its cost is 0.
  {
    name: 'a CPU-only victim costs nothing',
    spec: cluster(node('a', 16000, 2), node('b', 16000, 2)),
    live: [liveWhole('g', 'b', [0, 1], { startedAtMs: 0 }), { ...liveWhole('c', 'a', [], { cpuMilli: 15000 }), startedAtMs: 0 }],
    request: { ...want(1), cpuMilli: 4000 },
    expected: { victims: ['c'], node: 'a', devices: [0], cost: 0 },
  },
];

describe('choosePreemption', () => {
  it.each(cases)('$name', ({ spec, live, request, allowed, expected }) => {
    const state = stateOf(spec, live);
    const before = { placements: state.placements(), cpu: [...state.cpuFreeMilli], gpu: [...state.gpuFreeMilli], milli: state.allocatedGpuMilli };
    const plan = choosePreemption(state, request, live, NOW, createPolicy('first-fit'), createPrng(1), allowed);
    // The caller's state is untouched.
    expect({ placements: state.placements(), cpu: [...state.cpuFreeMilli], gpu: [...state.gpuFreeMilli], milli: state.allocatedGpuMilli }).toEqual(before);
    if (expected === undefined) {
      expect(plan).toBeUndefined();
      return;
    }
    expect(plan).toBeDefined();
    if (plan === undefined) return;
    expect(plan.victims).toEqual(expected.victims);
    expect(plan.costGpuMilliSeconds).toBe(expected.cost);
    expect(plan.placement.node).toBe(expected.node);
    expect(plan.placement.devices.map((d) => d.gpuIndex)).toEqual(expected.devices);
    // Releasing the victims really makes room for exactly that placement.
    const after = state.clone();
    for (const v of plan.victims) expect(after.unreserve(v)).toBe(true);
    expect(after.reserve(plan.placement)).toEqual({ ok: true });
    expect(checkState(after)).toEqual([]);
  });

  it('costs GPU milli × seconds run, never negative', () => {
    expect(preemptionCost(liveWhole('j', 'a', [0, 1], { startedAtMs: 1000 }), 61_000)).toBe(120_000);
    expect(preemptionCost(liveWhole('j', 'a', [0], { startedAtMs: 5000 }), 1000)).toBe(0);
  });

  it('ignores candidates already released from the state', () => {
    const state = stateOf(twoFour, fiveJobs);
    state.unreserve('j5');
    // j5 is gone, so b has 2 free GPUs already; for 3 GPUs b needs j4 (30000) only.
    const plan = choosePreemption(state, want(3), fiveJobs, NOW, createPolicy('first-fit'), createPrng(1));
    expect(plan?.victims).toEqual(['j4']);
  });
});

describe('ClusterState.clone', () => {
  it('is independent of the original', () => {
    const state = stateOf(twoFour, fiveJobs);
    const c = state.clone();
    expect(c.placements()).toEqual(state.placements());
    expect(c.unreserve('j1')).toBe(true);
    expect(state.has('j1')).toBe(true);
    expect(state.freeMilli(0, 0)).toBe(0);
    expect(c.freeMilli(0, 0)).toBe(1000);
    expect(c.allocatedGpuMilli).toBe(state.allocatedGpuMilli - 2000);
    expect(checkState(c)).toEqual([]);
    expect(checkState(state)).toEqual([]);
  });
});
