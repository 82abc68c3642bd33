// Why: the leader's loop that turns the pure scheduling pass (../scheduling/: order, fair share,
// preemption; no I/O) into allocations; a "loop", so it is never mistaken for that pass. Each tick:
// expire leases that ran out, read the queue and the live jobs from Redis, run schedulePass, and apply
// its decisions one by one through the fenced place script. The script re-checks capacity, so a view
// made stale by a racing cancel or completion can only be refused, never over-commit; a refusal just
// ends the tick and the next one starts from fresh state. Ticks run on a timer, at once on events and
// at once when this replica becomes leader (it subscribes to the elector). It moves the queued ->
// placed, live -> preempted and lease-expired edges of lifecycle.ts.
import { clusterSourceOf, type ClusterSource } from '../cluster-source.ts';
import type { ClusterSpec } from '../placement/model.ts';
import { createPolicy } from '../placement/policies/registry.ts';
import type { Prng } from '../placement/prng.ts';
import { createPrng } from '../placement/prng.ts';
import type { Blocked, LiveJob, PendingJob, PassResult, Reservation, TenantPolicy } from '../scheduling/pass.ts';
import { schedulePass } from '../scheduling/pass.ts';
import { RequestMix } from '../scheduling/request-mix.ts';
import type { JobEvents } from './events.ts';
import type { LeaderElector } from './leader.ts';
import type { JobRecord } from './model.ts';
import { LIVE_STATES, requestOf } from './model.ts';
import type { Fence, JobStore } from './store.ts';

export interface SchedulingLoopOptions {
  store: JobStore;
  elector: LeaderElector;
  events?: JobEvents;
  cluster: ClusterSpec | ClusterSource;
  policy: string;
  tickMs: number;
  leaseTtlMs: number;
  starvationMs: number;
  preemption: boolean;
  /** Default true. false with order 'arrival': the FIFO baseline of BENCHMARKS.md §3 (benchmarks only). */
  backfill?: boolean;
  /** Default 'fair' (priority, fair share, age); see PassInput.order. */
  order?: 'fair' | 'arrival';
  tenantPolicy?: (tenant: string) => TenantPolicy;
  now?: () => number;
  seed?: number;
  /** Half-life of a request's weight in the typical-pod mix (default 1 h). */
  mixHalfLifeMs?: number;
  /** Observers (metrics, the kubernetes backend's conditions and events). */
  onTick?: (stats: TickStats) => void;
  /** Nodes a queued job may not use, with why (the kubernetes backend: a pod's selector, taints, cordons). */
  excludedNodes?: (job: JobRecord) => ReadonlyMap<string, string> | undefined;
  /**
   * Called before a decision that evicts victims is recorded: the victims' owners must let go first (the
   * kubernetes backend evicts their pods through the Eviction API, which honours PodDisruptionBudgets).
   * false: skip this decision (this tick); the job is considered again next tick.
   */
  beforeEvict?: (jobId: string, victims: readonly JobRecord[]) => Promise<boolean>;
  /**
   * Leader, before each pass (after lease expiry): record what the outside world already runs (the
   * kubernetes backend: bound pods the record does not hold). `firstOfTerm`: the first pass under this
   * fence. false: no pass this tick (not ready).
   */
  beforePass?: (fence: Fence, firstOfTerm: boolean) => Promise<boolean>;
}

export interface TickStats {
  leader: boolean;
  durationMs: number;
  expired: { queued: number; failed: number };
  placed: { id: string; waitMs: number; priority: number; tenant: string }[];
  preempted: string[];
  refused: string | undefined;
  pending: PendingJob[];
  live: LiveJob[];
  blocked: Blocked[];
  reservations: Reservation[];
}

const TIDY_EVERY_MS = 60_000;
/** The most placements sent to the store at once (one pipelined batch; see tick). */
const PLACE_RUN_MAX = 64;

export class SchedulingLoop {
  private readonly o: SchedulingLoopOptions;
  private readonly now: () => number;
  private readonly prng: Prng;
  private readonly mix: RequestMix;
  private tidiedAtMs = -Infinity;
  private lastEpoch: number | undefined;
  private readonly cluster: ClusterSource;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private unsubscribe: (() => void) | undefined;
  private unsubscribeLeader: (() => void) | undefined;

  constructor(opts: SchedulingLoopOptions) {
    this.o = opts;
    this.now = opts.now ?? Date.now;
    this.prng = createPrng(opts.seed ?? 0x5eed);
    this.mix = new RequestMix({ halfLifeMs: opts.mixHalfLifeMs ?? 3_600_000 });
    this.cluster = clusterSourceOf(opts.cluster);
  }

  start(): void {
    this.stopped = false;
    this.unsubscribe = this.o.events?.onEvent(() => this.kick());
    // Just became leader: schedule now rather than at the next tick.
    this.unsubscribeLeader = this.o.elector.onChange((fence) => {
      if (fence !== undefined) this.kick();
    });
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.kick(), this.o.tickMs);
    this.timer.unref();
  }

  /** Runs a tick soon; ticks never overlap (a kick during a tick runs one more after it). */
  kick(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.running = this.tick()
      .then(() => undefined, () => undefined)
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          setImmediate(() => this.kick());
        } else this.schedule();
      });
  }

  /** One scheduling round (tests call it directly). Does nothing unless this replica leads. */
  async tick(): Promise<TickStats> {
    const t0 = performance.now();
    const stats: TickStats = { leader: false, durationMs: 0, expired: { queued: 0, failed: 0 }, placed: [], preempted: [], refused: undefined, pending: [], live: [], blocked: [], reservations: [] };
    const fence = this.o.elector.fence();
    if (fence === undefined) return stats;
    stats.leader = true;
    const { store } = this.o;
    const nowMs = this.now();

    for (const id of await store.expiredIds(nowMs)) {
      const r = await store.expire(fence, id, nowMs);
      if (r === 'fenced') return this.finish(stats, t0, 'fenced');
      if (r === 'queued') stats.expired.queued++;
      if (r === 'failed') stats.expired.failed++;
    }

    if (this.o.beforePass !== undefined) {
      const first = this.lastEpoch !== fence.epoch;
      if (!(await this.o.beforePass(fence, first))) return this.finish(stats, t0, undefined);
      this.lastEpoch = fence.epoch;
    }

    // Now and then, drop the listing index's entries of records that expired (retention).
    if (nowMs - this.tidiedAtMs >= TIDY_EVERY_MS) {
      this.tidiedAtMs = nowMs;
      await store.tidyIndex();
    }

    const [pendingIds, liveIds] = await Promise.all([store.pendingIds(), store.liveIds()]);
    const [pendingJobs, liveJobs] = await Promise.all([store.getMany(pendingIds), store.getMany(liveIds)]);
    const pending: PendingJob[] = pendingJobs.filter((j) => j.state === 'queued').map((j) => this.pendingOf(j));
    const live: LiveJob[] = liveJobs.filter((j) => LIVE_STATES.has(j.state) && j.placement !== undefined).map(liveOf);
    stats.pending = pending;
    stats.live = live;
    if (pending.length === 0) return this.finish(stats, t0, undefined);

    // The typical pods FGD-style policies need: the requests seen recently, older ones weighing less. A
    // job is observed when this loop first sees it (a long wait re-adds it after the horizon), so
    // the jobs of this round are always part of the mix.
    for (const j of [...pending, ...live]) this.mix.observe(j.id, j.request, nowMs);
    const specs = this.mix.specs(nowMs);
    const result: PassResult = schedulePass({
      cluster: this.cluster.current(),
      live,
      pending,
      nowMs,
      policy: createPolicy(this.o.policy, { typicalSpecs: specs }),
      prng: this.prng,
      ...(this.o.tenantPolicy !== undefined ? { tenantPolicy: this.o.tenantPolicy } : {}),
      backfill: this.o.backfill ?? true,
      order: this.o.order ?? 'fair',
      starvationMs: this.o.starvationMs,
      preemption: this.o.preemption,
    });
    stats.blocked = result.blocked;
    stats.reservations = result.reservations;
    const byId = new Map(pendingJobs.map((j) => [j.id, j]));
    const liveById = new Map(liveJobs.map((j) => [j.id, j]));
    // Decisions go to the store in runs: the ones that preempt nobody are sent together (one pipelined
    // round trip for a burst instead of one per job; each script checks capacity itself, so their order
    // does not matter), at most PLACE_RUN_MAX at a time so no script waits behind a burst's thousands
    // past the command timeout; a preempting one waits for the run before it and for beforeEvict. The
    // first refusal ends the round (what was placed in its run stays placed and is reported).
    const record = (d: PassResult['decisions'][number]): void => {
      const job = byId.get(d.jobId);
      stats.placed.push({ id: d.jobId, waitMs: nowMs - (job?.queuedAtMs ?? nowMs), priority: job?.spec.priority ?? 0, tenant: job?.spec.tenant ?? '' });
      stats.preempted.push(...d.preempt);
    };
    const placeRun = async (run: PassResult['decisions']): Promise<string | undefined> => {
      const answers = await Promise.all(run.map((d) => store.place(fence, d.jobId, d.placement, d.preempt, nowMs, this.o.leaseTtlMs)));
      let refused: string | undefined;
      answers.forEach((r, i) => {
        if (r === 'ok') record(run[i]!);
        else refused ??= `${run[i]!.jobId}: ${r}`;
      });
      return refused;
    };
    let run: PassResult['decisions'] = [];
    for (const d of result.decisions) {
      if (d.preempt.length === 0 && run.length < PLACE_RUN_MAX) {
        run.push(d);
        continue;
      }
      const refused = await placeRun(run);
      run = [];
      if (refused !== undefined) return this.finish(stats, t0, refused);
      if (d.preempt.length === 0) {
        run.push(d);
        continue;
      }
      if (this.o.beforeEvict !== undefined) {
        const victims = d.preempt.map((id) => liveById.get(id)).filter((j): j is JobRecord => j !== undefined);
        if (!(await this.o.beforeEvict(d.jobId, victims))) {
          stats.blocked.push({ jobId: d.jobId, reason: `preemption refused: a victim may not be evicted now (${d.preempt.join(', ')})` });
          continue;
        }
      }
      const r = await store.place(fence, d.jobId, d.placement, d.preempt, nowMs, this.o.leaseTtlMs);
      if (r !== 'ok') return this.finish(stats, t0, `${d.jobId}: ${r}`);
      record(d);
    }
    const refused = await placeRun(run);
    if (refused !== undefined) return this.finish(stats, t0, refused);
    return this.finish(stats, t0, undefined);
  }

  private pendingOf(j: JobRecord): PendingJob {
    const p: PendingJob = { id: j.id, request: requestOf(j.id, j.spec), queuedAtMs: j.queuedAtMs };
    if (j.spec.gang !== undefined) p.gang = j.spec.gang;
    const excluded = this.o.excludedNodes?.(j);
    if (excluded !== undefined && excluded.size > 0) p.excludedNodes = excluded;
    return p;
  }

  private finish(stats: TickStats, t0: number, refused: string | undefined): TickStats {
    stats.refused = refused;
    stats.durationMs = performance.now() - t0;
    this.o.onTick?.(stats);
    // A refused decision means the view was stale: look again at once rather than after a full tick.
    if (refused !== undefined && !refused.endsWith('fenced')) this.again = true;
    return stats;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribeLeader?.();
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }
}

export function liveOf(j: JobRecord): LiveJob {
  const live: LiveJob = { id: j.id, request: requestOf(j.id, j.spec), placement: j.placement!, startedAtMs: j.startedAtMs ?? j.placedAtMs ?? j.queuedAtMs };
  if (!j.spec.preemptible) live.preemptible = false;
  if (j.spec.gang !== undefined) live.gangId = j.spec.gang.id;
  return live;
}
