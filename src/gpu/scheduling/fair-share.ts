// Why: tenants share the cluster by dominant-resource fairness (Ghodsi et al., NSDI '11): a tenant's
// share is its largest fraction of any one resource (GPU, CPU, memory), so a CPU-heavy tenant cannot
// look "small" by holding no GPUs. The pass serves the tenant of lowest share first. Pure.
import type { ClusterSpec, PlacementRequest } from '../placement/model.ts';
import { demandOf } from '../placement/demand.ts';

export interface ResourceUsage {
  gpuMilli: number;
  cpuMilli: number;
  memoryMiB: number;
}

export const zeroUsage = (): ResourceUsage => ({ gpuMilli: 0, cpuMilli: 0, memoryMiB: 0 });

/** What one request holds: whole devices 1000 milli each, a share its milli (≥ 1000 counts as one device). */
export function usageOfRequest(request: PlacementRequest): ResourceUsage {
  const d = demandOf(request);
  return { gpuMilli: d.gpuCount * d.gpuMilliPerDevice, cpuMilli: d.cpuMilli, memoryMiB: d.memoryMiB };
}

/** Per tenant, the sum of what its live jobs hold. Tenants without live jobs are absent. */
export function tenantUsage(live: readonly { request: PlacementRequest }[]): Map<string, ResourceUsage> {
  const out = new Map<string, ResourceUsage>();
  for (const job of live) addUsage(out, job.request.tenant, usageOfRequest(job.request), 1);
  return out;
}

/** Adds (sign 1) or removes (sign −1) `u` to the tenant's entry, creating it when absent. */
export function addUsage(usage: Map<string, ResourceUsage>, tenant: string, u: ResourceUsage, sign: 1 | -1): void {
  const acc = usage.get(tenant) ?? zeroUsage();
  acc.gpuMilli += sign * u.gpuMilli;
  acc.cpuMilli += sign * u.cpuMilli;
  acc.memoryMiB += sign * u.memoryMiB;
  usage.set(tenant, acc);
}

/** The cluster's capacity in the same three resources. */
export function clusterTotals(spec: ClusterSpec): ResourceUsage {
  const t = zeroUsage();
  for (const node of spec.nodes) {
    t.cpuMilli += node.cpuMilli;
    t.memoryMiB += node.memoryMiB;
    for (const gpu of node.gpus) t.gpuMilli += gpu.milli;
  }
  return t;
}

/**
 * max(gpu used/total, cpu used/total, memory used/total) / weight. A resource the cluster has none of
 * (total 0, e.g. a CPU-only cluster's GPUs) is left out rather than dividing by zero. weight > 0.
 */
export function dominantShare(usage: ResourceUsage | undefined, totals: ResourceUsage, weight = 1): number {
  if (!(weight > 0) || !Number.isFinite(weight)) throw new Error(`dominantShare: weight must be a finite number > 0, got ${weight}`);
  if (usage === undefined) return 0;
  let share = 0;
  if (totals.gpuMilli > 0) share = Math.max(share, usage.gpuMilli / totals.gpuMilli);
  if (totals.cpuMilli > 0) share = Math.max(share, usage.cpuMilli / totals.cpuMilli);
  if (totals.memoryMiB > 0) share = Math.max(share, usage.memoryMiB / totals.memoryMiB);
  return share / weight;
}
