// Why: reserve/unreserve bookkeeping, idempotence, and that the invariant checker catches each kind.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { Placement } from '../../../src/gpu/placement/model.ts';
import { ClusterState } from '../../../src/gpu/placement/state.ts';
import { checkInvariants, checkState } from '../../../src/gpu/placement/invariants.ts';
import { createPolicy } from '../../../src/gpu/placement/policies/registry.ts';
import { selectPlacement } from '../../../src/gpu/placement/select.ts';
import { createPrng } from '../../../src/gpu/placement/prng.ts';
import { demandOf } from '../../../src/gpu/placement/demand.ts';
import { fits } from '../../../src/gpu/placement/filter.ts';
import { cluster, node, req } from './helpers.ts';

const spec = cluster(node('a', 8000, 2, 'K80', 65536, 11441), node('b', 8000, 1, 'K80', 65536, 11441));
const share = (id: string, g: number, milli: number, mem = 0, n = 'a'): Placement => ({
  requestId: id, node: n, cpuMilli: 1000, memoryMiB: 1024, devices: [{ gpuIndex: g, milli, memoryMiB: mem }],
});

describe('reserve/unreserve', () => {
  it('tracks free amounts and is idempotent', () => {
    const s = new ClusterState(spec);
    expect(s.reserve(share('r1', 0, 300, 2000))).toEqual({ ok: true });
    expect(s.reserve(share('r1', 0, 300))).toEqual({ ok: false, reason: 'request r1 is already reserved' });
    expect(s.freeMilli(0, 0)).toBe(700);
    expect(s.cpuFreeMilli[0]).toBe(7000);
    expect(s.allocatedGpuMilli).toBe(300);
    expect(s.unreserve('r1')).toBe(true);
    expect(s.unreserve('r1')).toBe(false);
    expect(s.freeMilli(0, 0)).toBe(1000);
    expect(s.allocatedGpuMilli).toBe(0);
    expect(checkState(s)).toEqual([]);
  });
  it('refuses over-commit and sharing an exclusively held device', () => {
    const s = new ClusterState(spec);
    expect(s.reserve(share('r1', 0, 800)).ok).toBe(true);
    expect(s.reserve(share('r2', 0, 300)).ok).toBe(false);
    expect(s.reserve({ ...share('w', 1, 1000, 11441), exclusive: true }).ok).toBe(true);
    expect(s.reserve(share('r3', 1, 0, 1)).ok).toBe(false);
  });
});

describe('invariant checker', () => {
  it.each([
    ['device-milli', [share('x', 0, 700), share('y', 0, 400)]],
    ['device-memory', [share('x', 0, 100, 8000), share('y', 0, 100, 8000)]],
    ['exclusive', [{ ...share('x', 0, 1000), exclusive: true }, share('y', 0, 0, 100)]],
    ['node-cpu', [{ ...share('x', 0, 100), cpuMilli: 9000 }]],
    ['node-memory', [{ ...share('x', 0, 100), memoryMiB: 70000 }]],
    ['unknown-target', [share('x', 5, 100)]],
  ] as const)('catches %s', (kind, placements) => {
    expect(checkInvariants(spec, placements).map((v) => v.kind)).toContain(kind);
  });
  it('catches an allocation of a request that is gone', () => {
    const v = checkInvariants(spec, [share('ghost', 0, 100)], new Set(['alive']));
    expect(v).toEqual([{ kind: 'orphan', message: 'allocation of ghost on a belongs to no live request' }]);
  });
  it('passes a valid set', () => expect(checkInvariants(spec, [share('x', 0, 500), share('y', 0, 500)])).toEqual([]));
});

describe('property: random requests with random unreserves keep the invariants', () => {
  it('holds for every policy', () => {
    const big = cluster(node('a', 16000, 4), node('b', 32000, 8, 'V100M32'), node('c', 8000, 2), node('d', 4000, 0));
    const typicalSpecs = [
      { cpuMilli: 2000, gpuCount: 1, gpuMilliPerDevice: 500, gpuModels: [], probability: 0.6, memoryMiB: 20_000 },
      { cpuMilli: 4000, gpuCount: 2, gpuMilliPerDevice: 1000, gpuModels: [], probability: 0.4, memoryMiB: 40_000 },
    ];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('place' as const), cpu: fc.integer({ min: 0, max: 9000 }), memory: fc.integer({ min: 0, max: 40_000 }), gpus: fc.integer({ min: 0, max: 4 }), milli: fc.integer({ min: 1, max: 1000 }), v100: fc.boolean() }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.constantFrom('first-fit', 'best-fit', 'fgd', 'hotpath'), fc.array(op, { maxLength: 60 }), fc.integer(), (name, ops, seed) => {
        const s = new ClusterState(big);
        const policy = createPolicy(name, { typicalSpecs });
        const prng = createPrng(seed);
        const live: string[] = [];
        ops.forEach((o, i) => {
          if (o.kind === 'release') {
            const id = live.splice(o.pick % Math.max(1, live.length), 1)[0];
            if (id !== undefined) { s.unreserve(id); s.unreserve(id); }
            return;
          }
          const extra = o.gpus === 0 ? (o.milli < 1000 ? { gpuMilli: o.milli } : {}) : { gpus: o.gpus };
          const r = req(`r${i}`, o.cpu, { memoryMiB: o.memory, ...extra, ...(o.v100 ? { gpuModels: ['V100M32'] } : {}) });
          // The scorers' per-node caches (keyed by GPU shape and CPU/memory buckets) answer exactly
          // what a fresh, cache-less scorer answers.
          const fresh = createPolicy(name, { typicalSpecs });
          const demand = demandOf(r);
          for (let n = 0; n < s.nodeCount; n++) {
            if (fits(s, demand, n)) expect(policy.score(s, demand, n)).toEqual(fresh.score(s, demand, n));
          }
          const out = selectPlacement(s, r, policy, prng);
          if (out.kind === 'placed') {
            expect(s.reserve(out.placement)).toEqual({ ok: true });
            live.push(r.id);
          }
        });
        expect(checkState(s, new Set(live))).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });
});
