// Why: what every bench script needs around its measurements, once: progress lines, a usage error,
// a watchdog, signal handling that kills what the bench started, and an exit code that says whether
// the bench could run (speed numbers never fail it).

import type { ChildProcess } from 'node:child_process';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

/** `node:util` parseArgs whose complaints (unknown flag, missing value) are usage errors. */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A numeric flag's value (fallback when absent), or a usage error naming the flag and its range. */
export function numberFlag(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name}: expected a number from ${min} to ${max}, got "${raw}"`);
  return n;
}

export const progress = (line: string): void => void process.stderr.write(`${line}\n`);

/** Stop a child (redis-server) politely, then firmly after 3 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

export interface BenchCli {
  /** `bench:query`, shown in messages. */
  name: string;
  usage: string;
  /** Kill whatever the bench started; runs on any exit, also abnormal ones. Must be synchronous. */
  killAll: () => void;
}

/** Install the safety net; returns `emergencyExit` and `run(main)`. */
export function benchCli(cli: BenchCli) {
  process.on('exit', () => cli.killAll());
  const emergencyExit = (why: string, code: number): never => {
    process.stderr.write(`\n${cli.name}: ${why}; exiting\n`);
    process.exit(code);
  };
  process.once('SIGINT', () => emergencyExit('interrupted', 130));
  process.once('SIGTERM', () => emergencyExit('terminated', 143));

  const onFailure = (err: unknown): number => {
    if (err instanceof UsageError) {
      progress(`${cli.name}: ${err.message}\nusage: ${cli.usage}`);
      return 2;
    }
    progress(`${cli.name}: cannot complete: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  };

  return {
    emergencyExit,
    /** Arm a watchdog of at least 10 minutes (or twice the planned seconds). */
    watchdog(plannedSec: number): void {
      const watchdogMs = Math.max(10 * 60_000, 2 * plannedSec * 1000);
      setTimeout(() => emergencyExit(`watchdog: still running after ${watchdogMs / 1000} s`, 124), watchdogMs).unref();
    },
    run(main: () => Promise<number>): void {
      void main()
        .catch(onFailure)
        .then((code) => {
          process.exitCode = code;
          // Everything is closed by now; should a stray handle keep the loop alive, do not wait for it.
          setTimeout(() => emergencyExit('a handle stayed open after clean-up', code), 5000).unref();
        });
    },
  };
}

/** Value of `--name VALUE` on the command line, or the fallback. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** `42-51` or `42,43,50` -> the seeds. */
export function parseSeeds(spec: string): number[] {
  return spec.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    if (!Number.isInteger(a) || (b !== undefined && !Number.isInteger(b))) throw new UsageError(`expected --seeds like 42-51 or 42,43, got ${spec}`);
    return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, k) => a + k);
  });
}

export const mean = (xs: readonly number[]): number => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);

/** Sample standard deviation. */
export const sd = (xs: readonly number[]): number => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, xs.length - 1));
};

/** Paired comparison of b against a over the same seeds: mean of (b − a), its standard error, and how often b < a. */
export function pairedDelta(a: readonly number[], b: readonly number[]): { mean: number; se: number; lower: number; n: number } {
  const d = a.map((x, i) => (b[i] ?? Number.NaN) - x);
  return { mean: mean(d), se: d.length > 1 ? sd(d) / Math.sqrt(d.length) : Number.NaN, lower: d.filter((x) => x < 0).length, n: d.length };
}
