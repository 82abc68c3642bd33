// Why: the scheduler's typical-pod mix must favour recent requests, forget old ones, stay bounded,
// and count each job once however many rounds it is seen in.
import { describe, expect, it } from 'vitest';
import { RequestMix } from '../../../src/gpu/scheduling/request-mix.ts';
import { typicalSpecs } from '../../../src/gpu/placement/typical-specs.ts';
import type { PlacementRequest } from '../../../src/gpu/placement/model.ts';

const HOUR_MS = 3_600_000;
const whole = (id: string): PlacementRequest => ({ id, tenant: 't', priority: 0, cpuMilli: 1000, memoryMiB: 1000, gpus: 1 });
const share = (id: string): PlacementRequest => ({ id, tenant: 't', priority: 0, cpuMilli: 1000, memoryMiB: 3000, gpuMilli: 500 });

describe('request mix', () => {
  it('weighs a request half per half-life of age', () => {
    const mix = new RequestMix({ halfLifeMs: HOUR_MS });
    mix.observe('a', whole('a'), 0); // 2 h old at t = 2 h: weight 1/4
    mix.observe('b', share('b'), 2 * HOUR_MS); // new: weight 1
    const specs = mix.specs(2 * HOUR_MS);
    // share 1 / (1 + 0.25) = 0.8, whole 0.2 — both needed for 95 % coverage
    expect(specs.map((s) => [s.gpuMilliPerDevice, s.probability])).toEqual([[500, 0.8], [1000, 0.2]]);
  });

  it('counts a job once however often it is seen, and forgets past the horizon', () => {
    const mix = new RequestMix({ halfLifeMs: HOUR_MS, horizonHalfLives: 2 });
    mix.observe('a', whole('a'), 0);
    mix.observe('a', whole('a'), HOUR_MS); // seen again: still weighs from t = 0
    mix.observe('b', share('b'), HOUR_MS);
    expect(mix.specs(HOUR_MS).map((s) => s.probability)).toEqual([1 / 1.5, 0.5 / 1.5]);
    expect(mix.specs(2 * HOUR_MS + 1).length).toBe(1); // 'a' is past 2 half-lives: forgotten
    expect(mix.size).toBe(1);
  });

  it('stays bounded, dropping the oldest first', () => {
    const mix = new RequestMix({ halfLifeMs: HOUR_MS, maxRequests: 3 });
    ['a', 'b', 'c', 'd'].forEach((id, i) => mix.observe(id, i === 0 ? share(id) : whole(id), i));
    expect(mix.size).toBe(3);
    expect(mix.specs(10).map((s) => s.gpuMilliPerDevice)).toEqual([1000]); // the share ('a') was dropped
  });

  it('unweighted, typicalSpecs is the trace protocol; weights carry into mean memory', () => {
    expect(typicalSpecs([whole('a'), share('b')], 100).map((s) => s.probability)).toEqual([0.5, 0.5]);
    const two = [{ ...share('x'), memoryMiB: 1000 }, { ...share('y'), memoryMiB: 4000 }];
    expect(typicalSpecs(two, 100, 1, [3, 1])[0]?.memoryMiB).toBe(1750); // (3·1000 + 1·4000) / 4
  });
});
