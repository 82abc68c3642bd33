// Why: the kubernetes backend must know its API server before anything starts, and say plainly when it
// does not: in a pod, the service account (KUBERNETES_SERVICE_HOST and the mounted token); elsewhere
// KUBECONFIG or ~/.kube/config. client-node alone would quietly fall back to http://localhost:8080.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../../shared/config.ts';

export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  const inCluster = env.KUBERNETES_SERVICE_HOST !== undefined && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
  const files = (env.KUBECONFIG ?? '').split(':').filter((f) => f !== '');
  const home = join(homedir(), '.kube', 'config');
  if (!inCluster && files.length === 0 && !existsSync(home)) {
    throw new ConfigError('HOTPATH_GPU_BACKEND=kubernetes: no API server configured (not in a pod with a service account, no KUBECONFIG, no ~/.kube/config)');
  }
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) throw new ConfigError(`KUBECONFIG: ${missing.join(', ')} not found`);
  try {
    if (inCluster && files.length === 0) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (err) {
    throw new ConfigError(`HOTPATH_GPU_BACKEND=kubernetes: the kubeconfig does not load (${(err as Error).message})`);
  }
  if (kc.getCurrentCluster() === null) throw new ConfigError('HOTPATH_GPU_BACKEND=kubernetes: the kubeconfig has no current cluster');
  return kc;
}
