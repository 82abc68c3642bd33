// Why: autoscaling end to end: a model at its floor of one replica grows under a sustained load and,
// once the load stops, gives replicas back one at a time; the replicas gauge follows; requests are
// answered correctly throughout.
import { describe, expect, it } from 'vitest';
import { useInferenceApp } from './helpers.ts';
import { simulatedScores } from '../../src/inference/replica.ts';

const MODELS = JSON.stringify({
  elastic: { maxBatchSize: 2, batching: 'none', replicas: { simulated: {} }, autoscaling: { minReplicas: 1, maxReplicas: 3, targetUtilization: 0.5, scaleDownDelayMs: 300 } },
});

const app = useInferenceApp({ HOTPATH_INFERENCE_MODELS: MODELS });

const replicas = async (): Promise<number> => Number(/hotpath_inference_replicas\{model="elastic"\} (\d+)/.exec(await (await fetch(`${app.t.url}/metrics`)).text())?.[1]);
const row = [1, -2, 3, -4, 5, -6, 7, -8];

describe('autoscaling', () => {
  it('grows from the floor under load and shrinks one replica at a time after it', async () => {
    expect(await replicas()).toBe(1);
    const seen = new Set<number>();
    const stopAt = Date.now() + 5000;
    // 24 clients in a loop: far more than one replica's 67 requests/s.
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        while (Date.now() < stopAt) {
          const res = await fetch(`${app.t.url}/v2/models/elastic/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 8], data: [row] }] }) });
          expect(res.status).toBe(200);
          expect(((await res.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data).toEqual(simulatedScores(row));
        }
      }).concat([
        (async () => {
          while (Date.now() < stopAt) {
            seen.add(await replicas());
            await new Promise((r) => setTimeout(r, 100));
          }
        })(),
      ]),
    );
    expect(Math.max(...seen)).toBe(3);
    // Idle: back to the floor, one step per tick after the delay.
    const down: number[] = [];
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline) {
      const n = await replicas();
      if (down.at(-1) !== n) down.push(n);
      if (n === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(down).toEqual([3, 2, 1]);
  }, 30_000);
});
