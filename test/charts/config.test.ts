// Why: a chart whose defaults render a Deployment hotpath refuses to start is broken however well it
// lints. Each environment's Deployment is rendered, its environment taken as the pod would get it, every
// file it names created where the pod would have it (config files from the rendered ConfigMap; secrets
// and certificates made here, as Vault or cert-manager would provide them) and checked to lie under one
// of the pod's mounts (or the Vault agent's folder), then fed to hotpath's own config loader and
// authenticator.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/shared/auth.ts';
import { loadConfig } from '../../src/shared/config.ts';
import { hashPassword } from '../../src/shared/passwords.ts';
import { ENVIRONMENTS, helm, render, type K8sObject } from './helm.ts';

let dir: string;
let certPem: string;
let keyPem: string;
beforeAll(() => {
  helm();
  dir = mkdtempSync(join(tmpdir(), 'hotpath-chart-config-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=hotpath.hotpath.svc', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
  certPem = execFileSync('cat', [join(dir, 'c.pem')], { encoding: 'utf8' });
  keyPem = execFileSync('cat', [join(dir, 'k.pem')], { encoding: 'utf8' });
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What Vault, External Secrets or cert-manager would put in each file (by its name). */
function secretContent(file: string): string {
  switch (file.split('/').pop()) {
    case 'auth-tokens.json':
      return JSON.stringify([{ user: 'superset', tokenSha256: createHash('sha256').update('a-token').digest('hex') }]);
    case 'auth-passwords.json':
      return JSON.stringify([{ user: 'superset', password: hashPassword('a password') }]);
    case 'jwt-secret':
      return 'x'.repeat(48);
    case 'redis-url':
      return 'redis://:s3cret@redis.platform.svc:6379';
    case 'tls.crt':
    case 'ca.crt':
      return certPem;
    case 'tls.key':
      return keyPem;
    default:
      throw new Error(`the chart names a file this test does not know how to make: ${file}`);
  }
}

describe.each(['defaults', ...ENVIRONMENTS])('the %s Deployment', (env) => {
  it('starts hotpath: every file it names is mounted, and the config loader and authenticator accept it', () => {
    const objects: K8sObject[] = render('hotpath', env === 'defaults' ? undefined : env);
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const vaultAgent = deployment.spec.template.metadata.annotations?.['vault.hashicorp.com/agent-inject'] === 'true';
    const mounts: string[] = [...container.volumeMounts.map((m: { mountPath: string }) => m.mountPath), ...(vaultAgent ? ['/vault/secrets'] : [])];
    const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-config'));

    const root = join(dir, env);
    const local = (podPath: string) => join(root, podPath);
    const podEnv: Record<string, string> = {};
    for (const e of container.env as { name: string; value?: string }[]) {
      expect(e.value, `${e.name} has a literal value`).toBeDefined();
      podEnv[e.name] = e.value!;
    }
    expect(podEnv.HOST).toBe('0.0.0.0');
    const loaderEnv: Record<string, string> = { ...podEnv };
    for (const [name, value] of Object.entries(podEnv)) {
      if (!name.endsWith('_FILE')) continue;
      const mount = mounts.find((m) => value.startsWith(`${m}/`));
      expect(mount, `${name}=${value} lies under a mount of the pod (${mounts.join(', ')})`).toBeDefined();
      const fromConfigMap = configMap?.data?.[value.slice(mount!.length + 1)];
      if (mount === '/etc/hotpath/config') expect(fromConfigMap, `${value} is a key of the rendered ConfigMap`).toBeDefined();
      mkdirSync(dirname(local(value)), { recursive: true });
      writeFileSync(local(value), fromConfigMap ?? secretContent(value));
      loaderEnv[name] = local(value);
    }
    const config = loadConfig(loaderEnv);
    expect(config.host).toBe('0.0.0.0');
    expect(config.auth).not.toBe('none');
    expect(() => createAuthenticator(config)).not.toThrow();
    if (config.gpuBackend === 'kubernetes') expect(objects.some((o) => o.kind === 'ClusterRole')).toBe(true);
    if (config.tlsCertFile !== undefined) expect(container.readinessProbe.httpGet.scheme).toBe('HTTPS');
    else expect(container.readinessProbe.httpGet.scheme).toBe('HTTP');
    // The bundled Redis (when on) is the one the URL names.
    if (podEnv.REDIS_URL?.includes('-redis:')) expect(objects.some((o) => o.kind === 'Service' && podEnv.REDIS_URL!.includes(`//${o.metadata.name}:`))).toBe(true);
  });
});
