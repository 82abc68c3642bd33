// Why: every Redis connection hotpath opens gets the same fail-fast settings: when Redis is down a
// command errors at once (no offline queue, bounded command time) so the caller can degrade, and the
// client keeps reconnecting in the background so service comes back by itself.

import { Redis, type RedisOptions } from 'ioredis';

export interface RedisConnectOptions {
  url: string;
  commandTimeoutMs: number;
  /** Name shown in CLIENT LIST, e.g. `hotpath:cache`. */
  connectionName: string;
  autoPipelining?: boolean;
}

export function createRedis(opts: RedisConnectOptions): Redis {
  const options: RedisOptions = {
    connectionName: opts.connectionName,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: opts.commandTimeoutMs,
    connectTimeout: Math.max(1000, opts.commandTimeoutMs * 4),
    enableAutoPipelining: opts.autoPipelining ?? true,
    lazyConnect: false,
    // Reconnect forever, backing off to 2 s; the cache degrades to bypass meanwhile.
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    reconnectOnError: () => false,
  };
  const redis = new Redis(opts.url, options);
  // Errors surface through command rejections and `status`; an 'error' listener keeps them from
  // crashing the process as unhandled events.
  redis.on('error', () => {});
  return redis;
}

/** Resolve when the connection is ready, or reject after `timeoutMs`. */
export async function waitReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}

export async function closeRedis(redis: Redis): Promise<void> {
  try {
    if (redis.status === 'ready') await redis.quit();
    else redis.disconnect();
  } catch {
    redis.disconnect();
  }
}
