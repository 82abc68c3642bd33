// Why: how long a batch takes on a replica drives the SLO-aware batcher and the simulated K80 replica.
// The published K80 ResNet-50 table (BENCHMARKS.md §4) is the prior; a replica's own measurements refine
// it (an exponentially weighted mean per batch size), so the batcher sizes batches from what this
// replica really costs. Pure.

/** Images per second on one K80 device (GK210), ResNet-50 FP32, at batch 1, 2, 4, …, 128 (MXNet's table). */
export const K80_RESNET50_IMAGES_PER_S: readonly (readonly [number, number])[] = [
  [1, 67.4], [2, 93.4], [4, 119.2], [8, 131.3], [16, 155.4], [32, 159.4], [64, 167.6], [128, 171.6],
];

/** Execution time of a batch of `rows`, in ms. */
export type CostCurve = (rows: number) => number;

/**
 * The cost curve of a table of (batch size, rows/s): ms per batch at the table's sizes, linear between
 * them, and past the last size each further row costs what the last step's rows cost on average.
 * On a share of a device (`deviceShare` in (0, 1], e.g. 0.5 for half a K80's compute) a batch runs
 * proportionally slower: its time is divided by the share (time-slicing gives the replica that part of
 * the device's cycles).
 */
export function tableCost(table: readonly (readonly [number, number])[], deviceShare = 1): CostCurve {
  if (!(deviceShare > 0 && deviceShare <= 1)) throw new RangeError(`deviceShare must be in (0, 1], got ${deviceShare}`);
  if (table.length < 2) throw new RangeError('a cost table needs at least two batch sizes');
  const points = table.map(([b, rate]) => [b, (b / rate) * 1000] as const);
  const [lastB, lastMs] = points[points.length - 1]!;
  const [prevB, prevMs] = points[points.length - 2]!;
  const tailMsPerRow = (lastMs - prevMs) / (lastB - prevB);
  return (rows: number): number => {
    if (!(rows >= 1)) throw new RangeError(`a batch has at least one row, got ${rows}`);
    let ms: number;
    if (rows <= points[0]![0]) ms = points[0]![1];
    else if (rows >= lastB) ms = lastMs + (rows - lastB) * tailMsPerRow;
    else {
      let i = 1;
      while (points[i]![0] < rows) i++;
      const [b0, m0] = points[i - 1]!;
      const [b1, m1] = points[i]!;
      ms = m0 + ((rows - b0) / (b1 - b0)) * (m1 - m0);
    }
    return ms / deviceShare;
  };
}

/**
 * A replica's measured cost: per batch size (rounded up to a power of two), an exponentially weighted
 * mean of observed execution times, scaled to the exact size by the prior's shape; sizes never seen use
 * the prior scaled by the replica's overall ratio to it (a slower replica is slower everywhere).
 */
export class MeasuredCost {
  private readonly byBucket = new Map<number, number>();
  private ratio = 1;
  private samples = 0;
  private readonly prior: CostCurve;
  private readonly alpha: number;

  constructor(prior: CostCurve, alpha = 0.2) {
    this.prior = prior;
    this.alpha = alpha;
  }

  observe(rows: number, ms: number): void {
    if (!(rows >= 1) || !(ms >= 0) || !Number.isFinite(ms)) return;
    const bucket = bucketOf(rows);
    const scaled = ms * (this.prior(bucket) / this.prior(rows));
    const old = this.byBucket.get(bucket);
    this.byBucket.set(bucket, old === undefined ? scaled : old + this.alpha * (scaled - old));
    const r = ms / this.prior(rows);
    this.ratio = this.samples === 0 ? r : this.ratio + this.alpha * (r - this.ratio);
    this.samples++;
  }

  readonly cost: CostCurve = (rows) => {
    const bucket = bucketOf(rows);
    const seen = this.byBucket.get(bucket);
    if (seen !== undefined) return seen * (this.prior(rows) / this.prior(bucket));
    return this.prior(rows) * this.ratio;
  };
}

const bucketOf = (rows: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, rows)));
