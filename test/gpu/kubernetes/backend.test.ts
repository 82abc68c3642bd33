// Why: hotpath as a secondary Kubernetes scheduler, end to end: a real hotpath app (HOTPATH_GPU_BACKEND=
// kubernetes, real Redis) against the fake API server (the real wire format, objects validated against
// Kubernetes' schemas), with @kubernetes/client-node in between. What a cluster operator would check:
// GPU nodes become the cluster, pods are bound with their devices annotated, an unschedulable pod says
// why in its condition and events, a cordoned node takes no new work, a deleted pod frees its devices,
// a gang is bound all or none, preemption waits for a PodDisruptionBudget, the API server may go away
// and come back, and a restart rebuilds from the API without double booking.
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/app.ts';
import { createDuckDbEngine } from '../../../src/query-cache/engines/duckdb-engine.ts';
import type { Engine } from '../../../src/query-cache/engines/engine.ts';
import { auditStore } from '../../../src/gpu/jobs/audit.ts';
import type { FastifyInstance } from 'fastify';
import { startTestRedis, type TestRedis } from '../../helpers/redis.ts';
import { startFakeApiServer, type FakeApiServer, type KubeObject } from '../../kube/fake-apiserver.ts';
import { gpuConfig } from '../jobs/helpers.ts';

let redis: TestRedis;
let engine: Engine;
let fake: FakeApiServer;
let prefixN = 0;
let prefix = '';
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  engine = await createDuckDbEngine({ demoData: false, statementTimeoutMs: 5000 });
});
afterAll(async () => {
  await engine.close();
  await redis.stop();
});
beforeEach(async () => {
  fake = await startFakeApiServer({ bookmarkIntervalMs: 200 });
  prefix = `k8s${prefixN++}:`;
  for (const name of ['k80-a', 'k80-b']) fake.create(k80Node(name));
});
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  await fake.close();
});

function k80Node(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'nvidia.com/gpu.product': 'Tesla-K80', 'nvidia.com/gpu.memory': '11441' } },
    spec: {},
    status: {
      capacity: { cpu: '32', memory: '256Gi', 'nvidia.com/gpu': '4', pods: '110' },
      allocatable: { cpu: '32', memory: '256Gi', 'nvidia.com/gpu': '4', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

function gpuPod(name: string, opts: { gpus?: number; milli?: number; labels?: Record<string, string>; annotations?: Record<string, string>; namespace?: string } = {}): KubeObject {
  const limits: Record<string, string> = opts.gpus !== undefined ? { 'nvidia.com/gpu': String(opts.gpus) } : {};
  const annotations = { ...(opts.milli !== undefined ? { 'hotpath.254carbon.io/gpu-milli': String(opts.milli) } : {}), ...opts.annotations };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: opts.namespace ?? 'ml', ...(opts.labels ? { labels: opts.labels } : {}), ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec: { schedulerName: 'hotpath', containers: [{ name: 'main', image: 'trainer:1', resources: { requests: { cpu: '1', memory: '1Gi' }, limits } }] },
    status: { phase: 'Pending' },
  };
}

async function startHotpath(env: Record<string, string> = {}): Promise<{ app: FastifyInstance; url: string }> {
  const config = gpuConfig(redis.url, prefix, { HOTPATH_GPU_BACKEND: 'kubernetes', HOTPATH_GPU_LEASE_TTL_SECONDS: '5', ...env });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(fake.kubeconfigYaml());
  const app = await buildApp(config, { engine, defaultMetrics: false, kubeConfig });
  await app.listen({ port: 0, host: '127.0.0.1' });
  apps.push(app);
  const { port } = app.server.address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}` };
}

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const pod = (name: string, namespace = 'ml') => fake.get('Pod', namespace, name) as { spec: { nodeName?: string }; metadata: { annotations?: Record<string, string> }; status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } } | undefined;
const nodeOf = (name: string) => pod(name)?.spec.nodeName;
const eventsFor = (name: string) => fake.list('Event').filter((e) => (e as { involvedObject?: { name?: string } }).involvedObject?.name === name).map((e) => (e as { reason?: string; message?: string }));
const allocatedMilli = async (url: string) => {
  const view = (await (await fetch(`${url}/v1/gpu/cluster`, { headers: { 'x-trino-user': 'alice' } })).json()) as { nodes: { gpus: { allocatedMilli: number }[] }[] };
  return view.nodes.flatMap((n) => n.gpus.map((g) => g.allocatedMilli));
};

describe('hotpath as a secondary Kubernetes scheduler', () => {
  it('binds a GPU pod: the device annotation first, then the Binding, a Scheduled event; the cluster view shows it', async () => {
    const { app, url } = await startHotpath();
    fake.create(gpuPod('train-1', { gpus: 2 }));
    const node = await until('train-1 bound', () => nodeOf('train-1'));
    expect(['k80-a', 'k80-b']).toContain(node);
    expect(pod('train-1')?.metadata.annotations?.['hotpath.254carbon.io/gpu-devices']).toMatch(/^\d,\d$/);
    // The annotation was written before the binding (the PATCH precedes the POST).
    const paths = fake.requests.filter((r) => r.path.includes('/pods/train-1')).map((r) => `${r.method} ${r.path.split('/').at(-1)}`);
    expect(paths.indexOf('PATCH train-1')).toBeLessThan(paths.indexOf('POST binding'));
    await until('Scheduled event', () => eventsFor('train-1').find((e) => e.reason === 'Scheduled'));
    expect((await allocatedMilli(url)).filter((m) => m === 1000)).toHaveLength(2);
    expect((await auditStore(app.gpuJobs.store, app.gpuJobs.cluster)).problems).toEqual([]);
  });

  it('a pod that cannot fit gets PodScheduled=False/Unschedulable and a FailedScheduling event naming the reasons', async () => {
    await startHotpath();
    fake.create(gpuPod('huge', { gpus: 8 }));
    const cond = await until('the condition', () => pod('huge')?.status?.conditions?.find((c) => c.type === 'PodScheduled'));
    expect(cond).toMatchObject({ status: 'False', reason: 'Unschedulable' });
    expect(cond.message).toMatch(/never fits|nodes are available/);
    await until('FailedScheduling', () => eventsFor('huge').find((e) => e.reason === 'FailedScheduling'));
    expect(nodeOf('huge')).toBeUndefined();
  });

  it('a share from the annotation lands on one device; a cordoned node takes no new work; a deleted pod frees its devices', async () => {
    const { url } = await startHotpath();
    // First-fit would take k80-a (first by name): cordoned, it must not.
    const a = fake.get('Node', undefined, 'k80-a')!;
    fake.update({ ...a, spec: { unschedulable: true } });
    await new Promise((r) => setTimeout(r, 200)); // the node watch sees the cordon
    fake.create(gpuPod('half', { milli: 500 }));
    expect(await until('half bound', () => nodeOf('half'))).toBe('k80-b');
    expect(pod('half')?.metadata.annotations?.['hotpath.254carbon.io/gpu-devices']).toMatch(/^\d:500m:0Mi$/);
    for (let i = 0; i < 3; i++) fake.create(gpuPod(`w-${i}`, { gpus: 1 }));
    for (let i = 0; i < 3; i++) expect(await until(`w-${i} bound`, () => nodeOf(`w-${i}`))).toBe('k80-b');
    fake.remove('Pod', 'ml', 'w-0');
    await until('w-0 released', async () => (await allocatedMilli(url)).reduce((a, m) => a + m, 0) === 2500 || undefined);
  });

  it('a gang (pod group with minMember) is bound all or none', async () => {
    await startHotpath();
    const member = (i: number) => gpuPod(`g-${i}`, { gpus: 3, labels: { 'scheduling.x-k8s.io/pod-group': 'trainers' }, annotations: { 'hotpath.254carbon.io/pod-group-min-member': '3' } });
    for (let i = 0; i < 3; i++) fake.create(member(i));
    // 3 pods x 3 GPUs on 2 nodes of 4: at most two fit at once, so none is bound.
    await until('the gang is refused', () => pod('g-0')?.status?.conditions?.find((c) => c.reason === 'Unschedulable'));
    expect([0, 1, 2].map((i) => nodeOf(`g-${i}`))).toEqual([undefined, undefined, undefined]);
    fake.create(gpuPod('small', { gpus: 1 }));
    await until('small bound (backfill past the gang)', () => nodeOf('small'));
  });

  it('after a restart the state is rebuilt from the API and the record: no pod is bound twice, no device booked twice', async () => {
    const first = await startHotpath();
    fake.create(gpuPod('a', { gpus: 4 }));
    const nodeA = await until('a bound', () => nodeOf('a'));
    await first.app.close();
    apps.splice(apps.indexOf(first.app), 1);
    const second = await startHotpath();
    fake.create(gpuPod('b', { gpus: 4 }));
    const nodeB = await until('b bound', () => nodeOf('b'));
    expect(nodeB).not.toBe(nodeA); // a's four devices are still a's
    fake.create(gpuPod('c', { gpus: 1 }));
    await until('c refused: every device is taken', () => pod('c')?.status?.conditions?.find((x) => x.reason === 'Unschedulable'));
    expect(fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/pods/a/binding'))).toHaveLength(1);
    expect((await auditStore(second.app.gpuJobs.store, second.app.gpuJobs.cluster)).problems).toEqual([]);
  });

  it('preemption goes through the Eviction API: a PodDisruptionBudget in the way keeps the victim; once it allows, the victim is evicted and the urgent pod bound', async () => {
    await startHotpath({ HOTPATH_GPU_PREEMPTION: 'true' });
    for (const name of ['low-a', 'low-b']) {
      fake.create(gpuPod(name, { gpus: 4, labels: { app: 'batch' } }));
      await until(`${name} bound`, () => nodeOf(name));
      const p = fake.get('Pod', 'ml', name)!;
      fake.update({ ...p, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
    }
    const pdb = fake.create({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'batch', namespace: 'ml' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'batch' } } } });
    const urgent = gpuPod('urgent', { gpus: 4 });
    (urgent.spec as { priority?: number }).priority = 1_000_000;
    fake.create(urgent);
    await until('an eviction refused (429)', () => fake.requests.find((r) => r.method === 'POST' && r.path.endsWith('/eviction')));
    await new Promise((r) => setTimeout(r, 300));
    expect(nodeOf('urgent')).toBeUndefined();
    expect(fake.list('Pod').filter((p) => String(p.metadata.name).startsWith('low-'))).toHaveLength(2);
    fake.update({ ...pdb, spec: { minAvailable: 1, selector: { matchLabels: { app: 'batch' } } } });
    await until('urgent bound', () => nodeOf('urgent'));
    expect(fake.list('Pod').filter((p) => String(p.metadata.name).startsWith('low-'))).toHaveLength(1);
  });

  it('the API server down and back: nothing is lost, pods created meanwhile are bound once it answers', async () => {
    await startHotpath();
    fake.create(gpuPod('before', { gpus: 1 }));
    await until('before bound', () => nodeOf('before'));
    await fake.stop();
    fake.create(gpuPod('during', { gpus: 1 })); // written while no client can reach the server
    await new Promise((r) => setTimeout(r, 700));
    await fake.restart();
    await until('during bound after the restart', () => nodeOf('during'), 20_000);
    expect(nodeOf('before')).toBeDefined();
  });

  const holderOf = () => (fake.get('Lease', 'gpu-system', 'hotpath-sched') as { spec?: { holderIdentity?: string; leaseTransitions?: number } } | undefined)?.spec;
  it.each(['redis', 'lease'])('two replicas (%s election): one leader places; when it goes, the other takes over and binds; no pod bound twice', async (election) => {
    const env = { HOTPATH_GPU_ELECTION: election, HOTPATH_KUBE_LEASE: 'gpu-system/hotpath-sched' };
    const one = await startHotpath(env);
    const two = await startHotpath(env);
    fake.create(gpuPod('p1', { gpus: 2 }));
    await until('p1 bound', () => nodeOf('p1'));
    const leader = [one, two].find((r) => r.app.gpuJobs.elector.fence() !== undefined);
    expect(leader).toBeDefined();
    const firstFence = leader!.app.gpuJobs.elector.fence()!;
    // With the Lease election the Lease names the leader, and its leaseTransitions is the fencing epoch.
    if (election === 'lease') expect(holderOf()).toMatchObject({ holderIdentity: firstFence.owner, leaseTransitions: firstFence.epoch });
    else expect(holderOf()).toBeUndefined();
    await leader!.app.close();
    apps.splice(apps.indexOf(leader!.app), 1);
    const survivor = leader === one ? two : one;
    fake.create(gpuPod('p2', { gpus: 2 }));
    await until('p2 bound by the survivor', () => nodeOf('p2'), 20_000);
    const nextFence = survivor.app.gpuJobs.elector.fence()!;
    expect(nextFence.epoch).toBeGreaterThan(firstFence.epoch);
    expect(await survivor.app.gpuJobs.store.leaderEpoch()).toBe(nextFence.epoch);
    if (election === 'lease') expect(holderOf()).toMatchObject({ holderIdentity: nextFence.owner, leaseTransitions: nextFence.epoch });
    for (const name of ['p1', 'p2']) expect(fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/pods/${name}/binding`))).toHaveLength(1);
    expect((await auditStore(survivor.app.gpuJobs.store, survivor.app.gpuJobs.cluster)).problems).toEqual([]);
  });

  it('a 410 Gone mid-run (history compacted while the watch was away): the backend re-lists and goes on', async () => {
    await startHotpath();
    fake.create(gpuPod('early', { gpus: 1 }));
    await until('early bound', () => nodeOf('early'));
    await fake.stop();
    fake.create(gpuPod('late', { gpus: 1 }));
    fake.compact(); // the watch's resourceVersion is now too old: 410 on reconnect
    await fake.restart();
    await until('late bound after the re-list', () => nodeOf('late'), 20_000);
    const watches = fake.requests.filter((r) => r.path === '/api/v1/pods' && r.query.watch !== undefined);
    const lists = fake.requests.filter((r) => r.path === '/api/v1/pods' && r.query.watch === undefined);
    expect(lists.length).toBeGreaterThanOrEqual(2); // the first list, and the re-list after 410
    expect(watches.length).toBeGreaterThanOrEqual(2);
  });

  it('a Binding the API server refuses is retried by a later sweep, across a restart; other pods are bound meanwhile', async () => {
    const first = await startHotpath();
    fake.failNext('POST', /\/binding$/, 500, 2); // the first replica's attempt, and one of the next replica's
    fake.create(gpuPod('stubborn', { gpus: 1 }));
    const binds = () => fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/pods/stubborn/binding')).length;
    await until('the first binding refused', () => binds() >= 1 || undefined);
    await first.app.close();
    apps.splice(apps.indexOf(first.app), 1);
    expect(binds()).toBe(1); // the second fault is left for the next start
    await startHotpath();
    await until('stubborn bound after the refusal', () => nodeOf('stubborn'), 20_000);
    expect(binds()).toBe(3); // refused once more, then bound by a later sweep
    fake.create(gpuPod('later', { gpus: 1 }));
    await until('later bound', () => nodeOf('later'));
  });

  it('with the allocation record lost (a fresh Redis prefix), bound pods are recorded from their annotation before anything is placed', async () => {
    const first = await startHotpath();
    fake.create(gpuPod('a', { gpus: 4 }));
    const nodeA = await until('a bound', () => nodeOf('a'));
    await first.app.close();
    apps.splice(apps.indexOf(first.app), 1);
    prefix = `${prefix}lost:`;
    const second = await startHotpath();
    fake.create(gpuPod('b', { gpus: 4 }));
    expect(await until('b bound', () => nodeOf('b'))).not.toBe(nodeA);
    const live = (await second.app.gpuJobs.store.liveIds()).filter((id) => id.startsWith('pod-'));
    expect(live).toHaveLength(2); // a recorded, b placed
    // Recorded where it runs, from its annotation: never placed (and bound) a second time.
    expect(fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/pods/a/binding'))).toHaveLength(1);
  });
});
