// Why: the load generator must not share an event loop with the servers it measures, so autocannon
// lives here, started either as a worker thread or as a forked process (bench/lib/loadgen.ts picks).
// Each message is a LoadSpec; it runs autocannon once and posts back a small, plain LoadResult.

import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import type { LoadResult, LoadSpec, RunnerReply } from './loadgen.ts';

interface Percentiles {
  mean: number;
  max: number;
  p50: number;
  p99: number;
  total: number;
}

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  resets: number;
  statusCodeStats: Record<string, { count: number }>;
  latency?: Percentiles;
  requests?: Percentiles & { sent: number };
  throughput?: Percentiles;
  totalCompletedRequests?: number;
}

type Autocannon = ((opts: Record<string, unknown>, cb: (err: Error | null, result: AutocannonResult) => void) => unknown) & {
  aggregateResult(results: AutocannonResult[], opts: Record<string, unknown>): AutocannonResult;
};

// autocannon ships no types; CommonJS require keeps the strict compiler happy without a .d.ts.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function runOnce(spec: LoadSpec): Promise<LoadResult> {
  const opts: Record<string, unknown> = {
    url: spec.url,
    method: 'POST',
    connections: spec.connections,
    pipelining: 1,
    duration: spec.durationSec,
    headers: spec.headers,
    body: spec.body,
    // `[<id>]` in the body becomes a unique id per request (miss runs: every request is new SQL).
    idReplacement: spec.uniqueIds === true,
    timeout: 10,
    // autocannon only stops on a sample tick: 100 ms ticks keep a 1.5 s run from lasting 2 s.
    sampleInt: 100,
  };
  // autocannon ignores `duration` when `amount` is set.
  if (spec.amount !== undefined) opts.amount = spec.amount;
  const bodies = spec.bodies;
  let taken = 0;
  if (bodies !== undefined && bodies.length > 0) {
    // One request whose setupRequest picks the next body from a counter shared by every connection
    // (autocannon's own `requests` list restarts at its first entry on each connection, so with 50
    // connections and a 5 s run it would never reach most of 100k bodies). The request is rebuilt each
    // time, as for idReplacement; a 1-body list takes the same path, so N=1 is the fair baseline.
    const offset = spec.bodiesOffset ?? 0;
    opts.requests = [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[(offset + taken++) % bodies.length] }) }];
  }
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, raw) => {
      if (err) return reject(err);
      // Off the main thread autocannon hands back its raw, unaggregated result (no percentiles).
      const r = raw.latency ? raw : autocannon.aggregateResult([raw], opts);
      const latency = r.latency;
      const requests = r.requests;
      if (!latency || !requests) return reject(new Error('autocannon returned no latency/requests statistics'));
      const statusCodes: Record<string, number> = {};
      for (const [code, stat] of Object.entries(r.statusCodeStats)) statusCodes[code] = stat.count;
      resolve({
        durationSec: r.duration,
        requests: requests.total,
        sent: requests.sent,
        reqPerSec: r.duration > 0 ? requests.total / r.duration : 0,
        latencyP50Ms: latency.p50,
        latencyP99Ms: latency.p99,
        latencyMeanMs: latency.mean,
        latencyMaxMs: latency.max,
        errors: r.errors,
        timeouts: r.timeouts,
        non2xx: r.non2xx,
        resets: r.resets,
        statusCodes,
        responseBytes: r.throughput?.total ?? 0,
        ...(bodies !== undefined ? { bodiesTaken: taken } : {}),
      });
    });
  });
}

async function reply(spec: LoadSpec): Promise<RunnerReply> {
  try {
    return { ok: true, result: await runOnce(spec) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

// The runner stays up for the whole benchmark and runs one spec per message, so a run does not pay
// for starting a thread/process and loading autocannon (~0.3 s each on 2 cores).
if (parentPort) {
  const port = parentPort;
  port.on('message', (spec: LoadSpec) => void reply(spec).then((r) => port.postMessage(r)));
} else if (process.send) {
  process.on('message', (spec: LoadSpec) => void reply(spec).then((r) => process.send?.(r)));
  process.on('disconnect', () => process.exit(0));
} else {
  process.stderr.write('loadgen-runner: start me as a worker thread or with child_process.fork\n');
  process.exitCode = 2;
}
