// Why: what Kubernetes and Prometheus ask of every replica: /healthz (the process answers),
// /readyz (its dependencies answer, else 503 so traffic goes elsewhere) and /metrics. A check may also
// answer "degraded": still ready (200), with the reason in the body, for a fault that every replica may
// share (taking them all out of rotation at once would turn it into an outage).

import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

/** Ready, but working around a fault; `degraded` says which, for the /readyz body. */
export interface Degraded {
  degraded: string;
}

/** Resolves (ok), resolves with Degraded (still ready), or rejects (not ready). */
export type Check = (signal: AbortSignal) => Promise<void | Degraded>;

const CHECK_TIMEOUT_MS = 2000;

export function registerHealth(app: FastifyInstance, deps: { registry: Registry; beforeScrape: (() => void | Promise<void>)[]; checks: Record<string, Check> }): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
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
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    await Promise.all(deps.beforeScrape.map((f) => f()));
    return reply.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
}
