// Why: the vocabulary of the GPU job service — a job's spec as submitted, its record as stored, its
// states — and the pure mappings between them: spec -> placement request, record -> API answer.
// No I/O here; store.ts persists records in Redis, routes.ts speaks HTTP.
import { createHash } from 'node:crypto';
import type { ClusterSpec, Placement, PlacementRequest } from '../placement/model.ts';
import type { Gang } from '../scheduling/pass.ts';

/** The states of a job's record; lifecycle.ts draws how a job moves between them, and who moves it. */
export const JOB_STATES = ['queued', 'placed', 'running', 'completed', 'failed', 'cancelled', 'preempted'] as const;
export type JobState = (typeof JOB_STATES)[number];
/** States a job never leaves. (A preempted job that asked to be re-queued goes back to queued instead.) */
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['completed', 'failed', 'cancelled', 'preempted']);
/** States that hold GPUs (an allocation and a lease). */
export const LIVE_STATES: ReadonlySet<JobState> = new Set(['placed', 'running']);

/** A submission after validation and defaults. */
export interface JobSpec {
  tenant: string;
  priority: number;
  gpus?: number;
  gpuMilli?: number;
  gpuMemoryMiB?: number;
  cpuMilli: number;
  memoryMiB: number;
  gpuModels?: string[];
  /** Estimate; the simulated executor runs the job this long. */
  durationSeconds?: number;
  /** Times a job whose lease expired goes back to the queue before it fails. */
  maxRetries: number;
  /** A preempted job goes back to the queue (true) or ends as preempted (false). */
  requeueOnPreempt: boolean;
  /** Whether higher-priority work may preempt it. */
  preemptible: boolean;
  idempotencyKey?: string;
  metadata?: Record<string, unknown>;
  /** The authenticated user who submitted it (may heartbeat, complete and cancel it). */
  submittedBy: string;
  /** Placed all or none with the other members of its gang (a Kubernetes pod group). */
  gang?: Gang;
  /** Where it came from when not the HTTP API: the Kubernetes pod it schedules (the kubernetes backend). */
  source?: PodSource;
}

export interface PodSource {
  kind: 'pod';
  namespace: string;
  name: string;
  uid: string;
}

export interface JobRecord {
  id: string;
  spec: JobSpec;
  state: JobState;
  queuedAtMs: number;
  placedAtMs?: number;
  startedAtMs?: number;
  endedAtMs?: number;
  reason?: string;
  placement?: Placement;
  /** Placements so far; heartbeats may name the attempt they belong to. */
  attempt: number;
  retries: number;
  preemptions: number;
  leaseExpiresAtMs?: number;
}

/** The placements of the records that hold GPUs now. */
export function livePlacements(records: readonly JobRecord[]): Placement[] {
  const out: Placement[] = [];
  for (const j of records) if (LIVE_STATES.has(j.state) && j.placement !== undefined) out.push(j.placement);
  return out;
}

export const DEFAULT_CPU_MILLI = 1000;
export const DEFAULT_MEMORY_MIB = 4096;

/**
 * A fresh id, or one derived from (user, tenant, idempotencyKey) so the same key always names the same
 * job of the same submitter: another user's key names another job. (User and tenant names hold no NUL.)
 */
export function jobIdFor(user: string, tenant: string, idempotencyKey: string | undefined, random: () => string): string {
  if (idempotencyKey === undefined) return `j-${random()}`;
  return `j-${createHash('sha256').update(user).update('\0').update(tenant).update('\0').update(idempotencyKey).digest('hex').slice(0, 32)}`;
}

export function requestOf(id: string, spec: JobSpec): PlacementRequest {
  const r: PlacementRequest = { id, tenant: spec.tenant, priority: spec.priority, cpuMilli: spec.cpuMilli, memoryMiB: spec.memoryMiB };
  if (spec.gpus !== undefined) r.gpus = spec.gpus;
  if (spec.gpuMilli !== undefined) r.gpuMilli = spec.gpuMilli;
  if (spec.gpuMemoryMiB !== undefined) r.gpuMemoryMiB = spec.gpuMemoryMiB;
  if (spec.gpuModels !== undefined) r.gpuModels = spec.gpuModels;
  return r;
}

export interface ApiPlacement {
  node: string;
  gpus: { index: number; board: number | null; model: string; milli: number; memoryMiB: number }[];
}

export interface ApiJob {
  id: string;
  tenant: string;
  priority: number;
  state: JobState;
  attempt: number;
  request: Omit<JobSpec, 'tenant' | 'priority' | 'idempotencyKey' | 'metadata' | 'submittedBy'>;
  placement?: ApiPlacement;
  queuedAt: string;
  placedAt?: string;
  startedAt?: string;
  endedAt?: string;
  leaseExpiresAt?: string;
  reason?: string;
  retries: number;
  preemptions: number;
  idempotencyKey?: string;
  metadata?: Record<string, unknown>;
  submittedBy: string;
}

export function apiPlacement(placement: Placement, cluster: ClusterSpec): ApiPlacement {
  const node = cluster.nodes.find((n) => n.name === placement.node);
  return {
    node: placement.node,
    gpus: placement.devices.map((d) => {
      const gpu = node?.gpus[d.gpuIndex];
      return { index: d.gpuIndex, board: gpu?.boardId ?? null, model: gpu?.model ?? '', milli: d.milli, memoryMiB: d.memoryMiB };
    }),
  };
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/**
 * The API's view of a record. `full` false (a tenant member who did not submit it) leaves out what only
 * its submitter and admins see: the metadata and the idempotency key.
 */
export function toApiJob(job: JobRecord, cluster: ClusterSpec, full = true): ApiJob {
  const { tenant, priority, idempotencyKey, metadata, submittedBy, ...request } = job.spec;
  const out: ApiJob = {
    id: job.id,
    tenant,
    priority,
    state: job.state,
    attempt: job.attempt,
    request,
    queuedAt: new Date(job.queuedAtMs).toISOString(),
    retries: job.retries,
    preemptions: job.preemptions,
    submittedBy,
  };
  // Only a live job holds GPUs; a finished job keeps its last placement for the record.
  if (job.placement !== undefined) out.placement = apiPlacement(job.placement, cluster);
  const placedAt = iso(job.placedAtMs);
  if (placedAt !== undefined) out.placedAt = placedAt;
  const startedAt = iso(job.startedAtMs);
  if (startedAt !== undefined) out.startedAt = startedAt;
  const endedAt = iso(job.endedAtMs);
  if (endedAt !== undefined) out.endedAt = endedAt;
  const lease = LIVE_STATES.has(job.state) ? iso(job.leaseExpiresAtMs) : undefined;
  if (lease !== undefined) out.leaseExpiresAt = lease;
  if (job.reason !== undefined) out.reason = job.reason;
  if (full && idempotencyKey !== undefined) out.idempotencyKey = idempotencyKey;
  if (full && metadata !== undefined) out.metadata = metadata;
  return out;
}
