// Why: drive Trino-protocol load with the real `trino-client` package from a worker thread (see
// trino-load-worker.ts), one run at a time, each bounded in time so a stuck run cannot hang the benchmark.
// Also a one-off query helper (same client, this thread) for set-up checks: equal answers, warm caches.

import { Worker } from 'node:worker_threads';
import { BasicAuth, Trino } from 'trino-client';

export interface TrinoLoadSpec {
  /** Base URL of a Trino door, e.g. http://127.0.0.1:40123 */
  server: string;
  user: string;
  catalog: string;
  schema: string;
  /** The statement; every `{n}` becomes a number unique to that query (miss runs: each query is new SQL). */
  sql: string;
  /** Closed client loops running at once, each one query after another. */
  concurrency: number;
  /** Loops start no new query after this long; queries already started finish and count. */
  durationMs: number;
  /** When set, each loop runs exactly this many queries and durationMs is ignored (bursts). */
  queriesPerLoop?: number;
  /** A query answering another row count counts as an error. */
  expectedRows?: number;
}

export interface TrinoLoadResult {
  /** Whole queries that succeeded (POST to last page). */
  queries: number;
  errors: number;
  /** Errors that were a wrong row count (included in errors). */
  wrongRows: number;
  errorSamples: string[];
  /** First query started to last query finished. */
  elapsedMs: number;
  queriesPerSec: number;
  latencyP50Ms: number;
  latencyP90Ms: number;
  latencyP99Ms: number;
  latencyMeanMs: number;
  latencyMaxMs: number;
  rowsPerQuery: number;
  /** Pages trino-client handed out per query (it skips empty pages except a last one). */
  pagesPerQuery: number;
}

export type TrinoLoadReply = { ok: true; result: TrinoLoadResult } | { ok: false; error: string };

const WORKER = new URL('./trino-load-worker.ts', import.meta.url);

export interface TrinoLoad {
  /** One run; rejects (and stops the worker) when it fails or outlives durationMs + graceMs. */
  run(spec: TrinoLoadSpec, graceMs?: number): Promise<TrinoLoadResult>;
  close(): Promise<void>;
}

/** Workers still up, so an emergency exit can stop them. */
const live = new Set<Worker>();

export function killAllTrinoLoad(): void {
  for (const w of live) void w.terminate();
  live.clear();
}

export function startTrinoLoad(): TrinoLoad {
  const worker = new Worker(WORKER);
  live.add(worker);
  let pending: { resolve: (r: TrinoLoadResult) => void; reject: (e: Error) => void } | undefined;
  let dead: Error | undefined;
  const fail = (err: Error): void => {
    dead ??= err;
    const p = pending;
    pending = undefined;
    p?.reject(err);
  };
  worker.on('message', (msg: TrinoLoadReply) => {
    const p = pending;
    pending = undefined;
    if (!p) return;
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(`trino load worker failed: ${msg.error}`));
  });
  worker.once('error', (err) => fail(err));
  worker.once('exit', (code) => fail(new Error(`trino load worker exited (code ${code})`)));

  return {
    run(spec, graceMs = 60_000) {
      if (dead) return Promise.reject(dead);
      if (pending) return Promise.reject(new Error('trino load worker is busy: runs are sequential'));
      return new Promise<TrinoLoadResult>((resolve, reject) => {
        const limitMs = (spec.queriesPerLoop === undefined ? spec.durationMs : 0) + graceMs;
        const timer = setTimeout(() => {
          fail(new Error(`trino load run did not finish within ${limitMs} ms`));
          void worker.terminate();
        }, limitMs);
        pending = {
          resolve: (r) => (clearTimeout(timer), resolve(r)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        };
        worker.postMessage(spec);
      });
    },
    async close() {
      live.delete(worker);
      dead ??= new Error('trino load worker closed');
      await worker.terminate();
    },
  };
}

export interface TrinoAnswer {
  columns: unknown;
  rows: unknown[][];
}

/** One query with trino-client on this thread; throws on a failed page. For set-up checks, not timing. */
export async function trinoQuery(server: string, sql: string, user: string, catalog = 'demo', schema = 'sales'): Promise<TrinoAnswer> {
  const iter = await Trino.create({ server, catalog, schema, auth: new BasicAuth(user) }).query(sql);
  const rows: unknown[][] = [];
  let columns: unknown;
  for await (const page of iter) {
    if (page.error) throw new Error(`${server}: ${page.error.errorName}: ${page.error.message}`);
    columns ??= page.columns;
    rows.push(...((page.data ?? []) as unknown[][]));
  }
  return { columns, rows };
}
