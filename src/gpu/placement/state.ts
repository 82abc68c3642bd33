// Why: the placement pipeline needs "what is free where" in O(1) per node and per device, without
// re-summing allocations on every decision. ClusterState keeps that bookkeeping incrementally and is
// the only thing reserve/unreserve mutate. Pure: no I/O, no clock.
import type { ClusterSpec, Placement } from './model.ts';

export type ReserveResult = { ok: true } | { ok: false; reason: string };

export class ClusterState {
  readonly spec: ClusterSpec;
  readonly nodeCount: number;
  readonly nodeIndexByName: Map<string, number>;
  /** Per node: the GPU model of its devices ('' when it has none). */
  readonly nodeModel: string[];
  readonly cpuFreeMilli: Float64Array;
  readonly memoryFreeMiB: Float64Array;
  /** Per node: offset of its first device in the flat device arrays, and its device count. */
  readonly gpuOffset: Int32Array;
  readonly gpuCount: Int32Array;
  readonly gpuFreeMilli: Float64Array;
  readonly gpuFreeMemoryMiB: Float64Array;
  readonly gpuCapacityMemoryMiB: Float64Array;
  /** Per device: number of allocations touching it, and whether one holds it exclusively. */
  readonly gpuHolders: Int32Array;
  readonly gpuExclusive: Uint8Array;
  /** Per node: total free GPU milli (sum over its devices). */
  readonly nodeGpuFreeMilli: Float64Array;
  /** Per node: bumped on every change; lets scorers cache per node. */
  readonly nodeVersion: Uint32Array;
  readonly totalGpuMilli: number;
  private readonly allocations = new Map<string, { nodeIndex: number; placement: Placement }>();
  private allocatedGpuMilliTotal = 0;

  constructor(spec: ClusterSpec) {
    this.spec = spec;
    const n = spec.nodes.length;
    this.nodeCount = n;
    this.nodeIndexByName = new Map();
    this.nodeModel = [];
    this.cpuFreeMilli = new Float64Array(n);
    this.memoryFreeMiB = new Float64Array(n);
    this.gpuOffset = new Int32Array(n);
    this.gpuCount = new Int32Array(n);
    this.nodeGpuFreeMilli = new Float64Array(n);
    this.nodeVersion = new Uint32Array(n);
    let devices = 0;
    spec.nodes.forEach((node, i) => {
      if (this.nodeIndexByName.has(node.name)) throw new Error(`duplicate node name ${node.name}`);
      this.nodeIndexByName.set(node.name, i);
      this.nodeModel.push(node.gpus[0]?.model ?? '');
      this.cpuFreeMilli[i] = node.cpuMilli;
      this.memoryFreeMiB[i] = node.memoryMiB;
      this.gpuOffset[i] = devices;
      this.gpuCount[i] = node.gpus.length;
      devices += node.gpus.length;
    });
    this.gpuFreeMilli = new Float64Array(devices);
    this.gpuFreeMemoryMiB = new Float64Array(devices);
    this.gpuCapacityMemoryMiB = new Float64Array(devices);
    this.gpuHolders = new Int32Array(devices);
    this.gpuExclusive = new Uint8Array(devices);
    let total = 0;
    spec.nodes.forEach((node, i) => {
      const off = this.gpuOffset[i] ?? 0;
      let nodeMilli = 0;
      node.gpus.forEach((gpu, g) => {
        this.gpuFreeMilli[off + g] = gpu.milli;
        this.gpuFreeMemoryMiB[off + g] = gpu.memoryMiB;
        this.gpuCapacityMemoryMiB[off + g] = gpu.memoryMiB;
        nodeMilli += gpu.milli;
      });
      this.nodeGpuFreeMilli[i] = nodeMilli;
      total += nodeMilli;
    });
    this.totalGpuMilli = total;
  }

  get allocatedGpuMilli(): number {
    return this.allocatedGpuMilliTotal;
  }

  has(requestId: string): boolean {
    return this.allocations.has(requestId);
  }

  placements(): Placement[] {
    return [...this.allocations.values()].map((a) => a.placement);
  }

  /** Free milli of device g on node n. */
  freeMilli(nodeIndex: number, gpuIndex: number): number {
    return this.gpuFreeMilli[(this.gpuOffset[nodeIndex] ?? 0) + gpuIndex] ?? 0;
  }


  /**
   * An independent copy (same spec object, copied counters and allocations): what-if work such as
   * preemption planning mutates the copy, never the original. O(nodes + devices + allocations).
   */
  clone(): ClusterState {
    const c = new ClusterState(this.spec);
    c.cpuFreeMilli.set(this.cpuFreeMilli);
    c.memoryFreeMiB.set(this.memoryFreeMiB);
    c.gpuFreeMilli.set(this.gpuFreeMilli);
    c.gpuFreeMemoryMiB.set(this.gpuFreeMemoryMiB);
    c.gpuHolders.set(this.gpuHolders);
    c.gpuExclusive.set(this.gpuExclusive);
    c.nodeGpuFreeMilli.set(this.nodeGpuFreeMilli);
    c.nodeVersion.set(this.nodeVersion);
    for (const [id, a] of this.allocations) c.allocations.set(id, a);
    c.allocatedGpuMilliTotal = this.allocatedGpuMilliTotal;
    return c;
  }

  /** Records a placement; refuses (as a value) a duplicate id or anything that would over-commit. */
  reserve(placement: Placement): ReserveResult {
    if (this.allocations.has(placement.requestId)) {
      return { ok: false, reason: `request ${placement.requestId} is already reserved` };
    }
    const n = this.nodeIndexByName.get(placement.node);
    if (n === undefined) return { ok: false, reason: `unknown node ${placement.node}` };
    if ((this.cpuFreeMilli[n] ?? 0) < placement.cpuMilli) {
      return { ok: false, reason: `cpu: need ${placement.cpuMilli}m, free ${this.cpuFreeMilli[n]}m` };
    }
    if ((this.memoryFreeMiB[n] ?? 0) < placement.memoryMiB) {
      return { ok: false, reason: `memory: need ${placement.memoryMiB}MiB, free ${this.memoryFreeMiB[n]}MiB` };
    }
    const off = this.gpuOffset[n] ?? 0;
    const seen = new Set<number>();
    for (const dev of placement.devices) {
      if (dev.gpuIndex < 0 || dev.gpuIndex >= (this.gpuCount[n] ?? 0) || seen.has(dev.gpuIndex)) {
        return { ok: false, reason: `gpu ${dev.gpuIndex}: no such device (or listed twice) on ${placement.node}` };
      }
      seen.add(dev.gpuIndex);
      const d = off + dev.gpuIndex;
      if (this.gpuExclusive[d] === 1 || (placement.exclusive === true && (this.gpuHolders[d] ?? 0) > 0)) {
        return { ok: false, reason: `gpu ${dev.gpuIndex}: held exclusively or not idle` };
      }
      if ((this.gpuFreeMilli[d] ?? 0) < dev.milli || (this.gpuFreeMemoryMiB[d] ?? 0) < dev.memoryMiB) {
        return { ok: false, reason: `gpu ${dev.gpuIndex}: need ${dev.milli}m/${dev.memoryMiB}MiB, free ${this.gpuFreeMilli[d]}m/${this.gpuFreeMemoryMiB[d]}MiB` };
      }
    }
    this.apply(n, placement, 1);
    this.allocations.set(placement.requestId, { nodeIndex: n, placement });
    return { ok: true };
  }

  /** Releases what a request holds. Idempotent: unknown or already released ids return false. */
  unreserve(requestId: string): boolean {
    const a = this.allocations.get(requestId);
    if (a === undefined) return false;
    this.allocations.delete(requestId);
    this.apply(a.nodeIndex, a.placement, -1);
    return true;
  }

  private apply(n: number, p: Placement, sign: 1 | -1): void {
    this.cpuFreeMilli[n] = (this.cpuFreeMilli[n] ?? 0) - sign * p.cpuMilli;
    this.memoryFreeMiB[n] = (this.memoryFreeMiB[n] ?? 0) - sign * p.memoryMiB;
    const off = this.gpuOffset[n] ?? 0;
    let milli = 0;
    for (const dev of p.devices) {
      const d = off + dev.gpuIndex;
      this.gpuFreeMilli[d] = (this.gpuFreeMilli[d] ?? 0) - sign * dev.milli;
      this.gpuFreeMemoryMiB[d] = (this.gpuFreeMemoryMiB[d] ?? 0) - sign * dev.memoryMiB;
      this.gpuHolders[d] = (this.gpuHolders[d] ?? 0) + sign;
      if (p.exclusive === true) this.gpuExclusive[d] = sign === 1 ? 1 : 0;
      milli += dev.milli;
    }
    this.nodeGpuFreeMilli[n] = (this.nodeGpuFreeMilli[n] ?? 0) - sign * milli;
    this.allocatedGpuMilliTotal += sign * milli;
    this.nodeVersion[n] = (this.nodeVersion[n] ?? 0) + 1;
  }
}
