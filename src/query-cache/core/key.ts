// Why: the cache key decides who may see a stored result. Every input that can change the answer or
// its audience goes in (DESIGN.md "Key"); the principal is in unless an admin rule shares the entry.
// Pure: node:crypto's hash is a computation, not I/O.

import { createHash } from 'node:crypto';

/** Bump when the key layout or the stored bytes' format changes: old entries are then never read. */
export const KEY_FORMAT_VERSION = 1;

export interface KeyInput {
  /** Response shape the stored bytes have (`json-v1`, `trino-v1`): doors never share bytes. */
  format: string;
  engineId: string;
  /** The verified principal; `undefined` only for entries a shared rule allows. */
  principal: string | undefined;
  catalog?: string | undefined;
  schema?: string | undefined;
  path?: string | undefined;
  timeZone?: string | undefined;
  language?: string | undefined;
  clientCapabilities?: string | undefined;
  roles?: string | undefined;
  session: Record<string, string>;
  /** Hash of extra credentials, never the credentials themselves. */
  extraCredentialHash?: string | undefined;
  preparedStatements?: Record<string, string> | undefined;
  normalizedSql: string;
}

const sortedPairs = (o: Record<string, string> | undefined) =>
  Object.entries(o ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Hex SHA-256 of a canonical, ordered rendering of every input. */
export function deriveKey(k: KeyInput): string {
  const canonical = JSON.stringify([
    KEY_FORMAT_VERSION,
    k.format,
    k.engineId,
    k.principal === undefined ? ['shared'] : ['user', k.principal],
    k.catalog ?? null,
    k.schema ?? null,
    k.path ?? null,
    k.timeZone ?? null,
    k.language ?? null,
    k.clientCapabilities ?? null,
    k.roles ?? null,
    sortedPairs(k.session),
    k.extraCredentialHash ?? null,
    sortedPairs(k.preparedStatements),
    k.normalizedSql,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** Short stable hash of SQL text for logs (SQL itself is not logged unless debug is on). */
export function sqlHash(sql: string): string {
  return createHash('sha256').update(sql).digest('hex').slice(0, 16);
}
