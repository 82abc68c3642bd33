// Why: the Lease election must give one fencing token, not two: whoever holds the coordination.k8s.io/v1
// Lease leads with its leaseTransitions as the Redis store's epoch, so a deposed leader's writes are
// refused by the same Lua scripts as with the Redis election. The rule is checked as a table; the
// campaign against the fake API server (real wire format, optimistic concurrency on the Lease, Go's
// MicroTime layout) and a real Redis, with clocks stepped by hand, since expiry is about time.
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { k80Cluster } from '../../../src/gpu/inventory.ts';
import { kubeLeases } from '../../../src/gpu/kubernetes/api.ts';
import { LeaseCampaign, leaseMove, type LeaseView } from '../../../src/gpu/kubernetes/lease-campaign.ts';
import { LeaderElector } from '../../../src/gpu/jobs/leader.ts';
import { JobStore } from '../../../src/gpu/jobs/store.ts';
import { useRedisClient } from '../../helpers/redis.ts';
import { startFakeApiServer, type FakeApiServer } from '../../kube/fake-apiserver.ts';

describe('leaseMove (pure)', () => {
  const held = (holder: string, epoch: number, durationMs = 15_000): LeaseView => ({ holder, epoch, durationMs });
  it.each([
    ['no Lease: take it, one past the store', undefined, 'me', 0, 1_000, 4, { kind: 'take', epoch: 5 }],
    ['my Lease, the store at its epoch: renew', held('me', 4), 'me', 0, 1_000, 4, { kind: 'renew', epoch: 4 }],
    ['my Lease, its epoch not yet in the store (the adopt failed): renew, the adopt catches up', held('me', 5), 'me', 0, 1_000, 4, { kind: 'renew', epoch: 5 }],
    ['my Lease, the store moved past it: take anew, past the store', held('me', 3), 'me', 0, 1_000, 4, { kind: 'take', epoch: 5 }],
    ['another holder, seen changing within its duration: wait', held('other', 4), 'me', 0, 14_999, 4, { kind: 'wait' }],
    ['another holder, unchanged for its whole duration: take', held('other', 4), 'me', 0, 15_000, 4, { kind: 'take', epoch: 5 }],
    ['released (holder empty): take at once', held('', 4, 1000), 'me', 900, 900, 4, { kind: 'take', epoch: 5 }],
    ['a Lease made again (transitions from 0): still past the store', held('', 0), 'me', 0, 0, 9, { kind: 'take', epoch: 10 }],
    ['a Lease ahead of the store: past the Lease', held('', 12), 'me', 0, 0, 9, { kind: 'take', epoch: 13 }],
  ] as const)('%s', (_what, found, owner, seenSince, now, storeEpoch, want) => {
    expect(leaseMove(found, owner, seenSince, now, storeEpoch)).toEqual(want);
  });
});

describe('LeaseCampaign against the fake API server and a real Redis', () => {
  const redis = useRedisClient();
  let fake: FakeApiServer;
  let kc: KubeConfig;
  let n = 0;
  let store: JobStore;

  beforeEach(async () => {
    fake = await startFakeApiServer();
    kc = new KubeConfig();
    kc.loadFromString(fake.kubeconfigYaml());
    store = new JobStore(redis.client, `lease${n++}:`, k80Cluster(1), 3600);
  });
  afterEach(async () => {
    await fake.close();
  });

  const campaign = (clock: { ms: number }) => new LeaseCampaign({ leases: kubeLeases(kc, 'gpu', 'sched'), namespace: 'gpu', name: 'sched', store, now: () => clock.ms });
  const lease = () => fake.get('Lease', 'gpu', 'sched') as { spec: { holderIdentity?: string; leaseTransitions?: number; renewTime?: string; acquireTime?: string; leaseDurationSeconds?: number } } | undefined;

  it('the first replica makes the Lease and leads with its leaseTransitions as the store epoch; a second waits', async () => {
    const clock = { ms: 1_000_000 };
    const a = campaign(clock);
    const b = campaign(clock);
    const epoch = await a.acquireLeader('a', 6000);
    expect(epoch).toBe(1);
    expect(lease()?.spec).toMatchObject({ holderIdentity: 'a', leaseTransitions: 1, leaseDurationSeconds: 6 });
    expect(lease()?.spec.renewTime).toMatch(/\.\d{6}Z$/); // Go's MicroTime layout (the fake refuses fewer digits)
    expect(await store.leaderEpoch()).toBe(1);
    expect(await b.acquireLeader('b', 6000)).toBe(0);
    clock.ms += 2000;
    expect(await a.acquireLeader('a', 6000)).toBe(1); // renewal: same epoch, the Lease's renewTime moves
    expect(await b.acquireLeader('b', 6000)).toBe(0);
  });

  it('a holder that stops renewing is replaced after the lease duration; its old fence can no longer write', async () => {
    const clock = { ms: 1_000_000 };
    const a = campaign(clock);
    const b = campaign(clock);
    const old = { owner: 'a', epoch: await a.acquireLeader('a', 6000) };
    await store.create('job', { tenant: 't', priority: 0, cpuMilli: 1000, memoryMiB: 1024, gpus: 1, maxRetries: 1, requeueOnPreempt: true, preemptible: true, submittedBy: 'u' }, 1);
    expect(await b.acquireLeader('b', 6000)).toBe(0); // b first sees the Lease now
    clock.ms += 5999;
    expect(await b.acquireLeader('b', 6000)).toBe(0);
    clock.ms += 1;
    const next = await b.acquireLeader('b', 6000);
    expect(next).toBe(old.epoch + 1);
    expect(lease()?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: next });
    const placement = { requestId: 'job', node: 'k80-0', cpuMilli: 1000, memoryMiB: 1024, devices: [{ gpuIndex: 0, milli: 1000, memoryMiB: 11441 }], exclusive: true };
    expect(await store.place(old, 'job', placement, [], 10, 30_000)).toBe('fenced');
    expect(await a.acquireLeader('a', 6000)).toBe(0); // the old holder sees b's Lease and does not lead
    expect(await store.place({ owner: 'b', epoch: next }, 'job', placement, [], 10, 30_000)).toBe('ok');
  });

  it('two replicas racing for a free Lease: optimistic concurrency lets exactly one win', async () => {
    const clock = { ms: 1_000_000 };
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((owner) => campaign(clock).acquireLeader(owner, 6000)));
    expect(results.filter((e) => e > 0)).toEqual([1]);
    // Each replica either raced the create (409) or saw the winner's Lease and waited or lost a replace:
    // the race was real only if more than one of them wrote.
    const writes = fake.requests.filter((r) => (r.method === 'POST' || r.method === 'PUT') && r.path.includes('/leases'));
    expect(writes.length).toBeGreaterThan(1);
  });

  it('resigning releases the Lease (holder empty) so another takes it at once, with a newer epoch', async () => {
    const clock = { ms: 1_000_000 };
    const a = campaign(clock);
    const b = campaign(clock);
    expect(await a.acquireLeader('a', 6000)).toBe(1);
    expect(await b.acquireLeader('b', 6000)).toBe(0);
    await a.resignLeader('a');
    expect(lease()?.spec.holderIdentity).toBe('');
    expect(await b.acquireLeader('b', 6000)).toBe(2);
    expect(await store.leaderEpoch()).toBe(2);
  });

  it('a Lease deleted and made again still yields a newer epoch than the store has', async () => {
    const clock = { ms: 1_000_000 };
    const a = campaign(clock);
    expect(await a.acquireLeader('a', 6000)).toBe(1);
    await a.resignLeader('a');
    fake.remove('Lease', 'gpu', 'sched');
    fake.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'sched', namespace: 'gpu' }, spec: {} });
    expect(await campaign(clock).acquireLeader('b', 6000)).toBe(2);
    expect(lease()?.spec.leaseTransitions).toBe(2);
  });

  it('the API server down: the elector stops believing it leads once its lease would have run out', async () => {
    const a = new LeaderElector({ campaign: campaign({ ms: Date.now() }), owner: 'a', ttlMs: 3000 });
    await a.tick();
    expect(a.fence()?.epoch).toBe(1);
    await fake.stop();
    await a.tick(); // fails: the belief stays only until the last renewal's lease runs out
    expect(a.fence()).toBeDefined();
    await new Promise((r) => setTimeout(r, 2500));
    expect(a.fence()).toBeUndefined();
    await fake.restart();
    await a.tick();
    expect(a.fence()?.epoch).toBe(1); // its own Lease still: renewed, same token
    await a.stop();
  });
});
