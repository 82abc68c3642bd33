// Why: every Redis connection hotpath opens gets the same fail-fast settings: when Redis is down a
// command errors at once (no offline queue, bounded command time) so the caller can degrade, and the
// client keeps reconnecting in the background so service comes back by itself. Losing and getting back
// a connection is reported once per role (onRedisConnectionChange), so an outage is two log lines,
// not a line per request that meets it.

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
  watchRedisConnection(redis, opts.connectionName);
  return redis;
}

export interface RedisConnectionChange {
  /** The connection's role: its connectionName, e.g. `hotpath:cache`. */
  role: string;
  up: boolean;
  /** When down: the last error the connection saw (no stack). */
  reason?: string;
}

type ConnectionListener = (change: RedisConnectionChange) => void;

/**
 * This process's connections that are down, by role. A role is reported lost when its first
 * connection goes down and back when none is down any more:
 *
 *   connecting/ready --reconnecting--> down   (first of its role: report lost)
 *   down --ready--> ready                     (last of its role: report back)
 *   any --end (closed on purpose)--> gone      (no report)
 */
const downByRole = new Map<string, Set<Redis>>();
const connectionListeners = new Set<ConnectionListener>();

/** Listen to lost/back changes of every Redis connection createRedis makes; returns the unsubscribe. */
export function onRedisConnectionChange(listener: ConnectionListener): () => void {
  connectionListeners.add(listener);
  return () => void connectionListeners.delete(listener);
}

function report(change: RedisConnectionChange): void {
  for (const listener of connectionListeners) listener(change);
}

function watchRedisConnection(redis: Redis, role: string): void {
  let lastError: string | undefined;
  redis.on('error', (err: Error) => {
    lastError = err.message;
  });
  // ioredis emits 'reconnecting' only for a connection it did not close on purpose.
  redis.on('reconnecting', () => {
    const down = downByRole.get(role) ?? new Set<Redis>();
    if (down.has(redis)) return;
    down.add(redis);
    downByRole.set(role, down);
    if (down.size === 1) report({ role, up: false, reason: lastError ?? 'connection closed' });
  });
  redis.on('ready', () => {
    lastError = undefined;
    const down = downByRole.get(role);
    if (down === undefined || !down.delete(redis)) return;
    if (down.size === 0) {
      downByRole.delete(role);
      report({ role, up: true });
    }
  });
  redis.on('end', () => {
    const down = downByRole.get(role);
    if (down?.delete(redis) && down.size === 0) downByRole.delete(role);
  });
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
