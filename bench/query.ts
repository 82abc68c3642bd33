// Why: BENCHMARKS.md section 1 as a script (`npm run bench:query [-- --quick]`): how close a hotpath cache
// hit (L1 in-process, L2 Redis) comes to a bare fastify route sending the same bytes, measured side by
// side on this noisy 2-core machine, plus the miss path and the single-flight count. Prints tables,
// writes every raw run as JSON under bench/results/ (--json FILE; --help lists the options). Speed
// targets are informational: it exits non-zero only when it cannot measure (Redis will not start, hit
// runs see errors or are not really hits) or when single-flight is broken (a count, not a speed).
//
// hotpath is measured as shipped: `npm start` logs (pino at LOG_LEVEL=info, one access line per non-hit
// request, HOTPATH_ACCESS_LOG=misses), so l1-hit, l2-hit and miss run with loggerOptions(config) writing
// to /dev/null (the cost is the shipped one, the output stays clean). "(logging off)" rows keep what
// this benchmark measured before (`logger: false`, LOG_LEVEL=silent), "(HOTPATH_ACCESS_LOG=all)" logs
// every hit: the differences are what logging costs.
//
// Two more tables: distinct queries (N statements of one 2 KB answer, round-robin: what the hit path
// costs when L1 holds them all and when it cannot; bench/lib/distinct.ts), and peers (nginx proxy_cache
// in front of a hotpath app, measured with wrk beside hotpath and the ceiling; bench/lib/peers.ts),
// the latter and N=100k in the full run only (or --peers / --distinct).
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

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchCli, jsonOption, machine, progress, resultsPath, stopChild, writeResults, UsageError, type OptionValues } from './lib/cli.ts';
import { createDuckDbEngine } from '../src/query-cache/engines/duckdb-engine.ts';
import { hasRedisServer, startRedisServer } from '../src/shared/redis-autostart.ts';
import { freePort } from '../test/helpers/redis.ts';
import { customersSql, isHit, tuneQuery, warmAndVerify, type TunedQuery } from './lib/bodies.ts';
import { killAllLoad, startLoadGenerator, type LoadGenerator, type LoadSpec, type Placement } from './lib/loadgen.ts';
import { formatSize, hitTier, summarizeSize, TARGETS, type RunRecord, type ServerKind } from './lib/report.ts';
import {
  benchConfig,
  CountingEngine,
  settledCounters,
  LOGGING_OFF_ENV,
  NAIVE_L2_PREFIX,
  post,
  startCeiling,
  startHotpath,
  startRedisGet,
  tierHits,
  waitIdle,
  type Listening,
} from './lib/servers.ts';
import { singleFlightCheck } from './lib/single-flight.ts';
import {
  DISTINCT_FULL,
  DISTINCT_QUICK,
  distinctBodies,
  distinctSql,
  fillDistinct,
  formatDistinct,
  parseDistinct,
  ReplayEngine,
  summarizeDistinct,
  type DistinctFill,
  type DistinctRun,
  type DistinctTier,
} from './lib/distinct.ts';
import { formatPeers, PEER_SERVERS, runWrk, startNginx, summarizePeers, versionLine, which, wrkScript, type PeerRun, type PeerServer, type StartedNginx } from './lib/peers.ts';

const SIZES = [
  { label: '2KB', targetBytes: 2 * 1024 },
  { label: '64KB', targetBytes: 64 * 1024 },
];
const DEMO_ORDER_ROW_COUNT = 200_000;
const SINGLE_FLIGHT_CONCURRENT = 100;
/** The user every request names (the nginx peer's cache key has it; hotpath keys entries per user). */
const BENCH_USER = 'bench';

interface Options {
  rounds: number;
  durationSec: number;
  connections: number;
  missRounds: number;
  missDurationSec: number;
  warmupSec: number;
  placement: Placement;
  quick: boolean;
  /** Distinct-statement counts of the distinct-query table (always with 1); empty: no such table. */
  distinct: number[];
  /** Measure the nginx peer table (when nginx and wrk are installed). */
  peers: boolean;
}

const QUICK_DURATION_SEC = 1.5;

const OPTIONS = {
  quick: {
    type: 'boolean',
    help:
      `short runs (${QUICK_DURATION_SEC} s, 1 miss round, 1 s warm-ups), as CI runs it: the logging variants at 2 KB only ` +
      `(l2-hit (logging off) not at all), distinct ${DISTINCT_QUICK.join(',')}, no peer table`,
  },
  rounds: { type: 'number', integer: true, default: 3, min: 1, max: 20, help: 'measured rounds per server and size' },
  duration: { type: 'number', arg: 'SECONDS', min: 0.5, max: 120, defaultText: `5; ${QUICK_DURATION_SEC} with --quick`, help: 'length of each hit run (wrk: rounded to whole seconds)' },
  connections: { type: 'number', integer: true, default: 50, min: 1, max: 1000, help: 'concurrent connections (autocannon and wrk); the p99 target is stated for 50' },
  loadgen: { type: 'string', default: 'worker', choices: ['worker', 'fork'], help: 'where autocannon runs: a worker thread or a forked process' },
  distinct: {
    type: 'string',
    arg: 'N,N,...|off',
    defaultText: `${DISTINCT_FULL.join(',')}; ${DISTINCT_QUICK.join(',')} with --quick`,
    help: 'distinct 2 KB statements per distinct-query run (1 is always added: the baseline), or off',
  },
  peers: {
    type: 'string',
    default: 'auto',
    choices: ['auto', 'on', 'off'],
    help: 'the nginx proxy_cache peer table, measured with wrk: auto = full runs only; skipped with a message when nginx or wrk is not installed',
  },
  json: jsonOption('query'),
} as const;

function deriveOptions(values: OptionValues<typeof OPTIONS>): Options {
  const quick = values.quick;
  // Quick: 1.5 s runs keep the whole benchmark (hit servers × 3 rounds × 2 sizes, distinct 1 and 1k, warm-ups) under ~90 s.
  const durationSec = values.duration ?? (quick ? QUICK_DURATION_SEC : 5);
  const rounds = values.rounds;
  let distinct: number[];
  try {
    distinct = values.distinct === 'off' ? [] : values.distinct !== undefined ? parseDistinct(values.distinct) : [...(quick ? DISTINCT_QUICK : DISTINCT_FULL)];
  } catch (err) {
    throw new UsageError(`--distinct: ${(err as Error).message}`);
  }
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
    distinct,
    peers: values.peers === 'on' || (values.peers === 'auto' && !quick),
  };
}

/** The hit servers of the main table at one size, in the order of odd rounds (even rounds reverse it). */
function hitServers(size: string, quick: boolean): ServerKind[] {
  // The ceiling sits between the shipped L1 and L2 hits (the targets' pairs back to back), redis-get next to
  // L2 (L2-hit / redis-get), each "(logging off)" next to its shipped row; the variants further out.
  const all: ServerKind[] = ['l1-hit (HOTPATH_ACCESS_LOG=all)', 'l1-hit (logging off)', 'l1-hit', 'ceiling', 'l2-hit', 'redis-get', 'l2-hit (logging off)'];
  if (!quick) return all;
  // Quick (CI): the logging variants of L1 at 2 KB only, where a per-request cost shows most.
  const variants: ServerKind[] = size === '2KB' ? ['l1-hit (HOTPATH_ACCESS_LOG=all)', 'l1-hit (logging off)'] : [];
  return all.filter((s) => !s.includes('(') || variants.includes(s));
}

/** Seconds the measurements take (without set-up and fills), to size the watchdog. */
function plannedSec(o: Options): number {
  let sec = o.missRounds * o.missDurationSec * SIZES.length;
  for (const size of SIZES) sec += hitServers(size.label, o.quick).length * (o.warmupSec + o.rounds * o.durationSec);
  if (o.distinct.length > 0) {
    const blocks = o.distinct.filter((n) => n > 1);
    sec += Math.max(1, blocks.length) * 4 * o.rounds * o.durationSec + 2 * o.warmupSec;
    // Fills (~1k/s here) and priming passes (a few thousand/s); allow 200/s for all.
    sec += (Math.max(...o.distinct) + 2 * blocks.reduce((a, n) => a + n, 0)) / 200;
  }
  if (o.peers) sec += SIZES.length * PEER_SERVERS.length * (Math.ceil(o.warmupSec) + o.rounds * Math.ceil(o.durationSec));
  return sec + 60;
}

// ---- process-wide safety net: whatever happens, Redis, nginx, wrk and load generators die with us ----
const cli = benchCli({
  name: 'bench:query',
  about: `Measures how close a hotpath cache hit (L1 in-process, L2 Redis) comes to a bare fastify route sending the
same bytes (the ceiling), with a naive Redis GET route as reference and the miss path, for 2 KB and
64 KB answers, measured side by side with autocannon in interleaved rounds (req/s, p50/p99, ratios to
the ceiling). hotpath runs as shipped (LOG_LEVEL=info, HOTPATH_ACCESS_LOG=misses, its logger writing to
/dev/null), beside the same apps with logging off and with every hit logged (HOTPATH_ACCESS_LOG=all).
Then L1 and L2 hits over N distinct 2 KB statements sent round-robin (1, 1k, 100k: req/s against N=1,
the L1 budget used, the tier mix); then, with nginx and wrk installed (apt-get install nginx wrk), nginx
proxy_cache in front of a hotpath app against hotpath and the ceiling, all measured with wrk; then 100
concurrent identical cold queries must cause 1 engine execution (single-flight). Starts a private
redis-server (and nginx) and DuckDB with 200k demo orders.`,
  options: OPTIONS,
  notes: 'Exits 1 when it cannot measure or single-flight is broken (speed never fails it: targets are MET or MISS), 2 on a usage error.',
  killAll: () => killAllLoad(),
});
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const JSON_HEADERS = { 'content-type': 'application/json', 'x-trino-user': BENCH_USER } as const;

async function main(): Promise<number> {
  const opts = deriveOptions(cli.opts);
  cli.watchdog(plannedSec(opts));
  const startedAt = new Date();
  progress(
    `bench:query: ${opts.rounds} rounds × ${opts.durationSec} s, c=${opts.connections}, miss ${opts.missRounds} × ${opts.missDurationSec} s, ` +
      `load generator in a ${opts.placement === 'worker' ? 'worker thread' : 'forked process'}, ${cpus().length} CPUs, Node ${process.version}; ` +
      `distinct ${opts.distinct.length > 0 ? opts.distinct.map(fmt).join('/') : 'off'}; peers ${opts.peers ? 'on' : 'off'}`,
  );

  if (!hasRedisServer()) throw new Error('redis-server is not on PATH; install it to run this benchmark');
  const redis = await startRedisServer(await freePort(), { tiedToParent: true });
  cli.track(redis.process);
  const redisUrl = `redis://127.0.0.1:${redis.port}`;

  const engine = new CountingEngine(
    await createDuckDbEngine({ demoData: true, demoOrderRowCount: DEMO_ORDER_ROW_COUNT, statementTimeoutMs: 30_000 }),
  );
  const servers: Listening[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const loadgen = startLoadGenerator(opts.placement);
  try {
    const queries: TunedQuery[] = [];
    for (const size of SIZES) queries.push(await tuneQuery(engine.inner, size));
    for (const q of queries) progress(`  ${q.label}: LIMIT ${q.limit} -> ${fmt(q.bodyBytes)} body bytes`);

    // hotpath apps: as shipped (logger from loggerOptions, LOG_LEVEL/HOTPATH_ACCESS_LOG defaults), and
    // the logging variants. Each has its own Redis prefix, so each is warmed and proven on its own.
    const l1Config = benchConfig(redisUrl, { HOTPATH_REDIS_PREFIX: 'bench-l1:' });
    const hotpathApps = new Map<ServerKind, Listening>();
    const addApp = async (kind: ServerKind, env: Record<string, string>, logging: 'shipped' | 'off'): Promise<Listening> => {
      const app = await startHotpath(kind, benchConfig(redisUrl, env), engine, logging);
      servers.push(app);
      hotpathApps.set(kind, app);
      return app;
    };
    const l1 = await addApp('l1-hit', { HOTPATH_REDIS_PREFIX: 'bench-l1:' }, 'shipped');
    await addApp('l1-hit (logging off)', { HOTPATH_REDIS_PREFIX: 'bench-l1-off:', ...LOGGING_OFF_ENV }, 'off');
    await addApp('l1-hit (HOTPATH_ACCESS_LOG=all)', { HOTPATH_REDIS_PREFIX: 'bench-l1-all:', HOTPATH_ACCESS_LOG: 'all' }, 'shipped');
    await addApp('l2-hit', { HOTPATH_REDIS_PREFIX: 'bench-l2:', HOTPATH_L1_MAX_BYTES: '0' }, 'shipped');
    if (!opts.quick) await addApp('l2-hit (logging off)', { HOTPATH_REDIS_PREFIX: 'bench-l2-off:', HOTPATH_L1_MAX_BYTES: '0', ...LOGGING_OFF_ENV }, 'off');
    const miss = await addApp('miss', { HOTPATH_REDIS_PREFIX: 'bench-miss:' }, 'shipped');

    // Warm every hit app; the proven L1 hit's bytes and headers become the ceiling's answer, and the
    // value of the naive L2's key (SET here, proven by one request).
    const ceilings = new Map<string, Listening>();
    const redisGets = new Map<string, Listening>();
    const hitAnswers = new Map<string, Buffer>();
    for (const q of queries) {
      const hit = await warmAndVerify(`l1-hit ${q.label}`, l1.url, q.sql);
      hitAnswers.set(q.label, hit.body);
      for (const [kind, app] of hotpathApps) {
        if (kind === 'l1-hit' || kind === 'miss' || !hitServers(q.label, opts.quick).includes(kind)) continue;
        const other = await warmAndVerify(`${kind} ${q.label}`, app.url, q.sql);
        if (!other.body.equals(hit.body)) throw new Error(`${q.label}: ${kind} and l1-hit answer different bytes`);
      }
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
      const target = server === 'ceiling' ? ceilings.get(q.label) : server === 'redis-get' ? redisGets.get(q.label) : hotpathApps.get(server);
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
      const hotpathHit = hitTier(server) !== undefined;
      const hitsBefore = hotpathHit ? await tierHits(target.app) : undefined;
      const executionsBefore = engine.executions;
      const runStartedAt = new Date().toISOString();
      const result = await loadgen.run(spec);
      if (isMiss) await waitIdle(miss.app, engine);
      const record: RunRecord = { round, size: q.label, server, startedAt: runStartedAt, result, engineExecutions: engine.executions - executionsBefore };
      if (hitsBefore) {
        const after = await settledCounters(target.app);
        record.tierHits = { l1: after.l1 - hitsBefore.l1, l2: after.l2 - hitsBefore.l2 };
      }
      runs.push(record);
      const label = round === 0 ? 'warm-up' : `round ${round}/${opts.rounds}`;
      progress(`${label}: ${server} ${q.label}  ${fmt(result.reqPerSec)} req/s  p50 ${result.latencyP50Ms} ms  p99 ${result.latencyP99Ms} ms`);
      if (server !== 'miss') verifyHitRun(record, opts.connections);
    };

    // JIT warm-up (not reported), then rounds; the order reverses every round so neither side of a pair
    // always goes first (see hitServers for who sits next to whom).
    for (const q of queries) for (const s of hitServers(q.label, opts.quick)) await measure(0, q, s);
    for (let round = 1; round <= opts.rounds; round++) {
      for (const q of queries) {
        const order = hitServers(q.label, opts.quick);
        for (const s of round % 2 === 1 ? order : [...order].reverse()) await measure(round, q, s);
      }
      if (round <= opts.missRounds) for (const q of queries) await measure(round, q, 'miss');
    }

    const distinct = opts.distinct.length > 0 ? await distinctQueries(opts, redisUrl, engine, queries[0]!, loadgen, servers) : undefined;
    const peers = opts.peers ? await peerTable(opts, redisUrl, engine, queries, ceilings, l1, hitAnswers, servers, cleanups) : undefined;

    const nonce = `single-flight-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const big = queries[queries.length - 1]!;
    const singleFlight = await singleFlightCheck(l1.url, customersSql(big.limit, nonce), engine, SINGLE_FLIGHT_CONCURRENT);

    const summary = queries.map((q) => summarizeSize(q.label, q.bodyBytes, q.sql, runs, opts.connections));
    const out: string[] = summary.map((s) => formatSize(s, opts.connections));
    if (distinct) out.push(distinct.text);
    if (peers) out.push(peers.text);
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
      logLevel: l1Config.logLevel,
      accessLog: l1Config.accessLog,
    };
    out.push(
      `notes: l1-hit, l2-hit and miss are hotpath as shipped: LOG_LEVEL=${hotpathConfig.logLevel}, HOTPATH_ACCESS_LOG=${hotpathConfig.accessLog} ` +
        `(no line for a hit), pino from loggerOptions() writing synchronously to /dev/null; "(logging off)": logger false, LOG_LEVEL=silent ` +
        `(what this benchmark measured before); "(HOTPATH_ACCESS_LOG=all)": one line per hit too. ` +
        `Targets (L1 ≥ ${TARGETS.l1Ratio.toFixed(2)}×, L2 ≥ ${TARGETS.l2Ratio.toFixed(2)}× the ceiling; hit p99 ≤ ${TARGETS.hitP99Ms} ms at c=${TARGETS.hitP99Connections}, ${TARGETS.hitP99Size}) ` +
        `apply to the shipped rows and never fail the bench.\n` +
        `L2 entries of ${fmt(hotpathConfig.cacheCompressMinBytes)}+ bytes are gzip-compressed in Redis (HOTPATH_CACHE_COMPRESS_MIN_BYTES); ` +
        `misses run ${hotpathConfig.maxConcurrentPerUser} at a time per user (one user here); autocannon latency has 1 ms resolution${peers && !('skipped' in peers.json) ? ", wrk's 0.1 ms here" : ''}.\n` +
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
    const logging = {
      shipped: { servers: ['l1-hit', 'l2-hit', 'miss'], LOG_LEVEL: hotpathConfig.logLevel, HOTPATH_ACCESS_LOG: hotpathConfig.accessLog, logger: "loggerOptions(config, '/dev/null')" },
      off: { servers: ['l1-hit (logging off)', 'l2-hit (logging off)'], LOG_LEVEL: 'silent', logger: false },
      all: { servers: ['l1-hit (HOTPATH_ACCESS_LOG=all)'], LOG_LEVEL: hotpathConfig.logLevel, HOTPATH_ACCESS_LOG: 'all', logger: "loggerOptions(config, '/dev/null')" },
    };
    writeResults(file, {
      startedAt,
      finishedAt: new Date(),
      options: opts,
      machine: machine(),
      hotpathConfig,
      logging,
      naiveL2,
      queries,
      summary,
      distinct: distinct?.json ?? { skipped: '--distinct off' },
      peers: peers?.json ?? { skipped: opts.quick ? 'not in --quick (--peers on measures it)' : '--peers off' },
      singleFlight,
      runs,
    });
    process.stdout.write(`\nraw runs and summary: ${file}\n`);
    if (!singleFlight.pass) {
      progress('bench:query: single-flight check failed (a correctness count, not a speed)');
      return 1;
    }
    return 0;
  } finally {
    await loadgen.close();
    for (const c of cleanups) await c().catch(() => {});
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
  const tier = hitTier(r.server);
  if (tier === undefined) return;
  if (r.engineExecutions !== 0) throw new Error(`${where}: the engine executed ${r.engineExecutions} queries during a hit run`);
  const hits = r.tierHits ?? { l1: 0, l2: 0 };
  const [mine, other] = tier === 'l1' ? [hits.l1, hits.l2] : [hits.l2, hits.l1];
  // The server may finish up to one request per connection after autocannon stops counting.
  if (other !== 0 || mine < res.requests || mine > res.requests + connections) {
    throw new Error(`${where}: ${res.requests} responses but tier hits l1=${hits.l1} l2=${hits.l2}; not all were ${tier} hits`);
  }
}

// ---- distinct queries ----

/**
 * L1 and L2 hits over N distinct statements of the 2 KB answer, round-robin (bench/lib/distinct.ts):
 * two apps as shipped on one Redis prefix (L1 on; L1 off), filled once through the L1 app's miss path.
 */
async function distinctQueries(opts: Options, redisUrl: string, engine: CountingEngine, q: TunedQuery, loadgen: LoadGenerator, servers: Listening[]) {
  const counts = opts.distinct;
  const maxN = Math.max(...counts);
  progress(`distinct queries: ${counts.map(fmt).join(', ')} statements of the ${q.label} answer`);
  const replay = new ReplayEngine(engine.inner);
  const bodyBytes = await replay.record(q.limit, maxN, BENCH_USER);
  if (bodyBytes !== q.bodyBytes) throw new Error(`distinct statements answer ${bodyBytes} bytes, not the ${q.bodyBytes} of ${q.label}`);
  const prefix = { HOTPATH_REDIS_PREFIX: 'bench-distinct:' };
  const apps: Record<DistinctTier, Listening> = {
    'l1-hit': await startHotpath('distinct l1-hit', benchConfig(redisUrl, prefix), replay),
    'l2-hit': await startHotpath('distinct l2-hit', benchConfig(redisUrl, { ...prefix, HOTPATH_L1_MAX_BYTES: '0' }), replay),
  };
  servers.push(apps['l1-hit'], apps['l2-hit']);
  const l1MaxBytes = { 'l1-hit': benchConfig(redisUrl, prefix).l1MaxBytes, 'l2-hit': 0 };
  const bodies = distinctBodies(q.limit, maxN);
  const headers = { ...JSON_HEADERS };
  const url = (tier: DistinctTier) => `${apps[tier].url}/v1/query`;

  // Untimed passes (fills, priming) take the family's parse from the record; timed runs parse for real.
  const untimed = async <T>(fn: () => Promise<T>): Promise<T> => {
    replay.quickParses = true;
    try {
      return await fn();
    } finally {
      replay.quickParses = false;
    }
  };
  const fills: DistinctFill[] = [];
  let filled = 0;
  /** Store statements 1..n (those not yet stored) through the L1 app's miss path, then prove 1 and n hit in both apps. */
  const fill = async (n: number): Promise<void> => {
    if (n > filled) {
      const { sent, seconds } = await untimed(() => fillDistinct(loadgen, url('l1-hit'), bodies.slice(0, n), filled + 1, headers, progress));
      fills.push({ n, sent, seconds, perSec: seconds > 0 ? sent / seconds : 0 });
      filled = n;
    }
    for (const tier of ['l1-hit', 'l2-hit'] as const) {
      for (const i of new Set([1, n])) {
        const r = await post(url(tier), bodies[i - 1]!, headers);
        if (r.status !== 200 || !isHit(r.cacheStatus) || r.body.length !== bodyBytes) {
          throw new Error(`distinct ${tier}: statement ${i} of ${n} is not a ${bodyBytes}-byte hit (status ${r.status}, cache-status "${r.cacheStatus}")`);
        }
      }
    }
  };
  // Where each app's round-robin over N stands: a run goes on from where the previous one at that N
  // stopped (a run that started again at statement 1 would find the ones its predecessor sent last
  // still in L1, as no steady round-robin over N would).
  const cycle: Record<DistinctTier, Map<number, number>> = { 'l1-hit': new Map(), 'l2-hit': new Map() };
  /** One untimed pass over statements 1..n through an app: its L1 and plan memos as a steady round-robin over n leaves them. */
  const prime = async (tier: DistinctTier, n: number): Promise<void> => {
    const started = Date.now();
    const list = bodies.slice(0, n);
    const r = await untimed(() => loadgen.run({ url: url(tier), connections: Math.min(opts.connections, n), durationSec: Math.max(10, n / 100), body: list[0]!, bodies: list, amount: n, headers }));
    if (r.errors + r.timeouts + r.non2xx > 0) throw new Error(`priming distinct ${tier} N=${n}: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx`);
    if (n >= 10_000) progress(`  primed distinct ${tier} with ${fmt(n)} statements in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    cycle[tier].set(n, 0);
  };

  const runs: DistinctRun[] = [];
  const measure = async (round: number, block: number, n: number, tier: DistinctTier): Promise<void> => {
    const app = apps[tier];
    const list = bodies.slice(0, n);
    const before = await settledCounters(app.app);
    const executions = replay.executions;
    const parses = replay.parses;
    const startedAt = new Date().toISOString();
    const offset = cycle[tier].get(n) ?? 0;
    const result = await loadgen.run({ url: url(tier), connections: opts.connections, durationSec: round === 0 ? opts.warmupSec : opts.durationSec, body: list[0]!, bodies: list, bodiesOffset: offset, headers });
    cycle[tier].set(n, (offset + (result.bodiesTaken ?? 0)) % n);
    const after = await settledCounters(app.app);
    const run: DistinctRun = {
      round,
      block,
      n,
      server: tier,
      startedAt,
      result,
      tierHits: { l1: after.l1 - before.l1, l2: after.l2 - before.l2 },
      l1Bytes: app.app.queryCache.store.l1Bytes(),
      l1MaxBytes: l1MaxBytes[tier],
      l1Evictions: after.l1Evictions - before.l1Evictions,
      engineExecutions: replay.executions - executions,
      parses: replay.parses - parses,
    };
    runs.push(run);
    const label = round === 0 ? 'warm-up' : `round ${round}/${opts.rounds}`;
    const total = run.tierHits.l1 + run.tierHits.l2;
    progress(
      `${label}: distinct ${tier} N=${fmt(n)}  ${fmt(result.reqPerSec)} req/s  p99 ${result.latencyP99Ms} ms  ` +
        `hits from L1 ${total > 0 ? Math.round((100 * run.tierHits.l1) / total) : 0} %  L1 ${(run.l1Bytes / 1024 / 1024).toFixed(1)} MiB  parses ${run.parses}`,
    );
    verifyDistinctRun(run, opts.connections);
  };

  // Blocks: each N > 1 measured in rounds beside N=1 (l1 N=1, l1 N, l2 N, l2 N=1; reversed every other
  // round), so every "× N=1" pairs back-to-back runs and a larger N never disturbs a smaller one's state.
  await fill(1);
  for (const tier of ['l1-hit', 'l2-hit'] as const) await measure(0, 1, 1, tier);
  const blocks = counts.some((n) => n > 1) ? counts.filter((n) => n > 1) : [1];
  for (const n of blocks) {
    await fill(n);
    for (const tier of ['l1-hit', 'l2-hit'] as const) await prime(tier, n);
    const order: [number, DistinctTier][] =
      n === 1 ? [[1, 'l1-hit'], [1, 'l2-hit']] : [[1, 'l1-hit'], [n, 'l1-hit'], [n, 'l2-hit'], [1, 'l2-hit']];
    for (let round = 1; round <= opts.rounds; round++) {
      for (const [m, tier] of round % 2 === 1 ? order : [...order].reverse()) await measure(round, n, m, tier);
    }
  }
  const summary = summarizeDistinct(runs);
  const example = distinctSql(q.limit, 0).replace('-0', '-<i>');
  return {
    text: formatDistinct(summary, bodyBytes, opts.connections, fills, example),
    json: { size: q.label, bodyBytes, sql: example, counts, fills, engine: 'ReplayEngine (bench/lib/distinct.ts): the family answered with DuckDB\'s recorded rows, parses by DuckDB', summary, runs },
  };
}

/** Every response a 2xx hit (any tier for the L1 app; only L2 for the L1-off app), nothing executed. */
function verifyDistinctRun(r: DistinctRun, connections: number): void {
  const where = `distinct ${r.server} N=${r.n} (round ${r.round})`;
  const res = r.result;
  if (res.errors + res.timeouts + res.non2xx > 0) {
    throw new Error(`${where}: ${res.errors} errors, ${res.timeouts} timeouts, ${res.non2xx} non-2xx (${JSON.stringify(res.statusCodes)})`);
  }
  if (r.engineExecutions !== 0) throw new Error(`${where}: the engine executed ${r.engineExecutions} queries during a hit run`);
  const hits = r.tierHits.l1 + r.tierHits.l2;
  if ((r.server === 'l2-hit' && r.tierHits.l1 !== 0) || hits < res.requests || hits > res.requests + connections) {
    throw new Error(`${where}: ${res.requests} responses but tier hits l1=${r.tierHits.l1} l2=${r.tierHits.l2}; not all were hits`);
  }
}

// ---- peers: nginx proxy_cache, measured with wrk ----

async function peerTable(
  opts: Options,
  redisUrl: string,
  engine: CountingEngine,
  queries: TunedQuery[],
  ceilings: Map<string, Listening>,
  l1: Listening,
  hitAnswers: Map<string, Buffer>,
  servers: Listening[],
  cleanups: (() => Promise<void>)[],
) {
  const nginxBin = which('nginx');
  const wrkBin = which('wrk');
  if (nginxBin === undefined || wrkBin === undefined) {
    const missing = [nginxBin === undefined ? 'nginx' : '', wrkBin === undefined ? 'wrk' : ''].filter(Boolean).join(' and ');
    const reason = `${missing} not installed (apt-get install nginx wrk)`;
    progress(`peers: skipped, ${reason}`);
    return { text: `== peers: skipped: ${reason} ==`, json: { skipped: reason } };
  }
  const versions = { nginx: versionLine(nginxBin, '-v'), wrk: versionLine(wrkBin, '-v') };
  progress(`peers: ${versions.nginx}, ${versions.wrk}`);
  // nginx's upstream: its own hotpath L1 app as shipped, so the queries it answers during nginx runs can
  // be counted (they must stay 0: every nginx answer a cache hit).
  const upstream = await startHotpath('nginx upstream', benchConfig(redisUrl, { HOTPATH_REDIS_PREFIX: 'bench-nginx:' }), engine);
  servers.push(upstream);
  const nginx: StartedNginx = await startNginx(nginxBin, await freePort(), Number(new URL(upstream.url).port), (c) => cli.track(c));
  cleanups.push(() => nginx.stop());
  const scripts = mkdtempSync(join(tmpdir(), 'hotpath-bench-wrk-'));
  cleanups.push(async () => rmSync(scripts, { recursive: true, force: true }));

  const scriptFiles = new Map<string, string>();
  for (const q of queries) {
    // hotpath keys per user: the L1 app and the upstream are warmed for BENCH_USER (the user wrk sends).
    const hit = await warmAndVerify(`l1-hit ${q.label} (user ${BENCH_USER})`, l1.url, q.sql, JSON_HEADERS);
    const upHit = await warmAndVerify(`nginx upstream ${q.label}`, upstream.url, q.sql, JSON_HEADERS);
    // nginx stores the upstream's hit (first request), then must answer the same bytes from its cache.
    const body = JSON.stringify({ sql: q.sql });
    const first = await post(`${nginx.url}/v1/query`, body, JSON_HEADERS);
    const res = await fetch(`${nginx.url}/v1/query`, { method: 'POST', headers: JSON_HEADERS, body, signal: AbortSignal.timeout(30_000) });
    const bytes = Buffer.from(await res.arrayBuffer());
    const cacheStatus = res.headers.get('x-cache-status');
    const expected = hitAnswers.get(q.label)!;
    if (first.status !== 200 || res.status !== 200 || cacheStatus !== 'HIT' || !bytes.equals(expected) || !hit.body.equals(expected) || !upHit.body.equals(expected)) {
      throw new Error(`nginx ${q.label}: the second request was not a ${expected.length}-byte cache hit (status ${res.status}, X-Cache-Status ${cacheStatus}, ${bytes.length} bytes)`);
    }
    const file = join(scripts, `${q.label}.lua`);
    writeFileSync(file, wrkScript(body, { 'Content-Type': JSON_HEADERS['content-type'], 'X-Trino-User': BENCH_USER }));
    scriptFiles.set(q.label, file);
  }

  const runs: PeerRun[] = [];
  const measure = async (round: number, q: TunedQuery, server: PeerServer): Promise<void> => {
    const base = server === 'ceiling' ? ceilings.get(q.label)!.url : server === 'l1-hit' ? l1.url : nginx.url;
    const counted = server === 'nginx' ? upstream : server === 'l1-hit' ? l1 : undefined;
    const before = counted ? await settledCounters(counted.app) : undefined;
    const startedAt = new Date().toISOString();
    const spec = { url: `${base}/v1/query`, connections: opts.connections, durationSec: round === 0 ? opts.warmupSec : opts.durationSec, body: '', headers: {} };
    const result = await runWrk(wrkBin, spec, scriptFiles.get(q.label)!, (c) => cli.track(c));
    const run: PeerRun = { round, size: q.label, server, startedAt, result };
    if (before && counted) {
      const after = await settledCounters(counted.app);
      if (server === 'nginx') run.upstreamQueries = after.queries - before.queries;
      else run.tierHits = { l1: after.l1 - before.l1, l2: after.l2 - before.l2 };
    }
    runs.push(run);
    const label = round === 0 ? 'warm-up' : `round ${round}/${opts.rounds}`;
    progress(`${label}: peers (wrk) ${server} ${q.label}  ${fmt(result.reqPerSec)} req/s  p50 ${result.latencyP50Ms} ms  p99 ${result.latencyP99Ms} ms`);
    const where = `peers ${server} ${q.label} (round ${round})`;
    if (result.errors + result.timeouts + result.non2xx > 0 || result.requests === 0) {
      throw new Error(`${where}: ${result.requests} responses, ${result.errors} socket errors, ${result.timeouts} timeouts, ${result.non2xx} statuses ≥ 400`);
    }
    if (run.upstreamQueries !== undefined && run.upstreamQueries !== 0) throw new Error(`${where}: nginx's upstream answered ${run.upstreamQueries} queries: not every answer was an nginx cache hit`);
    if (run.tierHits && (run.tierHits.l2 !== 0 || run.tierHits.l1 < result.requests || run.tierHits.l1 > result.requests + opts.connections)) {
      throw new Error(`${where}: ${result.requests} responses but tier hits l1=${run.tierHits.l1} l2=${run.tierHits.l2}`);
    }
  };
  // hotpath between the ceiling and nginx: both of its ratios measured back to back.
  const order: PeerServer[] = ['ceiling', 'l1-hit', 'nginx'];
  for (const q of queries) for (const s of order) await measure(0, q, s);
  for (let round = 1; round <= opts.rounds; round++) {
    for (const q of queries) for (const s of round % 2 === 1 ? order : [...order].reverse()) await measure(round, q, s);
  }
  const summary = queries.map((q) => summarizePeers(q.label, q.bodyBytes, runs));
  return {
    text:
      summary.map((s) => formatPeers(s, opts.connections)).join('\n\n') +
      `\nnginx: ${versions.nginx}, one process (master_process off), proxy_cache keyed on "$request_body$http_x_trino_user" in front of a hotpath ` +
      `L1 app; every nginx run checked to reach its upstream 0 times (hotpath_query_requests_total), X-Cache-Status HIT checked before. ` +
      `wrk: ${versions.wrk}, one thread, the same POST (X-Trino-User: ${BENCH_USER}) to all three.`,
    json: { versions, nginxConfig: nginx.config, user: BENCH_USER, summary, runs },
  };
}

cli.run(main);
