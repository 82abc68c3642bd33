// Why: files and strings the configuration names (auth tokens, passwords, JWT key, HTTPS cert and key,
// Trino CA, GPU inventory, tenant weights and quotas) are checked with the rest of the configuration,
// before the process starts anything: a bad one exits 2 naming its variable, before a private
// redis-server is started or the demo data is built (REDIS_URL points at a port where nothing
// answers, so autostart would say so).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from './helpers/redis.ts';

const dir = mkdtempSync(join(tmpdir(), 'hp-server-config-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

function runServer(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return freePort().then(
    (redisPort) =>
      new Promise((resolve) => {
        const proc = spawn(process.execPath, ['src/server.ts'], {
          env: { ...process.env, PORT: '0', REDIS_URL: `redis://127.0.0.1:${redisPort}`, HOTPATH_REDIS_AUTOSTART: 'true', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        proc.stdout.on('data', (d: Buffer) => (stderr += d.toString()));
        proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        // A server that got past the checks would keep running: stop it, the test then fails on the code.
        const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
        proc.once('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, stderr });
        });
      }),
  );
}

describe('configuration files are validated before anything starts', () => {
  it.each([
    ['tokens file that is not JSON', () => ({ HOTPATH_AUTH: 'token', HOTPATH_AUTH_TOKENS_FILE: file('tokens.json', '[{"user":') }), 'HOTPATH_AUTH_TOKENS_FILE: cannot read'],
    ['tokens file with a bad entry', () => ({ HOTPATH_AUTH: 'token', HOTPATH_AUTH_TOKENS_FILE: file('tokens2.json', '[{"user":"a","tokenSha256":"nothex"}]') }), 'HOTPATH_AUTH_TOKENS_FILE[0]: expected'],
    ['cluster file that does not exist', () => ({ HOTPATH_GPU_CLUSTER_FILE: join(dir, 'missing.json') }), 'HOTPATH_GPU_CLUSTER_FILE: cannot read'],
    ['cluster file with a bad node', () => ({ HOTPATH_GPU_CLUSTER_FILE: file('cluster.json', '{"nodes":[null]}') }), 'HOTPATH_GPU_CLUSTER_FILE ('],
    ['tenant weights that are not numbers', () => ({ HOTPATH_GPU_TENANT_WEIGHTS: 'ml=heavy' }), 'HOTPATH_GPU_TENANT_WEIGHTS: expected tenant=number'],
    ['a TLS certificate that does not exist', () => ({ HOTPATH_TLS_CERT_FILE: join(dir, 'missing.crt'), HOTPATH_TLS_KEY_FILE: file('tls.key', 'x') }), 'HOTPATH_TLS_CERT_FILE: cannot read'],
    ['a TLS key that is no key', () => ({ HOTPATH_TLS_CERT_FILE: file('tls.crt', 'x'), HOTPATH_TLS_KEY_FILE: file('tls.key', 'x') }), 'HOTPATH_TLS_CERT_FILE: '],
    ['a Trino CA file with no certificate', () => ({ HOTPATH_ENGINE: 'trino', TRINO_URL: 'https://trino:8443', TRINO_CA_FILE: file('ca.pem', 'nothing') }), 'TRINO_CA_FILE: '],
  ])('%s: exit 2 naming the variable, before Redis autostart', async (_what, env, message) => {
    const r = await runServer(env());
    expect(r.stderr).toContain(`hotpath: configuration error: ${message}`);
    expect(r.code).toBe(2);
    // Nothing was started: autostart would have said "started a private redis-server".
    expect(r.stderr).not.toContain('redis-server');
  });
});
