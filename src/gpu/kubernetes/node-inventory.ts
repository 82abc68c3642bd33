// Why: with the kubernetes backend the cluster is what the API server says: every Node with
// `nvidia.com/gpu` capacity, as objects.ts maps it. This keeps that model current from the node watch
// and serves it as the ClusterSource everything else reads (a new spec object after each change that
// matters), keeps each node's admission view (cordoned, NotReady, taints) for the per-pod filter, and
// tells the backend when a node is gone (its pods' allocations are released).
import type { V1Node } from '@kubernetes/client-node';
import type { ClusterSource } from '../cluster-source.ts';
import type { ClusterSpec } from '../placement/model.ts';
import { nodeViewOf, type NodeView } from './objects.ts';

export class NodeInventory implements ClusterSource {
  private readonly views = new Map<string, NodeView>();
  private spec: ClusterSpec = { nodes: [] };
  private restricted: NodeView[] | undefined;
  private readonly removed: ((name: string) => void)[] = [];
  private readonly changed: (() => void)[] = [];

  /** A node was added or changed (or lost its GPUs: then it leaves the model). */
  upsert(node: V1Node): void {
    const name = node.metadata?.name;
    if (!name) return;
    const view = nodeViewOf(node);
    if (view === undefined) {
      this.delete(name);
      return;
    }
    const before = this.views.get(name);
    this.views.set(name, view);
    if (before === undefined || JSON.stringify(before.spec) !== JSON.stringify(view.spec)) this.rebuild();
    if (before === undefined || before.schedulable !== view.schedulable || JSON.stringify(before.taints) !== JSON.stringify(view.taints)) this.notify();
    else this.restricted = undefined;
  }

  delete(name: string): void {
    if (!this.views.delete(name)) return;
    this.rebuild();
    this.notify();
    for (const fn of this.removed) fn(name);
  }

  current(): ClusterSpec {
    return this.spec;
  }

  view(name: string): NodeView | undefined {
    return this.views.get(name);
  }

  allViews(): IterableIterator<NodeView> {
    return this.views.values();
  }

  /** Nodes that refuse some pods whatever their resources: cordoned, NotReady, or tainted NoSchedule/NoExecute. */
  restrictedViews(): readonly NodeView[] {
    this.restricted ??= [...this.views.values()].filter((v) => !v.schedulable || v.taints.some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute'));
    return this.restricted;
  }

  onNodeRemoved(fn: (name: string) => void): void {
    this.removed.push(fn);
  }

  /** Anything a placement decision reads changed (a node came, went, was cordoned, tainted). */
  onChange(fn: () => void): void {
    this.changed.push(fn);
  }

  private rebuild(): void {
    // Sorted by name: node order (ties in scoring) does not depend on the order the watch told us.
    this.spec = { nodes: [...this.views.values()].map((v) => v.spec).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
  }

  private notify(): void {
    this.restricted = undefined;
    for (const fn of this.changed) fn();
  }
}
