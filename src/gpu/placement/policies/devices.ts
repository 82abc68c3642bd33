// Why: the default within-node device choice (BENCHMARKS.md §2 step 5): a share goes to the device with
// the least free milli that fits (lowest index on ties); whole devices are the first idle ones by index.
import type { Demand } from '../demand.ts';
import type { ClusterState } from '../state.ts';

export function bestFitDevices(state: ClusterState, demand: Demand, n: number): number[] | undefined {
  if (demand.gpuCount === 0) return [];
  const off = state.gpuOffset[n] ?? 0;
  const count = state.gpuCount[n] ?? 0;
  if (demand.exclusive) {
    const chosen: number[] = [];
    for (let g = 0; g < count && chosen.length < demand.gpuCount; g++) {
      if (state.gpuExclusive[off + g] === 0 && state.gpuHolders[off + g] === 0) chosen.push(g);
    }
    return chosen.length === demand.gpuCount ? chosen : undefined;
  }
  let best = -1;
  let bestFree = Infinity;
  for (let g = 0; g < count; g++) {
    const d = off + g;
    const free = state.gpuFreeMilli[d] ?? 0;
    if (state.gpuExclusive[d] === 1) continue;
    if (free < demand.gpuMilliPerDevice || (state.gpuFreeMemoryMiB[d] ?? 0) < demand.gpuMemoryMiBPerDevice) continue;
    if (free < bestFree) {
      best = g;
      bestFree = free;
    }
  }
  return best < 0 ? undefined : [best];
}

/**
 * Whole devices board by board: pairs from fully idle boards first (a 2-GPU job on one K80 board),
 * single devices from boards whose other half is taken first (keeping whole boards free). Devices
 * without a board id count as boards of their own. Undefined when too few devices are idle.
 */
export function boardAwareDevices(state: ClusterState, demand: Demand, n: number): number[] | undefined {
  const off = state.gpuOffset[n] ?? 0;
  const count = state.gpuCount[n] ?? 0;
  const gpus = state.spec.nodes[n]?.gpus ?? [];
  if (gpus.every((d) => d.boardId === undefined)) return bestFitDevices(state, demand, n);
  const idleByBoard = new Map<number | string, number[]>();
  const sizeByBoard = new Map<number | string, number>();
  for (let g = 0; g < count; g++) {
    const board = gpus[g]?.boardId ?? `device-${g}`;
    sizeByBoard.set(board, (sizeByBoard.get(board) ?? 0) + 1);
    if (state.gpuExclusive[off + g] === 0 && state.gpuHolders[off + g] === 0) {
      const idle = idleByBoard.get(board);
      if (idle === undefined) idleByBoard.set(board, [g]);
      else idle.push(g);
    }
  }
  const whole: number[][] = [];
  const broken: number[][] = [];
  for (const [board, idle] of idleByBoard) (idle.length === sizeByBoard.get(board) && idle.length > 1 ? whole : broken).push(idle);
  const chosen: number[] = [];
  const take = (g: number): void => {
    if (chosen.length < demand.gpuCount && !chosen.includes(g)) chosen.push(g);
  };
  // An odd count takes one device from a broken board first; then whole boards while a whole board
  // is still wanted; then whatever is left (broken boards, then splitting a whole one).
  const first = broken[0]?.[0];
  if (demand.gpuCount % 2 === 1 && first !== undefined) take(first);
  for (const idle of whole) if (demand.gpuCount - chosen.length >= idle.length) idle.forEach(take);
  for (const idle of [...broken, ...whole]) idle.forEach(take);
  const want = demand.gpuCount - chosen.length;
  return want === 0 ? chosen.sort((a, b) => a - b) : undefined;
}
