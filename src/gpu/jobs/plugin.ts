// Why: wires the GPU job service into the app: Redis connections, the store, the BullMQ intake (queue
// and worker), the leader election and scheduling loop (every replica campaigns; one schedules), the
// simulated executor and demo load when configured, the routes and the metrics; and closes all of it
// with the app. Each object is built after everything it uses (no forward references): whoever reacts
// to an event or a leadership change subscribes once it exists, and onClose stops them in reverse.
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../kubernetes/kubeconfig.ts';
import { clusterSourceOf, type ClusterSource } from '../cluster-source.ts';
import { kubeApi, kubeLeases } from '../kubernetes/api.ts';
import { LeaseCampaign } from '../kubernetes/lease-campaign.ts';
import { KubeBackend } from '../kubernetes/backend.ts';
import { NodeInventory } from '../kubernetes/node-inventory.ts';
import { isKnownTenant, tenantOfNamespace } from '../../shared/tenants.ts';
import type { JobRecord } from './model.ts';
import type { Fence } from './store.ts';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Config } from '../../shared/config.ts';
import { closeRedis, createRedis, waitReady } from '../../shared/redis.ts';
import type { ClusterSpec } from '../placement/model.ts';
import { tenantPolicyOf } from '../../shared/tenants.ts';
import { loadInventory } from '../inventory.ts';
import { JobEvents } from './events.ts';
import { SimulatedExecutor } from './executor.ts';
import { IntakeQueue } from './intake-queue.ts';
import { IntakeWorker } from './intake-worker.ts';
import { LeaderElector } from './leader.ts';
import { createGpuMetrics, recordCluster, recordTick } from './metrics.ts';
import { registerGpuRoutes } from './routes.ts';
import { SchedulingLoop } from './scheduling-loop.ts';
import { GpuJobService } from './service.ts';
import { JobStore } from './store.ts';
import { startDemoLoad } from './demo-load.ts';

export interface GpuJobs {
  /** The cluster now (the inventory file's, or the API server's with the kubernetes backend). */
  readonly cluster: ClusterSpec;
  store: JobStore;
  service: GpuJobService;
  elector: LeaderElector;
  schedulingLoop: SchedulingLoop;
  executor: SimulatedExecutor | undefined;
  intakeQueue: IntakeQueue;
  intakeWorker: IntakeWorker;
  updateGauges(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    gpuJobs: GpuJobs;
  }
}

export interface GpuJobsDeps {
  config: Config;
  registry: Registry;
  /** Default: loadInventory(HOTPATH_GPU_CLUSTER_FILE). */
  cluster?: ClusterSpec | ClusterSource;
  /** The kubernetes backend's API server (default: in-cluster config, else KUBECONFIG / ~/.kube/config). */
  kubeConfig?: KubeConfig;
  now?: () => number;
}

export function registerGpuJobs(app: FastifyInstance, deps: GpuJobsDeps): GpuJobs {
  const { config } = deps;
  // The kubernetes backend's cluster is the API server's nodes (kept by its NodeInventory).
  const inventory = config.gpuBackend === 'kubernetes' ? new NodeInventory() : undefined;
  const cluster = clusterSourceOf(inventory ?? deps.cluster ?? loadInventory(config.gpuClusterFile));
  const now = deps.now ?? Date.now;
  const leaseTtlMs = config.gpuLeaseTtlSeconds * 1000;
  const owner = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  // Scheduler writes are few and must not fail on a short blip: a longer command timeout than the cache's.
  const redis = createRedis({ url: config.redisUrl, commandTimeoutMs: Math.max(2000, config.redisCommandTimeoutMs), connectionName: 'hotpath:gpu' });
  const sub = createRedis({ url: config.redisUrl, commandTimeoutMs: Math.max(2000, config.redisCommandTimeoutMs), connectionName: 'hotpath:gpu-events', autoPipelining: false });
  const store = new JobStore(redis, config.redisPrefix, cluster, config.gpuRetentionSeconds);
  const events = new JobEvents(sub, store.channel);
  const metrics = createGpuMetrics(deps.registry);
  const bullPrefix = `${config.redisPrefix}bull`;
  const intakeQueue = new IntakeQueue({ redisUrl: config.redisUrl, prefix: bullPrefix });
  const intakeWorker = new IntakeWorker({ redisUrl: config.redisUrl, prefix: bullPrefix, store });
  const kc = inventory !== undefined ? (deps.kubeConfig ?? loadKubeConfig()) : undefined;
  // The election runs on the real clock (a test clock that jumps must not end leadership).
  const campaign = kc !== undefined && config.gpuElection === 'lease' ? leaseCampaignOf(kc, config.kubeLease, store) : store;
  const elector = new LeaderElector({ campaign, owner, ttlMs: Math.max(3000, Math.min(15_000, leaseTtlMs / 2)) });
  const stopLeaderLog = elector.onChange((fence) => {
    metrics.leader.set(fence === undefined ? 0 : 1);
    app.log.info({ owner, epoch: fence?.epoch }, fence === undefined ? 'gpu scheduler: not leading' : 'gpu scheduler: leading');
  });
  // A resigning leader says so on the event channel: campaign at once instead of at the next renewal.
  const stopPoking = events.onEvent((e) => {
    if (e.state === 'leader-resigned') elector.poke();
  });
  let backend: KubeBackend | undefined;
  if (inventory !== undefined && kc !== undefined) {
    backend = new KubeBackend({
      kc,
      nodes: inventory,
      api: kubeApi(kc, config.kubeSchedulerName),
      store,
      events,
      schedulerName: config.kubeSchedulerName,
      tenantOfNamespace: (ns) => tenantOfNamespace(config.tenants, ns),
      knownTenant: (t) => isKnownTenant(config.tenants, t),
      owner,
      leaseTtlMs,
      now,
      log: app.log,
    });
  }
  const schedulingLoop = new SchedulingLoop({
    store,
    elector,
    events,
    cluster,
    policy: config.gpuPolicy,
    tickMs: config.gpuTickMs,
    leaseTtlMs,
    starvationMs: config.gpuStarvationSeconds * 1000,
    preemption: config.gpuPreemption,
    tenantPolicy: tenantPolicyOf(config.tenants),
    now,
    onTick: (s) => {
      recordTick(metrics, s);
      backend?.onTick(s);
    },
    ...(backend !== undefined
      ? {
          excludedNodes: (j: JobRecord) => backend.excludedNodes(j),
          beforeEvict: (id: string, victims: readonly JobRecord[]) => backend.beforeEvict(id, victims),
          beforePass: (fence: Fence, first: boolean) => backend.beforePass(fence, first),
        }
      : {}),
  });
  const service = new GpuJobService({ store, intake: intakeQueue, events, cluster, leaseTtlMs, tenants: config.tenants, maxOpenJobsPerUser: config.gpuMaxOpenJobsPerUser, now });
  const executor = config.gpuExecutor === 'simulated' ? new SimulatedExecutor({ store, events, owner, leaseTtlMs, now }) : undefined;
  let stopDemo: (() => void) | undefined;

  registerGpuRoutes(app, { service });
  const gpuJobs: GpuJobs = {
    get cluster() {
      return cluster.current();
    },
    store,
    service,
    elector,
    schedulingLoop,
    executor,
    intakeQueue,
    intakeWorker,
    updateGauges: async () => {
      try {
        const [liveIds, pendingIds] = await Promise.all([store.liveIds(), store.pendingIds()]);
        const [live, pending] = await Promise.all([store.getMany(liveIds), store.getMany(pendingIds)]);
        recordCluster(metrics, cluster.current(), config.tenants, live, pending);
      } catch {
        // Redis down: keep the last values; hotpath_cache_redis_available says why.
      }
    },
  };
  app.decorate('gpuJobs', gpuJobs);
  app.addHook('onReady', async () => {
    // Start with Redis connected when it is there; when it is not, serve 503s and keep reconnecting.
    await waitReady(redis, 3000).catch(() => {});
    elector.start();
    // The backend lists nodes and pods in the background (an API server that is down must not hold the
    // service's start); the loop places nothing until it is ready.
    if (backend !== undefined) void backend.start().catch((err) => app.log.error({ err }, 'kubernetes backend failed to start'));
    schedulingLoop.start();
    executor?.start();
    if (config.gpuDemoLoad) stopDemo = startDemoLoad(service, { log: (msg) => app.log.warn(msg) });
  });
  app.addHook('onClose', async () => {
    stopDemo?.();
    stopPoking();
    executor?.stop();
    await schedulingLoop.stop();
    await backend?.stop();
    await elector.stop(); // tells stopLeaderLog's listener it no longer leads
    stopLeaderLog();
    await intakeWorker.close();
    await intakeQueue.close();
    events.close();
    await closeRedis(redis);
  });
  return gpuJobs;
}

/** The Lease election on `lease` ("name" or "namespace/name"; no namespace: the kubeconfig context's, else default). */
function leaseCampaignOf(kc: KubeConfig, lease: string, store: JobStore): LeaseCampaign {
  const [namespace, name] = lease.includes('/') ? (lease.split('/', 2) as [string, string]) : [kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default', lease];
  return new LeaseCampaign({ leases: kubeLeases(kc, namespace, name), namespace, name, store });
}
