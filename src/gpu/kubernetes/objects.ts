// Why: the Kubernetes backend schedules pods onto the nodes the API server lists, with the same pure
// placement core as HTTP-API jobs. This maps the API's objects onto that core's vocabulary and back,
// with every rule in one place and table-tested: a Node with `nvidia.com/gpu` capacity is a NodeSpec
// (GPU model and memory from NVIDIA GPU feature discovery's labels, K80 boards from an annotation or
// the 2k/2k+1 default), a Pod for this scheduler is a placement request (whole GPUs from its limits,
// a share from hotpath's annotations, priority from its PriorityClass value, tenant from its namespace
// or a label, gang from its pod group), and the chosen devices become the annotation bound with it.
// Pure: objects in, data out (types only from @kubernetes/client-node).
import type { V1Node, V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';
import type { GpuDevice, NodeSpec, Placement, PlacementRequest } from '../placement/model.ts';
import type { Gang } from '../scheduling/pass.ts';

export const GPU_RESOURCE = 'nvidia.com/gpu';
/** GPU feature discovery's labels. */
export const PRODUCT_LABEL = 'nvidia.com/gpu.product';
export const MEMORY_LABEL = 'nvidia.com/gpu.memory';
const PREFIX = 'hotpath.254carbon.io';
/** Node annotation: the board id of each device, in device order (`0,0,1,1`: two K80 boards). */
export const BOARDS_ANNOTATION = `${PREFIX}/gpu-boards`;
/** Pod annotations asking for a share of one device (as HAMi's and Alibaba gpushare's do). */
export const GPU_MILLI_ANNOTATION = `${PREFIX}/gpu-milli`;
export const GPU_MEMORY_ANNOTATION = `${PREFIX}/gpu-memory-mib`;
/** Pod annotation hotpath writes before it binds: the devices chosen (`0,1`, or `2:500m:4096Mi` for a share). */
export const DEVICES_ANNOTATION = `${PREFIX}/gpu-devices`;
/** Pod label naming its tenant, when the namespace does not say. */
export const TENANT_LABEL = `${PREFIX}/tenant`;
/** Pod annotation: "false" keeps higher-priority work from evicting it. */
export const PREEMPTIBLE_ANNOTATION = `${PREFIX}/preemptible`;
/** The coscheduling plugin's pod-group label, and the min-member annotation used when no PodGroup object exists. */
export const POD_GROUP_LABEL = 'scheduling.x-k8s.io/pod-group';
export const MIN_MEMBER_ANNOTATION = `${PREFIX}/pod-group-min-member`;

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/**
 * A Kubernetes quantity (`500m`, `2`, `1.5Gi`, `128974848`, `129e6`) as a number of base units; undefined
 * when it is not one. (client-node's quantityToScalar refuses decimals with a suffix, such as `1.5Gi`.)
 */
export function parseQuantity(q: string | undefined): number | undefined {
  if (q === undefined) return undefined;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  if (/^[eE]/.test(suffix)) return n * 10 ** Number(suffix.slice(1));
  return n * (BINARY[suffix] ?? DECIMAL[suffix] ?? NaN);
}

const MIB = 2 ** 20;

/** The GPU model as hotpath names it: GFD's product without the vendor prefix (`Tesla-K80` -> `K80`). */
export function gpuModelOf(product: string | undefined): string {
  if (!product) return 'unknown';
  return product.replace(/^(?:NVIDIA[-_ ])?(?:Tesla[-_ ])?/i, '') || product;
}

export interface NodeView {
  spec: NodeSpec;
  /** Takes new work: not cordoned and Ready. */
  schedulable: boolean;
  /** Why not ("kind: detail"), for the filter's reasons. */
  unschedulableReason?: string;
  taints: V1Taint[];
}

/** A Node as the cluster model sees it; undefined for a node without GPUs (hotpath does not schedule there). */
export function nodeViewOf(node: V1Node): NodeView | undefined {
  const name = node.metadata?.name;
  const gpuCount = Math.floor(parseQuantity(node.status?.allocatable?.[GPU_RESOURCE] ?? node.status?.capacity?.[GPU_RESOURCE]) ?? 0);
  if (!name || gpuCount <= 0) return undefined;
  const labels = node.metadata?.labels ?? {};
  const model = gpuModelOf(labels[PRODUCT_LABEL]);
  const memoryMiB = Math.floor(Number(labels[MEMORY_LABEL] ?? '0')) || 0;
  const boards = boardsOf(node.metadata?.annotations?.[BOARDS_ANNOTATION], gpuCount, model);
  const gpus: GpuDevice[] = Array.from({ length: gpuCount }, (_v, index) => ({ index, model, memoryMiB, milli: 1000, boardId: boards[index] }));
  const cpu = parseQuantity(node.status?.allocatable?.cpu ?? node.status?.capacity?.cpu) ?? 0;
  const memory = parseQuantity(node.status?.allocatable?.memory ?? node.status?.capacity?.memory) ?? 0;
  const spec: NodeSpec = { name, cpuMilli: Math.floor(cpu * 1000), memoryMiB: Math.floor(memory / MIB), labels: { ...labels }, gpus };
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const taints = node.spec?.taints ?? [];
  if (node.spec?.unschedulable) return { spec, schedulable: false, unschedulableReason: 'unschedulable: node is cordoned (spec.unschedulable)', taints };
  if (ready !== undefined && ready.status !== 'True') return { spec, schedulable: false, unschedulableReason: `not-ready: node is not Ready (${ready.reason ?? ready.status})`, taints };
  return { spec, schedulable: true, taints };
}

/** Board ids from the annotation, else K80's pairs (devices 2k and 2k+1 are board k), else unknown. */
function boardsOf(annotation: string | undefined, count: number, model: string): (number | undefined)[] {
  const given = annotation?.split(',').map((s) => Number(s.trim()));
  if (given && given.length === count && given.every((b) => Number.isInteger(b) && b >= 0)) return given;
  return Array.from({ length: count }, (_v, i) => (model === 'K80' ? i >> 1 : undefined));
}

/**
 * A PriorityClass value (int32; user classes up to 1e9, system ones about 2e9) on hotpath's scale
 * (-1000..1000, higher first): values within ±500 are kept as they are; beyond, the magnitude grows
 * logarithmically from 500 to 1000 at 2e9, so the order of classes is kept (1000 -> 523, 1e6 -> 750,
 * 1e9 -> 977). No priority is 0.
 */
export function priorityOf(value: number | undefined): number {
  if (value === undefined || !Number.isFinite(value)) return 0;
  const magnitude = Math.abs(value);
  if (magnitude <= 500) return Math.round(value);
  const scaled = 500 + (500 * Math.log10(magnitude / 500)) / Math.log10(2e9 / 500);
  return Math.sign(value) * Math.min(1000, Math.round(scaled));
}

/** A placement request as a pod gives it (the job id comes later), and what only pods say. */
export interface PodRequest extends Omit<PlacementRequest, 'id' | 'gpuModels'> {
  preemptible: boolean;
  /** The pod group, when it has one (minMember resolved). */
  gang?: Gang;
}

export interface PodContext {
  /** Tenant of a namespace (the tenants configuration); undefined: the namespace names the tenant itself. */
  tenantOfNamespace: (namespace: string) => string | undefined;
  /** minMember of the PodGroup `namespace/name`, when such an object exists. */
  podGroupMinMember: (namespace: string, name: string) => number | undefined;
}

export type PodMapping = { ok: true; request: PodRequest } | { ok: false; reason: string };

/** A container resource summed over the containers, and raised to any init container's (they run one at a time). */
function resourceOf(pod: V1Pod, kind: 'requests' | 'limits', resource: string): number | undefined {
  let sum = 0;
  let any = false;
  for (const c of pod.spec?.containers ?? []) {
    const q = c.resources?.[kind]?.[resource];
    if (q === undefined) continue;
    const v = parseQuantity(q);
    if (v === undefined) return NaN;
    sum += v;
    any = true;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    const v = parseQuantity(c.resources?.[kind]?.[resource]);
    if (v !== undefined) {
      sum = Math.max(sum, v);
      any = true;
    }
  }
  return any ? sum : undefined;
}

/** What a pod asks of the scheduler, or why it cannot be scheduled by it at all (a clear, fixed reason). */
export function podRequestOf(pod: V1Pod, ctx: PodContext): PodMapping {
  const namespace = pod.metadata?.namespace ?? 'default';
  const annotations = pod.metadata?.annotations ?? {};
  const labels = pod.metadata?.labels ?? {};
  const fail = (reason: string): PodMapping => ({ ok: false, reason });
  const gpus = resourceOf(pod, 'limits', GPU_RESOURCE) ?? resourceOf(pod, 'requests', GPU_RESOURCE);
  if (gpus !== undefined && (!Number.isInteger(gpus) || gpus < 0)) return fail(`${GPU_RESOURCE} must be a whole number of devices`);
  const milliText = annotations[GPU_MILLI_ANNOTATION];
  const memText = annotations[GPU_MEMORY_ANNOTATION];
  const gpuMilli = milliText === undefined ? undefined : Number(milliText);
  const gpuMemoryMiB = memText === undefined ? undefined : Number(memText);
  if (gpuMilli !== undefined && (!Number.isInteger(gpuMilli) || gpuMilli < 1 || gpuMilli > 1000)) return fail(`${GPU_MILLI_ANNOTATION} must be an integer 1..1000, got "${milliText}"`);
  if (gpuMemoryMiB !== undefined && (!Number.isInteger(gpuMemoryMiB) || gpuMemoryMiB < 1)) return fail(`${GPU_MEMORY_ANNOTATION} must be a positive integer (MiB), got "${memText}"`);
  if ((gpuMilli !== undefined || gpuMemoryMiB !== undefined) && gpus !== undefined && gpus > 0) {
    return fail(`a pod asks either whole GPUs (${GPU_RESOURCE} limits) or a share (${GPU_MILLI_ANNOTATION}/${GPU_MEMORY_ANNOTATION}), not both`);
  }
  const cpu = resourceOf(pod, 'requests', 'cpu');
  const memory = resourceOf(pod, 'requests', 'memory');
  if (Number.isNaN(cpu) || Number.isNaN(memory)) return fail('a cpu or memory request is not a Kubernetes quantity');
  const tenant = labels[TENANT_LABEL] ?? ctx.tenantOfNamespace(namespace) ?? namespace;
  const request: PodRequest = {
    tenant,
    priority: priorityOf(pod.spec?.priority),
    cpuMilli: Math.ceil((cpu ?? 0) * 1000),
    memoryMiB: Math.ceil((memory ?? 0) / MIB),
    preemptible: annotations[PREEMPTIBLE_ANNOTATION] !== 'false',
  };
  if (gpus !== undefined && gpus > 0) request.gpus = gpus;
  if (gpuMilli !== undefined) request.gpuMilli = gpuMilli;
  if (gpuMemoryMiB !== undefined) request.gpuMemoryMiB = gpuMemoryMiB;
  const group = labels[POD_GROUP_LABEL];
  if (group !== undefined) {
    const fromObject = ctx.podGroupMinMember(namespace, group);
    const fromAnnotation = annotations[MIN_MEMBER_ANNOTATION] === undefined ? undefined : Number(annotations[MIN_MEMBER_ANNOTATION]);
    const minMember = fromObject ?? fromAnnotation ?? 1;
    if (!Number.isInteger(minMember) || minMember < 1) return fail(`pod group ${group}: minMember must be a positive integer`);
    request.gang = { id: `${namespace}/${group}`, minMember };
  }
  return { ok: true, request };
}

/** Whether a toleration tolerates a taint (Kubernetes' rules: key, operator Equal/Exists, effect). */
export function tolerates(t: V1Toleration, taint: V1Taint): boolean {
  if (t.effect !== undefined && t.effect !== '' && t.effect !== taint.effect) return false;
  if (t.operator === 'Exists') return t.key === undefined || t.key === '' || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/**
 * Whether `pod` may run on `node` apart from resources, or why not ("kind: detail", as the pass counts
 * reasons by kind): the node takes new work, the pod's nodeSelector matches its labels, and every
 * NoSchedule/NoExecute taint is tolerated.
 */
export function nodeAdmits(pod: V1Pod, node: NodeView): { ok: true } | { ok: false; reason: string } {
  if (!node.schedulable) return { ok: false, reason: node.unschedulableReason ?? 'unschedulable: node takes no new work' };
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) {
    if (node.spec.labels[k] !== v) return { ok: false, reason: `selector: node(s) didn't match Pod's node affinity/selector (${k}=${v})` };
  }
  for (const taint of node.taints) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!(pod.spec?.tolerations ?? []).some((t) => tolerates(t, taint))) return { ok: false, reason: `taint: node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}` };
  }
  return { ok: true };
}

/** The device annotation for a placement: whole devices as `0,1`; a share as `2:500m:4096Mi`. */
export function devicesAnnotation(placement: Placement): string {
  return placement.devices
    .map((d) => (d.milli >= 1000 && placement.exclusive ? String(d.gpuIndex) : `${d.gpuIndex}:${d.milli}m:${d.memoryMiB}Mi`))
    .join(',');
}

/** The placement a bound pod's annotation records (restart: rebuilt from the API), or undefined when malformed. */
export function placementFromAnnotation(requestId: string, node: string, text: string, request: { cpuMilli: number; memoryMiB: number }): Placement | undefined {
  const devices: Placement['devices'] = [];
  let exclusive = true;
  for (const part of text.split(',')) {
    const whole = /^(\d+)$/.exec(part.trim());
    const share = /^(\d+):(\d+)m:(\d+)Mi$/.exec(part.trim());
    if (whole) devices.push({ gpuIndex: Number(whole[1]), milli: 1000, memoryMiB: 0 });
    else if (share) {
      exclusive = false;
      devices.push({ gpuIndex: Number(share[1]), milli: Number(share[2]), memoryMiB: Number(share[3]) });
    } else return undefined;
  }
  if (devices.length === 0) return undefined;
  return { requestId, node, cpuMilli: request.cpuMilli, memoryMiB: request.memoryMiB, devices, ...(exclusive ? { exclusive: true } : {}) };
}
