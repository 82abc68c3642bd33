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

function ruleCovers(rule: CacheRule, tables: readonly string[]): boolean {
  if (tables.length === 0) return false;
  return tables.every(
    (t) =>
      (rule.tables ?? []).some((p) => tableMatches(p, t)) ||
      (rule.catalogs ?? []).some((c) => c === t.split('.')[0]),
  );
}

/**
 * First rule that covers every table the statement reads wins. A statement whose tables are unknown
 * (or that reads none) matches no rule: default freshness, per-user, never shared.
 */
export function decide(c: Classification, tables: string[] | undefined, rules: readonly CacheRule[], d: PolicyDefaults): CacheDecision {
  const rule = tables === undefined ? undefined : rules.find((r) => ruleCovers(r, tables));
  const systemAllowed = c.bypass === 'system-table' && rule?.allowSystemTables === true;
  if (c.bypass !== undefined && !systemAllowed) return { cache: false, reason: c.bypass, tables };
  if (rule?.cache === false) return { cache: false, reason: 'rule', tables };
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
