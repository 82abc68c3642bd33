// Why: build real hotpath apps for tests: validated config from env-style overrides, a real DuckDB
// engine (shared per file, small demo data), listening on a real loopback socket.

import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { startTestRedis, type TestRedis } from './redis.ts';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/shared/config.ts';
import type { Engine, EngineBatch, EngineQuery, EngineResult, EngineStreamEnd, Relations, RelationsQuery } from '../../src/query-cache/engines/engine.ts';
import { EngineError } from '../../src/query-cache/engines/engine.ts';
import { createDuckDbEngine } from '../../src/query-cache/engines/duckdb-engine.ts';

export interface TestApp {
  app: FastifyInstance;
  url: string;
  config: Config;
  close(): Promise<void>;
}

export function testConfig(redisUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    REDIS_URL: redisUrl,
    HOTPATH_REDIS_PREFIX: `t${Math.random().toString(36).slice(2, 8)}:`,
    LOG_LEVEL: 'silent',
    // Query-cache tests leave the GPU job service off (its own tests turn it on).
    HOTPATH_GPU_ENABLED: 'false',
    ...env,
  });
}

export async function startApp(config: Config, engine: Engine): Promise<TestApp> {
  const app = await buildApp(config, { engine, defaultMetrics: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  // Wait until the cache's Redis connections are up and its invalidation channel proven (L1 on), so tests
  // start from a known state.
  const store = app.queryCache.store;
  const deadline = Date.now() + 5000;
  while (!(store.available() && store.invalidationChannelUp()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return { app, url: `${config.tlsCertFile ? 'https' : 'http'}://127.0.0.1:${port}`, config, close: () => app.close() };
}

/**
 * A real DuckDB engine that counts executions per SQL text and can be told to fail like an
 * unreachable Trino would, or to slow down (to widen race windows in single-flight tests).
 */
export class ControlledEngine implements Engine {
  readonly id = 'duckdb-embedded';
  readonly inner: Engine;
  readonly executionsBySql = new Map<string, number>();
  failWith: EngineError | undefined;
  delayMs = 0;

  constructor(inner: Engine) {
    this.inner = inner;
  }

  static async create(): Promise<ControlledEngine> {
    return new ControlledEngine(await createDuckDbEngine({ demoData: true, demoOrderRowCount: 20_000, statementTimeoutMs: 10_000 }));
  }

  executions(sql?: string): number {
    if (sql !== undefined) return this.executionsBySql.get(sql) ?? 0;
    let n = 0;
    for (const v of this.executionsBySql.values()) n += v;
    return n;
  }

  async execute(query: EngineQuery, signal: AbortSignal): Promise<EngineResult> {
    this.executionsBySql.set(query.sql, (this.executionsBySql.get(query.sql) ?? 0) + 1);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failWith) throw this.failWith;
    return this.inner.execute(query, signal);
  }

  async stream(query: EngineQuery, signal: AbortSignal, onBatch: (batch: EngineBatch) => Promise<void>): Promise<EngineStreamEnd> {
    this.executionsBySql.set(query.sql, (this.executionsBySql.get(query.sql) ?? 0) + 1);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failWith) throw this.failWith;
    return this.inner.stream!(query, signal, onBatch);
  }

  ping(signal: AbortSignal): Promise<void> {
    return this.inner.ping(signal);
  }

  relations(query: RelationsQuery, signal: AbortSignal): Promise<Relations> {
    return this.inner.relations!(query, signal);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export function unreachable(): EngineError {
  return new EngineError('unavailable', 'ENGINE_UNREACHABLE', 'connection refused');
}

/** POST /v1/query with fetch; returns status, headers and parsed body (and the raw text). */
export async function query(
  base: string,
  sql: string,
  opts: { user?: string; headers?: Record<string, string>; body?: Record<string, unknown> } = {},
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const res = await fetch(`${base}/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(opts.user ? { 'x-trino-user': opts.user } : {}), ...opts.headers },
    body: JSON.stringify({ sql, ...opts.body }),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

export interface TestStack {
  redis: TestRedis;
  engine: ControlledEngine;
  /** Starts an app on this file's Redis (a Config, or env overrides for testConfig) and closes it after the file. */
  app(config?: Config | Record<string, string>, engine?: Engine): Promise<TestApp>;
  /** Runs at the end of the file, before the apps started earlier close (last registered, first run). */
  onClose(fn: () => Promise<void> | void): void;
}

/**
 * The per-file test stack: one redis-server and one DuckDB engine, started before the file's tests
 * (then `setup` runs, e.g. to start apps) and stopped after them, apps first.
 */
export function useTestStack(setup: (stack: TestStack) => Promise<void> = async () => {}): void {
  const cleanups: (() => Promise<void> | void)[] = [];
  let redis: TestRedis | undefined;
  let engine: ControlledEngine | undefined;
  beforeAll(async () => {
    redis = await startTestRedis();
    engine = await ControlledEngine.create();
    const stack: TestStack = {
      redis,
      engine,
      async app(config = {}, appEngine = engine as ControlledEngine) {
        const c = 'redisUrl' in config ? (config as Config) : testConfig((redis as TestRedis).url, config as Record<string, string>);
        const h = await startApp(c, appEngine);
        cleanups.push(() => h.close());
        return h;
      },
      onClose: (fn) => void cleanups.push(fn),
    };
    await setup(stack);
  });
  afterAll(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
    await engine?.close();
    await redis?.stop();
  });
}

/** A statement through the Trino door with plain fetch, every page's raw text concatenated (wire checks). */
export async function rawTrinoPages(server: string, sql: string, user = 'alice'): Promise<string> {
  const post = await fetch(`${server}/v1/statement`, { method: 'POST', headers: { 'x-trino-user': user }, body: sql });
  let page = (await post.json()) as { nextUri?: string };
  let raw = '';
  while (page.nextUri) {
    const text = await (await fetch(page.nextUri)).text();
    raw += text;
    page = JSON.parse(text) as { nextUri?: string };
  }
  return raw;
}
