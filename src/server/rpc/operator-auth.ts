/**
 * Who may change the cluster (ForceLeader, AddReplica, RemoveReplica): an
 * operator, by the admin token (`authorization: Bearer <token>`, compared in
 * constant time) or by a client certificate signed by the cluster CA that
 * names an operator (chat://<cluster>/operator/<name>). No credentials is
 * UNAUTHENTICATED, and so is a token that is no token of ours; credentials
 * that are valid but not an operator's (a chat session, a replica's or a
 * user's certificate) are PERMISSION_DENIED.
 */
import * as grpc from '@grpc/grpc-js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { bearerToken } from './auth.js';
import { certificateNames, certificateUris, identityUri } from './peer-identity.js';
import { RpcError } from './status-errors.js';

export interface OperatorAuthOptions {
  cluster: string;
  /** The admin token, when operators may use one. */
  adminToken: Buffer | undefined;
  /** Whether operator certificates are accepted (TLS with a CA to verify them). */
  certificates: boolean;
  /** Whether a bearer token is a chat user's session (it gets PERMISSION_DENIED, not UNAUTHENTICATED). */
  isChatSession(token: string): boolean;
}

/** The operator a call comes from, for the log. */
export interface Operator {
  by: 'token' | 'certificate';
  name: string;
}

function digest(b: Buffer | string): Buffer {
  return createHash('sha256').update(b).digest();
}

export class OperatorAuth {
  private readonly tokenDigest: Buffer | undefined;

  constructor(private readonly o: OperatorAuthOptions) {
    this.tokenDigest = o.adminToken ? digest(o.adminToken) : undefined;
  }

  /** The operator behind the call, or the status that refuses it. */
  check(metadata: grpc.Metadata, certificate: PeerCertificate | undefined): Operator | RpcError {
    const token = bearerToken(metadata);
    if (!this.tokenDigest && !this.o.certificates) {
      return new RpcError(
        grpc.status.PERMISSION_DENIED,
        'this replica accepts no operator credentials: start it with --admin-token-file (or TLS with --tls-ca and operator certificates; see README, "Security")',
      );
    }
    if (token !== undefined && token.length <= 4096) {
      if (this.tokenDigest && timingSafeEqual(digest(token), this.tokenDigest))
        return { by: 'token', name: 'admin token' };
      if (this.o.isChatSession(token))
        return new RpcError(
          grpc.status.PERMISSION_DENIED,
          'a chat session is not an operator credential: use the admin token (chat-ops --admin-token-file) or an operator certificate',
        );
    }
    if (this.o.certificates && certificate) {
      const names = certificateNames(certificate, this.o.cluster, 'operator');
      if (names.length > 0) return { by: 'certificate', name: names[0]! };
      if (token === undefined) {
        const uris = certificateUris(certificate);
        return new RpcError(
          grpc.status.PERMISSION_DENIED,
          `the client certificate (${uris.length > 0 ? uris.join(', ') : 'no URI names'}) does not name an operator of this cluster (${identityUri(this.o.cluster, 'operator', '<name>')})`,
        );
      }
    }
    if (token !== undefined)
      return new RpcError(grpc.status.UNAUTHENTICATED, "the token given is not this cluster's admin token");
    return new RpcError(
      grpc.status.UNAUTHENTICATED,
      'this call changes the cluster and needs operator credentials: the admin token (chat-ops --admin-token-file, or CHAT_ADMIN_TOKEN) or an operator certificate',
    );
  }
}
