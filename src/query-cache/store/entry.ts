// Why: a cached result is stored as the exact bytes a door sends, plus a small header (when it was
// stored, how long it stays fresh, which tables and user it belongs to). This file is the one place
// that packs and unpacks that envelope; large bodies are gzip-compressed for Redis.

import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzip as gzipCb } from 'node:zlib';

// On libuv's threadpool, not the event loop: a large entry's (de)compression takes milliseconds.
const gzip = promisify(gzipCb);
const gunzip = promisify(gunzipCb);
import type { Freshness } from '../core/policy.ts';

export interface EntryMeta {
  storedAtMs: number;
  freshness: Freshness;
  /** Fully qualified tables read; undefined = the set is incomplete (may read any table). */
  tables: string[] | undefined;
  /** For an incomplete set: the incomplete-set version it was filled under (valid while still current). */
  incompleteVersion?: string;
  /** Owner of a per-user entry; undefined for a shared one. */
  principal: string | undefined;
  contentType: string;
  rowCount: number;
}

export interface CachedEntry {
  meta: EntryMeta;
  /** Uncompressed response bytes, sent as they are on a hit. */
  body: Buffer;
}

const MAGIC = 0x48503101; // "HP1\x01"
const FLAG_GZIP = 1;

/** Envelope: u32 magic, u8 flags, u32 header length, header JSON, body (gzip when flagged). */
export async function packEntry(entry: CachedEntry, compressMinBytes: number): Promise<Buffer> {
  const header = Buffer.from(JSON.stringify(entry.meta));
  const compress = compressMinBytes > 0 && entry.body.length >= compressMinBytes;
  const body = compress ? await gzip(entry.body, { level: 1 }) : entry.body;
  const out = Buffer.allocUnsafe(9 + header.length + body.length);
  out.writeUInt32BE(MAGIC, 0);
  out.writeUInt8(compress ? FLAG_GZIP : 0, 4);
  out.writeUInt32BE(header.length, 5);
  header.copy(out, 9);
  body.copy(out, 9 + header.length);
  return out;
}

/** Undefined for bytes that are not an envelope of this version (treated as a miss). */
export async function unpackEntry(buf: Buffer): Promise<CachedEntry | undefined> {
  if (buf.length < 9 || buf.readUInt32BE(0) !== MAGIC) return undefined;
  const flags = buf.readUInt8(4);
  const headerLength = buf.readUInt32BE(5);
  if (9 + headerLength > buf.length) return undefined;
  try {
    const meta = JSON.parse(buf.subarray(9, 9 + headerLength).toString('utf8')) as EntryMeta;
    const raw = buf.subarray(9 + headerLength);
    const body = flags & FLAG_GZIP ? await gunzip(raw) : raw;
    return { meta, body };
  } catch {
    return undefined;
  }
}

/** Bytes an entry costs in the L1 budget (body plus a fixed allowance for the header and bookkeeping). */
export function entrySizeBytes(entry: CachedEntry): number {
  return entry.body.length + 512;
}
