// Why: everything the cache decides about a request before touching a store (classification, the tables
// it reads, rules, the key) depends only on the request's text and identity, so it is computed once and
// remembered: a repeated query skips the tokenizer, the engine's parser and the hash on the hit path.

import { LRUCache } from 'lru-cache';
import type { Config } from '../shared/config.ts';
import { AppError } from '../shared/errors.ts';
import { classifySql, qualifyMentions, type Classification } from './core/classify.ts';
import { deriveKey } from './core/key.ts';
import { decide, type CacheDecision, type TableSet } from './core/policy.ts';
import type { Relations, RelationsQuery } from './engines/engine.ts';
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

export interface PlannerDeps {
  config: Config;
  engineId: string;
  /** The engine's parser (Engine.relations); absent: every table set is incomplete. */
  relations?: ((query: RelationsQuery, signal: AbortSignal) => Promise<Relations>) | undefined;
  /** Told once per planned statement whose table set is incomplete, and why. */
  onIncomplete: (sql: string, reason: string) => void;
}

/**
 * Least bytes of plans kept; each costs about twice its key's length plus a few hundred bytes (~0.6 KB
 * for a dashboard statement). A hit must never re-plan: a plan that fell out means re-tokenising,
 * re-hashing and, when its parse fell out of the relations memo too, a DuckDB parse (~1.8 ms, one
 * parse connection) per hit. bench:query measured it: at 16 MiB (~35k plans) with L1 off, 100k
 * distinct statements made every hit a parse (0.08× of one statement). 64 MiB holds ~110k plans; the
 * memo also grows with the L1 (half its budget), so every statement whose answer L1 can hold keeps its
 * plan. Plans take that memory only when that many distinct statements come.
 */
const PLAN_MEMO_MIN_BYTES = 64 * 1024 * 1024;
const planMemoBytes = (l1MaxBytes: number): number => Math.max(PLAN_MEMO_MIN_BYTES, Math.floor(l1MaxBytes / 2));
/** Bytes of statement text whose parse is remembered (shared by every user who sends the statement). */
const RELATIONS_MEMO_MAX_BYTES = 16 * 1024 * 1024;
/** A parse should take milliseconds; past this the set counts as incomplete (and is not remembered). */
const RELATIONS_TIMEOUT_MS = 5000;
/**
 * Distinct statements being parsed at once. Beyond, a new statement is served without the parser (not
 * stored, not remembered), so a flood of distinct SQL costs caching, never latency.
 */
const MAX_PENDING_PARSES = 64;

const lp = (s: string | undefined): string => (s === undefined ? '-' : `${s.length}:${s}`);

const syntaxError = (message: string) => new AppError('SQL_ERROR', message, { details: { errorName: 'SYNTAX_ERROR' } });

export class Planner {
  private readonly d: PlannerDeps;
  private readonly memo: LRUCache<string, Plan>;
  private readonly relationsMemo = new LRUCache<string, Relations>({ maxSize: RELATIONS_MEMO_MAX_BYTES, sizeCalculation: (r, key) => key.length * 2 + 256 + (r.kind === 'parsed' ? r.tables.join().length * 2 : 0) });
  /** Parses in progress, so concurrent first requests of one statement parse it once. */
  private readonly parsing = new Map<string, Promise<Relations | undefined>>();

  constructor(deps: PlannerDeps) {
    this.d = deps;
    this.memo = new LRUCache<string, Plan>({ maxSize: planMemoBytes(deps.config.l1MaxBytes), sizeCalculation: (_plan, key) => key.length * 2 + 256 });
  }

  plan(req: QueryRequest, format: string): Plan | Promise<Plan> {
    // Length-prefixed fields: no value, whatever characters it holds, can run into the next one, so
    // two requests share a memo entry only when every field is equal (a collision here would be a leak).
    let memoKey = `${lp(format)}${lp(req.principal)}${lp(req.catalog)}${lp(req.schema)}`;
    for (const k in req.session) memoKey += `${lp(k)}${lp(req.session[k]!)}`;
    memoKey += `|${req.allowSessionStatements === true ? 's' : '-'}${lp(req.bypassReason)}${lp(req.keyExtras && JSON.stringify(req.keyExtras))}${req.sql}`;
    const known = this.memo.get(memoKey);
    if (known !== undefined) return known;
    return this.compute(req, format).then(({ plan, final }) => {
      if (final) this.memo.set(memoKey, plan);
      return plan;
    });
  }

  /** `final` is false when the engine could not be asked (the plan fails closed and is not remembered). */
  private async compute(req: QueryRequest, format: string): Promise<{ plan: Plan; final: boolean }> {
    const { config } = this.d;
    const done = (plan: Plan) => ({ plan, final: true });
    const cls = classifySql(req.sql, { prepared: req.keyExtras?.preparedStatements });
    if (cls.bypass === 'empty') return done({ kind: 'reject', error: new AppError('BAD_REQUEST', 'sql is empty') });
    if (cls.syntaxError !== undefined) return done({ kind: 'reject', error: syntaxError(cls.syntaxError) });
    if (cls.executeError !== undefined) return done({ kind: 'reject', error: new AppError('SQL_ERROR', cls.executeError.message, { details: { errorName: cls.executeError.errorName } }) });
    const allowed = cls.readOnly || (cls.bypass === 'session' && req.allowSessionStatements === true) || config.allowWrites;
    if (req.bypassReason !== undefined && allowed) return done({ kind: 'bypass', reason: req.bypassReason });
    if (!allowed) {
      return done({ kind: 'reject', error: new AppError('NOT_READ_ONLY', 'only read-only statements (SELECT, WITH, VALUES, SHOW, DESCRIBE, EXPLAIN) are allowed') });
    }
    // Nothing to store: what it reads does not matter (the engine reports its syntax errors).
    if (cls.bypass !== undefined && cls.bypass !== 'system-table') return done({ kind: 'bypass', reason: cls.bypass });

    const relations = await this.relationsOf(cls, req);
    if (relations?.kind === 'syntax-error') return done({ kind: 'reject', error: syntaxError(relations.message) });
    // The key's normal form parses to another statement than the one that runs: never share a key with it.
    if (relations?.kind === 'key-mismatch') return done({ kind: 'bypass', reason: 'unparsable' });
    // The engine has a parser but could not be asked now (busy, timed out): without its checks nothing is
    // stored (fails closed; not remembered, so the statement is parsed when the engine can).
    if (relations === undefined && this.d.relations !== undefined) return { plan: { kind: 'bypass', reason: 'unparsable' }, final: false };
    const set: TableSet = {
      tables: relations?.tables ?? [],
      complete: relations?.complete ?? false,
      // Opaque: the parser saw a read it cannot see through; without a parser, any table-function call.
      opaque: relations?.kind === 'parsed' ? !relations.complete : cls.callsTableFunction,
      mentioned: qualifyMentions(cls.mentions, (req.catalog ?? config.defaultCatalog).toLowerCase(), (req.schema ?? config.defaultSchema).toLowerCase()),
    };
    const bypass = relations?.nondeterministic ? 'nondeterministic' : relations?.readsSystem && cls.bypass === undefined ? 'system-table' : cls.bypass;
    const decision = decide({ ...cls, bypass }, set, config.cacheRules, {
      ttlSeconds: config.cacheTtlSeconds,
      swrSeconds: config.cacheSwrSeconds,
      staleIfErrorSeconds: config.cacheStaleIfErrorSeconds,
    });
    if (!decision.cache) return done({ kind: 'bypass', reason: decision.reason });
    const principal = decision.shared ? undefined : req.principal;
    const hash = deriveKey({
      ...req.keyExtras,
      format,
      engineId: this.d.engineId,
      principal,
      catalog: req.catalog,
      schema: req.schema,
      session: req.session,
      normalizedSql: cls.normalizedSql,
    });
    if (!set.complete) {
      this.d.onIncomplete(req.sql, relations?.kind === 'parsed' ? (relations.incompleteReason ?? 'incomplete') : 'the engine has no parser');
    }
    return done({ kind: 'cache', decision, principal, hash });
  }

  /** The engine's reading of the statement, remembered per statement and context; undefined when it failed. */
  private relationsOf(cls: Classification, req: QueryRequest): Promise<Relations | undefined> {
    const parse = this.d.relations;
    if (!parse) return Promise.resolve(undefined);
    const query: RelationsQuery = { sql: cls.parseTarget, normalized: cls.normalizedTarget, catalog: req.catalog, schema: req.schema };
    const key = `${lp(query.catalog)}${lp(query.schema)}${query.sql}`;
    const known = this.relationsMemo.get(key);
    if (known) return Promise.resolve(known);
    let pending = this.parsing.get(key);
    if (!pending) {
      if (this.parsing.size >= MAX_PENDING_PARSES) return Promise.resolve(undefined);
      pending = parse(query, AbortSignal.timeout(RELATIONS_TIMEOUT_MS)).then(
        (r) => {
          this.relationsMemo.set(key, r);
          return r;
        },
        () => undefined,
      );
      this.parsing.set(key, pending);
      void pending.finally(() => this.parsing.delete(key));
    }
    return pending;
  }
}
