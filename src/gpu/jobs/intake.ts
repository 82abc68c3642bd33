// Why: submissions are queued durably through BullMQ before anything else happens: the API's answer
// (201 queued) means the job is in Redis, and a BullMQ worker on every replica turns each submission
// into a job record in the scheduler's pending set (idempotent, so BullMQ's at-least-once delivery,
// retries and stalled-job recovery can never create a job twice or lose one). The job id is BullMQ's
// jobId, so a repeated submission with the same idempotency key is one BullMQ job.
import { Queue, Worker } from 'bullmq';
import type { JobSpec } from './model.ts';
import type { JobStore } from './store.ts';

export interface IntakePayload {
  spec: JobSpec;
  queuedAtMs: number;
}

export interface IntakeOptions {
  redisUrl: string;
  /** BullMQ key prefix (hotpath's Redis prefix + "bull"). */
  prefix: string;
  store: JobStore;
  /** Run a worker on this replica (every replica does by default). */
  worker: boolean;
  concurrency?: number;
}

export const INTAKE_QUEUE = 'gpu-intake';

export class Intake {
  readonly queue: Queue<IntakePayload>;
  private readonly worker: Worker<IntakePayload> | undefined;

  constructor(opts: IntakeOptions) {
    // BullMQ wants maxRetriesPerRequest null (blocking commands); it opens its own connections.
    const connection = { url: opts.redisUrl, maxRetriesPerRequest: null, connectionName: 'hotpath:gpu-intake' };
    this.queue = new Queue<IntakePayload>(INTAKE_QUEUE, {
      connection,
      prefix: opts.prefix,
      defaultJobOptions: { attempts: 10, backoff: { type: 'exponential', delay: 200 }, removeOnComplete: 1000, removeOnFail: 5000 },
    });
    this.queue.on('error', () => {});
    if (opts.worker) {
      this.worker = new Worker<IntakePayload>(
        INTAKE_QUEUE,
        async (job) => {
          if (job.id === undefined) throw new Error('intake job without id');
          await opts.store.create(job.id, job.data.spec, job.data.queuedAtMs);
        },
        { connection, prefix: opts.prefix, concurrency: opts.concurrency ?? 16 },
      );
      this.worker.on('error', () => {});
    }
  }

  /** Queues a submission under its job id (BullMQ keeps one job per id). */
  async submit(id: string, payload: IntakePayload): Promise<void> {
    await this.queue.add('submit', payload, { jobId: id });
  }

  /** A submission not yet turned into a record (to answer GET for it), or undefined. */
  async pending(id: string): Promise<IntakePayload | undefined> {
    const job = await this.queue.getJob(id);
    return job?.data;
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
