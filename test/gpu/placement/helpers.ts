// Why: tiny hand-made clusters and requests for the placement table tests.
import type { ClusterSpec, NodeSpec, PlacementRequest } from '../../../src/gpu/placement/model.ts';

export function node(name: string, cpuMilli: number, gpus: number, model = 'T4', memoryMiB = 65536, gpuMemoryMiB = 0): NodeSpec {
  return {
    name,
    cpuMilli,
    memoryMiB,
    labels: {},
    gpus: Array.from({ length: gpus }, (_, index) => ({ index, model, memoryMiB: gpuMemoryMiB, milli: 1000 })),
  };
}
export function cluster(...nodes: NodeSpec[]): ClusterSpec {
  return { nodes };
}
export function req(id: string, cpuMilli: number, extra: Partial<PlacementRequest> = {}): PlacementRequest {
  return { id, tenant: 't', priority: 0, cpuMilli, memoryMiB: 1024, ...extra };
}
