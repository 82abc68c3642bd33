// Why: what the data and ML platform charts promise beyond rendering: Superset reaches Trino only through
// hotpath's Trino door, over HTTPS with a password from Vault, in every environment (checked against the
// hotpath chart of the same environment); DataHub's ingestion Jobs opt out of Istio's sidecar so they
// complete; Trino honours X-Forwarded-*; Ray's GPU workers go to hotpath on K80 nodes as the configured
// tenant; and the PodDisruptionBudgets and HorizontalPodAutoscalers the platform kept by hand are the
// ones the charts now make (README lists them).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENVIRONMENTS, helm, refusal, render, ROOT, template, type K8sObject } from './helm.ts';

beforeAll(() => void helm(), 120_000);

/** The Argo CD destination namespace of a component in an environment (deploy/argocd/applicationset.yaml). */
function namespaceOf(component: string, env: string): string {
  const appSet = parse(readFileSync(join(ROOT, 'deploy/argocd/applicationset.yaml'), 'utf8'));
  const [components, envs] = appSet.spec.generators[0].matrix.generators.map((g: { list: { elements: Record<string, string>[] } }) => g.list.elements);
  return `${components.find((c: { component: string }) => c.component === component).namespace}${envs.find((e: { env: string }) => e.env === env).suffix}`;
}
const envOf = (o: K8sObject, container = 0) => {
  const spec = o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec;
  return Object.fromEntries((spec.containers[container].env ?? []).map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]));
};

describe.each(ENVIRONMENTS)('data-platform in %s', (env) => {
  let objects: K8sObject[];
  beforeAll(() => void (objects = render('data-platform', env)));

  it("registers Superset's one Trino connection at hotpath's door of the same environment, which serves HTTPS with password auth", () => {
    const init = objects.find((o) => o.kind === 'Job' && o.metadata.name.endsWith('superset-init'))!;
    const e = envOf(init);
    const hotpath = render('hotpath', env);
    const service = hotpath.find((o) => o.kind === 'Service' && o.spec.ports.some((p: { name: string }) => p.name === 'trino'))!;
    // Argo CD installs hotpath as release "hotpath" in its namespace, so its Service is hotpath.<ns>.svc.
    expect(e.HOTPATH_HOST).toBe(`hotpath.${namespaceOf('hotpath', env)}.svc`);
    expect(Number(e.HOTPATH_PORT)).toBe(service.spec.ports.find((p: { name: string }) => p.name === 'trino').port);
    const hotpathEnv = envOf(hotpath.find((o) => o.kind === 'Deployment')!);
    expect(hotpathEnv.HOTPATH_AUTH).toBe('password');
    expect(hotpathEnv.HOTPATH_TLS_CERT_FILE).toBeDefined();
    expect(e.HOTPATH_PASSWORD).toEqual({ secretKeyRef: { name: expect.stringMatching(/superset-secrets$/), key: 'hotpath-password' } });
    const es = objects.find((o) => o.kind === 'ExternalSecret' && o.metadata.name.endsWith('superset-secrets'))!;
    expect(es.spec.data.map((d: { secretKey: string }) => d.secretKey)).toContain('hotpath-password');
    const script = init.spec.template.spec.containers[0].command.join(' ');
    expect(script).toMatch(/superset set-database-uri --database_name "\$HOTPATH_DATABASE_NAME" --uri "\$uri"/);
    expect(script).toContain('"trino://%s:%s@%s:%s/%s"');
  });

  it('never points any Superset part at Trino itself, and every part trusts the platform CA', () => {
    const superset = objects.filter((o) => o.metadata.name.includes('-superset-'));
    expect(JSON.stringify(superset)).not.toMatch(/trino-coordinator|trino\.data-platform/);
    for (const o of superset.filter((x) => ['Deployment', 'Job'].includes(x.kind))) expect(envOf(o).REQUESTS_CA_BUNDLE).toBe('/etc/platform-ca/ca.crt');
  });

  it("runs DataHub's ingestion as CronJobs whose pods opt out of Istio's sidecar, so their Jobs complete", () => {
    const crons = objects.filter((o) => o.kind === 'CronJob');
    expect(crons.length).toBeGreaterThan(0);
    for (const c of crons) {
      const pod = c.spec.jobTemplate.spec.template;
      expect(pod.metadata.annotations['sidecar.istio.io/inject']).toBe('false');
      expect(pod.spec.restartPolicy).toBe('OnFailure');
      expect(c.spec.jobTemplate.spec.activeDeadlineSeconds).toBeGreaterThan(0);
      expect(c.spec.concurrencyPolicy).toBe('Forbid');
      const recipe = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === pod.spec.volumes.find((v: { configMap?: unknown }) => v.configMap).configMap.name)!;
      expect(parse(recipe.data!['recipe.yml']!)).toMatchObject({ source: { type: expect.any(String) }, sink: { type: 'datahub-rest' } });
    }
  });

  it('configures Trino: process-forwarded on the coordinator, workers discovering it, a catalog file per catalog', () => {
    const coordinator = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('trino-coordinator-config'))!;
    expect(coordinator.data!['config.properties']).toMatch(/^http-server\.process-forwarded=true$/m);
    expect(coordinator.data!['config.properties']).toMatch(/^coordinator=true$/m);
    const worker = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('trino-worker-config'))!;
    const discovery = /^discovery\.uri=http:\/\/([^:]+):8080$/m.exec(worker.data!['config.properties']!)![1];
    expect(objects.some((o) => o.kind === 'Service' && o.metadata.name === discovery)).toBe(true);
    const catalog = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('trino-catalog'))!;
    for (const [file, text] of Object.entries(catalog.data!)) expect(text, file).toMatch(/^connector\.name=\S+$/m);
  });
});

describe.each(ENVIRONMENTS)('ml-platform in %s', (env) => {
  it('sends every GPU worker to hotpath on K80 nodes as the configured tenant; the head stays with the default scheduler', () => {
    const objects = render('ml-platform', env);
    const values = parse(readFileSync(join(ROOT, 'helm/ml-platform/values.yaml'), 'utf8'));
    const rays = objects.filter((o) => o.apiVersion === 'ray.io/v1');
    expect(rays.length).toBeGreaterThan(0);
    for (const r of rays) {
      const spec = r.kind === 'RayCluster' ? r.spec : r.spec.rayClusterSpec;
      expect(spec.headGroupSpec.template.spec.schedulerName).toBeUndefined();
      for (const g of spec.workerGroupSpecs) {
        const pod = g.template;
        expect(pod.spec.schedulerName).toBe('hotpath');
        expect(pod.spec.nodeSelector['nvidia.com/gpu.product']).toBe('Tesla-K80');
        expect(pod.metadata.labels['hotpath.254carbon.io/tenant']).toBe(env === 'dev' ? 'research' : values.hotpath.tenant);
        const limits = pod.spec.containers[0].resources.limits;
        const share = pod.metadata.annotations?.['hotpath.254carbon.io/gpu-milli'];
        expect(limits['nvidia.com/gpu'] !== undefined || share !== undefined, `${g.groupName} asks for a GPU`).toBe(true);
        expect(Number(g.rayStartParams['num-gpus'])).toBe(share !== undefined ? Number(share) / 1000 : Number(limits['nvidia.com/gpu']));
      }
    }
  });
});

// The report's hand-made budgets and autoscalers, now values (README: Deploying on Kubernetes lists them).
const PROD_PDBS = [
  'dp-datahub-actions', 'dp-datahub-frontend', 'dp-datahub-gms', 'dp-dolphinscheduler-alert', 'dp-dolphinscheduler-api', 'dp-dolphinscheduler-master',
  'dp-dolphinscheduler-worker', 'dp-superset-web', 'dp-superset-worker', 'dp-trino-worker', 'hotpath', 'ml-train-k80-half', 'ml-train-k80-workers',
];
const PROD_HPAS = ['dp-datahub-frontend', 'dp-datahub-gms', 'dp-dolphinscheduler-api', 'dp-dolphinscheduler-worker', 'dp-superset-web', 'dp-superset-worker', 'dp-trino-worker', 'hotpath'];

describe('PodDisruptionBudgets and HorizontalPodAutoscalers in prod', () => {
  const prod = () => [
    ...render('data-platform', 'prod', {}, 'dp'),
    ...render('hotpath', 'prod', {}, 'hotpath'),
    ...render('ml-platform', 'prod', {}, 'ml'),
  ];
  it('are the listed ones, and no singleton (Trino coordinator, Superset beat) has a budget that would block every drain', () => {
    const objects = prod();
    expect(objects.filter((o) => o.kind === 'PodDisruptionBudget').map((o) => o.metadata.name).sort()).toEqual(PROD_PDBS);
    expect(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').map((o) => o.metadata.name).sort()).toEqual(PROD_HPAS);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const name of [...PROD_PDBS, ...PROD_HPAS]) expect(readme, `README lists ${name}`).toContain(`\`${name}\``);
  });
});

/** ml-platform values with one worker group: a valid one, changed by `extra` (a key set to undefined drops it). */
function group(extra: Record<string, unknown>): object {
  const base: Record<string, unknown> = { name: 'k80-workers', replicas: 2, minReplicas: 1, maxReplicas: 8, maxUnavailable: 1, resources: { requests: { cpu: '4', memory: '24Gi' }, limits: { memory: '24Gi' } } };
  return { cluster: { workerGroups: [{ ...base, ...extra }] } };
}

describe('refusals', () => {
  it('ml-platform: the valid worker group the refusals below start from renders', () => {
    expect(template('ml-platform', undefined, group({ gpus: 2 })).status).toBe(0);
    expect(template('ml-platform', undefined, group({ gpuMilli: 500, gpuMemoryMiB: 4096 })).status).toBe(0);
  });

  it.each([
    ['Superset pointed at Trino instead of hotpath', { 'superset.hotpath.host': 'dp-trino-coordinator' }, /superset\.hotpath\.host/],
    ['an unpinned image', { 'trino.image.tag': 'latest' }, /trino\.image\.tag/],
    ['two Celery beats', { 'superset.beat.replicas': '2' }, /superset\.beat\.replicas/],
    ['two Trino coordinators', { 'trino.coordinator.replicas': '2' }, /trino\.coordinator\.replicas/],
    ['a catalog without connector.name', { 'trino.catalogs.extra.foo': 'bar' }, /connector\.name/],
    ['an ingestion schedule that is not cron', { 'datahub.ingestion.recipes.trino.schedule': 'nightly' }, /schedule/],
    ['a JDBC URL of another database', { 'dolphinscheduler.stores.database.url': 'jdbc:oracle://db:1521/ds' }, /dolphinscheduler\.stores\.database\.url/],
    ['secrets without a store', { 'global.secrets.secretStoreRef.name': '' }, /secretStoreRef/],
  ] as [string, Record<string, string>, RegExp][])('data-platform: %s', (_what, sets, field) =>
    refusal('data-platform', sets, field));

  it('data-platform: a budget that allows no eviction', () =>
    refusal('data-platform', { 'datahub.gms.autoscaling.enabled': 'false', 'datahub.gms.replicas': '1', 'datahub.gms.pdb.minAvailable': '1' }, /pdb\.minAvailable \(1\) must be below its replicas \(1\)/));

  it.each([
    ['GPU workers left to the default scheduler', { 'hotpath.schedulerName': 'default-scheduler' }, /hotpath\.schedulerName/],
    ['a worker group asking both whole GPUs and a share', group({ gpus: 2, gpuMilli: 500, gpuMemoryMiB: 4096 }), /workerGroups\.0/],
    ['a share of 1000 milli or more', group({ gpuMilli: 1000, gpuMemoryMiB: 4096 }), /workerGroups\.0\.gpuMilli/],
    ['a worker group asking no GPU', group({}), /workerGroups\.0/],
    ['GPUs in the resource limits', group({ gpus: 2, resources: { requests: { cpu: '4', memory: '24Gi' }, limits: { memory: '24Gi', 'nvidia.com/gpu': '2' } } }), /workerGroups\.0\.resources\.limits/],
    ['a worker group no drain may touch', group({ gpus: 2, maxUnavailable: 0 }), /workerGroups\.0\.maxUnavailable/],
    ['an unpinned Ray image', { 'ray.gpuImage': 'rayproject/ray-ml:latest' }, /ray\.gpuImage/],
    ['no tenant', { 'hotpath.tenant': '' }, /hotpath\.tenant/],
  ] as [string, Record<string, string> | object, RegExp][])('ml-platform: %s', (_what, sets, field) =>
    refusal('ml-platform', sets, field));

  it('ml-platform: replicas outside min..max', () =>
    refusal('ml-platform', group({ gpus: 2, replicas: 9 }), /replicas \(9\) must lie within minReplicas\.\.maxReplicas \(1\.\.8\)/));
});
