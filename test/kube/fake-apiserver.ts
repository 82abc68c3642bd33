// Why: no kube-apiserver can run on this machine, yet the secondary scheduler must be tested against the
// real wire format. This fake serves the Kubernetes JSON API (discovery, CRUD, subresources, watch) for the
// kinds the scheduler touches, so @kubernetes/client-node and kubectl work against it unchanged. It keeps
// kube-apiserver's semantics where a scheduler could notice them: one global resourceVersion, optimistic
// concurrency, no-op writes that bump nothing, the status/spec split of HTTP writes (a POSTed pod starts
// Pending; a pod's spec can only change by binding), selector-filtered watches that turn "stopped matching"
// into DELETED, 410 Expired for compacted history, PDB-guarded eviction. Pure rules live in
// fake-apiserver-semantics.ts.
//
// One watch connection:
//   GET ?watch=1 ─▶ resourceVersion older than history ─▶ ERROR 410 Expired, end
//        └──────▶ replay (events after RV; or ADDED for current objects when RV is unset or "0")
//                  ─▶ live (filtered events, BOOKMARKs if asked) ─▶ end (timeoutSeconds, stop(), client gone)

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Lease } from 'kubernetes-models/coordination.k8s.io/v1/Lease';
import { Eviction } from 'kubernetes-models/policy/v1/Eviction';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Binding } from 'kubernetes-models/v1/Binding';
import { Event as CoreEvent } from 'kubernetes-models/v1/Event';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Node } from 'kubernetes-models/v1/Node';
import { Pod } from 'kubernetes-models/v1/Pod';
import {
  SemanticError, deepEqual, fieldsMatch, isPlainObject, jsonPatch, labelsMatch, mergePatch, parseFieldSelector,
  parseLabelSelector, selectorObjectMatches, strategicMergePatch, type FieldRequirement, type LabelRequirement,
} from './fake-apiserver-semantics.ts';

export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

export interface FakeApiServer {
  url: string;
  /** A kubeconfig (cluster server=url, a user with a token) for kubectl and KubeConfig.loadFromString. */
  kubeconfigYaml(): string;
  /**
   * Direct access for tests (bypasses HTTP, still bumps resourceVersion and notifies watchers). Objects are
   * stored as given (a pod may start Running); defaults and validation apply as over HTTP. Errors throw.
   */
  create(obj: KubeObject): KubeObject;
  /** Replaces the whole object, status included (no resourceVersion check); always bumps it. Throws when absent. */
  update(obj: KubeObject): KubeObject;
  /** Deletes now (watchers see DELETED); throws when absent. */
  remove(kind: string, namespace: string | undefined, name: string): void;
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(kind: string): KubeObject[];
  /** Forget history so watches from older resourceVersions get 410 Gone (compaction). */
  compact(): void;
  /** Requests seen, for assertions: method, path, query. Clear with `requests.length = 0`. */
  requests: { method: string; path: string; query: Record<string, string> }[];
  /** TCP connections accepted so far (keep-alive assertions). */
  readonly connections: number;
  /** Make the next N requests matching (method, pathRegex on the URL path) fail with `status` (a Status body). */
  failNext(method: string, path: RegExp, status: number, times?: number): void;
  /** Validation of objects against the Kubernetes schemas (on by default; benches switch it off). */
  validation: boolean;
  /** Stop listening and drop every connection (watches included); the port is kept for restart. */
  stop(): Promise<void>;
  /** Listen again on the same port; state and history are kept. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface FakeApiServerOptions {
  validation?: boolean;
  /** How often a watch with allowWatchBookmarks=true gets a BOOKMARK (default 1000). */
  bookmarkIntervalMs?: number;
  /** Events kept for watch replay; older resourceVersions get 410 (default 10,000). */
  historyEvents?: number;
}

type Json = Record<string, unknown>;
type Problem = { field: string; reason: string; message: string };

interface Resource {
  kind: string;
  plural: string;
  group: string;
  version: string;
  apiVersion: string;
  namespaced: boolean;
  /** Has a /status subresource: HTTP writes to the object keep its status, writes to /status keep the rest. */
  hasStatus: boolean;
  shortNames: string[];
  /** Field selector labels beyond metadata.name and metadata.namespace. */
  fields: string[];
  check?: (obj: KubeObject, problems: Problem[]) => void;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** A watcher that stops reading is cut off past this much unsent output, as the apiserver drops slow watchers. */
const MAX_WATCH_BACKLOG_BYTES = 64 * 1024 * 1024;
const FIRST_RESOURCE_VERSION = 1000;
const REASONS: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 409: 'Conflict',
  410: 'Expired', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests',
  500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

/** An answer other than success, sent as a Status object. */
class StatusError extends Error {
  readonly code: number;
  readonly body: Json;
  constructor(code: number, message: string, details?: Json, reason = REASONS[code] ?? 'Unknown') {
    super(message);
    this.code = code;
    this.body = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
  }
}

const modelCheck = (Model: new (data: never) => { validate(): void }) => (obj: KubeObject, problems: Problem[]) => {
  try {
    new Model(obj as never).validate();
  } catch (err) {
    const errors = (err as { errors?: { instancePath?: string; message?: string }[] }).errors ?? [];
    for (const e of errors) {
      const field = (e.instancePath ?? '').slice(1).split('/').map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : `${i ? '.' : ''}${p}`)).join('');
      problems.push({ field: field || '<root>', reason: 'FieldValueInvalid', message: `Invalid value: ${e.message ?? 'invalid'}` });
    }
    if (errors.length === 0) problems.push({ field: '<root>', reason: 'FieldValueInvalid', message: String(err) });
  }
};
const checkPod = (obj: KubeObject, problems: Problem[]): void => {
  modelCheck(Pod)(obj, problems);
  const containers = (obj.spec as Json | undefined)?.containers;
  if (!Array.isArray(containers) || containers.length === 0) problems.push({ field: 'spec.containers', reason: 'FieldValueRequired', message: 'Required value' });
  else containers.forEach((c: Json, i) => {
    for (const key of ['name', 'image']) if (!c?.[key]) problems.push({ field: `spec.containers[${i}].${key}`, reason: 'FieldValueRequired', message: 'Required value' });
  });
};
/**
 * MicroTime fields are decoded with Go's layout 2006-01-02T15:04:05.000000Z07:00: exactly six fraction
 * digits (a JavaScript Date's toISOString, with three, is refused while decoding: 400, not 422).
 */
const MICRO_TIME_FIELDS: Readonly<Record<string, readonly string[]>> = { Lease: ['acquireTime', 'renewTime'], Event: ['eventTime'] };
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;
function checkMicroTimes(r: Resource, body: Json): void {
  const where = r.kind === 'Lease' ? (body.spec as Json | undefined) : body;
  for (const field of MICRO_TIME_FIELDS[r.kind] ?? []) {
    const v = where?.[field];
    if (v === undefined || v === null || (typeof v === 'string' && MICRO_TIME.test(v))) continue;
    throw new StatusError(400, `${r.kind} in version "${r.apiVersion}" cannot be handled as a ${r.kind}: parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse`);
  }
}
/** The coscheduling CRD's schema has no model package; check what its openAPIV3Schema requires of spec.minMember. */
const checkPodGroup = (obj: KubeObject, problems: Problem[]): void => {
  const minMember = (obj.spec as Json | undefined)?.minMember;
  if (minMember !== undefined && !(Number.isInteger(minMember) && (minMember as number) >= 0)) {
    problems.push({ field: 'spec.minMember', reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(minMember)}: must be a non-negative integer` });
  }
};

const POD_FIELDS = ['spec.nodeName', 'spec.schedulerName', 'spec.restartPolicy', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'];
const EVENT_FIELDS = ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'];
const resource = (kind: string, plural: string, group: string, version: string, r: Partial<Resource>): Resource => ({
  kind, plural, group, version, apiVersion: group ? `${group}/${version}` : version, namespaced: true, hasStatus: false, shortNames: [], fields: [], ...r,
});
const RESOURCES: Resource[] = [
  resource('Node', 'nodes', '', 'v1', { namespaced: false, hasStatus: true, shortNames: ['no'], fields: ['spec.unschedulable'], check: modelCheck(Node) }),
  resource('Pod', 'pods', '', 'v1', { hasStatus: true, shortNames: ['po'], fields: POD_FIELDS, check: checkPod }),
  resource('Event', 'events', '', 'v1', { shortNames: ['ev'], fields: EVENT_FIELDS, check: modelCheck(CoreEvent) }),
  resource('Namespace', 'namespaces', '', 'v1', { namespaced: false, hasStatus: true, shortNames: ['ns'], fields: ['status.phase'], check: modelCheck(Namespace) }),
  resource('Lease', 'leases', 'coordination.k8s.io', 'v1', { check: modelCheck(Lease) }),
  resource('PodDisruptionBudget', 'poddisruptionbudgets', 'policy', 'v1', { hasStatus: true, shortNames: ['pdb'], check: modelCheck(PodDisruptionBudget) }),
  resource('PodGroup', 'podgroups', 'scheduling.x-k8s.io', 'v1alpha1', { hasStatus: true, shortNames: ['pg'], check: checkPodGroup }),
];
const byKind = (kind: string): Resource => {
  const r = RESOURCES.find((x) => x.kind === kind);
  if (!r) throw new Error(`fake apiserver: unknown kind ${kind}; expected one of ${RESOURCES.map((x) => x.kind).join(', ')}`);
  return r;
};
const groupResource = (r: Resource): string => (r.group ? `${r.plural}.${r.group}` : r.plural);
const keyOf = (namespace: string | undefined, name: string): string => (namespace ? `${namespace}/${name}` : name);
const nowSeconds = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const notFound = (r: Resource, name: string): StatusError =>
  new StatusError(404, `${groupResource(r)} "${name}" not found`, { name, ...(r.group ? { group: r.group } : {}), kind: r.plural });
const conflict = (r: Resource, name: string, why: string): StatusError =>
  new StatusError(409, `Operation cannot be fulfilled on ${groupResource(r)} "${name}": ${why}`, { name, ...(r.group ? { group: r.group } : {}), kind: r.plural });
const success = (code: number, details?: Json): Json => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), code });
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Pod spec with the fields a pod update may change removed (ValidatePodUpdate). */
const frozenPodSpec = (spec: unknown): unknown => {
  if (!isPlainObject(spec)) return spec;
  const noImage = (cs: unknown) => (Array.isArray(cs) ? cs.map((c) => (isPlainObject(c) ? { ...c, image: undefined } : c)) : cs);
  return { ...spec, containers: noImage(spec.containers), initContainers: noImage(spec.initContainers), activeDeadlineSeconds: undefined, tolerations: undefined, schedulingGates: undefined };
};

/** One write. `json` and `goneJson` (prev at this rv) are serialized once, on first delivery. */
interface Change { rv: number; resource: Resource; type: 'ADDED' | 'MODIFIED' | 'DELETED'; obj: KubeObject; prev: KubeObject | undefined; json?: string; goneJson?: string }
interface Filter { namespace?: string | undefined; name?: string | undefined; labels: LabelRequirement[]; fields: FieldRequirement[] }
interface Watcher extends Filter { res: ServerResponse }

/** The store, the history and the watchers; every write goes through `commit`. Stored objects are never mutated. */
class Cluster {
  rv = FIRST_RESOURCE_VERSION;
  /** Watches from a resourceVersion below this get 410: the events after it are no longer all kept. */
  floorRv = FIRST_RESOURCE_VERSION;
  history: Change[] = [];
  readonly objects = new Map<string, Map<string, KubeObject>>(RESOURCES.map((r) => [r.kind, new Map()]));
  readonly watchers = new Map<string, Set<Watcher>>(RESOURCES.map((r) => [r.kind, new Set()]));
  validation: boolean;
  readonly historyEvents: number;

  constructor(validation: boolean, historyEvents: number) {
    this.validation = validation;
    this.historyEvents = historyEvents;
  }

  store(r: Resource): Map<string, KubeObject> {
    return this.objects.get(r.kind)!;
  }

  commit(r: Resource, type: Change['type'], obj: KubeObject, prev: KubeObject | undefined): KubeObject {
    obj.metadata.resourceVersion = String(++this.rv);
    const key = keyOf(obj.metadata.namespace, obj.metadata.name);
    if (type === 'DELETED') this.store(r).delete(key);
    else this.store(r).set(key, obj);
    const change: Change = { rv: this.rv, resource: r, type, obj, prev };
    this.history.push(change);
    if (this.history.length > 2 * this.historyEvents) {
      const drop = this.history.length - this.historyEvents;
      this.floorRv = this.history[drop - 1]!.rv;
      this.history = this.history.slice(drop);
    }
    for (const w of this.watchers.get(r.kind)!) this.deliver(w, change);
    return obj;
  }

  compact(): void {
    this.history = [];
    this.floorRv = this.rv;
  }

  matches(w: Filter, obj: KubeObject): boolean {
    const m = obj.metadata;
    return (w.namespace === undefined || m.namespace === w.namespace) && (w.name === undefined || m.name === w.name)
      && labelsMatch(w.labels, m.labels as Record<string, string> | undefined) && fieldsMatch(w.fields, obj);
  }

  /** What this watcher sees of a change: an object that starts or stops matching is ADDED or DELETED to it. */
  deliver(w: Watcher, c: Change): void {
    const was = c.prev !== undefined && this.matches(w, c.prev);
    const is = c.type !== 'DELETED' && this.matches(w, c.obj);
    const type = c.type === 'DELETED' ? (was ? 'DELETED' : undefined) : is ? (was ? 'MODIFIED' : 'ADDED') : undefined;
    if (type !== undefined) {
      c.json ??= JSON.stringify(c.obj);
      this.send(w, `{"type":"${type}","object":${c.json}}\n`);
    } else if (was && c.prev) {
      // Stopped matching: DELETED with the previous state at the event's resourceVersion, as the watch cache does.
      c.goneJson ??= JSON.stringify({ ...c.prev, metadata: { ...c.prev.metadata, resourceVersion: String(c.rv) } });
      this.send(w, `{"type":"DELETED","object":${c.goneJson}}\n`);
    }
  }

  send(w: Watcher, line: string): void {
    if (w.res.destroyed) return;
    w.res.write(line);
    if (w.res.writableLength > MAX_WATCH_BACKLOG_BYTES) w.res.destroy();
  }

  /** Fill in what the apiserver sets on create: identity, timestamps, defaults. */
  prepareCreate(r: Resource, obj: KubeObject, viaHttp: boolean): void {
    const m = obj.metadata;
    if (!m.name && typeof m.generateName === 'string' && m.generateName) m.name = m.generateName + randomUUID().slice(0, 5);
    Object.assign(m, { uid: randomUUID(), creationTimestamp: nowSeconds() });
    delete m.deletionTimestamp;
    delete m.resourceVersion;
    const spec = obj.spec;
    if (r.kind === 'Pod') {
      if (isPlainObject(spec)) {
        spec.schedulerName ??= 'default-scheduler';
        spec.restartPolicy ??= 'Always';
        spec.dnsPolicy ??= 'ClusterFirst';
        spec.terminationGracePeriodSeconds ??= 30;
        spec.priority ??= 0;
      }
      if (viaHttp || !isPlainObject(obj.status)) obj.status = { phase: 'Pending' };
      else (obj.status as Json).phase ??= 'Pending';
    } else if (r.kind === 'Namespace') {
      obj.spec ??= { finalizers: ['kubernetes'] };
      obj.status ??= { phase: 'Active' };
    } else if (r.kind === 'PodDisruptionBudget' && viaHttp) {
      obj.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
    }
  }

  validate(r: Resource, obj: KubeObject, old?: KubeObject): void {
    if (!this.validation) return;
    const problems: Problem[] = [];
    const name = obj.metadata.name;
    if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
      problems.push({ field: 'metadata.name', reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character` });
    }
    r.check?.(obj, problems);
    if (old && r.kind === 'Pod' && !deepEqual(frozenPodSpec(old.spec), frozenPodSpec(obj.spec))) {
      problems.push({ field: 'spec', reason: 'FieldValueForbidden', message: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)' });
    }
    if (problems.length === 0) return;
    const texts = problems.map((p) => `${p.field}: ${p.message}`);
    throw new StatusError(422, `${r.kind} "${name}" is invalid: ${texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`}`, {
      name, ...(r.group ? { group: r.group } : {}), kind: r.kind, causes: problems.map((p) => ({ reason: p.reason, message: `${p.message}`, field: p.field })),
    });
  }

  /** Checks an incoming object's type and scope and fills kind, apiVersion and the namespace from the URL. */
  normalize(r: Resource, body: unknown, namespace: string | undefined): KubeObject {
    if (!isPlainObject(body)) throw new StatusError(400, `the body must be a ${r.kind} object`);
    if ((body.kind !== undefined && body.kind !== r.kind) || (body.apiVersion !== undefined && body.apiVersion !== r.apiVersion)) {
      throw new StatusError(400, `${String(body.kind)} in version "${String(body.apiVersion)}" cannot be handled as a ${r.kind}: expected kind ${r.kind}, apiVersion ${r.apiVersion}`);
    }
    checkMicroTimes(r, body);
    const metadata = body.metadata ?? {};
    if (!isPlainObject(metadata)) throw new StatusError(400, `${r.kind}.metadata must be an object`);
    if (namespace !== undefined && metadata.namespace !== undefined && metadata.namespace !== '' && metadata.namespace !== namespace) {
      throw new StatusError(400, 'the namespace of the provided object does not match the namespace sent on the request');
    }
    const obj = { ...body, apiVersion: r.apiVersion, kind: r.kind, metadata: { ...metadata } } as KubeObject;
    if (r.namespaced) {
      const ns = namespace ?? obj.metadata.namespace;
      if (typeof ns !== 'string' || ns === '') throw new StatusError(400, `a ${r.kind} must have metadata.namespace`);
      obj.metadata.namespace = ns;
    } else delete obj.metadata.namespace;
    if (obj.metadata.name !== undefined && typeof obj.metadata.name !== 'string') throw new StatusError(400, 'metadata.name must be a string');
    return obj;
  }

  create(r: Resource, obj: KubeObject, viaHttp: boolean): KubeObject {
    this.prepareCreate(r, obj, viaHttp);
    const name = obj.metadata.name;
    if (!name) {
      throw new StatusError(422, `${r.kind} "" is invalid: metadata.name: Required value: name or generateName is required`, {
        kind: r.kind, causes: [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }],
      });
    }
    if (this.store(r).has(keyOf(obj.metadata.namespace, name))) {
      throw new StatusError(409, `${groupResource(r)} "${name}" already exists`, { name, ...(r.group ? { group: r.group } : {}), kind: r.plural }, 'AlreadyExists');
    }
    this.validate(r, obj);
    return this.commit(r, 'ADDED', obj, undefined);
  }

  /**
   * Replace a stored object. `part`: 'main' keeps the stored status (kinds with a status subresource),
   * 'status' keeps all but the status, 'all' takes everything (direct update). Over HTTP a write that
   * changes nothing is answered with the stored object and bumps nothing, as in the apiserver.
   */
  replace(r: Resource, incoming: KubeObject, part: 'main' | 'status' | 'all', viaHttp: boolean): KubeObject {
    const { name, namespace } = incoming.metadata;
    const old = this.store(r).get(keyOf(namespace, name));
    if (!old) throw notFound(r, name);
    const rvIn = incoming.metadata.resourceVersion;
    if (viaHttp && rvIn !== undefined && rvIn !== '' && rvIn !== old.metadata.resourceVersion) {
      throw conflict(r, name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    let next: KubeObject;
    if (part === 'status') next = { ...old, metadata: { ...old.metadata }, status: incoming.status };
    else {
      next = { ...incoming, metadata: { ...incoming.metadata, uid: old.metadata.uid, creationTimestamp: old.metadata.creationTimestamp } };
      if (part === 'main' && r.hasStatus) next.status = old.status;
      if (old.metadata.deletionTimestamp !== undefined) next.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
    }
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (viaHttp && deepEqual(next, old)) return old;
    this.validate(r, next, part === 'main' ? old : undefined);
    return this.commit(r, 'MODIFIED', next, old);
  }

  remove(r: Resource, namespace: string | undefined, name: string): KubeObject {
    const old = this.store(r).get(keyOf(namespace, name));
    if (!old) throw notFound(r, name);
    return this.commit(r, 'DELETED', { ...old, metadata: { ...old.metadata } }, old);
  }
}

/** What an eviction of `pod` would do to the PodDisruptionBudget that selects it; a StatusError when refused. */
function checkDisruptionBudget(cluster: Cluster, pod: KubeObject): void {
  const status = (pod.status ?? {}) as Json;
  if (pod.metadata.deletionTimestamp || ['Succeeded', 'Failed', 'Pending'].includes(status.phase as string)) return;
  const ns = pod.metadata.namespace;
  const labelsOf = (o: KubeObject) => o.metadata.labels as Record<string, string> | undefined;
  const pdbs = [...cluster.store(byKind('PodDisruptionBudget')).values()]
    .filter((b) => b.metadata.namespace === ns && selectorObjectMatches((b.spec as Json | undefined)?.selector, labelsOf(pod)));
  if (pdbs.length > 1) throw new StatusError(500, "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
  const pdb = pdbs[0];
  if (!pdb) return;
  const spec = pdb.spec as Json;
  const isHealthy = (p: KubeObject): boolean => {
    const st = (p.status ?? {}) as Json;
    const ready = ((st.conditions ?? []) as Json[]).find((c) => c.type === 'Ready');
    return !p.metadata.deletionTimestamp && (ready ? ready.status === 'True' : st.phase === 'Running');
  };
  const selected = [...cluster.store(byKind('Pod')).values()]
    .filter((p) => p.metadata.namespace === ns && selectorObjectMatches(spec.selector, labelsOf(p)));
  const expected = selected.length;
  const healthy = selected.filter(isHealthy).length;
  const scaled = (v: unknown): number => (typeof v === 'string' && v.endsWith('%') ? Math.ceil((Number(v.slice(0, -1)) * expected) / 100) : Number(v));
  const desired = spec.minAvailable !== undefined ? scaled(spec.minAvailable) : spec.maxUnavailable !== undefined ? expected - scaled(spec.maxUnavailable) : 0;
  const allowed = isHealthy(pod) ? healthy - desired >= 1 : spec.unhealthyPodEvictionPolicy === 'AlwaysAllow' || healthy >= desired;
  if (allowed) return;
  throw new StatusError(429, "Cannot evict pod as it would violate the pod's disruption budget.", {
    causes: [{ reason: 'DisruptionBudget', message: `The disruption budget ${pdb.metadata.name} needs ${desired} healthy pods and has ${healthy} currently` }],
  });
}

const selectorFilter = (r: Resource, namespace: string | undefined, name: string | undefined, query: Record<string, string>): Filter => ({
  namespace, name, labels: parseLabelSelector(query.labelSelector ?? ''), fields: parseFieldSelector(query.fieldSelector ?? '', r.fields),
});

async function readJson(req: IncomingMessage, optional = false): Promise<unknown> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  if (bytes > MAX_BODY_BYTES) throw new StatusError(413, `the request body is ${bytes} bytes; the limit is ${MAX_BODY_BYTES}`);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') {
    if (optional) return undefined;
    throw new StatusError(400, 'the request body is empty');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new StatusError(400, `json parse error: ${(err as Error).message}`);
  }
}

function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function discovery(path: string, segs: string[]): Json | undefined {
  const groups = [...new Set(RESOURCES.filter((r) => r.group).map((r) => r.group))].map((name) => {
    const versions = [...new Set(RESOURCES.filter((r) => r.group === name).map((r) => r.version))].map((version) => ({ groupVersion: `${name}/${version}`, version }));
    return { name, versions, preferredVersion: versions[0] };
  });
  const resourceList = (group: string, version: string): Json | undefined => {
    const own = RESOURCES.filter((r) => r.group === group && r.version === version);
    if (own.length === 0) return undefined;
    const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
    const resources: Json[] = [];
    for (const r of own) {
      resources.push({ name: r.plural, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs, shortNames: r.shortNames, ...(r.kind === 'Pod' ? { categories: ['all'] } : {}) });
      if (r.hasStatus) resources.push({ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] });
      if (r.kind === 'Pod') {
        resources.push({ name: 'pods/binding', singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] });
        resources.push({ name: 'pods/eviction', singularName: '', namespaced: true, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] });
      }
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
  };
  if (path === '/version') {
    return { major: '1', minor: '32', gitVersion: 'v1.32.0', gitCommit: '0'.repeat(40), gitTreeState: 'clean', buildDate: '2024-12-11T00:00:00Z', goVersion: 'go1.23.3', compiler: 'gc', platform: 'linux/amd64' };
  }
  if (segs[0] === 'api' && segs.length === 1) return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (segs[0] === 'api' && segs.length === 2) return resourceList('', segs[1]!);
  if (segs[0] === 'apis' && segs.length === 1) return { kind: 'APIGroupList', apiVersion: 'v1', groups };
  if (segs[0] === 'apis' && segs.length === 2) {
    const g = groups.find((x) => x.name === segs[1]);
    return g ? { kind: 'APIGroup', apiVersion: 'v1', ...g } : undefined;
  }
  if (segs[0] === 'apis' && segs.length === 3) return resourceList(segs[1]!, segs[2]!);
  return undefined;
}

export async function startFakeApiServer(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const cluster = new Cluster(opts.validation ?? true, opts.historyEvents ?? 10_000);
  const bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 1000;
  const requests: FakeApiServer['requests'] = [];
  const faults: { method: string; path: RegExp; status: number; left: number }[] = [];
  const sockets = new Set<Socket>();

  function watch(r: Resource, namespace: string | undefined, name: string | undefined, query: Record<string, string>, res: ServerResponse): void {
    const filter = selectorFilter(r, namespace, name, query);
    const rvText = query.resourceVersion ?? '';
    const fromRv = rvText === '' || rvText === '0' ? undefined : Number(rvText);
    if (fromRv !== undefined && !Number.isSafeInteger(fromRv)) throw new StatusError(400, `resourceVersion: Invalid value: ${JSON.stringify(rvText)}`);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const watcher: Watcher = { ...filter, res };
    if (fromRv !== undefined && fromRv < cluster.floorRv) {
      const status = new StatusError(410, `too old resource version: ${fromRv} (${cluster.floorRv})`).body;
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    if (fromRv === undefined) {
      for (const obj of cluster.store(r).values()) {
        if (cluster.matches(watcher, obj)) cluster.send(watcher, `{"type":"ADDED","object":${JSON.stringify(obj)}}\n`);
      }
    } else {
      let lo = 0;
      let hi = cluster.history.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cluster.history[mid]!.rv <= fromRv) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < cluster.history.length; i++) if (cluster.history[i]!.resource === r) cluster.deliver(watcher, cluster.history[i]!);
    }
    const bookmark = (annotations?: Json) => cluster.send(watcher, `${JSON.stringify({
      type: 'BOOKMARK', object: { kind: r.kind, apiVersion: r.apiVersion, metadata: { resourceVersion: String(cluster.rv), ...(annotations ? { annotations } : {}) } },
    })}\n`);
    const bookmarks = query.allowWatchBookmarks === 'true';
    if (bookmarks && query.sendInitialEvents === 'true') bookmark({ 'k8s.io/initial-events-end': 'true' });
    const timers: NodeJS.Timeout[] = [];
    if (bookmarks) timers.push(setInterval(() => bookmark(), bookmarkIntervalMs));
    const timeoutSeconds = Number(query.timeoutSeconds);
    if (timeoutSeconds > 0) timers.push(setTimeout(() => res.end(), timeoutSeconds * 1000));
    cluster.watchers.get(r.kind)!.add(watcher);
    res.on('close', () => {
      cluster.watchers.get(r.kind)!.delete(watcher);
      for (const t of timers) clearInterval(t);
    });
  }

  function list(r: Resource, namespace: string | undefined, query: Record<string, string>, res: ServerResponse): void {
    const filter = selectorFilter(r, namespace, undefined, query);
    const items: Json[] = [];
    for (const obj of cluster.store(r).values()) {
      if (!cluster.matches(filter, obj)) continue;
      const { apiVersion: _apiVersion, kind: _kind, ...item } = obj;
      items.push(item);
    }
    sendJson(res, 200, { kind: `${r.kind}List`, apiVersion: r.apiVersion, metadata: { resourceVersion: String(cluster.rv) }, items });
  }

  async function patch(r: Resource, req: IncomingMessage, namespace: string | undefined, name: string, part: 'main' | 'status'): Promise<KubeObject> {
    const old = cluster.store(r).get(keyOf(namespace, name));
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    const patchBody = await readJson(req);
    if (!old) throw notFound(r, name);
    let patched: unknown;
    if (contentType === 'application/merge-patch+json' || contentType === 'application/strategic-merge-patch+json') {
      if (!isPlainObject(patchBody)) throw new StatusError(400, 'a merge patch must be a JSON object');
      patched = contentType === 'application/merge-patch+json' ? mergePatch(old, patchBody) : strategicMergePatch(old, patchBody);
    } else if (contentType === 'application/json-patch+json') patched = jsonPatch(old, patchBody);
    else throw new StatusError(415, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`);
    const obj = cluster.normalize(r, patched, namespace);
    if (obj.metadata.name !== name) throw new StatusError(400, `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    return cluster.replace(r, obj, part, true);
  }

  async function bind(req: IncomingMessage, namespace: string, name: string): Promise<Json> {
    const body = await readJson(req);
    if (!isPlainObject(body)) throw new StatusError(400, 'the body must be a Binding object');
    const bindingName = isPlainObject(body.metadata) ? body.metadata.name : undefined;
    if (bindingName !== undefined && bindingName !== name) throw new StatusError(400, 'name in URL does not match name in Binding object');
    const problems: Problem[] = [];
    if (cluster.validation) modelCheck(Binding)({ ...body, apiVersion: 'v1', kind: 'Binding' } as KubeObject, problems);
    const target = isPlainObject(body.target) ? body.target : {};
    if (typeof target.name !== 'string' || target.name === '') problems.push({ field: 'target.name', reason: 'FieldValueRequired', message: 'Required value' });
    if (target.kind !== undefined && target.kind !== '' && target.kind !== 'Node') problems.push({ field: 'target.kind', reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(target.kind)}: must be empty or 'Node'` });
    if (problems.length > 0) {
      throw new StatusError(422, `Binding "${name}" is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join(', ')}`, { name, kind: 'Binding', causes: problems });
    }
    const podResource = byKind('Pod');
    const pod = cluster.store(podResource).get(keyOf(namespace, name));
    if (!pod) throw notFound(podResource, name);
    const spec = (pod.spec ?? {}) as Json;
    const bindingConflict = (why: string) => new StatusError(409, `Operation cannot be fulfilled on pods/binding "${name}": ${why}`, { name, kind: 'pods/binding' });
    if (pod.metadata.deletionTimestamp) throw bindingConflict(`pod ${name} is being deleted, cannot be assigned to a host`);
    if (spec.nodeName) throw bindingConflict(`pod ${name} is already assigned to node ${JSON.stringify(spec.nodeName)}`);
    const status = (pod.status ?? {}) as Json;
    const conditions = ((status.conditions ?? []) as Json[]).filter((c) => c.type !== 'PodScheduled');
    const annotations = isPlainObject(body.metadata) && isPlainObject(body.metadata.annotations) ? body.metadata.annotations : {};
    cluster.commit(podResource, 'MODIFIED', {
      ...pod,
      metadata: { ...pod.metadata, ...(Object.keys(annotations).length ? { annotations: { ...(pod.metadata.annotations as Json), ...annotations } } : {}) },
      spec: { ...spec, nodeName: target.name },
      status: { ...status, conditions: [...conditions, { type: 'PodScheduled', status: 'True', lastTransitionTime: nowSeconds() }] },
    }, pod);
    return success(201);
  }

  async function evict(req: IncomingMessage, namespace: string, name: string): Promise<Json> {
    const body = await readJson(req);
    if (!isPlainObject(body)) throw new StatusError(400, 'the body must be an Eviction object');
    if (isPlainObject(body.metadata) && body.metadata.name !== undefined && body.metadata.name !== name) throw new StatusError(400, 'name in URL does not match name in Eviction object');
    const problems: Problem[] = [];
    if (cluster.validation) modelCheck(Eviction)({ ...body, apiVersion: 'policy/v1', kind: 'Eviction' } as KubeObject, problems);
    if (problems.length > 0) throw new StatusError(422, `Eviction "${name}" is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join(', ')}`, { name, kind: 'Eviction', causes: problems });
    const podResource = byKind('Pod');
    const pod = cluster.store(podResource).get(keyOf(namespace, name));
    if (!pod) throw notFound(podResource, name);
    checkDisruptionBudget(cluster, pod);
    cluster.remove(podResource, namespace, name);
    return success(201);
  }

  async function route(req: IncomingMessage, res: ServerResponse, path: string, query: Record<string, string>): Promise<void> {
    const method = req.method ?? 'GET';
    const segs = path.split('/').filter(Boolean);
    const found = discovery(path, segs);
    if (found && method === 'GET') return sendJson(res, 200, found);
    let rest: string[];
    let group = '';
    let version = 'v1';
    if (segs[0] === 'api' && segs[1] === 'v1') rest = segs.slice(2);
    else if (segs[0] === 'apis' && segs.length > 3) [group, version, rest] = [segs[1]!, segs[2]!, segs.slice(3)];
    else throw new StatusError(404, 'the server could not find the requested resource', {});
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && ['status', 'finalize'].includes(rest[2]!))) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [plural, name, sub, ...extra] = rest;
    const r = RESOURCES.find((x) => x.group === group && x.version === version && x.plural === plural);
    if (!r || extra.length > 0 || (namespace !== undefined && !r.namespaced) || (name !== undefined && r.namespaced && namespace === undefined)) {
      throw new StatusError(404, 'the server could not find the requested resource', {});
    }
    const isWatch = query.watch === 'true' || query.watch === '1';
    const notAllowed = () => new StatusError(405, 'the server does not allow this method on the requested resource', {});
    if (name === undefined) {
      if (method === 'GET') return isWatch ? watch(r, namespace, undefined, query, res) : list(r, namespace, query, res);
      if (method === 'POST' && (namespace !== undefined || !r.namespaced)) return sendJson(res, 201, cluster.create(r, cluster.normalize(r, await readJson(req), namespace), true));
      throw notAllowed();
    }
    if (sub === undefined || (sub === 'status' && r.hasStatus)) {
      const part = sub === 'status' ? 'status' : 'main';
      if (method === 'GET' && isWatch && sub === undefined) return watch(r, namespace, name, query, res);
      if (method === 'GET') {
        const obj = cluster.store(r).get(keyOf(namespace, name));
        if (!obj) throw notFound(r, name);
        return sendJson(res, 200, obj);
      }
      if (method === 'PUT') {
        const obj = cluster.normalize(r, await readJson(req), namespace);
        if (obj.metadata.name !== name) throw new StatusError(400, `the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${name})`);
        return sendJson(res, 200, cluster.replace(r, obj, part, true));
      }
      if (method === 'PATCH') return sendJson(res, 200, await patch(r, req, namespace, name, part));
      if (method === 'DELETE' && sub === undefined) {
        const options = await readJson(req, true);
        const old = cluster.store(r).get(keyOf(namespace, name));
        if (!old) throw notFound(r, name);
        const pre = isPlainObject(options) && isPlainObject(options.preconditions) ? options.preconditions : {};
        for (const field of ['uid', 'resourceVersion'] as const) {
          if (pre[field] !== undefined && pre[field] !== old.metadata[field]) {
            throw conflict(r, name, `Precondition failed: ${field === 'uid' ? 'UID' : 'ResourceVersion'} in precondition: ${String(pre[field])}, ${field === 'uid' ? 'UID' : 'ResourceVersion'} in object meta: ${String(old.metadata[field])}`);
          }
        }
        const gone = cluster.remove(r, namespace, name);
        // Pods answer with the deleted object (ReturnDeletedObject); other kinds with a Status.
        return sendJson(res, 200, r.kind === 'Pod' ? gone : success(200, { name, ...(r.group ? { group: r.group } : {}), kind: r.plural, uid: gone.metadata.uid }));
      }
      throw notAllowed();
    }
    if (r.kind === 'Pod' && (sub === 'binding' || sub === 'eviction')) {
      if (method !== 'POST') throw notAllowed();
      return sendJson(res, 201, sub === 'binding' ? await bind(req, namespace!, name) : await evict(req, namespace!, name));
    }
    throw new StatusError(404, 'the server could not find the requested resource', {});
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://fake');
      const query = Object.fromEntries(url.searchParams);
      const method = req.method ?? 'GET';
      requests.push({ method, path: url.pathname, query });
      const fault = faults.find((f) => f.method === method.toUpperCase() && ((f.path.lastIndex = 0), f.path.test(url.pathname)));
      if (fault) {
        if (--fault.left <= 0) faults.splice(faults.indexOf(fault), 1);
        req.resume();
        const retry: Record<string, string> = fault.status === 429 || fault.status === 503 ? { 'Retry-After': '1' } : {};
        return sendJson(res, fault.status, new StatusError(fault.status, `injected fault: ${fault.status} for ${method} ${url.pathname}`).body, retry);
      }
      await route(req, res, url.pathname, query);
    } catch (err) {
      const status = err instanceof StatusError ? err
        : err instanceof SemanticError ? new StatusError(err.code, err.message)
        : new StatusError(500, `internal error: ${(err as Error)?.message ?? String(err)}`);
      if (res.headersSent) res.destroy();
      else sendJson(res, status.code, status.body);
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  let connections = 0;
  server.on('connection', (socket: Socket) => {
    connections += 1;
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const copy = <T>(v: T): T => structuredClone(v);
  let closed = false;
  const stop = async (): Promise<void> => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  };

  return {
    url,
    requests,
    get connections() {
      return connections;
    },
    get validation() {
      return cluster.validation;
    },
    set validation(on: boolean) {
      cluster.validation = on;
    },
    kubeconfigYaml: () => [
      // client-node 2.x refuses plain http unless TLS verification is switched off for the cluster.
      'apiVersion: v1', 'kind: Config', 'clusters:', '- name: fake', '  cluster:', `    server: ${url}`, '    insecure-skip-tls-verify: true',
      'contexts:', '- name: fake', '  context:', '    cluster: fake', '    user: fake', '    namespace: default',
      'current-context: fake', 'users:', '- name: fake', '  user:', '    token: fake-token', '',
    ].join('\n'),
    create(obj) {
      const r = byKind(obj.kind);
      return copy(cluster.create(r, cluster.normalize(r, copy(obj), obj.metadata?.namespace), false));
    },
    update(obj) {
      const r = byKind(obj.kind);
      return copy(cluster.replace(r, cluster.normalize(r, copy(obj), obj.metadata?.namespace), 'all', false));
    },
    remove(kind, namespace, name) {
      cluster.remove(byKind(kind), namespace, name);
    },
    get(kind, namespace, name) {
      const obj = cluster.store(byKind(kind)).get(keyOf(namespace, name));
      return obj && copy(obj);
    },
    list: (kind) => [...cluster.store(byKind(kind)).values()].map(copy),
    compact: () => cluster.compact(),
    failNext(method, path, status, times = 1) {
      faults.push({ method: method.toUpperCase(), path, status, left: times });
    },
    stop,
    restart: async () => {
      if (closed) throw new Error('fake apiserver: restart() after close()');
      if (!server.listening) await listen(port);
    },
    close: async () => {
      closed = true;
      await stop();
    },
  };
}
