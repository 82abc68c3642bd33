// Why: the tenant rules are a table (who may submit where, at what priority; who may see a job; which
// metric label a tenant gets), so they are tested as tables, and HOTPATH_TENANTS is refused at start
// with a message naming the field, as every other setting is.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/shared/hash.ts';
import { createAuthenticator } from '../../src/shared/auth.ts';
import { ConfigError, loadConfig } from '../../src/shared/config.ts';
import { hashPassword, PasswordStore } from '../../src/shared/passwords.ts';
import { isKnownTenant, mayAccess, parseTenants, priorityBucket, submitRefusal, tenantLabel, tenantOfNamespace, tenantPolicyOf, type Member } from '../../src/shared/tenants.ts';

const TENANTS = parseTenants(
  JSON.stringify({
    ml: { users: ['alice'], groups: ['ml-team'], weight: 2, quotaGpuMilli: 8000, maxPriority: 10 },
    serve: { groups: ['serving'], maxPriority: 100 },
    sandbox: { open: true },
  }),
  'HOTPATH_TENANTS',
);
const alice: Member = { user: 'alice', admin: false, groups: [] };
const bob: Member = { user: 'bob', admin: false, groups: ['ml-team'] };
const carol: Member = { user: 'carol', admin: false, groups: ['serving'] };
const mallory: Member = { user: 'mallory', admin: false, groups: [] };
const root: Member = { user: 'root', admin: true, groups: [] };

describe('submitRefusal', () => {
  it.each([
    // who, tenant, priority, refused because (undefined = allowed)
    [alice, 'ml', 10, undefined], //                          a listed user, at the tenant's highest priority
    [alice, 'ml', 11, 'priority 11 is above the highest tenant "ml" may use (10)'],
    [bob, 'ml', -1000, undefined], //                         a member by group; lower priorities are always allowed
    [carol, 'ml', 0, 'user carol is not a member of tenant "ml"'],
    [carol, 'serve', 100, undefined],
    [mallory, 'sandbox', 0, undefined], //                    open: anyone may submit
    [mallory, 'sandbox', 1, 'priority 1 is above the highest tenant "sandbox" may use (0)'], // maxPriority defaults to 0
    [mallory, 'invented', 0, 'unknown tenant "invented"; the configured tenants are ml, serve, sandbox'],
    [root, 'ml', 1000, undefined], //                         admins are not bound by membership or priority
    [root, 'invented', 0, 'unknown tenant "invented"; the configured tenants are ml, serve, sandbox'], // nor may they invent tenants
  ])('%o to %s at %i', (who, tenant, priority, reason) => {
    expect(submitRefusal(TENANTS, who, tenant, priority)).toBe(reason);
  });

  it('"*" admits any other name with its rights (and the local defaults are open at every priority)', () => {
    const t = parseTenants('{"ml":{"users":["alice"]},"*":{"open":true,"maxPriority":5}}', 'HOTPATH_TENANTS');
    expect(submitRefusal(t, mallory, 'whatever', 5)).toBeUndefined();
    expect(submitRefusal(t, mallory, 'whatever', 6)).toMatch(/above the highest/);
    expect(submitRefusal(t, mallory, 'ml', 0)).toMatch(/not a member/); // a named tenant is not widened by "*"
    const local = loadConfig({}).tenants;
    expect(local.source).toBe('local defaults');
    for (const tenant of ['ml', 'serve', 'research', 'batch', 'urgent', 'anything']) expect(submitRefusal(local, mallory, tenant, 1000)).toBeUndefined();
  });
});

describe('mayAccess', () => {
  it.each([
    // who, job tenant, submitted by, may read and act
    [alice, 'ml', 'alice', true], //     the submitter
    [bob, 'ml', 'alice', true], //       a member of the job's tenant (by group)
    [carol, 'ml', 'alice', false], //    a member of another tenant
    [mallory, 'sandbox', 'carol', false], // an open tenant makes submitters, not members
    [mallory, 'sandbox', 'mallory', true],
    [root, 'serve', 'carol', true], //   an admin
  ])('%o on a %s job of %s', (who, tenant, submittedBy, allowed) => {
    expect(mayAccess(TENANTS, who, { tenant, submittedBy })).toBe(allowed);
  });
});

describe('labels and shares', () => {
  it('a tenant outside the named set counts as other; priorities fall into five buckets', () => {
    expect(tenantLabel(TENANTS, 'ml')).toBe('ml');
    expect(tenantLabel(TENANTS, 'invented')).toBe('other');
    expect([-1000, -1, 0, 1, 9, 10, 99, 100, 1000].map(priorityBucket)).toEqual(['negative', 'negative', '0', '1-9', '1-9', '10-99', '10-99', '100+', '100+']);
  });

  it('weights and quotas reach the scheduling pass; the deprecated variables still work on the local defaults', () => {
    const policy = tenantPolicyOf(TENANTS);
    expect(policy('ml')).toEqual({ weight: 2, quotaGpuMilli: 8000 });
    expect(policy('serve')).toEqual({ weight: 1 });
    const legacy = loadConfig({ HOTPATH_GPU_TENANT_WEIGHTS: 'ml=3,team-x=2', HOTPATH_GPU_TENANT_QUOTAS: 'team-x=4000' }).tenants;
    expect(tenantPolicyOf(legacy)('team-x')).toEqual({ weight: 2, quotaGpuMilli: 4000 });
    expect(tenantPolicyOf(legacy)('ml')).toEqual({ weight: 3 });
    expect(tenantLabel(legacy, 'team-x')).toBe('team-x'); // a tenant they name is a named tenant
    expect(submitRefusal(legacy, mallory, 'team-x', 1000)).toBeUndefined(); // still open, as before
  });
});

describe('HOTPATH_TENANTS is validated at start', () => {
  const bad = (value: string) => () => loadConfig({ HOTPATH_TENANTS: value });
  it.each([
    ['not json', /HOTPATH_TENANTS: expected a JSON object of tenants/],
    ['[]', /HOTPATH_TENANTS: expected a JSON object/],
    ['{}', /names no tenant/],
    ['{"ml":{"users":"alice"}}', /HOTPATH_TENANTS\.ml\.users: expected a list of names/],
    ['{"ml":{"user":["alice"]}}', /HOTPATH_TENANTS\.ml: unknown field "user"/],
    ['{"ml":{"users":["alice"],"weight":0}}', /HOTPATH_TENANTS\.ml\.weight: expected a number > 0/],
    ['{"ml":{"users":["alice"],"maxPriority":1001}}', /HOTPATH_TENANTS\.ml\.maxPriority: expected an integer from -1000 to 1000/],
    ['{"ml":{"users":["alice"],"quotaGpuMilli":-1}}', /quotaGpuMilli: expected an integer >= 0/],
    ['{"ml":{}}', /HOTPATH_TENANTS\.ml: no one may submit to it/],
    ['{"other":{"open":true}}', /"other" is the metric label/],
    ['{"*":{"open":true,"quotaGpuMilli":1000}}', /a quota on "\*" would apply to each invented tenant name separately/],
  ])('%s', (value, message) => {
    expect(bad(value)).toThrow(ConfigError);
    expect(bad(value)).toThrow(message);
  });

  it('both the tenant table and the deprecated variables set is an error naming the replacement', () => {
    expect(() => loadConfig({ HOTPATH_TENANTS: '{"ml":{"open":true}}', HOTPATH_GPU_TENANT_QUOTAS: 'ml=1000' })).toThrow(
      /HOTPATH_GPU_TENANT_QUOTAS: replaced by HOTPATH_TENANTS \("weight" and "quotaGpuMilli" per tenant\)/,
    );
    expect(() => loadConfig({ HOTPATH_GPU_TENANT_WEIGHTS: 'ml' })).toThrow(/HOTPATH_GPU_TENANT_WEIGHTS: expected tenant=number/);
  });
});

describe('principals carry their groups; admins are only those configured', () => {
  it('a password entry\'s groups reach the principal; none mode names no admin unless HOTPATH_ADMIN_USERS lists one', async () => {
    const passwords = new PasswordStore([{ user: 'bob', password: hashPassword('pw'), groups: ['ml-team'] }]);
    const auth = createAuthenticator(loadConfig({ HOTPATH_AUTH: 'password', HOTPATH_AUTH_PASSWORDS_FILE: '/unused' }), { passwords });
    const basic = `Basic ${Buffer.from('bob:pw').toString('base64')}`;
    expect(await auth.authenticate({ authorization: basic })).toEqual({ user: 'bob', admin: false, groups: ['ml-team'] });
    const none = createAuthenticator(loadConfig({}));
    expect(await none.authenticate({ 'x-trino-user': 'alice' })).toMatchObject({ user: 'alice', admin: false });
    expect(await none.authenticate({})).toMatchObject({ user: 'anonymous', admin: false });
    const listed = createAuthenticator(loadConfig({ HOTPATH_ADMIN_USERS: 'ops' }));
    expect(await listed.authenticate({ 'x-trino-user': 'ops' })).toMatchObject({ user: 'ops', admin: true });
    expect(await listed.authenticate({ 'x-trino-user': 'alice' })).toMatchObject({ admin: false });
  });

  it('token and password files refuse groups that are not a list of names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hp-groups-'));
    const tokens = join(dir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify([{ user: 'bob', tokenSha256: sha256Hex('t'), groups: 'ml-team' }]));
    expect(() => createAuthenticator(loadConfig({ HOTPATH_AUTH: 'token', HOTPATH_AUTH_TOKENS_FILE: tokens }))).toThrow(/HOTPATH_AUTH_TOKENS_FILE\[0\]: .*"groups"\?: \[string\]/);
    const passwords = join(dir, 'passwords.json');
    writeFileSync(passwords, JSON.stringify([{ user: 'bob', password: hashPassword('pw'), groups: [''] }]));
    expect(() => PasswordStore.fromFile(passwords)).toThrow(/HOTPATH_AUTH_PASSWORDS_FILE\[0\]: .*"groups"\?: \[string\]/);
  });
});

describe('Kubernetes namespaces of tenants (the kubernetes backend)', () => {
  it('a namespace maps to the tenant that lists it, else to a tenant of its name, else to none', () => {
    const t = parseTenants(JSON.stringify({ ml: { namespaces: ['ml-train', 'ml-serve'] }, research: { open: true } }), 'HOTPATH_TENANTS');
    expect([tenantOfNamespace(t, 'ml-train'), tenantOfNamespace(t, 'research'), tenantOfNamespace(t, 'other')]).toEqual(['ml', 'research', undefined]);
    expect([isKnownTenant(t, 'ml'), isKnownTenant(t, 'other')]).toEqual([true, false]);
    expect(isKnownTenant(parseTenants(JSON.stringify({ '*': { open: true } }), 'HOTPATH_TENANTS'), 'anything')).toBe(true);
  });
  it.each([
    [{ a: { namespaces: ['x'] }, b: { namespaces: ['x'] } }, /namespace "x" belongs to both a and b/],
    [{ a: { namespaces: ['Not_A_DNS_Label'] } }, /namespaces: expected a list of Kubernetes namespace names/],
    [{ a: { namespaces: 'ml' } }, /namespaces: expected a list/],
  ])('refuses %j', (value, message) => {
    expect(() => parseTenants(JSON.stringify(value), 'HOTPATH_TENANTS')).toThrow(message);
  });
});
