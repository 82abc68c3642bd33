// Why: the K80 bench's numbers are only worth reading if the simulation is right on a case worked by
// hand (FIFO head-of-line blocking leaves a device idle that backfill fills, no job lost), if the
// anti-starvation rule really stops small jobs passing a starved one, if a preempted job restarts and
// is counted once, and if a seed fixes the result.
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

  it('with preemption, a higher-priority job evicts a running one, which restarts from scratch', () => {
    // A (4 devices, priority 0) runs from 0; H (1 device, priority 1) arrives at 10 and evicts it.
    // H runs 10..30; A goes back to the queue with arrival 0 and restarts at 30 for its full 100 min.
    const h: K80Job = { ...job('h', 1, 10, 20), request: { ...job('h', 1, 10, 20).request, tenant: 's', priority: 1 } };
    const stream2 = [job('a', 4, 0, 100), h];
    const pre = simulateK80(oneNode, stream2, backfillWith('best-fit', 120, true), 200, 1);
    expect(pre.scheduler).toBe('backfill/best-fit+preempt');
    expect(pre.preemptions).toBe(1);
    expect([pre.arrived, pre.started, pre.completed, pre.running, pre.queued, pre.lost]).toEqual([2, 2, 2, 0, 0, 0]);
    // Waits: H 0; A from its arrival (0) to its last start (30).
    expect(pre.waitByPriority).toEqual({ 1: { meanMin: 0, p95Min: 0, count: 1 }, 0: { meanMin: 30, p95Min: 30, count: 1 } });
    expect(pre.meanWaitMin).toBeCloseTo(15, 9);
    // The queue (A) is non-empty 10..30 while H holds 1 of 4 devices.
    expect(pre.waitingMin).toBeCloseTo(20, 9);
    expect(pre.allocWhileWaitingPct).toBeCloseTo(25, 9);
    expect(pre.violations).toEqual([]);
    // Without preemption H waits for A: 90 min.
    const plain = simulateK80(oneNode, stream2, backfillWith('best-fit', 120), 200, 1);
    expect(plain.preemptions).toBe(0);
    expect(plain.waitByPriority).toEqual({ 1: { meanMin: 90, p95Min: 90, count: 1 }, 0: { meanMin: 0, p95Min: 0, count: 1 } });
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
    for (const s of [fifoBaseline, backfillWith('fgd'), backfillWith('hotpath'), backfillWith('hotpath', 120, true)]) {
      const r1 = simulateK80(spec, a, s, 360, 7);
      expect(simulateK80(spec, a, s, 360, 7)).toEqual(r1);
      expect(r1.lost).toBe(0);
      expect(r1.violations).toEqual([]);
      expect(r1.arrived).toBe(a.length);
    }
  });
});
