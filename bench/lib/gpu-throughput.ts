// Why: "placements per second through the whole path" — HTTP submit, BullMQ intake, the leader's
// scheduling ticks and the Lua place script — measured on a real app on loopback with small shares, so
// the cluster has room for every job and the number says how fast the path is, not how full the GPUs are.
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/shared/config.ts';
import { createDuckDbEngine } from '../../src/query-cache/engines/duckdb-engine.ts';
import { k80Cluster } from '../../src/gpu/inventory.ts';

export interface ThroughputResult {
  jobs: number;
  submitPerS: number;
  placedPerS: number;
  wallS: number;
}

export async function measureGpuThroughput(redisUrl: string, jobs: number, concurrency = 32): Promise<ThroughputResult> {
  const config = loadConfig({ REDIS_URL: redisUrl, HOTPATH_REDIS_PREFIX: `tput${Date.now()}:`, LOG_LEVEL: 'silent', HOTPATH_GPU_EXECUTOR: 'none', HOTPATH_GPU_TICK_MS: '200' });
  const engine = await createDuckDbEngine({ demoData: false, demoOrderRowCount: 0, statementTimeoutMs: 5000 });
  const app = await buildApp(config, { engine, ownsEngine: true, defaultMetrics: false, gpuCluster: k80Cluster() });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const url = `http://127.0.0.1:${port}/v1/gpu/jobs`;
  // 10 milli and no CPU or memory: 16 devices hold 1600 such jobs at once.
  const body = JSON.stringify({ tenant: 'bench', gpuMilli: 10, cpuMilli: 0, memoryMiB: 0 });
  const t0 = performance.now();
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (sent < jobs) {
      sent++;
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const submitted = performance.now();
  const deadline = Date.now() + 120_000;
  while ((await app.gpuJobs.store.liveIds()).length < jobs) {
    if (Date.now() > deadline) throw new Error('throughput: not every job was placed within 120 s');
    await new Promise((r) => setTimeout(r, 5));
  }
  const done = performance.now();
  await app.close();
  return { jobs, submitPerS: jobs / ((submitted - t0) / 1000), placedPerS: jobs / ((done - t0) / 1000), wallS: (done - t0) / 1000 };
}
