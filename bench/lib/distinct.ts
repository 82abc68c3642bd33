// Why: a benchmark that sends one SQL text measures a cache holding one entry. Real traffic spreads over
// many statements, and what changes with their number is what the hit path touches: at 1k distinct 2 KB
// answers L1 holds them all; at 100k they no longer fit HOTPATH_L1_MAX_BYTES (128 MiB by default: ~51k
// entries of 2 KB + 512 bytes), so a round-robin over them misses L1 (an LRU under a cycle larger than it
// is) and every hit comes from Redis; the planner's memos (plans: half the L1 budget, at least 16 MiB;
// parses: 16 MiB) stop holding every statement too. This file has the statement family (same answer, same
// size, one literal apart), an engine that fills N entries fast, and the table of the runs.
//
// Filling: 100k misses through DuckDB would take many minutes (each is a real query), so the distinct-
// query apps run on a ReplayEngine: it answers every statement of the family with the rows DuckDB gave
// for the first one (checked: DuckDB's answer to the first and the last statement renders to the same
// bytes), and sends everything else, and every parse (Engine.relations), to DuckDB. A fill is otherwise
// the app's real miss path (plan, admission, store into Redis and L1); hit runs never reach the engine
// (checked: 0 executions).

import type { Engine, EngineQuery, EngineResult, Relations, RelationsQuery } from '../../src/query-cache/engines/engine.ts';
import { renderJsonAnswer } from '../../src/query-cache/core/render-json.ts';
import { median } from './report.ts';
import type { LoadGenerator, LoadResult } from './loadgen.ts';

/** Distinct statements per run: quick and full defaults (`--distinct` overrides). */
export const DISTINCT_QUICK: readonly number[] = [1, 1000];
export const DISTINCT_FULL: readonly number[] = [1, 1000, 100_000];
export const DISTINCT_MAX = 1_000_000;

/**
 * Statement i of the family: the customers answer of `limit` rows, with an always-true predicate whose
 * literal makes the cache key differ (customer ids are positive). The answer and its size do not change.
 */
export function distinctSql(limit: number, i: number): string {
  return `SELECT * FROM demo.sales.customers WHERE customer_id <> -${i} ORDER BY customer_id LIMIT ${limit}`;
}

const FAMILY = /^SELECT \* FROM demo\.sales\.customers WHERE customer_id <> -\d+ ORDER BY customer_id LIMIT (\d+)$/;

/** The request bodies of statements 1..n. */
export function distinctBodies(limit: number, n: number): string[] {
  return Array.from({ length: n }, (_, k) => JSON.stringify({ sql: distinctSql(limit, k + 1) }));
}

/** `--distinct 1,1000,100000`: the counts, ascending, 1 always included (the baseline). Throws a message. */
export function parseDistinct(spec: string): number[] {
  const counts = spec.split(',').map((x) => (x.trim() === '' ? Number.NaN : Number(x)));
  for (const n of counts) {
    if (!Number.isInteger(n) || n < 1 || n > DISTINCT_MAX) throw new Error(`expected counts from 1 to ${DISTINCT_MAX} like 1,1000,100000, got "${spec}"`);
  }
  return [...new Set([1, ...counts])].sort((a, b) => a - b);
}

/**
 * Answers the statement family with one recorded result (see the file's comment); everything else goes
 * to `inner`. Parses (Engine.relations) go to `inner` too, except while `quickParses` is on: then a
 * family statement gets the parse DuckDB gave statement 1 (the same tables and flags: only a literal
 * differs). Fills and priming passes turn it on (DuckDB's one parse connection does a few hundred a
 * second: 100k would take minutes); timed runs turn it off, so a hit that has to re-plan pays the real
 * parse. Counts executions (replayed or not) and parses sent to `inner`.
 */
export class ReplayEngine implements Engine {
  readonly id: string;
  readonly inner: Engine;
  executions = 0;
  parses = 0;
  quickParses = false;
  private recorded: { limit: number; result: EngineResult; relations: Relations } | undefined;

  constructor(inner: Engine) {
    this.inner = inner;
    this.id = inner.id;
  }

  /**
   * Record DuckDB's answer to statement 1 of the family at `limit`, and its parse, and check that
   * statement `lastIndex` renders to the same bytes and parses to the same tables. Returns the answer's size.
   */
  async record(limit: number, lastIndex: number, user: string): Promise<number> {
    const run = (i: number) => this.inner.execute({ sql: distinctSql(limit, i), user, session: {} }, AbortSignal.timeout(30_000));
    const parse = (i: number): Promise<Relations> =>
      this.inner.relations ? this.inner.relations({ sql: distinctSql(limit, i) }, AbortSignal.timeout(30_000)) : Promise.resolve({ kind: 'parsed', tables: [], complete: false, readsSystem: false, nondeterministic: false });
    const first = await run(1);
    const bytes = renderJsonAnswer(first);
    const relations = await parse(1);
    if (lastIndex > 1) {
      if (!renderJsonAnswer(await run(lastIndex)).equals(bytes)) {
        throw new Error(`distinct statements 1 and ${lastIndex} do not give the same answer; the family must not change the answer`);
      }
      if (JSON.stringify(await parse(lastIndex)) !== JSON.stringify(relations)) throw new Error(`distinct statements 1 and ${lastIndex} do not parse alike`);
    }
    if (relations.kind !== 'parsed' || !relations.complete) throw new Error(`the distinct statements must parse to a complete table set: ${JSON.stringify(relations)}`);
    this.recorded = { limit, result: first, relations };
    return bytes.length;
  }

  private family(sql: string): boolean {
    const m = FAMILY.exec(sql);
    return m !== null && this.recorded !== undefined && Number(m[1]) === this.recorded.limit;
  }

  execute(query: EngineQuery, signal: AbortSignal): Promise<EngineResult> {
    this.executions++;
    const rec = this.recorded;
    if (rec && this.family(query.sql)) return Promise.resolve({ columns: rec.result.columns, rows: rec.result.rows });
    return this.inner.execute(query, signal);
  }

  relations(query: RelationsQuery, signal: AbortSignal): Promise<Relations> {
    const rec = this.recorded;
    if (this.quickParses && rec && this.family(query.sql) && (query.normalized === undefined || query.normalized === query.sql)) return Promise.resolve(rec.relations);
    this.parses++;
    return this.inner.relations
      ? this.inner.relations(query, signal)
      : Promise.resolve({ kind: 'parsed', tables: [], complete: false, readsSystem: false, nondeterministic: false });
  }

  ping(signal: AbortSignal): Promise<void> {
    return this.inner.ping(signal);
  }

  close(): Promise<void> {
    return Promise.resolve(); // the inner engine belongs to the caller
  }
}

/** Which distinct-query app: L1 on (shipped budget) or L1 off (every hit from Redis). */
export type DistinctTier = 'l1-hit' | 'l2-hit';

export interface DistinctRun {
  /** 0: untimed JIT warm-up. */
  round: number;
  /** The N of the block this run belongs to: each block measures N=1 and N=block side by side. */
  block: number;
  n: number;
  server: DistinctTier;
  startedAt: string;
  result: LoadResult;
  /** Hits by tier during the run (/metrics deltas). */
  tierHits: { l1: number; l2: number };
  /** hotpath_cache_l1_bytes after the run, and the budget (HOTPATH_L1_MAX_BYTES). */
  l1Bytes: number;
  l1MaxBytes: number;
  /** L1 evictions during the run. */
  l1Evictions: number;
  /** Engine executions (must be 0) and parses (Engine.relations: the planner's memos missed) during the run. */
  engineExecutions: number;
  parses: number;
}

export interface DistinctFill {
  n: number;
  /** Statements sent to fill (those not already stored by a smaller count's fill). */
  sent: number;
  seconds: number;
  perSec: number;
}

export interface DistinctSummary {
  n: number;
  server: DistinctTier;
  runs: number;
  reqPerSecMedian: number;
  /** Median over rounds of this run's req/s over the same app's N=1 run of the same block and round. */
  overN1Median: number;
  overN1PerRound: number[];
  latencyP50MsMedian: number;
  latencyP99MsMedian: number;
  /** Share of the runs' hits that came from L1 (all rounds together). */
  l1Share: number;
  /** hotpath_cache_l1_bytes: the least seen after a run at this N (warm-ups included). */
  l1BytesLeast: number;
  l1MaxBytes: number;
  l1EvictionsPerRequest: number;
  parsesPerRequest: number;
}

export function summarizeDistinct(runs: readonly DistinctRun[]): DistinctSummary[] {
  const timed = runs.filter((r) => r.round > 0);
  const out: DistinctSummary[] = [];
  for (const server of ['l1-hit', 'l2-hit'] as const) {
    const counts = [...new Set(timed.filter((r) => r.server === server).map((r) => r.n))].sort((a, b) => a - b);
    for (const n of counts) {
      const mine = timed.filter((r) => r.server === server && r.n === n);
      const overN1: number[] = [];
      for (const r of mine) {
        const base = timed.find((b) => b.server === server && b.n === 1 && b.block === r.block && b.round === r.round);
        if (base && base.result.reqPerSec > 0) overN1.push(r.result.reqPerSec / base.result.reqPerSec);
      }
      const l1 = mine.reduce((a, r) => a + r.tierHits.l1, 0);
      const l2 = mine.reduce((a, r) => a + r.tierHits.l2, 0);
      const requests = Math.max(1, mine.reduce((a, r) => a + r.result.requests, 0));
      out.push({
        n,
        server,
        runs: mine.length,
        reqPerSecMedian: median(mine.map((r) => r.result.reqPerSec)),
        overN1Median: median(overN1),
        overN1PerRound: overN1,
        latencyP50MsMedian: median(mine.map((r) => r.result.latencyP50Ms)),
        latencyP99MsMedian: median(mine.map((r) => r.result.latencyP99Ms)),
        l1Share: l1 + l2 > 0 ? l1 / (l1 + l2) : Number.NaN,
        // The least seen after any run at this N, warm-ups included: an N=1 run inside a larger block finds
        // that block's entries still in L1; the warm-up at N=1 ran before any other statement was stored.
        l1BytesLeast: Math.min(...runs.filter((r) => r.server === server && r.n === n).map((r) => r.l1Bytes)),
        l1MaxBytes: mine[0]?.l1MaxBytes ?? 0,
        l1EvictionsPerRequest: mine.reduce((a, r) => a + r.l1Evictions, 0) / requests,
        parsesPerRequest: mine.reduce((a, r) => a + r.parses, 0) / requests,
      });
    }
  }
  return out;
}

const pct = (x: number): string => (x > 0 && x < 0.01 ? '<1 %' : `${Math.round(100 * x)} %`);
const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const mib = (bytes: number): string => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`);

export function formatDistinct(rows: readonly DistinctSummary[], bodyBytes: number, connections: number, fills: readonly DistinctFill[], example: string): string {
  const table: string[][] = [
    ['server', 'distinct', 'runs', 'req/s (median)', '× N=1', 'per round', 'p50 ms', 'p99 ms', 'hits l1/l2', 'L1 used / budget', 'evict/req', 'parse/req'],
    ...rows.map((r) => [
      r.server,
      int(r.n),
      String(r.runs),
      int(r.reqPerSecMedian),
      Number.isFinite(r.overN1Median) ? r.overN1Median.toFixed(2) : '-',
      r.n === 1 ? '' : r.overN1PerRound.map((x) => x.toFixed(2)).join(' '),
      String(r.latencyP50MsMedian),
      String(r.latencyP99MsMedian),
      Number.isFinite(r.l1Share) ? `${Math.round(r.l1Share * 100)}/${Math.round((1 - r.l1Share) * 100)} %` : '-',
      r.l1MaxBytes === 0 ? 'L1 off' : `${mib(r.l1BytesLeast)} / ${mib(r.l1MaxBytes)} (${pct(r.l1BytesLeast / r.l1MaxBytes)})`,
      r.l1EvictionsPerRequest.toFixed(2),
      r.parsesPerRequest.toFixed(2),
    ]),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => (row[c] ?? '').length)));
  const left = new Set([0, 5]);
  const text = table.map((row) => row.map((cell, c) => (left.has(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd()).join('\n');
  const fillText = fills.map((f) => `${int(f.n)}: ${int(f.sent)} sent${f.sent >= 100 ? ` in ${f.seconds.toFixed(1)} s (${int(f.perSec)}/s)` : ''}`).join('; ');
  return (
    `== distinct queries: ${bodyBytes.toLocaleString('en-US')}-byte answers, N statements round-robin, c=${connections}, hotpath as shipped ==\n` +
    `   ${example}  (i = 1..N; same answer, N cache keys)\n` +
    `${text}\n` +
    `filled through the miss path first: ${fillText}. hits l1/l2: share of the runs' hits per tier (/metrics ` +
    `hotpath_cache_tier_hits_total); L1 used: hotpath_cache_l1_bytes, the least after a run at that N (the N=1 runs inside ` +
    `a block find the block's entries still there; its warm-up did not); evict/req: L1 evictions per request; parse/req: statements the planner ` +
    `had to parse again (its memos missed); × N=1: against the same app's N=1 run measured next to it (each N is a block of ` +
    `rounds with N=1 beside it, after one untimed pass over its N statements through each app).`
  );
}

/**
 * Store statements from..to (1-based, inclusive) through `url`'s miss path: each body once, round-robin,
 * in chunks with a progress line each. Throws when any request failed.
 */
export async function fillDistinct(
  loadgen: LoadGenerator,
  url: string,
  bodies: readonly string[],
  from: number,
  headers: Record<string, string>,
  say: (line: string) => void,
): Promise<{ sent: number; seconds: number }> {
  const CHUNK = 10_000;
  const started = Date.now();
  let sent = 0;
  for (let start = from - 1; start < bodies.length; start += CHUNK) {
    const chunk = bodies.slice(start, start + CHUNK);
    // durationSec only bounds the run (amount stops it): at least 100 fills/s or it counts as stuck.
    const r = await loadgen.run({ url, connections: Math.min(32, chunk.length), durationSec: Math.max(10, chunk.length / 100), body: chunk[0]!, bodies: chunk, amount: chunk.length, headers });
    if (r.errors + r.timeouts + r.non2xx > 0) throw new Error(`filling distinct statements: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx (${JSON.stringify(r.statusCodes)})`);
    sent += r.requests;
    const sec = (Date.now() - started) / 1000;
    say(`  filling ${bodies.length.toLocaleString('en-US')} distinct statements: ${(start + chunk.length).toLocaleString('en-US')} stored (${Math.round(sent / sec).toLocaleString('en-US')}/s)`);
  }
  return { sent, seconds: (Date.now() - started) / 1000 };
}
