/** Channel credentials from the client options: TLS when configured, plaintext otherwise; and TLS options from files. */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import type { TlsOptions } from './api.js';

/** The PEM files a program was given: --tls-ca, --tls-cert, --tls-key. */
export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/** The TLS files (or another credential file) are not usable; the message says why (programs show it and exit 2). */
export class TlsFilesError extends Error {}

/** A credential file's bytes (a PEM, a token), or TlsFilesError saying which file could not be read and why. */
export function readCredentialFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsFilesError(
      `cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** TLS options from --tls-ca/--tls-cert/--tls-key, or undefined for plaintext when none is given. */
export function tlsFromFiles(files: TlsFiles): TlsOptions | undefined {
  if (!files.ca && !files.cert && !files.key) return undefined;
  if (!files.ca)
    throw new TlsFilesError("--tls-cert/--tls-key need --tls-ca (the CA that signed the servers' certificates)");
  if (!!files.cert !== !!files.key) throw new TlsFilesError('--tls-cert and --tls-key go together');
  const tls: TlsOptions = { ca: readCredentialFile(files.ca, 'CA certificate') };
  if (files.cert && files.key) {
    tls.cert = readCredentialFile(files.cert, 'client certificate');
    tls.key = readCredentialFile(files.key, 'client key');
  }
  return tls;
}

export function channelCredentials(tls: TlsOptions | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new Error('TLS client authentication needs both a certificate and its key');
  }
  return grpc.credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null);
}
