// Why: the staleness bound of the invalidation channel, measured as a user would notice it. Two replicas
// share one Redis; replica A reaches it through a TCP proxy that can freeze A's subscriber connection
// (open, silent: a half-open connection). Warm an entry into A's L1, freeze, invalidate the table through
// B, then ask A every few ms: how long after the invalidation answered does A still serve the old entry?

import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { buildApp } from '../../src/app.ts';
import { createDuckDbEngine } from '../../src/query-cache/engines/duckdb-engine.ts';
import { loadConfig, type Config } from '../../src/shared/config.ts';
import { startTcpProxy } from '../../test/helpers/tcp-proxy.ts';

const SUBSCRIBER = 'hotpath:events';
const SQL = 'SELECT region, count(*) AS n FROM demo.sales.customers GROUP BY region ORDER BY region';

export interface StalenessResult {
  boundMs: number;
  heartbeatMs: number;
  trials: { staleForMs: number; staleAnswers: number }[];
  readyzWhileDegraded: string;
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

async function ask(url: string, user = 'stale-probe'): Promise<string> {
  const res = await request(`${url}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-trino-user': user }, body: JSON.stringify({ sql: SQL }) });
  await res.body.dump();
  return String(res.headers['cache-status'] ?? '');
}

const until = async (what: () => boolean | Promise<boolean>, ms: number, label: string) => {
  const deadline = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > deadline) throw new Error(`staleness bench: ${label} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

export async function measureStaleness(redisUrl: string, trials: number): Promise<StalenessResult> {
  const target = new URL(redisUrl);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
  const engine = await createDuckDbEngine({ demoData: true, demoOrderRowCount: 10_000, statementTimeoutMs: 10_000 });
  const env = { HOTPATH_REDIS_PREFIX: 'stale:', LOG_LEVEL: 'silent', HOTPATH_GPU_ENABLED: 'false', HOTPATH_ADMIN_USERS: 'ops' };
  const configA: Config = loadConfig({ ...env, REDIS_URL: proxy.url });
  const configB: Config = loadConfig({ ...env, REDIS_URL: redisUrl });
  const a = await buildApp(configA, { engine, defaultMetrics: false });
  const b = await buildApp(configB, { engine, defaultMetrics: false });
  const [urlA, urlB] = [await listen(a), await listen(b)];
  const out: StalenessResult = { boundMs: configA.invalidationMaxSilenceMs, heartbeatMs: configA.invalidationHeartbeatIntervalMs, trials: [], readyzWhileDegraded: '' };
  try {
    await until(() => a.queryCache.store.invalidationChannelUp() && b.queryCache.store.invalidationChannelUp(), 10_000, 'both channels up');
    for (let t = 0; t < trials; t++) {
      await ask(urlA);
      await until(async () => (await ask(urlA)).includes('hit'), 5000, 'an L1 hit on A');
      proxy.freeze(SUBSCRIBER, { newConnections: true });
      const res = await request(`${urlB}/v1/cache?table=demo.sales.customers`, { method: 'DELETE', headers: { 'x-trino-user': 'ops' } });
      await res.body.dump();
      const invalidatedAt = performance.now();
      let lastStale = invalidatedAt;
      let staleAnswers = 0;
      // A hit right after the invalidation can only be the dropped L1 entry (Redis no longer has it).
      await until(async () => {
        const status = await ask(urlA);
        if (!status.includes('hit')) return true;
        staleAnswers++;
        lastStale = performance.now();
        return false;
      }, out.boundMs + 10_000, 'A to stop serving the invalidated entry');
      out.trials.push({ staleForMs: lastStale - invalidatedAt, staleAnswers });
      const ready = await request(`${urlA}/readyz`);
      out.readyzWhileDegraded = `${ready.statusCode} ${await ready.body.text()}`;
      proxy.unfreeze();
      await until(() => a.queryCache.store.invalidationChannelUp(), out.boundMs * 4 + 5000, 'A channel back up');
    }
  } finally {
    proxy.unfreeze();
    await a.close();
    await b.close();
    await engine.close();
    await proxy.close();
  }
  return out;
}
