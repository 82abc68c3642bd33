// Why: the one place that picks the Engine adapter named by HOTPATH_ENGINE.

import type { Config } from '../../shared/config.ts';
import { ConfigError } from '../../shared/config.ts';
import type { Engine } from './engine.ts';
import { createDuckDbEngine } from './duckdb-engine.ts';

export async function createEngine(config: Config): Promise<Engine> {
  switch (config.engine) {
    case 'duckdb':
      return createDuckDbEngine({
        demoData: true,
        demoOrderRowCount: config.demoOrderRows,
        statementTimeoutMs: config.statementTimeoutMs,
      });
    case 'trino':
      // The upstream Trino adapter is built with the Trino door (issue 3); fail clearly until then.
      throw new ConfigError('HOTPATH_ENGINE=trino: the upstream Trino adapter is not available in this version; use duckdb');
  }
}
