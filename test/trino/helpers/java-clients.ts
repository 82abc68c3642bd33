// Why: Trino's reference clients, driven from the tests: the JDBC driver through a small Java program
// (test/trino/java/JdbcProbe.java, run as a single source file by the JDK 25 launcher: no build step, one
// JVM per script) and the CLI's executable jar, each with a time limit so a hung client fails the test.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrinoSetup } from './trino-server.ts';

const PROBE = join(dirname(fileURLToPath(import.meta.url)), '..', 'java', 'JdbcProbe.java');

export interface JdbcStep {
  step: number;
  verb: string;
  columns?: { name: string; type: string; jdbcType: number }[];
  rowCount?: number;
  rows?: (string | null)[][];
  error?: { message: string; sqlState: string | null; code: number };
  resultSet?: boolean;
  updateCount?: number;
  outcome?: string;
}

function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs: number): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ stdout, stderr, code });
    });
  });
}

/** Runs a JdbcProbe script (one step per line, see the program's header) and returns one result per step. */
export async function jdbc(setup: TrinoSetup, url: string, user: string, password: string | undefined, steps: string[], timeoutMs = 120_000): Promise<JdbcStep[]> {
  const dir = mkdtempSync(join(tmpdir(), 'hotpath-jdbc-'));
  const script = join(dir, 'script.txt');
  writeFileSync(script, steps.join('\n') + '\n');
  const java = join(setup.javaHome, 'bin', 'java');
  const r = await run(java, ['-cp', setup.jdbcJar, PROBE, url, user, password ?? '-', script], {}, timeoutMs);
  if (r.code !== 0) throw new Error(`JdbcProbe exited ${r.code}: ${r.stderr.slice(-3000)}`);
  return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as JdbcStep);
}

/** The Trino CLI (`--execute`), its stdout, stderr and exit code. `password` goes in TRINO_PASSWORD. */
export async function cli(setup: TrinoSetup, args: string[], opts: { password?: string; timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  const java = join(setup.javaHome, 'bin', 'java');
  return run(java, ['--enable-native-access=ALL-UNNAMED', '-jar', setup.cliJar, ...args], opts.password !== undefined ? { TRINO_PASSWORD: opts.password } : {}, opts.timeoutMs ?? 120_000);
}

/** The CLI running `sql`, interrupted (SIGINT, what Ctrl-C sends) after `afterMs`: its exit and output. */
export async function cliInterrupted(setup: TrinoSetup, args: string[], afterMs: number): Promise<{ output: string; exit: string }> {
  const child = spawn(join(setup.javaHome, 'bin', 'java'), ['--enable-native-access=ALL-UNNAMED', '-jar', setup.cliJar, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`${code ?? ''}${signal ? `/${signal}` : ''}`)));
  const timer = setTimeout(() => child.kill('SIGINT'), afterMs);
  const killer = setTimeout(() => child.kill('SIGKILL'), afterMs + 30_000);
  const exit = await exited;
  clearTimeout(timer);
  clearTimeout(killer);
  return { output, exit };
}
