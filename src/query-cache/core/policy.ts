// Why: turns a classified statement plus the admin's cache rules into one decision: cache or not
// (and why), per-user or shared, and the freshness windows. Pure.

import type { CacheRule } from '../../shared/config.ts';
import type { BypassReason, Classification } from './classify.ts';

export interface Freshness {
  ttlMs: number;
  /** Stale-while-revalidate window after the TTL. */
  swrMs: number;
  /** Stale-if-error window after the TTL. */
  staleIfErrorMs: number;
}

export type CacheDecision =
  | { cache: true; shared: boolean; freshness: Freshness; tables: string[] | undefined }
  | { cache: false; reason: BypassReason | 'rule'; tables: string[] | undefined };

/** What a statement reads, as far as the engine's parser could tell. */
export interface TableSet {
  /** Fully qualified, lower-cased tables read: every one when `complete`, else those it found. */
  tables: string[];
  /** False when something read may be missing (a view, a table function, no parser for the dialect). */
  complete: boolean;
  /** Every relation the text could name (qualifyMentions): what protective rules look at when incomplete. */
  mentioned: string[];
  /**
   * The parser saw a read it cannot see through (a view, a table function, a name not in the catalog):
   * anything may be behind it, so any `cache: false` rule wins. (Without a parser only mentions count.)
   */
  opaque?: boolean;
}

export interface PolicyDefaults {
  ttlSeconds: number;
  swrSeconds: number;
  staleIfErrorSeconds: number;
}

/** `a.*.c` matches `a.b.c`: `*` stands for one whole part. */
export function tableMatches(pattern: string, table: string): boolean {
  const p = pattern.split('.');
  const t = table.split('.');
  return p.length === t.length && p.every((part, i) => part === '*' || part === t[i]);
}

function ruleMatches(rule: CacheRule, table: string): boolean {
  return (rule.tables ?? []).some((p) => tableMatches(p, table)) || (rule.catalogs ?? []).some((c) => c === table.split('.')[0]);
}

function ruleCovers(rule: CacheRule, tables: readonly string[]): boolean {
  return tables.length > 0 && tables.every((t) => ruleMatches(rule, t));
}

/**
 * Protection first: a `cache: false` rule matching any table the statement reads (or, when the set is
 * incomplete, any relation it mentions; when the parser saw an opaque read, any such rule at all) wins. Otherwise the first rule covering every table of a complete
 * set gives freshness and sharing; an incomplete set (or one reading no table) matches no rule: default
 * freshness, per-user, never shared. The decision's `tables` is undefined for an incomplete set.
 */
export function decide(c: Classification, set: TableSet, rules: readonly CacheRule[], d: PolicyDefaults): CacheDecision {
  const tables = set.complete ? set.tables : undefined;
  const rule = tables === undefined ? undefined : rules.find((r) => ruleCovers(r, tables));
  const systemAllowed = c.bypass === 'system-table' && rule?.allowSystemTables === true;
  if (c.bypass !== undefined && !systemAllowed) return { cache: false, reason: c.bypass, tables };
  const candidates = set.complete ? set.tables : [...set.tables, ...set.mentioned];
  const protective = rules.filter((r) => r.cache === false);
  if (protective.some((r) => (set.opaque === true && !set.complete) || candidates.some((t) => ruleMatches(r, t)))) return { cache: false, reason: 'rule', tables };
  const seconds = (v: number | undefined, dflt: number) => Math.round((v ?? dflt) * 1000);
  const freshness: Freshness = {
    ttlMs: seconds(rule?.ttlSeconds, d.ttlSeconds),
    swrMs: seconds(rule?.swrSeconds, d.swrSeconds),
    staleIfErrorMs: seconds(rule?.staleIfErrorSeconds, d.staleIfErrorSeconds),
  };
  if (freshness.ttlMs === 0 && freshness.swrMs === 0 && freshness.staleIfErrorMs === 0) return { cache: false, reason: 'rule', tables };
  return { cache: true, shared: rule?.shared === true, freshness, tables };
}

export type EntryState = 'fresh' | 'stale-revalidate' | 'stale-if-error-only' | 'expired';

/** Where an entry stored at `storedAtMs` stands at `nowMs`. */
export function entryState(storedAtMs: number, f: Freshness, nowMs: number): EntryState {
  const age = nowMs - storedAtMs;
  if (age < f.ttlMs) return 'fresh';
  if (age < f.ttlMs + f.swrMs) return 'stale-revalidate';
  if (age < f.ttlMs + f.staleIfErrorMs) return 'stale-if-error-only';
  return 'expired';
}

/** Whole seconds of freshness left (negative once stale): the `ttl` of a Cache-Status hit. */
export function freshnessLeftSeconds(storedAtMs: number, f: Freshness, nowMs: number): number {
  return Math.floor((f.ttlMs - (nowMs - storedAtMs)) / 1000);
}

/** How long Redis must keep an entry: the longest window in which it may still be served. */
export function retentionMs(f: Freshness): number {
  return f.ttlMs + Math.max(f.swrMs, f.staleIfErrorMs);
}
