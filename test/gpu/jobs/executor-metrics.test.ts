// Why: the embedded default must show a live cluster — the simulated executor runs jobs that give a
// duration like a real worker (heartbeats, stops when preempted, completes) — and /metrics must
// describe it: per-device allocation, the ratio, queue depth by tenant/priority, waits, preemptions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../helpers/redis.ts';
import { k80Cluster } from '../../../src/gpu/inventory.ts';
import { eventually, gpuConfig, startGpuApp } from './helpers.ts';
import { startDemoLoad } from '../../../src/gpu/jobs/demo-load.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => redis.stop());

const metric = (text: string, name: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{') && l.includes(name));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('simulated executor and GPU metrics', () => {
  it('runs a job for its duration (running, then completed) and stops a preempted one', async () => {
    const a = await startGpuApp(gpuConfig(redis.url, 'ex0:', { HOTPATH_GPU_EXECUTOR: 'simulated', HOTPATH_GPU_PREEMPTION: 'true' }), k80Cluster(1));
    try {
      const short = (await a.call('POST', '/v1/gpu/jobs', { tenant: 't', gpus: 1, durationSeconds: 0.3 })).body.id;
      const done = await eventually(async () => {
        const j = (await a.call('GET', `/v1/gpu/jobs/${short}`)).body;
        return j.state === 'completed' ? j : undefined;
      }, 'completed');
      expect(done.reason).toBe('simulated run of 0.3 s');
      expect(Date.parse(done.endedAt) - Date.parse(done.startedAt)).toBeGreaterThanOrEqual(290);
      // a long low-priority job is running; a high-priority one takes its GPUs and the executor lets go
      const lows = [];
      for (let i = 0; i < 4; i++) lows.push((await a.call('POST', '/v1/gpu/jobs', { tenant: 't', gpus: 1, durationSeconds: 600 })).body.id);
      await eventually(async () => a.app.gpuJobs.executor?.running === 4, 'four running');
      const high = (await a.call('POST', '/v1/gpu/jobs', { tenant: 'u', gpus: 1, priority: 9, durationSeconds: 600 })).body.id;
      await eventually(async () => (await a.call('GET', `/v1/gpu/jobs/${high}`)).body.state === 'running', 'high running');
      await eventually(async () => a.app.gpuJobs.executor?.running === 4, 'victim stopped'); // 3 lows + high
      expect((await a.audit()).problems).toEqual([]);
    } finally {
      await a.close();
    }
  });

  it('the demo load submits a mix of tenants and sizes that the simulated executor runs', async () => {
    // The demo load submits as its own user: an admin lists its jobs.
    const a = await startGpuApp(gpuConfig(redis.url, 'ex2:', { HOTPATH_GPU_EXECUTOR: 'simulated', HOTPATH_ADMIN_USERS: 'alice' }), k80Cluster(4));
    const stop = startDemoLoad(a.app.gpuJobs.service, { intervalMs: 20 });
    try {
      const jobs = await eventually(async () => {
        const list = (await a.call('GET', '/v1/gpu/jobs?limit=500')).body.jobs as { tenant: string; state: string }[];
        return new Set(list.map((j) => j.tenant)).size >= 2 && list.some((j) => j.state === 'running') ? list : undefined;
      }, 'demo jobs running');
      expect(jobs.every((j) => ['ml', 'serve', 'research'].includes(j.tenant))).toBe(true);
    } finally {
      stop();
      expect((await a.audit()).problems).toEqual([]);
      await a.close();
    }
  });

  it('exports allocation per device, the ratio, queue depth, waits and placements', async () => {
    const a = await startGpuApp(gpuConfig(redis.url, 'ex1:'), k80Cluster(1));
    try {
      const id = (await a.call('POST', '/v1/gpu/jobs', { tenant: 'ml', gpus: 1 })).body.id;
      await eventually(async () => (await a.call('GET', `/v1/gpu/jobs/${id}`)).body.state === 'placed', 'placed');
      await a.call('POST', '/v1/gpu/jobs', { tenant: 'ml', gpus: 4, priority: 2 }); // waits: 3 free
      await eventually(async () => (await a.app.gpuJobs.store.pendingIds()).length === 1, 'queued');
      const text = await (await fetch(`${a.url}/metrics`)).text();
      expect(metric(text, 'hotpath_gpu_allocation_ratio')).toBe(0.25);
      expect(text).toContain('hotpath_gpu_device_allocated_ratio{node="k80-0",gpu="0",board="0"} 1');
      expect(text).toContain('hotpath_gpu_device_allocated_memory_bytes{node="k80-0",gpu="0",board="0"} 11996758016');
      expect(text).toContain('hotpath_gpu_device_allocated_ratio{node="k80-0",gpu="3",board="1"} 0');
      expect(text).toContain('hotpath_gpu_queue_depth{tenant="ml",priority="1-9"} 1');
      expect(metric(text, 'hotpath_gpu_scheduler_leader')).toBe(1);
      expect(metric(text, 'hotpath_gpu_placements_total')).toBeGreaterThanOrEqual(1);
      expect(text).toMatch(/hotpath_gpu_wait_seconds_count\{priority="0"\} 1/);
      expect(text).toMatch(/hotpath_gpu_schedule_attempt_seconds_count \d+/);
      expect(metric(text, 'hotpath_gpu_live_jobs')).toBe(1);
      expect(metric(text, 'hotpath_gpu_fragmentation_ratio')).toBeGreaterThanOrEqual(0);
    } finally {
      await a.close();
    }
  });
});
