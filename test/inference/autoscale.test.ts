// Why: the autoscaler's rule, as a table: up at once with the load or a backlog that misses deadlines,
// down one at a time after the delay, always within min..max.
import { describe, expect, it } from 'vitest';
import { Autoscaler, type AutoscaleInput } from '../../src/inference/autoscale.ts';

const input = (extra: Partial<AutoscaleInput>): AutoscaleInput => ({ nowMs: 0, replicas: 2, arrivalRowsPerMs: 0, replicaRowsPerMs: 0.16, queuedRows: 0, maxBatchSize: 32, recentMisses: 0, ...extra });

describe('Autoscaler', () => {
  it.each([
    ['idle at the floor', { replicas: 1, arrivalRowsPerMs: 0 }, 1],
    ['the load of 3.5 replicas at 70 %: 4, at once', { replicas: 1, arrivalRowsPerMs: 0.16 * 0.7 * 3.5 }, 4],
    ['never past the ceiling', { replicas: 2, arrivalRowsPerMs: 100 }, 6],
    ['misses with a backlog: one more even if the rate looks fine', { replicas: 2, arrivalRowsPerMs: 0.1, queuedRows: 200, recentMisses: 3 }, 3],
    ['misses without a backlog (a slow request): no change', { replicas: 2, arrivalRowsPerMs: 0.2, queuedRows: 10, recentMisses: 3 }, 2],
  ] as const)('%s', (_what, extra, want) => {
    expect(new Autoscaler({ minReplicas: 1, maxReplicas: 6 }).desired(input(extra))).toBe(want);
  });

  it('shrinks one replica at a time, each after the delay of wanting fewer', () => {
    const a = new Autoscaler({ minReplicas: 1, maxReplicas: 6, scaleDownDelayMs: 1000 });
    expect(a.desired(input({ nowMs: 0, replicas: 4 }))).toBe(4);
    expect(a.desired(input({ nowMs: 999, replicas: 4 }))).toBe(4);
    expect(a.desired(input({ nowMs: 1000, replicas: 4 }))).toBe(3);
    expect(a.desired(input({ nowMs: 1500, replicas: 3 }))).toBe(3);
    expect(a.desired(input({ nowMs: 2000, replicas: 3 }))).toBe(2);
    // Load comes back before the next step: the clock restarts.
    expect(a.desired(input({ nowMs: 2500, replicas: 2, arrivalRowsPerMs: 0.2 }))).toBe(2);
    expect(a.desired(input({ nowMs: 3000, replicas: 2 }))).toBe(2);
    expect(a.desired(input({ nowMs: 3999, replicas: 2 }))).toBe(2);
    expect(a.desired(input({ nowMs: 4000, replicas: 2 }))).toBe(1);
    expect(a.desired(input({ nowMs: 9000, replicas: 1 }))).toBe(1);
  });

  it('refuses a nonsense range', () => {
    expect(() => new Autoscaler({ minReplicas: 3, maxReplicas: 2 })).toThrow(RangeError);
    expect(() => new Autoscaler({ minReplicas: 0, maxReplicas: 0 })).toThrow(RangeError);
  });
});
