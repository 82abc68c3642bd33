// Why: inference replicas and training jobs share the K80s through one scheduler: a model whose replicas
// ask for GPU shares is served only once its replicas' jobs are placed, those jobs show in
// /v1/gpu/cluster like any other, and stopping hotpath frees their shares at once (the jobs complete).
import { describe, expect, it } from 'vitest';
import { useInferenceApp } from './helpers.ts';
import { simulatedScores } from '../../src/inference/replica.ts';
import { INFERENCE_PRINCIPAL } from '../../src/inference/gpu-replicas.ts';

const MODELS = JSON.stringify({
  half: { maxBatchSize: 8, batching: 'fixed', maxQueueDelayMs: 1, replicas: { simulated: { count: 2, deviceShare: 0.5 } }, gpu: { tenant: 'serve', gpuMemoryMiB: 5000, priority: 50 } },
});
const admin = { 'x-trino-user': 'ops' };

const app = useInferenceApp({ HOTPATH_GPU_ENABLED: 'true', HOTPATH_GPU_EXECUTOR: 'none', HOTPATH_GPU_TICK_MS: '50', HOTPATH_ADMIN_USERS: 'ops', HOTPATH_INFERENCE_MODELS: MODELS });

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('GPU-backed inference replicas', () => {
  it('are GPU jobs placed by the scheduler; the model is ready once they are, and serves', async () => {
    await until('the model to be ready', async () => ((await fetch(`${app.t.url}/v2/models/half/ready`, { headers: admin })).status === 200 ? true : undefined));
    const list = (await (await fetch(`${app.t.url}/v1/gpu/jobs?limit=50`, { headers: admin })).json()) as { jobs: { id: string; tenant: string; state: string; submittedBy: string; request: { gpuMilli?: number; gpuMemoryMiB?: number }; metadata?: { inferenceModel?: string } }[] };
    const replicas = list.jobs.filter((j) => j.metadata?.inferenceModel === 'half');
    expect(replicas).toHaveLength(2);
    for (const j of replicas) {
      expect(j).toMatchObject({ tenant: 'serve', submittedBy: INFERENCE_PRINCIPAL.user, request: { gpuMilli: 500, gpuMemoryMiB: 5000 } });
      expect(['placed', 'running']).toContain(j.state);
    }
    const cluster = (await (await fetch(`${app.t.url}/v1/gpu/cluster`, { headers: admin })).json()) as { runningJobs: number; allocationRatio: number };
    expect(cluster.runningJobs).toBeGreaterThanOrEqual(2);
    expect(cluster.allocationRatio).toBeGreaterThan(0);
    const rows = [[1, 2, 3, 4, 5, 6, 7, 8]];
    const res = await fetch(`${app.t.url}/v2/models/half/infer`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 8], data: rows }] }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data).toEqual(simulatedScores(rows[0]!));
    const metrics = await (await fetch(`${app.t.url}/metrics`)).text();
    expect(metrics).toMatch(/hotpath_inference_replicas\{model="half"\} 2/);
  });

  it('stopping the door completes the replicas\' jobs, freeing their shares', async () => {
    const before = (await (await fetch(`${app.t.url}/v1/gpu/jobs?limit=50`, { headers: admin })).json()) as { jobs: { id: string; metadata?: { inferenceModel?: string } }[] };
    const ids = before.jobs.filter((j) => j.metadata?.inferenceModel === 'half').map((j) => j.id);
    await app.t.app.inference.close();
    for (const id of ids) {
      const job = await app.t.app.gpuJobs.service.get(id, INFERENCE_PRINCIPAL);
      expect(job.state).toBe('completed');
    }
    expect((await fetch(`${app.t.url}/v2/health/ready`)).status).toBe(503);
  });
});
