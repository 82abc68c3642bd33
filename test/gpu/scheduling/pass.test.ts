// Why: the pass decides what runs; each rule (priority, fair share, backfill, reservation, FIFO stop,
// quota, preemption, hopeless requests, the work bound) is pinned on a tiny cluster with the outcome
// worked out by hand, and a property checks on random inputs that no decision over-commits a device
// and every queued job is accounted for exactly once.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { ClusterSpec, PlacementRequest } from '../../../src/gpu/placement/model.ts';
import { ClusterState } from '../../../src/gpu/placement/state.ts';
import { checkState } from '../../../src/gpu/placement/invariants.ts';
import { createPolicy } from '../../../src/gpu/placement/policies/registry.ts';
import { createPrng } from '../../../src/gpu/placement/prng.ts';
import { selectPlacement } from '../../../src/gpu/placement/select.ts';
import { schedulePass } from '../../../src/gpu/scheduling/pass.ts';
import type { LiveJob, PassInput, PassResult, PendingJob, TenantPolicy } from '../../../src/gpu/scheduling/pass.ts';
import { cluster, node, req } from '../placement/helpers.ts';
import { liveWhole, pendingWhole } from './helpers.ts';

const run = (cluster: ClusterSpec, pending: PendingJob[], extra: Partial<PassInput> = {}): PassResult =>
  schedulePass({
    cluster,
    live: [],
    pending,
    nowMs: 0,
    policy: createPolicy('first-fit'),
    prng: createPrng(1),
    backfill: true,
    starvationMs: Infinity,
    preemption: false,
    ...extra,
  });

const placed = (r: PassResult): string[] => r.decisions.map((d) => d.jobId);
const where = (r: PassResult): string[] => r.decisions.map((d) => `${d.jobId}@${d.placement.node}`);
const reasons = (r: PassResult): Record<string, string> => Object.fromEntries(r.blocked.map((b) => [b.jobId, b.reason]));
const liveIdsAfter = (live: readonly LiveJob[], r: PassResult): Set<string> => {
  const victims = new Set(r.decisions.flatMap((d) => d.preempt));
  return new Set([...live.map((l) => l.id).filter((id) => !victims.has(id)), ...placed(r)]);
};

describe('order', () => {
  it('higher priority first, even when younger', () => {
    const r = run(cluster(node('n0', 16000, 1)), [pendingWhole('low', 1, 0), pendingWhole('high', 1, 1000, { priority: 5 })]);
    expect(placed(r)).toEqual(['high']);
    expect(reasons(r)).toEqual({ low: '0/1 nodes are available: 1 gpu; n0: gpu: need 1 idle devices, node has 0' });
  });

  it('within a priority, the tenant holding less goes first, even with younger jobs', () => {
    // 4 GPUs, A holds 2: A's share 2000/4000 = 0.5, B's 0 -> b1 (B 0.25) -> b2 (B 0.5); full.
    const live = [liveWhole('a-live', 'n0', [0, 1], { tenant: 'A' })];
    const pending = [
      pendingWhole('a1', 1, 0, { tenant: 'A' }), pendingWhole('a2', 1, 1, { tenant: 'A' }),
      pendingWhole('b1', 1, 2, { tenant: 'B' }), pendingWhole('b2', 1, 3, { tenant: 'B' }),
    ];
    const r = run(cluster(node('n0', 64000, 4)), pending, { live });
    expect(placed(r)).toEqual(['b1', 'b2']);
    expect(r.blocked.map((b) => b.jobId)).toEqual(['a1', 'a2']);
  });

  it('with weights 2:1 the GPUs split 2:1', () => {
    // 6 GPUs, 64 cores: GPU dominates (1000/6000 per job vs 1000/64000 CPU, 1024/65536 memory).
    // Shares (A weight 2, B 1): 0,0 tie -> A (name) 1/12; B 0 -> B 1/6; A 1/12 -> A 1/6;
    // tie 1/6 -> A 1/4; B 1/6 -> B 1/3; A 1/4 -> A 1/3; the cluster is full: A 4, B 2.
    const pending = [1, 2, 3, 4, 5, 6].flatMap((i) => [pendingWhole(`a${i}`, 1, i, { tenant: 'A' }), pendingWhole(`b${i}`, 1, i, { tenant: 'B' })]);
    const tenantPolicy = (t: string): TenantPolicy => ({ weight: t === 'A' ? 2 : 1 });
    const r = run(cluster(node('n0', 64000, 6)), pending, { tenantPolicy });
    expect(placed(r)).toEqual(['a1', 'b1', 'a2', 'a3', 'b2', 'a4']);
    // Equal weights split 3:3 instead.
    expect(placed(run(cluster(node('n0', 64000, 6)), pending))).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
  });

  it('within a tenant, oldest first, then id', () => {
    const r = run(cluster(node('n0', 16000, 2)), [pendingWhole('c', 1, 5), pendingWhole('b', 1, 1), pendingWhole('a', 1, 5)]);
    expect(placed(r)).toEqual(['b', 'a']);
  });
});

describe('backfill, reservation, FIFO', () => {
  // One node of 4 GPUs; x holds 3. big (2 GPUs) cannot fit; small (1) can.
  const one = cluster(node('n0', 16000, 4));
  const live = [liveWhole('x', 'n0', [0, 1, 2])];
  const pending = [pendingWhole('big', 2, 0), pendingWhole('small', 1, 1000)];
  const bigReason = '0/1 nodes are available: 1 gpu; n0: gpu: need 2 idle devices, node has 1';

  it('backfill lets a small job pass a big one', () => {
    const r = run(one, pending, { live });
    expect(where(r)).toEqual(['small@n0']);
    expect(reasons(r)).toEqual({ big: bigReason });
    expect(r.reservations).toEqual([]);
  });

  it('FIFO stops at the first job that does not fit', () => {
    const r = run(one, pending, { live, backfill: false });
    expect(placed(r)).toEqual([]);
    expect(reasons(r)).toEqual({ big: bigReason, small: 'waiting behind big' });
  });

  it("order 'arrival' is age alone: an older low-priority job goes before a newer high-priority one", () => {
    const mixed = [pendingWhole('old-low', 2, 0, { tenant: 'a', priority: 0 }), pendingWhole('new-high', 1, 1000, { tenant: 'b', priority: 9 })];
    const fair = run(one, mixed, { live, backfill: false });
    expect(placed(fair)).toEqual(['new-high']); // priority first
    const arrival = run(one, mixed, { live, backfill: false, order: 'arrival' });
    expect(placed(arrival)).toEqual([]); // the old 2-GPU job does not fit and stops the queue
    expect(reasons(arrival)['new-high']).toBe('waiting behind old-low');
  });

  // Nodes a and b of 4 GPUs; a has 1 free, b 2. big (3 GPUs) has waited 600 s > 300 s.
  const two = cluster(node('a', 16000, 4), node('b', 16000, 4));
  const live2 = [liveWhole('x', 'a', [0, 1, 2]), liveWhole('y', 'b', [0, 1])];
  const pending2 = [pendingWhole('big', 3, 0), pendingWhole('s1', 1, 1000), pendingWhole('s2', 1, 2000), pendingWhole('s3', 3, 3000)];

  it('a starving job reserves the node with the most free GPU milli; small jobs stop landing there', () => {
    const r = run(two, pending2, { live: live2, nowMs: 600_000, starvationMs: 300_000 });
    expect(r.reservations).toEqual([{ jobId: 'big', node: 'b' }]);
    // s1 goes to a (b is held); s2 would fit b only; s3 fits neither, b counted as reserved.
    expect(where(r)).toEqual(['s1@a']);
    expect(reasons(r)).toEqual({
      big: '0/2 nodes are available: 2 gpu; a: gpu: need 3 idle devices, node has 1; b: gpu: need 3 idle devices, node has 2',
      s2: 'waiting behind reserved job big (node b)',
      s3: '0/2 nodes are available: 1 gpu, 1 reserved; a: gpu: need 3 idle devices, node has 0; b: reserved: held for another job in this pass',
    });
    expect(checkState(r.state, liveIdsAfter(live2, r))).toEqual([]);
  });

  it('before the starvation bound, small jobs pass freely (first-fit: a, then b)', () => {
    const r = run(two, pending2, { live: live2, nowMs: 200_000, starvationMs: 300_000 });
    expect(r.reservations).toEqual([]);
    expect(where(r)).toEqual(['s1@a', 's2@b']);
  });

  it('makes at most one reservation per pass (the first starving job in pass order)', () => {
    const r = run(two, [...pending2, pendingWhole('big2', 4, 10)], { live: live2, nowMs: 600_000, starvationMs: 300_000 });
    expect(r.reservations).toEqual([{ jobId: 'big', node: 'b' }]);
  });
});

describe('quota', () => {
  const tenantPolicy = (t: string): TenantPolicy => (t === 'q' ? { weight: 1, quotaGpuMilli: 2000 } : { weight: 1 });

  it('skips a job that would put its tenant over quota, without stopping FIFO', () => {
    // q holds 1000m; q1 (2 GPUs) would make 3000m > 2000m; q2 (1 GPU) makes 2000m, allowed.
    const live = [liveWhole('q0', 'n0', [0], { tenant: 'q' })];
    for (const backfill of [true, false]) {
      const r = run(cluster(node('n0', 16000, 4)), [pendingWhole('q1', 2, 0, { tenant: 'q' }), pendingWhole('q2', 1, 1, { tenant: 'q' })], { live, tenantPolicy, backfill });
      expect(placed(r)).toEqual(['q2']);
      expect(reasons(r)).toEqual({ q1: 'quota: tenant q would hold 3000m > 2000m' });
    }
  });

  it('never preempts for a job over quota', () => {
    const live = [liveWhole('z0', 'n0', [0, 1, 2, 3], { tenant: 'z' })];
    const r = run(cluster(node('n0', 16000, 4)), [pendingWhole('q1', 3, 0, { tenant: 'q', priority: 9 })], { live, tenantPolicy, preemption: true });
    expect(placed(r)).toEqual([]);
    expect(reasons(r)).toEqual({ q1: 'quota: tenant q would hold 3000m > 2000m' });
  });
});

describe('preemption', () => {
  // Two GPUs, both held at priority 0; at 100 s low1 has cost 1000 × 100 = 100000, low2 1000 × 50 = 50000.
  const spec = cluster(node('n0', 16000, 2));
  const live = [liveWhole('low1', 'n0', [0], { startedAtMs: 0 }), liveWhole('low2', 'n0', [1], { startedAtMs: 50_000 })];

  it('a higher-priority job evicts the cheapest victim; the decision carries victims and placement', () => {
    const r = run(spec, [pendingWhole('hi', 1, 0, { priority: 5 })], { live, nowMs: 100_000, preemption: true });
    expect(r.decisions).toEqual([{
      kind: 'place',
      jobId: 'hi',
      placement: { requestId: 'hi', node: 'n0', cpuMilli: 1000, memoryMiB: 1024, devices: [{ gpuIndex: 1, milli: 1000, memoryMiB: 0 }], exclusive: true },
      preempt: ['low2'],
    }]);
    expect(r.state.has('low2')).toBe(false);
    expect(checkState(r.state, new Set(['low1', 'hi']))).toEqual([]);
  });

  it('not when preemption is off, nor for an equal priority', () => {
    expect(placed(run(spec, [pendingWhole('hi', 1, 0, { priority: 5 })], { live, nowMs: 100_000 }))).toEqual([]);
    const r = run(spec, [pendingWhole('peer', 1, 0)], { live, nowMs: 100_000, preemption: true });
    expect(placed(r)).toEqual([]);
    expect(reasons(r)).toEqual({ peer: '0/1 nodes are available: 1 gpu; n0: gpu: need 1 idle devices, node has 0' });
  });

  it('a victim freed for one job is not evicted twice; the next job takes the other', () => {
    const r = run(spec, [pendingWhole('h1', 1, 0, { priority: 5 }), pendingWhole('h2', 1, 1, { priority: 5 })], { live, nowMs: 100_000, preemption: true });
    expect(r.decisions.map((d) => [d.jobId, d.preempt])).toEqual([['h1', ['low2']], ['h2', ['low1']]]);
    expect(checkState(r.state, liveIdsAfter(live, r))).toEqual([]);
  });
});

describe('robustness', () => {
  it('blocks a request that fits no node even when empty, and FIFO goes on past it', () => {
    const r = run(cluster(node('n0', 16000, 4)), [pendingWhole('huge', 8, 0), pendingWhole('ok', 1, 1)], { backfill: false });
    expect(placed(r)).toEqual(['ok']);
    expect(reasons(r)).toEqual({ huge: 'never fits, even on the empty cluster: 0/1 nodes are available: 1 gpu; n0: gpu: need 8 idle devices, node has 4' });
  });

  it('stops after maxPlacements; the rest wait for the next pass', () => {
    const r = run(cluster(node('n0', 16000, 4)), [pendingWhole('a', 1, 0), pendingWhole('b', 1, 1), pendingWhole('c', 1, 2)], { maxPlacements: 2 });
    expect(placed(r)).toEqual(['a', 'b']);
    expect(reasons(r)).toEqual({ c: 'pass limit: 2 placements made; next pass' });
  });

  it('refuses to place a job that is already live', () => {
    const live = [liveWhole('dup', 'n0', [0])];
    const r = run(cluster(node('n0', 16000, 4)), [pendingWhole('dup', 1, 0)], { live });
    expect(placed(r)).toEqual([]);
    expect(reasons(r)).toEqual({ dup: 'already placed (live, or earlier in this pass)' });
  });

  it('throws when the live set itself over-commits the cluster', () => {
    const live = [liveWhole('l1', 'n0', [0]), liveWhole('l2', 'n0', [0])];
    expect(() => run(cluster(node('n0', 16000, 4)), [], { live })).toThrow(/live job l2 cannot be reserved/);
  });
});

describe('selectPlacement with an allowed mask', () => {
  const spec = cluster(node('a', 8000, 1), node('b', 8000, 1));
  it('skips masked nodes and counts them as reserved', () => {
    const state = new ClusterState(spec);
    const out = selectPlacement(state, req('p', 1000, { gpus: 1 }), createPolicy('first-fit'), createPrng(1), undefined, undefined, (n) => n !== 0);
    expect(out.kind === 'placed' && out.placement.node).toBe('b');
    const none = selectPlacement(state, req('p', 1000, { gpus: 1 }), createPolicy('first-fit'), createPrng(1), undefined, undefined, () => false);
    expect(none).toEqual({
      kind: 'unschedulable',
      reasons: ['0/2 nodes are available: 2 reserved', 'a: reserved: held for another job in this pass', 'b: reserved: held for another job in this pass'],
    });
  });
});

describe('property: random clusters, live sets and queues', () => {
  const typicalSpecs = [
    { cpuMilli: 2000, gpuCount: 1, gpuMilliPerDevice: 500, gpuModels: [], probability: 0.6, memoryMiB: 8000 },
    { cpuMilli: 4000, gpuCount: 2, gpuMilliPerDevice: 1000, gpuModels: [], probability: 0.4, memoryMiB: 16000 },
  ];
  const shape = fc.record({
    tenant: fc.constantFrom('a', 'b', 'c'),
    priority: fc.integer({ min: 0, max: 2 }),
    cpu: fc.integer({ min: 0, max: 4000 }),
    memory: fc.integer({ min: 0, max: 16_000 }),
    gpus: fc.integer({ min: 0, max: 3 }),
    share: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
    gpuMemory: fc.option(fc.integer({ min: 1, max: 12_000 }), { nil: undefined }),
    k80Only: fc.boolean(),
    preemptible: fc.option(fc.boolean(), { nil: undefined }),
    atMs: fc.integer({ min: 0, max: 1000 }),
  });
  type Shape = typeof shape extends fc.Arbitrary<infer T> ? T : never;
  const requestOf = (id: string, s: Shape): PlacementRequest => ({
    id,
    tenant: s.tenant,
    priority: s.priority,
    cpuMilli: s.cpu,
    memoryMiB: s.memory,
    ...(s.gpus > 0 ? { gpus: s.gpus } : s.share !== undefined ? { gpuMilli: s.share, ...(s.gpuMemory !== undefined ? { gpuMemoryMiB: s.gpuMemory } : {}) } : {}),
    ...(s.k80Only ? { gpuModels: ['K80'] } : {}),
  });

  it('never over-commits and accounts for every queued job once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ cpu: fc.integer({ min: 2000, max: 32000 }), gpus: fc.integer({ min: 0, max: 4 }), k80: fc.boolean() }), { minLength: 1, maxLength: 4 }),
        fc.array(shape, { maxLength: 12 }),
        fc.array(shape, { maxLength: 16 }),
        fc.record({
          policy: fc.constantFrom('first-fit', 'best-fit', 'fgd', 'hotpath'),
          seed: fc.integer(),
          backfill: fc.boolean(),
          preemption: fc.boolean(),
          starvationMs: fc.constantFrom(0, 500, Infinity),
          weightB: fc.constantFrom(0.5, 1, 3),
          quotaC: fc.option(fc.integer({ min: 0, max: 4000 }), { nil: undefined }),
          maxPlacements: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
        }),
        (nodes, liveShapes, pendingShapes, o) => {
          const spec = cluster(...nodes.map((n, i) => node(`n${i}`, n.cpu, n.gpus, n.k80 ? 'K80' : 'T4', 65536, 16000)));
          // A consistent live set: whatever first-fit manages to place, in order.
          const s = new ClusterState(spec);
          const live: LiveJob[] = [];
          liveShapes.forEach((sh, i) => {
            const request = requestOf(`l${i}`, sh);
            const out = selectPlacement(s, request, createPolicy('first-fit'), createPrng(i));
            if (out.kind !== 'placed' || !s.reserve(out.placement).ok) return;
            live.push({ id: request.id, request, placement: out.placement, startedAtMs: sh.atMs, ...(sh.preemptible === undefined ? {} : { preemptible: sh.preemptible }) });
          });
          const pending = pendingShapes.map((sh, i) => ({ id: `p${i}`, request: requestOf(`p${i}`, sh), queuedAtMs: sh.atMs }));
          const tenantPolicy = (t: string): TenantPolicy =>
            t === 'b' ? { weight: o.weightB } : t === 'c' && o.quotaC !== undefined ? { weight: 1, quotaGpuMilli: o.quotaC } : { weight: 1 };
          const r = schedulePass({
            cluster: spec, live, pending, nowMs: 2000,
            policy: createPolicy(o.policy, { typicalSpecs }), prng: createPrng(o.seed),
            tenantPolicy, backfill: o.backfill, starvationMs: o.starvationMs, preemption: o.preemption,
            ...(o.maxPlacements === undefined ? {} : { maxPlacements: o.maxPlacements }),
          });
          expect(checkState(r.state, liveIdsAfter(live, r))).toEqual([]);
          const pendingById = new Map(pending.map((p) => [p.id, p]));
          const liveById = new Map(live.map((l) => [l.id, l]));
          const ids = placed(r);
          expect(new Set(ids).size).toBe(ids.length);
          const victims = r.decisions.flatMap((d) => d.preempt);
          expect(new Set(victims).size).toBe(victims.length);
          for (const d of r.decisions) {
            const job = pendingById.get(d.jobId);
            expect(job).toBeDefined();
            expect(d.placement.requestId).toBe(d.jobId);
            for (const v of d.preempt) {
              const victim = liveById.get(v);
              expect(victim).toBeDefined();
              expect(victim?.preemptible).not.toBe(false);
              expect(victim?.request.priority).toBeLessThan(job?.request.priority ?? -Infinity);
              expect(victim?.placement.node).toBe(d.placement.node);
            }
          }
          if (!o.preemption) expect(victims).toEqual([]);
          if (o.maxPlacements !== undefined) expect(r.decisions.length).toBeLessThanOrEqual(o.maxPlacements);
          // Every queued job is either placed or blocked, once.
          const accounted = [...ids, ...r.blocked.map((b) => b.jobId)].sort();
          expect(accounted).toEqual(pending.map((p) => p.id).sort());
          expect(r.reservations.length).toBeLessThanOrEqual(o.backfill ? 1 : 0);
          // Nothing is placed on the reserved node after the starving job reserved it.
          for (const res of r.reservations) {
            const after = r.decisions.filter((d) => {
              const p = pendingById.get(d.jobId);
              const starving = pendingById.get(res.jobId);
              if (p === undefined || starving === undefined) return false;
              return p.request.priority < starving.request.priority;
            });
            for (const d of after) expect(d.placement.node).not.toBe(res.node);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('gangs: all or none', () => {
  const four = () => cluster(node('n0', 32_000, 2), node('n1', 32_000, 2));
  const member = (id: string, gang: string, minMember: number, queuedAtMs: number, gpus = 1, opts: { tenant?: string } = {}): PendingJob => ({
    ...pendingWhole(id, gpus, queuedAtMs, opts),
    gang: { id: gang, minMember },
  });

  it('places every member when all fit', () => {
    const r = run(four(), [member('g-0', 'g', 3, 0), member('g-1', 'g', 3, 1), member('g-2', 'g', 3, 2)]);
    expect(placed(r).sort()).toEqual(['g-0', 'g-1', 'g-2']);
    expect(r.blocked).toEqual([]);
    expect(checkState(r.state)).toEqual([]);
  });

  it('places none when fewer than minMember fit, holds nothing, and a later small job still gets the GPUs (backfill)', () => {
    const live = [liveWhole('busy', 'n0', [0, 1])];
    const r = run(four(), [member('g-0', 'g', 3, 0), member('g-1', 'g', 3, 1), member('g-2', 'g', 3, 2), pendingWhole('small', 1, 5)], { live });
    expect(placed(r)).toEqual(['small']);
    expect(reasons(r)['g-0']).toMatch(/^gang g: 2 of 3 members can run \(0 running\); placed all or none; g-2: /);
    expect(Object.keys(reasons(r)).sort()).toEqual(['g-0', 'g-1', 'g-2']);
    expect(r.state.has('g-0') || r.state.has('g-1')).toBe(false);
  });

  it('minMember below the member count: the gang runs once minMember fit; the rest wait', () => {
    const live = [liveWhole('busy', 'n0', [0, 1])];
    const r = run(four(), [member('g-0', 'g', 2, 0), member('g-1', 'g', 2, 1), member('g-2', 'g', 2, 2)], { live });
    expect(placed(r)).toEqual(['g-0', 'g-1']);
    expect(reasons(r)['g-2']).toMatch(/^gang g runs with 2 members; this one: /);
  });

  it('running members count towards minMember', () => {
    const live: LiveJob[] = [{ ...liveWhole('g-0', 'n0', [0]), gangId: 'g' }];
    const r = run(four(), [member('g-1', 'g', 2, 1)], { live });
    expect(placed(r)).toEqual(['g-1']);
  });

  it('members are handled together when the first comes up, even with other jobs queued between them', () => {
    const r = run(four(), [member('g-0', 'g', 2, 0, 2), pendingWhole('other', 1, 1, { tenant: 'u' }), member('g-1', 'g', 2, 2, 2)]);
    // The gang takes both nodes whole; the other tenant's job, though older than g-1, finds no GPU.
    expect(where(r)).toEqual(['g-0@n0', 'g-1@n1']);
    expect(reasons(r).other).toMatch(/nodes are available|Insufficient/);
  });

  it('FIFO stops behind a gang that cannot run; every member is blocked once', () => {
    const live = [liveWhole('busy', 'n0', [0, 1])];
    const r = run(four(), [member('g-0', 'g', 3, 0), member('g-1', 'g', 3, 1), member('g-2', 'g', 3, 2), pendingWhole('small', 1, 5)], { live, backfill: false });
    expect(placed(r)).toEqual([]);
    expect(reasons(r).small).toBe('waiting behind gang g');
    expect(r.blocked.map((b) => b.jobId).sort()).toEqual(['g-0', 'g-1', 'g-2', 'small']);
  });

  it('a gang over its tenant quota, or over the pass limit, is blocked whole', () => {
    const quota: (t: string) => TenantPolicy = () => ({ weight: 1, quotaGpuMilli: 2000 });
    const overQuota = run(four(), [member('g-0', 'g', 3, 0), member('g-1', 'g', 3, 1), member('g-2', 'g', 3, 2)], { tenantPolicy: quota });
    expect(placed(overQuota)).toEqual([]);
    expect(reasons(overQuota)['g-1']).toMatch(/^quota: gang g would put tenant t at 3000m > 2000m/);
    const limited = run(four(), [member('g-0', 'g', 2, 0), member('g-1', 'g', 2, 1)], { maxPlacements: 1 });
    expect(placed(limited)).toEqual([]);
    expect(reasons(limited)['g-0']).toMatch(/^pass limit: gang g needs 2 placements, 1 left/);
  });
});

describe('per-job node exclusions (a pod\'s selector, taints, cordoned nodes)', () => {
  const two = () => cluster(node('n0', 32_000, 2), node('n1', 32_000, 2));
  it('never places on an excluded node; the reason counts exclusions by kind', () => {
    const job: PendingJob = { ...pendingWhole('a', 1, 0), excludedNodes: new Map([['n0', 'taint: node(s) had untolerated taint {x: }']]) };
    expect(where(run(two(), [job]))).toEqual(['a@n1']);
    const none: PendingJob = { ...pendingWhole('b', 1, 0), excludedNodes: new Map([['n0', 'taint: t'], ['n1', 'unschedulable: node is cordoned']]) };
    const r = run(two(), [none]);
    expect(placed(r)).toEqual([]);
    expect(reasons(r).b).toMatch(/^0\/2 nodes are available: 1 taint, 1 unschedulable/);
  });
  it('a gang member and a starving job\'s reservation respect the exclusions too', () => {
    const g = (id: string, t: number): PendingJob => ({ ...pendingWhole(id, 2, t), gang: { id: 'g', minMember: 2 }, excludedNodes: new Map([['n1', 'selector: zone']]) });
    const r = run(two(), [g('g-0', 0), g('g-1', 1)]);
    expect(placed(r)).toEqual([]); // only n0 is allowed: one member fits, not two
    const starving: PendingJob = { ...pendingWhole('s', 2, 0), excludedNodes: new Map([['n0', 'selector: zone']]) };
    const live = [liveWhole('busy', 'n1', [0])];
    const res = run(two(), [starving], { live, starvationMs: 10, nowMs: 1000 });
    expect(res.reservations).toEqual([{ jobId: 's', node: 'n1' }]);
  });
});
