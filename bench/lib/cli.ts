// Why: what every bench script needs around its measurements, once: progress lines, a usage error,
// a watchdog, signal handling that kills what the bench started, and an exit code that says whether
// the bench could run (speed numbers never fail it).

import type { ChildProcess } from 'node:child_process';

export class UsageError extends Error {}

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
