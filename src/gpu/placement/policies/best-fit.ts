// Why: the FGD paper's BestFit baseline. Node score (1 − Σ_i w_i·(free_i − req_i)/maxSpec_i)·100 over
// CPU and GPU (w = 0.5/0.5, maxSpec 128000 mCPU, 8000 mGPU), truncated to an integer as the authors'
// simulator does (so near-equal nodes tie and the seeded PRNG decides). Best-fit devices inside.
import type { Policy } from './types.ts';
import { bestFitDevices } from './devices.ts';

export const BEST_FIT_MAX_SPEC_CPU_MILLI = 128_000;
export const BEST_FIT_MAX_SPEC_GPU_MILLI = 8_000;

/** The integer score; free/request in milli, GPU as node totals. Same float order as the reference. */
export function bestFitScore(cpuFreeMilli: number, cpuReqMilli: number, gpuFreeMilli: number, gpuReqMilli: number): number {
  let s = 0;
  s += ((cpuFreeMilli - cpuReqMilli) / BEST_FIT_MAX_SPEC_CPU_MILLI) * 0.5;
  s += ((gpuFreeMilli - gpuReqMilli) / BEST_FIT_MAX_SPEC_GPU_MILLI) * 0.5;
  return Math.trunc((1 - s) * 100);
}

export function createBestFit(): Policy {
  return {
    name: 'best-fit',
    score: (state, demand, n) => {
      const devices = bestFitDevices(state, demand, n);
      if (devices === undefined) return undefined;
      const score = bestFitScore(
        state.cpuFreeMilli[n] ?? 0,
        demand.cpuMilli,
        state.nodeGpuFreeMilli[n] ?? 0,
        demand.gpuCount * demand.gpuMilliPerDevice,
      );
      return { score, devices };
    },
  };
}
