// Why: alerts and dashboards are only as good as the names in them: a typo or a renamed metric makes a
// panel blank and an alert silent forever. Every series a rule or a dashboard names must be one a running
// hotpath exports (scraped here from a real app on a real socket, GPU scheduler on) or a recording rule
// of ours; and the rule files pass promtool's check and the unit tests of every alert.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startApp, testConfig, type TestApp } from '../helpers/app.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { createDuckDbEngine } from '../../src/query-cache/engines/duckdb-engine.ts';
import { GENERATED } from '../../scripts/charts-generate.ts';
import { HOTPATH_RULES, PLATFORM_RULES } from '../../deploy/monitoring/rules.ts';
import { ROOT } from './helm.ts';

const promtool = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
})();

describe('rule files and promtool', () => {
  it('promtool is installed (Debian package prometheus; .ci/run installs it)', () => {
    expect(promtool).not.toBe('');
  });

  it('promtool check rules passes on every generated rule file', () => {
    const files = Object.keys(GENERATED).filter((f) => f.endsWith('.yaml'));
    const r = spawnSync(promtool, ['check', 'rules', ...files], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stdout + r.stderr).not.toMatch(/FAILED/);
    expect(r.status).toBe(0);
  });

  it('promtool test rules passes, and every alert has a test that expects it to fire', () => {
    const r = spawnSync(promtool, ['test', 'rules', 'deploy/monitoring/rules.test.yaml'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
    const tests = parse(readFileSync(join(ROOT, 'deploy/monitoring/rules.test.yaml'), 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const firing = new Set(tests.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    const alerts = [...HOTPATH_RULES, ...PLATFORM_RULES].flatMap((g) => g.rules.flatMap((x) => (x.alert ? [x.alert] : [])));
    expect(alerts.filter((a) => !firing.has(a))).toEqual([]);
  });

  it('covers the alerts the platform asked for', () => {
    const alerts = HOTPATH_RULES.flatMap((g) => g.rules.flatMap((x) => (x.alert ? [x.alert] : [])));
    for (const a of ['HotpathDown', 'HotpathCacheHitRatioCollapse', 'HotpathRedisUnavailable', 'HotpathInvalidationChannelStale', 'HotpathAdmissionQueueSaturated', 'HotpathGpuAllocationLowWhileJobsWait', 'HotpathGpuQueueWaitHigh', 'HotpathGpuLeaderFlapping']) {
      expect(alerts).toContain(a);
    }
  });
});

describe('every metric a rule or a dashboard names is one hotpath exports', () => {
  let redis: TestRedis;
  let t: TestApp;
  let exported: Set<string>;
  beforeAll(async () => {
    redis = await startTestRedis();
    const engine = await createDuckDbEngine({ demoData: true, demoOrderRowCount: 1000, statementTimeoutMs: 10_000 });
    t = await startApp(testConfig(redis.url, { HOTPATH_GPU_ENABLED: 'true', HOTPATH_GPU_EXECUTOR: 'simulated' }), engine);
    // One query and one GPU job, so labelled series exist too.
    await fetch(`${t.url}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-trino-user': 'alice' }, body: JSON.stringify({ sql: 'SELECT 1' }) });
    await fetch(`${t.url}/v1/gpu/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-trino-user': 'alice' }, body: JSON.stringify({ tenant: 'ml', gpus: 1, durationSeconds: 1 }) });
    await new Promise((r) => setTimeout(r, 1500));
    const text = await (await fetch(`${t.url}/metrics`)).text();
    exported = new Set<string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [, name, type] = m;
      exported.add(name!);
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(name + s);
    }
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  const recorded = new Set([...HOTPATH_RULES, ...PLATFORM_RULES].flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))));
  /** Metric names in a PromQL expression: identifiers of ours (hotpath_*, hotpath:*), and up. */
  const namesIn = (expr: string) => [...expr.replace(/"[^"]*"/g, '""').matchAll(/\b(hotpath[_:][a-zA-Z0-9_:]*)/g)].map((m) => m[1]!);

  it('the scrape is a real one (it knows the cache and the GPU metrics)', () => {
    expect(exported).toContain('hotpath_query_requests_total');
    expect(exported).toContain('hotpath_gpu_allocation_ratio');
    expect(exported).toContain('hotpath_admission_queue_capacity');
  });

  it.each(Object.keys(GENERATED))('%s', (rel) => {
    const text = GENERATED[rel]!;
    const exprs = rel.endsWith('.json')
      ? [...text.matchAll(/"expr": ("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]!) as string)
      : (parse(text) as { groups: { rules: { expr: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.expr));
    expect(exprs.length).toBeGreaterThan(0);
    const unknown = exprs.flatMap(namesIn).filter((n) => !(n.includes(':') ? recorded.has(n) : exported.has(n)));
    expect(unknown).toEqual([]);
  });
});
