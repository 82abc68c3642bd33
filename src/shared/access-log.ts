// Why: a log line per request is what an operator greps for, but on a cache hit that takes well under a
// millisecond the logger is the biggest cost: fastify's default of two lines per request ("incoming
// request", "request completed"), each run through the redaction paths, cut a 2 KB L1 hit to ~0.6× a bare
// server. hotpath writes one compact line per request instead (method, route pattern, status, time,
// Cache-Status, request id), after the answer went out, and by default only for requests that are not
// cache hits: hits are counted by the metrics (hotpath_query_requests_total, the request-duration
// histogram); misses, bypasses and every error are logged.
//
//   HOTPATH_ACCESS_LOG=all      every request
//   HOTPATH_ACCESS_LOG=misses   every request but a 2xx/3xx cache hit (default)
//   HOTPATH_ACCESS_LOG=off      none (errors are still logged by the error handler)

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import pino, { type DestinationStream } from 'pino';
import { Histogram, type Registry } from 'prom-client';
import type { Config } from './config.ts';

export type AccessLogMode = Config['accessLog'];

/** Whether a finished request gets an access line (pure: a table of mode, status and Cache-Status). */
export function shouldLog(mode: AccessLogMode, statusCode: number, cacheStatus: string | undefined): boolean {
  if (mode === 'all') return true;
  if (mode === 'off') return false;
  return statusCode >= 400 || cacheStatus === undefined || !cacheStatus.startsWith('hotpath; hit');
}

/** Which door a route pattern belongs to (a closed label set). */
export function doorOf(route: string): 'json' | 'trino' | 'gpu' | 'admin' | 'ops' {
  if (route === '/v1/query') return 'json';
  if (route.startsWith('/v1/statement') || route.startsWith('/v1/query/') || route === '/v1/info') return 'trino';
  if (route.startsWith('/v1/gpu/')) return 'gpu';
  if (route === '/v1/cache') return 'admin';
  return 'ops';
}

const NO_ROUTE = '(no route)';
const STATUS_CLASS = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/**
 * One onResponse hook per request: the request-duration histogram (door, route pattern, method, status
 * class: never the URL, so the label set is the route table) and, as `mode` says, one access line.
 */
export function registerRequestTelemetry(app: FastifyInstance, opts: { mode: AccessLogMode; registry: Registry }): void {
  const { mode } = opts;
  const duration = new Histogram({
    name: 'hotpath_http_request_duration_seconds',
    help: 'Time from the request\'s arrival to the last byte of its answer handed to the socket, by door (json, trino, gpu, admin, ops), route pattern, method and status class',
    labelNames: ['door', 'route', 'method', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [opts.registry],
  });
  // One child per (route, method, status class), made once: an observation then skips prom-client's
  // per-call label hashing. Bounded by the route table × methods × 5 classes.
  const children = new Map<string, ReturnType<typeof duration.labels>>();
  const series = (route: string, method: string, status: number) => {
    const cls = STATUS_CLASS[Math.floor(status / 100) - 1] ?? '5xx';
    const key = `${method} ${cls} ${route}`;
    let child = children.get(key);
    if (child === undefined) children.set(key, (child = duration.labels(doorOf(route), route, method, cls)));
    return child;
  };
  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    const route = request.routeOptions.url ?? NO_ROUTE;
    const status = reply.statusCode;
    const ms = reply.elapsedTime;
    series(route, request.method, status).observe(ms / 1000);
    if (mode !== 'off') {
      const cache = reply.getHeader('cache-status') as string | undefined;
      if (shouldLog(mode, status, cache)) {
        // One flat object: no request/response serialisers, nothing for redaction to walk.
        app.log.info(
          { reqId: request.id, method: request.method, route, status, ms: Math.round(ms * 100) / 100, ...(cache !== undefined ? { cache } : {}) },
          'request completed',
        );
      }
    }
    done();
  });
}

/**
 * pino options for the process: level, redaction of the fields that may carry credentials should
 * anything log a request, and the destination (stdout, written synchronously: a line is out before
 * the process can die, and a single write per line costs less than sonic-boom's asynchronous
 * buffering measured here). `dest` lets the benchmark send the shipped logger to /dev/null.
 */
export function loggerOptions(config: Config, dest: number | string = 1): { level: string; redact: { paths: string[]; censor: string }; stream: DestinationStream } {
  return {
    level: config.logLevel,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-trino-extra-credential"]', 'req.headers.cookie', 'password', 'token', 'err.config.headers.authorization'],
      censor: '[redacted]',
    },
    stream: pino.destination({ dest, sync: true }),
  };
}
