// Why: reads the Alibaba GPU trace (openb, FGD paper) IN PLACE from ../shared/data/alibaba-gpu-v2023/
// (research use only; never copied into the repo) into the placement model: 1213 GPU nodes, pod lists.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterSpec, NodeSpec, PlacementRequest } from '../gpu/placement/model.ts';

export const DEFAULT_TRACE_DIR = fileURLToPath(new URL('../../../shared/data/alibaba-gpu-v2023/', import.meta.url));

export const TRACE_NAMES: readonly string[] = [
  'default', 'gpushare40', 'gpushare60', 'gpushare80', 'gpushare100',
  'multigpu20', 'multigpu30', 'multigpu40', 'multigpu50',
  'gpuspec10', 'gpuspec20', 'gpuspec25', 'gpuspec33',
  'cpu050', 'cpu100', 'cpu200', 'cpu250',
];

function readCsv(dir: string, file: string): Record<string, string>[] {
  const path = join(dir, file);
  if (!existsSync(path)) {
    throw new Error(`trace file ${file} not found in ${dir} (expected the alibaba-gpu-v2023 folder; pass --data DIR)`);
  }
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').trim().split(',');
  return lines.slice(1).map((line) => {
    const cells = line.trim().split(',');
    const row: Record<string, string> = {};
    header.forEach((h, i) => (row[h] = cells[i] ?? ''));
    return row;
  });
}

function int(row: Record<string, string>, col: string, file: string): number {
  const v = Number(row[col]);
  if (!Number.isFinite(v)) throw new Error(`${file}: column ${col} is not a number: ${JSON.stringify(row[col])}`);
  return v;
}

/** The GPU-node cluster; each GPU 1000 milli, GPU memory unknown in the trace (0, ignored). */
export function loadCluster(dir: string = DEFAULT_TRACE_DIR): ClusterSpec {
  const file = 'openb_node_list_gpu_node.csv';
  const nodes: NodeSpec[] = readCsv(dir, file).map((row) => {
    const gpuCount = int(row, 'gpu', file);
    const model = row['model'] ?? '';
    return {
      name: row['sn'] ?? '',
      cpuMilli: int(row, 'cpu_milli', file),
      memoryMiB: int(row, 'memory_mib', file),
      labels: { 'gpu-model': model },
      gpus: Array.from({ length: gpuCount }, (_, index) => ({ index, model, memoryMiB: 0, milli: 1000 })),
    };
  });
  return { nodes };
}

/** Pods of `openb_pod_list_<trace>.csv` as requests (multigpu files have no gpu_spec: any model). */
export function loadPods(trace: string, dir: string = DEFAULT_TRACE_DIR): PlacementRequest[] {
  const file = `openb_pod_list_${trace}.csv`;
  return readCsv(dir, file).map((row) => {
    const numGpu = int(row, 'num_gpu', file);
    const gpuMilli = int(row, 'gpu_milli', file);
    const spec = row['gpu_spec'] ?? '';
    const req: PlacementRequest = {
      id: row['name'] ?? '',
      tenant: 'trace',
      priority: 0,
      cpuMilli: int(row, 'cpu_milli', file),
      memoryMiB: int(row, 'memory_mib', file),
    };
    if (numGpu > 0 && gpuMilli > 0) {
      if (numGpu === 1 && gpuMilli < 1000) req.gpuMilli = gpuMilli;
      else req.gpus = numGpu;
    }
    if (spec !== '') req.gpuModels = spec.split('|');
    return req;
  });
}
