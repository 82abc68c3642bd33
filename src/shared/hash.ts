// Why: one hex SHA-256 for the places that fingerprint a secret or a header (token lookup, password
// memo, Trino extra credentials), so none of them logs or keeps the value itself.
import { createHash } from 'node:crypto';

export const sha256Hex = (s: string): string => createHash('sha256').update(s).digest('hex');
