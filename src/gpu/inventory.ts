// Why: the GPU inventory the job service schedules onto. The embedded default is the platform's cluster
// as DESIGN.md assumes it (16 K80 devices = 8 boards on 4 nodes); a real deployment gives its own
// inventory as a JSON file (HOTPATH_GPU_CLUSTER_FILE) until Kubernetes discovery replaces both.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../shared/config.ts';
import type { ClusterSpec, NodeSpec } from './placement/model.ts';

/** Visible memory of one GK210 device (half a K80 board). */
export const K80_DEVICE_MEMORY_MIB = 11441;

/**
 * `nodeCount` nodes (default 4), each 32000 mCPU, 256000 MiB memory and 4 K80 devices on 2 boards
 * (boardId 0,0,1,1): 16 devices by default.
 */
export function k80Cluster(nodeCount = 4): ClusterSpec {
  const nodes: NodeSpec[] = [];
  for (let n = 0; n < nodeCount; n++) {
    nodes.push({
      name: `k80-${n}`,
      cpuMilli: 32000,
      memoryMiB: 256000,
      labels: { 'gpu.model': 'K80' },
      gpus: [0, 1, 2, 3].map((index) => ({ index, model: 'K80', memoryMiB: K80_DEVICE_MEMORY_MIB, milli: 1000, boardId: index >> 1 })),
    });
  }
  return { nodes };
}

/** Checks a cluster given as data (a JSON file) and says exactly what is wrong (a ConfigError starting with `source`). */
export function parseCluster(data: unknown, source: string): ClusterSpec {
  const fail = (msg: string): never => {
    throw new ConfigError(`${source}: ${msg}`);
  };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const nodes = isObject(data) ? data['nodes'] : undefined;
  if (!Array.isArray(nodes) || nodes.length === 0) fail('expected {"nodes": [...]} with at least one node');
  const names = new Set<string>();
  const out: NodeSpec[] = (nodes as unknown[]).map((raw, i) => {
    const where = `nodes[${i}]`;
    const n = isObject(raw) ? raw : fail(`${where} must be an object`);
    if (typeof n['name'] !== 'string' || n['name'] === '') fail(`${where}.name must be a non-empty string`);
    const name = n['name'] as string;
    if (names.has(name)) fail(`${where}: duplicate node name ${name}`);
    names.add(name);
    const int = (v: unknown, field: string): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(`${where}.${field} must be an integer ≥ 0`);
      return v as number;
    };
    const gpus = Array.isArray(n['gpus']) ? (n['gpus'] as unknown[]) : fail(`${where}.gpus must be an array`);
    const labels = n['labels'] ?? {};
    if (!isObject(labels) || !Object.values(labels).every((v) => typeof v === 'string')) fail(`${where}.labels must be an object of strings`);
    return {
      name,
      cpuMilli: int(n['cpuMilli'], 'cpuMilli'),
      memoryMiB: int(n['memoryMiB'], 'memoryMiB'),
      labels: labels as Record<string, string>,
      gpus: gpus.map((raw, index) => {
        const g = isObject(raw) ? raw : fail(`${where}.gpus[${index}] must be an object`);
        if (typeof g['model'] !== 'string' || g['model'] === '') fail(`${where}.gpus[${index}].model must be a string`);
        return {
          index,
          model: g['model'] as string,
          memoryMiB: int(g['memoryMiB'], `gpus[${index}].memoryMiB`),
          milli: 1000,
          boardId: g['boardId'] === undefined ? undefined : int(g['boardId'], `gpus[${index}].boardId`),
        };
      }),
    };
  });
  return { nodes: out };
}

/** The configured inventory: a JSON file when given, else the embedded K80 cluster. Throws a ConfigError naming HOTPATH_GPU_CLUSTER_FILE. */
export function loadInventory(file: string | undefined): ClusterSpec {
  if (file === undefined || file === '') return k80Cluster();
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(`HOTPATH_GPU_CLUSTER_FILE: cannot read ${file} as JSON (${why})`);
  }
  return parseCluster(data, `HOTPATH_GPU_CLUSTER_FILE (${file})`);
}
