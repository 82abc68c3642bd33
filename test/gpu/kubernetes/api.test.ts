// Why: the backend's API calls must share connections (a bind burst paying one TCP handshake per call
// was the kubernetes backend's slowest part); pinned against the fake API server's connection count,
// with client-node's own makeApiClient as the contrast that shows the count can fail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startFakeApiServer, type FakeApiServer } from '../../kube/fake-apiserver.ts';
import { apiClient, kubeApi } from '../../../src/gpu/kubernetes/api.ts';

let fake: FakeApiServer;
let kc: KubeConfig;

beforeAll(async () => {
  fake = await startFakeApiServer();
  kc = new KubeConfig();
  kc.loadFromString(fake.kubeconfigYaml());
  fake.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ml' } });
  fake.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ml' }, spec: { schedulerName: 'hotpath', containers: [{ name: 'c', image: 'x' }] } });
});
afterAll(() => fake.close());

describe('apiClient', () => {
  it('keeps connections alive across calls and clients of one kubeconfig', async () => {
    const before = fake.connections;
    const api = kubeApi(kc, 'hotpath');
    const core = apiClient(kc, CoreV1Api);
    for (let i = 0; i < 20; i++) {
      expect((await api.readPod('ml', 'p'))?.metadata?.name).toBe('p');
      expect((await core.readNamespacedPod({ namespace: 'ml', name: 'p' })).metadata?.name).toBe('p');
    }
    // 40 calls over one or two sockets (undici may open a second when a call starts in the same tick as the
    // previous answer's body ends, before that socket is back in the pool).
    expect(fake.connections - before).toBeLessThanOrEqual(2);
  });

  it("client-node's makeApiClient, for contrast, opens a connection per call", async () => {
    const before = fake.connections;
    const core = kc.makeApiClient(CoreV1Api);
    for (let i = 0; i < 5; i++) await core.readNamespacedPod({ namespace: 'ml', name: 'p' });
    expect(fake.connections - before).toBe(5);
  });

});
