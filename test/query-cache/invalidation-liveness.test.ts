// Why: invalidations reach a replica's L1 through one pub/sub connection. When only that connection
// hangs (half-open: no reset, the socket still says "ready"), the replica must stop serving L1 within
// the silence bound instead of serving an invalidated entry for its whole TTL, stay in rotation
// (serving from Redis, at the current generation), say so, and heal by itself.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { query, testConfig, type TestApp, useTestStack } from '../helpers/app.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

/** The subscriber names itself with CLIENT SETNAME; the proxy recognises its connection by that. */
const SUBSCRIBER = 'hotpath:events';
const SLACK_MS = 5000;

let proxy: TcpProxy;
let proxied: TestApp; // reaches Redis through the proxy
let direct: TestApp; // same Redis, same prefix: another replica of the deployment
let boundMs: number;

useTestStack(async (s) => {
  proxy = await startTcpProxy({ host: '127.0.0.1', port: s.redis.port });
  s.onClose(() => proxy.close()); // registered first: runs after the apps closed
  direct = await s.app({ HOTPATH_ADMIN_USERS: 'ops' });
  proxied = await s.app(testConfig(proxy.url, { HOTPATH_ADMIN_USERS: 'ops', HOTPATH_REDIS_PREFIX: direct.config.redisPrefix }));
  boundMs = proxied.config.invalidationMaxSilenceMs;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(25);
  }
};
const metric = async (app: TestApp, line: string): Promise<number> => {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? Number.NaN : Number(found.slice(line.length + 1));
};
const channelUp = (app: TestApp) => metric(app, 'hotpath_cache_invalidation_channel_up');
const lapses = (app: TestApp) => metric(app, 'hotpath_cache_invalidation_channel_lapses_total');
const tierHits = async (app: TestApp, tier: 'l1' | 'l2') => (await metric(app, `hotpath_cache_tier_hits_total{tier="${tier}"}`)) || 0;
const status = async (app: TestApp, sql: string, user: string) => {
  const r = await query(app.url, sql, { user });
  expect(r.status, r.text).toBe(200);
  return r.headers.get('cache-status') ?? '';
};
const invalidate = async (app: TestApp, target: string) => {
  const r = await fetch(`${app.url}/v1/cache?${target}`, { method: 'DELETE', headers: { 'x-trino-user': 'ops' } });
  expect(r.status).toBe(200);
};
/** Two reads: the first may copy from Redis into L1, the second must be served from L1. */
const expectL1Hit = async (app: TestApp, sql: string, user: string) => {
  await status(app, sql, user);
  const before = await tierHits(app, 'l1');
  expect(await status(app, sql, user)).toMatch(/^hotpath; hit/);
  expect(await tierHits(app, 'l1')).toBe(before + 1);
};

describe('invalidation channel liveness', () => {
  afterEach(() => proxy.unfreeze());

  it('a healthy replica keeps L1 on over several heartbeat periods (no flapping)', async () => {
    const sql = "SELECT count(*) AS n FROM demo.sales.orders WHERE status = 'returned'";
    await status(proxied, sql, 'lena');
    const l1Before = await tierHits(proxied, 'l1');
    const lapsesBefore = await lapses(proxied);
    const end = Date.now() + 4 * proxied.config.invalidationHeartbeatIntervalMs + 500;
    let reads = 0;
    while (Date.now() < end) {
      expect(await status(proxied, sql, 'lena')).toMatch(/^hotpath; hit/);
      expect(await channelUp(proxied)).toBe(1);
      reads++;
      await sleep(50);
    }
    expect(await tierHits(proxied, 'l1')).toBe(l1Before + reads);
    expect(await lapses(proxied)).toBe(lapsesBefore);
    expect(await channelUp(direct)).toBe(1);
  });

  it('a frozen subscriber: L1 stops within the bound, /readyz stays 200 and says degraded, Redis serves at the current generation; unfreezing heals it', async () => {
    const sql = "SELECT count(*) AS n FROM demo.sales.orders WHERE status = 'shipped'";
    const user = 'mara';
    expect(await status(proxied, sql, user)).toBe('hotpath; fwd=miss; stored');
    await expectL1Hit(proxied, sql, user);

    // Freeze the subscriber, and any fresh one it opens, until unfrozen: the network path stays bad.
    expect(proxy.freeze(SUBSCRIBER, { newConnections: true })).toBe(1);
    await invalidate(direct, 'table=demo.sales.orders');
    const invalidatedAt = Date.now();
    let staleAnswers = 0;
    let lastStaleMs = 0;
    await until(
      async () => {
        const s = await status(proxied, sql, user);
        if (s.startsWith('hotpath; hit')) {
          staleAnswers++;
          lastStaleMs = Date.now() - invalidatedAt;
          return false;
        }
        expect(s).toBe('hotpath; fwd=miss; stored');
        return true;
      },
      boundMs + SLACK_MS,
      'the proxied replica stops serving the invalidated entry',
    );
    console.log(`[liveness] invalidated entry served ${staleAnswers} times from L1, last ${lastStaleMs} ms after the invalidation (bound ${boundMs} ms)`);
    expect(lastStaleMs).toBeLessThan(boundMs + 2000);

    const ready = await fetch(`${proxied.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: Record<string, string> };
    expect(body.checks.cache).toMatch(/^degraded: invalidation channel silent for \d+\.\d s/);
    expect(body.checks.redis).toBe('ok');
    expect(await channelUp(proxied)).toBe(0);
    expect(await channelUp(direct)).toBe(1);
    expect(await lapses(proxied)).toBeGreaterThanOrEqual(1);

    // Degraded: hits come from Redis, never from L1.
    const l1 = await tierHits(proxied, 'l1');
    const l2 = await tierHits(proxied, 'l2');
    expect(await status(proxied, sql, user)).toMatch(/^hotpath; hit/);
    expect(await status(proxied, sql, user)).toMatch(/^hotpath; hit/);
    expect(await tierHits(proxied, 'l1')).toBe(l1);
    expect(await tierHits(proxied, 'l2')).toBe(l2 + 2);

    // It misses an "invalidate all" too. That moves the generation first and unlinks the old one's entries
    // after (a scan): caught in between, a replica reading at the generation it last heard of would still
    // find the entry. Degraded, it reads at the generation Redis holds.
    const raw = new Redis(direct.config.redisUrl);
    try {
      await raw.incr(`${direct.config.redisPrefix}gen`);
    } finally {
      raw.disconnect();
    }
    expect(await status(proxied, sql, user)).toBe('hotpath; fwd=miss; stored');
    // A whole one: then what it stores lands where a later table invalidation reaches it.
    await invalidate(direct, 'all=true');
    expect(await status(proxied, sql, user)).toBe('hotpath; fwd=miss; stored');
    expect(await status(proxied, sql, user)).toMatch(/^hotpath; hit/);
    await invalidate(direct, 'table=demo.sales.orders');
    expect(await status(proxied, sql, user)).toBe('hotpath; fwd=miss; stored');

    proxy.unfreeze();
    await until(async () => (await channelUp(proxied)) === 1, boundMs + SLACK_MS, 'the channel is proven alive again');
    expect(((await (await fetch(`${proxied.url}/readyz`)).json()) as { checks: Record<string, string> }).checks.cache).toBe('ok');
    await expectL1Hit(proxied, sql, user);
  });

  it('a subscriber that hangs is replaced by a fresh connection, so the replica heals by itself', async () => {
    const sql = "SELECT count(*) AS n FROM demo.sales.orders WHERE status = 'pending'";
    const user = 'nico';
    await expectL1Hit(proxied, sql, user);
    const before = { lapses: await lapses(proxied), connections: proxy.count(SUBSCRIBER).ever };

    // Only the connection open now hangs; a new one gets through.
    expect(proxy.freeze(SUBSCRIBER)).toBe(1);
    await until(() => proxy.count(SUBSCRIBER).ever > before.connections, boundMs + SLACK_MS, 'a fresh subscriber connection');
    await until(async () => (await channelUp(proxied)) === 1 && (await lapses(proxied)) === before.lapses + 1, SLACK_MS, 'the channel back');
    // The hung connection was closed, not left behind.
    await until(() => proxy.count(SUBSCRIBER).open === 1, SLACK_MS, 'the hung connection closed');
    proxy.unfreeze();
    await expectL1Hit(proxied, sql, user);
  });
});
