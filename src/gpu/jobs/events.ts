// Why: long-polls (GET /v1/gpu/jobs/:id?waitSeconds=N) and the scheduler's wake-ups both want "tell me
// when a job changes". One subscriber connection per replica fans the Redis channel out to local
// waiters, so a thousand waiting clients cost one Redis connection.
import type { Redis } from 'ioredis';

export interface JobEvent {
  id: string;
  state: string;
}

export class JobEvents {
  private readonly sub: Redis;
  private readonly channel: string;
  private readonly waiters = new Map<string, Set<(e: JobEvent) => void>>();
  private readonly listeners = new Set<(e: JobEvent) => void>();

  constructor(sub: Redis, channel: string) {
    this.sub = sub;
    this.channel = channel;
    sub.on('message', (ch: string, message: string) => {
      if (ch !== channel) return;
      let e: JobEvent;
      try {
        e = JSON.parse(message) as JobEvent;
      } catch {
        return;
      }
      for (const l of this.listeners) l(e);
      const set = this.waiters.get(e.id);
      if (set !== undefined) for (const w of [...set]) w(e);
    });
    // (Re)subscribe whenever the connection comes (back) up.
    sub.on('ready', () => void sub.subscribe(channel).catch(() => {}));
    if (sub.status === 'ready') void sub.subscribe(channel).catch(() => {});
  }

  /** Every event (the scheduler uses this to wake up). */
  onEvent(listener: (e: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the next event for `id`, or undefined after `timeoutMs` or when `signal` aborts. */
  next(id: string, timeoutMs: number, signal?: AbortSignal): Promise<JobEvent | undefined> {
    return new Promise((resolve) => {
      let set = this.waiters.get(id);
      if (set === undefined) this.waiters.set(id, (set = new Set()));
      const done = (e: JobEvent | undefined): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        set.delete(waiter);
        if (set.size === 0) this.waiters.delete(id);
        resolve(e);
      };
      const waiter = (e: JobEvent): void => done(e);
      const onAbort = (): void => done(undefined);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      set.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  get waiting(): number {
    let n = 0;
    for (const s of this.waiters.values()) n += s.size;
    return n;
  }

  close(): void {
    this.sub.disconnect();
  }
}
