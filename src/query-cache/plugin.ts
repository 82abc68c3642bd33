// Why: the query-cache domain as one fastify plugin: builds its store, single-flight, admission and
// service from the config, exposes them as `app.queryCache`, registers its doors, closes on shutdown.

import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Config } from '../shared/config.ts';
import type { Authenticator } from '../shared/auth.ts';
import { Admission } from './admission.ts';
import { registerCacheAdmin } from './cache-admin.ts';
import type { Engine } from './engines/engine.ts';
import { SingleFlight } from './flight.ts';
import { registerJsonDoor } from './json-door.ts';
import { createQueryCacheMetrics } from './metrics.ts';
import { QueryCacheService } from './service.ts';
import { TieredStore } from './store/tiered-store.ts';
import { registerTrinoDoor, trinoRenderer } from './trino-door/routes.ts';
import { PagedQueries } from './paged-queries.ts';
import { QueryOwners } from './trino-door/owners.ts';
import { advertisedUrl } from '../shared/advertise.ts';

/** Trino abandons a query its client stopped polling after 5 minutes; so does hotpath. */
const TRINO_ABANDON_AFTER_MS = 5 * 60_000;

export interface QueryCache {
  service: QueryCacheService;
  store: TieredStore;
  engine: Engine;
  admission: Admission;
  /** Refresh gauges before a scrape. */
  updateGauges(): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    queryCache: QueryCache;
  }
}

export function registerQueryCache(app: FastifyInstance, deps: { config: Config; engine: Engine; auth: Authenticator; registry: Registry }): QueryCache {
  const { config, engine, auth, registry } = deps;
  const metrics = createQueryCacheMetrics(registry);
  let flight: SingleFlight | undefined;
  const store = new TieredStore({
    redisUrl: config.redisUrl,
    prefix: config.redisPrefix,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    l1MaxBytes: config.l1MaxBytes,
    compressMinBytes: config.cacheCompressMinBytes,
    onFlightDone: (done) => flight?.onDone(done),
    onL1Eviction: () => metrics.evictions.inc({ tier: 'l1' }),
  });
  flight = new SingleFlight(store, { lockTtlMs: config.lockTtlMs, maxWaitMs: config.statementTimeoutMs + config.maxQueueWaitMs + config.lockTtlMs });
  const admission = new Admission({
    maxGlobal: config.maxConcurrentExecutions,
    maxPerUser: config.maxConcurrentPerUser,
    maxQueued: config.maxQueued,
    maxWaitMs: config.maxQueueWaitMs,
  });
  const service = new QueryCacheService({ config, engine, store, flight, admission, metrics, log: app.log });
  const queryCache: QueryCache = {
    service,
    store,
    engine,
    admission,
    updateGauges: () => {
      metrics.queueDepth.set(admission.queuedCount);
      metrics.running.set(admission.runningCount);
      metrics.l1Bytes.set(store.l1Bytes());
      metrics.redisAvailable.set(store.available() ? 1 : 0);
    },
  };
  app.decorate('queryCache', queryCache);
  registerJsonDoor(app, { service, auth, maxSqlBytes: config.maxSqlBytes });
  registerCacheAdmin(app, { store, auth, metrics });
  const owners = new QueryOwners({ redis: store.l2.redis, prefix: config.redisPrefix, ttlMs: TRINO_ABANDON_AFTER_MS, selfUrl: config.advertiseUrl });
  app.addHook('onListen', async () => {
    owners.selfUrl ??= advertisedUrl(app.server.address(), config.host);
  });
  const paged = new PagedQueries(service, trinoRenderer);
  registerTrinoDoor(app, { paged, auth, maxSqlBytes: config.maxSqlBytes, abandonAfterMs: TRINO_ABANDON_AFTER_MS, owners });
  app.addHook('onClose', async () => {
    await store.close();
  });
  return queryCache;
}
