// Why: a Trino query lives in the replica that accepted its POST (as in Trino, where the coordinator
// owns it). Clients behind a load balancer may send the next page request to any replica: the owner's
// address is kept in Redis, and a replica that does not know a query forwards the request there, with
// the external address the client used (so the owner's nextUri points where the client came in). That
// address is tagged with an HMAC under a secret the replicas share through Redis: a client cannot pose
// as a forwarding replica to make the owner hand out URIs (which clients follow with credentials)
// pointing elsewhere. The claims have their own Redis connection (`hotpath:trino-owners`), so a slow or
// lost cache connection and these claims fail, and report, apart.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { request } from 'undici';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { closeRedis, createRedis } from '../../shared/redis.ts';

/** Set on forwarded requests (the tag) so a misconfigured address can never make them loop. */
const FORWARDED_HEADER = 'x-hotpath-forwarded';
/** The external base (`https://trino.example.org`) the forwarding replica computed for the client. */
const BASE_HEADER = 'x-hotpath-external-base';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'te', 'trailer', 'proxy-connection']);

export interface QueryOwnersOptions {
  /** The Redis the replicas share; the owners open their own connection to it. */
  redisUrl: string;
  /** Bound on each claim command: past it the claim is skipped (the query is then reachable here only). */
  commandTimeoutMs: number;
  /** Prefix of every Redis key hotpath writes. */
  prefix: string;
  /** How long a claim outlives the last poll of its query (the door's client timeout). */
  ttlMs: number;
  /** This replica's address as others reach it, when configured (else set once the server listens). */
  selfUrl?: string | undefined;
  /** The door's clock (ms since the epoch). */
  now: () => number;
}

export class QueryOwners {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** This replica's address as others reach it; known once the server listens. */
  selfUrl: string | undefined;
  /** The replicas' shared forwarding secret, once read from Redis. */
  private secret: Buffer | undefined;

  constructor(opts: QueryOwnersOptions) {
    if (!(Number.isFinite(opts.commandTimeoutMs) && opts.commandTimeoutMs > 0)) throw new TypeError(`expected opts.commandTimeoutMs to be a positive finite number, got ${opts.commandTimeoutMs}`);
    if (!(Number.isFinite(opts.ttlMs) && opts.ttlMs > 0)) throw new TypeError(`expected opts.ttlMs to be a positive finite number, got ${opts.ttlMs}`);
    this.prefix = `${opts.prefix}tq:`;
    this.ttlMs = opts.ttlMs;
    this.selfUrl = opts.selfUrl;
    this.now = opts.now;
    this.redis = createRedis({ url: opts.redisUrl, commandTimeoutMs: opts.commandTimeoutMs, connectionName: 'hotpath:trino-owners' });
  }

  /** Closes its Redis connection (claims already written expire by themselves). */
  async close(): Promise<void> {
    await closeRedis(this.redis);
  }

  /** When each claim was last written or refreshed: polls refresh it at most every ttl/4, not each time. */
  private readonly refreshedAtMs = new Map<string, number>();

  /** The shared secret: the first replica to ask sets it (SET NX), every replica reads the same one. */
  private async secretKey(): Promise<Buffer> {
    if (this.secret) return this.secret;
    const key = `${this.prefix}forward-secret`;
    await this.redis.set(key, randomBytes(32).toString('hex'), 'NX');
    const hex = await this.redis.get(key);
    if (!hex) throw new Error('forwarding secret missing');
    this.secret = Buffer.from(hex, 'hex');
    return this.secret;
  }

  private static tag(secret: Buffer, method: string, url: string, base: string): string {
    return createHmac('sha256', secret).update(`${method}\n${url}\n${base}`).digest('hex');
  }

  /**
   * The external base a peer replica forwarded with this request, when its tag proves a replica sent it;
   * undefined otherwise (the door then uses the request's own address).
   */
  forwardedBase(req: FastifyRequest): string | undefined {
    const tag = req.headers[FORWARDED_HEADER];
    const base = req.headers[BASE_HEADER];
    if (typeof tag !== 'string' || typeof base !== 'string') return undefined;
    if (!this.secret) {
      void this.secretKey().catch(() => {});
      return undefined;
    }
    const want = Buffer.from(QueryOwners.tag(this.secret, req.method, req.url, base));
    const got = Buffer.from(tag);
    return got.length === want.length && timingSafeEqual(got, want) ? base : undefined;
  }

  /** Record that this replica owns `id` (best effort: without Redis the query is reachable here only). */
  claim(id: string): void {
    if (!this.selfUrl) return;
    void this.secretKey().catch(() => {}); // ready before a forwarded page of this query can arrive
    this.remember(id);
    this.redis.set(this.prefix + id, this.selfUrl, 'PX', this.ttlMs).catch(() => {});
  }

  /** A poll of an owned query: keep its claim alive (one PEXPIRE per quarter TTL, not per page). */
  touch(id: string): void {
    if (!this.selfUrl) return;
    const last = this.refreshedAtMs.get(id);
    if (last !== undefined && this.now() - last < this.ttlMs / 4) return;
    this.remember(id);
    this.redis.pexpire(this.prefix + id, this.ttlMs).catch(() => {});
  }

  private remember(id: string): void {
    const now = this.now();
    this.refreshedAtMs.set(id, now);
    // Claims older than the TTL are gone from Redis anyway: forget them, a batch at a time.
    if (this.refreshedAtMs.size > 10_000) for (const [k, at] of this.refreshedAtMs) if (now - at > this.ttlMs) this.refreshedAtMs.delete(k);
  }

  async ownerOf(id: string): Promise<string | undefined> {
    try {
      return (await this.redis.get(this.prefix + id)) ?? undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Forward a request for a query another replica owns; true when it was forwarded (and answered).
   * `externalBase`, the address the client used, travels tagged, so the owner's nextUri still points
   * at the load balancer.
   */
  async forwardIfForeign(id: string, req: FastifyRequest, reply: FastifyReply, externalBase: string): Promise<boolean> {
    if (req.headers[FORWARDED_HEADER] !== undefined) return false;
    const owner = await this.ownerOf(id);
    if (!owner || owner === this.selfUrl) return false;
    let secret: Buffer;
    try {
      secret = await this.secretKey();
    } catch {
      return false;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    headers[BASE_HEADER] = externalBase;
    headers[FORWARDED_HEADER] = QueryOwners.tag(secret, req.method, req.url, externalBase);
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(new URL(req.url, owner), { method: req.method as 'GET' | 'DELETE', headers, headersTimeout: 30_000, bodyTimeout: 30_000 });
    } catch {
      // The owner is gone (restarted, scaled down): its queries went with it, as in Trino.
      return false;
    }
    const body = Buffer.from(await res.body.arrayBuffer());
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) void reply.header(k, v);
    await reply.code(res.statusCode).send(body);
    return true;
  }
}
