// Why: the live batcher on real timers: every row's answer must come back to the request that sent it
// (batches mix requests and split big ones), a failed batch is retried once elsewhere, and every request
// is answered exactly once whatever happens (timeouts, a full queue, replicas failing, shutdown).
import { describe, expect, it } from 'vitest';
import { NO_TIMEOUT_POLICY, type QueueConfig } from '../../src/inference/batching/queue.ts';
import { fixedDelay, noBatching, sloAware } from '../../src/inference/batching/policies.ts';
import { ModelRunner, type InferOutcome } from '../../src/inference/runner.ts';
import { SimulatedK80Replica, simulatedScores, type Replica } from '../../src/inference/replica.ts';
import type { Tensor } from '../../src/inference/tensors.ts';

const queue = (extra: Partial<QueueConfig> = {}): QueueConfig => ({ maxBatchSize: 16, priorityLevels: 2, defaultPriorityLevel: 2, policies: [], defaultPolicy: NO_TIMEOUT_POLICY, ...extra });
const fast = (id: string) => new SimulatedK80Replica(id, 1, (rows) => 3 + rows * 0.2);
const input = (rows: number, seed: number): Tensor => ({ name: 'input', datatype: 'FP32', shape: [rows, 8], data: Array.from({ length: rows * 8 }, (_, i) => ((i * 7 + seed * 13) % 11) - 5) });
const expected = (t: Tensor): number[] => Array.from({ length: t.shape[0]! }, (_, r) => simulatedScores(t.data.slice(r * 8, r * 8 + 8) as number[])).flat();

class Failing implements Replica {
  readonly costMs = (rows: number) => 3 + rows * 0.2;
  calls = 0;
  readonly id: string;
  constructor(id: string) {
    this.id = id;
  }
  async infer(): Promise<Tensor[]> {
    this.calls++;
    await new Promise((r) => setTimeout(r, 2));
    throw new Error('GPU fell off the bus');
  }
}

describe('ModelRunner', () => {
  it.each([
    ['none', noBatching()],
    ['fixed delay 5 ms', fixedDelay({ maxQueueDelayMs: 5 })],
    ['SLO-aware', sloAware()],
  ] as const)('%s: every request gets its own rows back, big ones split across replicas', async (_name, policy) => {
    const replicas = [fast('a'), fast('b'), fast('c')];
    const runner = new ModelRunner({ queue: queue(), policy, replicas, sloMs: 500 });
    const calls = Array.from({ length: 120 }, (_, i) => ({ id: `r${i}`, inputs: [input(i % 10 === 0 ? 40 : 1 + (i % 5), i)], priority: 0 }));
    const outcomes = await Promise.all(calls.map((c) => runner.infer(c)));
    outcomes.forEach((o, i) => {
      expect(o.ok, JSON.stringify(o)).toBe(true);
      const out = (o as Extract<InferOutcome, { ok: true }>).outputs[0]!;
      expect(out.shape).toEqual([calls[i]!.inputs[0]!.shape[0], 4]);
      expect(out.data).toEqual(expected(calls[i]!.inputs[0]!));
    });
    const rows = replicas.flatMap((r) => r.batches);
    expect(rows.reduce((n, x) => n + x, 0)).toBe(calls.reduce((n, c) => n + c.inputs[0]!.shape[0]!, 0));
    expect(Math.max(...rows)).toBeLessThanOrEqual(16);
    if (policy.name !== 'none') expect(rows.some((n) => n > 5)).toBe(true); // requests were batched together
    runner.close();
  });

  it('retries a failed batch once on another replica', async () => {
    const bad = new Failing('bad');
    const good = fast('good');
    const runner = new ModelRunner({ queue: queue(), policy: noBatching(), replicas: [bad, good], sloMs: 500 });
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => runner.infer({ id: `r${i}`, inputs: [input(2, i)], priority: 0 })));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(bad.calls).toBeGreaterThan(0);
    runner.close();
  });

  it('answers REPLICA_FAILED, once, when the retry fails too', async () => {
    const answered: string[] = [];
    const runnerWithEvents = new ModelRunner({ queue: queue(), policy: noBatching(), replicas: [new Failing('x'), new Failing('y')], sloMs: 500, events: { answered: (e) => answered.push(e.outcome.ok ? 'ok' : e.outcome.code) } });
    const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => runnerWithEvents.infer({ id: `r${i}`, inputs: [input(1, i)], priority: 0 })));
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.code))).toEqual(Array(6).fill('REPLICA_FAILED'));
    expect(answered).toEqual(Array(6).fill('REPLICA_FAILED'));
    runnerWithEvents.close();
  });

  it('refuses at a full queue and at the timeout; close() answers the rest', async () => {
    const slow = new SimulatedK80Replica('slow', 1, () => 50);
    const runner = new ModelRunner({
      queue: queue({ defaultPolicy: { timeoutAction: 'reject', defaultTimeoutMs: 30, allowTimeoutOverride: true, maxQueueSize: 3 } }),
      policy: noBatching(),
      replicas: [slow],
      sloMs: 500,
    });
    const first = runner.infer({ id: 'first', inputs: [input(1, 1)], priority: 0 });
    const queued = ['q1', 'q2', 'q3'].map((id) => runner.infer({ id, inputs: [input(1, 2)], priority: 0 }));
    const full = await runner.infer({ id: 'q4', inputs: [input(1, 3)], priority: 0 });
    expect(full).toMatchObject({ ok: false, code: 'QUEUE_FULL' });
    expect((await first).ok).toBe(true);
    expect((await Promise.all(queued)).map((o) => (o.ok ? 'ok' : o.code))).toEqual(['TIMEOUT', 'TIMEOUT', 'TIMEOUT']);
    const late = runner.infer({ id: 'late', inputs: [input(1, 4)], priority: 0 });
    const later = runner.infer({ id: 'later', inputs: [input(1, 5)], priority: 0 });
    runner.close();
    expect(await late).toMatchObject({ ok: false, code: 'CLOSED' });
    expect(await later).toMatchObject({ ok: false, code: 'CLOSED' });
    expect(await runner.infer({ id: 'after', inputs: [input(1, 6)], priority: 0 })).toMatchObject({ ok: false, code: 'CLOSED' });
  });

  it('refuses a second request with an id still queued', async () => {
    const runner = new ModelRunner({ queue: queue(), policy: fixedDelay({ maxQueueDelayMs: 20 }), replicas: [fast('a')], sloMs: 500 });
    const a = runner.infer({ id: 'same', inputs: [input(1, 1)], priority: 0 });
    expect(await runner.infer({ id: 'same', inputs: [input(1, 2)], priority: 0 })).toMatchObject({ ok: false });
    expect((await a).ok).toBe(true);
    runner.close();
  });
});
