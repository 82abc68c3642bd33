// Why: the devices the scheduler places onto come from a file today and from the Kubernetes API server
// with the kubernetes backend, where nodes come, go and are cordoned while the service runs. Everything
// that needs the cluster (the store's capacity check, the scheduling pass, the service's "could it ever
// run" check, the cluster view, the metrics) asks one source for its current spec instead of holding a copy.
import type { ClusterSpec } from './placement/model.ts';

export interface ClusterSource {
  /** The cluster now; a new object after every change (callers may cache per object). */
  current(): ClusterSpec;
}

/** A cluster that never changes (the inventory file, the embedded K80 default). */
export function staticCluster(spec: ClusterSpec): ClusterSource {
  return { current: () => spec };
}

/** A source as given, or a fixed spec as a source that never changes. */
export const clusterSourceOf = (c: ClusterSpec | ClusterSource): ClusterSource => ('current' in c ? c : staticCluster(c));
