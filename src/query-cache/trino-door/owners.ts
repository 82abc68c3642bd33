// Why: a Trino query lives in the replica that accepted its POST (as in Trino, where the coordinator
// owns it). Clients behind a load balancer may send the next page request to any replica: the owner's
// address is kept in Redis, and a replica that does not know a query forwards the request there.

import { request } from 'undici';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';

/** Set on forwarded requests so a misconfigured address can never make them loop. */
const FORWARDED_HEADER = 'x-hotpath-forwarded';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'te', 'trailer', 'proxy-connection']);

export class QueryOwners {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlMs: number;
  /** This replica's address as others reach it; known once the server listens. */
  selfUrl: string | undefined;

  constructor(opts: { redis: Redis; prefix: string; ttlMs: number; selfUrl?: string | undefined }) {
    this.redis = opts.redis;
    this.prefix = `${opts.prefix}tq:`;
    this.ttlMs = opts.ttlMs;
    this.selfUrl = opts.selfUrl;
  }

  /** When each claim was last written or refreshed: polls refresh it at most every ttl/4, not each time. */
  private readonly refreshedAtMs = new Map<string, number>();

  /** Record that this replica owns `id` (best effort: without Redis the query is reachable here only). */
  claim(id: string): void {
    if (!this.selfUrl) return;
    this.remember(id);
    this.redis.set(this.prefix + id, this.selfUrl, 'PX', this.ttlMs).catch(() => {});
  }

  /** A poll of an owned query: keep its claim alive (one PEXPIRE per quarter TTL, not per page). */
  touch(id: string): void {
    if (!this.selfUrl) return;
    const last = this.refreshedAtMs.get(id);
    if (last !== undefined && Date.now() - last < this.ttlMs / 4) return;
    this.remember(id);
    this.redis.pexpire(this.prefix + id, this.ttlMs).catch(() => {});
  }

  private remember(id: string): void {
    const now = Date.now();
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
   * The external address the client used travels in X-Forwarded-*, so the owner's nextUri still
   * points at the load balancer.
   */
  async forwardIfForeign(id: string, req: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    if (req.headers[FORWARDED_HEADER] !== undefined) return false;
    const owner = await this.ownerOf(id);
    if (!owner || owner === this.selfUrl) return false;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    headers['x-forwarded-proto'] ??= req.protocol;
    headers['x-forwarded-host'] ??= req.headers.host ?? '';
    headers[FORWARDED_HEADER] = '1';
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
