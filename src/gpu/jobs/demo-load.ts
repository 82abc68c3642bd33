// Why: HOTPATH_GPU_DEMO_LOAD=true turns the embedded cluster into a busy one for dashboards and demos:
// a steady stream of simulated jobs from three tenants (training on whole K80 devices, inference on
// shares, now and then a high-priority job), each with a duration so the simulated executor runs it.
import type { Principal } from '../../shared/auth.ts';
import type { GpuJobService, SubmitBody } from './service.ts';

const MIX: readonly { weight: number; body: Omit<SubmitBody, 'durationSeconds'>; seconds: [number, number] }[] = [
  { weight: 0.35, body: { tenant: 'ml', priority: 0, gpus: 1, cpuMilli: 4000, memoryMiB: 32000 }, seconds: [60, 240] },
  { weight: 0.15, body: { tenant: 'ml', priority: 0, gpus: 2, cpuMilli: 8000, memoryMiB: 64000 }, seconds: [90, 300] },
  { weight: 0.2, body: { tenant: 'serve', priority: 1, gpuMilli: 250, gpuMemoryMiB: 2860, cpuMilli: 1000, memoryMiB: 4000 }, seconds: [30, 120] },
  { weight: 0.22, body: { tenant: 'serve', priority: 1, gpuMilli: 500, gpuMemoryMiB: 5720, cpuMilli: 2000, memoryMiB: 8000 }, seconds: [30, 120] },
  { weight: 0.08, body: { tenant: 'research', priority: 5, gpus: 2, cpuMilli: 8000, memoryMiB: 64000 }, seconds: [60, 180] },
];

export function startDemoLoad(service: GpuJobService, opts: { intervalMs?: number; log?: (msg: string) => void } = {}): () => void {
  const principal: Principal = { user: 'demo-load', admin: false };
  const pick = (): SubmitBody => {
    let r = Math.random();
    for (const m of MIX) {
      r -= m.weight;
      if (r <= 0) return { ...m.body, durationSeconds: m.seconds[0] + Math.random() * (m.seconds[1] - m.seconds[0]) };
    }
    const last = MIX[MIX.length - 1]!;
    return { ...last.body, durationSeconds: last.seconds[0] };
  };
  const timer = setInterval(() => {
    void service.submit(pick(), principal).catch((err: Error) => opts.log?.(`demo load: submit failed: ${err.message}`));
  }, opts.intervalMs ?? 4000);
  timer.unref();
  return () => clearInterval(timer);
}
