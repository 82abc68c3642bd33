// Why: the benchmark compares servers on equal bodies, so it needs SQL whose JSON answer is a given size
// (2 KB, 64 KB ± 10 %) on the demo data, and a cache warmed and proven to answer it as a hit.

import type { Engine } from '../../src/query-cache/engines/engine.ts';
import { renderJsonAnswer } from '../../src/query-cache/core/render-json.ts';
import { post, type PostResult } from './servers.ts';

export interface BodySize {
  label: string;
  targetBytes: number;
}

export interface TunedQuery {
  label: string;
  limit: number;
  bodyBytes: number;
  /** The SQL every hit run sends. */
  sql: string;
  /** Same answer, but `[<id>]` makes each request's SQL new (autocannon idReplacement): miss runs. */
  uniqueSql: string;
}

const TOLERANCE = 0.1;

/** SQL with the same answer as `limit` rows of customers; `nonce` goes into an always-true predicate. */
export function customersSql(limit: number, nonce?: string): string {
  const where = nonce === undefined ? '' : ` WHERE name <> '${nonce}'`;
  return `SELECT * FROM demo.sales.customers${where} ORDER BY customer_id LIMIT ${limit}`;
}

async function bodyBytes(engine: Engine, limit: number): Promise<number> {
  const result = await engine.execute({ sql: customersSql(limit), user: 'bench', session: {} }, AbortSignal.timeout(30_000));
  return renderJsonAnswer(result).length;
}

/** Pick LIMIT so the rendered answer is targetBytes ± 10 % (rows are near-constant width). */
export async function tuneQuery(engine: Engine, size: BodySize): Promise<TunedQuery> {
  const base = await bodyBytes(engine, 1);
  const perRow = ((await bodyBytes(engine, 101)) - base) / 100;
  let limit = Math.max(1, Math.round((size.targetBytes - base) / perRow) + 1);
  for (let attempt = 0; attempt < 8; attempt++) {
    const bytes = await bodyBytes(engine, limit);
    if (Math.abs(bytes - size.targetBytes) <= size.targetBytes * TOLERANCE) {
      return { label: size.label, limit, bodyBytes: bytes, sql: customersSql(limit), uniqueSql: customersSql(limit, '[<id>]') };
    }
    limit = Math.max(1, limit + Math.round((size.targetBytes - bytes) / perRow));
  }
  throw new Error(`could not find a LIMIT giving a ${size.label} body (${size.targetBytes} bytes ± 10 %)`);
}

export const isHit = (cacheStatus: string): boolean => cacheStatus.startsWith('hotpath; hit');

/**
 * Store the answer (one miss), then prove the next request is a hit. Returns that hit, whose bytes and
 * headers the ceiling copies. Throws with the Cache-Status seen when it is not a hit. `headers` go with
 * both requests (X-Trino-User names another user: another entry).
 */
export async function warmAndVerify(name: string, baseUrl: string, sql: string, headers: Record<string, string> = {}): Promise<PostResult> {
  const body = JSON.stringify({ sql });
  const first = await post(`${baseUrl}/v1/query`, body, headers);
  if (first.status !== 200) throw new Error(`${name}: warming request answered ${first.status}: ${first.body.toString().slice(0, 300)}`);
  const second = await post(`${baseUrl}/v1/query`, body, headers);
  if (second.status !== 200 || !isHit(second.cacheStatus)) {
    throw new Error(`${name}: a warm request is not a cache hit (status ${second.status}, cache-status "${second.cacheStatus}"); is Redis reachable?`);
  }
  if (!second.body.equals(first.body)) throw new Error(`${name}: the hit's body differs from the stored answer`);
  return second;
}
