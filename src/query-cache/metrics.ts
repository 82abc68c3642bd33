// Why: every query-cache metric in one file, on the app's registry. Label values come from closed sets
// (result, reason, tier, engine outcome): never SQL text or a user name.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type RequestResult = 'hit' | 'miss' | 'stale' | 'bypass' | 'error';

export function createQueryCacheMetrics(registry: Registry) {
  const registers = [registry];
  const m = {
    requests: new Counter({
      name: 'hotpath_query_requests_total',
      help: 'Queries answered, by door, result (hit, miss, stale, bypass, error) and bypass/error reason',
      labelNames: ['door', 'result', 'reason'] as const,
      registers,
    }),
    engineSeconds: new Histogram({
      name: 'hotpath_engine_execution_seconds',
      help: 'Engine execution time of cache misses and bypasses',
      labelNames: ['engine', 'outcome'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    hitSeconds: new Histogram({
      name: 'hotpath_cache_hit_seconds',
      help: 'Time to find a cached answer, by tier',
      labelNames: ['tier'] as const,
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
      registers,
    }),
    tierHits: new Counter({ name: 'hotpath_cache_tier_hits_total', help: 'Cache hits by tier (l1, l2)', labelNames: ['tier'] as const, registers }),
    storedBytes: new Counter({ name: 'hotpath_cache_stored_bytes_total', help: 'Bytes written to Redis as cache entries', registers }),
    stored: new Counter({ name: 'hotpath_cache_stores_total', help: 'Cache entries written, by outcome (stored, skipped-invalidated, too-large)', labelNames: ['outcome'] as const, registers }),
    l1Bytes: new Gauge({ name: 'hotpath_cache_l1_bytes', help: 'Bytes held by the in-process L1 cache', registers }),
    evictions: new Counter({ name: 'hotpath_cache_evictions_total', help: 'Entries evicted from L1 for space', labelNames: ['tier'] as const, registers }),
    collapsed: new Counter({ name: 'hotpath_cache_collapsed_waiters_total', help: 'Queries that waited for an identical in-flight execution instead of running their own', registers }),
    invalidations: new Counter({ name: 'hotpath_cache_invalidations_total', help: 'Invalidation requests, by kind', labelNames: ['kind'] as const, registers }),
    queueDepth: new Gauge({ name: 'hotpath_admission_queue_depth', help: 'Queries waiting for an engine execution slot', registers }),
    queueCapacity: new Gauge({ name: 'hotpath_admission_queue_capacity', help: 'Queries that may wait for a slot (HOTPATH_MAX_QUEUED); beyond it 429', registers }),
    running: new Gauge({ name: 'hotpath_admission_running', help: 'Engine executions running now', registers }),
    runningCapacity: new Gauge({ name: 'hotpath_admission_running_capacity', help: 'Engine executions allowed at once (HOTPATH_MAX_CONCURRENT_EXECUTIONS)', registers }),
    trinoStatements: new Gauge({ name: 'hotpath_trino_statements', help: 'Trino-door statements held (submitted, running, or finished with the last page not yet fetched)', registers }),
    trinoStatementBytes: new Gauge({ name: 'hotpath_trino_statement_bytes', help: 'Bytes held by Trino-door statements (text, kept pages), bounded by HOTPATH_TRINO_DOOR_MAX_HELD_BYTES', registers }),
    redisAvailable: new Gauge({ name: 'hotpath_cache_redis_available', help: '1 when Redis is reachable and the cache is on', registers }),
    invalidationChannelUp: new Gauge({
      name: 'hotpath_cache_invalidation_channel_up',
      help: "1 while this replica's invalidation subscription is proven alive (its own heartbeat came back within HOTPATH_INVALIDATION_MAX_SILENCE_MS); 0: L1 off, hits from Redis",
      registers,
    }),
    invalidationChannelLapses: new Counter({
      name: 'hotpath_cache_invalidation_channel_lapses_total',
      help: 'Times the invalidation subscription went silent past the bound (L1 dropped, subscriber reconnected); counts lapses a scrape of the gauge misses',
      registers,
    }),
  };
  // Label children bound once: the hit path should not hash label objects on every request.
  const requestChildren = new Map<string, { inc(): void }>();
  const tiers = {
    l1: { hitSeconds: m.hitSeconds.labels('l1'), tierHits: m.tierHits.labels('l1') },
    l2: { hitSeconds: m.hitSeconds.labels('l2'), tierHits: m.tierHits.labels('l2') },
  };
  return {
    ...m,
    countRequest(door: string, result: RequestResult, reason: string): void {
      const key = `${door}|${result}|${reason}`;
      let child = requestChildren.get(key);
      if (!child) requestChildren.set(key, (child = m.requests.labels(door, result, reason)));
      child.inc();
    },
    observeHit(tier: 'l1' | 'l2', seconds: number): void {
      tiers[tier].hitSeconds.observe(seconds);
      tiers[tier].tierHits.inc();
    },
  };
}

export type QueryCacheMetrics = ReturnType<typeof createQueryCacheMetrics>;
