// Why: the GPU job service's state in Redis — job records, the pending/live/lease indexes, per-device
// usage, the leader key, the simulated executor's run claims and the event channel — behind typed
// methods. Every mutation is one of the Lua scripts in scripts.ts (atomic); reads are plain commands.
// Durable as far as Redis is (AOF in production); nothing about a job lives only in a process.
import { clusterSourceOf, type ClusterSource } from '../cluster-source.ts';
import type { Redis } from 'ioredis';
import type { ClusterSpec, Placement } from '../placement/model.ts';
import type { JobRecord, JobSpec, JobState } from './model.ts';
import { JOB_STATES } from './model.ts';
import { ACQUIRE_LEADER, ADOPT_LEADER, CLAIM_RUN, CREATE_JOB, EXPIRE_JOB, FINISH_JOB, HEARTBEAT_JOB, PLACE_JOB, RESIGN_LEADER, SNAPSHOT } from './scripts.ts';

interface ScriptCommands {
  hpGpuCreate(...args: (string | number)[]): Promise<number>;
  hpGpuPlace(...args: (string | number)[]): Promise<string>;
  hpGpuHeartbeat(...args: (string | number)[]): Promise<[string, string, string]>;
  hpGpuFinish(...args: (string | number)[]): Promise<[string, string]>;
  hpGpuExpire(...args: (string | number)[]): Promise<string>;
  hpGpuAcquire(...args: (string | number)[]): Promise<number>;
  hpGpuResign(...args: (string | number)[]): Promise<number>;
  hpGpuAdopt(...args: (string | number)[]): Promise<number>;
  hpGpuClaimRun(...args: (string | number)[]): Promise<number>;
  hpGpuSnapshot(...args: (string | number)[]): Promise<[string[], string[], string[], string[], string[], string[], string[], string[]]>;
}

/** One atomic view of the indexes, the live placements and the usage hash (for the audit). */
export interface StoreSnapshot {
  pending: { id: string; state: string }[];
  live: { id: string; state: string; placement: Placement | undefined }[];
  usage: Map<string, number>;
  /** Submitter of each pending, then each live job ('' when the record carries none). */
  users: string[];
  /** The open-jobs-per-user hash. */
  open: Map<string, number>;
}

/** The leader's fencing token: who it is and the epoch it won. */
export interface Fence {
  owner: string;
  epoch: number;
}

export type PlaceResult = 'ok' | 'fenced' | 'stale' | `nofit: ${string}`;
export type FinishAction = 'completed' | 'failed' | 'cancelled';

export class JobStore {
  readonly redis: Redis & ScriptCommands;
  readonly channel: string;
  private readonly p: string;
  private readonly cluster: ClusterSource;
  private readonly retentionSeconds: number;

  constructor(redis: Redis, prefix: string, cluster: ClusterSpec | ClusterSource, retentionSeconds: number) {
    this.p = `${prefix}gpu:`;
    this.channel = `${this.p}events`;
    this.cluster = clusterSourceOf(cluster);
    this.retentionSeconds = retentionSeconds;
    redis.defineCommand('hpGpuCreate', { numberOfKeys: 4, lua: CREATE_JOB });
    redis.defineCommand('hpGpuPlace', { lua: PLACE_JOB });
    redis.defineCommand('hpGpuHeartbeat', { numberOfKeys: 2, lua: HEARTBEAT_JOB });
    redis.defineCommand('hpGpuFinish', { numberOfKeys: 6, lua: FINISH_JOB });
    redis.defineCommand('hpGpuExpire', { numberOfKeys: 8, lua: EXPIRE_JOB });
    redis.defineCommand('hpGpuAcquire', { numberOfKeys: 2, lua: ACQUIRE_LEADER });
    redis.defineCommand('hpGpuResign', { numberOfKeys: 1, lua: RESIGN_LEADER });
    redis.defineCommand('hpGpuAdopt', { numberOfKeys: 2, lua: ADOPT_LEADER });
    redis.defineCommand('hpGpuClaimRun', { numberOfKeys: 1, lua: CLAIM_RUN });
    redis.defineCommand('hpGpuSnapshot', { numberOfKeys: 4, lua: SNAPSHOT });
    this.redis = redis as Redis & ScriptCommands;
  }

  private key(id: string): string {
    return `${this.p}job:${id}`;
  }
  private get k() {
    const p = this.p;
    return { pending: `${p}pending`, live: `${p}live`, leases: `${p}leases`, all: `${p}all`, usage: `${p}usage`, open: `${p}open`, leader: `${p}leader`, epoch: `${p}epoch` };
  }

  /** Records a submitted job (idempotent: false when it already existed). */
  async create(id: string, spec: JobSpec, queuedAtMs: number): Promise<boolean> {
    const { pending, all, open } = this.k;
    const created = await this.redis.hpGpuCreate(
      this.key(id), pending, all, open,
      id, JSON.stringify(spec), spec.tenant, spec.priority, queuedAtMs, spec.maxRetries, spec.requeueOnPreempt ? 1 : 0, spec.preemptible ? 1 : 0, this.channel, spec.submittedBy,
    );
    return created === 1;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return parseJob(id, await this.redis.hgetall(this.key(id)));
  }

  async getMany(ids: readonly string[]): Promise<JobRecord[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.key(id));
    const replies = (await pipeline.exec()) ?? [];
    const out: JobRecord[] = [];
    replies.forEach(([err, fields], i) => {
      if (err) throw err;
      const job = parseJob(ids[i] ?? '', fields as Record<string, string>);
      if (job !== undefined) out.push(job);
    });
    return out;
  }

  pendingIds(): Promise<string[]> {
    return this.redis.zrange(this.k.pending, '0', '-1');
  }
  liveIds(): Promise<string[]> {
    return this.redis.zrange(this.k.live, '0', '-1');
  }
  pendingCount(): Promise<number> {
    return this.redis.zcard(this.k.pending);
  }
  /** Jobs of `user` queued, placed or running now. */
  async openCount(user: string): Promise<number> {
    return Number((await this.redis.hget(this.k.open, user)) ?? 0);
  }
  /** Live jobs whose lease deadline is at or before `nowMs`. */
  expiredIds(nowMs: number, limit = 100): Promise<string[]> {
    return this.redis.zrangebyscore(this.k.leases, '-inf', nowMs, 'LIMIT', 0, limit);
  }

  /**
   * Newest first. `cursor` is an offset into the submission index; a filtered page scans at most
   * `scanLimit` records and says where to go on. Index entries whose record expired are skipped
   * (tidyIndex removes them).
   */
  async list(opts: { state?: JobState; tenant?: string; visible?: (job: JobRecord) => boolean; limit: number; cursor: number; scanLimit?: number }): Promise<{ jobs: JobRecord[]; nextCursor?: number }> {
    const scanLimit = opts.scanLimit ?? 2000;
    const jobs: JobRecord[] = [];
    let offset = opts.cursor;
    while (offset - opts.cursor < scanLimit) {
      const ids = await this.redis.zrevrange(this.k.all, offset, offset + Math.min(200, opts.limit * 4) - 1);
      if (ids.length === 0) return { jobs };
      const records = new Map((await this.getMany(ids)).map((r) => [r.id, r]));
      for (const id of ids) {
        offset++;
        const job = records.get(id);
        if (job === undefined) continue;
        if (opts.state !== undefined && job.state !== opts.state) continue;
        if (opts.tenant !== undefined && job.spec.tenant !== opts.tenant) continue;
        if (opts.visible !== undefined && !opts.visible(job)) continue;
        jobs.push(job);
        if (jobs.length === opts.limit) return { jobs, nextCursor: offset };
      }
    }
    return { jobs, nextCursor: offset };
  }

  /** Drops index entries of records that expired (retention), oldest first, a batch at a time. */
  async tidyIndex(batch = 500): Promise<number> {
    const ids = await this.redis.zrange(this.k.all, '0', String(batch - 1));
    if (ids.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.exists(this.key(id));
    const replies = (await pipeline.exec()) ?? [];
    const gone = ids.filter((_, i) => replies[i]?.[1] === 0);
    if (gone.length > 0) await this.redis.zrem(this.k.all, ...gone);
    return gone.length;
  }

  /** Leader only: places a queued job (releasing `victims` first, atomically), checked against capacity. */
  async place(fence: Fence, id: string, placement: Placement, victims: readonly string[], nowMs: number, leaseTtlMs: number): Promise<PlaceResult> {
    const node = this.cluster.current().nodes.find((n) => n.name === placement.node);
    if (node === undefined) return `nofit: unknown node ${placement.node}`;
    const devCaps = placement.devices.map((d) => [node.gpus[d.gpuIndex]?.milli ?? 0, node.gpus[d.gpuIndex]?.memoryMiB ?? 0]);
    const { leader, epoch, usage, pending, live, leases, open } = this.k;
    const keys = [leader, epoch, usage, pending, live, leases, open, this.key(id), ...victims.map((v) => this.key(v))];
    const args = [fence.owner, String(fence.epoch), id, JSON.stringify(placement), nowMs, leaseTtlMs, this.channel, JSON.stringify([node.cpuMilli, node.memoryMiB]), JSON.stringify(devCaps), ...victims];
    return (await this.redis.hpGpuPlace(keys.length, ...keys, ...args)) as PlaceResult;
  }

  async heartbeat(id: string, attempt: number | undefined, nowMs: number, leaseTtlMs: number): Promise<{ state: JobState | 'missing'; leaseExpiresAtMs?: number; reason?: string }> {
    const [state, lease, reason] = await this.redis.hpGpuHeartbeat(this.key(id), this.k.leases, id, nowMs, leaseTtlMs, attempt === undefined ? '' : String(attempt), this.channel);
    const out: { state: JobState | 'missing'; leaseExpiresAtMs?: number; reason?: string } = { state: state as JobState | 'missing' };
    if (lease !== '') out.leaseExpiresAtMs = Number(lease);
    if (reason !== '') out.reason = reason;
    return out;
  }

  async finish(id: string, action: FinishAction, nowMs: number, message = '', attempt?: number): Promise<{ result: 'ok' | 'conflict' | 'missing'; state: string }> {
    const { usage, pending, live, leases, open } = this.k;
    const [result, state] = await this.redis.hpGpuFinish(this.key(id), usage, pending, live, leases, open, id, action, nowMs, message, attempt === undefined ? '' : String(attempt), this.channel, this.retentionSeconds);
    return { result: result as 'ok' | 'conflict' | 'missing', state };
  }

  /** Leader only: ends or re-queues a job whose lease ran out. */
  async expire(fence: Fence, id: string, nowMs: number): Promise<string> {
    const { leader, epoch, usage, pending, live, leases, open } = this.k;
    return this.redis.hpGpuExpire(leader, epoch, this.key(id), usage, pending, live, leases, open, fence.owner, String(fence.epoch), id, nowMs, this.channel, this.retentionSeconds);
  }

  /** Acquires or renews leadership; the epoch (fencing token) or 0 when another owner leads. */
  acquireLeader(owner: string, ttlMs: number): Promise<number> {
    return this.redis.hpGpuAcquire(this.k.leader, this.k.epoch, owner, ttlMs);
  }
  /** The newest epoch any leader won (0 before the first). */
  async leaderEpoch(): Promise<number> {
    return Number((await this.redis.get(this.k.epoch)) ?? '0');
  }
  /** Makes `epoch`, won elsewhere (a Kubernetes Lease), the fencing token; it back, or 0 when a newer one is here. */
  adoptLeader(owner: string, epoch: number, ttlMs: number): Promise<number> {
    return this.redis.hpGpuAdopt(this.k.leader, this.k.epoch, owner, epoch, ttlMs);
  }
  resignLeader(owner: string): Promise<number> {
    return this.redis.hpGpuResign(this.k.leader, owner, this.channel);
  }

  /**
   * Simulated executor: takes or renews the claim on running attempt `attempt` of job `id` for `ttlMs`
   * (so two replicas never run the same attempt); false when another owner holds it.
   */
  async claimRun(id: string, attempt: number, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.hpGpuClaimRun(`${this.p}exec:${id}:${attempt}`, owner, ttlMs)) === 1;
  }

  async snapshot(): Promise<StoreSnapshot> {
    const [pending, pstates, live, lstates, lplacements, usage, users, open] = await this.redis.hpGpuSnapshot(this.k.pending, this.k.live, this.k.usage, this.k.open, `${this.p}job:`);
    const pairs = (flat: string[]): Map<string, number> => {
      const out = new Map<string, number>();
      for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i] ?? '', Number(flat[i + 1]));
      return out;
    };
    return {
      pending: pending.map((id, i) => ({ id, state: pstates[i] ?? '' })),
      live: live.map((id, i) => ({ id, state: lstates[i] ?? '', placement: lplacements[i] ? (JSON.parse(lplacements[i] ?? '') as Placement) : undefined })),
      usage: pairs(usage),
      users,
      open: pairs(open),
    };
  }

  /** The usage hash as numbers (for the drift check: it must equal the sum of live placements). */
  async usage(): Promise<Map<string, number>> {
    const raw = await this.redis.hgetall(this.k.usage);
    return new Map(Object.entries(raw).map(([f, v]) => [f, Number(v)]));
  }
}

function num(v: string | undefined): number | undefined {
  return v === undefined || v === '' ? undefined : Number(v);
}

export function parseJob(id: string, f: Record<string, string>): JobRecord | undefined {
  if (f['state'] === undefined || f['spec'] === undefined) return undefined;
  const state = f['state'] as JobState;
  if (!JOB_STATES.includes(state)) return undefined;
  const job: JobRecord = {
    id,
    spec: JSON.parse(f['spec']) as JobSpec,
    state,
    queuedAtMs: Number(f['queuedAt']),
    attempt: Number(f['attempt'] ?? 0),
    retries: Number(f['retries'] ?? 0),
    preemptions: Number(f['preemptions'] ?? 0),
  };
  const placedAtMs = num(f['placedAt']);
  if (placedAtMs !== undefined) job.placedAtMs = placedAtMs;
  const startedAtMs = num(f['startedAt']);
  if (startedAtMs !== undefined) job.startedAtMs = startedAtMs;
  const endedAtMs = num(f['endedAt']);
  if (endedAtMs !== undefined) job.endedAtMs = endedAtMs;
  const lease = num(f['lease']);
  if (lease !== undefined) job.leaseExpiresAtMs = lease;
  if (f['reason'] !== undefined) job.reason = f['reason'];
  if (f['placement'] !== undefined) job.placement = JSON.parse(f['placement']) as Placement;
  return job;
}
