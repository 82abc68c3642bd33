// Why: the failure budgets are token buckets whose numbers a user notices (Retry-After, when a locked
// user gets an attempt back); the gate is what keeps a flood's queue bounded. Worked out by hand below.
import { describe, expect, it } from 'vitest';
import { FailureBudget, GATE_FULL, VerificationGate } from '../../src/shared/auth-limits.ts';

describe('FailureBudget', () => {
  it('3 a minute: a burst of 3, then one more every 20 s', () => {
    const b = new FailureBudget({ failuresPerMinute: 3, maxKeys: 100 });
    for (let i = 0; i < 3; i++) {
      expect(b.waitMs('alice', 0)).toBe(0);
      b.take('alice', 0);
    }
    expect(b.waitMs('alice', 0)).toBe(20_000); // 0 tokens, 3/60 000 per ms: 1 token in 20 000 ms
    expect(b.waitMs('alice', 5_000)).toBe(15_000);
    expect(b.waitMs('bob', 0)).toBe(0); // keys are independent
    expect(b.waitMs('alice', 20_000)).toBe(0);
    b.take('alice', 20_000);
    expect(b.waitMs('alice', 20_000)).toBe(20_000);
    expect(b.waitMs('alice', 80_000)).toBe(0); // refilled, and never above 3
    for (let i = 0; i < 3; i++) b.take('alice', 1_000_000);
    expect(b.waitMs('alice', 1_000_000)).toBe(20_000);
  });

  it('giveBack returns a token taken for a check that did not fail', () => {
    const b = new FailureBudget({ failuresPerMinute: 1, maxKeys: 100 });
    b.take('alice', 0);
    expect(b.waitMs('alice', 0)).toBe(60_000);
    b.giveBack('alice', 0);
    expect(b.waitMs('alice', 0)).toBe(0);
    b.giveBack('alice', 0); // never above the burst
    b.take('alice', 0);
    expect(b.waitMs('alice', 0)).toBe(60_000);
  });

  it('remembers at most maxKeys buckets; a forgotten one is full', () => {
    const b = new FailureBudget({ failuresPerMinute: 1, maxKeys: 2 });
    for (const k of ['a', 'b', 'c']) b.take(k, 0);
    expect(b.waitMs('a', 0)).toBe(0);
    expect(b.waitMs('c', 0)).toBe(60_000);
  });
});

describe('VerificationGate', () => {
  it('runs 2 at once, queues 1, refuses the rest at once, and reuses freed slots', async () => {
    const gate = new VerificationGate({ maxRunning: 2, maxQueued: 1 });
    const release: (() => void)[] = [];
    let running = 0;
    let most = 0;
    const task = () => new Promise<string>((resolve) => {
      running++;
      most = Math.max(most, running);
      release.push(() => { running--; resolve('done'); });
    });
    const results = [gate.run(task), gate.run(task), gate.run(task), gate.run(task)];
    expect(await results[3]).toBe(GATE_FULL);
    expect(release).toHaveLength(2); // the third waits
    release.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(release).toHaveLength(2); // the waiter got the freed slot
    while (release.length) release.shift()!();
    expect(await Promise.all(results.slice(0, 3))).toEqual(['done', 'done', 'done']);
    expect(most).toBe(2);
    expect(await gate.run(async () => 'again')).toBe('again');
  });
});
