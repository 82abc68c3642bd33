// Why: the GPU API knows who may do what. Each rule of the tenants (shared/tenants.ts) is tried over
// HTTP against a real app, real Redis and BullMQ, as the hostile user who found the gaps would: reading
// and listing others' jobs, reusing their idempotency keys, inventing tenants, raising priorities, in
// token and JWT modes with groups; plus the local defaults that keep `npm start` and the examples
// working, the per-user bound on open jobs, and the metric series 3,000 invented tenants make.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../src/shared/hash.ts';
import { eventually, useGpuApps, type GpuApp } from './helpers.ts';

const { app } = useGpuApps('ten');

const TENANTS = JSON.stringify({
  ml: { users: ['alice'], groups: ['ml-team'], maxPriority: 10 },
  serve: { groups: ['serving'], maxPriority: 100 },
  sandbox: { open: true },
});

/** The rules every mode must give the same answers to; `as(user)` is how that user authenticates. */
function rulesFor(start: () => Promise<{ a: GpuApp; as: (user: string) => Record<string, string> }>) {
  let a: GpuApp;
  let as: (user: string) => Record<string, string>;
  const submit = (user: string, body: Record<string, unknown>) => a.call('POST', '/v1/gpu/jobs', { gpuMilli: 100, gpuMemoryMiB: 100, ...body }, as(user));

  it('a submission outside its tenant\'s rights answers 403 with the reason; inside them 201', async () => {
    ({ a, as } = await start());
    expect((await submit('alice', { tenant: 'ml', priority: 10 })).status).toBe(201);
    expect((await submit('bob', { tenant: 'ml' })).status).toBe(201); // a member through the ml-team group
    expect((await submit('mallory', { tenant: 'sandbox' })).status).toBe(201); // open to anyone
    expect((await submit('ops', { tenant: 'serve', priority: 1000 })).status).toBe(201); // an admin
    const refused: [string, Record<string, unknown>, RegExp][] = [
      ['alice', { tenant: 'ml', priority: 11 }, /priority 11 is above the highest tenant "ml" may use \(10\)/],
      ['carol', { tenant: 'ml' }, /user carol is not a member of tenant "ml"/],
      ['mallory', { tenant: 'serve' }, /not a member of tenant "serve"/],
      ['mallory', { tenant: 'sandbox', priority: 1 }, /above the highest tenant "sandbox" may use \(0\)/],
      ['mallory', { tenant: 'mallory-dodges-quotas' }, /unknown tenant "mallory-dodges-quotas"; the configured tenants are ml, serve, sandbox/],
      ['ops', { tenant: 'typo' }, /unknown tenant "typo"/],
    ];
    for (const [user, body, reason] of refused) {
      const r = await submit(user, body);
      expect(r.status, `${user} ${JSON.stringify(body)}`).toBe(403);
      expect(r.body.error).toMatchObject({ code: 'FORBIDDEN', tenant: body.tenant });
      expect(r.body.error.message).toMatch(reason);
    }
  });

  it('a job is read, listed and acted on by its submitter, its tenant\'s members and admins; metadata only by its submitter and admins', async () => {
    ({ a, as } = await start());
    const mine = (await submit('alice', { tenant: 'ml', metadata: { secret: 'alice-s3' }, idempotencyKey: 'run-1' })).body;
    const sandboxed = (await submit('mallory', { tenant: 'sandbox', metadata: { m: 1 } })).body;
    expect(mine.metadata).toEqual({ secret: 'alice-s3' });

    const read = (user: string, id = mine.id) => a.call('GET', `/v1/gpu/jobs/${id}`, undefined, as(user));
    expect((await read('alice')).body).toMatchObject({ id: mine.id, metadata: { secret: 'alice-s3' }, idempotencyKey: 'run-1' });
    expect((await read('ops')).body).toMatchObject({ metadata: { secret: 'alice-s3' } });
    const member = await read('bob');
    expect(member.status).toBe(200);
    expect(member.body).toMatchObject({ id: mine.id, tenant: 'ml', submittedBy: 'alice' });
    expect(member.body).not.toHaveProperty('metadata');
    expect(member.body).not.toHaveProperty('idempotencyKey');
    for (const stranger of ['carol', 'mallory']) {
      const r = await read(stranger);
      expect(r.status).toBe(403);
      expect(JSON.stringify(r.body)).not.toContain('alice-s3');
    }
    // An open tenant makes submitters, not members: alice may not read mallory's sandbox job.
    expect((await read('alice', sandboxed.id)).status).toBe(403);

    const ids = async (user: string, qs = '') => ((await a.call('GET', `/v1/gpu/jobs${qs}`, undefined, as(user))).body.jobs as { id: string; metadata?: unknown }[]);
    expect((await ids('mallory')).map((j) => j.id)).toEqual([sandboxed.id]);
    expect((await ids('carol')).map((j) => j.id)).toEqual([]);
    expect(await ids('carol', '?tenant=ml')).toEqual([]);
    const bobs = await ids('bob');
    expect(bobs.map((j) => j.id)).toEqual([mine.id]);
    expect(bobs[0]).not.toHaveProperty('metadata');
    expect((await ids('ops')).map((j) => j.id).sort()).toEqual([mine.id, sandboxed.id].sort());

    // Acting: strangers are refused and change nothing; a tenant member may cancel.
    for (const stranger of ['carol', 'mallory']) {
      expect((await a.call('POST', `/v1/gpu/jobs/${mine.id}/heartbeat`, {}, as(stranger))).status).toBe(403);
      expect((await a.call('POST', `/v1/gpu/jobs/${mine.id}/complete`, { ok: false }, as(stranger))).status).toBe(403);
      expect((await a.call('DELETE', `/v1/gpu/jobs/${mine.id}`, undefined, as(stranger))).status).toBe(403);
    }
    expect((await read('alice')).body.state).not.toBe('cancelled');
    const cancelled = await a.call('DELETE', `/v1/gpu/jobs/${mine.id}`, undefined, as('bob'));
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ state: 'cancelled', reason: 'cancelled by bob' });
    expect(cancelled.body).not.toHaveProperty('metadata');
  });

  it('idempotency keys are scoped by user: another user\'s key never returns someone else\'s job', async () => {
    ({ a, as } = await start());
    const first = await submit('alice', { tenant: 'ml', idempotencyKey: 'nightly', metadata: { by: 'alice' } });
    expect(first.status).toBe(201);
    const again = await submit('alice', { tenant: 'ml', idempotencyKey: 'nightly' });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    // bob is a member of ml (he may read alice's job), yet his key names his own job.
    const bobs = await submit('bob', { tenant: 'ml', idempotencyKey: 'nightly' });
    expect(bobs.status).toBe(201);
    expect(bobs.body.id).not.toBe(first.body.id);
    expect(bobs.body.submittedBy).toBe('bob');
    expect(bobs.body).not.toHaveProperty('metadata');
  });
}

describe('HOTPATH_AUTH=token, tenants from HOTPATH_TENANTS_FILE, groups from the token file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-tenants-'));
  const tokens = join(dir, 'tokens.json');
  const tenants = join(dir, 'tenants.json');
  writeFileSync(tokens, JSON.stringify([
    { user: 'alice', tokenSha256: sha256Hex('t-alice') },
    { user: 'bob', tokenSha256: sha256Hex('t-bob'), groups: ['ml-team'] },
    { user: 'carol', tokenSha256: sha256Hex('t-carol'), groups: ['serving'] },
    { user: 'mallory', tokenSha256: sha256Hex('t-mallory') },
    { user: 'ops', tokenSha256: sha256Hex('t-ops'), admin: true },
  ]));
  writeFileSync(tenants, TENANTS);
  rulesFor(async () => ({
    a: await app({ HOTPATH_AUTH: 'token', HOTPATH_AUTH_TOKENS_FILE: tokens, HOTPATH_TENANTS_FILE: tenants }),
    as: (user) => ({ authorization: `Bearer t-${user}`, 'x-trino-user': user }),
  }));
});

describe('HOTPATH_AUTH=jwt, groups from a claim named by HOTPATH_JWT_GROUPS_CLAIM', () => {
  const secret = 'k'.repeat(48);
  const groups: Record<string, unknown> = { bob: ['ml-team', 'x'], carol: 'serving other', mallory: [42, { g: 'ml-team' }] }; // a list, a space-separated string, junk
  const tokens = new Map<string, string>();
  rulesFor(async () => {
    for (const user of ['alice', 'bob', 'carol', 'mallory', 'ops']) {
      const claims = { sub: user, ...(groups[user] !== undefined ? { roles: groups[user] } : {}), ...(user === 'ops' ? { scope: 'hotpath:admin' } : {}) };
      tokens.set(user, await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(secret)));
    }
    return {
      a: await app({ HOTPATH_AUTH: 'jwt', HOTPATH_JWT_SECRET: secret, HOTPATH_JWT_GROUPS_CLAIM: 'roles', HOTPATH_TENANTS: TENANTS }),
      as: (user) => ({ authorization: `Bearer ${tokens.get(user)}`, 'x-trino-user': user }),
    };
  });
});

describe('local defaults (HOTPATH_AUTH=none, no tenant configuration)', () => {
  const hdr = (user: string) => ({ 'x-trino-user': user });

  it('the README\'s, the demo\'s and the examples\' tenants work as before, at priority 100, and invented names too', async () => {
    const a = await app({});
    for (const tenant of ['ml', 'serve', 'research', 'batch', 'urgent', 'my-team']) {
      const r = await a.call('POST', '/v1/gpu/jobs', { tenant, priority: 100, gpuMilli: 100, gpuMemoryMiB: 100 }, hdr('alice'));
      expect(r.status, tenant).toBe(201);
    }
  });

  it('local mode trusts the named user, but only that user reads and acts on a job; nobody is an admin unless listed', async () => {
    const a = await app({});
    const job = (await a.call('POST', '/v1/gpu/jobs', { tenant: 'batch', gpus: 1, metadata: { m: 1 } }, hdr('alice'))).body;
    expect((await a.call('GET', `/v1/gpu/jobs/${job.id}`, undefined, hdr('bob'))).status).toBe(403);
    expect((await a.call('GET', '/v1/gpu/jobs', undefined, hdr('bob'))).body.jobs).toEqual([]);
    expect((await a.call('DELETE', `/v1/gpu/jobs/${job.id}`, undefined, hdr('anonymous'))).status).toBe(403); // who sends no X-Trino-User
    expect((await a.call('GET', '/v1/gpu/audit', undefined, hdr('alice'))).status).toBe(403);
    expect((await a.call('GET', `/v1/gpu/jobs/${job.id}`, undefined, hdr('alice'))).body.metadata).toEqual({ m: 1 });

    const withAdmin = await app({ HOTPATH_ADMIN_USERS: 'ops' });
    const other = (await withAdmin.call('POST', '/v1/gpu/jobs', { tenant: 'batch', gpus: 1 }, hdr('alice'))).body;
    expect((await withAdmin.call('GET', '/v1/gpu/audit', undefined, hdr('ops'))).body).toMatchObject({ ok: true });
    expect((await withAdmin.call('DELETE', `/v1/gpu/jobs/${other.id}`, undefined, hdr('ops'))).body.state).toBe('cancelled');
  });
});

describe('bounds', () => {
  it('a user has at most HOTPATH_GPU_MAX_OPEN_JOBS_PER_USER jobs open: 429 TOO_MANY_JOBS beyond, room again when one ends', async () => {
    const a = await app({ HOTPATH_GPU_MAX_OPEN_JOBS_PER_USER: '3' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await a.call('POST', '/v1/gpu/jobs', { tenant: 'ml', gpus: 4 })).body.id);
    await eventually(async () => (await a.app.gpuJobs.store.openCount('alice')) === 3, 'three open jobs recorded');
    const over = await a.call('POST', '/v1/gpu/jobs', { tenant: 'ml', gpus: 1 });
    expect(over.status).toBe(429);
    expect(over.body.error).toMatchObject({ code: 'TOO_MANY_JOBS' });
    expect(over.body.error.message).toMatch(/alice has 3 GPU jobs queued, placed or running; at most 3/);
    // Another user is not affected.
    expect((await a.call('POST', '/v1/gpu/jobs', { tenant: 'ml', gpus: 1 }, { 'x-trino-user': 'bob' })).status).toBe(201);
    // A finished job (here the placed one, completed; then a queued one, cancelled) gives its place back.
    await eventually(async () => (await a.call('GET', `/v1/gpu/jobs/${ids[0]}`)).body.state === 'placed', 'first placed');
    expect((await a.call('POST', `/v1/gpu/jobs/${ids[0]}/complete`, { ok: true })).status).toBe(200);
    expect((await a.call('DELETE', `/v1/gpu/jobs/${ids[1]}`)).status).toBe(200);
    expect(await a.app.gpuJobs.store.openCount('alice')).toBe(1);
    expect((await a.call('POST', '/v1/gpu/jobs', { tenant: 'ml', gpus: 1 })).status).toBe(201);
  });

  it('3,000 jobs from 3,000 invented tenants at scattered priorities make a handful of metric series', async () => {
    const a = await app({ HOTPATH_GPU_MAX_OPEN_JOBS_PER_USER: '10000' });
    const total = 3000;
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < total) {
        const i = next++;
        const r = await a.call('POST', '/v1/gpu/jobs', { tenant: `invented-${i}`, priority: (i % 23) * 13 - 50, gpus: 4 });
        expect(r.status).toBe(201);
      }
    }));
    await eventually(async () => (await a.app.gpuJobs.store.openCount('alice')) === total, 'all recorded', 60_000);
    const text = await (await fetch(`${a.url}/metrics`)).text();
    const depth = text.split('\n').filter((l) => l.startsWith('hotpath_gpu_queue_depth{'));
    const tenantLabels = new Set(text.split('\n').flatMap((l) => [...l.matchAll(/tenant="([^"]*)"/g)].map((m) => m[1])));
    // One placed (4 devices on 1 node), 2,999 waiting: all count as tenant "other", in five priority buckets.
    expect(tenantLabels).toEqual(new Set(['other']));
    expect(depth.length).toBeLessThanOrEqual(5);
    expect(depth.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)).toBe(total - 1);
    console.log(`3,000 jobs from 3,000 invented tenants: ${depth.length} hotpath_gpu_queue_depth series (${[...tenantLabels].join(', ')})`);
  }, 120_000);
});
