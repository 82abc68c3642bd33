// Why: single-flight is a count, not a speed: N identical cold queries fired at once must cause exactly
// one engine execution whatever the machine's load. This fires them over N sockets and counts.

import { Pool } from 'undici';
import type { CountingEngine } from './servers.ts';

export interface SingleFlightResult {
  concurrent: number;
  sql: string;
  engineExecutions: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  /** Responses by Cache-Status ("hotpath; fwd=miss; stored", "hotpath; fwd=miss; collapsed", …). */
  cacheStatuses: Record<string, number>;
  durationMs: number;
  pass: boolean;
}

const bump = (m: Record<string, number>, k: string): void => void (m[k] = (m[k] ?? 0) + 1);

export async function singleFlightCheck(baseUrl: string, sql: string, engine: CountingEngine, concurrent = 100): Promise<SingleFlightResult> {
  const pool = new Pool(baseUrl, { connections: concurrent, pipelining: 1 });
  const body = JSON.stringify({ sql });
  const statuses: Record<string, number> = {};
  const cacheStatuses: Record<string, number> = {};
  const before = engine.executions;
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrent }, async () => {
        const res = await pool.request({
          path: '/v1/query',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        await res.body.dump();
        bump(statuses, String(res.statusCode));
        // Collapsed and stored answers differ only in that word; drop a hit's ttl so they group.
        bump(cacheStatuses, String(res.headers['cache-status'] ?? '(none)').replace(/; ttl=-?\d+/, ''));
      }),
    );
  } finally {
    await pool.close();
  }
  const engineExecutions = engine.executions - before;
  return {
    concurrent,
    sql,
    engineExecutions,
    statuses,
    cacheStatuses,
    durationMs: performance.now() - started,
    pass: engineExecutions === 1 && statuses['200'] === concurrent,
  };
}
