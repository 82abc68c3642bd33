// Why: Trino's CLI, JDBC driver and Python client send a password only over HTTPS, so the door serves
// TLS itself when given a PEM cert/key pair. cert-manager and Vault rotate those files in place (on
// Kubernetes by swapping a symlink, which fs.watch misses), so they are polled by stat and a new pair
// replaces the server's secure context; a pair that does not load is logged and the old one kept.
// Also the CA bundle that TRINO_CA_FILE names, trusted for an https upstream Trino.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createSecureContext, type Server as TlsServer } from 'node:tls';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { ConfigError } from './config-error.ts';

/** The variables that name the pair (they appear in every message about it). */
export const TLS_CERT_VAR = 'HOTPATH_TLS_CERT_FILE';
export const TLS_KEY_VAR = 'HOTPATH_TLS_KEY_FILE';

export interface TlsFiles {
  /** PEM certificate, the server's first, then any intermediates. */
  certFile: string;
  /** PEM private key of that certificate, unencrypted. */
  keyFile: string;
}

export interface TlsPair {
  cert: Buffer;
  key: Buffer;
  /** Both files' stat stamps, taken before they were read: a change after that is seen by the next poll. */
  stamp: string;
  /** SHA-256 fingerprint of the server certificate (public; what clients pin and logs show). */
  fingerprint256: string;
  validTo: string;
}

/** The pair a config names, or undefined for plain HTTP (loadConfig checks that both or neither are set). */
export function tlsFilesOf(config: { tlsCertFile: string | undefined; tlsKeyFile: string | undefined }): TlsFiles | undefined {
  return config.tlsCertFile && config.tlsKeyFile ? { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile } : undefined;
}

/**
 * What changes when a file is rewritten or its symlink swapped (stat follows links): device, inode,
 * size and both times. A file that cannot be stat'ed stamps as its error code, so its return is a change too.
 */
export function fileStamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch (err) {
    return `error:${(err as NodeJS.ErrnoException).code ?? 'unknown'}`;
  }
}

const pairStamp = (files: TlsFiles) => `${fileStamp(files.certFile)}|${fileStamp(files.keyFile)}`;

function readPem(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * Checks that `cert` and `key` make a usable server pair: a PEM certificate, an unencrypted PEM private
 * key, the key is that certificate's, and OpenSSL accepts them together. Throws ConfigError naming the
 * variable and file at fault; messages never carry key material.
 */
export function checkTlsPair(cert: Buffer, key: Buffer, files: TlsFiles): Pick<TlsPair, 'fingerprint256' | 'validTo'> {
  if (!cert.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`${TLS_CERT_VAR}: ${files.certFile} holds no PEM certificate`);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new ConfigError(`${TLS_CERT_VAR}: ${files.certFile} holds no readable PEM certificate (${(err as Error).message})`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new ConfigError(`${TLS_KEY_VAR}: ${files.keyFile} holds no usable PEM private key, or it is encrypted (${(err as Error).message})`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw new ConfigError(`${TLS_KEY_VAR}: ${files.keyFile} is not the private key of the certificate in ${files.certFile}`);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new ConfigError(`${TLS_CERT_VAR}: ${files.certFile} with ${files.keyFile} is not a usable TLS pair (${(err as Error).message})`);
  }
  return { fingerprint256: x509.fingerprint256, validTo: x509.validTo };
}

/** Reads and checks the pair now (at start, and on each change). Throws ConfigError naming the file. */
export function readTlsPair(files: TlsFiles): TlsPair {
  const stamp = pairStamp(files);
  const cert = readPem(TLS_CERT_VAR, files.certFile);
  const key = readPem(TLS_KEY_VAR, files.keyFile);
  return { cert, key, stamp, ...checkTlsPair(cert, key, files) };
}

export type TlsCheck = 'unchanged' | 'reloaded' | 'refused';

export interface TlsReloaderOptions {
  files: TlsFiles;
  /** The pair being served (its stamp is where polling starts). */
  current: TlsPair;
  /** Puts a new, checked pair into service. */
  apply(pair: TlsPair): void;
  log: Pick<FastifyBaseLogger, 'info' | 'warn'>;
}

/**
 * One poll: when either file's stamp changed, read and check the pair and apply it; a pair that fails is
 * logged once (its stamp is remembered, so an unchanged bad pair is not retried every poll) and the
 * served one kept. A cert written before its key fails once and loads on the poll after the key lands.
 */
export function tlsReloader(opts: TlsReloaderOptions): { check(): TlsCheck } {
  let seen = opts.current.stamp;
  const { files, log } = opts;
  return {
    check() {
      const stamp = pairStamp(files);
      if (stamp === seen) return 'unchanged';
      seen = stamp;
      let pair: TlsPair;
      try {
        pair = readTlsPair(files);
        opts.apply(pair);
      } catch (err) {
        log.warn({ certFile: files.certFile, keyFile: files.keyFile, reason: (err as Error).message }, 'TLS certificate reload failed; still serving the previous certificate');
        return 'refused';
      }
      seen = pair.stamp;
      log.info({ certFile: files.certFile, fingerprint256: pair.fingerprint256, validTo: pair.validTo }, 'TLS certificate reloaded');
      return 'reloaded';
    },
  };
}

/**
 * Polls the pair every `intervalMs` (0: never) and swaps the HTTPS server's secure context on a change;
 * new connections get the new certificate, open ones keep theirs. The timer never holds the process
 * open and stops when the app closes.
 */
export function registerTlsReload(app: FastifyInstance, opts: { files: TlsFiles; current: TlsPair; intervalMs: number }): void {
  if (opts.intervalMs <= 0) return;
  const server = app.server as unknown as TlsServer;
  const reloader = tlsReloader({
    files: opts.files,
    current: opts.current,
    apply: (pair) => server.setSecureContext({ cert: pair.cert, key: pair.key }),
    log: app.log,
  });
  const timer = setInterval(() => reloader.check(), opts.intervalMs);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}

/**
 * The CA bundle `variable` names, checked: readable, and every PEM certificate block in it parses
 * (at least one). It replaces the default roots for that connection. Throws ConfigError naming the file.
 */
export function readCaBundle(variable: string, file: string): string {
  const text = readPem(variable, file).toString('utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ConfigError(`${variable}: ${file} holds no PEM certificate`);
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new ConfigError(`${variable}: certificate ${i + 1} in ${file} does not parse (${(err as Error).message})`);
    }
  });
  return text;
}
