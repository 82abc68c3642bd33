// Why: bench:query's numbers are only as good as what its pieces claim: the distinct-query load must reach
// every one of N bodies (autocannon's own request list restarts per connection and would not), the
// report must mark speed targets MET/MISS on the shipped rows only (the p99 target only where it is
// stated: c=50, 2 KB), the N=1 baseline must pair with the run beside it, and the nginx peer must be
// configured as the README says (and, where nginx is installed, really cache POST answers by body).

import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distinctBodies, parseDistinct, summarizeDistinct, type DistinctRun } from '../bench/lib/distinct.ts';
import { startLoadGenerator, type LoadResult } from '../bench/lib/loadgen.ts';
import { nginxConfig, runWrk, startNginx, which, wrkScript } from '../bench/lib/peers.ts';
import { formatSize, summarizeSize, type RunRecord, type ServerKind } from '../bench/lib/report.ts';
import { freePort } from './helpers/redis.ts';

const result = (reqPerSec: number, p99 = 3): LoadResult => ({
  durationSec: 1,
  requests: reqPerSec,
  sent: reqPerSec,
  reqPerSec,
  latencyP50Ms: 1,
  latencyP99Ms: p99,
  latencyMeanMs: 1,
  latencyMaxMs: p99,
  errors: 0,
  timeouts: 0,
  non2xx: 0,
  resets: 0,
  statusCodes: { 200: reqPerSec },
  responseBytes: 0,
});

/** A server that answers every POST 200 and remembers the bodies it got. */
async function recordingServer(): Promise<{ server: Server; url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}`, bodies };
}

describe('distinct-query load', () => {
  it('sends N bodies round-robin with one counter across connections: each once before any twice', async () => {
    const rec = await recordingServer();
    const loadgen = startLoadGenerator('worker');
    try {
      const bodies = distinctBodies(25, 7);
      expect(new Set(bodies).size).toBe(7);
      const r = await loadgen.run({ url: `${rec.url}/q`, connections: 5, durationSec: 10, body: bodies[0]!, bodies, amount: 70, headers: { 'content-type': 'application/json' } });
      expect(r.non2xx + r.errors).toBe(0);
      expect(rec.bodies.length).toBeGreaterThanOrEqual(70);
      const counts = new Map<string, number>();
      for (const b of rec.bodies) counts.set(b, (counts.get(b) ?? 0) + 1);
      expect([...counts.keys()].sort()).toEqual([...bodies].sort());
      // 5 connections take bodies from one shared counter: no body is sent twice more than another.
      expect(Math.max(...counts.values()) - Math.min(...counts.values())).toBeLessThanOrEqual(1);
      expect(r.bodiesTaken).toBeGreaterThanOrEqual(70);
      // A run can go on with the previous run's cycle.
      rec.bodies.length = 0;
      const next = await loadgen.run({ url: `${rec.url}/q`, connections: 1, durationSec: 10, body: bodies[0]!, bodies, bodiesOffset: 3, amount: 2, headers: { 'content-type': 'application/json' } });
      expect(next.requests).toBe(2);
      expect(rec.bodies).toEqual([bodies[3], bodies[4]]);
    } finally {
      await loadgen.close();
      rec.server.close();
    }
  });

  it('--distinct: ascending, 1 always in, junk refused', () => {
    expect(parseDistinct('100000,1000')).toEqual([1, 1000, 100000]);
    expect(parseDistinct('1')).toEqual([1]);
    expect(() => parseDistinct('0')).toThrow(/from 1 to/);
    expect(() => parseDistinct('1k')).toThrow();
    expect(() => parseDistinct('')).toThrow();
  });

  it('× N=1 pairs each run with the N=1 run of its own block and round', () => {
    const run = (round: number, block: number, n: number, reqPerSec: number, l1Bytes = 1000): DistinctRun => ({
      round, block, n, server: 'l1-hit', startedAt: '', result: result(reqPerSec), tierHits: { l1: reqPerSec, l2: 0 },
      l1Bytes, l1MaxBytes: 4000, l1Evictions: 0, engineExecutions: 0, parses: 0,
    });
    const rows = summarizeDistinct([
      run(0, 1, 1, 1, 10), // warm-up: no speed, but its L1 footprint (one entry) counts
      run(1, 1000, 1, 100), run(1, 1000, 1000, 50),
      run(1, 100000, 1, 200), run(1, 100000, 100000, 20),
    ]);
    const by = (n: number) => rows.find((r) => r.n === n)!;
    expect(by(1000).overN1PerRound).toEqual([0.5]);
    expect(by(100000).overN1PerRound).toEqual([0.1]);
    expect(by(1).runs).toBe(2);
    expect(by(1).l1BytesLeast).toBe(10);
    expect(by(1000).l1BytesLeast).toBe(1000);
    expect(by(1).l1Share).toBe(1);
  });
});

describe('main table checks', () => {
  const runs = (size: string): RunRecord[] => {
    const rows: [ServerKind, number, number][] = [
      ['ceiling', 1000, 3], ['l1-hit', 950, 4], ['l1-hit (logging off)', 1000, 4], ['l1-hit (HOTPATH_ACCESS_LOG=all)', 600, 9], ['l2-hit', 700, 8],
    ];
    return rows.map(([server, rps, p99]) => ({ round: 1, size, server, startedAt: '', result: result(rps, p99), engineExecutions: 0 }));
  };

  it('targets apply to the shipped rows, MET or MISS; the p99 target only at c=50 and 2 KB', () => {
    const s = summarizeSize('2KB', 2080, 'SELECT 1', runs('2KB'), 50);
    const check = (name: string) => s.checks.find((c) => c.name === name)!;
    expect(check('L1-hit / ceiling')).toMatchObject({ value: 0.95, target: 0.9, pass: true });
    expect(check('L2-hit / ceiling')).toMatchObject({ value: 0.7, target: 0.75, pass: false });
    expect(check('L1-hit p99')).toMatchObject({ value: 4, target: 5, pass: true });
    expect(check('L2-hit p99')).toMatchObject({ value: 8, pass: false });
    expect(check('l1-hit (HOTPATH_ACCESS_LOG=all) / ceiling')).toMatchObject({ value: 0.6 });
    expect(check('l1-hit (HOTPATH_ACCESS_LOG=all) / ceiling').target).toBeUndefined();
    expect(check('L1-hit / l1-hit (logging off)').value).toBeCloseTo(0.95);
    const text = formatSize(s, 50);
    expect(text).toMatch(/L1-hit \/ ceiling +0\.95 +0\.95 +≥ 0\.90 +MET/);
    expect(text).toMatch(/L2-hit p99 +8 ms +≤ 5 ms +MISS/);
    expect(text).not.toContain('PASS');

    for (const [size, c] of [['64KB', 50], ['2KB', 100]] as const) {
      const other = summarizeSize(size, 66687, 'SELECT 1', runs(size), c);
      const p99 = other.checks.find((x) => x.name === 'L1-hit p99')!;
      expect(p99.target).toBeUndefined();
      expect(p99.pass).toBeUndefined();
    }
  });
});

describe('nginx peer', () => {
  it('is configured as documented', () => {
    const conf = nginxConfig('/tmp/x', 8080, 9090);
    for (const line of [
      'daemon off;',
      'master_process off;',
      'tcp_nopush off;',
      'proxy_cache_methods POST;',
      'proxy_cache_key "$request_body$http_x_trino_user";',
      'proxy_cache_valid 200 1h;',
      'proxy_buffering on;',
      'client_body_buffer_size 1m;',
      'listen 127.0.0.1:8080;',
      'server 127.0.0.1:9090;',
      'proxy_cache_path /tmp/x/cache ',
      'add_header X-Cache-Status $upstream_cache_status always;',
    ]) expect(conf).toContain(line);
    // Nothing outside its own directory.
    for (const m of conf.matchAll(/(?:^|\s)(\/[^\s;]{2,})/g)) expect(m[1]!.startsWith('/tmp/x/')).toBe(true);
  });

  it('wrk script: POSTs the body as a Lua long string with the headers, refuses a body it cannot quote', () => {
    const lua = wrkScript('{"sql":"SELECT \\"a\\""}', { 'X-Trino-User': 'bench' });
    expect(lua).toContain('wrk.method = "POST"');
    expect(lua).toContain('wrk.body = [==[{"sql":"SELECT \\"a\\""}]==]');
    expect(lua).toContain('wrk.headers["X-Trino-User"] = "bench"');
    expect(() => wrkScript('x]==]y', {})).toThrow();
  });

  const nginx = which('nginx');
  const wrk = which('wrk');
  describe.skipIf(nginx === undefined || wrk === undefined)('with nginx and wrk installed', () => {
    let upstream: Awaited<ReturnType<typeof recordingServer>>;
    let dir: string;
    beforeAll(async () => {
      upstream = await recordingServer();
      dir = mkdtempSync(join(tmpdir(), 'hotpath-test-wrk-'));
    });
    afterAll(() => {
      upstream.server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('caches POST answers by body and user: wrk hits never reach the upstream', async () => {
      const started = await startNginx(nginx!, await freePort(), Number(new URL(upstream.url).port), () => {});
      try {
        const ask = (body: string, user: string) => fetch(`${started.url}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-trino-user': user }, body });
        expect((await ask('{"sql":"a"}', 'u')).headers.get('x-cache-status')).toBe('MISS');
        expect((await ask('{"sql":"a"}', 'u')).headers.get('x-cache-status')).toBe('HIT');
        expect((await ask('{"sql":"b"}', 'u')).headers.get('x-cache-status')).toBe('MISS');
        expect((await ask('{"sql":"a"}', 'v')).headers.get('x-cache-status')).toBe('MISS');
        expect(upstream.bodies).toHaveLength(3);
        const script = join(dir, 'a.lua');
        writeFileSync(script, wrkScript('{"sql":"a"}', { 'Content-Type': 'application/json', 'X-Trino-User': 'u' }));
        const r = await runWrk(wrk!, { url: `${started.url}/v1/query`, connections: 4, durationSec: 1, body: '', headers: {} }, script, () => {});
        expect(r.requests).toBeGreaterThan(100);
        expect(r.errors + r.timeouts + r.non2xx).toBe(0);
        expect(r.latencyP99Ms).toBeGreaterThan(0);
        expect(upstream.bodies).toHaveLength(3);
        expect(readFileSync(join(started.dir, 'nginx.conf'), 'utf8')).toBe(started.config);
      } finally {
        await started.stop();
      }
      expect(started.process.exitCode !== null || started.process.signalCode !== null).toBe(true);
    });
  });
});
