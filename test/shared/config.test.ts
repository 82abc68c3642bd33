// Why: a bad setting must stop the process with a message naming the variable and what it expected.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, isLoopback, loadConfig, redactedConfig } from '../../src/shared/config.ts';
import { CONFIG_VARS } from '../../src/shared/config-schema.ts';

describe('loadConfig', () => {
  it('has sane embedded defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, host: '127.0.0.1', redisUrl: 'redis://127.0.0.1:6379', engine: 'duckdb', auth: 'none', l1MaxBytes: 128 * 1024 * 1024 });
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT: expected an integer from 0 to 65535, got "eighty"$/],
    [{ PORT: '70000' }, /^PORT: expected an integer/],
    [{ HOTPATH_ENGINE: 'postgres' }, /^HOTPATH_ENGINE: expected one of duckdb, trino, got "postgres"$/],
    [{ REDIS_URL: 'http://x' }, /^REDIS_URL: expected a redis: or rediss: URL, got \(hidden\)$/],
    [{ HOTPATH_ALLOW_WRITES: 'maybe' }, /^HOTPATH_ALLOW_WRITES: expected true or false/],
    [{ HOTPATH_ENGINE: 'trino' }, /^TRINO_URL: required when HOTPATH_ENGINE=trino$/],
    [{ HOTPATH_AUTH: 'token' }, /^HOTPATH_AUTH_TOKENS_FILE: required/],
    [{ HOST: '0.0.0.0' }, /^HOST: 0\.0\.0\.0 is not a loopback address/],
    [{ HOTPATH_CACHE_RULES: '{"tables":[]}' }, /^HOTPATH_CACHE_RULES: expected a JSON list/],
    [{ HOTPATH_CACHE_RULES: '[{"tables":["a.b.c"],"ttl":5}]' }, /^HOTPATH_CACHE_RULES\[0\]: unknown field "ttl"$/],
    [{ HOTPATH_CACHE_RULES: '[{"ttlSeconds":5}]' }, /needs "tables" or "catalogs"/],
    [{ HOTPATH_JWT_SECRET_FILE: '/nonexistent/secret', HOTPATH_AUTH: 'jwt' }, /^HOTPATH_JWT_SECRET_FILE: cannot read \/nonexistent\/secret \(ENOENT\)$/],
    // A name that merely starts with 127. is not loopback: it needs auth like any remote address.
    [{ HOST: '127.0.0.1.nip.io' }, /^HOST: 127\.0\.0\.1\.nip\.io is not a loopback address/],
    // Set but empty: an error naming the variable, not "use the default" (nor a TypeError later).
    [{ HOST: '' }, /^HOST: empty/],
    [{ PORT: '' }, /^PORT: empty/],
    [{ HOTPATH_AUTH: '' }, /^HOTPATH_AUTH: empty/],
    [{ HOTPATH_AUTH: 'jwt', HOTPATH_JWT_SECRET: 'x'.repeat(31) }, /^HOTPATH_JWT_SECRET: .*at least 32 bytes/],
    [{ HOTPATH_TRUST_PROXY: 'sometimes' }, /^HOTPATH_TRUST_PROXY: expected true, false, a hop count or a comma-separated list of addresses\/CIDRs, got "sometimes"$/],
    [{ HOTPATH_TRUST_PROXY: '10.0.0.0/33' }, /^HOTPATH_TRUST_PROXY: .*got "10\.0\.0\.0\/33"$/],
    [{ HOTPATH_TRUST_PROXY: '10.0.0.1,ingress.local' }, /^HOTPATH_TRUST_PROXY: /],
    [{ HOTPATH_TRUST_PROXY: '' }, /^HOTPATH_TRUST_PROXY: empty/],
    // One late heartbeat must not turn L1 off: the silence bound is at least two heartbeat periods.
    [{ HOTPATH_INVALIDATION_HEARTBEAT_INTERVAL_MS: '2000' }, /^HOTPATH_INVALIDATION_MAX_SILENCE_MS: expected at least twice HOTPATH_INVALIDATION_HEARTBEAT_INTERVAL_MS \(4000\), got 3000/],
    [{ HOTPATH_GPU_ELECTION: 'lease' }, /^HOTPATH_GPU_ELECTION=lease: needs HOTPATH_GPU_BACKEND=kubernetes/],
    [{ HOTPATH_GPU_ELECTION: 'etcd' }, /^HOTPATH_GPU_ELECTION: expected one of redis, lease, got "etcd"$/],
    [{ HOTPATH_GPU_BACKEND: 'kubernetes', HOTPATH_KUBE_LEASE: 'Kube-System/sched' }, /^HOTPATH_KUBE_LEASE: expected a Lease name or namespace\/name/],
    [{ HOTPATH_GPU_BACKEND: 'kubernetes', HOTPATH_KUBE_LEASE: 'a/b/c' }, /^HOTPATH_KUBE_LEASE: /],
  ])('%j -> %s', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reads secrets from *_FILE and never shows them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hp-cfg-'));
    writeFileSync(join(dir, 'secret'), 's3cret-value-of-at-least-32-bytes\n');
    const c = loadConfig({ HOTPATH_AUTH: 'jwt', HOTPATH_JWT_SECRET_FILE: join(dir, 'secret') });
    expect(c.jwtSecret).toBe('s3cret-value-of-at-least-32-bytes');
    expect(JSON.stringify(redactedConfig(c))).not.toContain('s3cret');
    expect(() => loadConfig({ HOTPATH_JWT_SECRET: 'a', HOTPATH_JWT_SECRET_FILE: join(dir, 'secret') })).toThrow(/both set/);
  });

  it('HOST is loopback by address, not by prefix', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '127.255.255.254', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
      expect(isLoopback(host), host).toBe(true);
      expect(loadConfig({ HOST: host }).host).toBe(host);
    }
    for (const host of ['127.0.0.1.nip.io', '127.evil.example', '128.0.0.1', '0.0.0.0', '::', '::2', '::ffff:10.0.0.1', 'localhost.example.com', '1270.0.0.1']) {
      expect(isLoopback(host), host).toBe(false);
    }
    expect(loadConfig({ HOST: '127.0.0.1.nip.io', HOTPATH_AUTH: 'jwt', HOTPATH_JWT_SECRET: 'x'.repeat(32) }).host).toBe('127.0.0.1.nip.io');
  });

  it('empty means unset only for variables without a default, and an empty list for lists', () => {
    const c = loadConfig({ HOTPATH_ADMIN_USERS: '', TRINO_URL: '', HOTPATH_JWT_ISSUER: '', HOTPATH_GPU_TENANT_WEIGHTS: '' });
    expect(c.adminUsers).toEqual([]);
    expect(c.trinoUrl).toBeUndefined();
    expect(c.jwtIssuer).toBeUndefined();
    expect(c.gpuTenantWeights).toBeUndefined();
  });

  it('HOTPATH_TRUST_PROXY: off by default; true/false, a hop count, or addresses/CIDRs', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ HOTPATH_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ HOTPATH_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ HOTPATH_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ HOTPATH_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,fd00::/8 ,::1' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1', 'fd00::/8', '::1']);
  });

  it('HMAC secrets: 32 bytes at least; HOTPATH_JWT_REQUIRE_EXP defaults to true', () => {
    const c = loadConfig({ HOTPATH_AUTH: 'jwt', HOTPATH_JWT_SECRET: 'x'.repeat(32) });
    expect(c.jwtRequireExp).toBe(true);
    expect(loadConfig({ HOTPATH_AUTH: 'jwt', HOTPATH_JWT_SECRET: 'x'.repeat(32), HOTPATH_JWT_REQUIRE_EXP: 'false' }).jwtRequireExp).toBe(false);
    // Bytes, not characters: 11 three-byte characters are 33 bytes.
    expect(loadConfig({ HOTPATH_AUTH: 'jwt', HOTPATH_JWT_SECRET: '€'.repeat(11) }).jwtSecret).toBe('€'.repeat(11));
  });

  it('the README documents every variable (npm run config:doc prints the table)', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const v of CONFIG_VARS) expect(readme, v.env).toContain(`| \`${v.env}\``);
  });

  it('the server exits 2 with the message on a bad setting', () => {
    const r = spawnSync(process.execPath, ['src/server.ts'], { env: { ...process.env, PORT: 'nope' }, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('hotpath: configuration error: PORT: expected an integer from 0 to 65535, got "nope"');
  });

  it('the server exits 2 naming HOST when HOST is empty', () => {
    const r = spawnSync(process.execPath, ['src/server.ts'], { env: { ...process.env, HOST: '' }, encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toContain('hotpath: configuration error: HOST: empty');
    expect(r.status).toBe(2);
  });
});
