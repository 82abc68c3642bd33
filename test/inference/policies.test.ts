// Why: each policy's decision when a replica is free, pinned on small queues with the K80 cost curve:
// what it sends, or until when it waits.
import { describe, expect, it } from 'vitest';
import { K80_RESNET50_IMAGES_PER_S, tableCost } from '../../src/inference/cost.ts';
import { aimd, fixedDelay, noBatching, sloAware, type PolicyInput, type QueuedView } from '../../src/inference/batching/policies.ts';

const k80 = tableCost(K80_RESNET50_IMAGES_PER_S);
const queued = (n: number, arrivalMs = 0, sloMs = 400, rows = 1): QueuedView[] => Array.from({ length: n }, (_, i) => ({ rows, arrivalMs: arrivalMs + i, deadlineMs: arrivalMs + i + sloMs }));
const input = (q: QueuedView[], extra: Partial<PolicyInput> = {}): PolicyInput => ({ nowMs: 10, queued: q, queuedParts: q.length, maxBatchSize: 32, costMs: k80, arrivalRowsPerMs: 0, replicas: 1, ...extra });

describe('noBatching', () => {
  it('sends one request at a time', () => {
    expect(noBatching().decide(input(queued(5, 0, 400, 3)))).toEqual({ kind: 'dispatch', maxRows: 3 });
    expect(noBatching().decide(input([]))).toEqual({ kind: 'idle' });
  });
});

describe('fixedDelay (Triton)', () => {
  const p = fixedDelay({ maxQueueDelayMs: 5, preferredBatchSizes: [4, 8] });
  it.each([
    ['a full preferred batch goes at once', queued(9), 10, { kind: 'dispatch', maxRows: 8 }],
    ['a full maximum batch goes at once', queued(40), 10, { kind: 'dispatch', maxRows: 8 }],
    ['short of the largest preferred size it waits for the oldest request\'s delay', queued(5, 8), 10, { kind: 'wait', untilMs: 13 }],
    ['then sends the largest preferred size it can form', queued(5, 0), 10, { kind: 'dispatch', maxRows: 4 }],
    ['or all it has when no preferred size fits', queued(3, 0), 10, { kind: 'dispatch', maxRows: 3 }],
  ] as const)('%s', (_what, q, nowMs, want) => expect(p.decide(input([...q], { nowMs }))).toEqual(want));

  it('without preferred sizes a full batch is the maximum', () => {
    const plain = fixedDelay({ maxQueueDelayMs: 5 });
    expect(plain.decide(input(queued(40)))).toEqual({ kind: 'dispatch', maxRows: 32 });
    expect(plain.decide(input(queued(3, 0), { nowMs: 5 }))).toEqual({ kind: 'dispatch', maxRows: 3 });
  });
});

describe('aimd (Clipper)', () => {
  it('grows the cap by one per batch executed within the SLO and cuts it by 10 % after one that is not', () => {
    const p = aimd({ sloMs: 100 });
    const cap = () => (p.decide(input(queued(100))) as { maxRows: number }).maxRows;
    expect(cap()).toBe(1);
    for (let i = 0; i < 9; i++) p.observe!(1, 500, 40); // queueing in front of a batch does not count
    expect(cap()).toBe(10);
    p.observe!(10, 150, 120);
    expect(cap()).toBe(9);
    expect(p.decide(input([]))).toEqual({ kind: 'idle' });
  });
});

describe('sloAware', () => {
  const p = sloAware({ marginMs: 0 });
  it('sends at once when the load does not need bigger batches', () => {
    expect(p.decide(input(queued(3), { arrivalRowsPerMs: 0.01 }))).toEqual({ kind: 'dispatch', maxRows: 3 });
  });

  it('under load, waits for a bigger batch until the latest start that still meets the earliest deadline', () => {
    const d = p.decide(input(queued(3, 0, 400), { arrivalRowsPerMs: 1 }));
    expect(d).toEqual({ kind: 'wait', untilMs: 400 - k80(4) });
  });

  it('never builds a batch that would miss the earliest deadline in it', () => {
    // 32 requests whose first deadline is 250 ms away at nowMs 10: batch 16 takes 103 ms, 32 takes 201 ms.
    const q = queued(32, 0, 250);
    const d = p.decide(input(q, { nowMs: 60, arrivalRowsPerMs: 1 }));
    expect(d.kind).toBe('dispatch');
    const rows = (d as { maxRows: number }).maxRows;
    expect(60 + k80(rows)).toBeLessThanOrEqual(250);
    expect(60 + k80(rows + 1)).toBeGreaterThan(250);
  });

  it('does not let a request already past hope shrink the batch', () => {
    const q: QueuedView[] = [{ rows: 1, arrivalMs: 0, deadlineMs: 5 }, ...queued(20, 1, 1000)];
    expect(p.decide(input(q, { nowMs: 10, arrivalRowsPerMs: 0 }))).toEqual({ kind: 'dispatch', maxRows: 21 });
  });

  it('sends a full batch at once', () => {
    expect(p.decide(input(queued(64), { arrivalRowsPerMs: 10 }))).toEqual({ kind: 'dispatch', maxRows: 32 });
  });
});
