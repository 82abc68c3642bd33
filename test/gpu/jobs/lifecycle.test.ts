// Why: the seams of a job's life (src/gpu/jobs/lifecycle.ts) against a real redis-server and real
// BullMQ: a submission is `submitted` in the intake queue until an intake worker records it as `queued`
// (and reads as queued either way); the elector tells listeners that subscribed after it was built.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../helpers/redis.ts';
import { closeRedis, createRedis, waitReady } from '../../../src/shared/redis.ts';
import { k80Cluster } from '../../../src/gpu/inventory.ts';
import { IntakeQueue } from '../../../src/gpu/jobs/intake-queue.ts';
import { IntakeWorker } from '../../../src/gpu/jobs/intake-worker.ts';
import { LeaderElector } from '../../../src/gpu/jobs/leader.ts';
import { findJob } from '../../../src/gpu/jobs/lifecycle.ts';
import type { JobSpec } from '../../../src/gpu/jobs/model.ts';
import { JobStore, type Fence } from '../../../src/gpu/jobs/store.ts';

let redis: TestRedis;
beforeAll(async () => void (redis = await startTestRedis()));
afterAll(() => redis.stop());
const spec: JobSpec = { tenant: 't', priority: 0, cpuMilli: 1000, memoryMiB: 1024, gpus: 1, maxRetries: 1, requeueOnPreempt: true, preemptible: true, submittedBy: 'u' };
let n = 0;

/** A store on a fresh prefix, with its connection closed after `fn`. */
async function withStore(fn: (store: JobStore, prefix: string) => Promise<void>): Promise<void> {
  const client = createRedis({ url: redis.url, commandTimeoutMs: 2000, connectionName: 'test' });
  const prefix = `lc${n++}:`;
  try {
    await waitReady(client, 5000);
    await fn(new JobStore(client, prefix, k80Cluster(1), 3600), prefix);
  } finally {
    await closeRedis(client);
  }
}

describe('job lifecycle', () => {
  it('a submission is found as queued while only the intake queue holds it, and as its record once the intake worker wrote it', () =>
    withStore(async (store, prefix) => {
      const queue = new IntakeQueue({ redisUrl: redis.url, prefix: `${prefix}bull` });
      try {
        await queue.submit('j-1', { spec, queuedAtMs: 1234 });
        // No worker yet: submitted, not recorded; it reads as a queued job all the same.
        expect(await findJob(store, queue, 'j-1')).toEqual({ recorded: false, job: { id: 'j-1', spec, state: 'queued', queuedAtMs: 1234, attempt: 0, retries: 0, preemptions: 0 } });
        expect(await store.pendingIds()).toEqual([]);
        expect(await findJob(store, queue, 'j-nope')).toBeUndefined();

        const worker = new IntakeWorker({ redisUrl: redis.url, prefix: `${prefix}bull`, store });
        try {
          for (const deadline = Date.now() + 15_000; !(await store.pendingIds()).includes('j-1'); await new Promise((r) => setTimeout(r, 20))) {
            if (Date.now() > deadline) throw new Error('the intake worker did not record j-1');
          }
          expect(await findJob(store, queue, 'j-1')).toMatchObject({ recorded: true, job: { id: 'j-1', state: 'queued', queuedAtMs: 1234, attempt: 0 } });
        } finally {
          await worker.close();
        }
      } finally {
        await queue.close();
      }
    }));

  it('the elector tells every listener registered after it was built, until it unsubscribes', () =>
    withStore(async (store) => {
      const elector = new LeaderElector({ campaign: store, owner: 'me', ttlMs: 10_000 });
      const seen: (Fence | undefined)[] = [];
      const late: (Fence | undefined)[] = [];
      elector.onChange((f) => seen.push(f));
      const stopLate = elector.onChange((f) => late.push(f));
      await elector.tick();
      expect(seen).toEqual([{ owner: 'me', epoch: 1 }]);
      expect(late).toEqual([{ owner: 'me', epoch: 1 }]);
      stopLate();
      await elector.stop();
      expect(seen).toEqual([{ owner: 'me', epoch: 1 }, undefined]);
      expect(late).toHaveLength(1);
    }));
});
