// Why: the election for Kubernetes deployments (HOTPATH_GPU_ELECTION=lease), on a coordination.k8s.io/v1
// Lease so that `kubectl get lease` shows which replica schedules, with one fencing token, not two: the
// Lease's spec.leaseTransitions is the epoch, and the winner makes it the Redis store's epoch
// (adoptLeader) before it acts, so the store's Lua scripts refuse a deposed leader's writes exactly as
// with the Redis election. (Writes to the API server cannot be made conditional on a Lease; the record
// in Redis can, and bindings follow the record.) Taking the Lease sets leaseTransitions past the store's
// epoch as well, so a Lease deleted and made again (transitions from 0) still yields a newer token.
// Expiry is judged as client-go judges it: by how long this replica has seen the Lease unchanged, never
// by comparing its clock with the holder's.
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { Campaign } from '../jobs/leader.ts';
import type { JobStore } from '../jobs/store.ts';
import type { LeaseApi } from './api.ts';

/** The part of a Lease the election reads. */
export interface LeaseView {
  holder: string;
  /** spec.leaseTransitions: the epoch its holder leads with. */
  epoch: number;
  durationMs: number;
}

export type LeaseMove = { kind: 'wait' } | { kind: 'renew'; epoch: number } | { kind: 'take'; epoch: number };

/**
 * Pure: what `owner` does with the Lease as found (undefined: there is none), which this replica has
 * seen unchanged since `seenSinceMs`, the store's newest epoch being `storeEpoch`. Its own Lease is
 * renewed unless the store has moved past it (then taken anew, with a newer epoch); a free, released
 * or expired one is taken with an epoch newer than both.
 */
export function leaseMove(found: LeaseView | undefined, owner: string, seenSinceMs: number, nowMs: number, storeEpoch: number): LeaseMove {
  if (found === undefined) return { kind: 'take', epoch: storeEpoch + 1 };
  if (found.holder === owner && found.epoch >= storeEpoch) return { kind: 'renew', epoch: found.epoch };
  const free = found.holder === '' || found.holder === owner || nowMs >= seenSinceMs + found.durationMs;
  return free ? { kind: 'take', epoch: Math.max(found.epoch, storeEpoch) + 1 } : { kind: 'wait' };
}

export function leaseViewOf(lease: V1Lease): LeaseView {
  const s = lease.spec ?? {};
  return { holder: s.holderIdentity ?? '', epoch: s.leaseTransitions ?? 0, durationMs: (s.leaseDurationSeconds ?? 15) * 1000 };
}

export interface LeaseCampaignOptions {
  leases: LeaseApi;
  namespace: string;
  name: string;
  store: Pick<JobStore, 'leaderEpoch' | 'adoptLeader' | 'resignLeader'>;
  now?: () => number;
}

export class LeaseCampaign implements Campaign {
  private readonly o: LeaseCampaignOptions;
  private readonly now: () => number;
  /** The Lease's resourceVersion as last seen, and since when (client-go's "observed time"). */
  private seen: { version: string; sinceMs: number } | undefined;

  constructor(o: LeaseCampaignOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
  }

  async acquireLeader(owner: string, ttlMs: number): Promise<number> {
    const [lease, storeEpoch] = await Promise.all([this.o.leases.read(), this.o.store.leaderEpoch()]);
    const nowMs = this.now();
    const version = lease?.metadata?.resourceVersion ?? '';
    if (this.seen?.version !== version) this.seen = { version, sinceMs: nowMs };
    const move = leaseMove(lease && leaseViewOf(lease), owner, this.seen.sinceMs, nowMs, storeEpoch);
    if (move.kind === 'wait') return 0;
    const stamp = new V1MicroTime(nowMs); // serialised with microseconds, as the API server's MicroTime wants
    const spec = {
      ...lease?.spec,
      holderIdentity: owner,
      leaseDurationSeconds: Math.max(1, Math.ceil(ttlMs / 1000)),
      renewTime: stamp,
      ...(move.kind === 'take' ? { acquireTime: stamp, leaseTransitions: move.epoch } : {}),
    };
    const body: V1Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: lease?.metadata ?? { name: this.o.name, namespace: this.o.namespace }, spec };
    const written = lease === undefined ? await this.o.leases.create(body) : await this.o.leases.replace(body);
    if (written === 'conflict' || written === 'gone') return 0; // another replica wrote it first: look again next round
    this.seen = { version: written.metadata?.resourceVersion ?? '', sinceMs: nowMs };
    return this.o.store.adoptLeader(owner, move.epoch, ttlMs);
  }

  /** Releases the Lease (holder '', as client-go's ReleaseOnCancel) and then the store's key, which tells the others. */
  async resignLeader(owner: string): Promise<void> {
    try {
      const lease = await this.o.leases.read();
      if (lease?.spec?.holderIdentity === owner) {
        await this.o.leases.replace({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime(this.now()) } });
      }
    } finally {
      await this.o.store.resignLeader(owner);
    }
  }
}
