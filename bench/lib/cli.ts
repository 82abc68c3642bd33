// Why: what every bench script needs around its measurements, once: one option parser (--help and -h
// print the usage and exit 0 before anything starts; an unknown or malformed option is a usage error,
// exit 2), progress lines, a watchdog, a results file under bench/results/, and a safety net that stops
// what the bench started on every exit (normal end, exception, SIGINT/SIGTERM/SIGHUP, a closed stdout),
// plus an exit code that says whether the bench could run (speed numbers never fail it).

import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export class UsageError extends Error {}

// ---- options ----

interface OptionBase {
  /** One line: what the option does (the default is appended). */
  help: string;
  /** Shown for the default instead of `default`, e.g. "5 (1.5 with --quick)". */
  defaultText?: string;
}
export interface BooleanOption extends OptionBase {
  type: 'boolean';
}
export interface StringOption extends OptionBase {
  type: 'string';
  /** Value placeholder in the usage text, e.g. FILE. */
  arg?: string;
  default?: string;
  choices?: readonly string[];
}
export interface NumberOption extends OptionBase {
  type: 'number';
  arg?: string;
  default?: number;
  min: number;
  max: number;
  integer?: boolean;
}
export type BenchOption = BooleanOption | StringOption | NumberOption;
export type BenchOptions = Record<string, BenchOption>;

/** Parsed values: booleans are false when absent; a string or number without default may be undefined. */
export type OptionValues<O extends BenchOptions> = {
  [K in keyof O]: O[K] extends BooleanOption
    ? boolean
    : O[K] extends { type: 'number'; default: number }
      ? number
      : O[K] extends NumberOption
        ? number | undefined
        : O[K] extends { type: 'string'; default: string }
          ? string
          : string | undefined;
};

export interface BenchSpec<O extends BenchOptions> {
  /** `bench:k80`: the npm script, shown in messages. */
  name: string;
  /** What the bench measures, a few lines (a sentence: "Measures ..."). */
  about: string;
  options: O;
  /** Lines after the options (exit codes, what is written where). */
  notes?: string;
}

/** `--json FILE`, the same in every bench. */
export const jsonOption = (kind: string): StringOption => ({
  type: 'string',
  arg: 'FILE',
  help: 'write the results JSON here',
  defaultText: `bench/results/${kind}-<timestamp>.json`,
});

const showDefault = (o: BenchOption): string | undefined =>
  o.defaultText ?? (o.type === 'boolean' || o.default === undefined ? undefined : String(o.default));

/** Reflow text into lines of at most `width` characters. */
function wrap(text: string, width = 100): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.trim().split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}

export function usageText<O extends BenchOptions>(spec: BenchSpec<O>): string {
  const rows: [string, string][] = Object.entries(spec.options).map(([name, o]) => {
    const placeholder = o.type === 'boolean' ? '' : (o.arg ?? (o.type === 'string' && o.choices ? o.choices.join('|') : o.type === 'number' ? 'N' : 'VALUE'));
    const def = showDefault(o);
    return [`--${name}${placeholder === '' ? '' : ` ${placeholder}`}`, `${o.help}${def === undefined ? '' : ` (default: ${def})`}`];
  });
  rows.push(['-h, --help', 'print this help and exit, starting nothing']);
  const width = Math.max(...rows.map(([l]) => l.length));
  return [
    `usage: npm run ${spec.name} -- [options]`,
    '',
    wrap(spec.about),
    '',
    'options:',
    ...rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`),
    ...(spec.notes ? ['', wrap(spec.notes)] : []),
    '',
  ].join('\n');
}

/** True when argv asks for the usage text. */
export const wantsHelp = (argv: readonly string[]): boolean => argv.some((a) => a === '--help' || a === '-h');

/**
 * `--name VALUE`, `--name=VALUE`, `--flag`; anything else is a UsageError naming it. Call wantsHelp first:
 * `--help` is not an option here.
 */
export function parseOptions<O extends BenchOptions>(options: O, argv: readonly string[]): OptionValues<O> {
  const values: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(options)) values[name] = o.type === 'boolean' ? false : o.default;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (!token.startsWith('-') || token === '-' || token === '--') throw new UsageError(`unexpected argument "${token}"`);
    if (!token.startsWith('--')) throw new UsageError(`unknown option ${token}`);
    const eq = token.indexOf('=');
    const name = token.slice(2, eq < 0 ? undefined : eq);
    const o = Object.hasOwn(options, name) ? options[name] : undefined;
    if (o === undefined) throw new UsageError(`unknown option --${name}`);
    if (o.type === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      values[name] = true;
      continue;
    }
    let raw: string | undefined;
    if (eq >= 0) raw = token.slice(eq + 1);
    else {
      raw = argv[i + 1];
      if (raw === undefined || raw.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      i++;
    }
    if (o.type === 'number') {
      const n = raw.trim() === '' ? Number.NaN : Number(raw);
      const kind = o.integer === true ? 'an integer' : 'a number';
      if (!Number.isFinite(n) || n < o.min || n > o.max || (o.integer === true && !Number.isInteger(n))) {
        throw new UsageError(`--${name}: expected ${kind} from ${o.min} to ${o.max}, got "${raw}"`);
      }
      values[name] = n;
    } else {
      if (o.choices && !o.choices.includes(raw)) throw new UsageError(`--${name}: expected ${o.choices.join(' or ')}, got "${raw}"`);
      values[name] = raw;
    }
  }
  return values as OptionValues<O>;
}

/** `42-51` or `42,43,50` -> the seeds. */
export function parseSeeds(spec: string, option = 'seeds'): number[] {
  const seeds = spec.split(',').flatMap((part) => {
    const ends = part.split('-').map((x) => (x.trim() === '' ? Number.NaN : Number(x)));
    const [a, b] = [ends[0] ?? Number.NaN, ends[1]];
    if (ends.length > 2 || !Number.isInteger(a) || (b !== undefined && (!Number.isInteger(b) || b < a))) {
      throw new UsageError(`--${option}: expected seeds like 42-51 or 42,43, got "${spec}"`);
    }
    return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, k) => a + k);
  });
  if (seeds.length > 100_000) throw new UsageError(`--${option}: ${seeds.length} seeds is too many`);
  return seeds;
}

// ---- results ----

/** What the numbers were measured on. */
export const machine = () => ({ cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version, platform: process.platform, arch: process.arch });

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** `--json FILE` (relative to the working directory), else bench/results/<kind>-<timestamp>.json. */
export function resultsPath(kind: string, startedAt: Date, override?: string): string {
  if (override !== undefined && override !== '') return resolve(override);
  return resolve(RESULTS_DIR, `${kind}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
}

/** Write `data` as JSON (NaN becomes null), creating the folder. */
export function writeResults(file: string, data: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
}

// ---- processes ----

export const progress = (line: string): void => void process.stderr.write(`${line}\n`);

/** Stop a child (redis-server, a Trino JVM) politely, then firmly after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

const SIGNAL_EXIT: [NodeJS.Signals, number][] = [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]];

export interface BenchCliSpec<O extends BenchOptions> extends BenchSpec<O> {
  /** Kill whatever the bench started beyond track()ed children (worker threads, forks); runs on any exit. Must be synchronous. */
  killAll?: () => void;
  /**
   * false: leave SIGINT/SIGTERM/SIGHUP at their default (die at once). For a bench that starts no
   * process and runs long synchronous loops, during which a handler could not run.
   */
  handleSignals?: boolean;
}

/**
 * Parse the command line (--help: print the usage, exit 0; a bad option: say which, exit 2; either
 * before anything is started), then install the safety net. Returns the options and `run(main)`.
 */
export function benchCli<O extends BenchOptions>(spec: BenchCliSpec<O>) {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    process.stdout.write(usageText(spec));
    process.exit(0);
  }
  const hint = `see npm run ${spec.name} -- --help`;
  let opts: OptionValues<O>;
  try {
    opts = parseOptions(spec.options, argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${spec.name}: ${err.message}; ${hint}\n`);
    process.exit(2);
  }

  const children = new Set<ChildProcess>();
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    children.clear();
    spec.killAll?.();
  };
  // Runs on process.exit(), the end of the event loop and an uncaught exception alike.
  process.on('exit', killAll);
  const say = (text: string): void => {
    try {
      process.stderr.write(text);
    } catch {
      // stderr is gone too: nothing to tell
    }
  };
  const emergencyExit = (why: string, code: number): never => {
    say(`\n${spec.name}: ${why}; exiting\n`);
    process.exit(code);
  };
  if (spec.handleSignals !== false) {
    for (const [signal, code] of SIGNAL_EXIT) process.once(signal, () => emergencyExit(`${signal} received`, code));
  }
  // A reader that went away (`| head`): stop like a Unix tool killed by SIGPIPE (128 + 13), quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(141);
    emergencyExit(`cannot write to stdout: ${err.message}`, 1);
  });
  process.stderr.on('error', () => process.exit(141));

  const onFailure = (err: unknown): number => {
    if (err instanceof UsageError) {
      progress(`${spec.name}: ${err.message}; ${hint}`);
      return 2;
    }
    progress(`${spec.name}: cannot complete: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  };

  return {
    opts,
    emergencyExit,
    /** Kill this child (SIGKILL) on any exit of this process, should it still run. */
    track<C extends ChildProcess>(child: C): C {
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
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
