// Why: buildApp(config, deps) is the whole HTTP application as a tree of named fastify plugins, each
// declaring the plugins it depends on: shared (errors, parsers), telemetry (metrics, access log), docs,
// access (who may call a route), then the domains (query cache, GPU jobs), then health. server.ts
// owns the process; tests build apps with this and talk to them over real sockets.

import fp from 'fastify-plugin';
import type { Registry } from 'prom-client';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions, type RouteOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from './shared/config.ts';
import { createAuthenticator, type Authenticator } from './shared/auth.ts';
import { AppError } from './shared/errors.ts';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { answerClientError, answerFrameworkError, rawErrorResponse, registerErrorHandling } from './shared/http-errors.ts';
import { onRedisConnectionChange } from './shared/redis.ts';
import { registerHealth } from './shared/health.ts';
import { registerRequestTelemetry } from './shared/access-log.ts';
import { registerAccess } from './shared/access.ts';
import { deferredChildLogger } from './shared/request-logger.ts';
import { createRegistry } from './shared/metrics.ts';
import { readTlsPair, registerTlsReload, tlsFilesOf, type TlsPair } from './shared/tls.ts';
import type { Engine } from './query-cache/engines/engine.ts';
import { registerQueryCache } from './query-cache/plugin.ts';
import { registerGpuJobs } from './gpu/jobs/plugin.ts';
import { JOB_ID_MAX_LENGTH } from './gpu/jobs/routes.ts';
import { loadInventory } from './gpu/inventory.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from './gpu/kubernetes/kubeconfig.ts';
import { ConfigError } from './shared/config.ts';
import type { ClusterSpec } from './gpu/placement/model.ts';
import { registerInference, type InferenceDoor } from './inference/plugin.ts';

/** Deepest `{`/`[` nesting a JSON body may have: far above any real payload, far below what JSON.stringify (BullMQ) survives. */
export const MAX_JSON_DEPTH = 64;

/**
 * Longest path parameter, before percent-decoding, that the router hands to a route: the longest any
 * route's schema allows (a GPU job id, 128 characters), each character percent-encoded as up to
 * 9 bytes (%E2%82%AC). Longer answers 414 URI_TOO_LONG; shorter but over the schema, 400.
 */
const MAX_PARAM_LENGTH = JOB_ID_MAX_LENGTH * 9;

export interface AppDeps {
  engine: Engine;
  /** Close the engine when the app closes (the process's app does; tests sharing an engine do not). */
  ownsEngine?: boolean;
  /** pino options, or false for no logs. */
  logger?: FastifyServerOptions['logger'];
  /** Collect process metrics (off in tests that build many apps). */
  defaultMetrics?: boolean;
  /** GPU inventory (tests); default: HOTPATH_GPU_CLUSTER_FILE or the simulated K80 cluster. */
  gpuCluster?: ClusterSpec;
  /** The kubernetes backend's API server (HOTPATH_GPU_BACKEND=kubernetes); default: in-cluster or KUBECONFIG. */
  kubeConfig?: KubeConfig;
  /** Clock of the GPU job service (tests step it). */
  now?: () => number;
  /** The authenticator (server.ts loads it before starting anything); default: built from the config. */
  auth?: Authenticator;
  /** Sees every route as it is registered, fastify's and plugins' included (the fuzz test walks them all). */
  onRoute?: (route: RouteOptions) => void;
  /** The HTTPS cert/key pair (server.ts loads it before starting anything); default: read from the config's files. */
  tls?: TlsPair;
}

/**
 * What buildApp would otherwise read from files or parse from config strings (the HTTPS cert and key;
 * auth tokens, passwords or JWT key; the GPU inventory), read and checked now: server.ts calls this
 * right after loadConfig, so a bad one stops the process (a ConfigError naming its variable) before
 * Redis or the engine is started, and hands the results to buildApp so nothing is read twice.
 */
export async function loadConfiguredDeps(config: Config): Promise<Pick<AppDeps, 'auth' | 'gpuCluster' | 'kubeConfig' | 'tls'>> {
  const tlsFiles = tlsFilesOf(config);
  const tls = tlsFiles ? { tls: readTlsPair(tlsFiles) } : {};
  const auth = await createAuthenticator(config);
  if (!config.gpuEnabled) return { auth, ...tls };
  if (config.gpuBackend === 'kubernetes') {
    if (config.gpuClusterFile !== undefined) throw new ConfigError('HOTPATH_GPU_CLUSTER_FILE and HOTPATH_GPU_BACKEND=kubernetes: the kubernetes backend reads its nodes from the API server; set one');
    return { auth, kubeConfig: loadKubeConfig(), ...tls };
  }
  return { auth, gpuCluster: loadInventory(config.gpuClusterFile), ...tls };
}

/** True when `text` nests `{`/`[` deeper than `limit` (outside strings). One pass, no recursion. */
function nestedDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

export { loggerOptions } from './shared/access-log.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The app-owned Prometheus registry (shared/metrics.ts): every domain adds its metrics to it. */
    metricsRegistry: Registry;
    /** The /v2 door's models (absent with HOTPATH_INFERENCE_ENABLED=false). */
    inference: InferenceDoor;
  }
}

/** Errors in the catalogue's shape everywhere (incl. what Node answers itself), body parsers, Redis outage logs. */
const sharedPlugin = fp(
  async (app: FastifyInstance) => {
    registerErrorHandling(app);
    // Two requests Node answers itself, never reaching fastify: CONNECT (no tunnel here) and an Expect
    // other than 100-continue. Both get the catalogue's shape too.
    app.server.on('connect', (_request, socket: Socket) => {
      socket.on('error', () => {}); // handed over without a listener: a reset would crash the process
      socket.end(rawErrorResponse(new AppError('BAD_REQUEST', 'CONNECT is not served here')));
      setTimeout(() => socket.destroy(), 1000).unref(); // half-open: do not wait for the client's FIN
    });
    app.server.on('checkExpectation', (_request, response: ServerResponse) => {
      const e = new AppError('EXPECTATION_FAILED', 'only Expect: 100-continue is understood');
      const body = JSON.stringify(e.toBody());
      response.writeHead(e.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
    });
    // A Redis outage is logged once when a connection goes and once when it is back, not per request.
    const stopWatching = onRedisConnectionChange((change) =>
      change.up ? app.log.warn({ role: change.role }, 'redis connection back') : app.log.warn({ role: change.role, reason: change.reason }, 'redis connection lost'),
    );
    app.addHook('onClose', async () => stopWatching());
    // JSON only: text/plain SQL bodies belong to the Trino door, which registers its own parser.
    app.removeContentTypeParser('text/plain');
    // An empty body sent with Content-Type: application/json (common for DELETE and bodiless POSTs) is
    // "no body", not a parse error; routes that need a body still refuse it through their schema.
    const parseJson = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      if (body === '') return done(null, undefined);
      // Depth is refused before parsing: what parses may still be too deep to stringify again (a
      // RangeError deep in BullMQ, which the GPU API would have answered as a Redis outage).
      if (nestedDeeperThan(body as string, MAX_JSON_DEPTH)) return done(new AppError('BAD_REQUEST', `the JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      return parseJson(request, body as string, done);
    });
  },
  { name: 'hotpath-shared' },
);

/** The metrics registry, the request-duration histogram and the access line (one onResponse hook). */
const telemetryPlugin = fp(
  async (app: FastifyInstance, opts: { config: Config; defaultMetrics: boolean }) => {
    const registry = createRegistry({ defaultMetrics: opts.defaultMetrics });
    app.decorate('metricsRegistry', registry);
    registerRequestTelemetry(app, { mode: opts.config.accessLog, registry });
  },
  { name: 'hotpath-telemetry', dependencies: ['hotpath-shared'] },
);

/** OpenAPI at /docs: registered before any route, so it sees them all. */
const docsPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        info: { title: 'hotpath', version: '0.1.0', description: 'Query cache in front of Trino, and GPU scheduling, for the 254Carbon platform.' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      },
      // Shared answer schemas (Error, GpuJob, TrinoQueryResults, …) keep their $id as their name under
      // components.schemas, so a generated client gets those type names.
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'hotpath-docs', dependencies: ['hotpath-shared'] },
);

/** Who may call each route is its config.access, checked by one hook (shared/access.ts). */
const accessPlugin = fp(async (app: FastifyInstance, opts: { auth: Authenticator }) => registerAccess(app, opts.auth), {
  name: 'hotpath-access',
  dependencies: ['hotpath-shared'],
});

/** The query cache: its store, single-flight, admission, the JSON and Trino doors, cache admin (app.queryCache). */
const queryCachePlugin = fp(
  async (app: FastifyInstance, opts: { config: Config; engine: Engine }) => void registerQueryCache(app, { config: opts.config, engine: opts.engine, registry: app.metricsRegistry }),
  { name: 'hotpath-query-cache', dependencies: ['hotpath-telemetry', 'hotpath-access', 'hotpath-docs'] },
);

/** The GPU job service: intake, scheduling loop, executor, API (app.gpuJobs). */
const gpuJobsPlugin = fp(
  async (app: FastifyInstance, opts: { config: Config; cluster?: ClusterSpec; kubeConfig?: KubeConfig; now?: () => number }) =>
    void registerGpuJobs(app, {
      config: opts.config,
      registry: app.metricsRegistry,
      ...(opts.cluster !== undefined ? { cluster: opts.cluster } : {}),
      ...(opts.kubeConfig !== undefined ? { kubeConfig: opts.kubeConfig } : {}),
      ...(opts.now !== undefined ? { now: opts.now } : {}),
    }),
  { name: 'hotpath-gpu-jobs', dependencies: ['hotpath-telemetry', 'hotpath-access', 'hotpath-docs'] },
);

/** The Open Inference Protocol v2 door: /v2, models batched onto their replicas (app.inference). */
const inferencePlugin = fp(
  async (app: FastifyInstance, opts: { config: Config }) => {
    const gpu = app.hasDecorator('gpuJobs') ? app.gpuJobs.service : undefined;
    app.decorate('inference', registerInference(app, { config: opts.config, registry: app.metricsRegistry, ...(gpu !== undefined ? { gpu } : {}) }));
  },
  { name: 'hotpath-inference', dependencies: ['hotpath-telemetry', 'hotpath-access', 'hotpath-docs'] },
);

/** /healthz, /readyz and /metrics over whatever domains are registered. */
const healthPlugin = fp(
  async (app: FastifyInstance, opts: { engine: Engine }) => {
    const { queryCache } = app;
    const gpuJobs = app.hasDecorator('gpuJobs') ? app.gpuJobs : undefined;
    registerHealth(app, {
      registry: app.metricsRegistry,
      beforeScrape: [queryCache.updateGauges, ...(gpuJobs !== undefined ? [gpuJobs.updateGauges] : [])],
      checks: {
        redis: () => queryCache.store.l2.ping(),
        cache: () => queryCache.readiness(),
        engine: (signal) => opts.engine.ping(signal),
      },
    });
  },
  { name: 'hotpath-health', dependencies: ['hotpath-telemetry', 'hotpath-query-cache'] },
);

export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const tlsFiles = tlsFilesOf(config);
  const tls = tlsFiles ? (deps.tls ?? readTlsPair(tlsFiles)) : undefined;
  const app = Fastify({
    // HOTPATH_TLS_CERT_FILE/KEY_FILE: HTTPS only (fastify's `http` options do not reach an https server,
    // so Node's HTTP options it needs travel here too).
    ...(tls ? { https: { cert: tls.cert, key: tls.key, requireHostHeader: false } } : {}),
    logger: deps.logger ?? false,
    // One access line per request from registerRequestTelemetry instead of fastify's two (shared/access-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
    // request.log is made only when a request logs something (a hit logs nothing; shared/request-logger.ts).
    childLoggerFactory: deferredChildLogger,
    // Let a hit's stored bytes go out as they are; keep-alive tuned for load balancers.
    keepAliveTimeout: 65_000,
    forceCloseConnections: 'idle',
    // Requests arriving during the drain get SHUTTING_DOWN from http-errors.ts instead of fastify's own body.
    return503OnClosing: false,
    // What never reaches a route answers in the catalogue's shape too: bytes Node's parser refuses,
    // bad percent-encoding, an over-long path segment.
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Node would answer a request without Host itself (400, empty body); let it through instead (the
    // Trino door then builds its URIs from the address the request came in at).
    http: { requireHostHeader: false },
    trustProxy: typeof config.trustProxy === 'number' ? (_address: string, hop: number) => hop < (config.trustProxy as number) : config.trustProxy, // HOTPATH_TRUST_PROXY (fastify ignores a bare hop count)
    // No type coercion: `{"sql": 42}` is a bad request, not the SQL text "42".
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }) as unknown as FastifyInstance; // an https server is a FastifyInstance<https.Server>: the same API to the plugins
  // Rotated cert/key files (cert-manager, Vault) are picked up for new connections (shared/tls.ts).
  if (tls && tlsFiles) registerTlsReload(app, { files: tlsFiles, current: tls, intervalMs: config.tlsReloadIntervalMs });
  if (deps.onRoute !== undefined) app.addHook('onRoute', deps.onRoute);
  // The app as named plugins, each declaring what it needs (fastify-plugin: no encapsulation, so their
  // decorators and hooks reach every route): shared plugins first, then the domains, then health.
  await app.register(sharedPlugin);
  await app.register(telemetryPlugin, { config, defaultMetrics: deps.defaultMetrics ?? true });
  await app.register(docsPlugin);
  await app.register(accessPlugin, { auth: deps.auth ?? (await createAuthenticator(config)) });
  await app.register(queryCachePlugin, { config, engine: deps.engine });
  if (config.gpuEnabled) {
    await app.register(gpuJobsPlugin, {
      config,
      ...(deps.gpuCluster !== undefined ? { cluster: deps.gpuCluster } : {}),
      ...(deps.kubeConfig !== undefined ? { kubeConfig: deps.kubeConfig } : {}),
      ...(deps.now !== undefined ? { now: deps.now } : {}),
    });
  }
  if (config.inferenceEnabled) await app.register(inferencePlugin, { config });
  await app.register(healthPlugin, { engine: deps.engine });
  if (deps.ownsEngine) app.addHook('onClose', async () => deps.engine.close());
  return app;
}
