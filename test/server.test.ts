// Why: the process as an operator runs it: `node src/server.ts` starts a private redis-server when none
// answers (and says so), serves queries, and on SIGTERM finishes in-flight requests before exiting.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { portAnswers } from '../src/shared/redis-autostart.ts';
import { freePort } from './helpers/redis.ts';

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

function start(env: Record<string, string>): Promise<{ url: string; output: () => string; exited: Promise<number | null> }> {
  const proc = spawn(process.execPath, ['src/server.ts'], {
    env: { ...process.env, PORT: '0', HOTPATH_DEMO_ORDER_ROWS: '20000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = out.match(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, output: () => out, exited });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`server exited ${code}:\n${out}`)));
  });
}

describe('server process', () => {
  it('starts a private redis-server when none answers, serves, and drains on SIGTERM', async () => {
    const redisPort = await freePort();
    const s = await start({ REDIS_URL: `redis://127.0.0.1:${redisPort}` });
    expect(s.output()).toContain(`started a private redis-server there`);
    expect(await portAnswers('127.0.0.1', redisPort, 500)).toBe(true);

    const post = (sql: string) =>
      fetch(`${s.url}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql }) });
    expect((await post('SELECT 1 AS one')).status).toBe(200);
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);

    // The embedded GPU cluster is live: 16 K80 devices; a job with a duration is run by the simulated executor.
    const cluster = await (await fetch(`${s.url}/v1/gpu/cluster`)).json();
    expect(cluster.nodes.flatMap((n: { gpus: unknown[] }) => n.gpus)).toHaveLength(16);
    const job = await (await fetch(`${s.url}/v1/gpu/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: 'demo', gpus: 2, durationSeconds: 0.2 }) })).json();
    let state = job.state;
    for (let i = 0; i < 200 && state !== 'completed'; i++) {
      state = (await (await fetch(`${s.url}/v1/gpu/jobs/${job.id}?waitSeconds=5`)).json()).state;
    }
    expect(state).toBe('completed');

    // A query still running when SIGTERM arrives gets its answer; then the process exits 0.
    const slow = post('SELECT count(*) AS n FROM range(6000) a, range(6000) b WHERE (a.range * b.range) % 7 = 3');
    await new Promise((r) => setTimeout(r, 150));
    child!.kill('SIGTERM');
    const res = await slow;
    expect(res.status).toBe(200);
    expect((await res.json()).rows[0][0]).toBeGreaterThan(0);
    expect(await s.exited).toBe(0);
    expect(s.output()).toContain('shutting down');
    // the private Redis went with it
    await new Promise((r) => setTimeout(r, 200));
    expect(await portAnswers('127.0.0.1', redisPort, 500)).toBe(false);
  });

  it('shuts down within its bounds whatever is down: with no Redis at all, SIGTERM exits promptly', async () => {
    const s = await start({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, HOTPATH_REDIS_AUTOSTART: 'false', HOTPATH_SHUTDOWN_GRACE_MS: '5000' });
    expect((await fetch(`${s.url}/readyz`)).status).toBe(503);
    const t0 = Date.now();
    child!.kill('SIGTERM');
    const code = await Promise.race([s.exited, new Promise<string>((r) => setTimeout(() => r('still running after 10 s'), 10_000))]);
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(s.output()).toContain('stopped');
  });
});
