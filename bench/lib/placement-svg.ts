// Why: `bench:placement --svg` draws mean allocation % against arrived % per policy, one chart per trace
// stacked vertically, beside the published points (BENCHMARKS.md §2), so a run can be eyeballed against
// the FGD paper. Each chart has the full range and a zoom on arrived 90–130 %, where the policies
// differ by a few points that the full range cannot show. Pure string building; no dependencies.
import { PUBLISHED_DEFAULT_EXTRA, PUBLISHED_UNALLOCATED_PCT_AT_100 } from './placement-published.ts';

export interface ChartSeries {
  policy: string;
  /** Mean allocation % by arrived %, index 0..130, NaN where no sample. */
  allocationPctByArrived: readonly number[];
}
export interface TraceChart {
  trace: string;
  seeds: readonly number[];
  series: readonly ChartSeries[];
}

interface Point { arrivedPct: number; allocationPct: number }
interface Domain { x0: number; x1: number; y0: number; y1: number }
interface Box { leftPx: number; topPx: number; widthPx: number; heightPx: number }

const WIDTH_PX = 960;
const HEADER_PX = 40;
const CHART_HEIGHT_PX = 390;
const PLOT_WIDTH_PX = 380;
const PLOT_HEIGHT_PX = 260;
const ZOOM_FROM_ARRIVED_PCT = 90;
const MAX_ARRIVED_PCT = 130;
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/** Mean per index over seeds, skipping NaN; NaN where no seed has a value. */
export function meanCurve(curves: readonly (readonly number[])[]): number[] {
  const length = Math.max(0, ...curves.map((c) => c.length));
  return Array.from({ length }, (_, i) => {
    const xs = curves.map((c) => c[i] ?? Number.NaN).filter((x) => !Number.isNaN(x));
    return xs.length === 0 ? Number.NaN : xs.reduce((a, x) => a + x, 0) / xs.length;
  });
}

/** Published allocation points (100 − unallocated) for a trace and policy: at 100 %, and on default at 130 %. */
export function publishedPoints(trace: string, policy: string): Point[] {
  const out: Point[] = [];
  const at100 = PUBLISHED_UNALLOCATED_PCT_AT_100[trace]?.[policy];
  if (at100 !== undefined) out.push({ arrivedPct: 100, allocationPct: 100 - at100 });
  const at130 = trace === 'default' ? PUBLISHED_DEFAULT_EXTRA[policy]?.unallocatedPctAt130 : undefined;
  if (at130 !== undefined) out.push({ arrivedPct: 130, allocationPct: 100 - at130 });
  return out;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n1 = (x: number): string => x.toFixed(1);
const colorOf = (i: number): string => PALETTE[i % PALETTE.length] ?? '#000';

function ticks(lo: number, hi: number): number[] {
  const step = [0.5, 1, 2, 5, 10, 20, 25, 50].find((s) => (hi - lo) / s <= 14) ?? 100;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Math.round(v * 10) / 10);
  return out;
}

function panel(box: Box, d: Domain, caption: string, chart: TraceChart): string[] {
  const sx = (x: number): number => box.leftPx + ((x - d.x0) / (d.x1 - d.x0)) * box.widthPx;
  const sy = (y: number): number => box.topPx + box.heightPx - ((y - d.y0) / (d.y1 - d.y0)) * box.heightPx;
  const bottomPx = box.topPx + box.heightPx;
  const out = [`<rect x="${box.leftPx}" y="${box.topPx}" width="${box.widthPx}" height="${box.heightPx}" fill="#fff" stroke="#999"/>`];
  for (const x of ticks(d.x0, d.x1)) {
    out.push(`<line x1="${n1(sx(x))}" y1="${box.topPx}" x2="${n1(sx(x))}" y2="${bottomPx + 4}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${n1(sx(x))}" y="${bottomPx + 16}" font-size="11" text-anchor="middle">${x}</text>`);
  }
  for (const y of ticks(d.y0, d.y1)) {
    out.push(`<line x1="${box.leftPx - 4}" y1="${n1(sy(y))}" x2="${box.leftPx + box.widthPx}" y2="${n1(sy(y))}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${box.leftPx - 7}" y="${n1(sy(y) + 4)}" font-size="11" text-anchor="end">${y}</text>`);
  }
  out.push(`<rect x="${box.leftPx}" y="${box.topPx}" width="${box.widthPx}" height="${box.heightPx}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${box.leftPx + box.widthPx / 2}" y="${box.topPx - 8}" font-size="12" text-anchor="middle" fill="#444">${esc(caption)}</text>`);
  out.push(`<text x="${box.leftPx + box.widthPx / 2}" y="${bottomPx + 34}" font-size="12" text-anchor="middle">arrived GPU (% of capacity)</text>`);
  const yMidPx = box.topPx + box.heightPx / 2;
  out.push(`<text x="${box.leftPx - 42}" y="${yMidPx}" font-size="12" text-anchor="middle" transform="rotate(-90 ${box.leftPx - 42} ${yMidPx})">allocated GPU (%)</text>`);
  chart.series.forEach((s, i) => {
    const pts = s.allocationPctByArrived
      .map((y, x) => ({ x, y }))
      .filter((p) => !Number.isNaN(p.y) && p.x >= d.x0 && p.x <= d.x1)
      .map((p) => `${n1(sx(p.x))},${n1(sy(p.y))}`);
    out.push(`<polyline data-policy="${esc(s.policy)}" points="${pts.join(' ')}" fill="none" stroke="${colorOf(i)}" stroke-width="1.8" stroke-linejoin="round"/>`);
    for (const p of publishedPoints(chart.trace, s.policy)) {
      if (p.arrivedPct < d.x0 || p.arrivedPct > d.x1) continue;
      out.push(`<circle cx="${n1(sx(p.arrivedPct))}" cy="${n1(sy(p.allocationPct))}" r="4.5" fill="#fff" fill-opacity="0.6" stroke="${colorOf(i)}" stroke-width="2"><title>published ${esc(s.policy)}: ${p.allocationPct.toFixed(2)} % at ${p.arrivedPct} % arrived</title></circle>`);
    }
  });
  return out;
}

/** The zoom's y range: around every value (and published point) at arrived ≥ 90 %, capped at 100. */
function zoomDomain(chart: TraceChart): Domain {
  const ys = chart.series.flatMap((s) => [
    ...s.allocationPctByArrived.slice(ZOOM_FROM_ARRIVED_PCT).filter((y) => !Number.isNaN(y)),
    ...publishedPoints(chart.trace, s.policy).map((p) => p.allocationPct),
  ]);
  if (ys.length === 0) return { x0: ZOOM_FROM_ARRIVED_PCT, x1: MAX_ARRIVED_PCT, y0: 0, y1: 100 };
  return { x0: ZOOM_FROM_ARRIVED_PCT, x1: MAX_ARRIVED_PCT, y0: Math.floor(Math.min(...ys)) - 1, y1: Math.min(100, Math.ceil(Math.max(...ys)) + 1) };
}

function legend(chart: TraceChart, leftPx: number, yPx: number): string[] {
  const out: string[] = [];
  let x = leftPx;
  chart.series.forEach((s, i) => {
    out.push(`<line x1="${x}" y1="${yPx - 4}" x2="${x + 24}" y2="${yPx - 4}" stroke="${colorOf(i)}" stroke-width="2.5"/>`);
    out.push(`<text x="${x + 30}" y="${yPx}" font-size="12">${esc(s.policy)}</text>`);
    x += 30 + 7 * s.policy.length + 24;
  });
  if (chart.series.some((s) => publishedPoints(chart.trace, s.policy).length > 0)) {
    out.push(`<circle cx="${x + 8}" cy="${yPx - 4}" r="4.5" fill="#fff" stroke="#555" stroke-width="2"/>`);
    out.push(`<text x="${x + 20}" y="${yPx}" font-size="12">published (FGD paper, seeds 42–51), in the policy's colour</text>`);
  }
  return out;
}

/** One SVG document: a chart (full range + zoom) per trace, stacked vertically. */
export function placementSvg(charts: readonly TraceChart[]): string {
  const heightPx = HEADER_PX + charts.length * CHART_HEIGHT_PX;
  const title = 'GPU allocation against arrived GPU, FGD protocol on the Alibaba trace';
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH_PX}" height="${heightPx}" viewBox="0 0 ${WIDTH_PX} ${heightPx}" font-family="Helvetica, Arial, sans-serif">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${WIDTH_PX}" height="${heightPx}" fill="#fff"/>`,
    `<text x="${WIDTH_PX / 2}" y="26" font-size="17" font-weight="bold" text-anchor="middle">${esc(title)}</text>`,
  ];
  charts.forEach((chart, k) => {
    const topPx = HEADER_PX + k * CHART_HEIGHT_PX;
    const first = chart.seeds[0];
    const last = chart.seeds[chart.seeds.length - 1];
    const contiguous = chart.seeds.every((s, i) => s === (first ?? 0) + i);
    const list = contiguous && chart.seeds.length > 2 ? `${first}–${last}` : chart.seeds.join(', ');
    const seeds = chart.seeds.length === 0 ? 'no seeds' : `mean of ${chart.seeds.length} seed${chart.seeds.length === 1 ? '' : 's'} (${list})`;
    out.push(`<g data-trace="${esc(chart.trace)}">`);
    out.push(`<text x="70" y="${topPx + 22}" font-size="14" font-weight="bold">trace ${esc(chart.trace)}: ${esc(seeds)}</text>`);
    out.push(...legend(chart, 70, topPx + 44));
    const plotTopPx = topPx + 80;
    out.push(...panel({ leftPx: 70, topPx: plotTopPx, widthPx: PLOT_WIDTH_PX, heightPx: PLOT_HEIGHT_PX }, { x0: 0, x1: MAX_ARRIVED_PCT, y0: 0, y1: 100 }, 'full range', chart));
    out.push(...panel({ leftPx: 540, topPx: plotTopPx, widthPx: PLOT_WIDTH_PX, heightPx: PLOT_HEIGHT_PX }, zoomDomain(chart), `zoom: arrived ${ZOOM_FROM_ARRIVED_PCT}–${MAX_ARRIVED_PCT} %`, chart));
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
