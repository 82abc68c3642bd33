// Why: other replicas must reach this one by an address that routes (a pod IP), not by 0.0.0.0.

import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';

/** `http://host:port` others can use: the listen address, or the first non-internal IPv4 for a wildcard. */
export function advertisedUrl(address: AddressInfo | string | null, listenHost: string): string | undefined {
  if (!address || typeof address === 'string') return undefined;
  let host = listenHost;
  if (host === '0.0.0.0' || host === '::' || host === '') {
    const v4 = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    host = v4?.address ?? '127.0.0.1';
  }
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `http://${host}:${address.port}`;
}
