// Why: a bad setting must stop the process with a message naming the variable and what it expected.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactedConfig } from '../../src/shared/config.ts';
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
  ])('%j -> %s', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reads secrets from *_FILE and never shows them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hp-cfg-'));
    writeFileSync(join(dir, 'secret'), 's3cret-value\n');
    const c = loadConfig({ HOTPATH_AUTH: 'jwt', HOTPATH_JWT_SECRET_FILE: join(dir, 'secret') });
    expect(c.jwtSecret).toBe('s3cret-value');
    expect(JSON.stringify(redactedConfig(c))).not.toContain('s3cret');
    expect(() => loadConfig({ HOTPATH_JWT_SECRET: 'a', HOTPATH_JWT_SECRET_FILE: join(dir, 'secret') })).toThrow(/both set/);
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
});
