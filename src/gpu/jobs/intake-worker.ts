// Why: the consumer side of the intake (BullMQ's Worker role). One runs on every replica and turns each
// queued submission into a job record in the pending set (JobStore.create, idempotent), so BullMQ's
// at-least-once delivery, retries and stalled-job recovery can never create a job twice or lose one.
// This is the submitted -> queued edge of lifecycle.ts.
import { Worker } from 'bullmq';
import { INTAKE_QUEUE, clientReady, intakeConnection, settlesWithin, type IntakePayload } from './intake-connection.ts';
import type { JobStore } from './store.ts';

export interface IntakeWorkerOptions {
  redisUrl: string;
  /** BullMQ key prefix (hotpath's Redis prefix + "bull"); the same as the intake queue's. */
  prefix: string;
  store: JobStore;
  concurrency?: number;
}

export class IntakeWorker {
  private readonly worker: Worker<IntakePayload>;

  constructor(opts: IntakeWorkerOptions) {
    this.worker = new Worker<IntakePayload>(
      INTAKE_QUEUE,
      async (job) => {
        if (job.id === undefined) throw new Error('intake job without id');
        await opts.store.create(job.id, job.data.spec, job.data.queuedAtMs);
      },
      // Recording takes milliseconds: a short lock lets a crashed replica's submissions be picked up
      // again within seconds (stalled-job recovery) instead of BullMQ's default 30 s.
      { connection: intakeConnection(opts.redisUrl, 'worker'), prefix: opts.prefix, concurrency: opts.concurrency ?? 16, lockDuration: 10_000, stalledInterval: 5_000 },
    );
    this.worker.on('error', () => {});
  }

  /**
   * Stops taking submissions, bounded in time: a connection caught mid-reconnect may never answer.
   * A submission cut off while being recorded goes back to the queue by BullMQ's stalled-job
   * recovery (the record step is idempotent).
   */
  async close(): Promise<void> {
    // Graceful first (submissions being recorded finish: milliseconds); then force. With Redis down
    // nothing can finish gracefully: force at once, so a stop is not held for seconds.
    const up = await clientReady(this.worker.backend.client);
    if (!(up && (await settlesWithin(this.worker.close(), 2000)))) await settlesWithin(this.worker.close(true), up ? 1000 : 300);
  }
}
