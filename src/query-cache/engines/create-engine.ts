// Why: the one place that picks the Engine adapter named by HOTPATH_ENGINE.

import type { Config } from '../../shared/config.ts';
import { MAX_ENGINE_CONNECTIONS } from '../../shared/config-schema.ts';
import { readCaBundle } from '../../shared/tls.ts';
import type { Engine } from './engine.ts';
import { createDuckDbEngine } from './duckdb-engine.ts';
import { createTrinoEngine } from './trino-engine.ts';

export async function createEngine(config: Config): Promise<Engine> {
  switch (config.engine) {
    case 'duckdb':
      return createDuckDbEngine({
        demoData: true,
        demoOrderRowCount: config.demoOrderRows,
        statementTimeoutMs: config.statementTimeoutMs,
        memoryLimitMiB: config.duckdbMemoryLimitMib,
        // As many connections as executions may run: admission is then the one limit, and one user's
        // share (HOTPATH_MAX_CONCURRENT_PER_USER) can never take every connection.
        maxConnections: Math.min(MAX_ENGINE_CONNECTIONS, config.maxConcurrentExecutions),
        threads: config.duckdbThreads,
      });
    case 'trino':
      return createTrinoEngine({
        url: config.trinoUrl!,
        requestTimeoutMs: config.trinoRequestTimeoutMs,
        statementTimeoutMs: config.statementTimeoutMs,
        maxRetries: config.trinoMaxRetries,
        // auto: credentials only over https (Trino refuses them over http).
        forwardAuthorization: config.trinoForwardAuthorization === 'always' || (config.trinoForwardAuthorization === 'auto' && new URL(config.trinoUrl!).protocol === 'https:'),
        ...(config.trinoClusterId ? { clusterId: config.trinoClusterId } : {}),
        ...(config.trinoCaFile ? { ca: readCaBundle('TRINO_CA_FILE', config.trinoCaFile) } : {}),
      });
  }
}
