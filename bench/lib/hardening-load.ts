// Why: bench:hardening measures /healthz from the main thread while a load runs; the load must not share
// that thread's event loop (it would measure the bench, not the server), so it runs in a worker thread:
// either one huge JSON answer read to its end, or a flood of wrong passwords. Both are bounded in time.

import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Agent, request } from 'undici';

export type LoadSpec =
  | { kind: 'stream'; url: string; sql: string; authorization: string; timeoutMs: number }
  | {
      kind: 'flood';
      url: string;
      users: string[];
      concurrency: number;
      durationMs: number;
      /** A distributed attacker: every request from another address (X-Forwarded-For; the server trusts loopback) and a fresh user name. */
      distributed?: boolean;
    };

export interface LoadResult {
  kind: LoadSpec['kind'];
  elapsedMs: number;
  /** stream: bytes of the answer read; flood: requests sent. */
  count: number;
  statuses: Record<string, number>;
  cacheStatus?: string;
}

/** Runs one load in a worker thread; resolves with what it did. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: spec });
    worker.once('message', (r: LoadResult) => resolve(r));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`load worker exited ${code}`)));
  });
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function stream(spec: Extract<LoadSpec, { kind: 'stream' }>, dispatcher: Agent): Promise<LoadResult> {
  const started = performance.now();
  const res = await request(`${spec.url}/v1/query`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json', authorization: spec.authorization },
    body: JSON.stringify({ sql: spec.sql }),
    bodyTimeout: spec.timeoutMs,
    headersTimeout: spec.timeoutMs,
  });
  let bytes = 0;
  for await (const chunk of res.body) bytes += (chunk as Buffer).length;
  return { kind: 'stream', elapsedMs: performance.now() - started, count: bytes, statuses: { [res.statusCode]: 1 }, cacheStatus: String(res.headers['cache-status'] ?? '') };
}

async function flood(spec: Extract<LoadSpec, { kind: 'flood' }>, dispatcher: Agent): Promise<LoadResult> {
  const started = performance.now();
  const statuses: Record<string, number> = {};
  let sent = 0;
  const loop = async (i: number) => {
    while (performance.now() - started < spec.durationMs) {
      const n = sent;
      const user = spec.distributed ? `guess-${n}` : spec.users[(n + i) % spec.users.length]!;
      const headers: Record<string, string> = { 'content-type': 'application/json', authorization: basic(user, `wrong-${n}`) };
      if (spec.distributed) headers['x-forwarded-for'] = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
      const res = await request(`${spec.url}/v1/query`, { method: 'POST', dispatcher, headers, body: '{"sql":"SELECT 1"}' }).catch(() => undefined);
      sent++;
      const key = res ? String(res.statusCode) : 'error';
      statuses[key] = (statuses[key] ?? 0) + 1;
      await res?.body.dump();
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, i) => loop(i)));
  return { kind: 'flood', elapsedMs: performance.now() - started, count: sent, statuses };
}

if (!isMainThread) {
  const spec = workerData as LoadSpec;
  const dispatcher = new Agent({ connections: 64 });
  const done = spec.kind === 'stream' ? stream(spec, dispatcher) : flood(spec, dispatcher);
  void done.then(async (r) => {
    parentPort!.postMessage(r);
    await dispatcher.close();
  });
}
