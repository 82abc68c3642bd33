// Why: the producer side of the intake (BullMQ's Queue role). A submission is queued durably in BullMQ
// before the API answers (201 queued means the job is in Redis); the intake worker (intake-worker.ts)
// records it later. The job id is BullMQ's jobId, so a repeated submission with the same idempotency
// key is one BullMQ job. It also answers "is this id still waiting to be recorded?" (lifecycle.ts).
import { Queue } from 'bullmq';
import { INTAKE_QUEUE, clientReady, intakeConnection, settlesWithin, type IntakePayload } from './intake-connection.ts';

export interface IntakeQueueOptions {
  redisUrl: string;
  /** BullMQ key prefix (hotpath's Redis prefix + "bull"). */
  prefix: string;
  /** Longest a submit or lookup may take before the caller gets GPU_UNAVAILABLE. */
  timeoutMs?: number;
}

export class IntakeQueue {
  readonly queue: Queue<IntakePayload>;
  private readonly timeoutMs: number;

  constructor(opts: IntakeQueueOptions) {
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.queue = new Queue<IntakePayload>(INTAKE_QUEUE, {
      connection: intakeConnection(opts.redisUrl, 'queue'),
      prefix: opts.prefix,
      defaultJobOptions: { attempts: 10, backoff: { type: 'exponential', delay: 200 }, removeOnComplete: 1000, removeOnFail: 5000 },
    });
    this.queue.on('error', () => {});
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

  /**
   * The submission queued under `id` (lifecycle.ts: submitted; BullMQ also keeps the last recorded
   * ones for a while, so read the store first), or undefined.
   */
  async submission(id: string): Promise<IntakePayload | undefined> {
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

  /** Closes the producer's connection, bounded in time (at once-ish when Redis is down). */
  async close(): Promise<void> {
    const up = await clientReady(this.queue.backend.client);
    await settlesWithin(this.queue.close(), up ? 1000 : 300);
  }
}
