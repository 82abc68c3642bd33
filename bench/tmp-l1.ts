import { createDuckDbEngine } from '../src/query-cache/engines/duckdb-engine.ts';
import { startRedisServer } from '../src/shared/redis-autostart.ts';
import { freePort } from '../test/helpers/redis.ts';
import { startLoadGenerator } from './lib/loadgen.ts';
import { benchConfig, CountingEngine, startHotpath, startCeiling } from './lib/servers.ts';
import { warmAndVerify, customersSql } from './lib/bodies.ts';
const redis = await startRedisServer(await freePort());
const url = `redis://127.0.0.1:${redis.port}`;
const engine = new CountingEngine(await createDuckDbEngine({ demoData: true, demoOrderRowCount: 1000, statementTimeoutMs: 30000 }));
const which = process.argv[2] ?? 'both';
const l2 = await startHotpath('l2', benchConfig(url, { HOTPATH_REDIS_PREFIX: 'b2:', HOTPATH_L1_MAX_BYTES: '0' }), engine);
const l1 = await startHotpath('l1', benchConfig(url, { HOTPATH_REDIS_PREFIX: 'b1:' }), engine);
const sql = customersSql(25);
const hit = await warmAndVerify('l1', l1.url, sql); await warmAndVerify('l2', l2.url, sql);
const ceil = await startCeiling('c', { body: hit.body, contentType: hit.contentType, cacheStatus: hit.cacheStatus, age: '0' });
const g = startLoadGenerator('worker');
const targets = which === 'l1' ? [l1] : which === 'l2' ? [l2] : [l1, l2, ceil];
for (let i = 0; i < 3; i++) for (const t of targets) {
  const r = await g.run({ url: `${t.url}/v1/query`, connections: 50, durationSec: 2, body: JSON.stringify({ sql }), headers: { 'content-type': 'application/json' } });
  console.log(t.name, Math.round(r.reqPerSec), r.latencyP99Ms);
}
await g.close(); await l1.app.close(); await l2.app.close(); await ceil.app.close(); await engine.close(); redis.process.kill();
