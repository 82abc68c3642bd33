// Why: live jobs with hand-chosen devices (so victims and free devices are known exactly) for the
// preemption and pass tables.
import type { PlacementRequest } from '../../../src/gpu/placement/model.ts';
import type { LiveJob, PendingJob } from '../../../src/gpu/scheduling/pass.ts';

export interface JobOpts {
  tenant?: string;
  priority?: number;
  cpuMilli?: number;
  startedAtMs?: number;
  preemptible?: boolean;
}

/** A live job holding whole devices `gpuIndices` of `nodeName` exclusively. */
export function liveWhole(id: string, nodeName: string, gpuIndices: number[], opts: JobOpts = {}): LiveJob {
  const cpuMilli = opts.cpuMilli ?? 1000;
  const request: PlacementRequest = { id, tenant: opts.tenant ?? 't', priority: opts.priority ?? 0, cpuMilli, memoryMiB: 1024, gpus: gpuIndices.length };
  return {
    id,
    request,
    placement: {
      requestId: id,
      node: nodeName,
      cpuMilli,
      memoryMiB: 1024,
      devices: gpuIndices.map((gpuIndex) => ({ gpuIndex, milli: 1000, memoryMiB: 0 })),
      exclusive: true,
    },
    startedAtMs: opts.startedAtMs ?? 0,
    ...(opts.preemptible === undefined ? {} : { preemptible: opts.preemptible }),
  };
}

/** A pending job wanting `gpus` whole devices. */
export function pendingWhole(id: string, gpus: number, queuedAtMs: number, opts: JobOpts = {}): PendingJob {
  return {
    id,
    queuedAtMs,
    request: { id, tenant: opts.tenant ?? 't', priority: opts.priority ?? 0, cpuMilli: opts.cpuMilli ?? 1000, memoryMiB: 1024, gpus },
  };
}
