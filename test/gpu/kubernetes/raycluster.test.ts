// Why: the platform's Ray workers are pods; deploy/examples/raycluster-hotpath.yaml is the RayCluster
// teams start from. Its worker template must be a valid Pod template that hotpath accepts (schema-checked
// with kubernetes-models), and pods made from it, as the KubeRay operator makes them, must be bound by
// hotpath onto K80 nodes whose GPU taint they tolerate, two devices of one board each, while the head
// pod (default scheduler) is never touched.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, loadAllYaml, type V1PodTemplateSpec } from '@kubernetes/client-node';
import { PodTemplateSpec } from 'kubernetes-models/v1';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/app.ts';
import { createDuckDbEngine } from '../../../src/query-cache/engines/duckdb-engine.ts';
import type { Engine } from '../../../src/query-cache/engines/engine.ts';
import { startTestRedis, type TestRedis } from '../../helpers/redis.ts';
import { startFakeApiServer, type FakeApiServer, type KubeObject } from '../../kube/fake-apiserver.ts';
import { gpuConfig } from '../jobs/helpers.ts';

const manifest = readFileSync(join(import.meta.dirname, '..', '..', '..', 'deploy', 'examples', 'raycluster-hotpath.yaml'), 'utf8');
type RayCluster = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
  spec: { headGroupSpec: { template: V1PodTemplateSpec }; workerGroupSpecs: { groupName: string; replicas: number; template: V1PodTemplateSpec }[] };
};
const [cluster] = loadAllYaml(manifest) as RayCluster[];

let redis: TestRedis;
let engine: Engine;
let fake: FakeApiServer;
let app: FastifyInstance;
beforeAll(async () => {
  redis = await startTestRedis();
  engine = await createDuckDbEngine({ demoData: false, statementTimeoutMs: 5000 });
  fake = await startFakeApiServer();
  for (const [name, product] of [['k80-a', 'Tesla-K80'], ['k80-b', 'Tesla-K80'], ['a-t4', 'Tesla-T4']] as const) {
    fake.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'nvidia.com/gpu.product': product, 'nvidia.com/gpu.memory': product === 'Tesla-K80' ? '11441' : '15360' } },
      spec: { taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }] },
      status: { allocatable: { cpu: '32', memory: '256Gi', 'nvidia.com/gpu': '4', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
    });
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(fake.kubeconfigYaml());
  app = await buildApp(gpuConfig(redis.url, 'ray:', { HOTPATH_GPU_BACKEND: 'kubernetes', HOTPATH_GPU_POLICY: 'first-fit' }), { engine, defaultMetrics: false, kubeConfig });
  await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app?.close();
  await fake?.close();
  await engine?.close();
  await redis?.stop();
});

/** A pod from a group's template, as the KubeRay operator names and labels it. */
function podFrom(template: V1PodTemplateSpec, name: string, group: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...template.metadata, name, namespace: cluster!.metadata.namespace, labels: { ...template.metadata?.labels, 'ray.io/cluster': cluster!.metadata.name, 'ray.io/group': group } },
    spec: template.spec!,
    status: { phase: 'Pending' },
  } as KubeObject;
}

const nodeNameOf = (name: string): string | undefined => (fake.get('Pod', 'ml', name) as { spec?: { nodeName?: string } } | undefined)?.spec?.nodeName;

async function until<T>(what: string, fn: () => T | undefined, ms = 10_000): Promise<T> {
  for (const deadline = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 25))) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('deploy/examples/raycluster-hotpath.yaml', () => {
  it('is a RayCluster whose GPU worker template is a valid Pod template for hotpath', () => {
    expect(cluster).toMatchObject({ apiVersion: 'ray.io/v1', kind: 'RayCluster' });
    const worker = cluster!.spec.workerGroupSpecs[0]!;
    expect(() => new PodTemplateSpec(worker.template as never).validate()).not.toThrow();
    expect(() => new PodTemplateSpec(cluster!.spec.headGroupSpec.template as never).validate()).not.toThrow();
    expect(worker.template.spec?.schedulerName).toBe('hotpath');
    expect(cluster!.spec.headGroupSpec.template.spec?.schedulerName).toBeUndefined();
  });

  it("hotpath binds the workers onto K80 nodes, two devices of one board each; the head is not hotpath's", async () => {
    const worker = cluster!.spec.workerGroupSpecs[0]!;
    fake.create(podFrom(cluster!.spec.headGroupSpec.template, 'ml-train-head', 'headgroup'));
    for (let i = 0; i < worker.replicas; i++) fake.create(podFrom(worker.template, `ml-train-worker-${i}`, worker.groupName));
    for (let i = 0; i < worker.replicas; i++) {
      const name = `ml-train-worker-${i}`;
      const node = await until(`${name} bound`, () => nodeNameOf(name));
      expect(node).toMatch(/^k80-/);
      const devices = (fake.get('Pod', 'ml', name) as { metadata: { annotations?: Record<string, string> } }).metadata.annotations?.['hotpath.254carbon.io/gpu-devices'];
      // A K80 board is devices 2k and 2k+1: the two devices are one board.
      expect(['0,1', '2,3']).toContain(devices);
    }
    expect(nodeNameOf('ml-train-head')).toBeUndefined();
    expect(fake.requests.some((r) => r.path.includes('ml-train-head'))).toBe(false);
  });
});
