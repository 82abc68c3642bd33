// Why: GPU job API tests run real hotpath apps (fastify on a loopback socket, real Redis, real BullMQ)
// on a small inventory, with a test clock the scheduler, leases and executor read (the leader election
// keeps the real clock), and talk to them with fetch like any client.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../src/app.ts';
import { loadConfig, type Config } from '../../../src/shared/config.ts';
import { createDuckDbEngine } from '../../../src/query-cache/engines/duckdb-engine.ts';
import type { Engine } from '../../../src/query-cache/engines/engine.ts';
import type { ClusterSpec } from '../../../src/gpu/placement/model.ts';
import { auditStore, type AuditReport } from '../../../src/gpu/jobs/audit.ts';
import { k80Cluster } from '../../../src/gpu/inventory.ts';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startTestRedis, type TestRedis } from '../../helpers/redis.ts';

export interface TestClock {
  now: () => number;
  advance(ms: number): void;
}
export function testClock(startMs = Date.UTC(2026, 0, 1)): TestClock {
  // Real time flows (timers still fire), and advance() jumps ahead (a lease runs out at once).
  let offset = 0;
  const t0 = Date.now();
  return { now: () => startMs + offset + (Date.now() - t0), advance: (ms) => void (offset += ms) };
}

let engine: Engine | undefined;
async function sharedEngine(): Promise<Engine> {
  engine ??= await createDuckDbEngine({ demoData: false, demoOrderRowCount: 0, statementTimeoutMs: 5000 });
  return engine;
}

export interface GpuApp {
  app: FastifyInstance;
  url: string;
  config: Config;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  audit(): Promise<AuditReport>;
  close(): Promise<void>;
}

export function gpuConfig(redisUrl: string, prefix: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    REDIS_URL: redisUrl,
    HOTPATH_REDIS_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    HOTPATH_GPU_EXECUTOR: 'none',
    HOTPATH_GPU_TICK_MS: '50',
    HOTPATH_GPU_PREEMPTION: 'false',
    ...env,
  });
}

export async function startGpuApp(config: Config, cluster: ClusterSpec, clock?: TestClock): Promise<GpuApp> {
  const app = await buildApp(config, { engine: await sharedEngine(), defaultMetrics: false, gpuCluster: cluster, ...(clock !== undefined ? { now: clock.now } : {}) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  return {
    app,
    url,
    config,
    async call(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { 'x-trino-user': 'alice', ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
      const res = await fetch(url + path, init);
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // leave as text: the test will say what came back
      }
      return { status: res.status, body: parsed };
    },
    audit: () => auditStore(app.gpuJobs.store, app.gpuJobs.cluster),
    close: () => app.close(),
  };
}

/** Polls `fn` until it returns a truthy value (generous deadline: tests must not fail on a slow machine). */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * One private Redis for a test file, and an `app(env, nodes, clock)` that starts a GPU app on a K80
 * inventory with a fresh prefix. After every test each app started is audited (placement invariants,
 * usage and open-job counts re-summed) and closed.
 */
export function useGpuApps(prefix: string): { app(env?: Record<string, string>, nodes?: number, clock?: TestClock): Promise<GpuApp & { clock: TestClock }>; redisUrl(): string } {
  let redis: TestRedis;
  let n = 0;
  const open: GpuApp[] = [];
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterEach(async () => {
    for (const a of open.splice(0)) {
      expect(await a.audit()).toMatchObject({ ok: true, problems: [] });
      await a.close();
    }
  });
  afterAll(async () => redis.stop());
  return {
    async app(env = {}, nodes = 1, clock = testClock()) {
      const a = await startGpuApp(gpuConfig(redis.url, `${prefix}${n++}:`, env), k80Cluster(nodes), clock);
      open.push(a);
      return Object.assign(a, { clock });
    },
    redisUrl: () => redis.url,
  };
}
