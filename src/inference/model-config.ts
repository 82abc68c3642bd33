// Why: the models hotpath serves on /v2 and how each is batched, from HOTPATH_INFERENCE_MODELS (JSON, or
// its _FILE): Triton's dynamic-batcher knobs by their Triton names, so an operator who knows Triton knows
// these, plus the SLO-aware policy and the replicas. Unset: the embedded default, a simulated ResNet-50
// on two simulated K80 devices. Pure: a bad value is a ConfigError naming the model and the field.
import { ConfigError } from '../shared/config-error.ts';
import { NO_TIMEOUT_POLICY, type QueueConfig, type QueuePolicy } from './batching/queue.ts';
import { aimd, fixedDelay, noBatching, sloAware, type BatchPolicy } from './batching/policies.ts';
import type { Signature, TensorSpec } from './oip.ts';
import { SIMULATED_INPUT, SIMULATED_OUTPUT } from './replica.ts';

export type BatchingKind = 'slo-aware' | 'fixed' | 'aimd' | 'none';

export interface ModelSpec {
  name: string;
  version: string;
  queue: QueueConfig;
  batching: BatchingKind;
  preferredBatchSizes: number[];
  maxQueueDelayMs: number;
  /** The p99 latency objective: each request's deadline; Infinity for none. */
  sloP99Ms: number;
  replicas: { kind: 'simulated'; count: number; deviceShare: number } | { kind: 'upstream'; urls: string[]; model: string; version?: string; deviceShare: number; timeoutMs: number };
  /** The model's inputs and outputs: given for an upstream model, the simulated model's own otherwise. */
  signature: Signature;
  /** Each replica as a GPU job of hotpath's scheduler (its share: deviceShare of a device). */
  gpu?: { tenant: string; gpuMemoryMiB: number; priority: number; preemptible: boolean };
  /** Replicas between min and max by load (autoscale.ts); the pool is maxReplicas. */
  autoscaling?: { minReplicas: number; maxReplicas: number; targetUtilization: number; scaleDownDelayMs: number };
}

/** Replicas the model's pool holds (the most that may serve). */
export const poolSize = (m: ModelSpec): number => m.autoscaling?.maxReplicas ?? (m.replicas.kind === 'simulated' ? m.replicas.count : m.replicas.urls.length);

export const DEFAULT_MODELS_JSON = JSON.stringify({
  resnet50: { maxBatchSize: 32, batching: 'slo-aware', sloP99Ms: 300, replicas: { simulated: { count: 2, deviceShare: 1 } } },
});

const VAR = 'HOTPATH_INFERENCE_MODELS';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function int(where: string, v: unknown, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ConfigError(`${VAR}: ${where} must be an integer ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
}

function queuePolicy(where: string, v: unknown): QueuePolicy {
  if (v === undefined) return NO_TIMEOUT_POLICY;
  if (!isObject(v)) throw new ConfigError(`${VAR}: ${where} must be an object {timeoutAction, defaultTimeoutMs, allowTimeoutOverride, maxQueueSize}`);
  const unknown = Object.keys(v).filter((k) => !['timeoutAction', 'defaultTimeoutMs', 'allowTimeoutOverride', 'maxQueueSize'].includes(k));
  if (unknown.length > 0) throw new ConfigError(`${VAR}: ${where} has unknown fields ${unknown.join(', ')}`);
  const action = v.timeoutAction ?? 'reject';
  if (action !== 'reject' && action !== 'delay') throw new ConfigError(`${VAR}: ${where}.timeoutAction must be "reject" or "delay"`);
  if (v.allowTimeoutOverride !== undefined && typeof v.allowTimeoutOverride !== 'boolean') throw new ConfigError(`${VAR}: ${where}.allowTimeoutOverride must be true or false`);
  return {
    timeoutAction: action,
    defaultTimeoutMs: int(`${where}.defaultTimeoutMs`, v.defaultTimeoutMs, 0, 3_600_000, 0),
    allowTimeoutOverride: v.allowTimeoutOverride ?? true,
    maxQueueSize: int(`${where}.maxQueueSize`, v.maxQueueSize, 0, 1_000_000, 0),
  };
}

const MODEL_FIELDS = ['version', 'maxBatchSize', 'preferredBatchSizes', 'maxQueueDelayMs', 'batching', 'sloP99Ms', 'priorityLevels', 'defaultPriorityLevel', 'defaultQueuePolicy', 'priorityQueuePolicy', 'replicas', 'inputs', 'outputs', 'gpu', 'autoscaling'];
const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'];

function tensorSpecs(where: string, v: unknown): TensorSpec[] {
  if (!Array.isArray(v) || v.length === 0) throw new ConfigError(`${VAR}: ${where} must be a non-empty list of {name, datatype, shape}`);
  return v.map((t, i) => {
    if (!isObject(t) || typeof t.name !== 'string' || t.name === '') throw new ConfigError(`${VAR}: ${where}[${i}] needs a name`);
    if (typeof t.datatype !== 'string' || !DATATYPES.includes(t.datatype)) throw new ConfigError(`${VAR}: ${where}[${i}].datatype must be one of ${DATATYPES.join(', ')}`);
    const shape = t.shape;
    if (!Array.isArray(shape) || shape.length < 1 || shape[0] !== -1 || shape.slice(1).some((d) => !Number.isInteger(d) || d < 1)) {
      throw new ConfigError(`${VAR}: ${where}[${i}].shape must start with -1 (the batch) followed by positive sizes, like [-1, 3, 224, 224]`);
    }
    return { name: t.name, datatype: t.datatype, shape: shape as number[] };
  });
}

function replicasOf(name: string, reps: unknown): ModelSpec['replicas'] {
  const usage = `${VAR}: ${name}.replicas must be {"simulated": {"count", "deviceShare"}} or {"upstream": {"urls", "model"?, "version"?, "deviceShare"?, "timeoutMs"?}}`;
  if (!isObject(reps) || Object.keys(reps).length !== 1) throw new ConfigError(usage);
  const [kind, r] = Object.entries(reps)[0]!;
  if ((kind !== 'simulated' && kind !== 'upstream') || !isObject(r)) throw new ConfigError(usage);
  const share = r.deviceShare ?? 1;
  if (typeof share !== 'number' || !(share > 0 && share <= 1)) throw new ConfigError(`${VAR}: ${name}.replicas.${kind}.deviceShare must be in (0, 1]`);
  if (kind === 'simulated') return { kind, count: int(`${name}.replicas.simulated.count`, r.count, 1, 1024, 1), deviceShare: share };
  const urls = r.urls;
  if (!Array.isArray(urls) || urls.length === 0) throw new ConfigError(`${VAR}: ${name}.replicas.upstream.urls must be a non-empty list of http(s) URLs`);
  for (const u of urls) {
    let ok = false;
    try {
      ok = typeof u === 'string' && ['http:', 'https:'].includes(new URL(u).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new ConfigError(`${VAR}: ${name}.replicas.upstream.urls: ${JSON.stringify(u)} is not an http(s) URL`);
  }
  if (r.model !== undefined && typeof r.model !== 'string') throw new ConfigError(`${VAR}: ${name}.replicas.upstream.model must be a string`);
  if (r.version !== undefined && typeof r.version !== 'string') throw new ConfigError(`${VAR}: ${name}.replicas.upstream.version must be a string`);
  return {
    kind,
    urls: urls as string[],
    model: (r.model as string | undefined) ?? name,
    ...(r.version !== undefined ? { version: r.version as string } : {}),
    deviceShare: share,
    timeoutMs: int(`${name}.replicas.upstream.timeoutMs`, r.timeoutMs, 100, 600_000, 30_000),
  };
}

export function parseModels(text: string): ModelSpec[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${VAR}: not JSON (${(err as Error).message})`);
  }
  if (!isObject(raw)) throw new ConfigError(`${VAR}: expected an object of model name -> settings`);
  return Object.entries(raw).map(([name, m]) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw new ConfigError(`${VAR}: model name ${JSON.stringify(name)} must be 1-64 letters, digits, '.', '_' or '-'`);
    if (!isObject(m)) throw new ConfigError(`${VAR}: ${name} must be an object`);
    const unknown = Object.keys(m).filter((k) => !MODEL_FIELDS.includes(k));
    if (unknown.length > 0) throw new ConfigError(`${VAR}: ${name} has unknown fields ${unknown.join(', ')} (known: ${MODEL_FIELDS.join(', ')})`);
    const maxBatchSize = int(`${name}.maxBatchSize`, m.maxBatchSize, 1, 4096, 32);
    const levels = int(`${name}.priorityLevels`, m.priorityLevels, 1, 100, 2);
    const defaultLevel = int(`${name}.defaultPriorityLevel`, m.defaultPriorityLevel, 1, levels, levels);
    const preferred = m.preferredBatchSizes ?? [];
    if (!Array.isArray(preferred) || preferred.some((p) => !Number.isInteger(p) || p < 1 || p > maxBatchSize)) {
      throw new ConfigError(`${VAR}: ${name}.preferredBatchSizes must be a list of integers 1..maxBatchSize (${maxBatchSize})`);
    }
    const batching = m.batching ?? 'slo-aware';
    if (!['slo-aware', 'fixed', 'aimd', 'none'].includes(batching as string)) throw new ConfigError(`${VAR}: ${name}.batching must be slo-aware, fixed, aimd or none`);
    const slo = m.sloP99Ms === undefined ? Infinity : int(`${name}.sloP99Ms`, m.sloP99Ms, 1, 3_600_000, 0);
    if ((batching === 'slo-aware' || batching === 'aimd') && slo === Infinity) throw new ConfigError(`${VAR}: ${name}.sloP99Ms is required with batching ${batching}`);
    const perLevel = m.priorityQueuePolicy ?? {};
    if (!isObject(perLevel)) throw new ConfigError(`${VAR}: ${name}.priorityQueuePolicy must be an object of level -> policy`);
    const defaultPolicy = queuePolicy(`${name}.defaultQueuePolicy`, m.defaultQueuePolicy);
    const policies = Array.from({ length: levels }, (_, i) => (perLevel[String(i + 1)] !== undefined ? queuePolicy(`${name}.priorityQueuePolicy.${i + 1}`, perLevel[String(i + 1)]) : defaultPolicy));
    const badLevel = Object.keys(perLevel).find((k) => !(Number(k) >= 1 && Number(k) <= levels && Number.isInteger(Number(k))));
    if (badLevel !== undefined) throw new ConfigError(`${VAR}: ${name}.priorityQueuePolicy has level ${badLevel}, not one of 1..${levels}`);
    const replicas = replicasOf(name, m.replicas);
    if (replicas.kind === 'simulated' && (m.inputs !== undefined || m.outputs !== undefined)) {
      throw new ConfigError(`${VAR}: ${name}: a simulated model has its own inputs and outputs (input FP32 [-1, 8] -> scores FP32 [-1, 4]); leave inputs and outputs out`);
    }
    const signature: Signature =
      replicas.kind === 'simulated' ? { inputs: [SIMULATED_INPUT], outputs: [SIMULATED_OUTPUT] } : { inputs: tensorSpecs(`${name}.inputs`, m.inputs), outputs: tensorSpecs(`${name}.outputs`, m.outputs) };
    const version = m.version ?? '1';
    if (typeof version !== 'string' || !/^[A-Za-z0-9._-]{1,32}$/.test(version)) throw new ConfigError(`${VAR}: ${name}.version must be a short string`);
    let gpu: ModelSpec['gpu'];
    if (m.gpu !== undefined) {
      const g = m.gpu;
      if (!isObject(g) || typeof g.tenant !== 'string' || g.tenant === '') throw new ConfigError(`${VAR}: ${name}.gpu must be {"tenant", "gpuMemoryMiB", "priority"?, "preemptible"?}`);
      if (g.preemptible !== undefined && typeof g.preemptible !== 'boolean') throw new ConfigError(`${VAR}: ${name}.gpu.preemptible must be true or false`);
      gpu = {
        tenant: g.tenant,
        gpuMemoryMiB: int(`${name}.gpu.gpuMemoryMiB`, g.gpuMemoryMiB, 1, 1_048_576, 4096),
        priority: int(`${name}.gpu.priority`, g.priority, -1000, 1000, 0),
        preemptible: g.preemptible ?? false,
      };
    }
    let autoscaling: ModelSpec['autoscaling'];
    if (m.autoscaling !== undefined) {
      const a = m.autoscaling;
      if (!isObject(a)) throw new ConfigError(`${VAR}: ${name}.autoscaling must be {"minReplicas", "maxReplicas", "targetUtilization"?, "scaleDownDelayMs"?}`);
      const most = replicas.kind === 'upstream' ? replicas.urls.length : 1024;
      const max = int(`${name}.autoscaling.maxReplicas`, a.maxReplicas, 1, most, most === 1024 ? 1 : most);
      const min = int(`${name}.autoscaling.minReplicas`, a.minReplicas, 0, max, Math.min(1, max));
      const target = a.targetUtilization ?? 0.7;
      if (typeof target !== 'number' || !(target > 0 && target <= 1)) throw new ConfigError(`${VAR}: ${name}.autoscaling.targetUtilization must be in (0, 1]`);
      autoscaling = { minReplicas: min, maxReplicas: max, targetUtilization: target, scaleDownDelayMs: int(`${name}.autoscaling.scaleDownDelayMs`, a.scaleDownDelayMs, 0, 86_400_000, 60_000) };
    }
    return {
      ...(autoscaling !== undefined ? { autoscaling } : {}),
      ...(gpu !== undefined ? { gpu } : {}),
      name,
      version,
      queue: { maxBatchSize, priorityLevels: levels, defaultPriorityLevel: defaultLevel, policies, defaultPolicy },
      batching: batching as BatchingKind,
      preferredBatchSizes: preferred as number[],
      maxQueueDelayMs: int(`${name}.maxQueueDelayMs`, m.maxQueueDelayMs, 0, 60_000, 0),
      sloP99Ms: slo,
      replicas,
      signature,
    };
  });
}

/** A fresh policy for `m` (policies keep state: one per model). */
export function policyOf(m: ModelSpec): BatchPolicy {
  switch (m.batching) {
    case 'none':
      return noBatching();
    case 'fixed':
      return fixedDelay({ maxQueueDelayMs: m.maxQueueDelayMs, preferredBatchSizes: m.preferredBatchSizes });
    case 'aimd':
      return aimd({ sloMs: m.sloP99Ms });
    case 'slo-aware':
      return sloAware();
  }
}
