// Why: open-loop arrival streams for the batching bench and tests, reproducible from a seed: Poisson at a
// rate, and bursty (a two-phase Markov-modulated Poisson process: bursts at `burstFactor` times the mean
// rate alternating with lulls, phases of exponentially distributed length, the same mean rate in
// expectation; a finite stream's own rate is what the bench reports).
import { createPrng } from '../../gpu/placement/prng.ts';
import type { Arrival } from '../batching/queue.ts';

export interface StreamOptions {
  /** Mean requests per second. */
  ratePerS: number;
  count: number;
  seed: number;
  /** Each request's answer is due this long after it arrives (its SLO). */
  sloMs: number;
  /** Rows per request (default 1). */
  rows?: number;
}

export interface BurstyOptions extends StreamOptions {
  /** Rate in a burst as a multiple of the mean (default 3); the lull's rate keeps the mean. */
  burstFactor?: number;
  /** Mean length of a burst plus a lull, ms (default 400: a 100 ms burst, then a 300 ms lull). */
  meanPhaseMs?: number;
  /** Share of time in bursts (default 0.25). */
  burstShare?: number;
}

const exp = (u: number, mean: number): number => -Math.log(1 - u) * mean;

export function poissonArrivals(o: StreamOptions): Arrival[] {
  const prng = createPrng(o.seed);
  const meanGapMs = 1000 / o.ratePerS;
  const out: Arrival[] = [];
  let t = 0;
  for (let i = 0; i < o.count; i++) {
    t += exp(prng.next(), meanGapMs);
    out.push({ id: `r${i}`, rows: o.rows ?? 1, arrivalMs: t, priority: 0, deadlineMs: t + o.sloMs });
  }
  return out;
}

export function burstyArrivals(o: BurstyOptions): Arrival[] {
  const prng = createPrng(o.seed);
  const factor = o.burstFactor ?? 3;
  const share = o.burstShare ?? 0.25;
  const cycleMs = o.meanPhaseMs ?? 400;
  if (!(factor * share < 1)) throw new RangeError('burstFactor x burstShare must be below 1 (the lull keeps the mean rate)');
  const burstRate = o.ratePerS * factor;
  const lullRate = (o.ratePerS * (1 - factor * share)) / (1 - share);
  const out: Arrival[] = [];
  let t = 0;
  let burst = false;
  let phaseEndMs = exp(prng.next(), cycleMs * (1 - share));
  while (out.length < o.count) {
    const rate = burst ? burstRate : lullRate;
    const gap = exp(prng.next(), 1000 / rate);
    if (t + gap > phaseEndMs) {
      // Memoryless: restart the gap from the phase boundary at the new rate.
      t = phaseEndMs;
      burst = !burst;
      phaseEndMs = t + exp(prng.next(), cycleMs * (burst ? share : 1 - share));
      continue;
    }
    t += gap;
    out.push({ id: `r${out.length}`, rows: o.rows ?? 1, arrivalMs: t, priority: 0, deadlineMs: t + o.sloMs });
  }
  return out;
}
