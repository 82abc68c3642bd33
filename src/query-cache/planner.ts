// Why: everything the cache decides about a request before touching a store (classification, tables,
// rules, the key) depends only on the request's text and identity, so it is computed once and
// remembered: a repeated query skips the tokenizer and the hash on the hit path.

import { LRUCache } from 'lru-cache';
import type { Config } from '../shared/config.ts';
import { AppError } from '../shared/errors.ts';
import { classifySql, qualifyTables } from './core/classify.ts';
import { deriveKey } from './core/key.ts';
import { decide, type CacheDecision } from './core/policy.ts';
import type { QueryRequest } from './service.ts';

export type Plan =
  | { kind: 'reject'; error: AppError }
  | { kind: 'bypass'; reason: string }
  | {
      kind: 'cache';
      decision: CacheDecision & { cache: true };
      /** The principal in the key: undefined for a shared entry. */
      principal: string | undefined;
      hash: string;
    };

/** Bytes of memo keys kept; each plan costs about its key's length plus a few hundred bytes. */
const PLAN_MEMO_MAX_BYTES = 16 * 1024 * 1024;

const lp = (s: string | undefined): string => (s === undefined ? '-' : `${s.length}:${s}`);

export class Planner {
  private readonly config: Config;
  private readonly engineId: string;
  private readonly memo = new LRUCache<string, Plan>({ maxSize: PLAN_MEMO_MAX_BYTES, sizeCalculation: (_plan, key) => key.length * 2 + 256 });

  private readonly onTablesUnknown: (sql: string) => void;

  constructor(config: Config, engineId: string, onTablesUnknown: (sql: string) => void) {
    this.config = config;
    this.engineId = engineId;
    this.onTablesUnknown = onTablesUnknown;
  }

  plan(req: QueryRequest, format: string): Plan {
    // Length-prefixed fields: no value, whatever characters it holds, can run into the next one, so
    // two requests share a memo entry only when every field is equal (a collision here would be a leak).
    let memoKey = `${lp(format)}${lp(req.principal)}${lp(req.catalog)}${lp(req.schema)}`;
    for (const k in req.session) memoKey += `${lp(k)}${lp(req.session[k]!)}`;
    memoKey += `|${req.allowSessionStatements === true ? 's' : '-'}${lp(req.bypassReason)}${lp(req.keyExtras && JSON.stringify(req.keyExtras))}${req.sql}`;
    let plan = this.memo.get(memoKey);
    if (plan === undefined) {
      plan = this.compute(req, format);
      this.memo.set(memoKey, plan);
    }
    return plan;
  }

  private compute(req: QueryRequest, format: string): Plan {
    const { config } = this;
    const cls = classifySql(req.sql);
    const allowed = cls.readOnly || (cls.bypass === 'session' && req.allowSessionStatements === true) || config.allowWrites;
    if (req.bypassReason !== undefined && cls.bypass !== 'empty' && allowed) return { kind: 'bypass', reason: req.bypassReason };
    if (cls.bypass === 'empty') return { kind: 'reject', error: new AppError('BAD_REQUEST', 'sql is empty') };
    if (!allowed) {
      return { kind: 'reject', error: new AppError('NOT_READ_ONLY', 'only read-only statements (SELECT, WITH, VALUES, SHOW, DESCRIBE, EXPLAIN) are allowed') };
    }
    const tables = cls.tableRefs && qualifyTables(cls.tableRefs, req.catalog ?? config.defaultCatalog, req.schema ?? config.defaultSchema);
    const decision = decide(cls, tables, config.cacheRules, {
      ttlSeconds: config.cacheTtlSeconds,
      swrSeconds: config.cacheSwrSeconds,
      staleIfErrorSeconds: config.cacheStaleIfErrorSeconds,
    });
    if (!decision.cache) return { kind: 'bypass', reason: decision.reason };
    const principal = decision.shared ? undefined : req.principal;
    const hash = deriveKey({
      ...req.keyExtras,
      format,
      engineId: this.engineId,
      principal,
      catalog: req.catalog,
      schema: req.schema,
      session: req.session,
      normalizedSql: cls.normalizedSql,
    });
    if (tables === undefined) this.onTablesUnknown(req.sql);
    return { kind: 'cache', decision, principal, hash };
  }
}
