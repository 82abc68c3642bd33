// Why: BENCHMARKS.md section 1 as a script (`npm run bench:query [-- --quick]`): how close a hotpath cache
// hit (L1 in-process, L2 Redis) comes to a bare fastify route sending the same bytes, measured side by
// side on this noisy 2-core machine, plus the miss path and the single-flight count. Prints a table,
// writes every raw run as JSON under bench/results/ (--json FILE; --help lists the options). Speed
// targets are informational: it exits non-zero only when it cannot measure (Redis will not start, hit
// runs see errors or are not really hits) or when single-flight is broken (a count, not a speed).
//
// redis-get is a reference, not hotpath: bare fastify (the ceiling's options) doing one ioredis GET
// (auto-pipelined) of the same bytes per request, i.e. the naive L2 hit. Its ratios (redis-get / ceiling,
// L2-hit / redis-get) separate what Redis itself costs on this box from hotpath's own L2 overhead.
//
// Load generator placement: autocannon runs in a worker thread (`--loadgen fork` for a child process),
// one runner kept for the whole benchmark. Measured on this 2-core machine, same servers, placements
// alternated, 4 × 3 s each at c=50, 2 KB: ceiling worker 18.8k/19.8k/20.4k/(29.8k) req/s vs fork
// 19.7k/18.0k/18.8k/15.9k; L1 hit worker 8.7k–9.6k vs fork 7.5k–9.1k; L2 hit about equal; p99 alike.
// Worker numbers were as high or higher and no noisier, it starts faster, and it cannot outlive us.
// (Spawning a runner per run cost ~0.3 s each; autocannon also stops only on a sample tick, see the runner.)

import { cpus } from 'node:os';
import { benchCli, jsonOption, machine, progress, resultsPath, stopChild, writeResults, type OptionValues } from './lib/cli.ts';
import { createDuckDbEngine } from '../src/query-cache/engines/duckdb-engine.ts';
import { hasRedisServer, startRedisServer } from '../src/shared/redis-autostart.ts';
import { freePort } from '../test/helpers/redis.ts';
import { customersSql, tuneQuery, warmAndVerify, type TunedQuery } from './lib/bodies.ts';
import { killAllLoad, startLoadGenerator, type LoadSpec, type Placement } from './lib/loadgen.ts';
import { formatSize, summarizeSize, type RunRecord, type ServerKind } from './lib/report.ts';
import {
  benchConfig,
  CountingEngine,
  NAIVE_L2_PREFIX,
  startCeiling,
  startHotpath,
  startRedisGet,
  tierHits,
  waitIdle,
  type Listening,
} from './lib/servers.ts';
import { singleFlightCheck } from './lib/single-flight.ts';

const SIZES = [
  { label: '2KB', targetBytes: 2 * 1024 },
  { label: '64KB', targetBytes: 64 * 1024 },
];
const DEMO_ORDER_ROW_COUNT = 200_000;
const SINGLE_FLIGHT_CONCURRENT = 100;

interface Options {
  rounds: number;
  durationSec: number;
  connections: number;
  missRounds: number;
  missDurationSec: number;
  warmupSec: number;
  placement: Placement;
  quick: boolean;
}

const QUICK_DURATION_SEC = 1.5;

const OPTIONS = {
  quick: { type: 'boolean', help: `short runs (${QUICK_DURATION_SEC} s, 1 miss round, 1 s warm-ups), as CI runs it` },
  rounds: { type: 'number', integer: true, default: 3, min: 1, max: 20, help: 'measured rounds per server and size' },
  duration: { type: 'number', arg: 'SECONDS', min: 0.5, max: 120, defaultText: `5; ${QUICK_DURATION_SEC} with --quick`, help: 'length of each hit run' },
  connections: { type: 'number', integer: true, default: 50, min: 1, max: 1000, help: 'concurrent autocannon connections' },
  loadgen: { type: 'string', default: 'worker', choices: ['worker', 'fork'], help: 'where autocannon runs: a worker thread or a forked process' },
  json: jsonOption('query'),
} as const;

function deriveOptions(values: OptionValues<typeof OPTIONS>): Options {
  const quick = values.quick;
  // Quick: 1.5 s runs keep the whole benchmark (4 hit servers × 3 rounds × 2 sizes + warm-ups) near 50 s.
  const durationSec = values.duration ?? (quick ? QUICK_DURATION_SEC : 5);
  const rounds = values.rounds;
  return {
    rounds,
    durationSec,
    connections: values.connections,
    // The miss path is far slower and not a target: fewer, shorter runs.
    missRounds: quick ? 1 : Math.min(rounds, 2),
    missDurationSec: quick ? 1 : Math.min(durationSec, 3),
    warmupSec: quick ? 1 : Math.min(durationSec, 2),
    placement: values.loadgen as Placement,
    quick,
  };
}

/** Servers measured in every round (the miss runs come on top, in the first missRounds rounds). */
const HIT_SERVERS = 4;

/** Seconds the measurements take (without set-up), to size the watchdog. */
const plannedSec = (o: Options): number =>
  SIZES.length * (HIT_SERVERS * o.warmupSec + o.rounds * HIT_SERVERS * o.durationSec + o.missRounds * o.missDurationSec) + 60;

// ---- process-wide safety net: whatever happens, Redis and load generators die with us ----
const cli = benchCli({
  name: 'bench:query',
  about: `Measures how close a hotpath cache hit (L1 in-process, L2 Redis) comes to a bare fastify route sending the
same bytes (the ceiling), with a naive Redis GET route as reference and the miss path, for 2 KB and
64 KB answers, measured side by side with autocannon in interleaved rounds (req/s, p50/p99, ratios to
the ceiling); then 100 concurrent identical cold queries must cause 1 engine execution (single-flight).
Starts a private redis-server and DuckDB with 200k demo orders.`,
  options: OPTIONS,
  notes: 'Exits 1 when it cannot measure or single-flight is broken (speed never fails it), 2 on a usage error.',
  killAll: () => killAllLoad(),
});
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<number> {
  const opts = deriveOptions(cli.opts);
  cli.watchdog(plannedSec(opts));
  const startedAt = new Date();
  progress(
    `bench:query: ${opts.rounds} rounds × ${opts.durationSec} s, c=${opts.connections}, miss ${opts.missRounds} × ${opts.missDurationSec} s, ` +
      `load generator in a ${opts.placement === 'worker' ? 'worker thread' : 'forked process'}, ${cpus().length} CPUs, Node ${process.version}`,
  );

  if (!hasRedisServer()) throw new Error('redis-server is not on PATH; install it to run this benchmark');
  const redis = await startRedisServer(await freePort(), { tiedToParent: true });
  cli.track(redis.process);
  const redisUrl = `redis://127.0.0.1:${redis.port}`;

  const engine = new CountingEngine(
    await createDuckDbEngine({ demoData: true, demoOrderRowCount: DEMO_ORDER_ROW_COUNT, statementTimeoutMs: 30_000 }),
  );
  const servers: Listening[] = [];
  const loadgen = startLoadGenerator(opts.placement);
  try {
    const queries: TunedQuery[] = [];
    for (const size of SIZES) queries.push(await tuneQuery(engine.inner, size));
    for (const q of queries) progress(`  ${q.label}: LIMIT ${q.limit} -> ${fmt(q.bodyBytes)} body bytes`);

    const l1Config = benchConfig(redisUrl, { HOTPATH_REDIS_PREFIX: 'bench-l1:' });
    const l1 = await startHotpath('l1-hit', l1Config, engine);
    servers.push(l1);
    const l2 = await startHotpath('l2-hit', benchConfig(redisUrl, { HOTPATH_REDIS_PREFIX: 'bench-l2:', HOTPATH_L1_MAX_BYTES: '0' }), engine);
    servers.push(l2);
    const miss = await startHotpath('miss', benchConfig(redisUrl, { HOTPATH_REDIS_PREFIX: 'bench-miss:' }), engine);
    servers.push(miss);

    // Warm both caches; the proven hit's bytes and headers become the ceiling's answer, and the value
    // of the naive L2's key (SET here, proven by one request).
    const ceilings = new Map<string, Listening>();
    const redisGets = new Map<string, Listening>();
    for (const q of queries) {
      const hit = await warmAndVerify(`l1-hit ${q.label}`, l1.url, q.sql);
      const l2hit = await warmAndVerify(`l2-hit ${q.label}`, l2.url, q.sql);
      if (!l2hit.body.equals(hit.body)) throw new Error(`${q.label}: L1 and L2 apps answer different bytes`);
      const answer = { body: hit.body, contentType: hit.contentType, cacheStatus: hit.cacheStatus, age: hit.age || '0' };
      const ceiling = await startCeiling(`ceiling ${q.label}`, answer);
      servers.push(ceiling);
      ceilings.set(q.label, ceiling);
      const naive = await startRedisGet(`redis-get ${q.label}`, redisUrl, `${NAIVE_L2_PREFIX}${q.label}`, answer);
      servers.push(naive);
      redisGets.set(q.label, naive);
    }

    const runs: RunRecord[] = [];
    const measure = async (round: number, q: TunedQuery, server: ServerKind): Promise<void> => {
      const targets: Record<ServerKind, Listening | undefined> = { ceiling: ceilings.get(q.label), 'l1-hit': l1, 'l2-hit': l2, 'redis-get': redisGets.get(q.label), miss };
      const target = targets[server];
      if (!target) throw new Error(`no ${server} server for ${q.label}`);
      const isMiss = server === 'miss';
      const spec: LoadSpec = {
        url: `${target.url}/v1/query`,
        connections: opts.connections,
        durationSec: round === 0 ? opts.warmupSec : isMiss ? opts.missDurationSec : opts.durationSec,
        body: JSON.stringify({ sql: isMiss ? q.uniqueSql : q.sql }),
        headers: { 'content-type': 'application/json', ...(isMiss ? { 'cache-control': 'no-cache' } : {}) },
        uniqueIds: isMiss,
      };
      const hotpathHit = server === 'l1-hit' || server === 'l2-hit';
      const hitsBefore = hotpathHit ? await tierHits(target.app) : undefined;
      const executionsBefore = engine.executions;
      const runStartedAt = new Date().toISOString();
      const result = await loadgen.run(spec);
      if (isMiss) await waitIdle(miss.app, engine);
      const record: RunRecord = { round, size: q.label, server, startedAt: runStartedAt, result, engineExecutions: engine.executions - executionsBefore };
      if (hitsBefore) {
        const after = await tierHits(target.app);
        record.tierHits = { l1: after.l1 - hitsBefore.l1, l2: after.l2 - hitsBefore.l2 };
      }
      runs.push(record);
      const label = round === 0 ? 'warm-up' : `round ${round}/${opts.rounds}`;
      progress(`${label}: ${server} ${q.label}  ${fmt(result.reqPerSec)} req/s  p50 ${result.latencyP50Ms} ms  p99 ${result.latencyP99Ms} ms`);
      if (server !== 'miss') verifyHitRun(record, opts.connections);
    };

    // JIT warm-up (not reported), then rounds. The ceiling sits between L1 and L2 and redis-get next to
    // L2, so each ratio's pair against the ceiling and L2-hit / redis-get are measured back to back
    // (redis-get / ceiling has L2 between them); the order reverses every round so neither side of a
    // pair always goes first.
    for (const q of queries) for (const s of ['ceiling', 'l1-hit', 'l2-hit', 'redis-get'] as const) await measure(0, q, s);
    for (let round = 1; round <= opts.rounds; round++) {
      const order: ServerKind[] =
        round % 2 === 1 ? ['l1-hit', 'ceiling', 'l2-hit', 'redis-get'] : ['redis-get', 'l2-hit', 'ceiling', 'l1-hit'];
      for (const q of queries) for (const s of order) await measure(round, q, s);
      if (round <= opts.missRounds) for (const q of queries) await measure(round, q, 'miss');
    }

    const nonce = `single-flight-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const big = queries[queries.length - 1]!;
    const singleFlight = await singleFlightCheck(l1.url, customersSql(big.limit, nonce), engine, SINGLE_FLIGHT_CONCURRENT);

    const summary = queries.map((q) => summarizeSize(q.label, q.bodyBytes, q.sql, runs));
    const out: string[] = summary.map((s) => formatSize(s, opts.connections));
    const sfGroups = Object.entries(singleFlight.cacheStatuses).map(([k, n]) => `${n}× "${k}"`).join(', ');
    out.push(
      `== single-flight: ${singleFlight.concurrent} concurrent identical cold queries at the L1 app ==\n` +
        `engine executions: ${singleFlight.engineExecutions} (must be 1)  ${singleFlight.pass ? 'PASS' : 'FAIL'}\n` +
        `statuses: ${JSON.stringify(singleFlight.statuses)}; cache-status: ${sfGroups}`,
    );
    const hotpathConfig = {
      cacheCompressMinBytes: l1Config.cacheCompressMinBytes,
      l1MaxBytes: l1Config.l1MaxBytes,
      maxConcurrentPerUser: l1Config.maxConcurrentPerUser,
      maxConcurrentExecutions: l1Config.maxConcurrentExecutions,
    };
    out.push(
      `notes: L2 entries of ${fmt(hotpathConfig.cacheCompressMinBytes)}+ bytes are gzip-compressed in Redis (HOTPATH_CACHE_COMPRESS_MIN_BYTES); ` +
        `misses run ${hotpathConfig.maxConcurrentPerUser} at a time per user (one user here); latency has 1 ms resolution.\n` +
        `(info): reference ratios around redis-get (bare fastify + one auto-pipelined ioredis GET of the same bytes per request, ` +
        `key ${NAIVE_L2_PREFIX}<size>, same Redis: the naive L2 hit); not BENCHMARKS.md targets.`,
    );
    process.stdout.write(`\n${out.join('\n\n')}\n`);

    const file = resultsPath('query', startedAt, cli.opts.json);
    const naiveL2 = {
      what: 'bare fastify (ceiling options) + one ioredis getBuffer per request, same Redis, same bytes and headers as the hit',
      client: { enableAutoPipelining: true },
      keys: queries.map((q) => `${NAIVE_L2_PREFIX}${q.label}`),
    };
    writeResults(file, { startedAt, finishedAt: new Date(), options: opts, machine: machine(), hotpathConfig, naiveL2, queries, summary, singleFlight, runs });
    process.stdout.write(`\nraw runs and summary: ${file}\n`);
    if (!singleFlight.pass) {
      progress('bench:query: single-flight check failed (a correctness count, not a speed)');
      return 1;
    }
    return 0;
  } finally {
    await loadgen.close();
    await Promise.allSettled(servers.map((s) => s.app.close()));
    await engine.close().catch(() => {});
    await stopChild(redis.process);
  }
}

/**
 * A hit run counts only if every response was a 2xx hit on the expected tier and nothing executed.
 * The references (ceiling, redis-get) have no tiers or engine: only the error/non-2xx part applies.
 */
function verifyHitRun(r: RunRecord, connections: number): void {
  const where = `${r.server} ${r.size} (round ${r.round})`;
  const res = r.result;
  if (res.errors + res.timeouts + res.non2xx > 0) {
    throw new Error(`${where}: ${res.errors} errors, ${res.timeouts} timeouts, ${res.non2xx} non-2xx (${JSON.stringify(res.statusCodes)})`);
  }
  if (r.server === 'ceiling' || r.server === 'redis-get') return;
  if (r.engineExecutions !== 0) throw new Error(`${where}: the engine executed ${r.engineExecutions} queries during a hit run`);
  const hits = r.tierHits ?? { l1: 0, l2: 0 };
  const [mine, other] = r.server === 'l1-hit' ? [hits.l1, hits.l2] : [hits.l2, hits.l1];
  // The server may finish up to one request per connection after autocannon stops counting.
  if (other !== 0 || mine < res.requests || mine > res.requests + connections) {
    throw new Error(`${where}: ${res.requests} responses but tier hits l1=${hits.l1} l2=${hits.l2}; not all were ${r.server}s`);
  }
}

cli.run(main);
