// Why: the few calls the kubernetes backend makes to the API server, in its own terms (bound / already
// bound / gone; evicted / refused by a disruption budget / gone), over @kubernetes/client-node's typed
// clients. The backend's logic reads answers, never HTTP statuses; every call has a time limit, and all
// calls share keep-alive connections (apiClient).
import {
  CoordinationV1Api,
  CoreV1Api,
  createConfiguration,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  ServerConfiguration,
  setHeaderOptions,
  type Configuration,
  type RequestContext,
  type V1Lease,
  type V1Pod,
  type V1PodCondition,
} from '@kubernetes/client-node';

const statusOf = (err: unknown): number | undefined => {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
};

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;
/** How long one connection pool serves before a new one is made (a rotated CA or client certificate). */
const POOL_RENEW_MS = 10 * 60_000;
const pools = new WeakMap<KubeConfig, { dispatcher: Dispatcher; madeAtMs: number }>();

/**
 * kc.makeApiClient(Api), but with keep-alive: client-node 2.0 gives every request a new undici Agent
 * whenever the cluster has TLS settings (in a pod always: the service account's CA), so each call paid a
 * TCP and TLS handshake. Here the first such Agent a request gets (built by client-node from the
 * kubeconfig, auth applied before) is kept for every later request of any client of `kc`, and renewed
 * every POOL_RENEW_MS; the one it replaces finishes its requests and closes.
 */
export function apiClient<T>(kc: KubeConfig, Api: new (configuration: Configuration) => T): T {
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined) throw new Error('the kubeconfig has no current cluster');
  const shareConnections = async (ctx: RequestContext): Promise<RequestContext> => {
    ctx.setHeaderParam('User-Agent', 'hotpath-gpu-scheduler');
    const fresh = ctx.getDispatcher();
    if (fresh === undefined) return ctx; // no TLS settings: undici's global dispatcher keeps alive already
    const now = Date.now();
    let pool = pools.get(kc);
    if (pool === undefined || now - pool.madeAtMs >= POOL_RENEW_MS) {
      const old = pool?.dispatcher;
      pool = { dispatcher: fresh, madeAtMs: now };
      pools.set(kc, pool);
      if (old !== undefined) void old.close().catch(() => {});
    }
    ctx.setDispatcher(pool.dispatcher);
    return ctx;
  };
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(server, {}),
    authMethods: { default: kc },
    promiseMiddleware: [{ pre: shareConnections, post: async (response) => response }],
  });
  return new Api(configuration);
}

/** The longest the backend waits for one API call (a hung call would otherwise hold its pod's binding). */
export const API_CALL_TIMEOUT_MS = 15_000;

/** `call`, given up on after API_CALL_TIMEOUT_MS. */
function limited<T>(call: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer from the API server within ${API_CALL_TIMEOUT_MS} ms`)), API_CALL_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
}

/** The call's result, or the answer its HTTP status stands for (404 -> gone, …); any other failure throws. */
async function answered<T, A>(call: Promise<T>, what: string, byStatus: Readonly<Record<number, A>>): Promise<T | A> {
  try {
    return await limited(call, what);
  } catch (err) {
    const code = statusOf(err);
    if (code !== undefined && code in byStatus) return byStatus[code]!;
    throw err;
  }
}

export type BindResult = 'bound' | 'conflict' | 'gone';
export type EvictResult = 'evicted' | 'refused' | 'gone';

export interface KubeApi {
  readPod(namespace: string, name: string): Promise<V1Pod | undefined>;
  /** Merge-patches the pod's annotations (the device annotation goes on before the binding). */
  annotate(namespace: string, name: string, annotations: Record<string, string>): Promise<'ok' | 'gone'>;
  bind(namespace: string, name: string, uid: string, node: string): Promise<BindResult>;
  /** The PodScheduled condition, as kube-scheduler sets it (False/Unschedulable with the filter's reasons). */
  setScheduledCondition(namespace: string, name: string, condition: V1PodCondition): Promise<void>;
  event(pod: { namespace: string; name: string; uid: string }, type: 'Normal' | 'Warning', reason: string, message: string, reportingInstance: string): Promise<void>;
  evict(namespace: string, name: string): Promise<EvictResult>;
  /** minMember of a coscheduling PodGroup, or undefined when there is none (or no CRD). */
  podGroupMinMember(namespace: string, name: string): Promise<number | undefined>;
}

export function kubeApi(kc: KubeConfig, schedulerName: string): KubeApi {
  const core = apiClient(kc, CoreV1Api);
  const custom = apiClient(kc, CustomObjectsApi);
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
  return {
    readPod: (namespace, name) => answered(core.readNamespacedPod({ namespace, name }), 'read pod', { 404: undefined }),
    annotate: (namespace, name, annotations) =>
      answered(core.patchNamespacedPod({ namespace, name, body: { metadata: { annotations } } }, merge).then(() => 'ok' as const), 'annotate pod', { 404: 'gone' as const }),
    bind: (namespace, name, uid, node) =>
      answered(
        core
          .createNamespacedPodBinding({
            namespace,
            name,
            body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid }, target: { apiVersion: 'v1', kind: 'Node', name: node } },
          })
          .then(() => 'bound' as const),
        'bind pod',
        { 409: 'conflict' as const, 404: 'gone' as const },
      ),
    setScheduledCondition: async (namespace, name, condition) => {
      await answered(core.patchNamespacedPodStatus({ namespace, name, body: { status: { conditions: [condition] } } }, strategic), 'set pod condition', { 404: undefined });
    },
    event: async (pod, type, reason, message, reportingInstance) => {
      const now = new Date();
      const body = {
        metadata: { generateName: `${pod.name}.`, namespace: pod.namespace },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component: schedulerName },
        reportingComponent: schedulerName,
        reportingInstance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      };
      await limited(core.createNamespacedEvent({ namespace: pod.namespace, body }), 'create event');
    },
    evict: (namespace, name) =>
      answered(
        core.createNamespacedPodEviction({ namespace, name, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } } }).then(() => 'evicted' as const),
        'evict pod',
        { 429: 'refused' as const, 404: 'gone' as const },
      ),
    podGroupMinMember: async (namespace, name) => {
      const call = custom.getNamespacedCustomObject({ group: 'scheduling.x-k8s.io', version: 'v1alpha1', namespace, plural: 'podgroups', name }) as Promise<{ spec?: { minMember?: unknown } }>;
      const m = (await answered(call, 'read pod group', { 404: undefined }))?.spec?.minMember;
      return typeof m === 'number' && Number.isInteger(m) && m >= 1 ? m : undefined;
    },
  };
}

/** The Lease calls of the election (kubernetes/lease-campaign.ts); 'conflict': someone wrote it first. */
export interface LeaseApi {
  read(): Promise<V1Lease | undefined>;
  create(lease: V1Lease): Promise<V1Lease | 'conflict'>;
  /** A replace guarded by the lease's metadata.resourceVersion (optimistic concurrency). */
  replace(lease: V1Lease): Promise<V1Lease | 'conflict' | 'gone'>;
}

export function kubeLeases(kc: KubeConfig, namespace: string, name: string): LeaseApi {
  const coordination = apiClient(kc, CoordinationV1Api);
  return {
    read: () => answered(coordination.readNamespacedLease({ namespace, name }), 'read lease', { 404: undefined }),
    create: (body) => answered(coordination.createNamespacedLease({ namespace, body }), 'create lease', { 409: 'conflict' as const }),
    replace: (body) => answered(coordination.replaceNamespacedLease({ namespace, name, body }), 'replace lease', { 409: 'conflict' as const, 404: 'gone' as const }),
  };
}
