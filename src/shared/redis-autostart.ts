// Why: `npm start` should work on a fresh machine with nothing running: when nothing answers at a
// loopback REDIS_URL and `redis-server` is installed, start a private one (no persistence) and say so.

import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLoopback } from './config.ts';

/** True when something accepts TCP connections at host:port within timeoutMs. */
export function portAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface StartedRedis {
  port: number;
  process: ChildProcess;
  stop(): void;
}

/**
 * /bin/sh prefix for spawnTied: fork a watcher, close fd 3, then exec the command (so the child's pid is
 * the command's own). The watcher blocks reading fd 3, a pipe whose other end only the parent holds;
 * when the parent is gone (any death, SIGKILL included) or closes it, the read ends, and the watcher
 * SIGKILLs the command if the command is still its parent (/proc/self/stat field 4): a command that
 * already exited has handed the watcher to init, so a recycled pid is never hit. Without /proc (not
 * Linux) the watcher only exits. Background jobs of a non-interactive sh ignore SIGINT, so a Ctrl-C at
 * the terminal does not take the watcher down before the parent.
 */
const TIE_SCRIPT =
  '( read -r _ <&3; read -r s < /proc/self/stat || exit 0; set -- $s; [ "$4" = "$$" ] && kill -KILL "$$" ) </dev/null >/dev/null 2>&1 & ' +
  'exec 3<&-; exec "$@"';

export type TiedStdio = 'ignore' | 'inherit' | 'pipe';

/**
 * spawn(command, args) that dies with this process even when this process is SIGKILLed (see TIE_SCRIPT);
 * an ordinary ChildProcess otherwise (its pid is the command's once /bin/sh has exec'd it).
 */
export function spawnTied(
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptions, 'stdio'> & { stdio?: [TiedStdio, TiedStdio, TiedStdio] } = {},
): ChildProcess {
  const { stdio = ['ignore', 'ignore', 'ignore'], ...rest } = options;
  const child = spawn('/bin/sh', ['-c', TIE_SCRIPT, 'sh', command, ...args], { ...rest, stdio: [...stdio, 'pipe'] });
  const tie = child.stdio[3] as Socket | null;
  tie?.on('error', () => {});
  tie?.unref(); // the tie must not keep this process alive
  // Once the command is gone, let the watcher go too.
  child.once('exit', () => tie?.destroy());
  return child;
}

/**
 * Start `redis-server` on 127.0.0.1:port and wait until it accepts connections. `tiedToParent`: it dies
 * with this process, even when this process is SIGKILLed (spawnTied); off by default.
 */
export async function startRedisServer(
  port: number,
  opts: { timeoutMs?: number; dir?: string; appendOnly?: boolean; tiedToParent?: boolean } = {},
): Promise<StartedRedis> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'hotpath-redis-'));
  // appendOnly: every write is fsynced to an AOF in `dir`, so a restart on the same dir loses nothing.
  const persistence = opts.appendOnly === true ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir];
  const child = opts.tiedToParent === true ? spawnTied('redis-server', args) : spawn('redis-server', args, { stdio: 'ignore' });
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  while (!(await portAnswers('127.0.0.1', port, 200))) {
    if (exited) throw new Error(`redis-server exited before listening on port ${port}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not listen on port ${port} in time`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { port, process: child, stop: () => void child.kill('SIGTERM') };
}

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * When REDIS_URL points at loopback and nothing answers there, start a private redis-server on that
 * port. Returns it (so the caller can stop it at exit), or undefined when not needed or not possible.
 */
export async function ensureLocalRedis(redisUrl: string, log: (msg: string) => void): Promise<StartedRedis | undefined> {
  const url = new URL(redisUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 6379);
  if (!isLoopback(host)) return undefined;
  if (await portAnswers(host, port, 500)) return undefined;
  if (!hasRedisServer()) {
    log(`nothing answers at ${host}:${port} and redis-server is not installed: the cache stays off (bypass) until Redis is reachable`);
    return undefined;
  }
  const started = await startRedisServer(port, { tiedToParent: true }); // it goes with hotpath, even on SIGKILL
  log(`nothing answered at ${host}:${port}: started a private redis-server there (pid ${started.process.pid}, no persistence); it stops with hotpath`);
  return started;
}
