// Why: a network fault that Redis's own kill/restart cannot make: one connection that goes silent
// without closing (half-open: no FIN, no RST, the socket status stays "ready"). The proxy forwards
// bytes between clients and a target; `freeze` stops forwarding, in both directions, on connections
// whose client has sent a marker (e.g. its CLIENT SETNAME), holding the bytes as a partitioned network
// would; `unfreeze` delivers them in order, as TCP does once the path heals.

import { createServer, connect, type Server, type Socket } from 'node:net';

/** Client bytes kept per connection to recognise a marker (handshakes are far smaller). */
const SEEN_LIMIT_BYTES = 64 * 1024;

interface Link {
  client: Socket;
  upstream: Socket;
  /** What the client sent first, latin1. */
  seen: string;
  frozen: boolean;
  open: boolean;
  /** Bytes held while frozen, in arrival order, with the side they were going to. */
  held: { to: Socket; chunk: Buffer }[];
}

export interface TcpProxy {
  url: string;
  port: number;
  /**
   * Freeze every open connection whose client has sent `marker`; with `newConnections`, also those
   * that send it later, until `unfreeze`. Returns how many open connections it froze now.
   */
  freeze(marker: string, opts?: { newConnections?: boolean }): number;
  /** Forward again, delivering what was held. */
  unfreeze(): void;
  /** Open connections whose client has sent `marker`, and how many of them ever were. */
  count(marker: string): { open: number; ever: number };
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const links = new Set<Link>();
  const all: Link[] = [];
  let rule: { marker: string; newConnections: boolean } | undefined;

  const matches = (link: Link, marker: string) => link.seen.includes(marker);
  const send = (link: Link, to: Socket, chunk: Buffer) => {
    if (link.frozen) link.held.push({ to, chunk });
    else to.write(chunk);
  };

  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    const link: Link = { client, upstream, seen: '', frozen: false, open: true, held: [] };
    links.add(link);
    all.push(link);
    client.on('data', (chunk: Buffer) => {
      if (link.seen.length < SEEN_LIMIT_BYTES) link.seen += chunk.toString('latin1');
      // A connection that names itself while a sticky freeze is on is frozen before this chunk passes.
      if (rule?.newConnections && matches(link, rule.marker)) link.frozen = true;
      send(link, upstream, chunk);
    });
    upstream.on('data', (chunk: Buffer) => send(link, client, chunk));
    const end = () => {
      link.open = false;
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    freeze(marker, opts = {}) {
      rule = { marker, newConnections: opts.newConnections ?? false };
      let frozen = 0;
      for (const link of links) {
        if (matches(link, marker) && !link.frozen) {
          link.frozen = true;
          frozen++;
        }
      }
      return frozen;
    },
    unfreeze() {
      rule = undefined;
      for (const link of links) {
        link.frozen = false;
        for (const { to, chunk } of link.held.splice(0)) to.write(chunk);
      }
    },
    count(marker) {
      const ever = all.filter((link) => matches(link, marker));
      return { open: ever.filter((link) => link.open).length, ever: ever.length };
    },
    async close() {
      for (const link of links) {
        link.client.destroy();
        link.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
