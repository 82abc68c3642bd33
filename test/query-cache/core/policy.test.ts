// Why: rules decide sharing (a leak if wrong) and freshness; expected values are worked out by hand.
import { describe, expect, it } from 'vitest';
import { classifySql } from '../../../src/query-cache/core/classify.ts';
import { decide, entryState, retentionMs, tableMatches, type TableSet } from '../../../src/query-cache/core/policy.ts';
import { cacheStatus } from '../../../src/query-cache/core/cache-status.ts';
import { deriveKey, type KeyInput } from '../../../src/query-cache/core/key.ts';

const d = { ttlSeconds: 60, swrSeconds: 30, staleIfErrorSeconds: 300 };

describe('tableMatches', () => {
  it.each([
    ['demo.sales.*', 'demo.sales.orders', true],
    ['demo.*.orders', 'demo.ops.orders', true],
    ['demo.sales.orders', 'demo.sales.orders', true],
    ['demo.sales.*', 'demo.ops.gpu_usage', false],
    ['demo.*', 'demo.sales.orders', false], // parts must line up
  ])('%s ~ %s = %s', (p, t, want) => expect(tableMatches(p, t)).toBe(want));
});

describe('decide', () => {
  const rules = [
    { tables: ['demo.ops.*'], shared: true, ttlSeconds: 5 },
    { catalogs: ['hive'], ttlSeconds: 600, swrSeconds: 0 },
    { tables: ['demo.sales.secret'], cache: false },
    { tables: ['system.runtime.nodes'], allowSystemTables: true },
  ];
  const complete = (...tables: string[]): TableSet => ({ tables, complete: true, mentioned: [] });

  it('defaults: per-user, default freshness', () => {
    const got = decide(classifySql('SELECT * FROM orders'), complete('demo.sales.orders'), rules, d);
    expect(got).toEqual({ cache: true, shared: false, tables: ['demo.sales.orders'], freshness: { ttlMs: 60_000, swrMs: 30_000, staleIfErrorMs: 300_000 } });
  });

  it('a shared rule covers a query only when it covers every table', () => {
    expect(decide(classifySql('SELECT 1'), complete('demo.ops.gpu_usage'), rules, d)).toMatchObject({ cache: true, shared: true, freshness: { ttlMs: 5000 } });
    // one table outside the shared set: the entry must stay per-user
    expect(decide(classifySql('SELECT 1'), complete('demo.ops.gpu_usage', 'demo.sales.orders'), rules, d)).toMatchObject({ cache: true, shared: false });
  });

  it('an incomplete set never matches a sharing rule, even when the tables it found are all shared', () => {
    const set = { tables: ['demo.ops.gpu_usage'], complete: false, mentioned: ['demo.ops.gpu_usage'] };
    expect(decide(classifySql('SELECT 1'), set, rules, d)).toEqual({ cache: true, shared: false, tables: undefined, freshness: { ttlMs: 60_000, swrMs: 30_000, staleIfErrorMs: 300_000 } });
  });

  it('catalog rules and cache:false', () => {
    expect(decide(classifySql('SELECT 1'), complete('hive.web.clicks'), rules, d)).toMatchObject({ freshness: { ttlMs: 600_000, swrMs: 0 } });
    expect(decide(classifySql('SELECT 1'), complete('demo.sales.secret'), rules, d)).toEqual({ cache: false, reason: 'rule', tables: ['demo.sales.secret'] });
  });

  it('cache:false protects on any match, not only when it covers every table', () => {
    expect(decide(classifySql('SELECT 1'), complete('demo.ops.gpu_usage', 'demo.sales.secret'), rules, d)).toMatchObject({ cache: false, reason: 'rule' });
    // incomplete: a mention is enough (it may be read through a view or a table function)
    const set = { tables: [], complete: false, mentioned: ['demo.sales.secret'] };
    expect(decide(classifySql('SELECT 1'), set, rules, d)).toMatchObject({ cache: false, reason: 'rule' });
    // an opaque read (a view, a table function) may hide the protected table: any cache:false rule wins
    expect(decide(classifySql('SELECT 1'), { tables: [], complete: false, mentioned: [], opaque: true }, rules, d)).toMatchObject({ cache: false, reason: 'rule' });
    expect(decide(classifySql('SELECT 1'), { tables: [], complete: false, mentioned: [], opaque: true }, [], d)).toMatchObject({ cache: true, shared: false });
    // complete: mentions that are not read (a column called secret) do not count
    expect(decide(classifySql('SELECT 1'), { ...complete('demo.ops.x'), mentioned: ['demo.sales.secret'] }, rules, d)).toMatchObject({ cache: true });
  });

  it('system tables bypass unless a rule allows them', () => {
    const c = classifySql('SELECT * FROM system.runtime.nodes');
    expect(decide(c, complete('system.runtime.nodes'), [], d)).toMatchObject({ cache: false, reason: 'system-table' });
    expect(decide(c, complete('system.runtime.nodes'), rules, d)).toMatchObject({ cache: true });
    expect(decide(c, { tables: ['system.runtime.nodes'], complete: false, mentioned: [] }, rules, d)).toMatchObject({ cache: false, reason: 'system-table' });
  });

  it('a rule never makes a nondeterministic query cacheable', () => {
    expect(decide(classifySql('SELECT now() FROM x'), complete('demo.ops.x'), rules, d)).toMatchObject({ cache: false, reason: 'nondeterministic' });
  });
});

describe('entryState', () => {
  const f = { ttlMs: 1000, swrMs: 500, staleIfErrorMs: 3000 };
  it.each([
    [0, 'fresh'],
    [999, 'fresh'],
    [1000, 'stale-revalidate'],
    [1499, 'stale-revalidate'],
    [1500, 'stale-if-error-only'],
    [3999, 'stale-if-error-only'],
    [4000, 'expired'],
  ])('age %d ms -> %s', (age, want) => expect(entryState(10_000, f, 10_000 + age)).toBe(want));
  it('retention covers the longest stale window', () => expect(retentionMs(f)).toBe(4000));
});

describe('cacheStatus (RFC 9211)', () => {
  it.each([
    [{ hit: true, ttlSeconds: 42 }, 'hotpath; hit; ttl=42'],
    [{ fwd: 'miss', stored: true }, 'hotpath; fwd=miss; stored'],
    [{ fwd: 'miss', collapsed: true }, 'hotpath; fwd=miss; collapsed'],
    [{ fwd: 'bypass', detail: 'nondeterministic' }, 'hotpath; fwd=bypass; detail=nondeterministic'],
    [{ hit: true, ttlSeconds: -3, detail: 'stale-while-revalidate' }, 'hotpath; hit; ttl=-3; detail=stale-while-revalidate'],
  ] as const)('%j', (parts, want) => expect(cacheStatus(parts)).toBe(want));
});

describe('deriveKey', () => {
  const base: KeyInput = { format: 'json-v1', engineId: 'e', principal: 'alice', session: {}, normalizedSql: 'SELECT 1' };
  it('differs per user, and shared differs from every user', () => {
    const keys = new Set([deriveKey(base), deriveKey({ ...base, principal: 'bob' }), deriveKey({ ...base, principal: undefined })]);
    expect(keys.size).toBe(3);
  });
  it('each input changes the key', () => {
    const variants: Partial<KeyInput>[] = [
      { format: 'trino-v1' }, { engineId: 'other' }, { catalog: 'c' }, { schema: 's' }, { path: 'p' }, { timeZone: 'UTC' },
      { language: 'en' }, { clientCapabilities: 'PATH' }, { roles: 'r' }, { session: { a: '1' } }, { extraCredentialHash: 'h' },
      { preparedStatements: { q: 'SELECT 1' } }, { normalizedSql: 'SELECT 2' },
    ];
    const keys = new Set(variants.map((v) => deriveKey({ ...base, ...v })));
    keys.add(deriveKey(base));
    expect(keys.size).toBe(variants.length + 1);
  });
  it('session order does not matter; a user named like a marker cannot collide with shared', () => {
    expect(deriveKey({ ...base, session: { a: '1', b: '2' } })).toBe(deriveKey({ ...base, session: { b: '2', a: '1' } }));
    expect(deriveKey({ ...base, principal: 'shared' })).not.toBe(deriveKey({ ...base, principal: undefined }));
  });
});
