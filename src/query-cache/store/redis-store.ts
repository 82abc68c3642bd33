// Why: the L2 tier and the cross-replica signals of the cache, over one Redis: entries, table/user
// indexes for invalidation, the namespace generation (invalidate all), single-flight locks, and one
// pub/sub channel that tells every replica about invalidations and finished fills. That channel proves
// itself with heartbeats (channel-liveness.ts): while it is silent, L1 is off (the tiered store asks
// `invalidationChannelUp()`) and entries are read at the generation Redis holds, not the one last heard.
//
// Keys (P = prefix, G = generation):
//   P gen                 namespace generation, INCR on invalidate-all
//   P gG:e:<hash>         entry envelope (PX = retention)
//   P gG:t:<table>        set of hashes reading <table>      P gG:u:<user>  set of a user's hashes
//   P v:t:<table>         version of a table (moves on invalidation)     P v:u:<user>  same per user
//   P v:t:(incomplete)    moves on every table invalidation; an entry whose table set is incomplete carries
//                         the value it had at fill time and is served only while it still has it
//   P gG:l:<hash>         single-flight lock, value = owner id
//   P events              pub/sub channel (JSON messages: inv, done, hb = a replica's own heartbeat)

import type { FlightSignals } from './ports.ts';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createRedis, closeRedis } from '../../shared/redis.ts';
import { ChannelLiveness } from './channel-liveness.ts';
import { EXTEND_LOCK, GET_ENTRY_AT_CURRENT_GEN, INVALIDATE_INDEXES, PUT_ENTRY, RELEASE_LOCK } from './redis-scripts.ts';

export type Invalidation = { kind: 'table'; table: string } | { kind: 'user'; user: string } | { kind: 'all' };

/**
 * The version name of entries whose table set is incomplete (they may read any table): a name no real
 * table has (tables are `catalog.schema.table`); every table invalidation moves it. Such entries are not
 * indexed (an index every entry joins would grow without end and make each invalidation walk all of it):
 * they carry the version they were filled under and are served only while it is current.
 */
export const INCOMPLETE_TABLE_SET = '(incomplete)';
const INCOMPLETE_VERSION = `t:${INCOMPLETE_TABLE_SET}`;

/** What a fill read before running: `put` refuses to store when any of it moved meanwhile. */
export interface FillVersions {
  generation: number;
  values: string[];
  /** For an incomplete table set: the incomplete-set version the entry is filled under. */
  incompleteVersion?: string;
}

/** An entry's bytes as read, with the incomplete-set version current at that moment. */
export interface RawEntry {
  envelope: Buffer | null;
  incompleteVersion: string;
}

export interface FlightError {
  code: string;
  message: string;
  details?: Record<string, string | number>;
}

/** A fill finished somewhere: `stored` says whether waiters will find the entry in Redis. */
export type FlightDone = { key: string; ok: true; stored: boolean } | { key: string; ok: false; error: FlightError };

type EventMessage = ({ t: 'inv'; gen: number } & Invalidation) | ({ t: 'done' } & FlightDone) | { t: 'hb'; r: string; at: number };

export interface RedisCacheStoreOptions {
  url: string;
  prefix: string;
  commandTimeoutMs: number;
  onInvalidation: (inv: Invalidation) => void;
  /** The event subscription (re)connected: invalidations may have been missed meanwhile. */
  onResync: () => void;
  /** Heartbeat period (H) and silence bound (B) of the event channel; see channel-liveness.ts. */
  heartbeatIntervalMs: number;
  maxSilenceMs: number;
  /** The channel lapsed (no proof for B): L1 must be dropped. Called once per lapse. */
  onChannelDown: (silentMs: number) => void;
  /** The channel is proven alive again after a lapse. */
  onChannelUp: (downForMs: number) => void;
}

interface ScriptCommands {
  hpPutEntry(numKeys: number, ...args: (string | Buffer | number)[]): Promise<number>;
  hpInvalidateIndexes(numKeys: 0, prefix: string, alsoVersion: string, ...names: string[]): Promise<[number, number]>;
  hpReleaseLock(key: string, owner: string): Promise<number>;
  hpExtendLock(key: string, owner: string, ms: number): Promise<number>;
  hpGetEntryAtCurrentGenBuffer(genKey: string, incompleteKey: string, entryKeyHead: string, entryKeyTail: string): Promise<[number, Buffer | null, Buffer | null]>;
}

export class RedisCacheStore implements FlightSignals {
  readonly redis: Redis & ScriptCommands;
  /** The subscriber; replaced by a fresh connection when the channel goes silent. */
  private sub: Redis;
  private readonly p: string;
  private readonly channel: string;
  private gen = 0;
  private readonly opts: RedisCacheStoreOptions;
  /** Names this replica's heartbeats, so it counts only its own. */
  private readonly replicaId = randomUUID();
  private readonly liveness: ChannelLiveness;
  private closed = false;

  private readonly doneListeners = new Set<(done: FlightDone) => void>();

  /** FlightSignals.onDone: every replica's "done" messages, from the event subscription. */
  onDone(listener: (done: FlightDone) => void): () => void {
    this.doneListeners.add(listener);
    return () => void this.doneListeners.delete(listener);
  }

  constructor(opts: RedisCacheStoreOptions) {
    this.opts = opts;
    this.p = opts.prefix;
    this.channel = `${opts.prefix}events`;
    const redis = createRedis({ url: opts.url, commandTimeoutMs: opts.commandTimeoutMs, connectionName: 'hotpath:cache' });
    redis.defineCommand('hpPutEntry', { lua: PUT_ENTRY });
    redis.defineCommand('hpInvalidateIndexes', { lua: INVALIDATE_INDEXES });
    redis.defineCommand('hpReleaseLock', { numberOfKeys: 1, lua: RELEASE_LOCK });
    redis.defineCommand('hpExtendLock', { numberOfKeys: 1, lua: EXTEND_LOCK });
    redis.defineCommand('hpGetEntryAtCurrentGen', { numberOfKeys: 2, lua: GET_ENTRY_AT_CURRENT_GEN });
    this.redis = redis as Redis & ScriptCommands;
    this.liveness = new ChannelLiveness({
      heartbeatIntervalMs: opts.heartbeatIntervalMs,
      maxSilenceMs: opts.maxSilenceMs,
      publishHeartbeat: (at) => this.redis.publish(this.channel, JSON.stringify({ t: 'hb', r: this.replicaId, at })),
      onDown: opts.onChannelDown,
      onUp: opts.onChannelUp,
      reconnect: () => this.replaceSubscriber(),
    });
    this.sub = this.connectSubscriber();
    this.liveness.start();
  }

  /**
   * Redis answers commands: the cache may be used. A silent event channel does not make it unavailable
   * (L2 is the truth for invalidations; only L1 and the generation depend on the channel, and both are
   * handled while it is silent), so a fleet whose subscriptions hiccup keeps serving from Redis.
   */
  available(): boolean {
    return this.redis.status === 'ready';
  }

  /** Exact, at this instant: every invalidation published more than B ago has reached this replica. */
  invalidationChannelUp(): boolean {
    return this.liveness.isUp();
  }

  /** Undefined while the channel is up; otherwise how long it has been without proof. */
  invalidationChannelSilentMs(): number | undefined {
    const now = this.liveness.now();
    return this.liveness.isUp(now) ? undefined : this.liveness.silentMs(now);
  }

  private connectSubscriber(): Redis {
    const sub = createRedis({ url: this.opts.url, commandTimeoutMs: this.opts.commandTimeoutMs, connectionName: 'hotpath:events', autoPipelining: false });
    sub.on('ready', () => void this.resync(sub));
    // Until the subscription is back and the generation re-read, invalidations may have been missed.
    sub.on('close', () => {
      if (sub === this.sub) this.liveness.unsubscribed();
    });
    sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => {
      if (sub === this.sub) this.onMessage(message);
    });
    void sub.subscribe(this.channel).catch(() => {});
    return sub;
  }

  /**
   * The channel stayed silent for B: a half-open connection never closes by itself, so open a fresh one
   * (a network that healed then heals the channel). Not while ioredis is already reconnecting.
   */
  private replaceSubscriber(): void {
    const old = this.sub;
    if (this.closed || (old.status !== 'ready' && old.status !== 'connect')) return;
    this.liveness.unsubscribed();
    this.sub = this.connectSubscriber();
    old.disconnect();
    old.stream?.destroy(); // no FIN handshake to wait for on a connection that hangs
  }

  private async resync(sub: Redis): Promise<void> {
    if (sub !== this.sub || this.closed) return;
    const since = this.liveness.now();
    this.liveness.unsubscribed();
    this.opts.onResync();
    try {
      await sub.subscribe(this.channel);
      this.gen = Number((await this.redis.get(`${this.p}gen`)) ?? 0);
    } catch {
      // The main connection may not be up yet: try again shortly (it reconnects by itself).
      if (sub === this.sub && sub.status === 'ready') setTimeout(() => void this.resync(sub), 100).unref();
      return;
    }
    if (sub !== this.sub) return;
    // Anything L1 copied while we were re-reading could predate a missed invalidation.
    this.opts.onResync();
    this.liveness.subscribedSince(since);
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
      for (const listener of this.doneListeners) listener(msg);
    } else if (msg.t === 'hb' && msg.r === this.replicaId && typeof msg.at === 'number') {
      this.liveness.heartbeatBack(msg.at);
    }
  }

  private entryPrefix(gen = this.gen): string {
    return `${this.p}g${gen}:e:`;
  }

  /**
   * The entry at the current generation (the one last heard while the channel is up, else Redis's own),
   * with the incomplete-set version read in the same round trip.
   */
  async get(hash: string): Promise<RawEntry> {
    const incompleteKey = `${this.p}v:${INCOMPLETE_VERSION}`;
    if (this.liveness.isUp()) {
      const [envelope, version] = await this.redis.mgetBuffer(this.entryPrefix() + hash, incompleteKey);
      return { envelope: envelope ?? null, incompleteVersion: version?.toString() ?? '0' };
    }
    // Silent channel: an "invalidate all" may have been missed, so read the generation with the entry.
    const [gen, envelope, version] = await this.redis.hpGetEntryAtCurrentGenBuffer(`${this.p}gen`, incompleteKey, `${this.p}g`, `:e:${hash}`);
    if (gen > this.gen) this.gen = gen;
    return { envelope, incompleteVersion: version?.toString() ?? '0' };
  }

  /** Index sets an entry joins (its user's, each table's) and the versions its store checks. */
  private indexNames(principal: string | undefined, tables: readonly string[] | undefined): { sets: string[]; versions: string[] } {
    const sets = principal === undefined ? [] : [`u:${principal}`];
    for (const t of tables ?? []) sets.push(`t:${t}`);
    return { sets, versions: tables === undefined ? [...sets, INCOMPLETE_VERSION] : sets };
  }

  /** The generation and the user/table versions, read before a fill; `put` stores only if none moved. */
  async readVersions(principal: string | undefined, tables: readonly string[] | undefined): Promise<FillVersions> {
    const { versions } = this.indexNames(principal, tables);
    const [gen, ...values] = await this.redis.mget(`${this.p}gen`, ...versions.map((n) => `${this.p}v:${n}`));
    const generation = Number(gen ?? 0);
    if (generation > this.gen) this.gen = generation;
    const read = values.map((v) => v ?? '0');
    return { generation, values: read, ...(tables === undefined ? { incompleteVersion: read.at(-1)! } : {}) };
  }

  async put(
    hash: string,
    envelope: Buffer,
    retentionMs: number,
    principal: string | undefined,
    tables: readonly string[] | undefined,
    atStart: FillVersions,
  ): Promise<boolean> {
    const { sets, versions } = this.indexNames(principal, tables);
    const g = `${this.p}g${atStart.generation}:`;
    const stored = await this.redis.hpPutEntry(
      2 + sets.length + versions.length,
      `${g}e:${hash}`,
      `${this.p}gen`,
      ...sets.map((n) => g + n),
      ...versions.map((n) => `${this.p}v:${n}`),
      envelope,
      Math.max(1, Math.ceil(retentionMs)),
      hash,
      sets.length,
      String(atStart.generation),
      ...atStart.values,
    );
    return stored === 1;
  }

  /** Remove entries from Redis, tell every replica (their L1), and return how many Redis held. */
  async invalidate(inv: Invalidation): Promise<number> {
    let removed = 0;
    if (inv.kind === 'all') {
      this.gen = await this.redis.incr(`${this.p}gen`);
      // The generation this INCR ended (not the one last heard here: another replica may have moved it).
      removed = await this.unlinkByPattern(`${this.entryPrefix(this.gen - 1)}*`);
    } else {
      const [also, name] = inv.kind === 'table' ? [INCOMPLETE_VERSION, `t:${inv.table}`] : ['', `u:${inv.user}`];
      const [n, gen] = await this.redis.hpInvalidateIndexes(0, this.p, also, name);
      removed = n;
      if (gen > this.gen) this.gen = gen;
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
    this.closed = true;
    this.liveness.stop();
    await Promise.all([closeRedis(this.redis), closeRedis(this.sub)]);
  }
}
