// Why: the planner remembers decisions per request; a memo hit for the wrong identity would be a
// cross-user leak, so requests that differ in any field must get their own plan and key.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/shared/config.ts';
import { Planner } from '../../src/query-cache/planner.ts';
import type { QueryRequest } from '../../src/query-cache/service.ts';

const planner = new Planner({ config: loadConfig({}), engineId: 'engine', onIncomplete: () => {} });
const base: QueryRequest = { sql: 'SELECT 1 FROM t', principal: 'alice', session: {}, noCache: false };
const hashOf = async (r: Partial<QueryRequest>) => {
  const plan = await planner.plan({ ...base, ...r }, 'json-v1');
  if (plan.kind !== 'cache') throw new Error(`not cacheable: ${plan.kind}`);
  return plan.hash;
};

describe('Planner', () => {
  it('gives every identity and context its own key, also on memo hits', async () => {
    const variants: Partial<QueryRequest>[] = [
      {},
      { principal: 'bob' },
      { principal: 'alice', catalog: 'x' },
      { principal: 'alicex' }, // cannot borrow alice's entry with catalog "x"
      { catalog: '' },
      { schema: 's' },
      { session: { a: 'b' } },
      { session: { a: 'b', c: 'd' } },
      { session: { 'a': 'b1:c1:d' } }, // a value that looks like more length-prefixed fields
      { sql: 'SELECT 2 FROM t' },
    ];
    const first = await Promise.all(variants.map(hashOf));
    const again = await Promise.all(variants.map(hashOf)); // now from the memo
    expect(again).toEqual(first);
    expect(new Set(first).size).toBe(variants.length);
  });

  it('remembers rejections and bypasses too', async () => {
    expect(await planner.plan({ ...base, sql: 'DELETE FROM t' }, 'json-v1')).toMatchObject({ kind: 'reject' });
    expect(await planner.plan({ ...base, sql: 'SELECT now()' }, 'json-v1')).toEqual({ kind: 'bypass', reason: 'nondeterministic' });
    // from the memo: no promise, no parse
    expect(planner.plan({ ...base, sql: 'SELECT now()' }, 'json-v1')).toEqual({ kind: 'bypass', reason: 'nondeterministic' });
  });

  it('an engine without a parser gives incomplete sets: a sharing rule never applies', async () => {
    const shared = new Planner({ config: loadConfig({ HOTPATH_CACHE_RULES: JSON.stringify([{ tables: ['demo.ops.*'], shared: true }]) }), engineId: 'trino', onIncomplete: () => {} });
    const plan = await shared.plan({ ...base, sql: 'SELECT * FROM demo.ops.gpu_usage' }, 'json-v1');
    expect(plan).toMatchObject({ kind: 'cache', principal: 'alice', decision: { shared: false, tables: undefined } });
  });

  it('parses each statement once for every user, and fails closed (not remembered) when the parser fails', async () => {
    let calls = 0;
    let fail = true;
    const rules = JSON.stringify([{ tables: ['demo.ops.*'], shared: true }]);
    const p = new Planner({
      config: loadConfig({ HOTPATH_CACHE_RULES: rules }),
      engineId: 'duckdb',
      relations: async () => {
        calls++;
        if (fail) throw new Error('engine closed');
        return { kind: 'parsed', tables: ['demo.ops.gpu_usage'], complete: true, readsSystem: false, nondeterministic: false };
      },
      onIncomplete: () => {},
    });
    const sql = 'SELECT * FROM demo.ops.gpu_usage';
    // no parse, no storing: the checks it would have made (key form, tables, volatility) are missing
    expect(await p.plan({ ...base, sql }, 'json-v1')).toEqual({ kind: 'bypass', reason: 'unparsable' });
    fail = false;
    expect(await p.plan({ ...base, sql }, 'json-v1')).toMatchObject({ kind: 'cache', principal: undefined });
    expect(await p.plan({ ...base, sql, principal: 'bob' }, 'json-v1')).toMatchObject({ kind: 'cache', principal: undefined });
    expect(calls).toBe(2);
  });

  it('plans without the parser (fails closed) once too many distinct statements are being parsed', async () => {
    const never = new Promise<never>(() => {});
    const p = new Planner({
      config: loadConfig({ HOTPATH_CACHE_RULES: JSON.stringify([{ tables: ['demo.ops.*'], shared: true }]) }),
      engineId: 'duckdb',
      relations: () => never,
      onIncomplete: () => {},
    });
    for (let i = 0; i < 64; i++) void p.plan({ ...base, sql: `SELECT ${i} FROM demo.ops.gpu_usage` }, 'json-v1');
    await new Promise((r) => setTimeout(r, 0));
    const plan = await p.plan({ ...base, sql: 'SELECT * FROM demo.ops.gpu_usage' }, 'json-v1');
    expect(plan).toEqual({ kind: 'bypass', reason: 'unparsable' });
  });
});
