// Why: hotpath as a secondary Kubernetes scheduler. Pods with `spec.schedulerName: hotpath` become jobs
// of the same Redis job store as HTTP-API jobs (that store, with the leader's fenced scripts, stays the
// one record of which devices are allocated), the same scheduling loop places them on the nodes the API
// server lists, and this binds what was placed: the device annotation first, then the Binding (a pod is
// bound only after its allocation is recorded). A bound pod holds its devices as long as it lives (the
// pod is the lease); when it ends or disappears they are released. Blocked pods get kube-scheduler's
// PodScheduled=False/Unschedulable condition and a FailedScheduling event; preemption goes through the
// Eviction API. The pure rules are objects.ts's; the calls are api.ts's.
//
//   pod (pending) --intake--> job queued --loop--> placed (recorded) --bind--> running (until the pod ends)
//                                                                   pod ends/deleted --> job finished
import type { KubeConfig, V1Node, V1Pod } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import type { JobEvents } from '../jobs/events.ts';
import type { JobRecord, JobSpec } from '../jobs/model.ts';
import { LIVE_STATES } from '../jobs/model.ts';
import type { TickStats } from '../jobs/scheduling-loop.ts';
import type { Fence, JobStore } from '../jobs/store.ts';
import { apiClient, type KubeApi } from './api.ts';
import { watchResource, type WatchedSet } from './list-watch.ts';
import type { NodeInventory } from './node-inventory.ts';
import { DEVICES_ANNOTATION, devicesAnnotation, nodeAdmits, placementFromAnnotation, podRequestOf } from './objects.ts';

export interface KubeBackendOptions {
  kc: KubeConfig;
  /** The cluster model this backend keeps current (the ClusterSource the store and the loop read). */
  nodes: NodeInventory;
  api: KubeApi;
  store: JobStore;
  events: JobEvents;
  schedulerName: string;
  /** The tenant a namespace's pods run as (undefined: the namespace names its tenant). */
  tenantOfNamespace: (namespace: string) => string | undefined;
  /** Whether a tenant may use the GPUs at all (a configured tenant, or the "*" entry). */
  knownTenant: (tenant: string) => boolean;
  /** Who this replica is (its run claims and the events' reportingInstance). */
  owner: string;
  leaseTtlMs: number;
  now?: () => number;
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** The job id of a pod: stable across restarts and replicas. */
export const podJobId = (uid: string): string => `pod-${uid}`;
const isPodJob = (j: JobRecord): boolean => j.spec.source?.kind === 'pod';

const TERMINAL_PHASES = new Set(['Succeeded', 'Failed']);
/**
 * The lease of a bound pod's job: the pod itself is its lease (its end or deletion releases the devices,
 * by the watch or the sweep), so the store's clock must never expire it while hotpath is down.
 */
export const BOUND_LEASE_MS = 365 * 24 * 3600_000;
/** Placed but not bound yet (a crash mid-binding): the lease runs out and the job is queued again. */
const POD_RETRIES = 100;

export class KubeBackend {
  readonly nodes: NodeInventory;
  private readonly o: KubeBackendOptions;
  /** Nodes and pods listed and the first sweep done: only then may anything be placed. */
  private synced = false;
  private readonly now: () => number;
  private nodeWatch: WatchedSet<V1Node> | undefined;
  private podWatch: WatchedSet<V1Pod> | undefined;
  /** Pods by job id, as the watch last saw them (pending and bound). */
  private readonly pods = new Map<string, V1Pod>();
  /** The last unschedulable reason posted per job (a pod's condition and event only when it changes). */
  private readonly posted = new Map<string, string>();
  private readonly binding = new Set<string>();
  /** Bound pods whose allocation the leader must check before its next pass (beforePass). */
  private readonly toAdopt = new Set<string>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(opts: KubeBackendOptions) {
    this.o = opts;
    this.nodes = opts.nodes;
    this.now = opts.now ?? Date.now;
  }

  /** Whether nodes and pods have been listed (the loop places nothing before: beforePass). */
  get ready(): boolean {
    return this.synced;
  }

  /**
   * Starts the watches and resolves once nodes and pods are listed and the record swept (an API server
   * that is down delays that; the loop waits for `ready`).
   */
  async start(): Promise<void> {
    const core = apiClient(this.o.kc, CoreV1Api);
    const warn = (what: string) => (err: unknown) => this.o.log?.warn({ err: String(err) }, `kubernetes backend: ${what} watch failed; retrying`);
    this.nodeWatch = watchResource<V1Node>(this.o.kc, '/api/v1/nodes', () => core.listNode(), { onError: warn('node') });
    this.nodeWatch.on('add', (n) => this.nodes.upsert(n));
    this.nodeWatch.on('update', (n) => this.nodes.upsert(n));
    this.nodeWatch.on('delete', (n) => n.metadata?.name && this.nodes.delete(n.metadata.name));
    this.nodes.onNodeRemoved((name) => void this.releaseNode(name).catch(() => {}));
    const fieldSelector = `spec.schedulerName=${this.o.schedulerName}`;
    this.podWatch = watchResource<V1Pod>(this.o.kc, '/api/v1/pods', () => core.listPodForAllNamespaces({ fieldSelector }), { fieldSelector, onError: warn('pod') });
    this.podWatch.on('add', (p) => void this.onPod(p).catch((err) => warn('pod intake')(err)));
    this.podWatch.on('update', (p) => void this.onPod(p).catch((err) => warn('pod intake')(err)));
    this.podWatch.on('delete', (p) => void this.onPodGone(p).catch(() => {}));
    await Promise.all([this.nodeWatch.synced(), this.podWatch.synced()]);
    // Placed jobs whose pod is not bound yet (a restart mid-binding, a missed event): bind them now.
    this.unsubscribe = this.o.events.onEvent((e) => {
      if (e.state === 'placed') void this.bindJob(e.id).catch(() => {});
    });
    // A sweep that fails (the API server refusing a binding) is logged and retried by the next one: it
    // must not keep the backend from ever becoming ready.
    await this.sweep().catch((err) => this.o.log?.warn({ err: String(err) }, 'kubernetes backend: sweep failed'));
    this.synced = true;
    this.scheduleSweep();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.sweepTimer !== undefined) clearTimeout(this.sweepTimer);
    await Promise.all([this.nodeWatch?.stop(), this.podWatch?.stop()]);
  }

  /** A pod of ours appeared or changed: queue it while pending; release its devices once it has ended. */
  private async onPod(pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid;
    if (!uid || pod.spec?.schedulerName !== this.o.schedulerName) return;
    const id = podJobId(uid);
    this.pods.set(id, pod);
    if (pod.metadata?.deletionTimestamp !== undefined || TERMINAL_PHASES.has(pod.status?.phase ?? '')) {
      await this.finishFor(id, pod);
      return;
    }
    if (pod.spec.nodeName) {
      // Bound: the leader checks, before its next pass, that the record holds its devices.
      if (pod.metadata?.annotations?.[DEVICES_ANNOTATION]) this.toAdopt.add(id);
      return;
    }
    const spec = await this.specOf(pod);
    if (typeof spec === 'string') {
      await this.postUnschedulable(id, pod, spec);
      return;
    }
    // Age, for the queue's order: a pod's creationTimestamp has whole seconds; a pod seen within its
    // creation second keeps the millisecond it arrived at, so pods created in one second queue in the
    // order they were created, not by uid. (A record that exists keeps its age: create is idempotent.)
    const now = this.now();
    const created = Date.parse(pod.metadata?.creationTimestamp ? String(pod.metadata.creationTimestamp) : '') || now;
    await this.o.store.create(id, spec, now - created < 1000 && now >= created ? now : Math.min(created, now));
  }

  private async onPodGone(pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const id = podJobId(uid);
    this.pods.delete(id);
    this.posted.delete(id);
    await this.finishFor(id, pod);
  }

  /** The job spec of a pending pod, or why it cannot be scheduled by hotpath at all. */
  private async specOf(pod: V1Pod): Promise<JobSpec | string> {
    const group = pod.metadata?.labels?.['scheduling.x-k8s.io/pod-group'];
    const namespace = pod.metadata?.namespace ?? 'default';
    const minMember = group === undefined ? undefined : await this.o.api.podGroupMinMember(namespace, group).catch(() => undefined);
    const mapped = podRequestOf(pod, { tenantOfNamespace: this.o.tenantOfNamespace, podGroupMinMember: () => minMember });
    if (!mapped.ok) return mapped.reason;
    const r = mapped.request;
    if (!this.o.knownTenant(r.tenant)) return `tenant ${r.tenant} is not configured (HOTPATH_TENANTS) for namespace ${namespace}`;
    const spec: JobSpec = {
      tenant: r.tenant,
      priority: r.priority,
      cpuMilli: r.cpuMilli,
      memoryMiB: r.memoryMiB,
      maxRetries: POD_RETRIES,
      requeueOnPreempt: false,
      preemptible: r.preemptible,
      submittedBy: `system:kubernetes:${namespace}`,
      source: { kind: 'pod', namespace, name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' },
    };
    if (r.gpus !== undefined) spec.gpus = r.gpus;
    if (r.gpuMilli !== undefined) spec.gpuMilli = r.gpuMilli;
    if (r.gpuMemoryMiB !== undefined) spec.gpuMemoryMiB = r.gpuMemoryMiB;
    if (r.gang !== undefined) spec.gang = r.gang;
    return spec;
  }

  /** The pod ended or is gone: its job ends too (devices released); a pod never bound is cancelled. */
  private async finishFor(id: string, pod: V1Pod): Promise<void> {
    const job = await this.o.store.get(id);
    if (job === undefined || !(job.state === 'queued' || LIVE_STATES.has(job.state))) return;
    const phase = pod.status?.phase;
    const action = job.state === 'queued' ? 'cancelled' : phase === 'Succeeded' ? 'completed' : phase === 'Failed' ? 'failed' : 'cancelled';
    await this.o.store.finish(id, action, this.now(), `pod ${pod.metadata?.namespace}/${pod.metadata?.name} ${phase === undefined ? 'deleted' : phase.toLowerCase()}`);
  }

  /** Nodes a queued pod job may not use: a pod's selector and tolerations against each node, cordons. */
  excludedNodes(job: JobRecord): ReadonlyMap<string, string> | undefined {
    const pod = isPodJob(job) ? this.pods.get(job.id) : undefined;
    const out = new Map<string, string>();
    // Without a nodeSelector only cordoned, NotReady or tainted nodes can refuse it: look at those alone.
    const hasSelector = pod !== undefined && Object.keys(pod.spec?.nodeSelector ?? {}).length > 0;
    for (const view of hasSelector ? this.nodes.allViews() : this.nodes.restrictedViews()) {
      if (pod === undefined) {
        if (!view.schedulable) out.set(view.spec.name, view.unschedulableReason ?? 'unschedulable: node takes no new work');
        continue;
      }
      const admits = nodeAdmits(pod, view);
      if (!admits.ok) out.set(view.spec.name, admits.reason);
    }
    return out;
  }

  /** Evicts the victims that are pods (PodDisruptionBudgets decide); false when the API refuses one. */
  async beforeEvict(_jobId: string, victims: readonly JobRecord[]): Promise<boolean> {
    for (const v of victims) {
      const src = v.spec.source;
      if (src?.kind !== 'pod') continue;
      const r = await this.o.api.evict(src.namespace, src.name);
      if (r === 'refused') return false;
    }
    return true;
  }

  /** After each leader tick: blocked pods get kube-scheduler's condition and event (when the reason changes). */
  onTick(stats: TickStats): void {
    for (const b of stats.blocked) {
      const pod = this.pods.get(b.jobId);
      if (pod !== undefined && !pod.spec?.nodeName) void this.postUnschedulable(b.jobId, pod, b.reason).catch(() => {});
    }
  }

  private async postUnschedulable(id: string, pod: V1Pod, reason: string): Promise<void> {
    if (this.posted.get(id) === reason) return;
    this.posted.set(id, reason);
    const ns = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    await this.o.api.setScheduledCondition(ns, name, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: reason, lastTransitionTime: new Date(this.now()) });
    await this.o.api.event({ namespace: ns, name, uid: pod.metadata?.uid ?? '' }, 'Warning', 'FailedScheduling', reason, this.o.owner);
  }

  /**
   * Binds a placed pod job (one replica at a time, by run claim): the device annotation, then the
   * Binding. Already bound to our node (a retry after a crash) is done; bound elsewhere or gone, the
   * allocation is released: never two bookings of one device.
   */
  async bindJob(id: string): Promise<void> {
    if (this.binding.has(id) || this.stopped) return;
    this.binding.add(id);
    try {
      const job = await this.o.store.get(id);
      const src = job?.spec.source;
      if (job === undefined || src?.kind !== 'pod' || job.state !== 'placed' || job.placement === undefined) return;
      if (!(await this.o.store.claimRun(id, job.attempt, this.o.owner, this.o.leaseTtlMs))) return;
      const node = job.placement.node;
      // A re-placement (an earlier attempt's lease ran out): the earlier Binding may have gone through
      // with its answer lost and its watch event still on the way; ask the API server, not the cache.
      if (job.attempt > 1) {
        const fresh = await this.o.api.readPod(src.namespace, src.name);
        if (fresh?.metadata?.uid === src.uid) this.pods.set(id, fresh);
      }
      // Already bound there (a binding that succeeded before a crash, an adopted pod): nothing to send.
      const boundTo = this.pods.get(id)?.spec?.nodeName;
      if (boundTo === node) {
        await this.o.store.heartbeat(id, job.attempt, this.now(), BOUND_LEASE_MS);
        return;
      }
      // Bound elsewhere by an earlier attempt: never overwrite its device annotation. This placement's
      // lease runs out, the job is queued again, and the leader records the pod where it runs (beforePass).
      if (boundTo) {
        this.toAdopt.add(id);
        this.o.log?.warn({ id, placedOn: node, boundTo }, 'kubernetes backend: a placed pod is already bound elsewhere; left to be recorded where it runs');
        return;
      }
      const annotated = await this.o.api.annotate(src.namespace, src.name, { [DEVICES_ANNOTATION]: devicesAnnotation(job.placement) });
      const result = annotated === 'gone' ? 'gone' : await this.o.api.bind(src.namespace, src.name, src.uid, node);
      if (result === 'bound') {
        await this.o.store.heartbeat(id, job.attempt, this.now(), BOUND_LEASE_MS);
        this.posted.delete(id);
        await this.o.api.event(src, 'Normal', 'Scheduled', `Successfully assigned ${src.namespace}/${src.name} to ${node}`, this.o.owner).catch(() => {});
        return;
      }
      if (result === 'conflict') {
        const now = await this.o.api.readPod(src.namespace, src.name);
        if (now?.spec?.nodeName === node && now.metadata?.uid === src.uid) {
          await this.o.store.heartbeat(id, job.attempt, this.now(), BOUND_LEASE_MS);
          return;
        }
        await this.o.store.finish(id, 'cancelled', this.now(), `pod was bound to ${now?.spec?.nodeName ?? 'another node'} by someone else`);
        return;
      }
      await this.o.store.finish(id, 'cancelled', this.now(), 'pod is gone');
    } finally {
      this.binding.delete(id);
    }
  }

  /**
   * Leader, before each pass: a bound pod of ours whose allocation the record does not hold (its record
   * lost, or queued again after a crash) is recorded where it runs, from its device annotation, before
   * anything else is placed: the devices it uses are never given to another job.
   */
  async beforePass(fence: Fence, firstOfTerm: boolean): Promise<boolean> {
    if (!this.synced) return false;
    if (firstOfTerm) for (const [id, pod] of this.pods) if (pod.spec?.nodeName && pod.metadata?.annotations?.[DEVICES_ANNOTATION]) this.toAdopt.add(id);
    for (const id of [...this.toAdopt]) {
      this.toAdopt.delete(id);
      const pod = this.pods.get(id);
      if (pod !== undefined) await this.adopt(fence, id, pod);
    }
    return true;
  }

  private async adopt(fence: Fence, id: string, pod: V1Pod): Promise<void> {
    const node = pod.spec?.nodeName;
    const text = pod.metadata?.annotations?.[DEVICES_ANNOTATION];
    if (!node || !text || TERMINAL_PHASES.has(pod.status?.phase ?? '') || pod.metadata?.deletionTimestamp !== undefined) return;
    const existing = await this.o.store.get(id);
    if (existing !== undefined && LIVE_STATES.has(existing.state)) return;
    const spec = await this.specOf(pod);
    if (typeof spec === 'string') return;
    const placement = placementFromAnnotation(id, node, text, spec);
    if (placement === undefined) return;
    if (existing === undefined) await this.o.store.create(id, spec, this.now());
    else if (existing.state !== 'queued') {
      this.o.log?.warn({ id, state: existing.state, node }, 'kubernetes backend: a bound pod runs while its allocation record has ended; its devices are not accounted');
      return;
    }
    // While it is recorded, this replica's binder leaves it alone (it is bound already).
    this.binding.add(id);
    let placed: string;
    try {
      placed = await this.o.store.place(fence, id, placement, [], this.now(), BOUND_LEASE_MS);
      if (placed === 'ok') {
        const job = await this.o.store.get(id);
        await this.o.store.heartbeat(id, job?.attempt, this.now(), BOUND_LEASE_MS);
      }
    } finally {
      this.binding.delete(id);
    }
    if (placed === 'ok') {
      this.o.log?.info({ id, node }, 'kubernetes backend: recorded a bound pod\'s allocation from its annotation');
    } else this.o.log?.warn({ id, node, placed }, 'kubernetes backend: a bound pod\'s devices could not be recorded');
  }

  /**
   * At start and every lease/3, what the API and the record say must agree: placed pod jobs not bound yet
   * are bound; live ones whose pod is gone are released.
   */
  private async sweep(): Promise<void> {
    const ids = (await this.o.store.liveIds()).filter((id) => id.startsWith('pod-'));
    for (const job of await this.o.store.getMany(ids)) {
      const id = job.id;
      if (!LIVE_STATES.has(job.state)) continue;
      if (job.state === 'placed') {
        // One pod the API server will not bind now must not stop the sweep of the others.
        await this.bindJob(id).catch((err) => this.o.log?.warn({ id, err: String(err) }, 'kubernetes backend: binding failed; retried by the next sweep'));
        continue;
      }
      const pod = this.pods.get(id);
      if (pod === undefined) {
        // Not seen by the watch: ask once before letting go (a watch may lag a binding).
        const src = job.spec.source;
        const fresh = src?.kind === 'pod' ? await this.o.api.readPod(src.namespace, src.name) : undefined;
        if (fresh === undefined || fresh.metadata?.uid !== src?.uid) {
          await this.o.store.finish(id, 'cancelled', this.now(), 'pod is gone');
          continue;
        }
        this.pods.set(id, fresh);
      }
    }
  }

  private scheduleSweep(): void {
    if (this.stopped) return;
    this.sweepTimer = setTimeout(() => {
      void this.sweep()
        .catch((err) => this.o.log?.warn({ err: String(err) }, 'kubernetes backend: sweep failed'))
        .finally(() => this.scheduleSweep());
    }, Math.max(200, this.o.leaseTtlMs / 3));
    this.sweepTimer.unref();
  }

  /** A node left the cluster: the jobs on it lose their devices (their pods went with it). */
  private async releaseNode(name: string): Promise<void> {
    for (const job of await this.o.store.getMany(await this.o.store.liveIds())) {
      if (job.placement?.node === name && LIVE_STATES.has(job.state)) await this.o.store.finish(job.id, 'failed', this.now(), `node ${name} was removed`);
    }
  }
}
