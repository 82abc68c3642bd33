// Why: the fault promises of the GPU job service, shown with real processes' worth of state: every
// hotpath replica restarted with 500 jobs in flight loses none and double-allocates no device; two
// replicas elect one leader and hand over when it leaves; a Redis restart (AOF, as in production)
// degrades to 503s and recovers with every job. The audit runs after every step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../helpers/redis.ts';
import { k80Cluster } from '../../../src/gpu/inventory.ts';
import { eventually, gpuConfig, startGpuApp, type GpuApp } from './helpers.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis({ persist: true });
});
afterAll(async () => redis.stop());

const cluster = k80Cluster(4);
let n = 0;
const replicas = (prefix: string, count: number, env: Record<string, string> = {}): Promise<GpuApp[]> =>
  Promise.all(Array.from({ length: count }, () => startGpuApp(gpuConfig(redis.url, prefix, env), cluster)));
const leaders = (apps: GpuApp[]): GpuApp[] => apps.filter((a) => a.app.gpuJobs.elector.fence() !== undefined);
const mix = (i: number): Record<string, unknown> =>
  i % 3 === 0 ? { tenant: `t${i % 4}`, gpus: 1 + (i % 2) } : { tenant: `t${i % 4}`, gpuMilli: 250 * (1 + (i % 3)), gpuMemoryMiB: 2000, priority: i % 5 };

async function expectAudit(apps: GpuApp[]): Promise<void> {
  const report = await apps[0]!.audit();
  expect(report.problems).toEqual([]);
}

describe('GPU job service under faults', () => {
  it('restarting every replica with 500 jobs in flight loses no job and double-allocates no device', async () => {
    const prefix = `dur${n++}:`;
    let apps = await replicas(prefix, 2);
    await eventually(async () => leaders(apps).length === 1, 'one leader');
    const ids: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, k) => apps[k % 2]!.call('POST', '/v1/gpu/jobs', mix(batch * 50 + k))));
      for (const r of answers) {
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        ids.push(r.body.id);
      }
    }
    // Some are placed, some still in the intake: stop everything mid-flight.
    await Promise.all(apps.map((a) => a.close()));
    apps = await replicas(prefix, 2);
    await expectAudit(apps);
    const store = apps[0]!.app.gpuJobs.store;
    // Every submission becomes a record (the intake resumes after the restart) and none is lost.
    await eventually(async () => (await store.getMany(ids)).length === ids.length, 'all 500 recorded');
    const jobs = await store.getMany(ids);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(500);
    await eventually(async () => (await store.liveIds()).length > 0, 'placements after restart');
    await expectAudit(apps);
    // Free everything placed, twice over, from both replicas: every step keeps the invariants.
    for (let round = 0; round < 2; round++) {
      const live = await store.liveIds();
      await Promise.all(live.map((id, i) => apps[i % 2]!.call('POST', `/v1/gpu/jobs/${id}/complete`, { ok: true })));
      await expectAudit(apps);
      await eventually(async () => (await store.liveIds()).length > 0 || (await store.pendingIds()).length === 0, 'next placements');
      await expectAudit(apps);
    }
    const states = new Set((await store.getMany(ids)).map((j) => j.state));
    for (const s of states) expect(['queued', 'placed', 'completed']).toContain(s);
    await Promise.all(apps.map((a) => a.close()));
  }, 120_000);

  it('two replicas: one leader at a time, hand-over when it leaves, and no double allocation while both serve', async () => {
    const prefix = `dur${n++}:`;
    const apps = await replicas(prefix, 2);
    await eventually(async () => leaders(apps).length === 1, 'one leader');
    const first = leaders(apps)[0]!;
    const other = apps.find((a) => a !== first)!;
    // Both replicas take submissions and finish jobs; only the leader places.
    const ids = (await Promise.all(Array.from({ length: 40 }, (_, i) => apps[i % 2]!.call('POST', '/v1/gpu/jobs', mix(i))))).map((r) => r.body.id as string);
    const store = other.app.gpuJobs.store;
    await eventually(async () => (await store.liveIds()).length > 0, 'placed');
    for (const a of apps) expect(a.app.gpuJobs.elector.fence() === undefined).toBe(a !== first);
    await expectAudit(apps);
    const epoch = first.app.gpuJobs.elector.fence()!.epoch;
    await first.close(); // resigns and says so: the other campaigns at once, not at its next renewal
    await eventually(async () => other.app.gpuJobs.elector.fence() !== undefined, 'hand-over', 10_000);
    expect(other.app.gpuJobs.elector.fence()!.epoch).toBe(epoch + 1);
    const live = await store.liveIds();
    await Promise.all(live.map((id) => other.call('POST', `/v1/gpu/jobs/${id}/complete`, { ok: true })));
    await eventually(async () => (await store.liveIds()).length > 0, 'the new leader places');
    await expectAudit([other]);
    expect((await store.getMany(ids)).length).toBe(40);
    await other.close();
  }, 60_000);

  it('a Redis restart: 503 GPU_UNAVAILABLE while it is down, then every job is back and scheduling resumes', async () => {
    const prefix = `dur${n++}:`;
    const [a] = await replicas(prefix, 1);
    const app = a!;
    const placedId = (await app.call('POST', '/v1/gpu/jobs', { tenant: 't', gpus: 4 })).body.id as string;
    await eventually(async () => (await app.call('GET', `/v1/gpu/jobs/${placedId}`)).body.state === 'placed', 'placed');
    const queuedId = (await app.call('POST', '/v1/gpu/jobs', { tenant: 't', gpus: 4, priority: 1 })).body.id as string;
    await eventually(async () => (await app.call('GET', `/v1/gpu/jobs/${queuedId}`)).body.state !== undefined, 'recorded');
    await redis.kill();
    const down = await app.call('POST', '/v1/gpu/jobs', { tenant: 't', gpus: 1 });
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('GPU_UNAVAILABLE');
    expect((await app.call('GET', `/v1/gpu/jobs/${placedId}`)).status).toBe(503);
    await redis.restart();
    await eventually(async () => (await app.call('GET', `/v1/gpu/jobs/${placedId}`)).status === 200, 'back', 20_000);
    expect((await app.call('GET', `/v1/gpu/jobs/${placedId}`)).body.state).toBe('placed');
    await app.call('POST', `/v1/gpu/jobs/${placedId}/complete`, { ok: true });
    await eventually(async () => ['placed', 'running'].includes((await app.call('GET', `/v1/gpu/jobs/${queuedId}`)).body.state), 'scheduling resumed', 20_000);
    await expectAudit([app]);
    await app.close();
  }, 60_000);
});
