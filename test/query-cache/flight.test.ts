// Why: single-flight decides who shares whose answer. Against a real Redis: a request that comes once a
// fill is done never shares it (its answer may predate what the request has seen), a holder's own
// failures (its client cancelled, its admission refused it) are not inherited, and an entry found while
// waiting stands in only when the caller says it may.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SingleFlight } from '../../src/query-cache/flight.ts';
import { AppError } from '../../src/shared/errors.ts';
import type { CachedEntry } from '../../src/query-cache/store/entry.ts';
import { TieredStore } from '../../src/query-cache/store/tiered-store.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
let store: TieredStore;
let flight: SingleFlight;
let other: SingleFlight;

const entry = (storedAtMs = Date.now()): CachedEntry => ({
  meta: { storedAtMs, freshness: { ttlMs: 60_000, swrMs: 0, staleIfErrorMs: 0 }, tables: [], principal: 'alice', contentType: 'application/json', rowCount: 1 },
  body: Buffer.from('{"rows":[[1]]}'),
});
const outcome = (e: CachedEntry, stored = true) => ({ entry: e, stored });

beforeAll(async () => {
  redis = await startTestRedis();
  store = new TieredStore({
    redisUrl: redis.url,
    prefix: `f${Math.random().toString(36).slice(2, 7)}:`,
    commandTimeoutMs: 1000,
    l1MaxBytes: 1024 * 1024,
    compressMinBytes: 0,
    heartbeatIntervalMs: 200,
    maxSilenceMs: 1000,
  });
  flight = new SingleFlight(store, store.signals, { lockTtlMs: 2000, maxWaitMs: 10_000 });
  other = new SingleFlight(store, store.signals, { lockTtlMs: 2000, maxWaitMs: 10_000 });
  const deadline = Date.now() + 5000;
  while (!store.invalidationChannelUp() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
});
afterAll(async () => {
  await store.close();
  await redis.stop();
});

describe('SingleFlight', () => {
  it('shares a fill with requests that arrive while it runs, not with one that arrives once it is done', async () => {
    const calls: string[] = [];
    let done!: () => void;
    const first = flight.run('k1', async () => {
      calls.push('first');
      await new Promise<void>((r) => (done = r));
      return outcome(entry(), false);
    });
    await new Promise((r) => setTimeout(r, 50));
    const during = flight.run('k1', async () => (calls.push('during'), outcome(entry(), false)));
    done();
    // right after the fill settled, while its flight still publishes and unlocks
    await new Promise((r) => setImmediate(r));
    const after = flight.run('k1', async () => (calls.push('after'), outcome(entry(), false)));
    expect((await first)?.collapsed).toBe(false);
    expect((await during)?.collapsed).toBe(true);
    expect((await after)?.collapsed).toBe(false);
    expect(calls).toEqual(['first', 'after']);
  });

  it("does not inherit a remote holder's own failure (its client cancelled): it leads instead", async () => {
    let release!: () => void;
    const holder = other.run('k2', async () => {
      await new Promise<void>((r) => (release = r));
      throw new AppError('QUERY_CANCELLED');
    });
    await new Promise((r) => setTimeout(r, 50));
    // `other` and `flight` are two replicas: the waiter sees only the lock and the "done" message
    const waiter = flight.run('k2', async () => outcome(entry()));
    await new Promise((r) => setTimeout(r, 50));
    release();
    await expect(holder).rejects.toMatchObject({ code: 'QUERY_CANCELLED' });
    expect(await waiter).toMatchObject({ stored: true, collapsed: false });
  });

  it('takes an entry found while waiting only when it is usable', async () => {
    await store.store('k3', entry(Date.now() - 30_000), { generation: 0, values: ['0'] });
    let release!: () => void;
    const holder = other.run('k3', async () => {
      await new Promise<void>((r) => (release = r));
      return outcome(entry(), false);
    });
    await new Promise((r) => setTimeout(r, 50));
    const since = Date.now();
    let ran = false;
    const waiter = flight.run('k3', async () => ((ran = true), outcome(entry())), true, (e) => e.meta.storedAtMs >= since);
    await new Promise((r) => setTimeout(r, 100));
    expect(ran).toBe(false); // still waiting: the old entry in the store does not stand in
    release();
    await holder;
    expect(await waiter).toMatchObject({ collapsed: false });
    expect(ran).toBe(true);
  });
});
