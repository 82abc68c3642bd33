// Why: the Argo CD layer must name only what exists: its objects valid against Argo CD's schemas, every
// (component, environment) Application pointing at a chart folder and a values file of this repository
// that render, automated sync (prune, selfHeal) in dev only, and sync waves: monitoring, hotpath, then the
// data and ML platforms that use hotpath.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseYamlObjects, render, ROOT, schemaProblem, template, type K8sObject } from './helm.ts';

const load = (file: string): K8sObject[] => parseYamlObjects(readFileSync(join(ROOT, 'deploy/argocd', file), 'utf8'));
const [project] = load('project.yaml');
const [appSet] = load('applicationset.yaml');

type Element = Record<string, string | boolean>;
/** The Applications the matrix generator makes: every pair of its two list generators' elements. */
function applications(): Element[] {
  const [a, b] = appSet!.spec.generators[0].matrix.generators.map((g: { list: { elements: Element[] } }) => g.list.elements);
  return (a as Element[]).flatMap((x) => (b as Element[]).map((y) => ({ ...x, ...y })));
}

describe('deploy/argocd', () => {
  it('holds an AppProject and an ApplicationSet valid against Argo CD\'s schemas', async () => {
    expect(project?.kind).toBe('AppProject');
    expect(appSet?.kind).toBe('ApplicationSet');
    expect(await schemaProblem(project!)).toBeUndefined();
    expect(await schemaProblem(appSet!)).toBeUndefined();
  });

  it('generates one Application per chart and environment, each from a chart and values file that exist and render', () => {
    const apps = applications();
    const charts = ['data-platform', 'hotpath', 'ml-platform', 'monitoring'];
    expect(apps.map((e) => `${e.component}-${e.env}`).sort()).toEqual(charts.flatMap((c) => ['dev', 'prod', 'staging'].map((env) => `${c}-${env}`)));
    const source = appSet!.spec.template.spec.source;
    expect(source.path).toBe('{{ .chart }}');
    expect(source.helm.valueFiles).toEqual(['values/{{ .env }}.yaml']);
    for (const e of apps) {
      const chartDir = join(ROOT, String(e.chart));
      expect(existsSync(join(chartDir, 'Chart.yaml')), `${e.chart}/Chart.yaml`).toBe(true);
      expect(existsSync(join(chartDir, 'values', `${e.env}.yaml`)), `${e.chart}/values/${e.env}.yaml`).toBe(true);
      const r = template(String(e.chart).replace('helm/', ''), String(e.env), {}, `${e.namespace}${e.suffix}`);
      expect(r.status, r.stderr).toBe(0);
    }
  });

  it('syncs itself only in dev, and the destinations are ones the project allows', () => {
    const apps = applications();
    expect(new Set(apps.filter((e) => e.automated === true).map((e) => e.env))).toEqual(new Set(['dev']));
    expect(apps.filter((e) => e.automated === true)).toHaveLength(4);
    expect(appSet!.spec.templatePatch).toMatch(/if \.automated[\s\S]*prune: true[\s\S]*selfHeal: true/);
    expect(appSet!.spec.template.spec.syncPolicy.automated).toBeUndefined();
    const allowed = project!.spec.destinations.map((d: { namespace: string }) => new RegExp(`^${d.namespace.replace('*', '.*')}$`));
    for (const e of apps) expect(allowed.some((re: RegExp) => re.test(`${e.namespace}${e.suffix}`)), `${e.namespace}${e.suffix}`).toBe(true);
    expect(project!.spec.sourceRepos).toContain(appSet!.spec.template.spec.source.repoURL);
  });

  it("labels the namespaces it makes so hotpath's prod NetworkPolicy admits them (Superset reaches the door)", () => {
    const policy = render('hotpath', 'prod').find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'hotpath')!;
    const wanted = policy.spec.ingress[0].from[0].namespaceSelector.matchLabels as Record<string, string>;
    expect(appSet!.spec.template.spec.syncPolicy.managedNamespaceMetadata.labels).toMatchObject(wanted);
  });

  it('orders the sync: monitoring (rules, dashboards), hotpath, then the platforms that use it', () => {
    const wave = Object.fromEntries(applications().map((e) => [e.component, Number(e.wave)]));
    expect(wave.monitoring).toBeLessThan(wave.hotpath!);
    expect(wave.hotpath).toBeLessThan(wave['data-platform']!);
    expect(wave.hotpath).toBeLessThan(wave['ml-platform']!);
    expect(appSet!.spec.template.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('{{ .wave }}');
  });
});
