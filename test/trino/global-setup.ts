// Why: one real Trino for the whole suite (starting one takes 10-20 s and 1.5 GB), with the embedded
// engine's demo tables copied into its `demo` catalog once, so every file compares against the same
// server. Test files read its address with inject('trino').
import type { TestProject } from 'vitest/node';
import { startTrinoWithDemo, trinoSetup, type TrinoSetup } from './helpers/trino-server.ts';

/** Orders in the demo data on both sides (the test engine's size, test/helpers/app.ts). */
export const DEMO_ORDER_ROWS = 20_000;

declare module 'vitest' {
  export interface ProvidedContext {
    trino: { url: string; httpsUrl: string; caPem: string; version: string; setup: TrinoSetup };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string) => process.stderr.write(`test:trino: ${line}\n`);
  const started = Date.now();
  const s = trinoSetup();
  const trino = await startTrinoWithDemo(s, { https: true, demoOrderRows: DEMO_ORDER_ROWS, log });
  log(`Trino ${s.version} on ${trino.url} (pid ${trino.pid}, ${s.javaHome}) ready with the demo tables in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  project.provide('trino', { url: trino.url, httpsUrl: trino.httpsUrl!, caPem: trino.caPem!, version: s.version, setup: s });
  return async () => {
    await trino.stop();
    log('Trino stopped');
  };
}
