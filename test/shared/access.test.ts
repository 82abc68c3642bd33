// Why: who may call a route is declared with the route (config.access) and checked by one hook. This
// walks fastify's route table: every /v1 route declares its access except the ones that are public by
// design (Trino's /v1/info, and Trino pages, whose slug is the capability), and with auth on, every
// declared route refuses a caller without credentials before its handler runs.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RouteOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { sha256Hex } from '../../src/shared/hash.ts';
import { ControlledEngine, testConfig, useTestStack } from '../helpers/app.ts';
import type { TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
let engine: ControlledEngine;
useTestStack(async (s) => void ({ redis, engine } = s));

const PUBLIC_BY_DESIGN = new Set(['GET /v1/info', ...['GET', 'DELETE'].flatMap((m) => ['queued', 'executing'].map((k) => `${m} /v1/statement/${k}/:id/:slug/:token`))]);

describe('access per route', () => {
  it('every /v1 route declares who may call it; with auth on, each refuses a caller without credentials (401)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hp-access-'));
    writeFileSync(join(dir, 'tokens.json'), JSON.stringify([{ user: 'alice', tokenSha256: sha256Hex('t') }]));
    const config = testConfig(redis.url, { HOTPATH_AUTH: 'token', HOTPATH_AUTH_TOKENS_FILE: join(dir, 'tokens.json'), HOTPATH_GPU_ENABLED: 'true', HOTPATH_GPU_EXECUTOR: 'none' });
    const routes: RouteOptions[] = [];
    const app = await buildApp(config, { engine, defaultMetrics: false, onRoute: (r) => void routes.push(r) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      const v1 = routes.flatMap((r) => [r.method].flat().filter((m) => m !== 'HEAD').map((m) => ({ method: m, path: r.url, access: (r.config as { access?: string } | undefined)?.access })))
        .filter((r) => r.path.startsWith('/v1/'));
      expect(v1.length).toBeGreaterThan(12);
      const undeclared = v1.filter((r) => r.access === undefined && !PUBLIC_BY_DESIGN.has(`${r.method} ${r.path}`));
      expect(undeclared).toEqual([]);
      for (const r of v1.filter((x) => x.access !== undefined)) {
        const path = r.path.replace(/:[a-z]+/g, 'x');
        const body = r.method === 'POST' ? (path === '/v1/statement' ? 'SELECT 1' : '{}') : undefined;
        const res = await fetch(url + path, { method: r.method, ...(body !== undefined ? { body, headers: { 'content-type': path === '/v1/statement' ? 'text/plain' : 'application/json' } } : {}) });
        // Validation still runs first (a malformed body is a 400 for anyone); nothing reaches a handler unauthenticated.
        expect([400, 401], `${r.method} ${r.path}: ${res.status}`).toContain(res.status);
      }
      const ok = await fetch(`${url}/v1/gpu/cluster`, { headers: { authorization: 'Bearer t' } });
      expect(ok.status).toBe(200);
      const notAdmin = await fetch(`${url}/v1/gpu/audit`, { headers: { authorization: 'Bearer t' } });
      expect(notAdmin.status).toBe(403);
      expect((await notAdmin.json()).error.message).toBe('the GPU audit is for admins');
    } finally {
      await app.close();
    }
  });
});
