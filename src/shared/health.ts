// Why: what Kubernetes and Prometheus ask of every replica: /healthz (the process answers),
// /readyz (its dependencies answer, else 503 so traffic goes elsewhere) and /metrics.

import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export type Check = (signal: AbortSignal) => Promise<void>;

const CHECK_TIMEOUT_MS = 2000;

export function registerHealth(app: FastifyInstance, deps: { registry: Registry; beforeScrape: (() => void | Promise<void>)[]; checks: Record<string, Check> }): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const results: Record<string, string> = {};
    await Promise.all(
      Object.entries(deps.checks).map(async ([name, check]) => {
        const signal = AbortSignal.timeout(CHECK_TIMEOUT_MS);
        try {
          await Promise.race([
            check(signal),
            new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('timed out')), { once: true })),
          ]);
          results[name] = 'ok';
        } catch (err) {
          results[name] = `failed: ${(err as Error).message}`;
        }
      }),
    );
    const ready = Object.values(results).every((r) => r === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks: results });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    await Promise.all(deps.beforeScrape.map((f) => f()));
    return reply.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
}
