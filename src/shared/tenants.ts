// Why: who may ask for GPUs on whose behalf is configuration, not whatever a request claims. One table
// of tenants (HOTPATH_TENANTS or HOTPATH_TENANTS_FILE, validated at start with the rest of the config)
// says, per tenant, which users and groups are its members, whether anyone may submit to it, its
// fair-share weight, GPU quota and the highest priority its jobs may use. Pure: the rules below are
// functions of (tenants, principal, job), so they are table-testable and every door asks the same ones.
//
//   submit(tenant, priority) by P:   known tenant (or the "*" entry)?  ── no ──> 403 unknown tenant
//                                     P admin? ── yes ──> allowed
//                                     P member, or the tenant open? ── no ──> 403 not a member
//                                     priority <= maxPriority? ── no ──> 403 priority too high
//   read / act on a job J by P:       P admin, P submitted J, or P a member of J's tenant

import { ConfigError } from './config-error.ts';

/** The rights and share of one tenant. */
export interface TenantSpec {
  /** Members by user name: they may submit, and read and act on every job of the tenant. */
  users: readonly string[];
  /** Members by group (from the JWT groups claim, or the token/password file). */
  groups: readonly string[];
  /** Anyone authenticated may submit (and sees only their own jobs); members still see all. */
  open: boolean;
  /** Fair-share weight (> 0): a tenant of weight 2 is served as if its usage were half. */
  weight: number;
  /** Most GPU milli the tenant may hold at once (1000 = one device); undefined = no limit. */
  quotaGpuMilli?: number;
  /** Highest priority a non-admin may give this tenant's jobs (lower ones are always allowed). */
  maxPriority: number;
  /** Kubernetes namespaces whose pods run as this tenant (the kubernetes backend); a namespace belongs to one tenant. */
  namespaces?: readonly string[];
}

export interface Tenants {
  /** Tenants by name: each gets its own metric label. */
  readonly named: ReadonlyMap<string, TenantSpec>;
  /** The "*" entry: any other tenant name is accepted with these rights (its metric label is `other`). */
  readonly other: TenantSpec | undefined;
  /** Where the table came from (the start-up log says so). */
  readonly source: 'HOTPATH_TENANTS' | 'HOTPATH_TENANTS_FILE' | 'local defaults' | 'HOTPATH_GPU_TENANT_WEIGHTS/_QUOTAS';
}

/** Who asks: the authenticated principal as the rules need it. */
export interface Member {
  user: string;
  admin: boolean;
  groups?: readonly string[];
}

/** The label every tenant outside the named set counts under. */
export const OTHER_TENANT_LABEL = 'other';
export const PRIORITY_MIN = -1000;
export const PRIORITY_MAX = 1000;
const MAX_NAME_LENGTH = 128;
// eslint-disable-next-line no-control-regex
const validName = (s: unknown): s is string => typeof s === 'string' && s.length > 0 && s.length <= MAX_NAME_LENGTH && !/[\u0000-\u001f\u007f]/.test(s);

/**
 * With no tenant configuration: the tenants the README, the demo load (ml, serve, research) and the Ray
 * examples (batch, urgent) use, plus "*" for any other name, all open to every user at every priority.
 * That is today's local experience; it trusts the named user, as local mode does everywhere.
 */
export function localTenants(): Tenants {
  const open: TenantSpec = { users: [], groups: [], open: true, weight: 1, maxPriority: PRIORITY_MAX };
  return { named: new Map(['ml', 'serve', 'research', 'batch', 'urgent'].map((t) => [t, open])), other: open, source: 'local defaults' };
}

const FIELDS = new Set(['users', 'groups', 'open', 'weight', 'quotaGpuMilli', 'maxPriority', 'namespaces']);

/** Parses HOTPATH_TENANTS: `{"<tenant>": {users?, groups?, open?, weight?, quotaGpuMilli?, maxPriority?}, "*"?: {...}}`. */
export function parseTenants(text: string, source: 'HOTPATH_TENANTS' | 'HOTPATH_TENANTS_FILE'): Tenants {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${source}: expected a JSON object of tenants (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`${source}: expected a JSON object {"<tenant>": {"users": [...], "groups": [...], "maxPriority": n, ...}}`);
  }
  const named = new Map<string, TenantSpec>();
  let other: TenantSpec | undefined;
  for (const [name, raw] of Object.entries(parsed)) {
    const where = `${source}.${name}`;
    if (name !== '*' && !validName(name)) throw new ConfigError(`${source}: tenant names are 1-${MAX_NAME_LENGTH} printable characters, got ${JSON.stringify(name)}`);
    if (name === OTHER_TENANT_LABEL) throw new ConfigError(`${where}: "${OTHER_TENANT_LABEL}" is the metric label of tenants outside the named set; choose another name`);
    const spec = tenantSpec(raw, where);
    if (name === '*') {
      // A quota on "*" would be a quota per invented name: inventing one more would dodge it.
      if (spec.quotaGpuMilli !== undefined) throw new ConfigError(`${where}.quotaGpuMilli: a quota on "*" would apply to each invented tenant name separately; name the tenants that need a quota`);
      other = spec;
    } else named.set(name, spec);
  }
  if (named.size === 0 && other === undefined) throw new ConfigError(`${source}: names no tenant`);
  const owners = new Map<string, string>();
  for (const [name, spec] of named) {
    for (const ns of spec.namespaces ?? []) {
      const before = owners.get(ns);
      if (before !== undefined) throw new ConfigError(`${source}: namespace ${JSON.stringify(ns)} belongs to both ${before} and ${name}; a namespace's pods run as one tenant`);
      owners.set(ns, name);
    }
  }
  return { named, other, source };
}

/**
 * The tenant a Kubernetes namespace's pods run as: the tenant that lists it in `namespaces`, else a
 * tenant named like the namespace, else undefined (then the namespace's name is the tenant, which the
 * "*" entry may accept).
 */
export function tenantOfNamespace(tenants: Tenants, namespace: string): string | undefined {
  for (const [name, spec] of tenants.named) if (spec.namespaces?.includes(namespace)) return name;
  return tenants.named.has(namespace) ? namespace : undefined;
}

/** Whether jobs may run as `tenant` at all: a named tenant, or any name when there is a "*" entry. */
export const isKnownTenant = (tenants: Tenants, tenant: string): boolean => tenants.named.has(tenant) || tenants.other !== undefined;

function tenantSpec(raw: unknown, where: string): TenantSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${where}: expected an object`);
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!FIELDS.has(k)) throw new ConfigError(`${where}: unknown field "${k}" (known: ${[...FIELDS].join(', ')})`);
  const names = (k: 'users' | 'groups'): string[] => {
    const v = r[k] ?? [];
    if (!Array.isArray(v) || !v.every(validName)) throw new ConfigError(`${where}.${k}: expected a list of names (1-${MAX_NAME_LENGTH} printable characters)`);
    return v as string[];
  };
  if (r.open !== undefined && typeof r.open !== 'boolean') throw new ConfigError(`${where}.open: expected true or false`);
  const weight = r.weight ?? 1;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) throw new ConfigError(`${where}.weight: expected a number > 0, got ${JSON.stringify(r.weight)}`);
  const maxPriority = r.maxPriority ?? 0;
  if (!Number.isInteger(maxPriority) || (maxPriority as number) < PRIORITY_MIN || (maxPriority as number) > PRIORITY_MAX) {
    throw new ConfigError(`${where}.maxPriority: expected an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}, got ${JSON.stringify(r.maxPriority)}`);
  }
  const spec: TenantSpec = { users: names('users'), groups: names('groups'), open: r.open === true, weight, maxPriority: maxPriority as number };
  if (r.quotaGpuMilli !== undefined) {
    if (!Number.isSafeInteger(r.quotaGpuMilli) || (r.quotaGpuMilli as number) < 0) throw new ConfigError(`${where}.quotaGpuMilli: expected an integer >= 0 (1000 = one device), got ${JSON.stringify(r.quotaGpuMilli)}`);
    spec.quotaGpuMilli = r.quotaGpuMilli as number;
  }
  if (r.namespaces !== undefined) {
    const dns = (v: unknown) => typeof v === 'string' && /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v);
    if (!Array.isArray(r.namespaces) || !r.namespaces.every(dns)) throw new ConfigError(`${where}.namespaces: expected a list of Kubernetes namespace names (DNS labels)`);
    spec.namespaces = r.namespaces as string[];
  }
  if (!spec.open && spec.users.length === 0 && spec.groups.length === 0 && spec.namespaces === undefined) {
    throw new ConfigError(`${where}: no one may submit to it (give "users", "groups", "open": true or "namespaces")`);
  }
  return spec;
}

/**
 * The older HOTPATH_GPU_TENANT_WEIGHTS / _QUOTAS (`tenant=number,…`) on top of the local defaults: the
 * tenants they name become named (open) tenants with that weight or quota.
 */
export function legacyTenants(weights: readonly string[] | undefined, quotas: readonly string[] | undefined): Tenants {
  const parse = (list: readonly string[] | undefined, what: string, min: number): Map<string, number> => {
    const out = new Map<string, number>();
    for (const item of list ?? []) {
      const eq = item.lastIndexOf('=');
      const text = item.slice(eq + 1).trim();
      const value = Number(text);
      const name = item.slice(0, eq).trim();
      if (eq <= 0 || !/^[0-9]+(\.[0-9]+)?$/.test(text) || value < min || !validName(name)) {
        throw new ConfigError(`${what}: expected tenant=number (${min === 0 ? '≥ 0' : '> 0'}), got ${JSON.stringify(item)}`);
      }
      if (name === OTHER_TENANT_LABEL) throw new ConfigError(`${what}: "${OTHER_TENANT_LABEL}" is the metric label of tenants outside the named set; choose another name`);
      out.set(name, value);
    }
    return out;
  };
  const w = parse(weights, 'HOTPATH_GPU_TENANT_WEIGHTS', Number.MIN_VALUE);
  const q = parse(quotas, 'HOTPATH_GPU_TENANT_QUOTAS', 0);
  const base = localTenants();
  const named = new Map(base.named);
  for (const name of new Set([...w.keys(), ...q.keys()])) {
    const spec: TenantSpec = { ...(named.get(name) ?? base.other!), weight: w.get(name) ?? 1 };
    const quota = q.get(name);
    if (quota !== undefined) spec.quotaGpuMilli = Math.round(quota);
    named.set(name, spec);
  }
  return { named, other: base.other, source: 'HOTPATH_GPU_TENANT_WEIGHTS/_QUOTAS' };
}

/** The entry that governs `tenant`, or undefined when the tenant is not configured. */
export function tenantOf(tenants: Tenants, tenant: string): TenantSpec | undefined {
  return tenants.named.get(tenant) ?? tenants.other;
}

/** A member by name or group (an open tenant makes submitters, not members). */
export function isMember(spec: TenantSpec | undefined, who: Member): boolean {
  if (spec === undefined) return false;
  if (spec.users.includes(who.user)) return true;
  return who.groups !== undefined && who.groups.some((g) => spec.groups.includes(g));
}

/** undefined when `who` may submit a job to `tenant` at `priority`; else the reason it may not (a 403). */
export function submitRefusal(tenants: Tenants, who: Member, tenant: string, priority: number): string | undefined {
  const spec = tenantOf(tenants, tenant);
  if (spec === undefined) {
    const known = [...tenants.named.keys()];
    return `unknown tenant "${tenant}"; the configured tenants are ${known.length > 0 ? known.join(', ') : '(none)'}`;
  }
  if (who.admin) return undefined;
  if (!spec.open && !isMember(spec, who)) return `user ${who.user} is not a member of tenant "${tenant}"`;
  if (priority > spec.maxPriority) return `priority ${priority} is above the highest tenant "${tenant}" may use (${spec.maxPriority})`;
  return undefined;
}

/** May `who` read, heartbeat, complete or cancel a job of `tenant` submitted by `owner`? */
export function mayAccess(tenants: Tenants, who: Member, job: { tenant: string; submittedBy: string }): boolean {
  return who.admin || job.submittedBy === who.user || isMember(tenantOf(tenants, job.tenant), who);
}

/** Fair-share weight and quota of `tenant` for the scheduling pass. */
export function tenantPolicyOf(tenants: Tenants): (tenant: string) => { weight: number; quotaGpuMilli?: number } {
  return (tenant) => {
    const spec = tenantOf(tenants, tenant);
    if (spec === undefined) return { weight: 1 };
    return spec.quotaGpuMilli === undefined ? { weight: spec.weight } : { weight: spec.weight, quotaGpuMilli: spec.quotaGpuMilli };
  };
}

/** The metric label of a tenant: its name when it is in the named set, else `other` (a closed set). */
export function tenantLabel(tenants: Tenants, tenant: string): string {
  return tenants.named.has(tenant) ? tenant : OTHER_TENANT_LABEL;
}

/** The documented priority buckets metrics are labelled with (a closed set of five). */
export const PRIORITY_BUCKETS = ['negative', '0', '1-9', '10-99', '100+'] as const;
export function priorityBucket(priority: number): (typeof PRIORITY_BUCKETS)[number] {
  if (priority < 0) return 'negative';
  if (priority === 0) return '0';
  if (priority < 10) return '1-9';
  if (priority < 100) return '10-99';
  return '100+';
}
