// Why: in bench:k8s the API server is the fake (the real wire format, validation off), and a real one
// runs on other machines: it must not share an event loop with the hotpath it serves. So the fake, the
// creation of the nodes and pods, and the watch that times each binding as a client sees it run here, in a
// worker thread (its own event loop and core) started by bench/k8s.ts. Messages: one K8sBenchStart in,
// a 'ready' reply (the kubeconfig), one 'go' in, one K8sBenchDone reply, then 'close'.
import { parentPort } from 'node:worker_threads';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { startFakeApiServer, type KubeObject } from '../../test/kube/fake-apiserver.ts';

export interface K8sBenchStart {
  nodes: KubeObject[];
  pods: KubeObject[];
  /** One pod every paceMs (0: all at once). */
  paceMs: number;
  /** Stop waiting once no pod was bound for this long. */
  quietMs: number;
}

export interface K8sBenchDone {
  /** Per pod (by index): ms from the first creation to its creation, to its binding (NaN: never bound). */
  createdMs: number[];
  boundMs: number[];
  uids: string[];
}

export type K8sWorkerReply = { kind: 'ready'; kubeconfig: string } | ({ kind: 'done' } & K8sBenchDone) | { kind: 'error'; message: string };

const port = parentPort;
if (port === null) {
  process.stderr.write('k8s-apiserver-worker: start me as a worker thread (bench/k8s.ts)\n');
  process.exit(2);
}

port.once('message', (start: K8sBenchStart) => {
  void run(start).catch((err: unknown) => port.postMessage({ kind: 'error', message: err instanceof Error ? err.message : String(err) } satisfies K8sWorkerReply));
});

async function run(start: K8sBenchStart): Promise<void> {
  const fake = await startFakeApiServer({ validation: false, bookmarkIntervalMs: 5000 });
  for (const node of start.nodes) fake.create(node);
  const index = new Map(start.pods.map((p, i) => [p.metadata.name, i]));
  const createdMs = start.pods.map(() => NaN);
  const boundMs = start.pods.map(() => NaN);
  let bound = 0;
  let lastChange = performance.now();
  let t0 = 0;
  const kc = new KubeConfig();
  kc.loadFromString(fake.kubeconfigYaml());
  const watch = await new Watch(kc).watch('/api/v1/pods', { fieldSelector: 'spec.schedulerName=hotpath' }, (type, obj: { metadata?: { name?: string }; spec?: { nodeName?: string } }) => {
    const i = index.get(obj.metadata?.name ?? '');
    if (i === undefined || (type !== 'ADDED' && type !== 'MODIFIED') || !obj.spec?.nodeName || !Number.isNaN(boundMs[i]!)) return;
    boundMs[i] = performance.now() - t0;
    bound++;
    lastChange = performance.now();
  }, () => {});
  port!.once('message', () => {
    void (async () => {
      t0 = performance.now();
      for (const [i, pod] of start.pods.entries()) {
        fake.create(pod);
        createdMs[i] = performance.now() - t0;
        if (start.paceMs > 0) await new Promise((r) => setTimeout(r, start.paceMs));
      }
      lastChange = performance.now();
      while (bound < start.pods.length && performance.now() - lastChange < start.quietMs) await new Promise((r) => setTimeout(r, 50));
      watch.abort();
      const uids = start.pods.map((p) => String((fake.get('Pod', p.metadata.namespace, p.metadata.name)?.metadata as { uid?: string } | undefined)?.uid ?? ''));
      port!.postMessage({ kind: 'done', createdMs, boundMs, uids } satisfies K8sWorkerReply);
      port!.once('message', () => void fake.close().then(() => process.exit(0)));
    })();
  });
  port!.postMessage({ kind: 'ready', kubeconfig: fake.kubeconfigYaml() } satisfies K8sWorkerReply);
}
