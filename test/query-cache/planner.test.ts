// Why: the planner remembers decisions per request; a memo hit for the wrong identity would be a
// cross-user leak, so requests that differ in any field must get their own plan and key.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/shared/config.ts';
import { Planner } from '../../src/query-cache/planner.ts';
import type { QueryRequest } from '../../src/query-cache/service.ts';

const planner = new Planner(loadConfig({}), 'engine', () => {});
const base: QueryRequest = { sql: 'SELECT 1 FROM t', principal: 'alice', session: {}, noCache: false };
const hashOf = (r: Partial<QueryRequest>) => {
  const plan = planner.plan({ ...base, ...r }, 'json-v1');
  if (plan.kind !== 'cache') throw new Error(`not cacheable: ${plan.kind}`);
  return plan.hash;
};

describe('Planner', () => {
  it('gives every identity and context its own key, also on memo hits', () => {
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
    const first = variants.map(hashOf);
    const again = variants.map(hashOf); // now from the memo
    expect(again).toEqual(first);
    expect(new Set(first).size).toBe(variants.length);
  });

  it('remembers rejections and bypasses too', () => {
    expect(planner.plan({ ...base, sql: 'DELETE FROM t' }, 'json-v1')).toMatchObject({ kind: 'reject' });
    expect(planner.plan({ ...base, sql: 'SELECT now()' }, 'json-v1')).toEqual({ kind: 'bypass', reason: 'nondeterministic' });
  });
});
