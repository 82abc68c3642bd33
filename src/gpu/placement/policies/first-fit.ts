// Why: the simplest baseline: the first feasible node in cluster order, best-fit devices inside it.
import type { Policy } from './types.ts';
import { bestFitDevices } from './devices.ts';

export function createFirstFit(): Policy {
  return {
    name: 'first-fit',
    score: (state, demand, n) => {
      const devices = bestFitDevices(state, demand, n);
      return devices === undefined ? undefined : { score: state.nodeCount - n, devices };
    },
  };
}
