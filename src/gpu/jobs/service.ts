// Why: what the GPU job API does, apart from HTTP: validate and submit (durably, via the intake),
// read with long-poll, heartbeat, complete, cancel, list, and the cluster view. Who may do what is the
// tenants' rules (shared/tenants.ts): a submission outside its tenant's rights is 403 with the reason;
// a job is read and acted on only by its submitter, its tenant's members and admins, and only its
// submitter and admins see its metadata. Errors are AppErrors with stable codes; a Redis failure
// becomes GPU_UNAVAILABLE (503), never a 500 or a lost job.
import { clusterSourceOf, type ClusterSource } from '../cluster-source.ts';
import { randomUUID } from 'node:crypto';
import { AppError, isAppError } from '../../shared/errors.ts';
import type { Principal } from '../../shared/auth.ts';
import { mayAccess, submitRefusal, type Tenants } from '../../shared/tenants.ts';
import type { ClusterSpec, Placement } from '../placement/model.ts';
import { demandOf } from '../placement/demand.ts';
import { neverFits } from '../placement/select.ts';
import { ClusterState } from '../placement/state.ts';
import type { JobEvents } from './events.ts';
import type { IntakeQueue } from './intake-queue.ts';
import { findJob, submittedJob } from './lifecycle.ts';
import type { ApiJob, JobRecord, JobSpec, JobState } from './model.ts';
import { DEFAULT_CPU_MILLI, DEFAULT_MEMORY_MIB, LIVE_STATES, TERMINAL_STATES, jobIdFor, livePlacements, requestOf, toApiJob } from './model.ts';
import type { JobStore } from './store.ts';
import { auditStore, type AuditReport } from './audit.ts';

/** The submission body after schema validation (routes.ts); cross-field rules are checked here. */
export interface SubmitBody {
  tenant: string;
  priority?: number;
  gpus?: number;
  gpuMilli?: number;
  gpuMemoryMiB?: number;
  cpuMilli?: number;
  memoryMiB?: number;
  gpuModels?: string[];
  durationSeconds?: number;
  maxRetries?: number;
  requeueOnPreempt?: boolean;
  preemptible?: boolean;
  idempotencyKey?: string;
  metadata?: Record<string, unknown>;
}

export interface ClusterView {
  nodes: {
    name: string;
    gpus: { index: number; board: number | null; model: string; memoryMiB: number; allocatedMilli: number; allocatedMemoryMiB: number; jobs: string[] }[];
  }[];
  allocationRatio: number;
  queueDepth: number;
  runningJobs: number;
}

export interface GpuJobServiceOptions {
  store: JobStore;
  intake: IntakeQueue;
  events: JobEvents;
  cluster: ClusterSpec | ClusterSource;
  leaseTtlMs: number;
  tenants: Tenants;
  /** Jobs one user may have queued, placed or running at once (TOO_MANY_JOBS beyond). */
  maxOpenJobsPerUser: number;
  now?: () => number;
  /** Longest long-poll a client may ask for. */
  maxWaitSeconds?: number;
}

/**
 * Runs a store call; a failure of Redis (or BullMQ on it) becomes GPU_UNAVAILABLE. A TypeError,
 * RangeError, SyntaxError or ReferenceError is a bug (e.g. input that breaks a serialiser, as 5000-deep
 * metadata did), not an outage: it stays itself, so it answers INTERNAL and is logged with its stack
 * instead of passing for a Redis blip (503, logged without one).
 */
async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isAppError(err) || err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError || err instanceof ReferenceError) throw err;
    throw new AppError('GPU_UNAVAILABLE', undefined, { cause: err });
  }
}

export class GpuJobService {
  private readonly o: GpuJobServiceOptions;
  private readonly now: () => number;
  private readonly source: ClusterSource;
  private empty: { spec: ClusterSpec; state: ClusterState } | undefined;

  constructor(opts: GpuJobServiceOptions) {
    this.o = opts;
    this.now = opts.now ?? Date.now;
    this.source = clusterSourceOf(opts.cluster);
  }

  private get cluster(): ClusterSpec {
    return this.source.current();
  }

  /** The current cluster with nothing placed (for "could it ever run"), rebuilt when the cluster changes. */
  private get emptyCluster(): ClusterState {
    const spec = this.source.current();
    if (this.empty?.spec !== spec) this.empty = { spec, state: new ClusterState(spec) };
    return this.empty.state;
  }

  /** Normalises a submission, refusing what is malformed (400) or could never be placed (422). */
  specOf(body: SubmitBody, principal: Principal): JobSpec {
    const shares = body.gpuMilli !== undefined || body.gpuMemoryMiB !== undefined;
    if (body.gpus !== undefined && shares) {
      throw new AppError('BAD_REQUEST', 'give either "gpus" (whole devices) or "gpuMilli"/"gpuMemoryMiB" (a share of one device), not both');
    }
    const spec: JobSpec = {
      tenant: body.tenant,
      priority: body.priority ?? 0,
      cpuMilli: body.cpuMilli ?? DEFAULT_CPU_MILLI,
      memoryMiB: body.memoryMiB ?? DEFAULT_MEMORY_MIB,
      maxRetries: body.maxRetries ?? 1,
      requeueOnPreempt: body.requeueOnPreempt ?? true,
      preemptible: body.preemptible ?? true,
      submittedBy: principal.user,
    };
    if (body.gpus !== undefined) spec.gpus = body.gpus;
    if (body.gpuMilli !== undefined) spec.gpuMilli = body.gpuMilli;
    if (body.gpuMemoryMiB !== undefined) spec.gpuMemoryMiB = body.gpuMemoryMiB;
    if (body.gpuModels !== undefined && body.gpuModels.length > 0) spec.gpuModels = body.gpuModels;
    if (body.durationSeconds !== undefined) spec.durationSeconds = body.durationSeconds;
    if (body.idempotencyKey !== undefined) spec.idempotencyKey = body.idempotencyKey;
    if (body.metadata !== undefined) spec.metadata = body.metadata;
    // Could it ever run? Ask the filters on the empty cluster; their reasons say why not.
    const reasons = neverFits(this.emptyCluster, demandOf(requestOf('submission', spec)));
    if (reasons !== undefined) throw new AppError('UNSCHEDULABLE', `no node could ever hold this request: ${reasons.join('; ')}`);
    return spec;
  }

  /**
   * 201 with a new job, or 200 with the job an earlier submission of the same idempotency key by the
   * same user made. 403 when the tenant's rights do not allow it, 429 TOO_MANY_JOBS at the user's bound.
   */
  async submit(body: SubmitBody, principal: Principal): Promise<{ created: boolean; job: ApiJob }> {
    const spec = this.specOf(body, principal);
    const refusal = submitRefusal(this.o.tenants, principal, spec.tenant, spec.priority);
    if (refusal !== undefined) throw new AppError('FORBIDDEN', refusal, { details: { tenant: spec.tenant } });
    const id = jobIdFor(principal.user, spec.tenant, spec.idempotencyKey, randomUUID);
    return guarded(async () => {
      if (spec.idempotencyKey !== undefined) {
        const existing = await this.read(id);
        if (existing !== undefined) return { created: false, job: existing };
      }
      const open = await this.o.store.openCount(principal.user);
      if (open >= this.o.maxOpenJobsPerUser) {
        throw new AppError('TOO_MANY_JOBS', `${principal.user} has ${open} GPU jobs queued, placed or running; at most ${this.o.maxOpenJobsPerUser} (HOTPATH_GPU_MAX_OPEN_JOBS_PER_USER)`, {
          headers: { 'retry-after': '10' },
        });
      }
      const submission = { spec, queuedAtMs: this.now() };
      await this.o.intake.submit(id, submission);
      return { created: true, job: toApiJob(submittedJob(id, submission), this.cluster) };
    });
  }

  /** The record, or a submission the intake has not recorded yet (as a queued record: lifecycle.ts). */
  private async record(id: string): Promise<JobRecord | undefined> {
    return (await findJob(this.o.store, this.o.intake, id))?.job;
  }

  /** The job as `principal` may see it; FORBIDDEN when they may not see it at all. */
  private viewOf(job: JobRecord, principal: Principal): ApiJob {
    if (!mayAccess(this.o.tenants, principal, job.spec)) throw notYours(job.id);
    return toApiJob(job, this.cluster, seesAll(job, principal));
  }

  /** The job's API view (a submitter reading their own job). */
  private async read(id: string): Promise<ApiJob | undefined> {
    const job = await this.record(id);
    return job === undefined ? undefined : toApiJob(job, this.cluster);
  }

  /**
   * A job; with waitSeconds > 0, answers when its state differs from `whileState` (default: its state
   * now) or the time is up (long-poll).
   */
  async get(id: string, principal: Principal, waitSeconds = 0, signal?: AbortSignal, whileState?: JobState): Promise<ApiJob> {
    return guarded(async () => {
      const first = await this.record(id);
      if (first === undefined) throw new AppError('NOT_FOUND', `no GPU job ${id}`);
      // Rights are checked once: a job's tenant and submitter never change.
      let job = this.viewOf(first, principal);
      const full = seesAll(first, principal);
      const reread = async (): Promise<ApiJob | undefined> => {
        const r = await this.record(id);
        return r === undefined ? undefined : toApiJob(r, this.cluster, full);
      };
      const initial = whileState ?? job.state;
      const deadline = this.now() + Math.min(waitSeconds, this.o.maxWaitSeconds ?? 60) * 1000;
      while (!TERMINAL_STATES.has(job.state) && job.state === initial && !signal?.aborted) {
        const left = deadline - this.now();
        if (left <= 0) break;
        // Listen first, then re-read: a change between the two reads is never missed.
        const stop = new AbortController();
        const onAbort = (): void => stop.abort();
        signal?.addEventListener('abort', onAbort, { once: true });
        const next = this.o.events.next(id, left, stop.signal);
        job = (await reread()) ?? job;
        if (job.state !== initial) stop.abort();
        await next;
        signal?.removeEventListener('abort', onAbort);
        job = (await reread()) ?? job;
      }
      return job;
    });
  }

  /** Newest first; a non-admin sees only the jobs they may access (their own, their tenants'). */
  async list(opts: { state?: JobState; tenant?: string; limit: number; cursor: number }, principal: Principal): Promise<{ jobs: ApiJob[]; nextCursor?: string }> {
    return guarded(async () => {
      const visible = principal.admin ? undefined : (j: JobRecord) => mayAccess(this.o.tenants, principal, j.spec);
      const page = await this.o.store.list({ ...opts, ...(visible !== undefined ? { visible } : {}) });
      const out: { jobs: ApiJob[]; nextCursor?: string } = { jobs: page.jobs.map((j) => this.viewOf(j, principal)) };
      if (page.nextCursor !== undefined) out.nextCursor = String(page.nextCursor);
      return out;
    });
  }

  /** The record of a job `principal` may act on: its submitter, a member of its tenant, or an admin. */
  private async owned(id: string, principal: Principal): Promise<JobRecord> {
    const found = await findJob(this.o.store, this.o.intake, id);
    if (found === undefined) throw new AppError('NOT_FOUND', `no GPU job ${id}`);
    if (!mayAccess(this.o.tenants, principal, found.job.spec)) throw notYours(id);
    // Still in the intake queue (lifecycle.ts: submitted): nothing to act on until it is recorded.
    if (!found.recorded) throw new AppError('CONFLICT', `GPU job ${id} is still being queued; retry in a moment`);
    return found.job;
  }

  /** Extends the lease (the first heartbeat marks the job running). LEASE_LOST when it holds no GPUs. */
  async heartbeat(id: string, principal: Principal, attempt?: number): Promise<{ id: string; state: JobState; attempt: number; leaseExpiresAt: string }> {
    return guarded(async () => {
      const job = await this.owned(id, principal);
      const r = await this.o.store.heartbeat(id, attempt, this.now(), this.o.leaseTtlMs);
      if (r.leaseExpiresAtMs === undefined || r.state === 'missing') {
        const why = attempt !== undefined && attempt !== job.attempt && LIVE_STATES.has(job.state) ? `attempt ${attempt} is over (the job is on attempt ${job.attempt})` : `the job is ${r.state}${r.reason !== undefined ? `: ${r.reason}` : ''}`;
        throw new AppError('LEASE_LOST', `GPU job ${id} no longer holds its GPUs; ${why}`, { details: { state: r.state, ...(r.reason !== undefined ? { reason: r.reason } : {}) } });
      }
      return { id, state: r.state, attempt: attempt ?? job.attempt, leaseExpiresAt: new Date(r.leaseExpiresAtMs).toISOString() };
    });
  }

  async complete(id: string, principal: Principal, ok: boolean, message?: string, attempt?: number): Promise<ApiJob> {
    return this.finish(id, principal, ok ? 'completed' : 'failed', message, attempt);
  }

  async cancel(id: string, principal: Principal): Promise<ApiJob> {
    return this.finish(id, principal, 'cancelled', `cancelled by ${principal.user}`);
  }

  private async finish(id: string, principal: Principal, action: 'completed' | 'failed' | 'cancelled', message?: string, attempt?: number): Promise<ApiJob> {
    return guarded(async () => {
      await this.owned(id, principal);
      const r = await this.o.store.finish(id, action, this.now(), message ?? '', attempt);
      if (r.result === 'missing') throw new AppError('NOT_FOUND', `no GPU job ${id}`);
      if (r.result === 'conflict') throw new AppError('CONFLICT', `GPU job ${id} is ${r.state}; it cannot become ${action}`, { details: { state: r.state } });
      const job = await this.o.store.get(id);
      if (job === undefined) throw new AppError('NOT_FOUND', `no GPU job ${id}`);
      return this.viewOf(job, principal);
    });
  }

  /** Admins: the store's consistency check (see audit.ts). */
  async audit(principal: Principal): Promise<AuditReport> {
    if (!principal.admin) throw new AppError('FORBIDDEN', 'the GPU audit is for admins');
    return guarded(() => auditStore(this.o.store, this.cluster));
  }

  /** Devices with what is allocated on them, from the live jobs' placements (the source of truth). */
  async clusterView(): Promise<ClusterView> {
    return guarded(async () => {
      const [liveIds, queueDepth] = await Promise.all([this.o.store.liveIds(), this.o.store.pendingCount()]);
      return clusterViewOf(this.cluster, livePlacements(await this.o.store.getMany(liveIds)), queueDepth);
    });
  }
}

/** Its submitter and admins see a job's metadata and idempotency key; its tenant's members do not. */
const seesAll = (job: JobRecord, principal: Principal): boolean => principal.admin || job.spec.submittedBy === principal.user;

const notYours = (id: string): AppError =>
  new AppError('FORBIDDEN', `GPU job ${id} is not yours: only its submitter, members of its tenant and admins may read or act on it`);

export function clusterViewOf(cluster: ClusterSpec, placements: readonly Placement[], queueDepth: number): ClusterView {
  let total = 0;
  let allocated = 0;
  const nodes = cluster.nodes.map((node) => ({
    name: node.name,
    gpus: node.gpus.map((g) => {
      total += g.milli;
      return { index: g.index, board: g.boardId ?? null, model: g.model, memoryMiB: g.memoryMiB, allocatedMilli: 0, allocatedMemoryMiB: 0, jobs: [] as string[] };
    }),
  }));
  const byName = new Map(nodes.map((n) => [n.name, n]));
  for (const p of placements) {
    const node = byName.get(p.node);
    for (const d of p.devices) {
      const gpu = node?.gpus[d.gpuIndex];
      if (gpu === undefined) continue;
      gpu.allocatedMilli += d.milli;
      gpu.allocatedMemoryMiB += d.memoryMiB;
      gpu.jobs.push(p.requestId);
      allocated += d.milli;
    }
  }
  return { nodes, allocationRatio: total > 0 ? allocated / total : 0, queueDepth, runningJobs: placements.length };
}
