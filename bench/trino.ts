// Why: `npm run bench:trino [-- --quick]`: what hotpath in front of Trino gives real Trino clients. With the
// `trino-client` package (POST /v1/statement, then every nextUri page), it measures whole-query latency
// (p50/p99) and queries/s for a dashboard aggregate answered from the front's cache (hit-front), the same SQL
// straight to the upstream door (direct-back), and unique SQL through the front (miss-front: a front miss
// that goes upstream), interleaved in rounds as BENCHMARKS.md asks (A B C, then C B A, ...; ratios per round,
// medians). Then 100 concurrent identical cold queries at the front must cause exactly 1 upstream execution.
//
// Set-up, one process: a private redis-server; DuckDB (200k demo orders) counting its executions; the "back"
// hotpath app on it, whose Trino door is the upstream and never caches (HOTPATH_CACHE_RULES cache:false on
// catalog demo) so it behaves as a plain Trino, one execution per query; the "front" hotpath app with
// engine=trino -> back. Client loops run in a worker thread. Speed numbers are informational; it exits
// non-zero only when single-flight is broken (a count) or the bench cannot measure (Redis will not start,
// set-up checks fail, a hit run sees errors or reaches the upstream). Raw runs and summary go to
// bench/results/trino-<timestamp>.json (--json FILE); --help lists the options.

import { cpus } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { benchCli, jsonOption, machine, progress, resultsPath, stopChild, writeResults, type OptionValues } from './lib/cli.ts';
import { hasRedisServer, startRedisServer } from '../src/shared/redis-autostart.ts';
import { freePort } from '../test/helpers/redis.ts';
import { tierHits } from './lib/servers.ts';
import { BACK_CACHE_RULES, countsDelta, doorCounts, startRealTrinoChain, startTrinoChain, type DoorCounts, type TrinoChain } from './lib/trino-chain.ts';
import { killAllTrinoLoad, startTrinoLoad, trinoQuery, type TrinoLoad, type TrinoLoadResult, type TrinoLoadSpec } from './lib/trino-load.ts';
import { formatRatios, formatWorkloads, summarize, type TrinoRunRecord, type Workload } from './lib/trino-report.ts';

const DEMO_ORDER_ROW_COUNT = 200_000;
const SINGLE_FLIGHT_CONCURRENT = 100;
const USER = 'bench';
const CATALOG = 'demo';
const SCHEMA = 'sales';

/**
 * The dashboard aggregate. `run` is a literal in the SELECT list: 0 for the repeated query (hit-front,
 * direct-back), a number unique per query for miss-front (comments would not do: the cache key ignores
 * them), a nonce for the single-flight burst. Same shape and row count in every case.
 */
const dashboardSql = (run: string): string =>
  `SELECT ${run} AS run, c.region, o.status, count(*) AS n, sum(o.total_amount) AS total, max(o.created_at) AS last_at ` +
  'FROM demo.sales.orders o JOIN demo.sales.customers c USING (customer_id) GROUP BY 2, 3 ORDER BY 2, 3';
const REPEATED_SQL = dashboardSql('0');
/** `{n}` is replaced per query by the load worker. */
const UNIQUE_SQL = dashboardSql('{n}');

interface Options {
  rounds: number;
  durationSec: number;
  warmupSec: number;
  concurrency: number;
  quick: boolean;
  real: boolean;
}

const OPTIONS = {
  quick: { type: 'boolean', help: 'short runs (1.5 s, 2 rounds, 0.5 s warm-ups), as CI runs it' },
  real: { type: 'boolean', help: 'the back is a real Trino 476 (scripts/trino-setup.sh, JDK 24+), the demo tables in its memory catalog' },
  rounds: { type: 'number', integer: true, min: 1, max: 20, defaultText: '3; 2 with --quick', help: 'measured rounds per workload' },
  duration: { type: 'number', arg: 'SECONDS', min: 0.5, max: 60, defaultText: '5; 1.5 with --quick', help: 'length of each run' },
  concurrency: { type: 'number', integer: true, default: 16, min: 1, max: 256, help: 'concurrent trino-client loops' },
  json: jsonOption('trino'),
} as const;

function deriveOptions(values: OptionValues<typeof OPTIONS>): Options {
  const quick = values.quick;
  const durationSec = values.duration ?? (quick ? 1.5 : 5);
  return {
    rounds: values.rounds ?? (quick ? 2 : 3),
    durationSec,
    warmupSec: quick ? 0.5 : Math.min(durationSec, 1.5),
    concurrency: values.concurrency,
    quick,
    real: values.real,
  };
}

/** Seconds the measurements take (without set-up), to size the watchdog. */
const plannedSec = (o: Options): number => 3 * o.warmupSec + 3 * o.rounds * o.durationSec + 60;

// ---- process-wide safety net: whatever happens, Redis and the client worker die with us ----
const cli = benchCli({
  name: 'bench:trino',
  about: `Measures what hotpath in front of Trino gives real Trino clients (the trino-client package): whole-query
latency (p50/p99) and queries/s for a dashboard aggregate answered from the front's cache (hit-front),
the same SQL straight to the upstream door (direct-back) and unique SQL through the front (miss-front),
in interleaved rounds, with ratios; then 100 concurrent identical cold queries at the front must cause
exactly 1 upstream execution. Starts a private redis-server, DuckDB (200k demo orders) and two
in-process hotpath apps (back: the upstream door; front: engine=trino).`,
  options: OPTIONS,
  notes: 'Exits 1 when it cannot measure or single-flight is broken (speed never fails it), 2 on a usage error.',
  killAll: () => killAllTrinoLoad(),
});
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');

interface SingleFlightReport {
  concurrent: number;
  sql: string;
  upstreamExecutions: number;
  frontEngineExecutions: number;
  front: DoorCounts;
  result: TrinoLoadResult;
  pass: boolean;
}

async function main(): Promise<number> {
  const opts = deriveOptions(cli.opts);
  cli.watchdog(plannedSec(opts));
  const startedAt = new Date();
  progress(
    `bench:trino: ${opts.rounds} rounds × ${opts.durationSec} s per workload, ${opts.concurrency} concurrent trino-client loops ` +
      `(worker thread), ${cpus().length} CPUs, Node ${process.version}`,
  );

  if (!hasRedisServer()) throw new Error('redis-server is not on PATH; install it to run this benchmark');
  const redis = await startRedisServer(await freePort(), { tiedToParent: true });
  cli.track(redis.process);
  const redisUrl = `redis://127.0.0.1:${redis.port}`;

  let chain: TrinoChain | undefined;
  let load: TrinoLoad | undefined;
  try {
    const setupStartedMs = performance.now();
    // Admission is not what this bench measures: both apps admit as many executions as there are loops.
    const maxConcurrentExecutions = Math.max(16, opts.concurrency);
    chain = opts.real
      ? await startRealTrinoChain({ redisUrl, demoOrderRowCount: DEMO_ORDER_ROW_COUNT, maxConcurrentExecutions, user: USER, log: progress })
      : await startTrinoChain({ redisUrl, demoOrderRowCount: DEMO_ORDER_ROW_COUNT, maxConcurrentExecutions });
    const c = chain;
    progress(`  back ${c.back.url} (${c.backLabel}), front ${c.front.url} (trino -> back), set up in ${fmt(performance.now() - setupStartedMs)} ms`);
    load = startTrinoLoad();

    // Set-up checks: the front answers exactly what the back answers; a second front query is a cache hit
    // that never reaches the upstream; the back really does execute every query.
    const direct = await trinoQuery(c.back.url, REPEATED_SQL, USER);
    if (direct.rows.length === 0) throw new Error('the dashboard query answered no rows');
    const upstreamBefore = await c.upstreamExecutions();
    const viaFront = await trinoQuery(c.front.url, REPEATED_SQL, USER);
    if (!isDeepStrictEqual(viaFront, direct)) throw new Error('the front answers differently from the back');
    const afterMiss = await c.upstreamExecutions();
    const again = await trinoQuery(c.front.url, REPEATED_SQL, USER);
    if (!isDeepStrictEqual(again, direct)) throw new Error('the front\'s cached answer differs from the back\'s');
    const afterRepeat = await c.upstreamExecutions();
    if (afterMiss - upstreamBefore !== 1 || afterRepeat !== afterMiss) {
      throw new Error(`warming the front took ${afterMiss - upstreamBefore} upstream executions and the repeat ${afterRepeat - afterMiss} (want 1 and 0)`);
    }
    const backBefore = await c.upstreamExecutions();
    await trinoQuery(c.back.url, REPEATED_SQL, USER);
    if ((await c.upstreamExecutions()) - backBefore !== 1) throw new Error('the back answered without executing: it must not cache');
    const expectedRows = direct.rows.length;
    progress(`  dashboard query: ${expectedRows} rows; front == back, repeat served from the front's cache`);

    const specFor = (workload: Workload, durationSec: number): TrinoLoadSpec => ({
      server: workload === 'direct-back' ? c.back.url : c.front.url,
      user: USER,
      catalog: CATALOG,
      schema: SCHEMA,
      sql: workload === 'miss-front' ? UNIQUE_SQL : REPEATED_SQL,
      concurrency: opts.concurrency,
      durationMs: durationSec * 1000,
      expectedRows,
    });

    const runs: TrinoRunRecord[] = [];
    const measure = async (round: number, workload: Workload): Promise<void> => {
      const upstream0 = await c.upstreamExecutions();
      const frontEngine0 = c.frontEngine.executions;
      const front0 = await doorCounts(c.front.app);
      const tiers0 = workload === 'hit-front' ? await tierHits(c.front.app) : undefined;
      const runStartedAt = new Date().toISOString();
      const result = await load!.run(specFor(workload, round === 0 ? opts.warmupSec : opts.durationSec));
      const record: TrinoRunRecord = {
        round,
        workload,
        startedAt: runStartedAt,
        result,
        upstreamExecutions: (await c.upstreamExecutions()) - upstream0,
        frontEngineExecutions: c.frontEngine.executions - frontEngine0,
        front: countsDelta(await doorCounts(c.front.app), front0),
      };
      if (tiers0) {
        const tiers1 = await tierHits(c.front.app);
        record.frontTierHits = { l1: tiers1.l1 - tiers0.l1, l2: tiers1.l2 - tiers0.l2 };
      }
      runs.push(record);
      const label = round === 0 ? 'warm-up' : `round ${round}/${opts.rounds}`;
      const execPerQuery = result.queries > 0 ? (record.upstreamExecutions / result.queries).toFixed(2) : '-';
      progress(
        `${label}: ${workload.padEnd(11)} ${fmt(result.queriesPerSec).padStart(6)} q/s  p50 ${ms1(result.latencyP50Ms)} ms  ` +
          `p99 ${ms1(result.latencyP99Ms)} ms  errors ${result.errors}  upstream exec/query ${execPerQuery}`,
      );
      for (const sample of result.errorSamples) progress(`    error: ${sample}`);
      if (workload === 'hit-front') verifyHitRun(record);
    };

    // Warm-up (JIT, sockets; not reported), then rounds whose order reverses every round so no workload
    // always goes first; each ratio's pair is measured within the same round.
    for (const w of ['hit-front', 'direct-back', 'miss-front'] as const) await measure(0, w);
    for (let round = 1; round <= opts.rounds; round++) {
      const order: Workload[] = round % 2 === 1 ? ['hit-front', 'direct-back', 'miss-front'] : ['miss-front', 'direct-back', 'hit-front'];
      for (const w of order) await measure(round, w);
    }

    // Single-flight: fresh SQL nobody asked before, fired by 100 trino-client loops at once.
    const nonce = `'sf-${Date.now()}-${Math.random().toString(36).slice(2, 10)}'`;
    const sfSql = dashboardSql(nonce);
    const sfUpstream0 = await c.upstreamExecutions();
    const sfFrontEngine0 = c.frontEngine.executions;
    const sfFront0 = await doorCounts(c.front.app);
    const sfResult = await load.run({ ...specFor('hit-front', 0), sql: sfSql, concurrency: SINGLE_FLIGHT_CONCURRENT, queriesPerLoop: 1 });
    const singleFlight: SingleFlightReport = {
      concurrent: SINGLE_FLIGHT_CONCURRENT,
      sql: sfSql,
      upstreamExecutions: (await c.upstreamExecutions()) - sfUpstream0,
      frontEngineExecutions: c.frontEngine.executions - sfFrontEngine0,
      front: countsDelta(await doorCounts(c.front.app), sfFront0),
      result: sfResult,
      pass: false,
    };
    singleFlight.pass = singleFlight.upstreamExecutions === 1 && sfResult.errors === 0 && sfResult.queries === SINGLE_FLIGHT_CONCURRENT;
    progress(`single-flight: ${SINGLE_FLIGHT_CONCURRENT} concurrent cold queries -> ${singleFlight.upstreamExecutions} upstream execution(s)`);

    const summary = summarize(runs);
    const results = Object.entries(singleFlight.front.results).map(([k, n]) => `${n} ${k}`).join(', ');
    const out = [
      `== trino-client -> hotpath front (engine=trino) -> ${c.backLabel} ==\n` +
        `   ${opts.concurrency} concurrent client loops, ${opts.rounds} rounds × ${opts.durationSec} s per workload, medians over rounds; ` +
        `latency = whole query (POST to last page)\n   ${REPEATED_SQL}  (${expectedRows} rows; miss-front: unique number instead of 0)`,
      formatWorkloads(summary),
      formatRatios(summary),
      `== single-flight: ${SINGLE_FLIGHT_CONCURRENT} concurrent identical cold queries (trino-client) at the front ==\n` +
        `upstream executions: ${singleFlight.upstreamExecutions} (must be 1)  ${singleFlight.pass ? 'PASS' : 'FAIL'}\n` +
        `front engine executions: ${singleFlight.frontEngineExecutions}; front results: ${results || '-'}; collapsed waiters: ${singleFlight.front.collapsed}; ` +
        `ok ${sfResult.queries}/${SINGLE_FLIGHT_CONCURRENT}, errors ${sfResult.errors}, p50 ${ms1(sfResult.latencyP50Ms)} ms, max ${ms1(sfResult.latencyMaxMs)} ms`,
      (opts.real
        ? 'notes: the back is a real Trino 476, single node on this machine (1.5 GB heap), the demo tables in its memory catalog; its executions are counted from system.runtime.queries. The front admits'
        : `notes: the back is a plain upstream: HOTPATH_CACHE_RULES=${JSON.stringify(BACK_CACHE_RULES)}, so it executes every query ` +
          '(DuckDB, 4 connections). Both apps admit') +
        ` ${maxConcurrentExecutions} executions at once, per user and in all ` +
        `(defaults 4 per user / 16), so admission is not what is measured; one user "${USER}". The front's hit runs are checked ` +
        `to reach neither its engine nor the upstream. Clients, both apps, DuckDB and Redis share ${cpus().length} CPUs: ` +
        `ratios are the figures to quote, absolute numbers are context.`,
    ];
    process.stdout.write(`\n${out.join('\n\n')}\n`);

    const file = resultsPath('trino', startedAt, cli.opts.json);
    const setup = {
      demoOrderRowCount: DEMO_ORDER_ROW_COUNT,
      user: USER,
      repeatedSql: REPEATED_SQL,
      uniqueSql: UNIQUE_SQL,
      expectedRows,
      backCacheRules: BACK_CACHE_RULES,
      maxConcurrentExecutions,
      client: 'trino-client (npm), one Trino instance per loop, in a worker thread',
    };
    writeResults(file, { startedAt, finishedAt: new Date(), options: opts, machine: machine(), setup, summary, singleFlight, runs });
    process.stdout.write(`\nraw runs and summary: ${file}\n`);
    if (!singleFlight.pass) {
      progress('bench:trino: single-flight check failed (a correctness count, not a speed)');
      return 1;
    }
    return 0;
  } finally {
    await load?.close().catch(() => {});
    await chain?.close();
    await stopChild(redis.process);
  }
}

/** A hit run counts only if every query succeeded and neither the front's engine nor the upstream ran. */
function verifyHitRun(r: TrinoRunRecord): void {
  const where = `hit-front (${r.round === 0 ? 'warm-up' : `round ${r.round}`})`;
  if (r.result.errors > 0) throw new Error(`${where}: ${r.result.errors} errors (${r.result.errorSamples.join('; ')})`);
  if (r.result.queries === 0) throw new Error(`${where}: no query completed`);
  if (r.upstreamExecutions !== 0 || r.frontEngineExecutions !== 0) {
    throw new Error(`${where}: ${r.upstreamExecutions} upstream and ${r.frontEngineExecutions} front-engine executions during a hit run`);
  }
  const hits = r.front.results.hit ?? 0;
  if (hits < r.result.queries) throw new Error(`${where}: ${r.result.queries} queries but the front counted ${hits} hits`);
}

cli.run(main);
