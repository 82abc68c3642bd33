// Why: what Kubernetes and Prometheus ask of every replica: /healthz (the process answers),
// /readyz (its dependencies answer, else 503 so traffic goes elsewhere) and /metrics. A check may also
// answer "degraded": still ready (200), with the reason in the body, for a fault that every replica may
// share (taking them all out of rotation at once would turn it into an outage).

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { addSharedSchemas, errorResponses, ErrorBody, ref } from './api-schemas.ts';

/** Ready, but working around a fault; `degraded` says which, for the /readyz body. */
export interface Degraded {
  degraded: string;
}

/** Resolves (ok), resolves with Degraded (still ready), or rejects (not ready). */
export type Check = (signal: AbortSignal) => Promise<void | Degraded>;

const CHECK_TIMEOUT_MS = 2000;

const Checks = Type.Object(
  {},
  {
    additionalProperties: Type.String({ pattern: '^(ok$|degraded: |failed: )' }),
    description: 'Each check (redis, cache, engine) by name: `ok`, `degraded: <why>` (still ready) or `failed: <why>`.',
  },
);
const Ready = Type.Object({ status: Type.Literal('ready'), checks: Checks }, { description: 'Ready: every check is ok or degraded' });
const NotReady = Type.Object({ status: Type.Literal('not-ready'), checks: Checks }, { description: 'A check failed (or timed out): take this replica out of rotation' });
const tags = ['health'];

export function registerHealth(app: FastifyInstance, deps: { registry: Registry; beforeScrape: (() => void | Promise<void>)[]; checks: Record<string, Check> }): void {
  addSharedSchemas(app, ErrorBody);
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the process answers',
        operationId: 'healthz',
        tags,
        response: { 200: Type.Object({ status: Type.Literal('ok') }), ...errorResponses },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: Redis, the cache and the engine answer (503 when one does not)',
        operationId: 'readyz',
        tags,
        response: {
          200: Ready,
          // Not ready, or (like every route) this replica is shutting down: SHUTTING_DOWN in the error shape.
          503: Type.Union([NotReady, ref(ErrorBody)], { description: 'Not ready (a check failed), or shutting down (an error)' }),
          ...errorResponses,
        },
      },
    },
    async (_request, reply) => {
      const results: Record<string, string> = {};
      await Promise.all(
        Object.entries(deps.checks).map(async ([name, check]) => {
          const signal = AbortSignal.timeout(CHECK_TIMEOUT_MS);
          try {
            const outcome = await Promise.race([
              check(signal),
              new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('timed out')), { once: true })),
            ]);
            results[name] = outcome ? `degraded: ${outcome.degraded}` : 'ok';
          } catch (err) {
            results[name] = `failed: ${(err as Error).message}`;
          }
        }),
      );
      const ready = Object.values(results).every((r) => !r.startsWith('failed: '));
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks: results });
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        operationId: 'metrics',
        tags,
        response: {
          200: { description: 'The metrics, in the Prometheus text format', content: { [deps.registry.contentType]: { schema: { type: 'string' } } } },
          ...errorResponses,
        },
      },
    },
    async (_request, reply) => {
      await Promise.all(deps.beforeScrape.map((f) => f()));
      return reply.type(deps.registry.contentType).send(await deps.registry.metrics());
    },
  );
}
