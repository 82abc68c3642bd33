// Why: fastify gives every request a child logger (`request.log`, bound to its request id) before any
// hook runs; pino builds one per call (a new object, its bindings serialised, its formatters rebuilt,
// because fastify passes options). A cache hit logs nothing, so that work is thrown away on the hot
// path. This factory hands out a stand-in that makes the real child only when a line is written at an
// enabled level (or someone asks for a child of it): the line then carries the same bindings as before.
import type { FastifyBaseLogger } from 'fastify';

type LevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type Bindings = Record<string, unknown>;
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];

/** A request's logger, made real on first use. */
class DeferredChild {
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #options: ChildOptions;
  #real: FastifyBaseLogger | undefined;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  #child(): FastifyBaseLogger {
    return (this.#real ??= this.#parent.child(this.#bindings, this.#options));
  }

  get level(): string {
    return (this.#real ?? this.#parent).level;
  }

  set level(level: string) {
    this.#child().level = level;
  }

  #write(level: LevelName, args: unknown[]): void {
    // The level is the parent's until this request's logger got one of its own.
    if (this.#real === undefined && !this.#enabled(level)) return;
    (this.#child()[level] as (...a: unknown[]) => void)(...args);
  }

  #enabled(level: LevelName): boolean {
    const p = this.#parent as FastifyBaseLogger & { isLevelEnabled?: (l: string) => boolean };
    return p.isLevelEnabled === undefined || p.isLevelEnabled(level);
  }

  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#write('error', args);
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }
  info(...args: unknown[]): void {
    this.#write('info', args);
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.#child().child(bindings, options);
  }

  isLevelEnabled(level: string): boolean {
    const real = this.#real as (FastifyBaseLogger & { isLevelEnabled?: (l: string) => boolean }) | undefined;
    return real?.isLevelEnabled !== undefined ? real.isLevelEnabled(level) : this.#enabled(level as LevelName);
  }
}

/** fastify's `childLoggerFactory`: a deferred child per request. */
export function deferredChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildOptions): FastifyBaseLogger {
  return new DeferredChild(logger, bindings, options) as unknown as FastifyBaseLogger;
}
