// Why: the Lua scripts are where "no device is ever double-allocated" and "a fenced leader cannot
// write" are enforced; these tests drive them directly against a real redis-server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../helpers/redis.ts';
import { createRedis, closeRedis, waitReady } from '../../../src/shared/redis.ts';
import { JobStore, type Fence } from '../../../src/gpu/jobs/store.ts';
import { k80Cluster } from '../../../src/gpu/inventory.ts';
import type { JobSpec } from '../../../src/gpu/jobs/model.ts';
import type { Placement } from '../../../src/gpu/placement/model.ts';
import type { Redis } from 'ioredis';

let redis: TestRedis;
let client: Redis;
const cluster = k80Cluster(1);
const TTL_MS = 30_000;

beforeAll(async () => {
  redis = await startTestRedis();
  client = createRedis({ url: redis.url, commandTimeoutMs: 2000, connectionName: 'test' });
  await waitReady(client, 5000);
});
afterAll(async () => {
  await closeRedis(client);
  await redis.stop();
});

let n = 0;
async function fresh(): Promise<{ store: JobStore; fence: Fence }> {
  const store = new JobStore(client, `s${n++}:`, cluster, 3600);
  const epoch = await store.acquireLeader('me', 10_000);
  return { store, fence: { owner: 'me', epoch } };
}
const spec = (over: Partial<JobSpec> = {}): JobSpec => ({ tenant: 't', priority: 0, cpuMilli: 1000, memoryMiB: 1024, gpus: 1, maxRetries: 1, requeueOnPreempt: true, preemptible: true, submittedBy: 'u', ...over });
const whole = (id: string, gpu: number): Placement => ({ requestId: id, node: 'k80-0', cpuMilli: 1000, memoryMiB: 1024, devices: [{ gpuIndex: gpu, milli: 1000, memoryMiB: 11441 }], exclusive: true });
const share = (id: string, gpu: number, milli: number): Placement => ({ requestId: id, node: 'k80-0', cpuMilli: 1000, memoryMiB: 1024, devices: [{ gpuIndex: gpu, milli, memoryMiB: 2000 }] });

describe('job store scripts', () => {
  it('create is idempotent and queues the job', async () => {
    const { store } = await fresh();
    expect(await store.create('a', spec(), 1000)).toBe(true);
    expect(await store.create('a', spec({ priority: 9 }), 2000)).toBe(false);
    const job = await store.get('a');
    expect(job).toMatchObject({ id: 'a', state: 'queued', queuedAtMs: 1000, attempt: 0 });
    expect(job?.spec.priority).toBe(0);
    expect(await store.pendingIds()).toEqual(['a']);
  });

  it('place, heartbeat, complete: usage goes up and comes back to zero', async () => {
    const { store, fence } = await fresh();
    await store.create('a', spec(), 1000);
    expect(await store.place(fence, 'a', whole('a', 2), [], 5000, TTL_MS)).toBe('ok');
    expect(await store.get('a')).toMatchObject({ state: 'placed', placedAtMs: 5000, attempt: 1, leaseExpiresAtMs: 35_000 });
    const usage = await store.usage();
    expect(usage.get('d|k80-0|2|milli')).toBe(1000);
    expect(usage.get('d|k80-0|2|excl')).toBe(1);
    expect(await store.heartbeat('a', 1, 6000, TTL_MS)).toEqual({ state: 'running', leaseExpiresAtMs: 36_000 });
    expect(await store.heartbeat('a', 2, 6000, TTL_MS)).toEqual({ state: 'running' }); // another attempt: not extended
    expect(await store.finish('a', 'completed', 7000, 'done')).toEqual({ result: 'ok', state: 'completed' });
    expect(await store.finish('a', 'completed', 7001)).toEqual({ result: 'ok', state: 'completed' }); // idempotent
    expect(await store.finish('a', 'cancelled', 7002)).toEqual({ result: 'conflict', state: 'completed' });
    expect([...(await store.usage()).values()].every((v) => v === 0)).toBe(true);
    expect(await store.liveIds()).toEqual([]);
  });

  it('refuses a placement that would over-commit a device, writing nothing', async () => {
    const { store, fence } = await fresh();
    await store.create('a', spec({ gpus: undefined, gpuMilli: 600 }), 1);
    await store.create('b', spec({ gpus: undefined, gpuMilli: 600 }), 2);
    await store.create('c', spec(), 3);
    expect(await store.place(fence, 'a', share('a', 0, 600), [], 10, TTL_MS)).toBe('ok');
    expect(await store.place(fence, 'b', share('b', 0, 600), [], 10, TTL_MS)).toMatch(/^nofit: gpu 0 milli/);
    expect(await store.place(fence, 'c', whole('c', 0), [], 10, TTL_MS)).toMatch(/^nofit: gpu 0 on k80-0 is in use/);
    expect(await store.get('b')).toMatchObject({ state: 'queued' });
    expect((await store.usage()).get('d|k80-0|0|milli')).toBe(600);
    // and a job cannot be placed twice
    expect(await store.place(fence, 'a', share('a', 1, 600), [], 10, TTL_MS)).toBe('stale');
  });

  it('zero amounts (a share without GPU memory, no CPU or memory) place and release cleanly', async () => {
    const { store, fence } = await fresh();
    await store.create('z', spec({ gpus: undefined, gpuMilli: 500, cpuMilli: 0, memoryMiB: 0 }), 1);
    const zero: Placement = { requestId: 'z', node: 'k80-0', cpuMilli: 0, memoryMiB: 0, devices: [{ gpuIndex: 3, milli: 500, memoryMiB: 0 }] };
    expect(await store.place(fence, 'z', zero, [], 10, TTL_MS)).toBe('ok');
    expect(await store.finish('z', 'cancelled', 20)).toEqual({ result: 'ok', state: 'cancelled' });
    expect([...(await store.usage()).values()].every((v) => v === 0)).toBe(true);
  });

  it('a fenced (old) leader cannot place or expire', async () => {
    const { store, fence } = await fresh();
    await store.create('a', spec(), 1);
    expect(await store.place({ ...fence, epoch: fence.epoch + 1 }, 'a', whole('a', 0), [], 10, TTL_MS)).toBe('fenced');
    expect(await store.place({ owner: 'other', epoch: fence.epoch }, 'a', whole('a', 0), [], 10, TTL_MS)).toBe('fenced');
    expect(await store.get('a')).toMatchObject({ state: 'queued' });
    expect(await store.acquireLeader('other', 10_000)).toBe(0); // held by "me"
    expect(await store.resignLeader('me')).toBe(1);
    const next = await store.acquireLeader('other', 10_000);
    expect(next).toBe(fence.epoch + 1);
    expect(await store.place(fence, 'a', whole('a', 0), [], 10, TTL_MS)).toBe('fenced');
  });

  it('preemption releases the victims and places in one step; the victim is re-queued with its age', async () => {
    const { store, fence } = await fresh();
    await store.create('low', spec({ priority: 0 }), 100);
    await store.create('keep', spec({ priority: 0, requeueOnPreempt: false }), 101);
    await store.create('high', spec({ priority: 5, gpus: 2 }), 200);
    expect(await store.place(fence, 'low', whole('low', 0), [], 300, TTL_MS)).toBe('ok');
    expect(await store.place(fence, 'keep', whole('keep', 1), [], 300, TTL_MS)).toBe('ok');
    const both: Placement = { requestId: 'high', node: 'k80-0', cpuMilli: 1000, memoryMiB: 1024, exclusive: true, devices: [0, 1].map((g) => ({ gpuIndex: g, milli: 1000, memoryMiB: 11441 })) };
    // without victims it does not fit
    expect(await store.place(fence, 'high', both, [], 400, TTL_MS)).toMatch(/^nofit/);
    expect(await store.place(fence, 'high', both, ['low', 'keep'], 400, TTL_MS)).toBe('ok');
    expect(await store.get('low')).toMatchObject({ state: 'queued', queuedAtMs: 100, preemptions: 1, reason: 'preempted by high (priority 5)' });
    expect(await store.get('keep')).toMatchObject({ state: 'preempted', endedAtMs: 400 });
    expect(await store.pendingIds()).toEqual(['low']);
    expect(await store.liveIds()).toEqual(['high']);
    // a higher-or-equal priority job is never a victim
    await store.create('peer', spec({ priority: 5 }), 500);
    await store.create('top', spec({ priority: 5 }), 501);
    expect(await store.place(fence, 'peer', whole('peer', 2), [], 600, TTL_MS)).toBe('ok');
    expect(await store.place(fence, 'top', whole('top', 2), ['peer'], 600, TTL_MS)).toBe('stale');
  });

  it('an expired lease frees the GPUs and re-queues while retries last, then fails', async () => {
    const { store, fence } = await fresh();
    await store.create('a', spec({ maxRetries: 1 }), 1);
    expect(await store.place(fence, 'a', whole('a', 0), [], 1000, TTL_MS)).toBe('ok');
    expect(await store.expiredIds(30_999)).toEqual([]);
    expect(await store.expiredIds(31_000)).toEqual(['a']);
    expect(await store.expire(fence, 'a', 31_000)).toBe('queued');
    expect(await store.get('a')).toMatchObject({ state: 'queued', retries: 1 });
    expect((await store.usage()).get('d|k80-0|0|holders')).toBe(0);
    expect(await store.place(fence, 'a', whole('a', 1), [], 40_000, TTL_MS)).toBe('ok');
    expect(await store.heartbeat('a', undefined, 50_000, TTL_MS)).toMatchObject({ state: 'running', leaseExpiresAtMs: 80_000 });
    expect(await store.expire(fence, 'a', 79_000)).toBe('alive'); // the heartbeat moved the deadline
    expect(await store.expire(fence, 'a', 80_000)).toBe('failed');
    expect(await store.get('a')).toMatchObject({ state: 'failed', reason: expect.stringMatching(/lease expired/) });
    expect(await store.heartbeat('a', undefined, 80_001, TTL_MS)).toMatchObject({ state: 'failed' });
  });

  it('cancel frees GPUs of a live job and dequeues a queued one; lists newest first with filters', async () => {
    const { store, fence } = await fresh();
    await store.create('a', spec({ tenant: 'x' }), 1);
    await store.create('b', spec({ tenant: 'y' }), 2);
    await store.place(fence, 'a', whole('a', 0), [], 10, TTL_MS);
    expect(await store.finish('a', 'cancelled', 20)).toEqual({ result: 'ok', state: 'cancelled' });
    expect(await store.finish('b', 'cancelled', 20)).toEqual({ result: 'ok', state: 'cancelled' });
    expect(await store.finish('b', 'completed', 21)).toEqual({ result: 'conflict', state: 'cancelled' });
    expect(await store.pendingIds()).toEqual([]);
    expect((await store.usage()).get('d|k80-0|0|holders')).toBe(0);
    await store.create('c', spec({ tenant: 'x' }), 3);
    expect((await store.list({ limit: 10, cursor: 0 })).jobs.map((j) => j.id)).toEqual(['c', 'b', 'a']);
    expect((await store.list({ limit: 10, cursor: 0, tenant: 'x' })).jobs.map((j) => j.id)).toEqual(['c', 'a']);
    const page1 = await store.list({ limit: 1, cursor: 0, state: 'cancelled' });
    expect(page1.jobs.map((j) => j.id)).toEqual(['b']);
    const page2 = await store.list({ limit: 1, cursor: page1.nextCursor ?? 0, state: 'cancelled' });
    expect(page2.jobs.map((j) => j.id)).toEqual(['a']);
    // a record that expired (retention) leaves its index entry behind until tidyIndex drops it
    await client.del(`s${n - 1}:gpu:job:a`);
    expect((await store.list({ limit: 10, cursor: 0 })).jobs.map((j) => j.id)).toEqual(['c', 'b']);
    expect(await store.tidyIndex()).toBe(1);
    expect(await store.tidyIndex()).toBe(0);
    expect((await store.list({ limit: 10, cursor: 0 })).jobs.map((j) => j.id)).toEqual(['c', 'b']);
  });

  it('a run claim (simulated executor) belongs to one owner per attempt, is renewed by its owner and keeps its key', async () => {
    const { store } = await fresh();
    const key = `s${n - 1}:gpu:exec:a:1`; // the layout of earlier releases: a rolling upgrade keeps the claims
    expect(await store.claimRun('a', 1, 'replica-1', 10_000)).toBe(true);
    expect(await store.claimRun('a', 1, 'replica-2', 10_000)).toBe(false);
    expect(await client.get(key)).toBe('replica-1');
    await client.pexpire(key, 500);
    expect(await store.claimRun('a', 1, 'replica-1', 10_000)).toBe(true); // renewed
    expect(await client.pttl(key)).toBeGreaterThan(5000);
    expect(await store.claimRun('a', 2, 'replica-2', 10_000)).toBe(true); // a new attempt is a new claim
  });
});
