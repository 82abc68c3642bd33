// Why: the vocabulary of GPU placement, shared by the pure core, the trace harness and (later) the job
// service: a cluster of nodes with GPU devices, a request for whole GPUs or a share of one, and the
// outcome of placing it. Pure data; no I/O.

/** One GPU device. A K80 board carries two GK210 devices (11441 MiB visible each). */
export interface GpuDevice {
  /** Index of the device on its node (0-based). */
  index: number;
  model: string;
  memoryMiB: number;
  /** Compute share of a whole device: always 1000. */
  milli: number;
  /** Devices on one board share an id (K80: two per board); undefined when unknown. */
  boardId?: number | undefined;
}

export interface NodeSpec {
  name: string;
  cpuMilli: number;
  memoryMiB: number;
  labels: Record<string, string>;
  gpus: GpuDevice[];
}

export interface ClusterSpec {
  nodes: NodeSpec[];
}

/**
 * A placement request. Either `gpus` whole devices on one node (all-or-nothing), or a share of one
 * device (`gpuMilli` 1..999 and/or `gpuMemoryMiB`), or no GPU at all.
 */
export interface PlacementRequest {
  id: string;
  tenant: string;
  priority: number;
  cpuMilli: number;
  memoryMiB: number;
  /** Whole devices wanted (>= 1); 0 or undefined when a share or no GPU is wanted. */
  gpus?: number;
  /** Share of one device, 1..1000 (1000 = a whole device, same as gpus: 1). */
  gpuMilli?: number;
  gpuMemoryMiB?: number;
  /** Allowed GPU models; empty or undefined = any. */
  gpuModels?: string[];
}

/** What a placed request holds on one device. */
export interface DeviceAllocation {
  gpuIndex: number;
  milli: number;
  memoryMiB: number;
}

export interface Placement {
  requestId: string;
  node: string;
  cpuMilli: number;
  memoryMiB: number;
  devices: DeviceAllocation[];
  /** Whole devices held exclusively: no other allocation may touch them (undefined = false). */
  exclusive?: boolean;
}

export type Outcome =
  | { kind: 'placed'; placement: Placement }
  | { kind: 'unschedulable'; reasons: string[] };
