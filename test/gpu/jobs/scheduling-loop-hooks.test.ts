// Why: the kubernetes backend steers the leader's loop through three seams: a job's gang (from its
// spec), the nodes a job may not use (a pod's selector, taints, cordons), and a veto before victims are
// evicted (the Eviction API may refuse: a PodDisruptionBudget). Each is exercised here on a real Redis
// store with a real election, and the allocation record stays consistent throughout (the audit).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../helpers/redis.ts';
import { closeRedis, createRedis, waitReady } from '../../../src/shared/redis.ts';
import { k80Cluster } from '../../../src/gpu/inventory.ts';
import { auditStore } from '../../../src/gpu/jobs/audit.ts';
import { LeaderElector } from '../../../src/gpu/jobs/leader.ts';
import type { JobRecord, JobSpec } from '../../../src/gpu/jobs/model.ts';
import { SchedulingLoop, type SchedulingLoopOptions } from '../../../src/gpu/jobs/scheduling-loop.ts';
import { JobStore } from '../../../src/gpu/jobs/store.ts';

let redis: TestRedis;
beforeAll(async () => void (redis = await startTestRedis()));
afterAll(() => redis.stop());
const spec = (extra: Partial<JobSpec> = {}): JobSpec => ({ tenant: 't', priority: 0, cpuMilli: 1000, memoryMiB: 1024, gpus: 1, maxRetries: 1, requeueOnPreempt: true, preemptible: true, submittedBy: 'u', ...extra });
let n = 0;

/** One node of 4 K80 devices (k80-0), a store on a fresh prefix, a leading elector, and a loop with `extra`. */
async function withLoop(extra: Partial<SchedulingLoopOptions>, fn: (store: JobStore, loop: SchedulingLoop) => Promise<void>, nodes = 2): Promise<void> {
  const client = createRedis({ url: redis.url, commandTimeoutMs: 2000, connectionName: 'test' });
  const cluster = k80Cluster(nodes);
  try {
    await waitReady(client, 5000);
    const store = new JobStore(client, `hooks${n++}:`, cluster, 3600);
    const elector = new LeaderElector({ campaign: store, owner: 'me', ttlMs: 10_000 });
    await elector.tick();
    const loop = new SchedulingLoop({ store, elector, cluster, policy: 'first-fit', tickMs: 60_000, leaseTtlMs: 60_000, starvationMs: 60_000, preemption: true, ...extra });
    await fn(store, loop);
    expect((await auditStore(store, cluster)).problems).toEqual([]);
    await elector.stop();
  } finally {
    await closeRedis(client);
  }
}

describe('the scheduling loop\'s seams for the kubernetes backend', () => {
  it('a burst larger than one pipelined run, with a preempting decision inside it, is placed whole and consistent', () =>
    withLoop(
      {},
      async (store, loop) => {
        // 100 nodes x 4 devices, 330 held by priority-0 jobs. The burst: 70 of priority 10 (they fill the 70
        // free devices: two runs), one of priority 5 (nothing free is left: it preempts a priority-0 job),
        // and 10 of priority 0 (nothing for them).
        for (let i = 0; i < 330; i++) await store.create(`low-${String(i).padStart(3, '0')}`, spec({ gpus: 1 }), i);
        const first = await loop.tick();
        expect(first.refused).toBeUndefined();
        expect(first.placed).toHaveLength(330);
        for (let i = 0; i < 70; i++) await store.create(`high-${String(i).padStart(2, '0')}`, spec({ gpus: 1, priority: 10 }), 1000 + i);
        await store.create('mid', spec({ gpus: 1, priority: 5 }), 1100);
        for (let i = 0; i < 10; i++) await store.create(`late-${i}`, spec({ gpus: 1 }), 1200 + i);
        const second = await loop.tick();
        expect(second.refused).toBeUndefined();
        expect(second.placed.map((p) => p.id).sort()).toEqual([...Array.from({ length: 70 }, (_, i) => `high-${String(i).padStart(2, '0')}`), 'mid']);
        expect(second.preempted).toHaveLength(1);
        expect(second.preempted[0]).toMatch(/^low-/);
        const live = await store.getMany(await store.liveIds());
        const devices = live.flatMap((j) => j.placement!.devices.map((d) => `${j.placement!.node}/${d.gpuIndex}`));
        expect(new Set(devices).size).toBe(devices.length);
        expect(devices).toHaveLength(400);
        expect((await store.get('late-0'))?.state).toBe('queued');
      },
      100,
    ));

  it('a gang in the spec is placed all or none', () =>
    withLoop({}, async (store, loop) => {
      for (let i = 0; i < 3; i++) await store.create(`g-${i}`, spec({ gpus: 3, gang: { id: 'ml/g', minMember: 3 } }), i);
      const t = await loop.tick();
      expect(t.placed).toEqual([]); // 3 x 3 devices on 2 nodes of 4: two fit, not three
      expect(t.blocked.map((b) => b.jobId).sort()).toEqual(['g-0', 'g-1', 'g-2']);
      expect(await store.liveIds()).toEqual([]);
      await store.create('h-0', spec({ gpus: 4, gang: { id: 'ml/h', minMember: 2 } }), 10);
      await store.create('h-1', spec({ gpus: 4, gang: { id: 'ml/h', minMember: 2 } }), 11);
      expect((await loop.tick()).placed.map((p) => p.id).sort()).toEqual(['h-0', 'h-1']);
    }));

  it('excluded nodes are never used; the reason says why', () =>
    withLoop({ excludedNodes: (j: JobRecord) => (j.id === 'a' ? new Map([['k80-0', 'taint: node(s) had untolerated taint {gpu: }']]) : undefined) }, async (store, loop) => {
      await store.create('a', spec({ gpus: 4 }), 0);
      await loop.tick();
      expect((await store.get('a'))?.placement?.node).toBe('k80-1');
    }));

  it('a vetoed eviction places nothing and evicts nothing; allowed, it preempts', () => {
    let allow = false;
    const asked: string[][] = [];
    return withLoop(
      {
        beforeEvict: async (_id, victims) => {
          asked.push(victims.map((v) => v.id));
          return allow;
        },
      },
      async (store, loop) => {
        await store.create('low', spec({ gpus: 4, priority: 0 }), 0);
        await store.create('low2', spec({ gpus: 4, priority: 0 }), 1);
        await loop.tick();
        expect((await store.liveIds()).sort()).toEqual(['low', 'low2']);
        await store.create('high', spec({ gpus: 4, priority: 10 }), 2);
        const refused = await loop.tick();
        expect(refused.placed).toEqual([]);
        expect(refused.blocked.find((b) => b.jobId === 'high')?.reason).toMatch(/^preemption refused/);
        expect((await store.liveIds()).sort()).toEqual(['low', 'low2']);
        allow = true;
        const ok = await loop.tick();
        expect(ok.placed.map((p) => p.id)).toEqual(['high']);
        expect(ok.preempted).toHaveLength(1);
        expect(asked.length).toBe(2);
      },
    );
  });
});
