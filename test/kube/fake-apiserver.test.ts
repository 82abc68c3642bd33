// Why: the scheduler's tests and benches trust this fake to behave like kube-apiserver on the wire. So it
// is tested with the clients the scheduler will use (@kubernetes/client-node's typed APIs, Watch and
// ListWatch) and with kubectl, against the semantics a scheduler notices: selectors on lists and watches,
// binding conflicts, optimistic concurrency, PDB-guarded eviction, 410 after compaction, bookmarks,
// validation, and the server going away and coming back.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ApiException, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, ListWatch, PatchStrategy, PolicyV1Api, Watch,
  setHeaderOptions, V1MicroTime, type V1Pod,
} from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeApiServer, type FakeApiServer, type KubeObject } from './fake-apiserver.ts';

const KUBECTL = '/usr/bin/kubectl';
const UNSCHEDULED = 'spec.schedulerName=hotpath,spec.nodeName=';

let fake: FakeApiServer;
beforeEach(async () => {
  fake = await startFakeApiServer({ bookmarkIntervalMs: 50 });
});
afterEach(async () => {
  await fake.close();
});

function clients() {
  const kc = new KubeConfig();
  kc.loadFromString(fake.kubeconfigYaml());
  return { kc, core: kc.makeApiClient(CoreV1Api), coord: kc.makeApiClient(CoordinationV1Api), policy: kc.makeApiClient(PolicyV1Api) };
}

const podBody = (name: string, opts: { scheduler?: string; labels?: Record<string, string>; namespace?: string } = {}): V1Pod => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name, namespace: opts.namespace ?? 'ml', ...(opts.labels ? { labels: opts.labels } : {}) },
  spec: { schedulerName: opts.scheduler ?? 'hotpath', containers: [{ name: 'main', image: 'busybox:1.36' }] },
});
const seedPod = (name: string, extra: { nodeName?: string; phase?: string; labels?: Record<string, string>; scheduler?: string } = {}): KubeObject =>
  fake.create({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'ml', ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: { schedulerName: extra.scheduler ?? 'hotpath', containers: [{ name: 'main', image: 'busybox:1.36' }], ...(extra.nodeName ? { nodeName: extra.nodeName } : {}) },
    status: { phase: extra.phase ?? 'Pending' },
  });
const bindingBody = (pod: string, node: string) => ({
  apiVersion: 'v1', kind: 'Binding', metadata: { name: pod, namespace: 'ml' }, target: { apiVersion: 'v1', kind: 'Node', name: node },
});
const evictionBody = (pod: string) => ({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: 'ml' } });

/** The ApiException a call fails with, its body parsed as the Status it carries. */
async function apiError(call: Promise<unknown>): Promise<{ code: number; status: Record<string, any> }> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ApiException) return { code: err.code, status: JSON.parse(String(err.body)) };
    throw err;
  }
  throw new Error('expected the call to fail');
}

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A client-node Watch that records what it receives; `done` settles with what the done callback got. */
async function record(kc: KubeConfig, path: string, query: Record<string, string | number | boolean>) {
  const events: { type: string; object: any }[] = [];
  let finish!: (err: unknown) => void;
  const done = new Promise<unknown>((resolve) => (finish = resolve));
  const controller = await new Watch(kc).watch(path, query, (type, object) => events.push({ type, object }), (err) => finish(err));
  return { events, done, stop: () => controller.abort() };
}
const summary = (events: { type: string; object: any }[]) => events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`.trim());

describe('reads', () => {
  it('creates, gets and lists nodes and pods in the wire format of kube-apiserver', async () => {
    const { core } = clients();
    await core.createNode({ body: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, status: { capacity: { cpu: '8', 'nvidia.com/gpu': '4' } } } });
    const created = await core.createNamespacedPod({ namespace: 'ml', body: podBody('p1') });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.status?.phase).toBe('Pending');

    const nodes = await core.listNode();
    expect(nodes.items.map((n) => n.metadata?.name)).toEqual(['node-1']);
    expect((await core.readNamespacedPod({ name: 'p1', namespace: 'ml' })).spec?.schedulerName).toBe('hotpath');
    expect((await apiError(core.readNamespacedPod({ name: 'nope', namespace: 'ml' }))).status).toMatchObject({ reason: 'NotFound', code: 404, message: 'pods "nope" not found' });
    expect((await apiError(core.createNamespacedPod({ namespace: 'ml', body: podBody('p1') }))).status).toMatchObject({ reason: 'AlreadyExists', code: 409 });

    // The raw list: kind PodList, items without kind/apiVersion, the list at the current resourceVersion.
    const raw = (await (await fetch(`${fake.url}/api/v1/pods`)).json()) as Record<string, any>;
    expect(raw).toMatchObject({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: created.metadata?.resourceVersion } });
    expect(raw.items[0].kind).toBeUndefined();
    expect(raw.items[0].metadata.name).toBe('p1');
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(Number(nodes.items[0]?.metadata?.resourceVersion));
  });

  it('filters lists by field and label selectors, and refuses field labels the kind does not support', async () => {
    const { core } = clients();
    seedPod('waiting', { labels: { app: 'train', tier: 'gpu' } });
    seedPod('bound', { nodeName: 'node-1', labels: { app: 'train' } });
    seedPod('other', { scheduler: 'default-scheduler', labels: { app: 'serve' } });
    const names = async (q: { fieldSelector?: string; labelSelector?: string }) =>
      (await core.listPodForAllNamespaces(q)).items.map((p) => p.metadata?.name).sort();

    expect(await names({ fieldSelector: UNSCHEDULED })).toEqual(['waiting']);
    expect(await names({ fieldSelector: 'spec.nodeName!=' })).toEqual(['bound']);
    expect(await names({ fieldSelector: 'spec.schedulerName==hotpath,metadata.name!=waiting' })).toEqual(['bound']);
    expect(await names({ labelSelector: 'app=train,tier' })).toEqual(['waiting']);
    expect(await names({ labelSelector: 'app!=train' })).toEqual(['other']);
    expect(await names({ labelSelector: '!tier,app in (train,serve)' })).toEqual(['bound', 'other']);
    expect((await apiError(core.listPodForAllNamespaces({ fieldSelector: 'spec.priority=1' }))).status)
      .toMatchObject({ code: 400, reason: 'BadRequest', message: 'field label not supported: spec.priority' });
  });

  it('serves discovery, answers malformed input with a Status and survives it', async () => {
    const v1 = (await (await fetch(`${fake.url}/api/v1`)).json()) as { resources: { name: string }[] };
    expect(v1.resources.map((r) => r.name)).toEqual(expect.arrayContaining(['nodes', 'pods', 'pods/binding', 'pods/status', 'pods/eviction', 'events', 'namespaces']));
    expect(((await (await fetch(`${fake.url}/version`)).json()) as { gitVersion: string }).gitVersion).toBe('v1.32.0');
    const groups = (await (await fetch(`${fake.url}/apis`)).json()) as { groups: { name: string }[] };
    expect(groups.groups.map((g) => g.name).sort()).toEqual(['coordination.k8s.io', 'policy', 'scheduling.x-k8s.io']);

    const bad = await fetch(`${fake.url}/api/v1/namespaces/ml/pods`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"metadata": {' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
    const unknown = await fetch(`${fake.url}/api/v1/widgets`);
    expect([unknown.status, ((await unknown.json()) as { reason: string }).reason]).toEqual([404, 'NotFound']);
    expect((await fetch(`${fake.url}/api/v1/nodes`)).status).toBe(200);
  });
});

describe('writes', () => {
  it('binds a pod once (201), then answers 409 Conflict; an unknown pod is 404', async () => {
    const { core } = clients();
    await core.createNamespacedPod({ namespace: 'ml', body: podBody('p1') });
    const first = await core.createNamespacedPodBindingWithHttpInfo({ name: 'p1', namespace: 'ml', body: bindingBody('p1', 'node-1') });
    expect(first.httpStatusCode).toBe(201);
    const pod = await core.readNamespacedPod({ name: 'p1', namespace: 'ml' });
    expect(pod.spec?.nodeName).toBe('node-1');
    expect(pod.status?.conditions).toContainEqual(expect.objectContaining({ type: 'PodScheduled', status: 'True' }));

    const second = await apiError(core.createNamespacedPodBinding({ name: 'p1', namespace: 'ml', body: bindingBody('p1', 'node-2') }));
    expect(second).toEqual({
      code: 409,
      status: {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Conflict', code: 409,
        message: 'Operation cannot be fulfilled on pods/binding "p1": pod p1 is already assigned to node "node-1"',
        details: { name: 'p1', kind: 'pods/binding' },
      },
    });
    expect((await apiError(core.createNamespacedPodBinding({ name: 'ghost', namespace: 'ml', body: bindingBody('ghost', 'node-1') }))).code).toBe(404);
  });

  it('merge-patches an annotation, leaves the resourceVersion alone for a no-op patch, and forbids patching spec.nodeName', async () => {
    const { core } = clients();
    const created = await core.createNamespacedPod({ namespace: 'ml', body: podBody('p1') });
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const body = { metadata: { annotations: { 'hotpath.io/queue': 'gpu-a' } } };
    const patched = await core.patchNamespacedPod({ name: 'p1', namespace: 'ml', body }, merge);
    expect(patched.metadata?.annotations).toEqual({ 'hotpath.io/queue': 'gpu-a' });
    expect(Number(patched.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));
    const again = await core.patchNamespacedPod({ name: 'p1', namespace: 'ml', body }, merge);
    expect(again.metadata?.resourceVersion).toBe(patched.metadata?.resourceVersion);

    // client-node's default patch type is a JSON patch.
    const labelled = await core.patchNamespacedPod({ name: 'p1', namespace: 'ml', body: [{ op: 'add', path: '/metadata/labels', value: { team: 'ml' } }] });
    expect(labelled.metadata?.labels).toEqual({ team: 'ml' });
    const sneaky = await apiError(core.patchNamespacedPod({ name: 'p1', namespace: 'ml', body: { spec: { nodeName: 'node-1' } } }, merge));
    expect(sneaky.status).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(sneaky.status.message).toContain('pod updates may not change fields');
  });

  it('updates pod conditions through pods/status, which leaves the spec alone; strategic merge merges conditions by type', async () => {
    const { core } = clients();
    const created = await core.createNamespacedPod({ namespace: 'ml', body: podBody('p1') });
    const updated = await core.replaceNamespacedPodStatus({
      name: 'p1', namespace: 'ml',
      body: { ...created, spec: { ...created.spec!, nodeName: 'sneaky' }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
    });
    expect(updated.status?.phase).toBe('Running');
    expect(updated.spec?.nodeName).toBeUndefined();
    const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
    const patched = await core.patchNamespacedPodStatus({ name: 'p1', namespace: 'ml', body: { status: { conditions: [{ type: 'hotpath.io/Queued', status: 'True' }] } } }, smp);
    expect(patched.status?.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual(['Ready=True', 'hotpath.io/Queued=True']);
    expect(fake.get('Pod', 'ml', 'p1')?.status).toMatchObject({ phase: 'Running' });
  });

  it('refuses a Lease PUT with a stale resourceVersion with 409 Conflict (optimistic concurrency)', async () => {
    const { coord } = clients();
    const lease = await coord.createNamespacedLease({
      namespace: 'kube-system', body: { metadata: { name: 'hotpath-scheduler' }, spec: { holderIdentity: 'replica-a', leaseDurationSeconds: 15, renewTime: new V1MicroTime() } },
    });
    const renewed = await coord.replaceNamespacedLease({ name: 'hotpath-scheduler', namespace: 'kube-system', body: { ...lease, spec: { ...lease.spec, renewTime: new V1MicroTime() } } });
    expect(renewed.metadata?.resourceVersion).not.toBe(lease.metadata?.resourceVersion);
    const stale = await apiError(coord.replaceNamespacedLease({ name: 'hotpath-scheduler', namespace: 'kube-system', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'replica-b' } } }));
    expect(stale.code).toBe(409);
    expect(stale.status).toMatchObject({ reason: 'Conflict', details: { name: 'hotpath-scheduler', group: 'coordination.k8s.io', kind: 'leases' } });
    expect(fake.get('Lease', 'kube-system', 'hotpath-scheduler')?.spec).toMatchObject({ holderIdentity: 'replica-a' });
  });

  it("refuses a Lease whose renewTime is a plain Date (milliseconds), as Go's MicroTime decoding does", async () => {
    const { coord } = clients();
    const refused = await apiError(coord.createNamespacedLease({
      namespace: 'kube-system', body: { metadata: { name: 'ms-lease' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: new Date() } },
    }));
    expect(refused.code).toBe(400);
    expect(refused.status).toMatchObject({ reason: 'BadRequest', message: expect.stringContaining('cannot be handled as a Lease') });
    expect(fake.get('Lease', 'kube-system', 'ms-lease')).toBeUndefined();
  });

  it('blocks an eviction that would break a PodDisruptionBudget (429) and allows it once the budget allows', async () => {
    const { core, policy } = clients();
    for (const name of ['web-1', 'web-2']) seedPod(name, { nodeName: 'node-1', phase: 'Running', labels: { app: 'web' } });
    await policy.createNamespacedPodDisruptionBudget({ namespace: 'ml', body: { metadata: { name: 'web-pdb' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } } } });
    const blocked = await apiError(core.createNamespacedPodEviction({ name: 'web-1', namespace: 'ml', body: evictionBody('web-1') }));
    expect(blocked).toEqual({
      code: 429,
      status: {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'TooManyRequests', code: 429,
        message: "Cannot evict pod as it would violate the pod's disruption budget.",
        details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget web-pdb needs 2 healthy pods and has 2 currently' }] },
      },
    });
    expect(fake.get('Pod', 'ml', 'web-1')).toBeDefined();

    seedPod('web-3', { nodeName: 'node-2', phase: 'Running', labels: { app: 'web' } });
    const allowed = await core.createNamespacedPodEvictionWithHttpInfo({ name: 'web-1', namespace: 'ml', body: evictionBody('web-1') });
    expect(allowed.httpStatusCode).toBe(201);
    expect(fake.get('Pod', 'ml', 'web-1')).toBeUndefined();

    // maxUnavailable 0 over the two that are left: blocked again; a Pending pod is never guarded.
    await policy.patchNamespacedPodDisruptionBudget({ name: 'web-pdb', namespace: 'ml', body: { spec: { minAvailable: null, maxUnavailable: 0 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect((await apiError(core.createNamespacedPodEviction({ name: 'web-2', namespace: 'ml', body: evictionBody('web-2') }))).code).toBe(429);
    seedPod('web-pending', { labels: { app: 'web' } });
    expect((await core.createNamespacedPodEvictionWithHttpInfo({ name: 'web-pending', namespace: 'ml', body: evictionBody('web-pending') })).httpStatusCode).toBe(201);
  });

  it('refuses invalid objects with 422 Invalid while validation is on, and accepts them when it is off', async () => {
    const { core } = clients();
    const wrongType = { metadata: { name: 'bad' }, spec: { containers: [{ name: 'c', image: 42 as unknown as string }] } };
    const typed = await apiError(core.createNamespacedPod({ namespace: 'ml', body: wrongType }));
    expect(typed.status).toMatchObject({ code: 422, reason: 'Invalid', details: { name: 'bad', kind: 'Pod' } });
    expect(typed.status.message).toContain('spec.containers[0].image');
    const noImage = await apiError(core.createNamespacedPod({ namespace: 'ml', body: { metadata: { name: 'bad' }, spec: { containers: [{ name: 'c' }] } } }));
    expect(noImage.status.message).toBe('Pod "bad" is invalid: spec.containers[0].image: Required value');
    expect(() => fake.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'Not_A_DNS_Name' } })).toThrow(/metadata\.name/);
    const crd = clients().kc.makeApiClient(CustomObjectsApi);
    const group = { group: 'scheduling.x-k8s.io', version: 'v1alpha1', namespace: 'ml', plural: 'podgroups' };
    expect((await apiError(crd.createNamespacedCustomObject({ ...group, body: { apiVersion: 'scheduling.x-k8s.io/v1alpha1', kind: 'PodGroup', metadata: { name: 'g' }, spec: { minMember: 'two' } } }))).code).toBe(422);
    await crd.createNamespacedCustomObject({ ...group, body: { apiVersion: 'scheduling.x-k8s.io/v1alpha1', kind: 'PodGroup', metadata: { name: 'g' }, spec: { minMember: 4 } } });
    expect(fake.list('PodGroup').map((g) => g.spec)).toEqual([{ minMember: 4 }]);

    fake.validation = false;
    expect((await core.createNamespacedPodWithHttpInfo({ namespace: 'ml', body: wrongType })).httpStatusCode).toBe(201);
  });

  it('fails the next matching requests with an injected status, then serves normally', async () => {
    const { core } = clients();
    fake.failNext('GET', /^\/api\/v1\/nodes$/, 503, 2);
    expect((await apiError(core.listNode())).status).toMatchObject({ code: 503, reason: 'ServiceUnavailable' });
    expect((await apiError(core.listNode())).code).toBe(503);
    expect((await core.listNode()).items).toEqual([]);
    expect(fake.requests.filter((r) => r.path === '/api/v1/nodes')).toHaveLength(3);
  });
});

describe('watch', () => {
  it('sends ADDED, MODIFIED and DELETED through a field selector, and DELETED when a pod is bound', async () => {
    const { kc, core } = clients();
    const start = (await core.listPodForAllNamespaces({ fieldSelector: UNSCHEDULED })).metadata?.resourceVersion;
    const w = await record(kc, '/api/v1/pods', { fieldSelector: UNSCHEDULED, resourceVersion: start! });
    try {
      await core.createNamespacedPod({ namespace: 'ml', body: podBody('p1') });
      await core.createNamespacedPod({ namespace: 'ml', body: podBody('someone-elses', { scheduler: 'default-scheduler' }) });
      await core.patchNamespacedPod({ name: 'p1', namespace: 'ml', body: { metadata: { labels: { seen: 'yes' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await core.createNamespacedPodBinding({ name: 'p1', namespace: 'ml', body: bindingBody('p1', 'node-1') });
      await core.createNamespacedPod({ namespace: 'ml', body: podBody('p2') });
      await core.deleteNamespacedPod({ name: 'p2', namespace: 'ml' });
      await waitFor('five events', () => w.events.length >= 5);
      expect(summary(w.events)).toEqual(['ADDED p1', 'MODIFIED p1', 'DELETED p1', 'ADDED p2', 'DELETED p2']);
      const bound = w.events[2]!.object;
      expect(bound).toMatchObject({ kind: 'Pod', apiVersion: 'v1' });
      expect(bound.spec.nodeName).toBeUndefined();
      expect(Number(bound.metadata.resourceVersion)).toBeGreaterThan(Number(w.events[1]!.object.metadata.resourceVersion));
    } finally {
      w.stop();
    }
    // Without a resourceVersion a watch starts with ADDED for what exists now; timeoutSeconds ends it.
    const fresh = await record(kc, '/api/v1/namespaces/ml/pods', { timeoutSeconds: 1 });
    expect(await fresh.done).toBeNull();
    expect(summary(fresh.events)).toEqual(['ADDED p1', 'ADDED someone-elses']);
  });

  it('answers a watch from a compacted resourceVersion with one 410 Expired ERROR event and ends it', async () => {
    const { kc, core } = clients();
    const start = (await core.listNamespacedPod({ namespace: 'ml' })).metadata!.resourceVersion!;
    const p1 = await core.createNamespacedPod({ namespace: 'ml', body: podBody('p1') });
    const replay = await record(kc, '/api/v1/namespaces/ml/pods', { resourceVersion: start, timeoutSeconds: 1 });
    await replay.done;
    expect(summary(replay.events)).toEqual(['ADDED p1']);

    fake.compact();
    const expired = await record(kc, '/api/v1/namespaces/ml/pods', { resourceVersion: start });
    expect(await expired.done).toBeNull();
    expect(expired.events).toEqual([{
      type: 'ERROR',
      object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${start} (${p1.metadata?.resourceVersion})`, reason: 'Expired', code: 410 },
    }]);
    const current = await record(kc, '/api/v1/namespaces/ml/pods', { resourceVersion: p1.metadata!.resourceVersion! });
    try {
      await core.createNamespacedPod({ namespace: 'ml', body: podBody('p2') });
      await waitFor('p2 on the watch from the compaction point', () => summary(current.events).join() === 'ADDED p2');
    } finally {
      current.stop();
    }
  });

  it('expires resourceVersions that fell out of the bounded history', async () => {
    await fake.close();
    fake = await startFakeApiServer({ historyEvents: 3 });
    const { kc } = clients();
    const rvs = Array.from({ length: 10 }, (_, i) => fake.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${i}` } }).metadata.resourceVersion as string);
    const old = await record(kc, '/api/v1/nodes', { resourceVersion: rvs[2]! });
    await old.done;
    expect(old.events.map((e) => e.object.code)).toEqual([410]);
    const recent = await record(kc, '/api/v1/nodes', { resourceVersion: rvs[7]!, timeoutSeconds: 1 });
    await recent.done;
    expect(summary(recent.events)).toEqual(['ADDED node-8', 'ADDED node-9']);
  });

  it('sends BOOKMARK events only to watches that allow them', async () => {
    const { kc, core } = clients();
    seedPod('p1');
    const rv = (await core.listNamespacedPod({ namespace: 'ml' })).metadata!.resourceVersion!;
    const withBookmarks = await record(kc, '/api/v1/namespaces/ml/pods', { resourceVersion: rv, allowWatchBookmarks: true });
    const without = await record(kc, '/api/v1/namespaces/ml/pods', { resourceVersion: rv });
    try {
      await waitFor('two bookmarks', () => withBookmarks.events.filter((e) => e.type === 'BOOKMARK').length >= 2);
      expect(withBookmarks.events[0]).toEqual({ type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: rv } } });
      expect(without.events).toEqual([]);
    } finally {
      withBookmarks.stop();
      without.stop();
    }
  });

  it('keeps a ListWatch of unscheduled pods in step, and it re-lists and recovers after a 410', async () => {
    const { kc, core } = clients();
    seedPod('a');
    seedPod('b');
    const deleted: string[] = [];
    const errors: unknown[] = [];
    const informer = new ListWatch<V1Pod>('/api/v1/pods', new Watch(kc), () => core.listPodForAllNamespaces({ fieldSelector: UNSCHEDULED }), false, undefined, UNSCHEDULED);
    informer.on('delete', (p) => deleted.push(p.metadata!.name!));
    informer.on('error', (err) => errors.push(err));
    const names = () => informer.list().map((p) => p.metadata?.name).sort().join();
    try {
      await informer.start();
      await waitFor('a,b in the cache', () => names() === 'a,b');
      await core.createNamespacedPodBinding({ name: 'a', namespace: 'ml', body: bindingBody('a', 'node-1') });
      await waitFor('a leaves the cache once bound', () => names() === 'b');
      const lastRv = informer.latestResourceVersion();

      await fake.stop();
      await waitFor('the informer to see the connection drop', () => errors.length > 0);
      fake.remove('Pod', 'ml', 'b');
      seedPod('c');
      fake.compact();
      await fake.restart();
      await informer.start();
      await waitFor('c alone in the cache after the re-list', () => names() === 'c');
      expect(deleted).toEqual(['a', 'b']);
      const watchedFrom = fake.requests.filter((r) => r.query.watch === 'true').map((r) => r.query.resourceVersion);
      expect(watchedFrom).toContain(lastRv);
    } finally {
      await informer.stop();
    }
  });
});

describe('outage', () => {
  it('refuses connections while stopped and serves the same state on the same port after restart', async () => {
    const { kc, core } = clients();
    await core.createNode({ body: { metadata: { name: 'node-1' } } });
    const w = await record(kc, '/api/v1/nodes', {});
    await fake.stop();
    await w.done;
    const down = await core.listNode().catch((err: unknown) => err);
    expect(down).toBeInstanceOf(Error);
    expect(down).not.toBeInstanceOf(ApiException);
    await fake.restart();
    expect((await core.listNode()).items.map((n) => n.metadata?.name)).toEqual(['node-1']);
  });
});

describe('kubectl', () => {
  const haveKubectl = existsSync(KUBECTL);
  it.skipIf(!haveKubectl && !process.env.CI && !process.env.HOTPATH_REQUIRE_KUBECTL)(`lists nodes and pods with ${KUBECTL} (skipped only when it is absent and neither CI nor HOTPATH_REQUIRE_KUBECTL is set)`, async () => {
    expect(haveKubectl, `${KUBECTL} is required when CI is set`).toBe(true);
    fake.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'gpu-node-1' } });
    seedPod('train-0', { nodeName: 'gpu-node-1' });
    const dir = mkdtempSync(join(tmpdir(), 'fake-apiserver-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, fake.kubeconfigYaml());
      const kubectl = async (...args: string[]) =>
        (await promisify(execFile)(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 20_000 })).stdout;
      expect(await kubectl('get', 'nodes')).toMatch(/^gpu-node-1\s/m);
      expect(await kubectl('get', 'pods', '-A')).toMatch(/^ml\s+train-0\s/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
