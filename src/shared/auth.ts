// Why: a cache hit never reaches Trino, so hotpath itself must know who is asking before it serves a
// stored result. Four modes: none (local: X-Trino-User names the user), bearer tokens from a file
// (stored as SHA-256 hashes), JWTs (jose), and HTTP Basic passwords (scrypt, rate-limited per user and
// per client address, bounded in how many run at once). X-Trino-User may never name someone else.

import { createPublicKey } from 'node:crypto';
import { sha256Hex } from './hash.ts';
import { readFileSync } from 'node:fs';
import { jwtVerify, type JWTPayload, type KeyObject } from 'jose';
import type { Config } from './config.ts';
import { ConfigError, HMAC_MIN_SECRET_BYTES } from './config.ts';
import { AppError } from './errors.ts';
import { FailureBudget, GATE_FULL, VerificationGate } from './auth-limits.ts';
import { PasswordStore, validGroups } from './passwords.ts';

export interface Principal {
  user: string;
  /** May invalidate the cache, act on any GPU job and use other admin endpoints. */
  admin: boolean;
  /** Groups (JWT groups claim, or the token/password file), matched against tenants' `groups`. */
  groups?: readonly string[];
}

export type Headers = Record<string, string | string[] | undefined>;

export interface Authenticator {
  readonly mode: Config['auth'];
  /**
   * The verified principal, or an AppError (401/403, and in password mode 429 TOO_MANY_FAILURES or
   * 503 AUTH_BUSY). `clientAddress` is `request.ip` (X-Forwarded-For only under HOTPATH_TRUST_PROXY);
   * password mode counts failures by it.
   */
  authenticate(headers: Headers, clientAddress?: string): Promise<Principal>;
  /**
   * The same check, answered without a promise, in the modes that need no I/O (none, token): the
   * access hook then costs a cache hit no microtask. Absent where verification is asynchronous.
   */
  authenticateNow?(headers: Headers, clientAddress?: string): Principal;
}

/** Buckets remembered per failure budget (users, addresses); beyond it the least recent are forgotten. */
const FAILURE_BUDGET_MAX_KEYS = 10_000;

const MAX_USER_LENGTH = 256;

// eslint-disable-next-line no-control-regex
const validUserName = (user: string) => user.length > 0 && user.length <= MAX_USER_LENGTH && !/[\u0000-\u001f\u007f]/.test(user);

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The user named by `X-Trino-User` (or the older `X-Presto-User`), validated. */
export function namedUser(headers: Headers): string | undefined {
  const v = header(headers, 'x-trino-user') ?? header(headers, 'x-presto-user');
  if (v === undefined) return undefined;
  const user = v.trim();
  if (!validUserName(user)) {
    throw new AppError('BAD_REQUEST', `X-Trino-User must be 1-${MAX_USER_LENGTH} printable characters`);
  }
  return user;
}

function bearer(headers: Headers): string {
  const auth = header(headers, 'authorization');
  const m = auth?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!m) throw new AppError('UNAUTHENTICATED', 'send Authorization: Bearer <token>', { headers: { 'www-authenticate': 'Bearer' } });
  return m[1]!;
}

function basic(headers: Headers): { user: string; password: string } {
  const auth = header(headers, 'authorization');
  const m = auth?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i);
  const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new AppError('UNAUTHENTICATED', 'send Authorization: Basic <user:password>', { headers: { 'www-authenticate': 'Basic realm="hotpath"' } });
  const user = decoded.slice(0, colon);
  if (!validUserName(user)) throw new AppError('UNAUTHENTICATED', 'the user name in Basic credentials is not usable');
  return { user, password: decoded.slice(colon + 1) };
}

function checkImpersonation(headers: Headers, user: string): void {
  const named = namedUser(headers);
  if (named !== undefined && named !== user) throw new AppError('FORBIDDEN', `authenticated as ${user}; X-Trino-User may not name another user`);
}

interface TokenRecord {
  user: string;
  tokenSha256: string;
  admin?: boolean;
  groups?: string[];
}

function loadTokens(file: string): Map<string, Principal> {
  let records: unknown;
  try {
    records = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`HOTPATH_AUTH_TOKENS_FILE: cannot read ${file} as JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(records)) throw new ConfigError('HOTPATH_AUTH_TOKENS_FILE: expected a JSON list of {user, tokenSha256, admin?}');
  const map = new Map<string, Principal>();
  for (const [i, r] of (records as TokenRecord[]).entries()) {
    if (typeof r?.user !== 'string' || !validUserName(r.user) || typeof r.tokenSha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(r.tokenSha256) || !validGroups(r.groups)) {
      throw new ConfigError(`HOTPATH_AUTH_TOKENS_FILE[${i}]: expected {"user": string, "tokenSha256": 64 hex chars, "admin"?: boolean, "groups"?: [string]}`);
    }
    map.set(r.tokenSha256.toLowerCase(), { user: r.user, admin: r.admin === true, groups: r.groups ?? [] });
  }
  return map;
}

/**
 * HTTP Basic against the password store. Per request:
 *
 *   memoised (user, password)? ── yes ──> principal (no scrypt, no budget: a flood cannot lock out a
 *        │ no                              session already verified)
 *   user's and address's failure budgets both have a token? ── no ──> 429 TOO_MANY_FAILURES + Retry-After
 *        │ yes: take one from each
 *   a verification slot or a queue place? ── no ──> give tokens back, 503 AUTH_BUSY + Retry-After
 *        │ yes
 *   scrypt (dummy hash for unknown users) ── right ──> give tokens back, memoise, principal
 *        │ wrong
 *   401 (the tokens stay spent)
 */
function passwordAuthenticator(config: Config, passwords: PasswordStore, admins: Set<string>): Authenticator {
  const perUser = new FailureBudget({ failuresPerMinute: config.authFailuresPerUserPerMinute, maxKeys: FAILURE_BUDGET_MAX_KEYS });
  const perAddress = new FailureBudget({ failuresPerMinute: config.authFailuresPerAddressPerMinute, maxKeys: FAILURE_BUDGET_MAX_KEYS });
  const gate = new VerificationGate({ maxRunning: config.authMaxConcurrentVerifications, maxQueued: config.authMaxQueuedVerifications });
  const principal = (headers: Headers, user: string, record: { admin?: boolean; groups?: string[] }): Principal => {
    checkImpersonation(headers, user);
    return { user, admin: record.admin === true || admins.has(user), groups: record.groups ?? [] };
  };
  return {
    mode: 'password',
    authenticate: async (headers, clientAddress = 'unknown') => {
      const { user, password } = basic(headers);
      const memo = passwords.memoised(user, password);
      if (memo) return principal(headers, user, memo);

      const startedMs = performance.now();
      const waitMs = Math.max(perUser.waitMs(user, startedMs), perAddress.waitMs(clientAddress, startedMs));
      if (waitMs > 0) {
        throw new AppError('TOO_MANY_FAILURES', undefined, { headers: { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) } });
      }
      perUser.take(user, startedMs);
      perAddress.take(clientAddress, startedMs);
      const refund = () => {
        const nowMs = performance.now();
        perUser.giveBack(user, nowMs);
        perAddress.giveBack(clientAddress, nowMs);
      };
      let record: Awaited<ReturnType<PasswordStore['verify']>> | typeof GATE_FULL;
      try {
        record = await gate.run(() => passwords.verify(user, password));
      } catch (err) {
        refund();
        throw err;
      }
      if (record === GATE_FULL) {
        refund();
        throw new AppError('AUTH_BUSY', undefined, { headers: { 'retry-after': '1' } });
      }
      if (!record) throw new AppError('UNAUTHENTICATED', 'wrong user or password', { headers: { 'www-authenticate': 'Basic realm="hotpath"' } });
      refund();
      return principal(headers, user, record);
    },
  };
}

/** Groups a token may name at most (more are ignored), and the longest group name taken. */
const MAX_GROUPS = 256;
const MAX_GROUP_LENGTH = 256;

/** A JWT groups claim: a list of strings (Keycloak, Okta, Entra ID) or one space-separated string. */
function groupsClaim(value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/\s+/) : [];
  return items.filter((g): g is string => typeof g === 'string' && g.length > 0 && g.length <= MAX_GROUP_LENGTH).slice(0, MAX_GROUPS);
}

/** HS algorithms whose hash the secret is at least as long as (RFC 7518 3.2). */
function hmacAlgorithms(secret: Uint8Array): string[] {
  return Object.entries(HMAC_MIN_SECRET_BYTES).filter(([, bytes]) => secret.length >= bytes).map(([alg]) => alg);
}

/** `passwords`: a store to use instead of reading HOTPATH_AUTH_PASSWORDS_FILE (tests count its scrypt runs). */
export function createAuthenticator(config: Config, deps: { passwords?: PasswordStore } = {}): Authenticator {
  const admins = new Set(config.adminUsers);
  switch (config.auth) {
    case 'none': {
      // Local mode trusts the named user; an admin is only a user HOTPATH_ADMIN_USERS lists.
      const now = (headers: Headers): Principal => {
        const user = namedUser(headers) ?? 'anonymous';
        return { user, admin: admins.has(user), groups: [] };
      };
      return { mode: 'none', authenticateNow: now, authenticate: async (headers) => now(headers) };
    }
    case 'token': {
      const tokens = loadTokens(config.authTokensFile!);
      const now = (headers: Headers): Principal => {
        const found = tokens.get(sha256Hex(bearer(headers)));
        if (!found) throw new AppError('UNAUTHENTICATED', 'unknown bearer token', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
        checkImpersonation(headers, found.user);
        return { user: found.user, admin: found.admin || admins.has(found.user), groups: found.groups ?? [] };
      };
      return { mode: 'token', authenticateNow: now, authenticate: async (headers) => now(headers) };
    }
    case 'password':
      return passwordAuthenticator(config, deps.passwords ?? PasswordStore.fromFile(config.authPasswordsFile!), admins);
    case 'jwt': {
      let key: Uint8Array | KeyObject;
      let algorithms: string[];
      if (config.jwtPublicKeyFile) {
        try {
          key = createPublicKey(readFileSync(config.jwtPublicKeyFile, 'utf8'));
        } catch (err) {
          throw new ConfigError(`HOTPATH_JWT_PUBLIC_KEY_FILE: cannot read a PEM public key (${(err as Error).message})`);
        }
        algorithms = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'EdDSA'];
      } else {
        key = new TextEncoder().encode(config.jwtSecret!);
        algorithms = hmacAlgorithms(key);
        // loadConfig refuses shorter secrets; this guards other callers.
        if (algorithms.length === 0) throw new ConfigError(`HOTPATH_JWT_SECRET: an HMAC secret needs at least ${HMAC_MIN_SECRET_BYTES.HS256} bytes`);
      }
      const verifyOptions = {
        ...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
        ...(config.jwtAudience ? { audience: config.jwtAudience } : {}),
        algorithms,
        requiredClaims: config.jwtRequireExp ? ['exp'] : [],
      };
      return {
        mode: 'jwt',
        authenticate: async (headers) => {
          let payload: JWTPayload;
          try {
            ({ payload } = await jwtVerify(bearer(headers), key, verifyOptions));
          } catch (err) {
            if (err instanceof AppError) throw err;
            const { code, claim, reason } = err as { code?: string; claim?: string; reason?: string };
            const why = claim !== undefined ? `${code}: "${claim}" ${reason === 'missing' ? 'missing' : 'check failed'}` : (code ?? 'verification failed');
            throw new AppError('UNAUTHENTICATED', `invalid token (${why})`, {
              headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
            });
          }
          const user = payload[config.jwtUserClaim];
          if (typeof user !== 'string' || !validUserName(user)) {
            throw new AppError('UNAUTHENTICATED', `token has no usable "${config.jwtUserClaim}" claim (1-${MAX_USER_LENGTH} printable characters)`);
          }
          checkImpersonation(headers, user);
          const scope = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
          return { user, admin: scope.includes('hotpath:admin') || admins.has(user), groups: groupsClaim(payload[config.jwtGroupsClaim]) };
        },
      };
    }
  }
}
