/** Channel credentials from the client options: TLS when configured, plaintext otherwise. */
import * as grpc from '@grpc/grpc-js';
import type { TlsOptions } from './api.js';

export function channelCredentials(tls: TlsOptions | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new Error('TLS client authentication needs both a certificate and its key');
  }
  return grpc.credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null);
}
