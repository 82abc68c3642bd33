// Why: Trino clients (CLI, JDBC, Superset) usually authenticate with HTTP Basic. hotpath must verify
// them itself, since a cache hit never reaches Trino. Passwords are stored as scrypt hashes; a verified
// (user, password) pair is remembered briefly so a client's page polls do not each pay for scrypt.

import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { sha256Hex } from './hash.ts';
import { readFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { ConfigError } from './config.ts';

export interface PasswordRecord {
  user: string;
  /** `scrypt$N$r$p$<salt base64>$<hash base64>` */
  password: string;
  admin?: boolean;
}

const SCRYPT = { N: 16384, r: 8, p: 1, keyBytes: 32 };

/** The stored form of a password (what `npm run hash-password` prints). */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, SCRYPT.keyBytes, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

function verify(password: string, stored: string): boolean {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const got = scryptSync(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 256 * 1024 * 1024 });
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export class PasswordStore {
  private readonly users = new Map<string, PasswordRecord>();
  /** sha256(user \0 password) of recent successes -> true; bounded and short-lived. */
  private readonly verified = new LRUCache<string, true>({ max: 10_000, ttl: 5 * 60_000 });

  constructor(records: PasswordRecord[]) {
    for (const r of records) this.users.set(r.user, r);
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
      if (typeof r?.user !== 'string' || typeof r.password !== 'string' || !r.password.startsWith('scrypt$')) {
        throw new ConfigError(`HOTPATH_AUTH_PASSWORDS_FILE[${i}]: expected {"user": string, "password": "scrypt$…" (from npm run hash-password), "admin"?: boolean}`);
      }
    }
    return new PasswordStore(records as PasswordRecord[]);
  }

  /** The record when the password is right, else undefined. */
  check(user: string, password: string): PasswordRecord | undefined {
    const record = this.users.get(user);
    if (!record) return undefined;
    const memo = sha256Hex(`${user}\u0000${password}\u0000${record.password}`);
    if (this.verified.has(memo)) return record;
    if (!verify(password, record.password)) return undefined;
    this.verified.set(memo, true);
    return record;
  }
}
