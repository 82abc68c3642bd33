// Why: turn the Trino benchmark's raw runs into what its issue asks for: per workload (hit through the
// front, plain upstream, miss through the front) medians of queries/s and whole-query p50/p99, and ratios
// each taken within one round (the pair measured back to back), median over rounds. Pure: no I/O.

import type { DoorCounts } from './trino-chain.ts';
import type { TrinoLoadResult } from './trino-load.ts';

export type Workload = 'hit-front' | 'direct-back' | 'miss-front';
export const WORKLOADS: readonly Workload[] = ['hit-front', 'direct-back', 'miss-front'];

export const WORKLOAD_NOTES: Record<Workload, string> = {
  'hit-front': 'front, cached answer (upstream untouched, checked)',
  'direct-back': 'straight to the upstream door (never caches: one execution per query)',
  'miss-front': 'front, unique literal per query: front miss -> upstream',
};

export interface TrinoRunRecord {
  /** 0 for untimed warm-up runs, else 1..rounds. */
  round: number;
  workload: Workload;
  startedAt: string;
  result: TrinoLoadResult;
  /** DuckDB executions under the back (the upstream) during the run. */
  upstreamExecutions: number;
  /** Executions of the front's engine=trino adapter (front misses sent upstream) during the run. */
  frontEngineExecutions: number;
  /** Front /metrics deltas: request results and collapsed waiters. */
  front: DoorCounts;
  /** Front cache hits by tier during the run (hit-front runs). */
  frontTierHits?: { l1: number; l2: number };
}

export interface WorkloadSummary {
  workload: Workload;
  runs: number;
  queries: number;
  queriesPerSecMedian: number;
  latencyP50MsMedian: number;
  latencyP99MsMedian: number;
  errors: number;
  /** Upstream (DuckDB) executions per successful query over all timed runs. */
  upstreamExecPerQuery: number;
}

export interface Ratio {
  name: string;
  median: number;
  perRound: number[];
  note: string;
}

export interface TrinoSummary {
  workloads: WorkloadSummary[];
  ratios: Ratio[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(runs: readonly TrinoRunRecord[]): TrinoSummary {
  const timed = runs.filter((r) => r.round > 0);
  const workloads: WorkloadSummary[] = [];
  for (const workload of WORKLOADS) {
    const mine = timed.filter((r) => r.workload === workload);
    if (mine.length === 0) continue;
    const queries = mine.reduce((n, r) => n + r.result.queries, 0);
    workloads.push({
      workload,
      runs: mine.length,
      queries,
      queriesPerSecMedian: median(mine.map((r) => r.result.queriesPerSec)),
      latencyP50MsMedian: median(mine.map((r) => r.result.latencyP50Ms)),
      latencyP99MsMedian: median(mine.map((r) => r.result.latencyP99Ms)),
      errors: mine.reduce((n, r) => n + r.result.errors, 0),
      upstreamExecPerQuery: queries > 0 ? mine.reduce((n, r) => n + r.upstreamExecutions, 0) / queries : Number.NaN,
    });
  }
  /** a(run) / b(run) within each round where both ran. */
  const perRound = (a: Workload, b: Workload, value: (r: TrinoLoadResult) => number): number[] => {
    const out: number[] = [];
    for (const ra of timed.filter((x) => x.workload === a)) {
      const rb = timed.find((x) => x.workload === b && x.round === ra.round);
      if (!rb) continue;
      const q = value(ra.result) / value(rb.result);
      if (Number.isFinite(q)) out.push(q);
    }
    return out;
  };
  const ratio = (name: string, values: number[], note: string): Ratio => ({ name, median: median(values), perRound: values, note });
  const qps = (r: TrinoLoadResult): number => r.queriesPerSec;
  const p50 = (r: TrinoLoadResult): number => r.latencyP50Ms;
  const ratios = [
    ratio('hit-front / direct-back queries/s', perRound('hit-front', 'direct-back', qps), 'throughput a repeated dashboard query gets from the cache'),
    ratio('direct-back p50 / hit-front p50', perRound('direct-back', 'hit-front', p50), 'latency speed-up of a repeated dashboard query'),
    ratio('miss-front / direct-back queries/s', perRound('miss-front', 'direct-back', qps), 'proxy cost on a miss (expected <= 1)'),
    ratio('miss-front p50 / direct-back p50', perRound('miss-front', 'direct-back', p50), 'latency a miss adds by passing through the front (expected >= 1)'),
  ];
  return { workloads, ratios };
}

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const ms = (n: number): string => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(1)) : '-');
const x2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '-');

/** Column 0 (and columns from `leftFrom` on) left-aligned, the rest right-aligned. */
export function textTable(rows: string[][], leftFrom = Number.POSITIVE_INFINITY): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const cell = (text: string, c: number): string => (c === 0 || c >= leftFrom ? text.padEnd(widths[c]!) : text.padStart(widths[c]!));
  return rows.map((r) => r.map(cell).join('  ').trimEnd()).join('\n');
}

export function formatWorkloads(s: TrinoSummary): string {
  const rows = [
    ['workload', 'runs', 'queries', 'queries/s', 'p50 ms', 'p99 ms', 'errors', 'upstream exec/query', 'what'],
    ...s.workloads.map((w) => [
      w.workload,
      String(w.runs),
      int(w.queries),
      int(w.queriesPerSecMedian),
      ms(w.latencyP50MsMedian),
      ms(w.latencyP99MsMedian),
      String(w.errors),
      x2(w.upstreamExecPerQuery),
      WORKLOAD_NOTES[w.workload],
    ]),
  ];
  return textTable(rows, 8);
}

export function formatRatios(s: TrinoSummary): string {
  const rows = [
    ['ratio (per round, then median)', 'median', 'per round', 'meaning'],
    ...s.ratios.map((r) => [r.name, x2(r.median), r.perRound.map(x2).join(' '), r.note]),
  ];
  return textTable(rows, 2);
}
