// Why: the L2 tier and the cross-replica signals of the cache, over one Redis: entries, table/user
// indexes for invalidation, the namespace generation (invalidate all), single-flight locks, and one
// pub/sub channel that tells every replica about invalidations and finished fills.
//
// Keys (P = prefix, G = generation):
//   P gen                 namespace generation, INCR on invalidate-all
//   P gG:e:<hash>         entry envelope (PX = retention)
//   P gG:t:<table>        set of hashes reading <table>      P gG:u:<user>  set of a user's hashes
//   P v:t:<table>         version of a table (moves on invalidation)     P v:u:<user>  same per user
//   P gG:l:<hash>         single-flight lock, value = owner id
//   P events              pub/sub channel (JSON messages)

import type { Redis } from 'ioredis';
import { createRedis, closeRedis } from '../../shared/redis.ts';
import { EXTEND_LOCK, INVALIDATE_INDEX, PUT_ENTRY, RELEASE_LOCK } from './redis-scripts.ts';

export type Invalidation = { kind: 'table'; table: string } | { kind: 'user'; user: string } | { kind: 'all' };

export interface FlightError {
  code: string;
  message: string;
  details?: Record<string, string | number>;
}

/** A fill finished somewhere: `stored` says whether waiters will find the entry in Redis. */
export type FlightDone = { key: string; ok: true; stored: boolean } | { key: string; ok: false; error: FlightError };

type EventMessage = ({ t: 'inv'; gen: number } & Invalidation) | ({ t: 'done' } & FlightDone);

export interface RedisCacheStoreOptions {
  url: string;
  prefix: string;
  commandTimeoutMs: number;
  onInvalidation: (inv: Invalidation) => void;
  onFlightDone: (done: FlightDone) => void;
  /** The event subscription (re)connected: invalidations may have been missed meanwhile. */
  onResync: () => void;
}

interface ScriptCommands {
  hpPutEntry(numKeys: number, ...args: (string | Buffer | number)[]): Promise<number>;
  hpInvalidateIndex(key: string, versionKey: string, entryPrefix: string): Promise<number>;
  hpReleaseLock(key: string, owner: string): Promise<number>;
  hpExtendLock(key: string, owner: string, ms: number): Promise<number>;
}

export class RedisCacheStore {
  readonly redis: Redis & ScriptCommands;
  private readonly sub: Redis;
  private readonly p: string;
  private readonly channel: string;
  private gen = 0;
  private synced = false;
  private readonly opts: RedisCacheStoreOptions;

  constructor(opts: RedisCacheStoreOptions) {
    this.opts = opts;
    this.p = opts.prefix;
    this.channel = `${opts.prefix}events`;
    const redis = createRedis({ url: opts.url, commandTimeoutMs: opts.commandTimeoutMs, connectionName: 'hotpath:cache' });
    redis.defineCommand('hpPutEntry', { lua: PUT_ENTRY });
    redis.defineCommand('hpInvalidateIndex', { numberOfKeys: 2, lua: INVALIDATE_INDEX });
    redis.defineCommand('hpReleaseLock', { numberOfKeys: 1, lua: RELEASE_LOCK });
    redis.defineCommand('hpExtendLock', { numberOfKeys: 1, lua: EXTEND_LOCK });
    this.redis = redis as Redis & ScriptCommands;
    this.sub = createRedis({ url: opts.url, commandTimeoutMs: opts.commandTimeoutMs, connectionName: 'hotpath:events', autoPipelining: false });
    this.sub.on('ready', () => void this.resync());
    // Until the subscription is back and the generation re-read, invalidations may have been missed.
    this.sub.on('close', () => (this.synced = false));
    this.sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.onMessage(message));
    void this.sub.subscribe(this.channel).catch(() => {});
  }

  /** True only when both connections are up: without the subscription, invalidations could be missed. */
  available(): boolean {
    return this.synced && this.redis.status === 'ready' && this.sub.status === 'ready';
  }

  private async resync(): Promise<void> {
    this.synced = false;
    this.opts.onResync();
    try {
      await this.sub.subscribe(this.channel);
      this.gen = Number((await this.redis.get(`${this.p}gen`)) ?? 0);
    } catch {
      // The main connection may not be up yet: try again shortly (it reconnects by itself).
      if (this.sub.status === 'ready') setTimeout(() => void this.resync(), 100).unref();
      return;
    }
    // Anything L1 copied while we were re-reading could predate a missed invalidation.
    this.opts.onResync();
    this.synced = true;
  }

  private onMessage(raw: Buffer): void {
    let msg: EventMessage;
    try {
      msg = JSON.parse(raw.toString('utf8')) as EventMessage;
    } catch {
      return;
    }
    if (msg.t === 'inv') {
      if (msg.gen > this.gen) this.gen = msg.gen;
      this.opts.onInvalidation(msg);
    } else if (msg.t === 'done') {
      this.opts.onFlightDone(msg);
    }
  }

  private entryPrefix(gen = this.gen): string {
    return `${this.p}g${gen}:e:`;
  }

  async get(hash: string): Promise<Buffer | null> {
    return this.redis.getBuffer(this.entryPrefix() + hash);
  }

  private indexKeys(principal: string | undefined, tables: readonly string[]): { sets: string[]; versions: string[] } {
    const g = `${this.p}g${this.gen}:`;
    const sets: string[] = [];
    const versions: string[] = [];
    if (principal !== undefined) {
      sets.push(`${g}u:${principal}`);
      versions.push(`${this.p}v:u:${principal}`);
    }
    for (const t of tables) {
      sets.push(`${g}t:${t}`);
      versions.push(`${this.p}v:t:${t}`);
    }
    return { sets, versions };
  }

  /** Versions of the user and tables, read before a fill; `put` stores only if none moved. */
  async readVersions(principal: string | undefined, tables: readonly string[]): Promise<string[]> {
    const { versions } = this.indexKeys(principal, tables);
    if (versions.length === 0) return [];
    const values = await this.redis.mget(...versions);
    return values.map((v) => v ?? '0');
  }

  async put(
    hash: string,
    envelope: Buffer,
    retentionMs: number,
    principal: string | undefined,
    tables: readonly string[],
    versionsAtStart: readonly string[],
  ): Promise<boolean> {
    const { sets, versions } = this.indexKeys(principal, tables);
    const n = sets.length;
    const stored = await this.redis.hpPutEntry(
      1 + 2 * n,
      this.entryPrefix() + hash,
      ...sets,
      ...versions,
      envelope,
      Math.max(1, Math.ceil(retentionMs)),
      hash,
      n,
      ...versionsAtStart,
    );
    return stored === 1;
  }

  /** Remove entries from Redis, tell every replica (their L1), and return how many Redis held. */
  async invalidate(inv: Invalidation): Promise<number> {
    let removed = 0;
    if (inv.kind === 'all') {
      const oldPrefix = this.entryPrefix();
      this.gen = await this.redis.incr(`${this.p}gen`);
      removed = await this.unlinkByPattern(`${oldPrefix}*`);
    } else {
      const g = `${this.p}g${this.gen}:`;
      const [set, version] =
        inv.kind === 'table' ? [`${g}t:${inv.table}`, `${this.p}v:t:${inv.table}`] : [`${g}u:${inv.user}`, `${this.p}v:u:${inv.user}`];
      removed = await this.redis.hpInvalidateIndex(set, version, this.entryPrefix());
    }
    await this.redis.publish(this.channel, JSON.stringify({ t: 'inv', gen: this.gen, ...inv }));
    return removed;
  }

  private async unlinkByPattern(pattern: string): Promise<number> {
    let cursor = '0';
    let removed = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) removed += await this.redis.unlink(...keys);
    } while (cursor !== '0');
    return removed;
  }

  private lockKey(hash: string): string {
    return `${this.p}g${this.gen}:l:${hash}`;
  }

  async tryLock(hash: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.lockKey(hash), owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async extendLock(hash: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.hpExtendLock(this.lockKey(hash), owner, ttlMs)) === 1;
  }

  async releaseLock(hash: string, owner: string): Promise<void> {
    await this.redis.hpReleaseLock(this.lockKey(hash), owner);
  }

  async publishDone(done: FlightDone): Promise<void> {
    await this.redis.publish(this.channel, JSON.stringify({ t: 'done', ...done }));
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await Promise.all([closeRedis(this.redis), closeRedis(this.sub)]);
  }
}
