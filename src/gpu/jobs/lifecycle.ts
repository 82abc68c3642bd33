// Why: a GPU job's life told in one place. Before it has a record a submission sits in BullMQ (the
// intake queue); the API shows it as `queued` all the same, so "submitted" and "queued" are one visible
// state kept in two places, and the one function that reads across both is here (findJob).
//
//   POST /v1/gpu/jobs        GpuJobService.submit -> IntakeQueue.submit (BullMQ add, jobId = job id)
//        |
//        v
//   submitted    in the intake queue; the API answers `queued` (heartbeat, complete, cancel: 409)
//        |       IntakeWorker (every replica) -> JobStore.create                 [CREATE_JOB]
//        v
//   queued <-----------------+   a record in the pending set
//        |                   |   SchedulingLoop (leader) -> JobStore.place       [PLACE_JOB, fenced]
//        v                   |
//   placed                   |   GPUs allocated, a lease
//        |                   |   first heartbeat of the job's worker (API or SimulatedExecutor)
//        v                   |   -> JobStore.heartbeat                            [HEARTBEAT_JOB]
//   running                  |
//                            |
//   placed | running --------+   SchedulingLoop: preempted with requeueOnPreempt  [PLACE_JOB, fenced]
//                                or lease expired with retries left              [EXPIRE_JOB, fenced]
//   placed | running --> preempted            SchedulingLoop: evicted by a higher priority [PLACE_JOB]
//   placed | running --> failed               SchedulingLoop: lease expired, no retries   [EXPIRE_JOB]
//   placed | running --> completed | failed   the job's worker: API complete or SimulatedExecutor
//                                             -> JobStore.finish                          [FINISH_JOB]
//   queued | placed | running --> cancelled   API DELETE -> JobStore.finish               [FINISH_JOB]
//
// completed, failed, cancelled and preempted are terminal (model.ts TERMINAL_STATES); their records
// go after HOTPATH_GPU_RETENTION_SECONDS. Every edge from `submitted` on is one of the store's Lua scripts.
import type { IntakePayload } from './intake-connection.ts';
import type { JobRecord } from './model.ts';

/** A job found by id: its record (`recorded`), or the queued stand-in of a submission still in the intake queue. */
export interface FoundJob {
  recorded: boolean;
  job: JobRecord;
}

/** The record a submission stands for until the intake worker writes the real one: queued, attempt 0. */
export function submittedJob(id: string, submission: IntakePayload): JobRecord {
  return { id, spec: submission.spec, state: 'queued', queuedAtMs: submission.queuedAtMs, attempt: 0, retries: 0, preemptions: 0 };
}

/**
 * A job by id wherever it is in its life: the store's record, else the intake queue's submission (as
 * `submittedJob`), else undefined. The store is read first: a recorded job may still be in BullMQ
 * (removeOnComplete keeps the last 1000), and its record is the truth.
 */
export async function findJob(
  store: { get(id: string): Promise<JobRecord | undefined> },
  intake: { submission(id: string): Promise<IntakePayload | undefined> },
  id: string,
): Promise<FoundJob | undefined> {
  const job = await store.get(id);
  if (job !== undefined) return { recorded: true, job };
  const submission = await intake.submission(id);
  return submission === undefined ? undefined : { recorded: false, job: submittedJob(id, submission) };
}
