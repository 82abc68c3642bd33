// Why: logs are shipped off the box; they must never carry SQL text (only its hash) below debug level,
// nor a bearer token, nor a secret from the configuration.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildApp, loggerOptions } from '../../src/app.ts';
import { sha256Hex } from '../../src/shared/hash.ts';
import { redactedConfig } from '../../src/shared/config.ts';
import { ControlledEngine, query, testConfig, useTestStack } from '../helpers/app.ts';
import type { TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
let engine: ControlledEngine;
useTestStack(async (s) => void ({ redis, engine } = s));

async function logsOf(level: string, run: (url: string) => Promise<void>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'hp-log-'));
  writeFileSync(join(dir, 'tokens.json'), JSON.stringify([{ user: 'alice', tokenSha256: sha256Hex('very-secret-token') }]));
  const config = testConfig(redis.url, { LOG_LEVEL: level, HOTPATH_AUTH: 'token', HOTPATH_AUTH_TOKENS_FILE: join(dir, 'tokens.json') });
  let out = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const app = await buildApp(config, { engine, defaultMetrics: false, logger: { ...(loggerOptions(config) as object), stream } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  app.log.info({ config: redactedConfig(config) }, 'configuration loaded');
  try {
    await run(`http://127.0.0.1:${port}`);
  } finally {
    await app.close();
  }
  return out;
}

const SQL = "SELECT 'marker-7f3a' AS secret_column";

describe('logs', () => {
  it('at info: requests are logged, but no SQL text and no token', async () => {
    const logs = await logsOf('info', async (url) => {
      await query(url, SQL, { headers: { authorization: 'Bearer very-secret-token' } });
      await query(url, 'SELECT * FROM demo.sales.nope', { headers: { authorization: 'Bearer very-secret-token' } });
    });
    expect(logs).toContain('"msg":"request completed"');
    expect(logs).not.toContain('marker-7f3a');
    expect(logs).not.toContain('very-secret-token');
  });

  it('at debug: SQL text is logged (with its hash); the token still is not', async () => {
    const logs = await logsOf('debug', async (url) => {
      await query(url, SQL, { headers: { authorization: 'Bearer very-secret-token' } });
    });
    expect(logs).toContain('marker-7f3a');
    expect(logs).toMatch(/"sqlHash":"[0-9a-f]{16}"/);
    expect(logs).not.toContain('very-secret-token');
  });
});
