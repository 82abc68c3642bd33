// Why: the cost curve is what the SLO-aware batcher bets deadlines on; pinned against the published K80
// table, the share rule and the measured refinement.
import { describe, expect, it } from 'vitest';
import { K80_RESNET50_IMAGES_PER_S, MeasuredCost, tableCost } from '../../src/inference/cost.ts';

describe('tableCost on the K80 ResNet-50 table', () => {
  const k80 = tableCost(K80_RESNET50_IMAGES_PER_S);
  it.each([
    [1, 14.84], [2, 21.41], [4, 33.56], [8, 60.93], [16, 102.96], [32, 200.75], [64, 381.86], [128, 745.92],
  ])('batch %i takes %f ms (batch / rate)', (rows, ms) => expect(k80(rows)).toBeCloseTo(ms, 1));

  it('interpolates between table sizes and extends past the last one at its marginal cost', () => {
    expect(k80(3)).toBeCloseTo((21.41 + 33.56) / 2, 1);
    expect(k80(24)).toBeCloseTo((102.96 + 200.75) / 2, 1);
    const perRow = (745.92 - 381.86) / 64;
    expect(k80(192)).toBeCloseTo(745.92 + 64 * perRow, 0);
  });

  it('gains flatten: throughput at 128 is 2.55x batch 1, at 32 2.37x', () => {
    const rate = (b: number) => (b / k80(b)) * 1000;
    expect(rate(128) / rate(1)).toBeCloseTo(2.546, 2);
    expect(rate(32) / rate(1)).toBeCloseTo(2.365, 2);
  });

  it('a share of the device runs proportionally slower', () => {
    const half = tableCost(K80_RESNET50_IMAGES_PER_S, 0.5);
    expect(half(8)).toBeCloseTo(2 * k80(8), 6);
    expect(() => tableCost(K80_RESNET50_IMAGES_PER_S, 0)).toThrow(RangeError);
    expect(() => tableCost(K80_RESNET50_IMAGES_PER_S, 1.5)).toThrow(RangeError);
    expect(() => k80(0)).toThrow(RangeError);
  });
});

describe('MeasuredCost', () => {
  const prior = tableCost(K80_RESNET50_IMAGES_PER_S);
  it('is the prior until something is measured', () => {
    const m = new MeasuredCost(prior);
    expect(m.cost(16)).toBe(prior(16));
  });

  it('learns a slower replica: measured sizes from their own samples, unseen sizes by the overall ratio', () => {
    const m = new MeasuredCost(prior, 0.5);
    for (let i = 0; i < 20; i++) m.observe(8, prior(8) * 1.5);
    expect(m.cost(8)).toBeCloseTo(prior(8) * 1.5, 3);
    expect(m.cost(6)).toBeCloseTo(prior(6) * 1.5, 3); // same bucket (8), scaled by the prior's shape
    expect(m.cost(64)).toBeCloseTo(prior(64) * 1.5, 3); // never seen: the overall ratio
  });

  it('ignores nonsense observations', () => {
    const m = new MeasuredCost(prior);
    m.observe(0, 10);
    m.observe(4, Number.NaN);
    m.observe(4, -1);
    expect(m.cost(4)).toBe(prior(4));
  });
});
