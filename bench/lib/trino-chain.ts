// Why: the deployment shape the Trino benchmark measures, in one process: a "back" hotpath app on the
// embedded DuckDB engine whose Trino door stands in for the upstream coordinator (and never caches, so it
// behaves like a plain Trino: one execution per query), and a "front" hotpath app with engine=trino
// pointing at it. Both engines count executions, so runs can prove what reached the upstream.

import type { FastifyInstance } from 'fastify';
import { createDuckDbEngine } from '../../src/query-cache/engines/duckdb-engine.ts';
import { createTrinoEngine } from '../../src/query-cache/engines/trino-engine.ts';
import type { Config } from '../../src/shared/config.ts';
import { benchConfig, CountingEngine, startHotpath, type Listening } from './servers.ts';
import { execute } from '../../test/trino/helpers/protocol.ts';
import { startTrinoWithDemo, trinoSetup } from '../../test/trino/helpers/trino-server.ts';

/** The back never caches anything in the demo catalog (every query the bench sends reads it). */
export const BACK_CACHE_RULES = [{ catalogs: ['demo'], cache: false }];

export interface TrinoChain {
  /** What the back is, for the report. */
  backLabel: string;
  /** Statements the upstream has executed so far (the bench's user's). */
  upstreamExecutions(): Promise<number>;
  /** Where trino-client sends direct-back queries. */
  back: { url: string };
  /** The front's engine=trino adapter (executions, streamed or not = front misses sent upstream). */
  frontEngine: CountingEngine;
  front: Listening;
  frontConfig: Config;
  close(): Promise<void>;
}

export interface TrinoChainOptions {
  redisUrl: string;
  demoOrderRowCount: number;
  /** Both apps admit this many engine executions at once, per user and in all (default 4 / 16). */
  maxConcurrentExecutions: number;
}

export async function startTrinoChain(opts: TrinoChainOptions): Promise<TrinoChain> {
  const admission = {
    HOTPATH_MAX_CONCURRENT_EXECUTIONS: String(opts.maxConcurrentExecutions),
    HOTPATH_MAX_CONCURRENT_PER_USER: String(opts.maxConcurrentExecutions),
  };
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    const upstream = new CountingEngine(
      await createDuckDbEngine({ demoData: true, demoOrderRowCount: opts.demoOrderRowCount, statementTimeoutMs: 30_000 }),
    );
    closers.push(() => upstream.close());
    const backConfig = benchConfig(opts.redisUrl, {
      ...admission,
      HOTPATH_REDIS_PREFIX: 'bench-trino-back:',
      HOTPATH_CACHE_RULES: JSON.stringify(BACK_CACHE_RULES),
    });
    const back = await startHotpath('back', backConfig, upstream);
    closers.push(() => back.app.close());

    const frontConfig = benchConfig(opts.redisUrl, {
      ...admission,
      HOTPATH_REDIS_PREFIX: 'bench-trino-front:',
      HOTPATH_ENGINE: 'trino',
      TRINO_URL: back.url,
    });
    const frontEngine = new CountingEngine(
      createTrinoEngine({
        url: back.url,
        requestTimeoutMs: frontConfig.trinoRequestTimeoutMs,
        statementTimeoutMs: frontConfig.statementTimeoutMs,
        maxRetries: frontConfig.trinoMaxRetries,
      }),
    );
    closers.push(() => frontEngine.close());
    const front = await startHotpath('front', frontConfig, frontEngine);
    closers.push(() => front.app.close());
    return {
      backLabel: `hotpath back door (duckdb, ${opts.demoOrderRowCount.toLocaleString('en-US')} orders, never caches)`,
      upstreamExecutions: async () => upstream.executions,
      back,
      frontEngine,
      front,
      frontConfig,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The same front before a real Trino 476 (test/trino/helpers: scripts/trino-setup.sh fetches it from Maven
 * Central once; JDK 24+), the embedded engine's demo tables copied into its memory catalog `demo`, so the
 * dashboard SQL runs unchanged. Trino has no cache of results to turn off; its executions are counted from
 * system.runtime.queries (query history kept long enough for the whole run).
 */
export async function startRealTrinoChain(opts: TrinoChainOptions & { user: string; log: (line: string) => void }): Promise<TrinoChain> {
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    const setup = trinoSetup();
    opts.log(`  starting Trino ${setup.version} (${setup.javaHome}) and copying the demo tables into its memory catalog`);
    const trino = await startTrinoWithDemo(setup, {
      extraConfig: ['query.max-history=1000000', 'query.min-expire-age=2h'],
      demoOrderRows: opts.demoOrderRowCount,
      log: (l) => opts.log(`  ${l}`),
    });
    closers.push(() => trino.stop());
    const frontConfig = benchConfig(opts.redisUrl, {
      HOTPATH_MAX_CONCURRENT_EXECUTIONS: String(opts.maxConcurrentExecutions),
      HOTPATH_MAX_CONCURRENT_PER_USER: String(opts.maxConcurrentExecutions),
      HOTPATH_REDIS_PREFIX: 'bench-trino-real-front:',
      HOTPATH_ENGINE: 'trino',
      TRINO_URL: trino.url,
    });
    const frontEngine = new CountingEngine(
      createTrinoEngine({ url: trino.url, requestTimeoutMs: frontConfig.trinoRequestTimeoutMs, statementTimeoutMs: frontConfig.statementTimeoutMs, maxRetries: frontConfig.trinoMaxRetries }),
    );
    closers.push(() => frontEngine.close());
    const front = await startHotpath('front', frontConfig, frontEngine);
    closers.push(() => front.app.close());
    const counted = `SELECT count(*) FROM system.runtime.queries WHERE "user" = '${opts.user}'`;
    return {
      backLabel: `real Trino ${setup.version} (single node, memory catalog demo with ${opts.demoOrderRowCount.toLocaleString('en-US')} orders)`,
      upstreamExecutions: async () => Number((((await execute(trino.url, counted, { user: 'bench-counter' })).rows[0]![0]) as { text: string }).text),
      back: { url: trino.url },
      frontEngine,
      front,
      frontConfig,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface DoorCounts {
  /** hotpath_query_requests_total summed by result (hit, miss, stale, bypass, error). */
  results: Record<string, number>;
  /** Queries that waited for an identical in-flight execution. */
  collapsed: number;
}

/** An app's request results and collapsed waiters so far, from its own /metrics. */
export async function doorCounts(app: FastifyInstance): Promise<DoorCounts> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`);
  const results: Record<string, number> = {};
  for (const m of res.body.matchAll(/^hotpath_query_requests_total\{([^}]*)\} (\d+)/gm)) {
    const result = /result="([^"]*)"/.exec(m[1] ?? '')?.[1] ?? '?';
    results[result] = (results[result] ?? 0) + Number(m[2]);
  }
  const collapsed = Number(/^hotpath_cache_collapsed_waiters_total (\d+)/m.exec(res.body)?.[1] ?? 0);
  return { results, collapsed };
}

export function countsDelta(after: DoorCounts, before: DoorCounts): DoorCounts {
  const results: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.results)) {
    const d = v - (before.results[k] ?? 0);
    if (d !== 0) results[k] = d;
  }
  return { results, collapsed: after.collapsed - before.collapsed };
}
