// Why: `npm run bench:hardening [-- --quick]`: the figures the hardening work promises, measured on the
// service as users run it (the real `src/server.ts` process on its embedded defaults, 1M demo orders,
// password auth), from a separate process, bounded in count and time:
//  1. /healthz latency while nothing else runs, while a 1M-row JSON answer streams, during a flood of
//     wrong passwords from one address (rate-limited) and from ever new addresses and user names (a
//     distributed attacker: every attempt pays scrypt) (loads in a worker thread; the probe in this
//     thread), interleaved in rounds; ratios of p99 to the idle p99 of the same round.
//  2. The process's memory after N Trino-door statements of 200 KB that nobody polls (the registry's
//     bounds refuse the rest), read from its own /metrics (a fresh server process, auth none).
//  3. How long a replica whose invalidation subscriber froze (a TCP proxy holds the connection open and
//     silent) keeps serving an invalidated L1 entry, against the configured bound (in-process apps).
// With `--baseline DIR` (a checkout of another version, e.g. `git worktree add /tmp/old <rev>` with its
// node_modules), 1 and 2 also run against that version's server, in the same run, for a before/after.
// Speed numbers never fail it; it exits non-zero only when it cannot measure. Results JSON goes to
// bench/results/hardening-<timestamp>.json (--json FILE); --help lists the options.

import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, request } from 'undici';
import { benchCli, jsonOption, machine, progress, resultsPath, stopChild, UsageError, writeResults } from './lib/cli.ts';
import { median } from './lib/report.ts';
import { runLoad, type LoadResult } from './lib/hardening-load.ts';
import { measureStaleness, type StalenessResult } from './lib/hardening-staleness.ts';
import { hasRedisServer, spawnTied, startRedisServer } from '../src/shared/redis-autostart.ts';
import { hashPassword } from '../src/shared/passwords.ts';
import { freePort } from '../test/helpers/redis.ts';

const PASSWORD = 'bench-password';
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
const STREAM_SQL = 'SELECT order_id, customer_id, total_amount, status FROM demo.sales.orders';
const STATEMENT_BYTES = 200 * 1024;

// Whatever happens, Redis and the server processes die with us (tracked; also tied to this process).
const cli = benchCli({
  name: 'bench:hardening',
  about: `Measures the figures the hardening work promises on the real server process (src/server.ts, 1M demo
orders, password auth) from a separate process: /healthz p50/p99 idle, while a 1M-row JSON answer
streams and during floods of wrong passwords (one address; ever new addresses and users), as ratios to
idle; RSS and heap after N Trino-door statements of 200 KB that nobody polls; and how long a replica
whose invalidation subscriber froze keeps serving an invalidated L1 entry. Starts a private
redis-server and hotpath server processes.`,
  options: {
    quick: { type: 'boolean', help: 'short runs (1 round of 2 s, 3000 statements, 1 staleness trial), as CI runs it' },
    rounds: { type: 'number', integer: true, min: 1, max: 20, defaultText: '3; 1 with --quick', help: 'rounds of the /healthz scenarios' },
    seconds: { type: 'number', arg: 'S', min: 1, max: 60, defaultText: '5; 2 with --quick', help: 'length of each /healthz scenario' },
    statements: { type: 'number', integer: true, min: 1, max: 200_000, defaultText: '30000; 3000 with --quick', help: 'abandoned Trino-door statements posted' },
    baseline: { type: 'string', arg: 'DIR', help: 'also measure the server of another checkout, with its node_modules, for a before/after' },
    json: jsonOption('hardening'),
  },
  notes: 'Exits 1 when it cannot measure (speed never fails it), 2 on a usage error.',
});
const basic = (user: string): string => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`;
const pct = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

interface Probe {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Sequential GET /healthz on one keep-alive connection until `until` settles (or for `ms`). */
async function probeHealthz(pool: Pool, until: Promise<unknown> | number): Promise<Probe> {
  const latencies: number[] = [];
  let done = false;
  const stop = typeof until === 'number' ? new Promise((r) => setTimeout(r, until)) : until;
  void stop.finally(() => (done = true));
  while (!done) {
    const t0 = performance.now();
    const res = await pool.request({ path: '/healthz', method: 'GET' });
    await res.body.dump();
    latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 5));
  }
  latencies.sort((a, b) => a - b);
  return { count: latencies.length, p50Ms: pct(latencies, 50), p99Ms: pct(latencies, 99), maxMs: latencies.at(-1) ?? NaN };
}

/** A sample of the server's own /metrics (the process gauges of the app registry). */
async function metric(url: string, name: string): Promise<number> {
  const res = await request(`${url}/metrics`);
  const text = await res.body.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : NaN;
}

/** The real server process. `password`: HTTP Basic against scrypt hashes, behind a (loopback) proxy; else auth none. */
async function startServer(redisUrl: string, auth: 'password' | 'none', checkout = '.'): Promise<{ url: string; child: ChildProcess }> {
  const passwords = join(mkdtempSync(join(tmpdir(), 'hotpath-bench-hardening-')), 'passwords.json');
  if (auth === 'password') {
    progress(`hashing ${USERS.length} passwords …`);
    writeFileSync(passwords, JSON.stringify(USERS.map((user) => ({ user, password: hashPassword(PASSWORD) }))));
  }
  const port = await freePort();
  const child = spawnTied(process.execPath, ['src/server.ts'], {
    cwd: checkout,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: redisUrl,
      HOTPATH_REDIS_AUTOSTART: 'false',
      HOTPATH_REDIS_PREFIX: `bench-${auth}-${port}:`,
      ...(auth === 'password' ? { HOTPATH_AUTH: 'password', HOTPATH_AUTH_PASSWORDS_FILE: passwords, HOTPATH_TRUST_PROXY: 'loopback' } : { HOTPATH_AUTH: 'none' }),
      HOTPATH_GPU_ENABLED: 'false',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  cli.track(child);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  progress(`starting hotpath (${checkout}/src/server.ts, 1M demo orders, auth ${auth}) …`);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`hotpath exited ${child.exitCode} at start`);
    const ok = await request(`${url}/readyz`).then((r) => (r.body.dump(), r.statusCode === 200), () => false);
    if (ok) return { url, child };
    if (Date.now() > deadline) throw new Error('hotpath did not become ready in 120 s');
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface HealthzRound {
  idle: Probe;
  stream: Probe & { load: LoadResult };
  flood: Probe & { load: LoadResult };
  distributed: Probe & { load: LoadResult };
}

async function healthzRounds(url: string, rounds: number, seconds: number): Promise<HealthzRound[]> {
  const pool = new Pool(url, { connections: 1 });
  const out: HealthzRound[] = [];
  try {
    // the streaming user's password is verified once (then remembered), as a real client's would be
    await request(`${url}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: basic('alice') }, body: '{"sql":"SELECT 1"}' }).then((r) => r.body.dump());
    for (let r = 1; r <= rounds; r++) {
      progress(`round ${r}/${rounds}: idle, 1M-row stream, password flood, distributed password flood …`);
      const idle = await probeHealthz(pool, seconds * 1000);
      const streaming = runLoad({ kind: 'stream', url, sql: STREAM_SQL, authorization: basic('alice'), timeoutMs: 120_000 });
      const streamProbe = await probeHealthz(pool, streaming);
      const flooding = runLoad({ kind: 'flood', url, users: [...USERS, 'mallory', 'nobody'], concurrency: 8, durationMs: seconds * 1000 });
      const floodProbe = await probeHealthz(pool, flooding);
      const distributing = runLoad({ kind: 'flood', url, users: [], concurrency: 8, durationMs: seconds * 1000, distributed: true });
      const distributedProbe = await probeHealthz(pool, distributing);
      out.push({
        idle,
        stream: { ...streamProbe, load: await streaming },
        flood: { ...floodProbe, load: await flooding },
        distributed: { ...distributedProbe, load: await distributing },
      });
    }
  } finally {
    await pool.close();
  }
  return out;
}

interface MemoryResult {
  sent: number;
  accepted: number;
  refused: number;
  other: number;
  /** Requests that got no answer (the server died). */
  failed: number;
  otherSamples: string[];
  rssBeforeMiB: number;
  rssAfterMiB: number;
  heapBeforeMiB: number;
  heapAfterMiB: number;
  heldStatements: number;
  heldMiB: number;
  healthzAfter: number;
  seconds: number;
}

async function abandonedStatements(url: string, total: number): Promise<MemoryResult> {
  const mib = (b: number) => b / 1024 / 1024;
  const rssBefore = await metric(url, 'hotpath_process_resident_memory_bytes');
  const heapBefore = await metric(url, 'hotpath_nodejs_heap_size_used_bytes');
  const filler = 'x'.repeat(STATEMENT_BYTES);
  const pool = new Pool(url, { connections: 16 });
  let sent = 0;
  let accepted = 0;
  let refused = 0;
  let other = 0;
  let failed = 0;
  const otherSamples: string[] = [];
  const started = performance.now();
  progress(`posting ${total} statements of ${STATEMENT_BYTES / 1024} KB that nobody polls …`);
  const worker = async () => {
    while (sent < total) {
      const i = sent++;
      let res: Awaited<ReturnType<Pool['request']>>;
      let text: string;
      try {
        res = await pool.request({
          path: '/v1/statement',
          method: 'POST',
          headers: { 'x-trino-user': USERS[i % USERS.length]!, 'content-type': 'text/plain' },
          body: `SELECT ${i} -- ${filler}`,
        });
        text = await res.body.text();
      } catch (err) {
        // the server is gone (a version without bounds runs out of memory): say so, stop sending
        if (failed++ === 0) otherSamples.push(`request failed: ${(err as Error).message}`);
        sent = total;
        break;
      }
      if (res.statusCode === 200 && text.includes('"QUEUED"')) accepted++;
      else if (res.statusCode === 200 && text.includes('QUERY_QUEUE_FULL')) refused++;
      else {
        other++;
        if (otherSamples.length < 3) otherSamples.push(`${res.statusCode} ${text.slice(0, 160)}`);
      }
      if (i > 0 && i % 5000 === 0) progress(`  ${i} sent (${accepted} held, ${refused} refused)`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  await pool.close().catch(() => {});
  const seconds = (performance.now() - started) / 1000;
  const healthz = await request(`${url}/healthz`).then((r) => (r.body.dump(), r.statusCode), () => 0);
  const after = (name: string) => metric(url, name).catch(() => NaN);
  return {
    sent: total,
    accepted,
    refused,
    other,
    otherSamples,
    rssBeforeMiB: mib(rssBefore),
    failed,
    rssAfterMiB: mib(await after('hotpath_process_resident_memory_bytes')),
    heapBeforeMiB: mib(heapBefore),
    heapAfterMiB: mib(await after('hotpath_nodejs_heap_size_used_bytes')),
    heldStatements: await after('hotpath_trino_statements'),
    heldMiB: mib(await after('hotpath_trino_statement_bytes')),
    healthzAfter: healthz,
    seconds,
  };
}

function printHealthz(rounds: HealthzRound[], label: string): Record<string, unknown>[] {
  const row = (name: string, probes: Probe[], idle: Probe[], note: string) => {
    const ratios = probes.map((p, i) => p.p99Ms / idle[i]!.p99Ms);
    return {
      scenario: name,
      probes: median(probes.map((p) => p.count)),
      p50Ms: median(probes.map((p) => p.p50Ms)),
      p99Ms: median(probes.map((p) => p.p99Ms)),
      maxMs: Math.max(...probes.map((p) => p.maxMs)),
      p99OverIdle: median(ratios),
      perRound: ratios,
      note,
    };
  };
  const idle = rounds.map((r) => r.idle);
  const lastFlood = rounds.at(-1)!.flood.load;
  const lastDistributed = rounds.at(-1)!.distributed.load;
  const lastStream = rounds.at(-1)!.stream.load;
  const rate = (l: LoadResult) => `${Math.round(l.count / (l.elapsedMs / 1000))} req/s: ${JSON.stringify(l.statuses)}`;
  const rows = [
    row('idle', idle, idle, ''),
    row('1M-row JSON answer streaming', rounds.map((r) => r.stream), idle, `${(lastStream.count / 1024 / 1024).toFixed(0)} MiB in ${(lastStream.elapsedMs / 1000).toFixed(1)} s, ${lastStream.cacheStatus}`),
    row('wrong passwords, one address', rounds.map((r) => r.flood), idle, rate(lastFlood)),
    row('wrong passwords, new address+user', rounds.map((r) => r.distributed), idle, rate(lastDistributed)),
  ];
  console.log(`\n== /healthz latency, ${label} (one keep-alive connection, sequential probes) ==`);
  console.log('scenario                          probes  p50 ms  p99 ms  max ms  p99 / idle p99 (median; per round)  load');
  for (const r of rows) {
    console.log(
      `${String(r.scenario).padEnd(34)}${String(r.probes).padStart(6)}${r.p50Ms.toFixed(1).padStart(8)}${r.p99Ms.toFixed(1).padStart(8)}${r.maxMs.toFixed(1).padStart(8)}  ` +
        `${r.p99OverIdle.toFixed(2).padStart(5)}  (${r.perRound.map((x) => x.toFixed(2)).join(' ')})`.padEnd(38) +
        `  ${r.note}`,
    );
  }
  return rows;
}

function printMemory(m: MemoryResult, label: string): void {
  console.log(`\n== ${m.sent} Trino-door statements of ${STATEMENT_BYTES / 1024} KB, never polled, ${label} (${m.seconds.toFixed(1)} s) ==`);
  console.log(`held ${m.accepted}, refused with QUERY_QUEUE_FULL ${m.refused}, other answers ${m.other}, no answer ${m.failed}${m.otherSamples.length ? ` (e.g. ${m.otherSamples.join(' | ')})` : ''}; /healthz after: ${m.healthzAfter || 'no answer'}`);
  if (!Number.isFinite(m.rssAfterMiB)) {
    // its /metrics did not answer after the flood: the process is gone (the old build died of a heap OOM)
    console.log(`registry and process after: no answer from /metrics (process gone); RSS before ${m.rssBeforeMiB.toFixed(0)} MiB`);
    return;
  }
  console.log(`registry: ${m.heldStatements} statements holding ${m.heldMiB.toFixed(0)} MiB (bound HOTPATH_TRINO_DOOR_MAX_HELD_BYTES, default 256 MiB)`);
  console.log(`process RSS ${m.rssBeforeMiB.toFixed(0)} -> ${m.rssAfterMiB.toFixed(0)} MiB; JS heap used ${m.heapBeforeMiB.toFixed(0)} -> ${m.heapAfterMiB.toFixed(0)} MiB`);
}

function printStaleness(s: StalenessResult): void {
  console.log('\n== invalidation under a frozen subscriber (two replicas, one behind a TCP proxy that goes silent) ==');
  console.log(`bound HOTPATH_INVALIDATION_MAX_SILENCE_MS = ${s.boundMs} ms (heartbeat every ${s.heartbeatMs} ms)`);
  console.log(`stale L1 answers after the invalidation answered, per trial: ${s.trials.map((t) => `${t.staleForMs.toFixed(0)} ms (${t.staleAnswers} answers)`).join(', ')}`);
  console.log(`longest: ${Math.max(...s.trials.map((t) => t.staleForMs)).toFixed(0)} ms; /readyz while degraded: ${s.readyzWhileDegraded}`);
}

cli.run(async () => {
  const flags = cli.opts;
  const startedAt = new Date();
  const quick = flags.quick;
  const rounds = flags.rounds ?? (quick ? 1 : 3);
  const seconds = flags.seconds ?? (quick ? 2 : 5);
  const statements = flags.statements ?? (quick ? 3000 : 30_000);
  if (flags.baseline !== undefined && !existsSync(join(flags.baseline, 'src/server.ts'))) {
    throw new UsageError(`--baseline: ${flags.baseline} is not a hotpath checkout (no src/server.ts)`);
  }
  cli.watchdog(rounds * (seconds * 3 + 40) + statements / 200 + 120);
  if (!hasRedisServer()) throw new Error('redis-server is not on PATH');
  const redis = await startRedisServer(await freePort(), { tiedToParent: true });
  cli.track(redis.process);
  const redisUrl = `redis://127.0.0.1:${redis.port}`;
  const builds: [string, string][] = [['this build', '.'], ...(flags.baseline ? [[`baseline ${flags.baseline}`, flags.baseline] as [string, string]] : [])];
  const measured: { label: string; healthz: HealthzRound[]; memory: MemoryResult }[] = [];
  for (const [label, dir] of builds) {
    const server = await startServer(redisUrl, 'password', dir);
    const healthz = await healthzRounds(server.url, rounds, seconds);
    await stopChild(server.child);
    const plain = await startServer(redisUrl, 'none', dir);
    const memory = await abandonedStatements(plain.url, statements);
    await stopChild(plain.child);
    measured.push({ label, healthz, memory });
  }
  progress('measuring staleness under a frozen subscriber (in-process replicas) …');
  const staleness = await measureStaleness(redisUrl, quick ? 1 : 3);
  const results = measured.map((m) => ({ label: m.label, healthz: { rows: printHealthz(m.healthz, m.label), raw: m.healthz }, memory: m.memory }));
  for (const m of measured) printMemory(m.memory, m.label);
  printStaleness(staleness);
  const file = resultsPath('hardening', startedAt, flags.json);
  writeResults(file, {
    bench: 'bench:hardening',
    startedAt,
    finishedAt: new Date(),
    options: { quick, rounds, seconds, statements, baseline: flags.baseline ?? null },
    machine: machine(),
    rounds,
    seconds,
    results,
    staleness,
  });
  console.log(`\nraw results: ${file}`);
  await stopChild(redis.process);
  return 0;
});
