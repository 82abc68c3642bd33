// Why: the query-cache domain as one fastify plugin: builds its store, single-flight, admission and
// service from the config, exposes them as `app.queryCache`, registers its doors, closes on shutdown.

import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Config } from '../shared/config.ts';
import { Admission } from './admission.ts';
import { registerCacheAdmin } from './cache-admin.ts';
import type { Engine } from './engines/engine.ts';
import { SingleFlight } from './flight.ts';
import { HoldBudget, registerJsonDoor } from './json-door.ts';
import { createQueryCacheMetrics } from './metrics.ts';
import { QueryCacheService } from './service.ts';
import { TieredStore } from './store/tiered-store.ts';
import { registerTrinoDoor } from './trino-door/routes.ts';
import { StatementRegistry } from './trino-door/registry.ts';
import { QueryOwners } from './trino-door/owners.ts';
import { advertisedUrl } from '../shared/advertise.ts';
import type { Degraded } from '../shared/health.ts';

export interface QueryCache {
  service: QueryCacheService;
  store: TieredStore;
  engine: Engine;
  admission: Admission;
  /** The Trino door's statements (bounded by count and bytes). */
  statements: StatementRegistry;
  /** Refresh gauges before a scrape. */
  updateGauges(): void;
  /** The /readyz `cache` check: a silent invalidation channel degrades the cache, it does not fail readiness. */
  readiness(): Promise<void | Degraded>;
}

declare module 'fastify' {
  interface FastifyInstance {
    queryCache: QueryCache;
  }
}

export function registerQueryCache(app: FastifyInstance, deps: { config: Config; engine: Engine; registry: Registry }): QueryCache {
  const { config, engine, registry } = deps;
  const metrics = createQueryCacheMetrics(registry);
  // The domain's one clock (ms): entries' ages, single-flight's deadlines, the service's freshness, the
  // Trino door's statements, their owners' claims and its pages all read it.
  const now = Date.now;
  const store = new TieredStore({
    now,
    redisUrl: config.redisUrl,
    prefix: config.redisPrefix,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    l1MaxBytes: config.l1MaxBytes,
    compressMinBytes: config.cacheCompressMinBytes,
    onL1Eviction: () => metrics.evictions.inc({ tier: 'l1' }),
    heartbeatIntervalMs: config.invalidationHeartbeatIntervalMs,
    maxSilenceMs: config.invalidationMaxSilenceMs,
    onChannelDown: (silentMs) => {
      metrics.invalidationChannelLapses.inc();
      app.log.warn(
        { silentMs: Math.round(silentMs), maxSilenceMs: config.invalidationMaxSilenceMs },
        'invalidation channel silent: L1 off and dropped, serving from Redis; reconnecting the subscriber',
      );
    },
    onChannelUp: (downForMs) => app.log.info({ downForMs: Math.round(downForMs) }, 'invalidation channel alive again: L1 on'),
  });
  const flight = new SingleFlight(store, store.signals, { lockTtlMs: config.lockTtlMs, maxWaitMs: config.statementTimeoutMs + config.maxQueueWaitMs + config.lockTtlMs, now });
  const admission = new Admission({
    maxGlobal: config.maxConcurrentExecutions,
    maxPerUser: config.maxConcurrentPerUser,
    maxQueued: config.maxQueued,
    maxWaitMs: config.maxQueueWaitMs,
  });
  const service = new QueryCacheService({ config, engine, store, flight, admission, metrics, log: app.log, now });
  const statements = new StatementRegistry({
    maxQueries: config.trinoDoorMaxQueries,
    maxQueriesPerUser: config.trinoDoorMaxQueriesPerUser,
    maxBytes: config.trinoDoorMaxHeldBytes,
    maxBytesPerUser: config.trinoDoorMaxHeldBytesPerUser,
    perQueryAllowanceBytes: config.cacheMaxEntryBytes,
    clientTimeoutMs: config.trinoDoorClientTimeoutSeconds * 1000,
    busyClientTimeoutMs: config.trinoDoorBusyClientTimeoutSeconds * 1000,
    now,
  });
  // Configuration, not state: set once.
  metrics.queueCapacity.set(config.maxQueued);
  metrics.runningCapacity.set(config.maxConcurrentExecutions);
  const queryCache: QueryCache = {
    service,
    store,
    engine,
    admission,
    statements,
    updateGauges: () => {
      metrics.trinoStatements.set(statements.usage.count);
      metrics.trinoStatementBytes.set(statements.usage.bytes);
      metrics.queueDepth.set(admission.queuedCount);
      metrics.running.set(admission.runningCount);
      metrics.l1Bytes.set(store.l1Bytes());
      metrics.redisAvailable.set(store.available() ? 1 : 0);
      metrics.invalidationChannelUp.set(store.invalidationChannelUp() ? 1 : 0);
    },
    readiness: async () => {
      const silentMs = store.l2.invalidationChannelSilentMs();
      if (silentMs === undefined) return undefined;
      return { degraded: `invalidation channel silent for ${(silentMs / 1000).toFixed(1)} s: L1 off, serving from Redis` };
    },
  };
  app.decorate('queryCache', queryCache);
  // A JSON answer is held (so its status is exact) while it could still be stored and the door's budget
  // allows, and streamed beyond; a client that stops reading is let go.
  registerJsonDoor(app, {
    service,
    maxSqlBytes: config.maxSqlBytes,
    send: { holdBytes: config.cacheMaxEntryBytes, budget: new HoldBudget(config.jsonDoorMaxHeldBytes), clientReadTimeoutMs: config.clientReadTimeoutSeconds * 1000 },
  });
  registerCacheAdmin(app, { store, metrics });
  const owners = new QueryOwners({
    redisUrl: config.redisUrl,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    prefix: config.redisPrefix,
    ttlMs: config.trinoDoorClientTimeoutSeconds * 1000,
    selfUrl: config.advertiseUrl,
    now,
  });
  app.addHook('onListen', async () => {
    owners.selfUrl ??= advertisedUrl(app.server.address(), config.host, config.tlsCertFile ? 'https' : 'http');
  });
  app.addHook('onClose', async () => owners.close());
  registerTrinoDoor(app, { service, maxSqlBytes: config.maxSqlBytes, registry: statements, owners, now });
  app.addHook('onClose', async () => {
    flight.close();
    await store.close();
  });
  return queryCache;
}
