// Why: with auth on, a cached result is served only to a caller hotpath itself has verified;
// X-Trino-User cannot borrow someone else's cache entries; invalidation needs admin scope.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/shared/hash.ts';
import { ControlledEngine, query, startApp, testConfig, type TestApp, useTestStack } from '../helpers/app.ts';
import type { TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
let engine: ControlledEngine;

useTestStack(async (s) => void ({ redis, engine } = s));

describe('HOTPATH_AUTH=token', () => {
  let h: TestApp;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hp-auth-'));
    const file = join(dir, 'tokens.json');
    writeFileSync(file, JSON.stringify([
      { user: 'alice', tokenSha256: sha256Hex('alice-token') },
      { user: 'ops', tokenSha256: sha256Hex('ops-token'), admin: true },
    ]));
    h = await startApp(testConfig(redis.url, { HOTPATH_AUTH: 'token', HOTPATH_AUTH_TOKENS_FILE: file }), engine);
  });
  afterAll(async () => h?.close());

  it('401 JSON without a token or with an unknown one', async () => {
    const none = await query(h.url, 'SELECT 1');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHENTICATED');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await query(h.url, 'SELECT 1', { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
  });

  it('serves the verified user, and X-Trino-User may not name someone else', async () => {
    const ok = await query(h.url, 'SELECT 1 AS one', { headers: { authorization: 'Bearer alice-token' } });
    expect(ok.status).toBe(200);
    const same = await query(h.url, 'SELECT 1 AS one', { headers: { authorization: 'Bearer alice-token', 'x-trino-user': 'alice' } });
    expect(same.headers.get('cache-status')).toMatch(/hit/);
    const spoof = await query(h.url, 'SELECT 1 AS one', { headers: { authorization: 'Bearer ops-token', 'x-trino-user': 'alice' } });
    expect(spoof.status).toBe(403);
    expect(spoof.body.error.code).toBe('FORBIDDEN');
  });

  it('cache invalidation needs admin scope', async () => {
    const denied = await fetch(`${h.url}/v1/cache?all=true`, { method: 'DELETE', headers: { authorization: 'Bearer alice-token' } });
    expect(denied.status).toBe(403);
    const anon = await fetch(`${h.url}/v1/cache?all=true`, { method: 'DELETE' });
    expect(anon.status).toBe(401);
    const ok = await fetch(`${h.url}/v1/cache?all=true`, { method: 'DELETE', headers: { authorization: 'Bearer ops-token' } });
    expect(ok.status).toBe(200);
  });
});

describe('HOTPATH_AUTH=jwt', () => {
  let h: TestApp;
  const secret = new TextEncoder().encode('a-test-secret-of-enough-length-0123456789');
  const sign = (claims: Record<string, unknown>, opts: { exp?: string; iss?: string } = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setIssuer(opts.iss ?? 'platform').setExpirationTime(opts.exp ?? '5m').sign(secret);

  beforeAll(async () => {
    h = await startApp(
      testConfig(redis.url, { HOTPATH_AUTH: 'jwt', HOTPATH_JWT_SECRET: new TextDecoder().decode(secret), HOTPATH_JWT_ISSUER: 'platform' }),
      engine,
    );
  });
  afterAll(async () => h?.close());

  it('accepts a valid token and keys the cache by its subject', async () => {
    const alice = await sign({ sub: 'alice' });
    const bob = await sign({ sub: 'bob' });
    const sql = 'SELECT count(*) AS n FROM demo.sales.customers WHERE segment = \'consumer\'';
    expect((await query(h.url, sql, { headers: { authorization: `Bearer ${alice}` } })).status).toBe(200);
    const b = await query(h.url, sql, { headers: { authorization: `Bearer ${bob}` } });
    expect(b.headers.get('cache-status')).toBe('hotpath; fwd=miss; stored');
  });

  it.each([
    ['expired', () => sign({ sub: 'alice' }, { exp: '-1m' })],
    ['wrong issuer', () => sign({ sub: 'alice' }, { iss: 'elsewhere' })],
    ['no subject', () => sign({})],
    ['bad signature', async () => `${(await sign({ sub: 'alice' })).slice(0, -4)}AAAA`],
  ])('401 for a token that is %s', async (_what, make) => {
    const r = await query(h.url, 'SELECT 1', { headers: { authorization: `Bearer ${await make()}` } });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('UNAUTHENTICATED');
  });
});

describe('HOTPATH_AUTH=password (HTTP Basic, as Trino clients send it)', () => {
  let h: TestApp;
  beforeAll(async () => {
    const { hashPassword } = await import('../../src/shared/passwords.ts');
    const dir = mkdtempSync(join(tmpdir(), 'hp-pw-'));
    const file = join(dir, 'passwords.json');
    writeFileSync(file, JSON.stringify([{ user: 'alice', password: hashPassword('s3cret') }, { user: 'ops', password: hashPassword('0ps'), admin: true }]));
    h = await startApp(testConfig(redis.url, { HOTPATH_AUTH: 'password', HOTPATH_AUTH_PASSWORDS_FILE: file }), engine);
  });
  afterAll(async () => h?.close());

  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('trino-client with the right password gets rows; a wrong one gets 401', async () => {
    const { Trino, BasicAuth } = await import('trino-client');
    const rows: unknown[][] = [];
    for await (const page of await Trino.create({ server: h.url, auth: new BasicAuth('alice', 's3cret') }).query('SELECT 1 AS one')) rows.push(...(page.data ?? []));
    expect(rows).toEqual([[1]]);
    const wrong = await fetch(`${h.url}/v1/statement`, { method: 'POST', headers: { authorization: basic('alice', 'nope') }, body: 'SELECT 1' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
    const none = await query(h.url, 'SELECT 1');
    expect(none.status).toBe(401);
  });

  it('/v1/query/{id} shows and cancels a query for its own user only', async () => {
    const post = await fetch(`${h.url}/v1/statement`, { method: 'POST', headers: { authorization: basic('alice', 's3cret') }, body: 'SELECT 3 AS three' });
    const { id } = (await post.json()) as { id: string };
    const info = (who: string, pw: string) => fetch(`${h.url}/v1/query/${id}`, { headers: { authorization: basic(who, pw) } });
    expect((await fetch(`${h.url}/v1/query/${id}`)).status).toBe(401);
    expect((await info('alice', 's3cret')).status).toBe(200);
    const other = await fetch(`${h.url}/v1/query/${id}`, { method: 'DELETE', headers: { authorization: basic('ops', '0ps') } });
    expect(other.status).toBe(204); // ops is an admin
    const post2 = await fetch(`${h.url}/v1/statement`, { method: 'POST', headers: { authorization: basic('ops', '0ps') }, body: 'SELECT 4' });
    const { id: id2 } = (await post2.json()) as { id: string };
    const byAlice = await fetch(`${h.url}/v1/query/${id2}`, { headers: { authorization: basic('alice', 's3cret') } });
    expect(byAlice.status).toBe(410); // not hers: answered as for an unknown query
    const cancelByAlice = await fetch(`${h.url}/v1/query/${id2}`, { method: 'DELETE', headers: { authorization: basic('alice', 's3cret') } });
    expect(cancelByAlice.status).toBe(404);
  });

  it('the JSON door accepts the same credentials, and X-Trino-User may not name another user', async () => {
    expect((await query(h.url, 'SELECT 2 AS two', { headers: { authorization: basic('alice', 's3cret') } })).status).toBe(200);
    const spoof = await query(h.url, 'SELECT 2 AS two', { headers: { authorization: basic('alice', 's3cret'), 'x-trino-user': 'ops' } });
    expect(spoof.status).toBe(403);
  });
});
