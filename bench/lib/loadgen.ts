// Why: run one autocannon measurement off the servers' event loop (worker thread or forked process, see
// loadgen-runner.ts), bounded in time, so a stuck run can never hang the benchmark.

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
}

export interface LoadResult {
  durationSec: number;
  /** Responses received (any status). */
  requests: number;
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
}

export type RunnerReply = { ok: true; result: LoadResult } | { ok: false; error: string };

const RUNNER = new URL('./loadgen-runner.ts', import.meta.url);

/** Live runners, so an emergency exit can stop them (see killAllLoad). */
const live = new Set<{ kill(): void }>();

export function killAllLoad(): void {
  for (const r of live) r.kill();
  live.clear();
}

/** One autocannon run; rejects when the runner fails or outlives durationSec + graceMs. */
export function runLoad(spec: LoadSpec, placement: Placement, graceMs = 30_000): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let worker: Worker | undefined;
    let child: ChildProcess | undefined;
    const handle = {
      kill: () => {
        void worker?.terminate();
        if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      },
    };
    live.add(handle);
    const finish = (err: Error | undefined, result?: LoadResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      live.delete(handle);
      if (err) {
        handle.kill();
        reject(err);
      } else {
        resolve(result!);
      }
    };
    const onMessage = (msg: RunnerReply): void => {
      if (msg.ok) finish(undefined, msg.result);
      else finish(new Error(`load generator failed: ${msg.error}`));
    };
    const onExit = (code: number | null): void => finish(new Error(`load generator exited (code ${code}) before reporting`));
    const timer = setTimeout(
      () => finish(new Error(`load generator did not finish within ${spec.durationSec} s + ${graceMs} ms`)),
      spec.durationSec * 1000 + graceMs,
    );

    if (placement === 'worker') {
      worker = new Worker(RUNNER, { workerData: spec });
      worker.once('message', onMessage);
      worker.once('error', (err) => finish(err));
      worker.once('exit', onExit);
    } else {
      child = fork(RUNNER, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.once('message', (m) => onMessage(m as RunnerReply));
      child.once('error', (err) => finish(err));
      child.once('exit', onExit);
      child.send(spec);
    }
  });
}
