// Why: what the intake's producer (intake-queue.ts) and consumer (intake-worker.ts) share: the queue's
// name, the payload the one writes and the other reads, the BullMQ connection options (each role opens
// its own connections from them) and the bounded waits their close() needs, since a BullMQ connection
// caught mid-reconnect may never answer.
import type { JobSpec } from './model.ts';

export const INTAKE_QUEUE = 'gpu-intake';

/** What a submission carries in BullMQ until it is recorded (the BullMQ jobId is the hotpath job id). */
export interface IntakePayload {
  spec: JobSpec;
  queuedAtMs: number;
}

/** BullMQ wants maxRetriesPerRequest null (blocking commands); `role` names the connection in CLIENT LIST. */
export function intakeConnection(redisUrl: string, role: 'queue' | 'worker') {
  return { url: redisUrl, maxRetriesPerRequest: null, connectionName: `hotpath:gpu-intake-${role}` };
}

/** Whether a BullMQ client (its backend's `client` promise) is connected, asked for at most 100 ms. */
export async function clientReady(client: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const c = await Promise.race([client.then((v) => v as { status?: string }, () => undefined), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 100)))]);
  clearTimeout(timer);
  return c?.status === 'ready';
}

/** Waits for `p` to settle (either way) for at most `ms`; true when it did. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([p.then(() => true, () => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  clearTimeout(timer);
  return done;
}
