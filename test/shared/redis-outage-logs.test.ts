// Why: when Redis dies under traffic the logs must say so once, not bury it: one warn line per
// connection role when it is lost and one when it is back, and the requests that meet the outage
// (503 GPU_UNAVAILABLE, the cache bypassed) logged below warn without a stack trace. Only a bug
// (INTERNAL) is logged at error with its stack.
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildApp, loggerOptions } from '../../src/app.ts';
import { k80Cluster } from '../../src/gpu/inventory.ts';
import { ControlledEngine, query, testConfig, unreachable, useTestStack } from '../helpers/app.ts';
import { eventually } from '../gpu/jobs/helpers.ts';
import type { TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
let engine: ControlledEngine;
useTestStack(async (s) => void ({ redis, engine } = s));

interface LogLine {
  level: number;
  msg: string;
  role?: string;
  code?: string;
  err?: { stack?: string };
  [k: string]: unknown;
}

async function loggedApp(setup: (app: FastifyInstance) => void = () => {}): Promise<{ url: string; lines: LogLine[]; close: () => Promise<void> }> {
  const config = testConfig(redis.url, { LOG_LEVEL: 'info', HOTPATH_GPU_ENABLED: 'true', HOTPATH_GPU_EXECUTOR: 'none', HOTPATH_GPU_TICK_MS: '50' });
  const lines: LogLine[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      partial += chunk.toString();
      const complete = partial.split('\n');
      partial = complete.pop() ?? '';
      for (const l of complete) if (l) lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  const app = await buildApp(config, { engine, defaultMetrics: false, gpuCluster: k80Cluster(1), logger: { ...(loggerOptions(config) as object), stream } });
  setup(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  await eventually(async () => app.queryCache.store.available(), 'the cache store connected');
  return { url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`, lines, close: () => app.close() };
}

const ROLES = ['hotpath:cache', 'hotpath:events', 'hotpath:trino-owners', 'hotpath:gpu', 'hotpath:gpu-events'];

describe('a Redis outage in the logs', () => {
  it('is one warn line per connection role when lost and one when back; the requests meeting it log no stack', async () => {
    const { url, lines, close } = await loggedApp();
    try {
      const statuses: number[] = [];
      const traffic = async (rounds: number) => {
        for (let i = 0; i < rounds; i++) {
          statuses.push((await query(url, `SELECT ${i % 3} AS outage_probe`)).status);
          const submit = await fetch(`${url}/v1/gpu/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-trino-user': 'alice' }, body: JSON.stringify({ tenant: 't', gpus: 1 }) });
          statuses.push(submit.status);
          await submit.text();
          const cluster = await fetch(`${url}/v1/gpu/cluster`);
          statuses.push(cluster.status);
          await cluster.text();
        }
      };
      await traffic(2);
      expect(statuses.every((s) => s < 300)).toBe(true);

      await redis.kill();
      await eventually(async () => ROLES.every((role) => lines.some((l) => l.msg === 'redis connection lost' && l.role === role)), 'every role reported lost');
      statuses.length = 0;
      await traffic(10);
      // The JSON door bypasses the cache (200); the GPU API answers 503 GPU_UNAVAILABLE.
      expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(10);
      expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);

      await redis.restart();
      await eventually(async () => ROLES.every((role) => lines.some((l) => l.msg === 'redis connection back' && l.role === role)), 'every role reported back');
      await eventually(async () => (await fetch(`${url}/v1/gpu/cluster`)).status === 200, 'the GPU API answers again');
      await traffic(2);
    } finally {
      await close();
    }

    for (const role of ROLES) {
      const of = (msg: string) => lines.filter((l) => l.msg === msg && l.role === role);
      expect(of('redis connection lost'), role).toHaveLength(1);
      expect(of('redis connection back'), role).toHaveLength(1);
      expect(of('redis connection lost')[0]!.level).toBe(40);
      expect(of('redis connection back')[0]!.level).toBe(40);
    }
    // Each request that met the outage: one info line with the code, and no stack anywhere.
    const failed = lines.filter((l) => l.msg === 'request failed');
    expect(failed.length).toBeGreaterThanOrEqual(10);
    for (const l of failed) expect(l).toMatchObject({ level: 30, code: 'GPU_UNAVAILABLE' });
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    expect(lines.filter((l) => JSON.stringify(l).includes('    at '))).toEqual([]);
    // Warnings do not grow with the traffic: 30 requests met the outage.
    expect(lines.filter((l) => l.level === 40).length).toBeLessThanOrEqual(2 * ROLES.length + 4);
  });

  it('an unreachable engine (502) logs at info without a stack; a bug (500) at error with it', async () => {
    const { url, lines, close } = await loggedApp((app) => {
      app.get('/test/bug', async () => {
        throw new TypeError('a bug');
      });
    });
    try {
      engine.failWith = unreachable();
      const r = await query(url, 'SELECT 1 AS engine_down_probe');
      expect(r.status).toBe(502);
      expect(r.body).toMatchObject({ error: { code: 'ENGINE_UNAVAILABLE' } });
      const bug = await fetch(`${url}/test/bug`);
      expect(bug.status).toBe(500);
      expect(await bug.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    } finally {
      engine.failWith = undefined;
      await close();
    }
    const failed = lines.filter((l) => l.msg === 'request failed');
    const engineLine = failed.find((l) => l.code === 'ENGINE_UNAVAILABLE');
    expect(engineLine).toMatchObject({ level: 30 });
    expect(engineLine!.err).toBeUndefined();
    const bugLine = failed.find((l) => l.err !== undefined);
    expect(bugLine).toMatchObject({ level: 50, err: { message: 'a bug' } });
    expect(bugLine!.err!.stack).toContain('TypeError: a bug');
  });
});
