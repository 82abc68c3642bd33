// Why: buildApp(config, deps) is the whole HTTP application as a fastify plugin tree: shared plugins
// (errors, docs, auth, metrics, health) first, then the domains. server.ts owns the process; tests
// build apps with this and talk to them over real sockets.

import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from './shared/config.ts';
import { createAuthenticator } from './shared/auth.ts';
import { registerErrorHandling } from './shared/http-errors.ts';
import { registerHealth } from './shared/health.ts';
import { createRegistry } from './shared/metrics.ts';
import type { Engine } from './query-cache/engines/engine.ts';
import { registerQueryCache } from './query-cache/plugin.ts';
import { registerGpuJobs } from './gpu/jobs/plugin.ts';
import type { ClusterSpec } from './gpu/placement/model.ts';

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
}

export function loggerOptions(config: Config): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-trino-extra-credential"]', 'req.headers.cookie', '*.password', '*.token'],
      censor: '[redacted]',
    },
  };
}

export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    // Let a hit's stored bytes go out as they are; keep-alive tuned for load balancers.
    keepAliveTimeout: 65_000,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // No type coercion: `{"sql": 42}` is a bad request, not the SQL text "42".
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  registerErrorHandling(app);
  // JSON only: text/plain SQL bodies belong to the Trino door, which registers its own parser.
  app.removeContentTypeParser('text/plain');
  // An empty body sent with Content-Type: application/json (common for DELETE and bodiless POSTs) is
  // "no body", not a parse error; routes that need a body still refuse it through their schema.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    return parseJson(request, body as string, done);
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'hotpath', version: '0.1.0', description: 'Query cache in front of Trino, and GPU scheduling, for the 254Carbon platform.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const registry = createRegistry({ defaultMetrics: deps.defaultMetrics ?? true });
  const auth = createAuthenticator(config);
  const queryCache = registerQueryCache(app, { config, engine: deps.engine, auth, registry });
  const gpuJobs = config.gpuEnabled
    ? registerGpuJobs(app, { config, auth, registry, ...(deps.gpuCluster !== undefined ? { cluster: deps.gpuCluster } : {}), ...(deps.now !== undefined ? { now: deps.now } : {}) })
    : undefined;
  registerHealth(app, {
    registry,
    beforeScrape: [queryCache.updateGauges, ...(gpuJobs !== undefined ? [gpuJobs.updateGauges] : [])],
    checks: {
      redis: () => queryCache.store.l2.ping(),
      engine: (signal) => deps.engine.ping(signal),
    },
  });
  if (deps.ownsEngine) app.addHook('onClose', async () => deps.engine.close());
  return app;
}
