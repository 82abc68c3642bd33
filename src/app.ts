// Why: buildApp(config, deps) is the whole HTTP application as a fastify plugin tree: shared plugins
// (errors, docs, auth, metrics, health) first, then the domains. server.ts owns the process; tests
// build apps with this and talk to them over real sockets.

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
import { createRegistry } from './shared/metrics.ts';
import type { Engine } from './query-cache/engines/engine.ts';
import { registerQueryCache } from './query-cache/plugin.ts';
import { registerGpuJobs } from './gpu/jobs/plugin.ts';
import { JOB_ID_MAX_LENGTH } from './gpu/jobs/routes.ts';
import { loadInventory } from './gpu/inventory.ts';
import type { ClusterSpec } from './gpu/placement/model.ts';

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
  /** Clock of the GPU job service (tests step it). */
  now?: () => number;
  /** The authenticator (server.ts loads it before starting anything); default: built from the config. */
  auth?: Authenticator;
  /** Sees every route as it is registered, fastify's and plugins' included (the fuzz test walks them all). */
  onRoute?: (route: RouteOptions) => void;
}

/**
 * What buildApp would otherwise read from files or parse from config strings (auth tokens, passwords
 * or JWT key; the GPU inventory), read and checked now: server.ts calls this
 * right after loadConfig, so a bad one stops the process (a ConfigError naming its variable) before
 * Redis or the engine is started, and hands the results to buildApp so nothing is read twice.
 */
export async function loadConfiguredDeps(config: Config): Promise<Pick<AppDeps, 'auth' | 'gpuCluster'>> {
  const auth = await createAuthenticator(config);
  if (!config.gpuEnabled) return { auth };
  return { auth, gpuCluster: loadInventory(config.gpuClusterFile) };
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

export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    // One access line per request from registerRequestTelemetry instead of fastify's two (shared/access-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
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
  });
  if (deps.onRoute !== undefined) app.addHook('onRoute', deps.onRoute);
  registerErrorHandling(app);
  const registry = createRegistry({ defaultMetrics: deps.defaultMetrics ?? true });
  registerRequestTelemetry(app, { mode: config.accessLog, registry });
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

  const auth = deps.auth ?? (await createAuthenticator(config));
  // Who may call each route is its config.access, checked by one hook (shared/access.ts).
  registerAccess(app, auth);
  const queryCache = registerQueryCache(app, { config, engine: deps.engine, registry });
  const gpuJobs = config.gpuEnabled
    ? registerGpuJobs(app, {
        config,
        registry,
        ...(deps.gpuCluster !== undefined ? { cluster: deps.gpuCluster } : {}),
        ...(deps.now !== undefined ? { now: deps.now } : {}),
      })
    : undefined;
  registerHealth(app, {
    registry,
    beforeScrape: [queryCache.updateGauges, ...(gpuJobs !== undefined ? [gpuJobs.updateGauges] : [])],
    checks: {
      redis: () => queryCache.store.l2.ping(),
      cache: () => queryCache.readiness(),
      engine: (signal) => deps.engine.ping(signal),
    },
  });
  if (deps.ownsEngine) app.addHook('onClose', async () => deps.engine.close());
  return app;
}
