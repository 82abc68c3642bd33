// Why: the placement invariants of DESIGN.md, checked from first principles (re-summing allocations,
// not trusting the incremental bookkeeping): no device over-committed in milli or memory, whole-GPU
// allocations exclusive, every allocation belongs to a live request, node CPU/memory not
// over-committed, and (given a ClusterState) that the bookkeeping matches the re-summed truth.
import type { ClusterSpec, Placement } from './model.ts';
import type { ClusterState } from './state.ts';

export interface Violation {
  kind: 'device-milli' | 'device-memory' | 'exclusive' | 'orphan' | 'node-cpu' | 'node-memory' | 'unknown-target' | 'bookkeeping';
  message: string;
}

export function checkInvariants(
  spec: ClusterSpec,
  placements: readonly Placement[],
  liveRequestIds?: ReadonlySet<string>,
): Violation[] {
  const out: Violation[] = [];
  const nodes = new Map(spec.nodes.map((node) => [node.name, node]));
  const cpu = new Map<string, number>();
  const mem = new Map<string, number>();
  const dev = new Map<string, { milli: number; memoryMiB: number; holders: string[]; exclusiveBy: string[] }>();
  for (const p of placements) {
    if (liveRequestIds !== undefined && !liveRequestIds.has(p.requestId)) {
      out.push({ kind: 'orphan', message: `allocation of ${p.requestId} on ${p.node} belongs to no live request` });
    }
    const node = nodes.get(p.node);
    if (node === undefined) {
      out.push({ kind: 'unknown-target', message: `${p.requestId}: unknown node ${p.node}` });
      continue;
    }
    cpu.set(p.node, (cpu.get(p.node) ?? 0) + p.cpuMilli);
    mem.set(p.node, (mem.get(p.node) ?? 0) + p.memoryMiB);
    for (const d of p.devices) {
      if (node.gpus[d.gpuIndex] === undefined) {
        out.push({ kind: 'unknown-target', message: `${p.requestId}: no gpu ${d.gpuIndex} on ${p.node}` });
        continue;
      }
      const key = `${p.node}#${d.gpuIndex}`;
      const acc = dev.get(key) ?? { milli: 0, memoryMiB: 0, holders: [], exclusiveBy: [] };
      acc.milli += d.milli;
      acc.memoryMiB += d.memoryMiB;
      acc.holders.push(p.requestId);
      if (p.exclusive === true) acc.exclusiveBy.push(p.requestId);
      dev.set(key, acc);
    }
  }
  for (const node of spec.nodes) {
    const c = cpu.get(node.name) ?? 0;
    if (c > node.cpuMilli) out.push({ kind: 'node-cpu', message: `${node.name}: cpu ${c}m allocated of ${node.cpuMilli}m` });
    const m = mem.get(node.name) ?? 0;
    if (m > node.memoryMiB) out.push({ kind: 'node-memory', message: `${node.name}: memory ${m}MiB allocated of ${node.memoryMiB}MiB` });
  }
  for (const [key, acc] of dev) {
    const [name, idx] = key.split('#') as [string, string];
    const gpu = nodes.get(name)?.gpus[Number(idx)];
    if (gpu === undefined) continue;
    if (acc.milli > gpu.milli) out.push({ kind: 'device-milli', message: `${key}: ${acc.milli}m allocated of ${gpu.milli}m` });
    if (acc.memoryMiB > gpu.memoryMiB) {
      out.push({ kind: 'device-memory', message: `${key}: ${acc.memoryMiB}MiB allocated of ${gpu.memoryMiB}MiB` });
    }
    if (acc.exclusiveBy.length > 0 && acc.holders.length > 1) {
      out.push({ kind: 'exclusive', message: `${key}: held whole by ${acc.exclusiveBy.join(',')} but shared by ${acc.holders.join(',')}` });
    }
  }
  return out;
}

/** checkInvariants over the state's placements, plus: its free counters equal capacity − allocations. */
export function checkState(state: ClusterState, liveRequestIds?: ReadonlySet<string>): Violation[] {
  const placements = state.placements();
  const out = checkInvariants(state.spec, placements, liveRequestIds);
  const fresh = new Map<string, Placement[]>();
  for (const p of placements) fresh.set(p.node, [...(fresh.get(p.node) ?? []), p]);
  state.spec.nodes.forEach((node, n) => {
    const ps = fresh.get(node.name) ?? [];
    const cpu = node.cpuMilli - ps.reduce((a, p) => a + p.cpuMilli, 0);
    if (cpu !== state.cpuFreeMilli[n]) out.push({ kind: 'bookkeeping', message: `${node.name}: cpu free ${state.cpuFreeMilli[n]} != ${cpu}` });
    const mem = node.memoryMiB - ps.reduce((a, p) => a + p.memoryMiB, 0);
    if (mem !== state.memoryFreeMiB[n]) out.push({ kind: 'bookkeeping', message: `${node.name}: memory free ${state.memoryFreeMiB[n]} != ${mem}` });
    node.gpus.forEach((gpu, g) => {
      const used = ps.reduce((a, p) => a + p.devices.filter((d) => d.gpuIndex === g).reduce((b, d) => b + d.milli, 0), 0);
      const free = state.freeMilli(n, g);
      if (gpu.milli - used !== free) out.push({ kind: 'bookkeeping', message: `${node.name}#${g}: milli free ${free} != ${gpu.milli - used}` });
    });
  });
  return out;
}
