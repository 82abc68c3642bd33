// Why: the benches are run by hand and in CI, often as `npm run bench:x | head` or stopped with Ctrl-C.
// Every bench must answer --help without starting anything, refuse an unknown option (exit 2), and
// leave no redis-server behind however it ends: a closed stdout (EPIPE), SIGTERM/SIGINT/SIGHUP, and
// even SIGKILL (the tie in spawnTied). redis-server is found through a shim first on PATH that logs each
// start's pid (it then execs the real one, keeping the pid), so other test files' servers never count.

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BENCHES = ['query', 'trino', 'placement', 'k80', 'hardening'] as const;
const REAL_REDIS = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
/** The quickest bench to reach a running redis-server: a 1 h simulation, then the service run. */
const k80Small = (serviceHours: number, json: string): string[] =>
  ['--seeds', '1', '--hours', '1', '--service-hours', String(serviceHours), '--throughput-jobs', '50', '--json', join(dir, json)];

let dir: string;
let runs = 0;
const started: number[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hotpath-bench-cli-'));
  const shim = join(dir, 'redis-server');
  writeFileSync(shim, `#!/bin/sh\necho "$$ $*" >> "$HOTPATH_TEST_REDIS_LOG"\nexec ${JSON.stringify(REAL_REDIS || '/nonexistent/redis-server')} "$@"\n`);
  chmodSync(shim, 0o755);
});

/** Whether pid is a live (not zombie) redis-server. */
function redisAlive(pid: number): boolean {
  const ps = spawnSync('ps', ['-o', 'stat=,args=', '-p', String(pid)], { encoding: 'utf8' });
  const out = ps.stdout.trim();
  return ps.status === 0 && out !== '' && !out.startsWith('Z') && out.includes('redis-server');
}

afterEach(() => {
  // A failing run must not leave its servers behind either.
  for (const pid of started.splice(0)) if (redisAlive(pid)) process.kill(pid, 'SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  /** Where the shim logs redis-server starts (absent: never started, not even `--version`). */
  log: string;
  /** pids of the redis-servers it started (not `--version` probes). */
  redisPids(): number[];
  /** Resolves on each stdout line, in order, until stdout closes. */
  onLine(fn: (line: string) => void): void;
  closeStdout(): void;
  kill(signal: NodeJS.Signals): void;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function runBench(name: string, args: string[]): Run {
  const log = join(dir, `run-${++runs}.log`);
  const child = spawn(process.execPath, [`bench/${name}.ts`, ...args], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}`, HOTPATH_TEST_REDIS_LOG: log },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let pending = '';
  const listeners: ((line: string) => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      for (const fn of listeners) fn(line);
    }
  });
  child.stdout.on('error', () => {});
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  const redisPids = (): number[] => {
    if (!existsSync(log)) return [];
    const pids = readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('--port')).map((l) => Number(l.split(' ')[0]));
    for (const pid of pids) if (!started.includes(pid)) started.push(pid);
    return pids;
  };
  return {
    log,
    redisPids,
    onLine: (fn) => void listeners.push(fn),
    closeStdout: () => child.stdout.destroy(),
    kill: (signal) => void child.kill(signal),
    done,
  };
}

const until = async (what: () => boolean, ms: number, label: string): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error(`${label} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** The redis-servers still alive a few seconds after the bench ended (SIGKILL is asynchronous). */
async function survivors(pids: number[]): Promise<number[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const alive = pids.filter(redisAlive);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('bench command lines', () => {
  it('every bench answers --help (and -h) with its options, exit 0, starting nothing', async () => {
    const runs = [...BENCHES.map((b) => [b, '--help'] as const), ['k80', '-h'] as const].map(([b, flag]) => ({ b, run: runBench(b, [flag]) }));
    for (const { b, run } of runs) {
      const r = await run.done;
      expect(r.code, `${b}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: npm run bench:${b} -- \\[options\\]\n`));
      expect(r.stdout).toMatch(/\n {2}--json FILE +write the results JSON here \(default: bench\/results\/\w+-<timestamp>\.json\)\n/);
      expect(r.stdout).toMatch(/\n {2}-h, --help +print this help/);
      expect(r.stderr, `${b} wrote progress, so it started something`).toBe('');
      expect(existsSync(run.log), `${b} ran redis-server`).toBe(false);
    }
    const k80 = (await runs.find((x) => x.b === 'k80')!.run.done).stdout;
    for (const option of ['--seeds SPEC', '--hours H', '--service-hours H', '--throughput-jobs N', '--no-service']) expect(k80).toContain(`  ${option}`);
    expect(k80).toContain('(default: 1-5)');
  }, 60_000);

  it('an unknown option is a usage error naming it: exit 2, pointing at --help', async () => {
    const runs = BENCHES.map((b) => ({ b, run: runBench(b, ['--bogus-option', '1']) }));
    for (const { b, run } of runs) {
      const r = await run.done;
      expect(r.code, `${b}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`bench:${b}: unknown option --bogus-option; see npm run bench:${b} -- --help`);
      expect(r.stdout).toBe('');
      expect(existsSync(run.log), `${b} ran redis-server`).toBe(false);
    }
  }, 60_000);
});

describe.skipIf(REAL_REDIS === '')('a bench leaves no redis-server behind', () => {
  it('when its stdout closes mid-run (| head -1)', async () => {
    const run = runBench('k80', k80Small(1, 'k80-epipe.json'));
    let firstLine = false;
    run.onLine(() => (firstLine = true));
    // Like `head -1`, but closing only once redis-server runs: what the bench prints first comes before it.
    await until(() => firstLine && run.redisPids().length > 0, 30_000, 'a first line and a redis-server');
    run.closeStdout();
    const r = await run.done;
    const pids = run.redisPids();
    expect(await survivors(pids), `exit ${r.code} ${r.signal}; ${r.stderr}`).toEqual([]);
    expect(r.code).toBe(141);
  }, 60_000);

  for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130], ['SIGHUP', 129], ['SIGKILL', null]] as const) {
    it(`when it gets ${signal} mid-run`, async () => {
      const run = runBench('k80', k80Small(4, `k80-${signal}.json`));
      let serviceStarted = false;
      run.onLine((line) => (serviceStarted ||= line.startsWith('through the service')));
      await until(() => serviceStarted, 30_000, 'the service run');
      expect(run.redisPids()).toHaveLength(1);
      run.kill(signal);
      const r = await run.done;
      expect(await survivors(run.redisPids()), `exit ${r.code} ${r.signal}; ${r.stderr}`).toEqual([]);
      if (code === null) expect(r.signal).toBe('SIGKILL');
      else expect(r.code).toBe(code);
    }, 60_000);
  }
});
