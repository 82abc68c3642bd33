// Why: run autocannon measurements off the servers' event loop (in a worker thread or a forked process,
// see loadgen-runner.ts), each bounded in time, so a stuck run can never hang the benchmark.

import { fork, type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';

export type Placement = 'worker' | 'fork';

export interface LoadSpec {
  url: string;
  connections: number;
  durationSec: number;
  body: string;
  headers: Record<string, string>;
  /** Replace `[<id>]` in the body with a unique id per request. */
  uniqueIds?: boolean;
  /**
   * Send these bodies round-robin instead of `body`: one counter shared by all connections, so every
   * body is sent once before any is sent again, however many connections (distinct-query runs).
   */
  bodies?: string[];
  /** Index in `bodies` of the first body sent (a run that goes on with the previous run's cycle); default 0. */
  bodiesOffset?: number;
  /** Stop after this many requests (a fill: each of `bodies` once); durationSec then only bounds the run. */
  amount?: number;
}

export interface LoadResult {
  durationSec: number;
  /** Responses received (any status). */
  requests: number;
  /** Requests written (some may still have been in flight when the run stopped). */
  sent: number;
  reqPerSec: number;
  /** autocannon records latency in whole milliseconds. */
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMeanMs: number;
  latencyMaxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  resets: number;
  statusCodes: Record<string, number>;
  responseBytes: number;
  /** With `bodies`: how many were taken from the list (built into requests), so the next run can go on from there. */
  bodiesTaken?: number;
}

export type RunnerReply = { ok: true; result: LoadResult } | { ok: false; error: string };

const RUNNER = new URL('./loadgen-runner.ts', import.meta.url);

export interface LoadGenerator {
  placement: Placement;
  /** One autocannon run; rejects (and stops the runner) when it fails or outlives durationSec + graceMs. */
  run(spec: LoadSpec, graceMs?: number): Promise<LoadResult>;
  close(): Promise<void>;
}

/** Runners still up, so an emergency exit can stop them. */
const live = new Set<() => void>();

export function killAllLoad(): void {
  for (const kill of live) kill();
  live.clear();
}

/** Start one runner (worker thread or forked process) that serves runs one at a time. */
export function startLoadGenerator(placement: Placement): LoadGenerator {
  let worker: Worker | undefined;
  let child: ChildProcess | undefined;
  let pending: { resolve: (r: LoadResult) => void; reject: (e: Error) => void } | undefined;
  let dead: Error | undefined;

  const kill = (): void => {
    void worker?.terminate();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  live.add(kill);
  const fail = (err: Error): void => {
    dead ??= err;
    const p = pending;
    pending = undefined;
    p?.reject(err);
  };
  const onMessage = (msg: RunnerReply): void => {
    const p = pending;
    pending = undefined;
    if (!p) return;
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(`load generator failed: ${msg.error}`));
  };
  const onExit = (code: number | null): void => fail(new Error(`load generator exited (code ${code})`));

  if (placement === 'worker') {
    worker = new Worker(RUNNER);
    worker.on('message', onMessage);
    worker.once('error', (err) => fail(err));
    worker.once('exit', onExit);
  } else {
    child = fork(RUNNER, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (m) => onMessage(m as RunnerReply));
    child.once('error', (err) => fail(err));
    child.once('exit', onExit);
  }

  return {
    placement,
    run(spec, graceMs = 30_000) {
      if (dead) return Promise.reject(dead);
      if (pending) return Promise.reject(new Error('load generator is busy: runs are sequential'));
      return new Promise<LoadResult>((resolve, reject) => {
        const timer = setTimeout(() => {
          fail(new Error(`load generator did not finish within ${spec.durationSec} s + ${graceMs} ms`));
          kill();
        }, spec.durationSec * 1000 + graceMs);
        pending = {
          resolve: (r) => (clearTimeout(timer), resolve(r)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        };
        if (worker) worker.postMessage(spec);
        else child?.send(spec);
      });
    },
    async close() {
      live.delete(kill);
      dead ??= new Error('load generator closed');
      if (worker) await worker.terminate();
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child?.once('exit', () => resolve()));
        child.disconnect();
        const timer = setTimeout(() => child?.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
