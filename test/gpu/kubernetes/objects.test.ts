// Why: every rule that turns a Node or a Pod into the placement core's vocabulary (and a placement back
// into the device annotation) is pinned here with the objects as the API server would send them.
import { describe, expect, it } from 'vitest';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import {
  devicesAnnotation,
  gpuModelOf,
  nodeAdmits,
  nodeViewOf,
  parseQuantity,
  placementFromAnnotation,
  podRequestOf,
  priorityOf,
} from '../../../src/gpu/kubernetes/objects.ts';

const k80Node = (name: string, extra: { unschedulable?: boolean; ready?: string; boards?: string; taints?: V1Node['spec'] extends infer S ? S extends { taints?: infer T } ? T : never : never } = {}): V1Node => ({
  metadata: {
    name,
    labels: { 'nvidia.com/gpu.product': 'Tesla-K80', 'nvidia.com/gpu.memory': '11441', zone: 'a' },
    ...(extra.boards ? { annotations: { 'hotpath.254carbon.io/gpu-boards': extra.boards } } : {}),
  },
  spec: { ...(extra.unschedulable ? { unschedulable: true } : {}), ...(extra.taints ? { taints: extra.taints } : {}) },
  status: {
    capacity: { cpu: '32', memory: '264000000Ki', 'nvidia.com/gpu': '4' },
    allocatable: { cpu: '31500m', memory: '256Gi', 'nvidia.com/gpu': '4' },
    conditions: [{ type: 'Ready', status: extra.ready ?? 'True' }],
  },
});

const pod = (spec: Partial<V1Pod['spec']> & { annotations?: Record<string, string>; labels?: Record<string, string>; namespace?: string } = {}): V1Pod => {
  const { annotations, labels, namespace, ...rest } = spec;
  return {
    metadata: { name: 'p', namespace: namespace ?? 'ml', ...(annotations ? { annotations } : {}), ...(labels ? { labels } : {}) },
    spec: { schedulerName: 'hotpath', containers: [{ name: 'c', image: 'img', resources: { requests: { cpu: '2', memory: '8Gi' }, limits: { 'nvidia.com/gpu': '2' } } }], ...rest },
  };
};
const ctx = { tenantOfNamespace: (ns: string) => ({ 'ml-prod': 'ml' })[ns], podGroupMinMember: (ns: string, name: string) => (ns === 'ml' && name === 'trainers' ? 4 : undefined) };

describe('quantities', () => {
  it.each([
    ['500m', 0.5], ['2', 2], ['1.5Gi', 1.5 * 2 ** 30], ['128974848', 128974848], ['129e6', 129e6], ['1k', 1000], ['264000000Ki', 264000000 * 1024], ['.5', 0.5],
  ])('%s', (q, v) => expect(parseQuantity(q)).toBe(v));
  it.each([['abc'], ['1.5Xi'], [''], ['1 Gi']])('%s is no quantity', (q) => expect(parseQuantity(q)).toBeUndefined());
});

describe('nodes', () => {
  it('a K80 node: devices from allocatable, model and memory from GFD labels, boards 2k/2k+1, cpu and memory allocatable', () => {
    const v = nodeViewOf(k80Node('n1'))!;
    expect(v.schedulable).toBe(true);
    expect(v.spec).toMatchObject({ name: 'n1', cpuMilli: 31500, memoryMiB: 262144 });
    expect(v.spec.gpus.map((g) => [g.index, g.model, g.memoryMiB, g.boardId])).toEqual([[0, 'K80', 11441, 0], [1, 'K80', 11441, 0], [2, 'K80', 11441, 1], [3, 'K80', 11441, 1]]);
  });
  it('boards from the annotation when it names one per device; else the default', () => {
    expect(nodeViewOf(k80Node('n', { boards: '0,1,0,1' }))!.spec.gpus.map((g) => g.boardId)).toEqual([0, 1, 0, 1]);
    expect(nodeViewOf(k80Node('n', { boards: '0,1' }))!.spec.gpus.map((g) => g.boardId)).toEqual([0, 0, 1, 1]);
  });
  it('cordoned or NotReady: in the model, taking no new work, with the reason', () => {
    expect(nodeViewOf(k80Node('n', { unschedulable: true }))).toMatchObject({ schedulable: false, unschedulableReason: 'unschedulable: node is cordoned (spec.unschedulable)' });
    expect(nodeViewOf(k80Node('n', { ready: 'False' }))).toMatchObject({ schedulable: false });
  });
  it('a node without nvidia.com/gpu is not hotpath\'s', () => {
    expect(nodeViewOf({ metadata: { name: 'cpu' }, status: { allocatable: { cpu: '8', memory: '32Gi' } } })).toBeUndefined();
    expect(nodeViewOf({ metadata: { name: 'zero' }, status: { allocatable: { 'nvidia.com/gpu': '0' } } })).toBeUndefined();
  });
  it('GPU model names: the vendor prefix is dropped', () => {
    expect([gpuModelOf('Tesla-K80'), gpuModelOf('NVIDIA-A100-SXM4-40GB'), gpuModelOf('Tesla-T4'), gpuModelOf(undefined)]).toEqual(['K80', 'A100-SXM4-40GB', 'T4', 'unknown']);
  });
});

describe('pods', () => {
  it('whole GPUs from limits, cpu and memory from requests, tenant from the namespace, priority from the PriorityClass value', () => {
    expect(podRequestOf(pod({ priority: 1_000_000 }), ctx)).toEqual({ ok: true, request: { tenant: 'ml', priority: 750, cpuMilli: 2000, memoryMiB: 8192, gpus: 2, preemptible: true } });
    expect(podRequestOf(pod({ namespace: 'ml-prod' }), ctx)).toMatchObject({ ok: true, request: { tenant: 'ml' } });
    expect(podRequestOf(pod({ labels: { 'hotpath.254carbon.io/tenant': 'research' } }), ctx)).toMatchObject({ ok: true, request: { tenant: 'research' } });
  });
  it('a share from the annotations; preemptible false by annotation', () => {
    const p = pod({ annotations: { 'hotpath.254carbon.io/gpu-milli': '500', 'hotpath.254carbon.io/gpu-memory-mib': '4096', 'hotpath.254carbon.io/preemptible': 'false' } });
    p.spec!.containers[0]!.resources = { requests: { cpu: '500m', memory: '1.5Gi' } };
    expect(podRequestOf(p, ctx)).toEqual({ ok: true, request: { tenant: 'ml', priority: 0, cpuMilli: 500, memoryMiB: 1536, gpuMilli: 500, gpuMemoryMiB: 4096, preemptible: false } });
  });
  it('init containers raise a request to their largest; several containers add up', () => {
    const p = pod();
    p.spec!.containers.push({ name: 'side', image: 'i', resources: { requests: { cpu: '1' } } });
    p.spec!.initContainers = [{ name: 'init', image: 'i', resources: { requests: { cpu: '8' } } }];
    expect(podRequestOf(p, ctx)).toMatchObject({ ok: true, request: { cpuMilli: 8000 } });
  });
  it('a pod group: minMember from its PodGroup object, else the annotation, else 1', () => {
    expect(podRequestOf(pod({ labels: { 'scheduling.x-k8s.io/pod-group': 'trainers' } }), ctx)).toMatchObject({ ok: true, request: { gang: { id: 'ml/trainers', minMember: 4 } } });
    expect(podRequestOf(pod({ labels: { 'scheduling.x-k8s.io/pod-group': 'g2' }, annotations: { 'hotpath.254carbon.io/pod-group-min-member': '3' } }), ctx)).toMatchObject({ ok: true, request: { gang: { id: 'ml/g2', minMember: 3 } } });
    expect(podRequestOf(pod({ labels: { 'scheduling.x-k8s.io/pod-group': 'g3' } }), ctx)).toMatchObject({ ok: true, request: { gang: { id: 'ml/g3', minMember: 1 } } });
  });
  it.each([
    [{ annotations: { 'hotpath.254carbon.io/gpu-milli': '1500' } }, /gpu-milli must be an integer 1..1000/],
    [{ annotations: { 'hotpath.254carbon.io/gpu-milli': '500' } }, /either whole GPUs .* or a share/],
    [{ annotations: { 'hotpath.254carbon.io/gpu-memory-mib': '-1' } }, /gpu-memory-mib must be a positive integer/],
    [{ labels: { 'scheduling.x-k8s.io/pod-group': 'g' }, annotations: { 'hotpath.254carbon.io/pod-group-min-member': 'x' } }, /minMember must be a positive integer/],
  ])('refused with a reason: %j', (extra, reason) => {
    const r = podRequestOf(pod(extra), ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
  it('a fractional GPU limit is refused', () => {
    const p = pod();
    p.spec!.containers[0]!.resources!.limits = { 'nvidia.com/gpu': '0.5' };
    expect(podRequestOf(p, ctx)).toMatchObject({ ok: false });
  });
});

describe('priority classes on hotpath\'s scale', () => {
  it.each([[undefined, 0], [0, 0], [100, 100], [-500, -500], [1000, 523], [1_000_000, 750], [1_000_000_000, 977], [2_000_001_000, 1000], [-2_147_483_648, -1000]])('%s -> %s', (v, p) => expect(priorityOf(v)).toBe(p));
  it('keeps the order of classes', () => {
    const values = [-2e9, -1e6, -600, -10, 0, 10, 499, 501, 1e4, 1e6, 1e8, 2e9];
    const mapped = values.map(priorityOf);
    expect([...mapped].sort((a, b) => a - b)).toEqual(mapped);
  });
});

describe('node admission (selector, taints, cordon)', () => {
  it('nodeSelector must match; NoSchedule taints must be tolerated', () => {
    const tainted = nodeViewOf(k80Node('n', { taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }] }))!;
    expect(nodeAdmits(pod(), tainted)).toEqual({ ok: false, reason: 'taint: node(s) had untolerated taint {nvidia.com/gpu: present}' });
    expect(nodeAdmits(pod({ tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] }), tainted)).toEqual({ ok: true });
    expect(nodeAdmits(pod({ nodeSelector: { zone: 'b' } }), nodeViewOf(k80Node('n'))!)).toMatchObject({ ok: false });
    expect(nodeAdmits(pod(), nodeViewOf(k80Node('n', { unschedulable: true }))!)).toEqual({ ok: false, reason: 'unschedulable: node is cordoned (spec.unschedulable)' });
  });
});

describe('the device annotation', () => {
  it('round-trips whole devices and shares', () => {
    const whole = { requestId: 'j', node: 'n', cpuMilli: 1000, memoryMiB: 10, devices: [{ gpuIndex: 0, milli: 1000, memoryMiB: 0 }, { gpuIndex: 1, milli: 1000, memoryMiB: 0 }], exclusive: true };
    expect(devicesAnnotation(whole)).toBe('0,1');
    expect(placementFromAnnotation('j', 'n', '0,1', { cpuMilli: 1000, memoryMiB: 10 })).toEqual(whole);
    const share = { requestId: 'j', node: 'n', cpuMilli: 500, memoryMiB: 10, devices: [{ gpuIndex: 2, milli: 500, memoryMiB: 4096 }] };
    expect(devicesAnnotation(share)).toBe('2:500m:4096Mi');
    expect(placementFromAnnotation('j', 'n', '2:500m:4096Mi', { cpuMilli: 500, memoryMiB: 10 })).toEqual(share);
    expect(placementFromAnnotation('j', 'n', 'garbage', { cpuMilli: 1, memoryMiB: 1 })).toBeUndefined();
  });
});
