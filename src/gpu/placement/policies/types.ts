// Why: the Score step's contract. A policy scores one feasible node (higher is better) and says which
// devices it would use there; select.ts picks the best node. Policies are chosen by name (registry.ts).
import type { Demand } from '../demand.ts';
import type { TypicalSpec } from '../frag.ts';
import type { ClusterState } from '../state.ts';

export interface NodeScore {
  score: number;
  /** Device indices on the node, one per demanded device; empty for CPU-only demands. */
  devices: readonly number[];
}

/** Called only for nodes that passed the filter; undefined = cannot score (treated as infeasible). */
export type Scorer = (state: ClusterState, demand: Demand, nodeIndex: number) => NodeScore | undefined;

export interface Policy {
  readonly name: string;
  readonly score: Scorer;
}

export interface PolicyContext {
  /** The typical pod specs (FGD needs them; others ignore them). */
  typicalSpecs?: readonly TypicalSpec[];
}
