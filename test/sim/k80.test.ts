// Why: the K80 bench's numbers are only worth reading if the simulation is right on a case worked by
// hand (FIFO head-of-line blocking leaves a device idle that backfill fills, no job lost), if the
// anti-starvation rule really stops small jobs passing a starved one, and if a seed fixes the result.
import { describe, it, expect } from 'vitest';
import { backfillWith, fifoBaseline, generateK80Jobs, k80Cluster, simulateK80 } from '../../src/sim/k80.ts';
import type { K80Job } from '../../src/sim/k80.ts';

const job = (id: string, gpus: number, arrivalMin: number, durationMin: number): K80Job => ({
  kind: gpus === 2 ? 'train2' : 'train1',
  arrivalMin,
  durationMin,
  request: { id, tenant: 't', priority: 0, cpuMilli: 1000, memoryMiB: 1000, gpus },
});

// One node of 4 devices. A takes 3; B (2) cannot fit behind it; C (1) could use the idle device.
const stream = [job('a', 3, 0, 60), job('b', 2, 1, 60), job('c', 1, 2, 30)];
const oneNode = k80Cluster(1);

describe('k80 simulation', () => {
  it('FIFO leaves a device idle behind a blocked head; backfill uses it; nothing is lost', () => {
    const fifo = simulateK80(oneNode, stream, fifoBaseline, 200, 1);
    const bf = simulateK80(oneNode, stream, backfillWith('best-fit'), 200, 1);
    // FIFO: queue non-empty from 1 to 60 at 3/4 allocated.
    expect(fifo.waitingMin).toBeCloseTo(59, 9);
    expect(fifo.allocWhileWaitingPct).toBeCloseTo(75, 9);
    expect(fifo.meanWaitMin).toBeCloseTo((0 + 59 + 58) / 3, 9);
    // Backfill: C runs 2..32, so the queue (B) waits 1..60 at 3/4, except 30 minutes at 4/4.
    expect(bf.allocWhileWaitingPct).toBeCloseTo((100 * (1 * 3 + 30 * 4 + 28 * 3)) / (59 * 4), 9);
    expect(bf.allocWhileWaitingPct).toBeGreaterThan(fifo.allocWhileWaitingPct);
    expect(bf.meanWaitMin).toBeCloseTo((0 + 59 + 0) / 3, 9);
    for (const r of [fifo, bf]) {
      expect(r.arrived).toBe(3);
      expect(r.completed).toBe(3);
      expect(r.lost).toBe(0);
      expect(r.violations).toEqual([]);
    }
  });

  it('a job starved past the threshold stops smaller jobs from passing it', () => {
    const starving = simulateK80(oneNode, [job('a', 3, 0, 60), job('b', 2, 1, 60), job('c', 1, 20, 30)], backfillWith('best-fit', 10), 200, 1);
    // B has waited 19 min > 10 when C arrives, so C waits for A to leave rather than passing B.
    expect(starving.allocWhileWaitingPct).toBeCloseTo(75, 9);
    expect(starving.lost).toBe(0);
  });

  it('counts what is still queued or running at the horizon, not as lost', () => {
    const r = simulateK80(oneNode, stream, fifoBaseline, 30, 1);
    expect([r.arrived, r.completed, r.running, r.queued, r.lost]).toEqual([3, 0, 1, 2, 0]);
  });

  it('is deterministic for a seed and varies across seeds', () => {
    const spec = k80Cluster();
    const a = generateK80Jobs(7, 6);
    expect(generateK80Jobs(7, 6)).toEqual(a);
    expect(generateK80Jobs(8, 6)).not.toEqual(a);
    for (const s of [fifoBaseline, backfillWith('fgd'), backfillWith('hotpath')]) {
      const r1 = simulateK80(spec, a, s, 360, 7);
      expect(simulateK80(spec, a, s, 360, 7)).toEqual(r1);
      expect(r1.lost).toBe(0);
      expect(r1.violations).toEqual([]);
      expect(r1.arrived).toBe(a.length);
    }
  });
});
