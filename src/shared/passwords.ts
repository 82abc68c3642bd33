// Why: Trino clients (CLI, JDBC, Superset) usually authenticate with HTTP Basic. hotpath must verify
// them itself, since a cache hit never reaches Trino. Passwords are stored as scrypt hashes, checked off
// the event loop (async scrypt on libuv's threadpool), and an unknown user costs the same scrypt as a
// known one (a dummy hash), so timing tells nobody who exists. A verified (user, password) pair is
// remembered briefly so a client's page polls do not each pay for scrypt.

import { randomBytes, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { ConfigError } from './config.ts';
import { sha256Hex } from './hash.ts';

export interface PasswordRecord {
  user: string;
  /** `scrypt$N$r$p$<salt base64>$<hash base64>` */
  password: string;
  admin?: boolean;
  /** Groups the user is in (matched against tenants' `groups`). */
  groups?: string[];
}

/** An optional list of group names, as the token and password files may give. */
export function validGroups(groups: unknown): boolean {
  return groups === undefined || (Array.isArray(groups) && groups.length <= 256 && groups.every((g) => typeof g === 'string' && g.length > 0 && g.length <= 256));
}

/** The cost of new hashes, and of the dummy hash unknown users are checked against. */
const DEFAULT_COST = { N: 16384, r: 8, p: 1, keyBytes: 32 };
const SCRYPT_MAX_MEM_BYTES = 256 * 1024 * 1024;
/** Successful verifications remembered (sha256 of user, password and stored hash), and for how long unused. */
const MEMO_MAX_ENTRIES = 10_000;
const MEMO_TTL_MS = 5 * 60_000;

interface StoredHash {
  params: ScryptOptions;
  salt: Buffer;
  hash: Buffer;
}

/** The stored form of a password (what `npm run hash-password` prints). */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, DEFAULT_COST.keyBytes, { N: DEFAULT_COST.N, r: DEFAULT_COST.r, p: DEFAULT_COST.p });
  return `scrypt$${DEFAULT_COST.N}$${DEFAULT_COST.r}$${DEFAULT_COST.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** The parsed hash, or a reason it cannot be used (checked at start, so verification cannot fail later). */
function parseStored(stored: string): StoredHash | string {
  const [scheme, n, r, p, salt, hash, ...rest] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash || rest.length > 0) return 'expected scrypt$N$r$p$salt$hash';
  const [N, R, P] = [Number(n), Number(r), Number(p)];
  if (!Number.isSafeInteger(N) || N < 2 || (N & (N - 1)) !== 0) return `N must be a power of two, got ${n}`;
  if (!Number.isSafeInteger(R) || R < 1 || !Number.isSafeInteger(P) || P < 1 || R * P >= 2 ** 30) return `r and p must be positive integers, got ${r} and ${p}`;
  // OpenSSL's bound: 128·r·(N + 2) for V plus 128·r·p for B.
  if (128 * R * (N + 2) + 128 * R * P > SCRYPT_MAX_MEM_BYTES) return `N=${N}, r=${R}, p=${P} needs more than ${SCRYPT_MAX_MEM_BYTES / 1024 / 1024} MiB`;
  const hashBytes = Buffer.from(hash, 'base64');
  if (hashBytes.length < 16) return 'the hash is shorter than 16 bytes';
  return { params: { N, r: R, p: P, maxmem: SCRYPT_MAX_MEM_BYTES }, salt: Buffer.from(salt, 'base64'), hash: hashBytes };
}

function scryptAsync(password: string, stored: StoredHash): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, stored.salt, stored.hash.length, stored.params, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export class PasswordStore {
  private readonly users = new Map<string, { record: PasswordRecord; stored: StoredHash }>();
  /**
   * sha256(user \0 password \0 stored hash) of recent successes -> true; bounded, and forgotten
   * MEMO_TTL_MS after its last use (a polling client stays verified, even while its user is flooded).
   */
  private readonly verified = new LRUCache<string, true>({ max: MEMO_MAX_ENTRIES, ttl: MEMO_TTL_MS, updateAgeOnHas: true });
  /** What an unknown user is checked against: the default cost, a random salt and a hash nothing matches. */
  private readonly dummy: StoredHash = {
    params: { N: DEFAULT_COST.N, r: DEFAULT_COST.r, p: DEFAULT_COST.p, maxmem: SCRYPT_MAX_MEM_BYTES },
    salt: randomBytes(16),
    hash: randomBytes(DEFAULT_COST.keyBytes),
  };
  private scryptRuns = 0;

  constructor(records: PasswordRecord[]) {
    for (const [i, record] of records.entries()) {
      const stored = parseStored(record.password);
      if (typeof stored === 'string') throw new ConfigError(`HOTPATH_AUTH_PASSWORDS_FILE[${i}]: unusable password hash (${stored})`);
      this.users.set(record.user, { record, stored });
    }
  }

  static fromFile(file: string): PasswordStore {
    let records: unknown;
    try {
      records = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`HOTPATH_AUTH_PASSWORDS_FILE: cannot read ${file} as JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(records)) throw new ConfigError('HOTPATH_AUTH_PASSWORDS_FILE: expected a JSON list of {user, password, admin?}');
    for (const [i, r] of (records as PasswordRecord[]).entries()) {
      if (typeof r?.user !== 'string' || typeof r.password !== 'string' || !r.password.startsWith('scrypt$') || !validGroups(r.groups)) {
        throw new ConfigError(`HOTPATH_AUTH_PASSWORDS_FILE[${i}]: expected {"user": string, "password": "scrypt$…" (from npm run hash-password), "admin"?: boolean, "groups"?: [string]}`);
      }
    }
    return new PasswordStore(records as PasswordRecord[]);
  }

  /** scrypt runs started so far (tests and operators see what a flood cost). */
  get verificationsRun(): number {
    return this.scryptRuns;
  }

  private memoKey(user: string, password: string, stored: string): string {
    return sha256Hex(`${user}\u0000${password}\u0000${stored}`);
  }

  /** The record when this (user, password) was verified recently: one sha256, no scrypt. */
  memoised(user: string, password: string): PasswordRecord | undefined {
    const entry = this.users.get(user);
    return entry && this.verified.has(this.memoKey(user, password, entry.record.password)) ? entry.record : undefined;
  }

  /**
   * The record when the password is right, else undefined. Always one scrypt on the threadpool, at the
   * stored hash's cost, or at the default cost against a dummy hash when the user is unknown.
   */
  async verify(user: string, password: string): Promise<PasswordRecord | undefined> {
    const entry = this.users.get(user);
    const stored = entry?.stored ?? this.dummy;
    this.scryptRuns++;
    const got = await scryptAsync(password, stored);
    if (!entry || !timingSafeEqual(got, stored.hash)) return undefined;
    this.verified.set(this.memoKey(user, password, entry.record.password), true);
    return entry.record;
  }
}
