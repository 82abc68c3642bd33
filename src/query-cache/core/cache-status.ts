// Why: one writer of the RFC 9211 `Cache-Status` header so every door says the same thing the same way:
//   hotpath; hit; ttl=42                       fresh hit (ttl = seconds of freshness left)
//   hotpath; hit; ttl=-3; detail=stale-while-revalidate   stale served, refreshed in the background
//   hotpath; fwd=miss; stored                  executed and stored
//   hotpath; fwd=miss; collapsed               waited for an identical in-flight execution
//   hotpath; fwd=request; stored               Cache-Control: no-cache forced a refresh
//   hotpath; fwd=stale; stored                 an expired entry was refreshed
//   hotpath; fwd=bypass; detail=nondeterministic   not cacheable (reason in detail)
// Pure.

export const CACHE_NAME = 'hotpath';

export interface CacheStatusParts {
  hit?: boolean;
  fwd?: 'miss' | 'bypass' | 'request' | 'stale';
  ttlSeconds?: number;
  stored?: boolean;
  collapsed?: boolean;
  detail?: string | undefined;
}

export function cacheStatus(p: CacheStatusParts): string {
  const parts = [CACHE_NAME];
  if (p.hit) parts.push('hit');
  if (p.fwd) parts.push(`fwd=${p.fwd}`);
  if (p.ttlSeconds !== undefined) parts.push(`ttl=${p.ttlSeconds}`);
  if (p.stored) parts.push('stored');
  if (p.collapsed) parts.push('collapsed');
  // RFC 9211 detail is a token or a quoted string; our reasons are tokens.
  if (p.detail) parts.push(`detail=${p.detail}`);
  return parts.join('; ');
}
