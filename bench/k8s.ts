// Why: `npm run bench:k8s` measures hotpath as a secondary Kubernetes scheduler at the scale of the
// Alibaba GPU cluster: its 1213 GPU nodes as Node objects and the first pods of a trace as Pod objects in
// the fake API server (the real wire format; its schema validation off so the fake is not what is
// timed) in a thread of its own, as a real API server is another machine; hotpath on the kubernetes
// backend in this process with a private redis-server, the way it ships (policy hotpath). It prints pods bound per second, p50/p99 time from a pod's creation to its
// binding, the share of wall time the leader spent in scheduling rounds, and the allocation reached,
// beside the pure placement core on the same pods (one attempt per pod, in creation order).
// Anchors: YuniKorn's published 204 pods/s on 2000 nodes. The trace is read in place, never copied.
import { Worker } from 'node:worker_threads';
import { KubeConfig } from '@kubernetes/client-node';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/shared/config.ts';
import { hasRedisServer, startRedisServer } from '../src/shared/redis-autostart.ts';
import { createDuckDbEngine } from '../src/query-cache/engines/duckdb-engine.ts';
import type { PlacementRequest } from '../src/gpu/placement/model.ts';
import { createPolicy } from '../src/gpu/placement/policies/registry.ts';
import { createPrng } from '../src/gpu/placement/prng.ts';
import { selectPlacement } from '../src/gpu/placement/select.ts';
import { ClusterState } from '../src/gpu/placement/state.ts';
import { typicalSpecs } from '../src/gpu/placement/typical-specs.ts';
import { DEFAULT_TRACE_DIR, loadCluster, loadPods, TRACE_NAMES } from '../src/sim/trace.ts';
import { freePort } from '../test/helpers/redis.ts';
import type { KubeObject } from '../test/kube/fake-apiserver.ts';
import type { K8sBenchStart, K8sWorkerReply } from './lib/k8s-apiserver-worker.ts';
import { benchCli, jsonOption, machine, resultsPath, writeResults } from './lib/cli.ts';

const cli = benchCli({
  name: 'bench:k8s',
  about: `hotpath as a secondary Kubernetes scheduler on the Alibaba GPU cluster (1213 nodes) through a fake API
server: pods bound per second, creation-to-binding p50/p99, the leader's share of time in scheduling
rounds, and the allocation reached beside the pure harness on the same pods.`,
  options: {
    trace: { type: 'string', arg: 'NAME', default: 'default', help: `pod list of the trace (${TRACE_NAMES.join(', ')})` },
    pods: { type: 'number', arg: 'N', integer: true, default: 4000, min: 1, max: 100_000, help: 'pods created (the first N of the trace)' },
    quick: { type: 'boolean', help: 'CI size: 1000 pods' },
    'pace-ms': { type: 'number', arg: 'MS', default: 0, min: 0, max: 10_000, help: 'create one pod every MS ms (0: all at once, a burst)' },
    policy: { type: 'string', arg: 'NAME', default: 'hotpath', help: 'placement policy (first-fit, best-fit, fgd, hotpath)' },
    data: { type: 'string', arg: 'DIR', default: DEFAULT_TRACE_DIR, help: 'folder of the alibaba-gpu-v2023 trace' },
    json: jsonOption('k8s'),
  },
  notes: 'Exits 1 when it cannot run (no redis-server, no trace) or a device ends up booked twice, 2 on a usage error.',
});

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

function podOf(r: PlacementRequest, i: number): KubeObject {
  const limits: Record<string, string> = r.gpus ? { 'nvidia.com/gpu': String(r.gpus) } : {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p-${i}`, namespace: 'trace', ...(r.gpuMilli ? { annotations: { 'hotpath.254carbon.io/gpu-milli': String(r.gpuMilli) } } : {}) },
    spec: { schedulerName: 'hotpath', containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: `${r.cpuMilli}m`, memory: `${r.memoryMiB}Mi` }, limits } }] },
    status: { phase: 'Pending' },
  };
}

async function main(): Promise<number> {
  const o = cli.opts;
  const startedAt = new Date();
  if (!hasRedisServer()) throw new Error('redis-server is not installed (apt-get install redis-server)');
  const podCount = o.quick ? Math.min(o.pods, 1000) : o.pods;
  const cluster = loadCluster(o.data);
  const requests = loadPods(o.trace, o.data).slice(0, podCount);
  const capacityMilli = cluster.nodes.reduce((n, node) => n + node.gpus.length * 1000, 0);
  const gpuMilliOf = (r: PlacementRequest) => (r.gpus ?? 0) * 1000 + (r.gpuMilli ?? 0);

  const redis = await startRedisServer(await freePort(), { tiedToParent: true });
  const nodes: KubeObject[] = cluster.nodes.map((node) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node.name, labels: { 'nvidia.com/gpu.product': node.gpus[0]?.model ?? 'none' } },
    spec: {},
    status: { allocatable: { cpu: `${node.cpuMilli}m`, memory: `${node.memoryMiB}Mi`, 'nvidia.com/gpu': String(node.gpus.length), pods: '500' }, conditions: [{ type: 'Ready', status: 'True' }] },
  }));
  // The API server in its own thread (as a real one is another machine): see bench/lib/k8s-apiserver-worker.ts.
  const apiServer = new Worker(new URL('./lib/k8s-apiserver-worker.ts', import.meta.url));
  const replies: K8sWorkerReply[] = [];
  let wake: (() => void) | undefined;
  apiServer.on('message', (m: K8sWorkerReply) => {
    replies.push(m);
    wake?.();
  });
  apiServer.on('error', (err) => {
    replies.push({ kind: 'error', message: err.message });
    wake?.();
  });
  const reply = async <K extends K8sWorkerReply['kind']>(kind: K): Promise<Extract<K8sWorkerReply, { kind: K }>> => {
    for (;;) {
      const m = replies.shift();
      if (m?.kind === 'error') throw new Error(`the API server thread: ${m.message}`);
      if (m !== undefined) return m as Extract<K8sWorkerReply, { kind: K }>;
      await new Promise<void>((r) => (wake = r));
    }
  };
  apiServer.postMessage({ nodes, pods: requests.map(podOf), paceMs: o['pace-ms'], quietMs: 5000 } satisfies K8sBenchStart);
  const { kubeconfig } = await reply('ready');
  const engine = await createDuckDbEngine({ demoData: false, statementTimeoutMs: 5000 });
  const config = loadConfig({
    REDIS_URL: `redis://127.0.0.1:${redis.port}`,
    LOG_LEVEL: 'silent',
    HOTPATH_GPU_BACKEND: 'kubernetes',
    HOTPATH_GPU_POLICY: o.policy,
    HOTPATH_GPU_EXECUTOR: 'none',
    HOTPATH_GPU_PREEMPTION: 'false',
    HOTPATH_TENANTS: JSON.stringify({ '*': { open: true } }),
    HOTPATH_ADMIN_USERS: 'bench-admin',
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(kubeconfig);
  const app = await buildApp(config, { engine, defaultMetrics: false, kubeConfig });
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const readyBy = Date.now() + 60_000;
    while (app.gpuJobs.cluster.nodes.length < cluster.nodes.length) {
      if (Date.now() > readyBy) throw new Error(`the backend saw ${app.gpuJobs.cluster.nodes.length} of ${cluster.nodes.length} nodes`);
      await new Promise((r) => setTimeout(r, 50));
    }
    process.stderr.write(`bench:k8s: ${cluster.nodes.length} nodes (${capacityMilli / 1000} GPUs) listed; creating ${requests.length} pods of trace ${o.trace}\n`);
    apiServer.postMessage('go');
    const done = await reply('done');
    const boundIdx = new Set(done.boundMs.flatMap((t, i) => (Number.isNaN(t) ? [] : [i])));
    const wallMs = Math.max(0, ...[...boundIdx].map((i) => done.boundMs[i]!));
    const latencies = [...boundIdx].map((i) => done.boundMs[i]! - done.createdMs[i]!);
    const rounds = await app.metricsRegistry.getSingleMetric('hotpath_gpu_schedule_attempt_seconds')?.get();
    const roundSec = (rounds?.values as { metricName?: string; value: number }[] | undefined)?.find((v) => v.metricName?.endsWith('_sum'))?.value ?? NaN;
    const boundMilli = requests.reduce((n, r, i) => n + (boundIdx.has(i) ? gpuMilliOf(r) : 0), 0);
    const audit = await app.inject({ method: 'GET', url: '/v1/gpu/audit', headers: { 'x-trino-user': 'bench-admin' } });
    // The pure core on the same pods and the service's own cluster view, in the order the service
    // considers them (age: the queue time it recorded, then job id), one attempt each: nothing ever leaves, so a pod
    // that does not fit once never fits later, and with a deterministic policy (first-fit) the two must
    // place exactly the same pods.
    const order = await Promise.all(
      requests.map(async (r, i) => {
        const id = `pod-${done.uids[i]}`;
        return { r, i, at: (await app.gpuJobs.store.get(id))?.queuedAtMs ?? Infinity, id };
      }),
    );
    order.sort((x, y) => x.at - y.at || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    const state = new ClusterState(app.gpuJobs.cluster);
    const policy = createPolicy(o.policy, { typicalSpecs: typicalSpecs(requests) });
    const prng = createPrng(1);
    const harnessSet = new Set<number>();
    let harnessMilli = 0;
    for (const { r, i } of order) {
      const out = selectPlacement(state, r, policy, prng);
      if (out.kind === 'placed' && state.reserve(out.placement).ok) {
        harnessSet.add(i);
        harnessMilli += gpuMilliOf(r);
      }
    }
    const harnessPlaced = harnessSet.size;
    const serviceOnly = requests.filter((_r, i) => boundIdx.has(i) && !harnessSet.has(i)).length;
    const harnessOnly = requests.filter((_r, i) => !boundIdx.has(i) && harnessSet.has(i)).length;
    const rows = [
      ['pods created', String(requests.length)],
      ['pods bound', `${boundIdx.size} (${((100 * boundIdx.size) / requests.length).toFixed(1)} %)`],
      ['pods bound per second', (boundIdx.size / (wallMs / 1000)).toFixed(0)],
      ['creation -> binding p50', `${pct(latencies, 50).toFixed(0)} ms`],
      ['creation -> binding p99', `${pct(latencies, 99).toFixed(0)} ms`],
      ['leader time in scheduling rounds', `${((100 * roundSec * 1000) / wallMs).toFixed(0)} % of ${(wallMs / 1000).toFixed(1)} s`],
      ['GPU allocated (service)', `${((100 * boundMilli) / capacityMilli).toFixed(1)} % of ${capacityMilli / 1000} GPUs`],
      ['pods placed (pure core, one attempt each)', `${harnessPlaced} of ${requests.length}; GPU allocated ${((100 * harnessMilli) / capacityMilli).toFixed(1)} %`],
      ['agreement with the pure core', serviceOnly === 0 && harnessOnly === 0 ? 'the same pods placed' : `${serviceOnly} bound only by the service, ${harnessOnly} placed only by the core${o.policy === 'first-fit' ? '' : ' (policy state differs: its typical specs come from what it has seen)'}`],
      ['audit', audit.statusCode === 200 ? String((JSON.parse(audit.body) as { problems?: string[] }).problems?.length ?? '?') + ' problems' : `HTTP ${audit.statusCode}`],
    ];
    const width = Math.max(...rows.map((r) => r[0]!.length));
    process.stdout.write(`\n== bench:k8s: ${o.trace}, ${requests.length} pods on ${cluster.nodes.length} nodes, policy ${o.policy}, ${machine().cpus} CPUs, Node ${machine().node} ==\n`);
    for (const [k, v] of rows) process.stdout.write(`${k!.padEnd(width)}  ${v}\n`);
    process.stdout.write(
      '\nnotes: pods are created all at once (a burst); YuniKorn publishes 204 pods/s on 2000 nodes. The pure core places the same pods in the\n' +
        "service's order (age), one attempt each, nothing ever leaving: with first-fit the two must agree pod for pod. gpu_spec model lists of the\n" +
        'trace are not expressed as node affinity here (nodeSelector takes one value).\n',
    );
    const file = resultsPath('k8s', startedAt, o.json);
    writeResults(file, { trace: o.trace, pods: requests.length, nodes: cluster.nodes.length, rows: Object.fromEntries(rows), latenciesMs: { p50: pct(latencies, 50), p99: pct(latencies, 99) } });
    process.stdout.write(`raw results: ${file}\n`);
    const problems = audit.statusCode === 200 ? ((JSON.parse(audit.body) as { problems?: string[] }).problems ?? []) : ['audit unavailable'];
    return problems.length === 0 ? 0 : 1;
  } finally {
    await app.close();
    await engine.close();
    apiServer.postMessage('close');
    await new Promise((r) => apiServer.once('exit', r));
    redis.stop();
  }
}

cli.run(main);
