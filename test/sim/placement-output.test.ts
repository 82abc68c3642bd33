// Why: the bench's CSV must line up column by column with the authors' analysis_allo_discrete.csv, and
// its SVG must be a well-formed document with one curve per policy in each panel (full range and zoom).
import { describe, it, expect } from 'vitest';
import { placementCsv, placementCsvHeader, placementCsvRow } from '../../bench/lib/placement-csv.ts';
import { meanCurve, placementSvg } from '../../bench/lib/placement-svg.ts';

const curve = (scale: number): number[] => Array.from({ length: 131 }, (_, pct) => Math.min(pct, 90 + scale * (pct - 90) / 10));

describe('placement CSV', () => {
  it('has the authors’ header: workload, sc_policy, tune, seed, total_gpus, then 0..130', () => {
    const header = placementCsvHeader().split(',');
    expect(header.slice(0, 6)).toEqual(['workload', 'sc_policy', 'tune', 'seed', 'total_gpus', '0']);
    expect(header).toHaveLength(5 + 131);
    expect(header.at(-1)).toBe('130');
  });

  it('writes one row per trial with the authors’ labels, 2 decimals, empty where no sample', () => {
    const alloc = Array.from({ length: 131 }, (_, pct) => (pct === 3 ? Number.NaN : pct / 3));
    const row = placementCsvRow({ trace: 'default', policy: 'fgd', seed: 42, allocationPctByArrived: alloc }, 6212).split(',');
    expect(row.slice(0, 9)).toEqual(['openb_pod_list_default', '06-FGD', '1.3', '42', '6212', '0.00', '0.33', '0.67', '']);
    expect(row).toHaveLength(5 + 131);
    const file = placementCsv([{ trace: 'default', policy: 'first-fit', seed: 43, allocationPctByArrived: alloc }], 6212);
    expect(file.split('\n')).toHaveLength(3);
    expect(file.split('\n')[1]?.startsWith('openb_pod_list_default,first-fit,1.3,43,6212,')).toBe(true);
  });
});

/** Every tag closes in order (a tiny well-formedness check; no XML parser in the dependencies). */
function balanced(xml: string): boolean {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m;
    if (selfClose === '/') continue;
    if (close === '/') { if (stack.pop() !== name) return false; }
    else stack.push(name ?? '');
  }
  return stack.length === 0;
}

describe('placement SVG', () => {
  it('averages seeds, skipping NaN', () => {
    expect(meanCurve([[1, Number.NaN, 3], [3, Number.NaN, Number.NaN]])).toEqual([2, Number.NaN, 3]);
  });

  it('is well-formed with one polyline per policy in each of the two panels and the published points', () => {
    const svg = placementSvg([{ trace: 'default', seeds: [42, 43], series: [
      { policy: 'best-fit', allocationPctByArrived: curve(3) },
      { policy: 'fgd', allocationPctByArrived: curve(5) },
    ] }]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(balanced(svg)).toBe(true);
    expect(svg.match(/<polyline data-policy="best-fit"/g)).toHaveLength(2);
    expect(svg.match(/<polyline data-policy="fgd"/g)).toHaveLength(2);
    expect(svg).toContain('published fgd: 95.23 % at 100 % arrived');
    expect(svg).not.toContain('NaN');
  });
});
