// Why: `npm run charts:check`: every chart x every environment linted (--strict) and rendered by a real
// helm; every rendered object valid against its schema; the rules every workload must follow (probes,
// resources, non-root, read-only root); PDBs, HPAs and Services that point at what the same render makes;
// values the schema must refuse; and the generated rule and dashboard files up to date.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GENERATED } from '../../scripts/charts-generate.ts';
import { CHARTS, ENVIRONMENTS, helm, podTemplates, refusal, render, ROOT, runHelm, schemaProblem, selects, type K8sObject } from './helm.ts';

beforeAll(() => void helm(), 120_000);

const matrix = CHARTS.flatMap((chart) => [undefined, ...ENVIRONMENTS].map((env) => [chart, env ?? 'defaults'] as const));
const envOf = (env: string) => (env === 'defaults' ? undefined : env);

describe.each(matrix)('%s with %s values', (chart, env) => {
  let objects: K8sObject[];
  beforeAll(() => void (objects = render(chart, envOf(env))));

  it('passes helm lint --strict', () => {
    const args = ['lint', '--strict', join('helm', chart)];
    if (envOf(env) !== undefined) args.push('-f', join('helm', chart, 'values', `${env}.yaml`));
    const r = runHelm(args);
    expect(r.stderr + r.stdout).toContain('0 chart(s) failed');
    expect(r.status).toBe(0);
  });

  it('renders only objects valid against their schemas', async () => {
    expect(objects.length).toBeGreaterThan(0);
    const problems = (await Promise.all(objects.map(schemaProblem))).filter((p) => p !== undefined);
    expect(problems).toEqual([]);
  });

  it('gives every pod resources and a non-root user; services probes and a read-only root too', () => {
    for (const t of podTemplates(objects)) {
      for (const c of t.spec.containers) {
        const where = `${t.owner} container ${c.name}`;
        expect(c.resources?.requests?.cpu, `${where}: cpu request`).toBeDefined();
        expect(c.resources?.requests?.memory, `${where}: memory request`).toBeDefined();
        expect(c.resources?.limits?.memory, `${where}: memory limit`).toBeDefined();
        expect(c.securityContext?.runAsNonRoot ?? t.spec.securityContext?.runAsNonRoot, `${where}: runAsNonRoot`).toBe(true);
        expect(c.securityContext?.allowPrivilegeEscalation, `${where}: allowPrivilegeEscalation`).toBe(false);
        if (t.role === 'ray') continue; // KubeRay adds its probes; Ray writes its runtime environments under the home folder
        expect(c.securityContext?.readOnlyRootFilesystem, `${where}: readOnlyRootFilesystem`).toBe(true);
        if (t.role === 'job') continue;
        expect(c.readinessProbe, `${where}: readinessProbe`).toBeDefined();
        expect(c.livenessProbe, `${where}: livenessProbe`).toBeDefined();
      }
    }
  });

  it('has PDBs, HPAs and Services that point at workloads of the same render', () => {
    const workloads = objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind));
    const podLabels = podTemplates(objects).map((t) => t.labels);
    for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
      expect(podLabels.some((l) => selects(pdb.spec.selector.matchLabels, l)), `PDB ${pdb.metadata.name} selects no pods`).toBe(true);
    }
    for (const svc of objects.filter((o) => o.kind === 'Service')) {
      expect(podLabels.some((l) => selects(svc.spec.selector, l)), `Service ${svc.metadata.name} selects no pods`).toBe(true);
    }
    for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
      const t = hpa.spec.scaleTargetRef;
      expect(workloads.some((w) => w.kind === t.kind && w.metadata.name === t.name), `HPA ${hpa.metadata.name} targets ${t.kind}/${t.name}`).toBe(true);
      const target = workloads.find((w) => w.metadata.name === t.name)!;
      expect(target.spec.replicas, 'a Deployment under an HPA leaves replicas to it').toBeUndefined();
    }
    for (const np of objects.filter((o) => o.kind === 'NetworkPolicy')) {
      expect(podLabels.some((l) => selects(np.spec.podSelector.matchLabels, l)), `NetworkPolicy ${np.metadata.name} selects no pods`).toBe(true);
    }
  });
});

describe('hotpath chart specifics', () => {
  it('renders the scheduler RBAC only with the kubernetes backend, and the Lease role only with that election', () => {
    const kinds = (sets: Record<string, string>) => render('hotpath', undefined, sets).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds({})).toEqual(expect.arrayContaining(['ClusterRole/hotpath-gpu-scheduler', 'Role/hotpath-gpu-election']));
    const staticBackend = kinds({ 'gpu.backend': 'static', 'gpu.election': 'redis' });
    expect(staticBackend.filter((k) => /^(Cluster)?Role/.test(k))).toEqual([]);
    const redisElection = kinds({ 'gpu.election': 'redis' });
    expect(redisElection).toContain('ClusterRole/hotpath-gpu-scheduler');
    expect(redisElection.some((k) => k.startsWith('Role/'))).toBe(false);
  });

  it('grants the scheduler exactly the API calls the kubernetes backend makes', () => {
    const role = render('hotpath').find((o) => o.kind === 'ClusterRole')!;
    const grants = new Set<string>(role.rules.flatMap((r: { resources: string[]; verbs: string[] }) => r.resources.flatMap((res) => r.verbs.map((v) => `${res}:${v}`))));
    for (const need of ['nodes:watch', 'pods:watch', 'pods:patch', 'pods/binding:create', 'pods/status:patch', 'pods/eviction:create', 'events:create', 'podgroups:get']) expect(grants).toContain(need);
    expect(grants.has('pods:delete')).toBe(false);
    expect(grants.has('secrets:get')).toBe(false);
  });

  it('drains within the termination grace: preStop sleep plus HOTPATH_SHUTDOWN_GRACE_MS fit in it', () => {
    for (const env of ENVIRONMENTS) {
      const d = render('hotpath', env).find((o) => o.kind === 'Deployment')!;
      const pod = d.spec.template.spec;
      const c = pod.containers[0];
      const graceMs = Number(c.env.find((e: { name: string }) => e.name === 'HOTPATH_SHUTDOWN_GRACE_MS').value);
      const preStopS = Number(c.lifecycle.preStop.exec.command[1]);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStopS + graceMs / 1000);
    }
  });

  it('with externalSecret, the ExternalSecret makes the Secret the pods mount, one key per file hotpath reads', () => {
    const objects = render('hotpath', 'prod');
    const es = objects.find((o) => o.kind === 'ExternalSecret')!;
    const d = objects.find((o) => o.kind === 'Deployment')!;
    const vol = d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'secrets');
    expect(vol.secret.secretName).toBe(es.spec.target.name);
    const env = Object.fromEntries(d.spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));
    const keys = es.spec.data.map((x: { secretKey: string }) => x.secretKey);
    expect(keys.sort()).toEqual(['auth-passwords.json', 'redis-url']);
    expect(env.HOTPATH_AUTH_PASSWORDS_FILE).toBe('/etc/hotpath/secrets/auth-passwords.json');
    expect(env.REDIS_URL_FILE).toBe('/etc/hotpath/secrets/redis-url');
    expect(es.metadata.annotations?.['argocd.argoproj.io/sync-wave']).toBe('-1');
  });

  it('with vaultAgent, the injector annotations name a Vault template for each file hotpath reads', () => {
    const d = render('hotpath', 'staging').find((o) => o.kind === 'Deployment')!;
    const a = d.spec.template.metadata.annotations;
    expect(a['vault.hashicorp.com/agent-inject']).toBe('true');
    expect(a['vault.hashicorp.com/agent-inject-secret-redis-url']).toBe('secret/data/staging/hotpath/redis');
    expect(a['vault.hashicorp.com/agent-inject-template-redis-url']).toBe('{{- with secret "secret/data/staging/hotpath/redis" -}}{{ index .Data.data "url" }}{{- end -}}');
  });
});

// Values the schema refuses, each with the field its message must name.
const REFUSALS: [string, Record<string, string>, RegExp][] = [
  ['auth none (hotpath refuses unauthenticated remote access)', { 'auth.mode': 'none' }, /auth\.mode/],
  ['TLS on without a Secret', { 'tls.enabled': 'true' }, /tls\.secretName/],
  ['no Redis at all', { 'redis.bundled.enabled': 'false' }, /redisUrl/],
  ['a Redis URL that is not redis:', { 'redis.bundled.enabled': 'false', 'redis.url': 'http://redis:6379' }, /redis\.url/],
  ['the Lease election on the static backend', { 'gpu.backend': 'static' }, /gpu\.election/],
  ['an unknown GPU policy', { 'gpu.policy': 'random' }, /gpu\.policy/],
  ['an unknown secrets provider', { 'secrets.provider': 'sops' }, /secrets\.provider/],
  ['existingSecret without its name', { 'secrets.provider': 'existingSecret' }, /existingSecret/],
  ['token auth with its tokens switched off', { 'secrets.items.authTokens.enabled': 'false' }, /authTokens/],
  ['zero replicas', { replicaCount: '0' }, /replicaCount/],
  ['a privileged port (the container drops every capability)', { containerPort: '80' }, /containerPort/],
  ['a drain longer than hotpath allows', { 'shutdown.graceMs': '700000' }, /shutdown\.graceMs/],
  ['a trino engine without its URL', { 'engine.trinoUrl': 'null' }, /trinoUrl/],
  ['a lower-case extraEnv name', { 'extraEnv.log_level': 'debug' }, /extraEnv/],
];

describe('the chart refuses', () => {
  it.each([
    ['a PDB that allows no eviction (minAvailable = replicas)', { replicaCount: '2', 'podDisruptionBudget.minAvailable': '2' }],
    ['a PDB above the HPA\'s floor', { 'autoscaling.enabled': 'true', 'autoscaling.minReplicas': '2', 'podDisruptionBudget.minAvailable': '3' }],
  ] as [string, Record<string, string>][])('%s', (_what, sets) => refusal('hotpath', sets, /podDisruptionBudget\.minAvailable \(\d\) must be below the replicas/));
});

describe('values.schema.json refuses', () => {
  it.each(REFUSALS)('%s', (_what, sets, field) => {
    refusal('hotpath', sets, /values don't meet the specifications of the schema/);
    refusal('hotpath', sets, field);
  });

  it.each([
    ['an unknown rules format', { 'rules.format': 'json' }, /rules\.format/],
    ['a scrape scheme other than http/https', { 'scrape.hotpath.scheme': 'ftp' }, /scrape\.hotpath\.scheme/],
    ['dashboards without the sidecar label', { 'dashboards.labels': 'null' }, /dashboards/],
  ] as [string, Record<string, string>, RegExp][])('monitoring: %s', (_what, sets, field) =>
    refusal('monitoring', sets, field));
});

describe('generated files', () => {
  it.each(Object.keys(GENERATED))('%s is up to date (npm run charts:generate)', (rel) => {
    expect(readFileSync(join(ROOT, rel), 'utf8')).toBe(GENERATED[rel]);
  });
});
