// Why: every test file gets its own redis-server on a free loopback port, so parallel runs never
// collide and a test can kill and restart "Redis" to prove the cache degrades and recovers.

import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Redis } from 'ioredis';
import { closeRedis, createRedis, waitReady } from '../../src/shared/redis.ts';
import { startRedisServer, type StartedRedis } from '../../src/shared/redis-autostart.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  url: string;
  port: number;
  /** Kill the server (SIGKILL) and wait until it is gone. */
  kill(): Promise<void>;
  /** Start it again on the same port (empty unless started with persist). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** `persist`: append-only file in a private dir, so restart() comes back with the data (like production). */
export async function startTestRedis(opts: { persist?: boolean } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = opts.persist === true ? mkdtempSync(join(tmpdir(), 'hotpath-test-redis-')) : undefined;
  const start = () => startRedisServer(port, dir !== undefined ? { dir, appendOnly: true } : {});
  let server: StartedRedis = await start();
  const waitExit = (s: StartedRedis) =>
    new Promise<void>((resolve) => {
      if (s.process.exitCode !== null || s.process.signalCode !== null) resolve();
      else s.process.once('exit', () => resolve());
    });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async kill() {
      server.process.kill('SIGKILL');
      await waitExit(server);
    },
    async restart() {
      server = await start();
    },
    async stop() {
      server.process.kill('SIGTERM');
      await waitExit(server);
    },
  };
}

/**
 * A private redis-server and one client of it for the whole file (beforeAll/afterAll registered here):
 * read `.client` inside tests (it exists once beforeAll ran).
 */
export function useRedisClient(): { readonly client: Redis; readonly redis: TestRedis } {
  const state: { client?: Redis; redis?: TestRedis } = {};
  beforeAll(async () => {
    state.redis = await startTestRedis();
    state.client = createRedis({ url: state.redis.url, commandTimeoutMs: 2000, connectionName: 'test' });
    await waitReady(state.client, 5000);
  });
  afterAll(async () => {
    if (state.client !== undefined) await closeRedis(state.client);
    await state.redis?.stop();
  });
  return {
    get client() {
      return state.client!;
    },
    get redis() {
      return state.redis!;
    },
  };
}
