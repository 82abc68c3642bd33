// Why: the servers the query benchmark compares (a bare fastify "ceiling" and real hotpath apps sharing
// one engine, logging as shipped unless a row says otherwise), plus the probes that prove a run measured what it claims: an engine that counts its
// executions and a /metrics reader for per-tier hit counts. Also a "naive L2" reference (redis-get): bare
// fastify doing one Redis GET per request, i.e. what Redis alone allows, to tell hotpath's own L2
// overhead apart from Redis's cost.

import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from '../../src/app.ts';
import { loggerOptions } from '../../src/shared/access-log.ts';
import { loadConfig, type Config } from '../../src/shared/config.ts';
import type { Engine, EngineBatch, EngineQuery, EngineResult, EngineStreamEnd, Relations, RelationsQuery } from '../../src/query-cache/engines/engine.ts';

/**
 * Counts executions (a streamed run is one) and keeps the inner engine's optional `stream`
 * (the Trino adapter streams misses page by page; hiding it would measure the buffered fallback).
 * A streamed run counts as one execution.
 */
export class CountingEngine implements Engine {
  readonly id: string;
  readonly inner: Engine;
  executions = 0;
  stream?: (query: EngineQuery, signal: AbortSignal, onBatch: (batch: EngineBatch) => Promise<void>) => Promise<EngineStreamEnd>;

  constructor(inner: Engine) {
    this.inner = inner;
    this.id = inner.id;
    const innerStream = inner.stream?.bind(inner);
    if (innerStream) {
      this.stream = (query, signal, onBatch) => {
        this.executions++;
        return innerStream(query, signal, onBatch);
      };
    }
  }

  execute(query: EngineQuery, signal: AbortSignal): Promise<EngineResult> {
    this.executions++;
    return this.inner.execute(query, signal);
  }

  relations(query: RelationsQuery, signal: AbortSignal): Promise<Relations> {
    // As shipped: the embedded engine's parser gives the table sets (an engine without one: incomplete).
    return this.inner.relations ? this.inner.relations(query, signal) : Promise.resolve({ kind: 'parsed', tables: [], complete: false, readsSystem: false, nondeterministic: false });
  }

  ping(signal: AbortSignal): Promise<void> {
    return this.inner.ping(signal);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface Listening {
  name: string;
  app: FastifyInstance;
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
}

async function listen(name: string, app: FastifyInstance): Promise<Listening> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return { name, app, url: `http://127.0.0.1:${port}` };
}

/**
 * The service's configuration from these variables alone (not the caller's environment): LOG_LEVEL and
 * HOTPATH_ACCESS_LOG keep their shipped defaults (info, misses) unless `env` sets them.
 */
export function benchConfig(redisUrl: string, env: Record<string, string>): Config {
  return loadConfig({
    REDIS_URL: redisUrl,
    // Entries must stay fresh for the whole run: a stale hit would not count as a hit.
    HOTPATH_CACHE_TTL_SECONDS: '3600',
    ...env,
  });
}

/** What the benchmark's "(logging off)" rows ran before logging was measured: no logger at all. */
export const LOGGING_OFF_ENV = { LOG_LEVEL: 'silent' } as const;

/**
 * shipped: pino as `npm start` builds it (loggerOptions: the config's level, redaction, synchronous
 * writes), written to /dev/null so the cost is the shipped one and the output stays clean.
 * off: `logger: false`, as the benchmark measured before (pair it with LOGGING_OFF_ENV).
 */
export type Logging = 'shipped' | 'off';

/** A hotpath app listening on a loopback port, once its Redis connections are up. */
export async function startHotpath(name: string, config: Config, engine: Engine, logging: Logging = 'shipped'): Promise<Listening> {
  const logger = logging === 'shipped' ? loggerOptions(config, '/dev/null') : false;
  const app = await buildApp(config, { engine, defaultMetrics: false, logger });
  const listening = await listen(name, app);
  const deadline = Date.now() + 5000;
  while (!app.queryCache.store.available()) {
    if (Date.now() > deadline) {
      await app.close();
      throw new Error(`${name}: Redis did not become available within 5 s`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return listening;
}

/**
 * Wait until an app has no engine work left: a stopped load run leaves queued misses behind, which
 * would otherwise execute during the next (hit) run.
 */
export async function waitIdle(app: FastifyInstance, engine: { readonly executions: number }, timeoutMs = 60_000): Promise<void> {
  const { admission } = app.queryCache;
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    const idle = admission.runningCount === 0 && admission.queuedCount === 0;
    if (idle && engine.executions === last) return;
    if (Date.now() > deadline) throw new Error(`engine work still pending after ${timeoutMs} ms`);
    last = engine.executions;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface CeilingAnswer {
  body: Buffer;
  contentType: string;
  cacheStatus: string;
  age: string;
}

/**
 * The ceiling: bare fastify with one POST /v1/query route sending a pre-serialised Buffer, with the same
 * content-type and headers of the same length as a hotpath hit. Same fastify options as buildApp's.
 */
export async function startCeiling(name: string, answer: CeilingAnswer): Promise<Listening> {
  const app = bareFastify();
  app.post('/v1/query', async (_request, reply) => {
    void reply.header('cache-status', answer.cacheStatus);
    void reply.header('age', answer.age);
    return reply.type(answer.contentType).send(answer.body);
  });
  return listen(name, app);
}

/** Same fastify options as buildApp's (and the ceiling's). */
const bareFastify = (): FastifyInstance =>
  Fastify({ logger: false, keepAliveTimeout: 65_000, forceCloseConnections: 'idle', return503OnClosing: true });

/** Redis keys of the naive-L2 reference live under this prefix (one key per body size). */
export const NAIVE_L2_PREFIX = 'bench-naive:';

/**
 * Naive L2 hit: the ceiling's route, but each request first does `GET key` (getBuffer) on the app's own
 * ioredis client (auto-pipelining on, no other options) and sends those bytes with the ceiling's headers.
 * SETs the key to `answer.body` before listening and proves one request returns exactly those bytes.
 * The client closes with the app.
 */
export async function startRedisGet(name: string, redisUrl: string, key: string, answer: CeilingAnswer): Promise<Listening> {
  const redis = new Redis(redisUrl, { connectionName: 'bench:naive-l2', enableAutoPipelining: true });
  redis.on('error', () => {});
  const app = bareFastify();
  app.addHook('onClose', async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  try {
    await redis.set(key, answer.body);
    app.post('/v1/query', async (_request, reply) => {
      const body = await redis.getBuffer(key);
      // A missing key must not pass for a hit: the run's non-2xx check catches this.
      if (body === null) return reply.code(500).send({ error: `${key} is not in Redis` });
      void reply.header('cache-status', answer.cacheStatus);
      void reply.header('age', answer.age);
      return reply.type(answer.contentType).send(body);
    });
    const listening = await listen(name, app);
    const probe = await post(`${listening.url}/v1/query`, '{}');
    if (probe.status !== 200 || !probe.body.equals(answer.body) || probe.contentType !== answer.contentType || probe.cacheStatus !== answer.cacheStatus) {
      throw new Error(`${name}: a probe request did not return the stored bytes (status ${probe.status}, ${probe.body.length} bytes)`);
    }
    return listening;
  } catch (err) {
    await app.close();
    throw err;
  }
}

export interface HitCounts {
  l1: number;
  l2: number;
}

async function scrape(app: FastifyInstance): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`);
  return res.body;
}

/** The value of one series (exact label text; '' for none) in a /metrics body; 0 when absent. */
function series(body: string, name: string, labels: string): number {
  const escaped = (labels === '' ? name : `${name}{${labels}}`).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${escaped} (\\S+)`, 'm').exec(body);
  return m ? Number(m[1]) : 0;
}

/** Cache hits by tier so far, from the app's own /metrics. */
export async function tierHits(app: FastifyInstance): Promise<HitCounts> {
  const body = await scrape(app);
  return { l1: series(body, 'hotpath_cache_tier_hits_total', 'tier="l1"'), l2: series(body, 'hotpath_cache_tier_hits_total', 'tier="l2"') };
}

export interface CacheCounters extends HitCounts {
  /** hotpath_cache_l1_bytes: bytes the L1 holds now (HOTPATH_L1_MAX_BYTES is its budget). */
  l1Bytes: number;
  /** hotpath_cache_evictions_total{tier="l1"}: entries evicted from L1 for space so far. */
  l1Evictions: number;
  /** Sum of hotpath_query_requests_total over all labels: every query the app answered. */
  queries: number;
}

/**
 * The counters once the app has stopped answering: a load generator stops counting with up to one
 * request per connection still in flight, which the server answers after it. Reading them only when
 * two scrapes 20 ms apart agree keeps those answers out of the next run's deltas.
 */
export async function settledCounters(app: FastifyInstance, timeoutMs = 2000): Promise<CacheCounters> {
  const deadline = Date.now() + timeoutMs;
  let last = await cacheCounters(app);
  for (;;) {
    await new Promise((r) => setTimeout(r, 20));
    const now = await cacheCounters(app);
    if (now.queries === last.queries || Date.now() > deadline) return now;
    last = now;
  }
}

/** The /metrics counters the distinct-query and peer runs report (one scrape). */
export async function cacheCounters(app: FastifyInstance): Promise<CacheCounters> {
  const body = await scrape(app);
  let queries = 0;
  for (const m of body.matchAll(/^hotpath_query_requests_total\{[^}]*\} (\S+)$/gm)) queries += Number(m[1]);
  return {
    l1: series(body, 'hotpath_cache_tier_hits_total', 'tier="l1"'),
    l2: series(body, 'hotpath_cache_tier_hits_total', 'tier="l2"'),
    l1Bytes: series(body, 'hotpath_cache_l1_bytes', ''),
    l1Evictions: series(body, 'hotpath_cache_evictions_total', 'tier="l1"'),
    queries,
  };
}

export interface PostResult {
  status: number;
  cacheStatus: string;
  contentType: string;
  age: string;
  body: Buffer;
}

/** One POST /v1/query (or any path), with a time limit. */
export async function post(url: string, body: string, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<PostResult> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  return {
    status: res.status,
    cacheStatus: res.headers.get('cache-status') ?? '',
    contentType: res.headers.get('content-type') ?? '',
    age: res.headers.get('age') ?? '',
    body: Buffer.from(await res.arrayBuffer()),
  };
}
