// Why: other replicas must reach this one by an address that routes (a pod IP), not by 0.0.0.0.

import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * `http(s)://host:port` others can use: the listen address, or the first non-internal IPv4 for a
 * wildcard; https when the service serves TLS (it then answers nothing else).
 */
export function advertisedUrl(address: AddressInfo | string | null, listenHost: string, scheme: 'http' | 'https' = 'http'): string | undefined {
  if (!address || typeof address === 'string') return undefined;
  let host = listenHost;
  if (host === '0.0.0.0' || host === '::' || host === '') {
    const v4 = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    host = v4?.address ?? '127.0.0.1';
  }
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `${scheme}://${host}:${address.port}`;
}
