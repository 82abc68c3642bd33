// Why: "no device double-allocated, no job lost" checked from Redis itself, by tests after every step
// and by operators (GET /v1/gpu/audit): the live jobs' placements must pass the placement invariants,
// the usage hash must equal their re-summed total, and every index must agree with the job states.
import type { ClusterSpec, Placement } from '../placement/model.ts';
import { checkInvariants } from '../placement/invariants.ts';
import { LIVE_STATES, type JobState } from './model.ts';
import type { JobStore } from './store.ts';

export interface AuditReport {
  ok: boolean;
  live: number;
  pending: number;
  problems: string[];
}

export async function auditStore(store: JobStore, cluster: ClusterSpec): Promise<AuditReport> {
  // One atomic snapshot: the scheduler keeps placing while we look.
  const { pending, live, usage, users, open } = await store.snapshot();
  const problems: string[] = [];
  const liveIds = new Set(live.map((j) => j.id));
  const both = pending.filter((j) => liveIds.has(j.id)).map((j) => j.id);
  if (both.length > 0) problems.push(`jobs both pending and live: ${both.join(', ')}`);
  for (const j of live) {
    if (j.state === '') problems.push(`live index names ${j.id}, which has no record`);
    else if (!LIVE_STATES.has(j.state as JobState) || j.placement === undefined) problems.push(`${j.id} is in the live index but ${j.state}${j.placement === undefined ? ' without a placement' : ''}`);
  }
  for (const j of pending) {
    if (j.state === '') problems.push(`pending index names ${j.id}, which has no record`);
    else if (j.state !== 'queued') problems.push(`${j.id} is in the pending index but ${j.state}`);
  }
  const placements = live.filter((j) => j.placement !== undefined).map((j) => j.placement as Placement);
  for (const v of checkInvariants(cluster, placements, liveIds)) problems.push(`${v.kind}: ${v.message}`);
  // The usage hash (what the place script checks) must be exactly the sum of the live placements.
  const expected = new Map<string, number>();
  const add = (field: string, v: number): void => void expected.set(field, (expected.get(field) ?? 0) + v);
  for (const p of placements) {
    add(`n|${p.node}|cpu`, p.cpuMilli);
    add(`n|${p.node}|mem`, p.memoryMiB);
    for (const d of p.devices) {
      const base = `d|${p.node}|${d.gpuIndex}|`;
      add(`${base}milli`, d.milli);
      add(`${base}mem`, d.memoryMiB);
      add(`${base}holders`, 1);
      if (p.exclusive === true) add(`${base}excl`, 1);
    }
  }
  for (const field of new Set([...expected.keys(), ...usage.keys()])) {
    const want = expected.get(field) ?? 0;
    const have = usage.get(field) ?? 0;
    if (want !== have) problems.push(`usage ${field} is ${have}, the live placements sum to ${want}`);
  }
  // Each user's open-jobs count must be the number of their pending and live jobs.
  const openByUser = new Map<string, number>();
  for (const user of users) if (user !== '') openByUser.set(user, (openByUser.get(user) ?? 0) + 1);
  for (const user of new Set([...openByUser.keys(), ...open.keys()])) {
    const want = openByUser.get(user) ?? 0;
    const have = open.get(user) ?? 0;
    if (want !== have) problems.push(`open jobs of ${user}: the count is ${have}, the queue and live jobs hold ${want}`);
  }
  return { ok: problems.length === 0, live: live.length, pending: pending.length, problems };
}
