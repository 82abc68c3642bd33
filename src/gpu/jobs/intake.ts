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
  /** Longest a submit or lookup may take before the caller gets GPU_UNAVAILABLE. */
  timeoutMs?: number;
}

export const INTAKE_QUEUE = 'gpu-intake';

export class Intake {
  readonly queue: Queue<IntakePayload>;
  private readonly worker: Worker<IntakePayload> | undefined;
  private readonly timeoutMs: number;

  constructor(opts: IntakeOptions) {
    this.timeoutMs = opts.timeoutMs ?? 2000;
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
        // Recording takes milliseconds: a short lock lets a crashed replica's submissions be picked up
        // again within seconds (stalled-job recovery) instead of BullMQ's default 30 s.
        { connection, prefix: opts.prefix, concurrency: opts.concurrency ?? 16, lockDuration: 10_000, stalledInterval: 5_000 },
      );
      this.worker.on('error', () => {});
    }
  }

  /**
   * Queues a submission under its job id (BullMQ keeps one job per id). BullMQ's connection queues
   * commands while Redis is down; a caller must not hang, so this fails at once when the connection
   * is not up and after `timeoutMs` otherwise. (A timed-out add may still land: clients retry with an
   * idempotency key, which names the same job.)
   */
  async submit(id: string, payload: IntakePayload): Promise<void> {
    await this.bounded(async () => {
      await this.queue.add('submit', payload, { jobId: id });
    });
  }

  /** A submission not yet turned into a record (to answer GET for it), or undefined. */
  async pending(id: string): Promise<IntakePayload | undefined> {
    return this.bounded(async () => (await this.queue.getJob(id))?.data);
  }

  private async bounded<T>(fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`BullMQ did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([
        (async () => {
          const client = (await this.queue.backend.client) as { status?: string };
          if (client.status !== undefined && client.status !== 'ready') throw new Error(`BullMQ connection is ${client.status}`);
          return fn();
        })(),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops taking submissions, bounded in time: a connection caught mid-reconnect may never answer.
   * A submission cut off while being recorded goes back to the queue by BullMQ's stalled-job
   * recovery (the record step is idempotent).
   */
  async close(): Promise<void> {
    const within = async (p: Promise<unknown>, ms: number): Promise<boolean> => {
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([p.then(() => true, () => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
      clearTimeout(timer);
      return done;
    };
    // Graceful first (submissions being recorded finish: milliseconds); then force. With Redis down
    // nothing can finish gracefully: force at once, so a stop is not held for seconds.
    const client = await Promise.race([this.queue.backend.client.then((c) => c as { status?: string }, () => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
    const up = client?.status === 'ready';
    if (this.worker !== undefined && !(up && (await within(this.worker.close(), 2000)))) await within(this.worker.close(true), up ? 1000 : 300);
    await within(this.queue.close(), up ? 1000 : 300);
  }
}
