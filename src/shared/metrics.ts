// Why: one app-owned Prometheus registry (never prom-client's global), so two app instances in one
// process (tests, benches) keep separate counts. Domains add their metrics to it in their own file.

import { Registry, collectDefaultMetrics } from 'prom-client';

export function createRegistry(opts: { defaultMetrics: boolean }): Registry {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'hotpath_' });
  return registry;
}
