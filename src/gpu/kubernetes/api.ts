// Why: the few calls the kubernetes backend makes to the API server, in its own terms (bound / already
// bound / gone; evicted / refused by a disruption budget / gone), over @kubernetes/client-node's typed
// clients. The backend's logic reads answers, never HTTP statuses; every call has a time limit.
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod, type V1PodCondition } from '@kubernetes/client-node';

const statusOf = (err: unknown): number | undefined => {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
};

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
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return {
    async readPod(namespace, name) {
      try {
        return await core.readNamespacedPod({ namespace, name });
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    },
    async annotate(namespace, name, annotations) {
      try {
        await core.patchNamespacedPod({ namespace, name, body: { metadata: { annotations } } }, merge);
        return 'ok';
      } catch (err) {
        if (statusOf(err) === 404) return 'gone';
        throw err;
      }
    },
    async bind(namespace, name, uid, node) {
      try {
        await core.createNamespacedPodBinding({
          namespace,
          name,
          body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid }, target: { apiVersion: 'v1', kind: 'Node', name: node } },
        });
        return 'bound';
      } catch (err) {
        const code = statusOf(err);
        if (code === 409) return 'conflict';
        if (code === 404) return 'gone';
        throw err;
      }
    },
    async setScheduledCondition(namespace, name, condition) {
      try {
        await core.patchNamespacedPodStatus({ namespace, name, body: { status: { conditions: [condition] } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    },
    async event(pod, type, reason, message, reportingInstance) {
      const now = new Date();
      await core.createNamespacedEvent({
        namespace: pod.namespace,
        body: {
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
        },
      });
    },
    async evict(namespace, name) {
      try {
        await core.createNamespacedPodEviction({ namespace, name, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } } });
        return 'evicted';
      } catch (err) {
        const code = statusOf(err);
        if (code === 429) return 'refused';
        if (code === 404) return 'gone';
        throw err;
      }
    },
    async podGroupMinMember(namespace, name) {
      try {
        const group = (await custom.getNamespacedCustomObject({ group: 'scheduling.x-k8s.io', version: 'v1alpha1', namespace, plural: 'podgroups', name })) as { spec?: { minMember?: unknown } };
        const m = group.spec?.minMember;
        return typeof m === 'number' && Number.isInteger(m) && m >= 1 ? m : undefined;
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    },
  };
}
