// Why: deploy/examples/ray_gpu_job.py is the Ray driver teams copy, and its worst bugs only showed
// against a real Ray: ray.init replaced its SIGTERM handler (a stopped pod never cancelled its job,
// which held its GPUs until the lease ran out and was then placed again with nobody to run it);
// ray.init retried for minutes against an address nobody listened on while heartbeats kept the job
// running; and the first heartbeat marked the job running before Ray was even reached. This runs the
// script with a real Ray (the venv of scripts/ray-venv.sh; a private head node with fake GPUs) against
// a real hotpath app, and checks what its user sees through hotpath's API.
//
// Without python3, pip or ray it skips, saying why; with CI=1 (or true) or HOTPATH_REQUIRE_RAY=1 it fails.
// HOTPATH_RAY_EXAMPLE=<path> runs another copy of the script (e.g. an older one, to see these fail).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, testClock, useGpuApps, type GpuApp } from '../gpu/jobs/helpers.ts';
import { freePort } from '../helpers/redis.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const script = process.env['HOTPATH_RAY_EXAMPLE'] ?? join(repo, 'deploy/examples/ray_gpu_job.py');
const required = ['1', 'true'].includes(process.env['CI'] ?? '') || process.env['HOTPATH_REQUIRE_RAY'] === '1';
const USER = 'alice'; // GpuApp.call sends X-Trino-User: alice too, so the test reads the script's jobs as their owner
/** The script's default --ray-connect-timeout-seconds (the unreachable case relies on it). */
const CONNECT_TIMEOUT_MS = 15_000;

// Ray processes get these (and so do the script and its workers): no usage stats, no network.
const rayEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, RAY_USAGE_STATS_ENABLED: '0', RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER: '0', PYTHONUNBUFFERED: '1' };
  delete env['RAY_ADDRESS'];
  return env;
};
const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rayVenv(): Promise<{ python: string } | { why: string }> {
  return new Promise((done) => {
    execFile('sh', [join(repo, 'scripts/ray-venv.sh')], { timeout: 15 * 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const python = stdout.trim().split('\n').pop() ?? '';
      if (err !== null || python === '') done({ why: `scripts/ray-venv.sh failed (${err?.message.split('\n')[0] ?? 'no python printed'}): ${stderr.trim().split('\n').slice(-4).join(' | ')}` });
      else done({ python });
    });
  });
}

/** Processes of our Ray head: in its process group, or naming its temp dir or GCS port (Linux: /proc). */
function rayProcesses(pgid: number, tempDir: string, gcsPort: number): number[] {
  if (!existsSync('/proc')) return [];
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // state ppid pgrp ...
      if (fields[0] === 'Z') continue; // a zombie is gone already, only not reaped yet
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (Number(fields[2]) === pgid || cmd.includes(tempDir) || cmd.includes(`127.0.0.1:${gcsPort}`) || cmd.includes(`port=${gcsPort}`)) out.push(pid);
    } catch {
      // it exited while we looked
    }
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !(existsSync(`/proc/${pid}/stat`) && /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')));
  } catch {
    return false;
  }
};

interface RayHead {
  address: string;
  /** Stops the head and says which of its processes were still running afterwards (none, or a bug). */
  stop(): Promise<number[]>;
}

// Runs `ray start --head --block` in a session of its own and stops it when its stdin closes: when the
// test closes it, or when the test process dies (even SIGKILLed), so the head never outlives the test.
// SIGTERM to `ray start --block` alone drains the node and stops its processes in order in about 2 s
// (SIGTERM to the whole group at once leaves gcs_server and raylet hanging); whatever of the group is
// left 15 s later is SIGKILLed, and its temp dir removed. Not `ray stop`, which stops every Ray on the machine.
const RAY_HEAD_GUARD = `
import os, shutil, signal, subprocess, sys
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
temp_dir, command = sys.argv[1], sys.argv[2:]
ray = subprocess.Popen(command, start_new_session=True)
print("RAY_PGID", ray.pid, flush=True)
try:
    sys.stdin.read()
finally:
    ray.send_signal(signal.SIGTERM)
    try:
        ray.wait(15)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(ray.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    shutil.rmtree(temp_dir, ignore_errors=True)
`;

/**
 * A private single-node Ray on free ports, with 4 fake GPUs and the custom resource that tells the
 * script it is hotpath's node k80-0 (see RAY_HEAD_GUARD for how it is stopped).
 */
async function startRayHead(python: string): Promise<RayHead> {
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freePort());
  const [gcs, dashboard, agent] = [...ports] as [number, number, number];
  const tempDir = mkdtempSync(join(tmpdir(), 'hotpath-ray-'));
  const args = [
    'start', '--head', '--block', `--port=${gcs}`, '--node-ip-address=127.0.0.1',
    `--dashboard-port=${dashboard}`, `--dashboard-agent-listen-port=${agent}`,
    '--include-dashboard=false', '--disable-usage-stats', '--num-cpus=2', '--num-gpus=4',
    `--resources=${JSON.stringify({ 'hotpath-node/k80-0': 1 })}`, `--temp-dir=${tempDir}`, '--object-store-memory=100000000',
  ];
  // detached: a signal to the test's process group (Ctrl-C, a CI timeout) reaches the guard only as EOF.
  const guard = spawn(python, ['-c', RAY_HEAD_GUARD, tempDir, join(dirname(python), 'ray'), ...args], { env: rayEnv(), detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  guard.stdout!.on('data', (c: Buffer) => void (out += c.toString()));
  guard.stderr!.on('data', (c: Buffer) => void (out += c.toString()));
  const exited = new Promise<void>((r) => guard.once('exit', () => r()));
  const pgid = () => Number(/RAY_PGID (\d+)/.exec(out)?.[1] ?? -1);
  const stop = async (): Promise<number[]> => {
    guard.stdin!.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((done) => (timer = setTimeout(done, 25_000)))]);
    clearTimeout(timer);
    let left = rayProcesses(pgid(), tempDir, gcs);
    for (let i = 0; i < 10 && left.length > 0; i++) {
      await sleep(200); // SIGKILLed a moment ago, perhaps
      left = rayProcesses(pgid(), tempDir, gcs);
    }
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    rmSync(tempDir, { recursive: true, force: true });
    return left;
  };
  try {
    await eventually(async () => /Ray runtime started/.test(out) || guard.exitCode !== null, 'ray start --head', 60_000);
    if (guard.exitCode !== null || pgid() < 0) throw new Error(`ray start exited:\n${out}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address: `127.0.0.1:${gcs}`, stop };
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  atMs: number;
}
interface ExampleRun {
  proc: ChildProcess;
  startedMs: number;
  output(): string;
  exited: Promise<Exit>;
  /** The job id, from "submitted job …". */
  jobId(): Promise<string>;
}

describe('deploy/examples/ray_gpu_job.py against a real Ray', () => {
  let python: string | undefined;
  let why = '';
  let head: RayHead | undefined;
  const running: ChildProcess[] = [];

  beforeAll(async () => {
    const venv = await rayVenv();
    if ('why' in venv) {
      if (required) throw new Error(`Ray is required here (CI or HOTPATH_REQUIRE_RAY=1): ${venv.why}`);
      why = `no Ray venv: ${venv.why}`;
      console.warn(`ray-example.test.ts skipped: ${why}`);
      return;
    }
    python = venv.python;
    head = await startRayHead(python);
  }, 20 * 60_000);

  // Registered before useGpuApps, so that it runs after its afterAll (after hooks run last-registered first):
  // a failure here must not keep the test's Redis running.
  afterAll(async () => {
    if (head === undefined) return;
    const stuck = await head.stop();
    // Nothing of the head may outlive it.
    expect(stuck, 'Ray processes left after the head was stopped').toEqual([]);
  }, 40_000);

  const { app } = useGpuApps('rayex:');

  // Registered after useGpuApps: scripts still running are killed before its afterEach audits and closes the apps.
  afterEach(async () => {
    for (const p of running.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });

  function run(a: GpuApp, extra: string[]): ExampleRun {
    const args = [script, '--url', a.url, '--user', USER, '--tenant', 'ml', '--gpus', '1', '--ray-address', head!.address, ...extra];
    const startedMs = Date.now();
    const proc = spawn(python!, args, { env: rayEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    running.push(proc);
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => void (out += c.toString()));
    proc.stderr!.on('data', (c: Buffer) => void (out += c.toString()));
    const exited = new Promise<Exit>((r) => proc.once('exit', (code, signal) => r({ code, signal, atMs: Date.now() })));
    const output = () => stripAnsi(out);
    return {
      proc,
      startedMs,
      output,
      exited,
      jobId: () => eventually(async () => /submitted job (\S+)/.exec(output())?.[1], `"submitted job" in the output:\n${output()}`, 20_000),
    };
  }

  async function exitWithin(r: ExampleRun, ms: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([r.exited, new Promise<undefined>((done) => (timer = setTimeout(() => done(undefined), ms)))]);
    clearTimeout(timer);
    if (exit === undefined) throw new Error(`the script was still running after ${ms} ms:\n${r.output()}`);
    return exit;
  }

  const getJob = async (a: GpuApp, id: string) => {
    const res = await a.call('GET', `/v1/gpu/jobs/${encodeURIComponent(id)}`, undefined, { 'x-trino-user': USER });
    expect(res.status).toBe(200);
    return res.body as { state: string; placedAt?: string; startedAt?: string; reason?: string; attempt: number };
  };

  // hotpath on the real clock (testClock(Date.now())), so its timestamps compare with the Ray task's.
  const gpuApp = () => app({ HOTPATH_GPU_EXECUTOR: 'none' }, 1, testClock(Date.now()));

  it('runs a job to completion, and marks it running only once the Ray task has started', { timeout: 90_000 }, async (ctx) => {
    if (python === undefined) ctx.skip(why);
    const a = await gpuApp();
    const r = run(a, ['--duration-seconds', '2']);
    const exit = await exitWithin(r, 60_000);
    expect(exit.code, r.output()).toBe(0);
    const job = await getJob(a, await r.jobId());
    expect(job.state, r.output()).toBe('completed');
    // The task ran on Ray with a (fake) GPU it asked Ray for: Ray set CUDA_VISIBLE_DEVICES.
    expect(job.reason).toMatch(/^done on .*CUDA_VISIBLE_DEVICES=\d/);
    // startedAt (the first heartbeat) is not before the Ray task started, by the task's own clock.
    const started = /Ray task started on .* at (\S+Z)/.exec(r.output());
    expect(started?.[1], `the script says when the Ray task started:\n${r.output()}`).toBeDefined();
    expect(Date.parse(job.startedAt!)).toBeGreaterThanOrEqual(Date.parse(started![1]!));
    expect(Date.parse(job.startedAt!)).toBeGreaterThan(Date.parse(job.placedAt!));
  });

  it('SIGTERM while the Ray task runs: the job is cancelled at once, the script exits 143 and the task is gone', { timeout: 90_000 }, async (ctx) => {
    if (python === undefined) ctx.skip(why);
    const a = await gpuApp();
    const r = run(a, ['--duration-seconds', '120']);
    const id = await r.jobId();
    // The task's own output, forwarded by Ray ("(<task name> pid=N) [task] ..."), names its worker process.
    const pid = await eventually(async () => Number(/\(\S+ pid=(\d+)[^)]*\)\s*\[task\]/.exec(r.output())?.[1] ?? 0), `the Ray task's output:\n${r.output()}`, 45_000);
    await eventually(async () => (await getJob(a, id)).state === 'running', 'the job to be running');
    expect(alive(pid)).toBe(true);

    const signalledMs = Date.now();
    r.proc.kill('SIGTERM');
    const cancelled = await eventually(async () => (await getJob(a, id)).state !== 'running' && Date.now(), `the job to leave running after SIGTERM:\n${r.output()}`, 10_000).catch(() => undefined);
    const job = await getJob(a, id);
    expect(job.state, r.output()).toBe('cancelled');
    expect(cancelled! - signalledMs, 'cancelled within a few seconds of SIGTERM').toBeLessThan(5_000);
    const exit = await exitWithin(r, 10_000);
    expect(exit.code, r.output()).toBe(143);
    await eventually(async () => !alive(pid), `the Ray task's worker (pid ${pid}) to be gone`, 10_000);
    // Not re-queued and placed again later: cancelled is final, and the GPUs are free.
    const cluster = await a.call('GET', '/v1/gpu/cluster', undefined, { 'x-trino-user': USER });
    expect(cluster.body.nodes[0].gpus.every((g: { allocatedMilli: number }) => g.allocatedMilli === 0)).toBe(true);
  });

  it('a Ray address nobody listens on: the job is cancelled (never running) and the script exits 1 within the connect timeout', { timeout: 60_000 }, async (ctx) => {
    if (python === undefined) ctx.skip(why);
    const a = await gpuApp();
    const nobody = await freePort();
    const r = run(a, ['--ray-address', `127.0.0.1:${nobody}`]);
    const id = await r.jobId();
    const seen = new Set<string>();
    let done = false;
    const watching = (async () => {
      while (!done) {
        seen.add((await getJob(a, id)).state);
        await sleep(100);
      }
    })();
    try {
      const exit = await exitWithin(r, CONNECT_TIMEOUT_MS + 10_000);
      expect(exit.code, r.output()).toBe(1);
      expect(r.output()).toMatch(/could not connect to Ray/);
    } finally {
      done = true;
      await watching;
    }
    expect((await getJob(a, id)).state, r.output()).toBe('cancelled');
    expect([...seen], 'states seen while the script tried to reach Ray').not.toContain('running');
  });
});
