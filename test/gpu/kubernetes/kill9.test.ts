// Why: restart safety as an operator meets it: `node src/server.ts` on the kubernetes backend, killed
// with SIGKILL at random moments while pods arrive (after binding, before it, and between the device
// annotation and the Binding: the API server refuses bindings in odd rounds), started again each time
// on the same Redis, with either election (a Redis key or a Lease). In the end every pod is bound once,
// the devices the pods' annotations name never overlap on a node, and the allocation record agrees with
// them device for device.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../helpers/redis.ts';
import { startFakeApiServer, type FakeApiServer, type KubeObject } from '../../kube/fake-apiserver.ts';
import { createPrng } from '../../../src/gpu/placement/prng.ts';

let redis: TestRedis;
let fake: FakeApiServer;
let dir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  redis = await startTestRedis();
  dir = mkdtempSync(join(tmpdir(), 'hotpath-kill9-'));
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh API server with two 4-GPU K80 nodes, and its kubeconfig in `dir`. */
async function freshApiServer(): Promise<void> {
  fake = await startFakeApiServer({ validation: false });
  writeFileSync(join(dir, 'kubeconfig'), fake.kubeconfigYaml());
  for (const name of ['k80-a', 'k80-b']) {
    fake.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'nvidia.com/gpu.product': 'Tesla-K80', 'nvidia.com/gpu.memory': '11441' } },
      spec: {},
      status: { allocatable: { cpu: '32', memory: '256Gi', 'nvidia.com/gpu': '4', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
    });
  }
}

/** Starts the server process; resolves with its URL once it listens. */
function startServer(election: string): Promise<string> {
  const proc = spawn(process.execPath, ['src/server.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      REDIS_URL: redis.url,
      HOTPATH_REDIS_PREFIX: `kill9-${election}:`,
      HOTPATH_GPU_ELECTION: election,
      HOTPATH_GPU_BACKEND: 'kubernetes',
      KUBECONFIG: join(dir, 'kubeconfig'),
      HOTPATH_GPU_EXECUTOR: 'none',
      HOTPATH_GPU_TICK_MS: '50',
      HOTPATH_GPU_LEASE_TTL_SECONDS: '2',
      HOTPATH_DEMO_ORDER_ROWS: '1000',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code, signal) => signal !== 'SIGKILL' && reject(new Error(`server exited ${code}:\n${out}`)));
  });
}

function kill(): Promise<void> {
  const proc = child;
  child = undefined;
  if (proc === undefined || proc.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

const gpuPod = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ml' },
  spec: { schedulerName: 'hotpath', containers: [{ name: 'main', image: 'trainer:1', resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { 'nvidia.com/gpu': '1' } } }] },
  status: { phase: 'Pending' },
});
type PodView = { spec: { nodeName?: string }; metadata: { annotations?: Record<string, string> } };
const podView = (name: string) => fake.get('Pod', 'ml', name) as PodView | undefined;

// The Lease election: a killed leader's Lease stays held, so each new process waits out its duration.
describe.each(['redis', 'lease'])('kill -9 at random moments on the kubernetes backend (%s election)', (election) => {
  beforeAll(freshApiServer);
  afterAll(async () => {
    await kill();
    await fake.close();
  });
  it('loses nothing and books no device twice', async () => {
    const prng = createPrng(2026);
    const names: string[] = [];
    for (let round = 0; round < 4; round++) {
      await startServer(election);
      // Odd rounds: the API server refuses the next bindings, so the kill finds pods annotated, placed, not bound.
      if (round % 2 === 1) fake.failNext('POST', /\/binding$/, 500, 3);
      for (let i = 0; i < 2; i++) {
        const name = `p-${round}-${i}`;
        names.push(name);
        fake.create(gpuPod(name));
      }
      // Somewhere between "just listed" and "bound": mid-binding some of the time.
      await new Promise((r) => setTimeout(r, 50 + prng.int(400)));
      await kill();
    }
    const url = await startServer(election);
    const deadline = Date.now() + 30_000;
    while (names.some((n) => !podView(n)?.spec.nodeName)) {
      if (Date.now() > deadline) throw new Error(`not bound: ${names.filter((n) => !podView(n)?.spec.nodeName).join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // The devices each pod was given, by its annotation: disjoint on every node.
    const held = new Map<string, string>();
    for (const n of names) {
      const p = podView(n)!;
      const devices = p.metadata.annotations?.['hotpath.254carbon.io/gpu-devices'];
      expect(devices, n).toMatch(/^[0-3]$/);
      const key = `${p.spec.nodeName}/${devices}`;
      expect(held.get(key), `${key} given to ${held.get(key)} and ${n}`).toBeUndefined();
      held.set(key, n);
    }
    // The record agrees: eight devices, one job on each (the ones the annotations name), no over-commit.
    await new Promise((r) => setTimeout(r, 300));
    const view = (await (await fetch(`${url}/v1/gpu/cluster`)).json()) as { nodes: { name: string; gpus: { index: number; allocatedMilli: number; jobs: string[] }[] }[] };
    const recorded = view.nodes.flatMap((node) => node.gpus.filter((g) => g.allocatedMilli > 0).map((g) => ({ key: `${node.name}/${g.index}`, milli: g.allocatedMilli, jobs: g.jobs.length })));
    expect(recorded.map((r) => r.key).sort()).toEqual([...held.keys()].sort());
    expect(recorded.every((r) => r.milli === 1000 && r.jobs === 1)).toBe(true);
  }, 120_000);
});
