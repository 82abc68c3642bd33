// Why: the SLO-aware policy waits only when arrivals outrun what the replicas serve at the current batch
// size; this is its estimate of the arrival rate: rows that arrived in a sliding window. Pure.

export class RateEstimator {
  private readonly times: number[] = [];
  private readonly rows: number[] = [];
  private head = 0;
  private sum = 0;
  private readonly windowMs: number;

  constructor(windowMs = 1000) {
    this.windowMs = windowMs;
  }

  add(nowMs: number, rows: number): void {
    this.times.push(nowMs);
    this.rows.push(rows);
    this.sum += rows;
    this.trim(nowMs);
  }

  /** Rows per ms over the last window ending at `nowMs`. */
  rowsPerMs(nowMs: number): number {
    this.trim(nowMs);
    return this.sum / this.windowMs;
  }

  private trim(nowMs: number): void {
    while (this.head < this.times.length && this.times[this.head]! <= nowMs - this.windowMs) {
      this.sum -= this.rows[this.head]!;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times.splice(0, this.head);
      this.rows.splice(0, this.head);
      this.head = 0;
    }
  }
}
