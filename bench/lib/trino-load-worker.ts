// Why: the Trino benchmark's clients must be real Trino clients (the `trino-client` package: POST
// /v1/statement, then follow nextUri page by page) and must not share an event loop with the hotpath apps
// they measure. So closed client loops run here, in a worker thread started by trino-load.ts; each message
// is one TrinoLoadSpec, answered with one plain TrinoLoadResult.

import { parentPort } from 'node:worker_threads';
import { BasicAuth, Trino } from 'trino-client';
import type { TrinoLoadReply, TrinoLoadResult, TrinoLoadSpec } from './trino-load.ts';

/** Replaces `{n}` in a spec's SQL; grows for the whole life of the worker, so no two queries share a number. */
let uniqueCounter = 0;

const MAX_ERROR_SAMPLES = 5;

interface QueryOutcome {
  rows: number;
  pages: number;
}

/** One whole query as clients run it: POST, then every nextUri until the last page. */
async function runQuery(client: Trino, sql: string): Promise<QueryOutcome> {
  const iter = await client.query(sql);
  let rows = 0;
  let pages = 0;
  for await (const page of iter) {
    pages++;
    if (page.error) throw new Error(`${page.error.errorName ?? 'ERROR'}: ${page.error.message}`);
    rows += page.data?.length ?? 0;
  }
  return { rows, pages };
}

function percentile(sortedMs: readonly number[], q: number): number {
  if (sortedMs.length === 0) return Number.NaN;
  const rank = Math.min(sortedMs.length, Math.max(1, Math.ceil(q * sortedMs.length)));
  return sortedMs[rank - 1]!;
}

const describeError = (err: unknown): string => {
  if (!(err instanceof Error)) return String(err);
  // axios errors carry the HTTP status; keep the sample short and free of request details.
  const status = (err as { response?: { status?: number } }).response?.status;
  return `${status === undefined ? '' : `HTTP ${status}: `}${err.message}`.slice(0, 300);
};

async function runLoad(spec: TrinoLoadSpec): Promise<TrinoLoadResult> {
  const latenciesMs: number[] = [];
  const errorSamples = new Set<string>();
  let errors = 0;
  let wrongRows = 0;
  let rows = 0;
  let pages = 0;
  const startedMs = performance.now();
  const stopAtMs = startedMs + spec.durationMs;
  const perLoop = spec.queriesPerLoop ?? Number.POSITIVE_INFINITY;

  const loop = async (): Promise<void> => {
    // One client per loop, like independent dashboard users; the HTTP agent (keep-alive) is shared.
    const client = Trino.create({ server: spec.server, catalog: spec.catalog, schema: spec.schema, auth: new BasicAuth(spec.user) });
    for (let done = 0; done < perLoop && (spec.queriesPerLoop !== undefined || performance.now() < stopAtMs); done++) {
      const sql = spec.sql.includes('{n}') ? spec.sql.replaceAll('{n}', String(++uniqueCounter)) : spec.sql;
      const t0 = performance.now();
      try {
        const out = await runQuery(client, sql);
        if (spec.expectedRows !== undefined && out.rows !== spec.expectedRows) {
          wrongRows++;
          throw new Error(`expected ${spec.expectedRows} rows, got ${out.rows}`);
        }
        latenciesMs.push(performance.now() - t0);
        rows += out.rows;
        pages += out.pages;
      } catch (err) {
        errors++;
        if (errorSamples.size < MAX_ERROR_SAMPLES) errorSamples.add(describeError(err));
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));

  const elapsedMs = performance.now() - startedMs;
  const sorted = latenciesMs.sort((a, b) => a - b);
  const sumMs = sorted.reduce((s, x) => s + x, 0);
  return {
    queries: sorted.length,
    errors,
    wrongRows,
    errorSamples: [...errorSamples],
    elapsedMs,
    queriesPerSec: elapsedMs > 0 ? (sorted.length * 1000) / elapsedMs : 0,
    latencyP50Ms: percentile(sorted, 0.5),
    latencyP90Ms: percentile(sorted, 0.9),
    latencyP99Ms: percentile(sorted, 0.99),
    latencyMeanMs: sorted.length > 0 ? sumMs / sorted.length : Number.NaN,
    latencyMaxMs: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
    rowsPerQuery: sorted.length > 0 ? rows / sorted.length : 0,
    pagesPerQuery: sorted.length > 0 ? pages / sorted.length : 0,
  };
}

async function reply(spec: TrinoLoadSpec): Promise<TrinoLoadReply> {
  try {
    return { ok: true, result: await runLoad(spec) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (spec: TrinoLoadSpec) => void reply(spec).then((r) => port.postMessage(r)));
} else {
  process.stderr.write('trino-load-worker: start me as a worker thread (bench/lib/trino-load.ts)\n');
  process.exitCode = 2;
}
