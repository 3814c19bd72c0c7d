/**
 * How replicas prove to each other who they are (see the ReplicationService
 * comment in proto/chat/v1/replication.proto and README, "Security"):
 *
 * - With certificates (`--tls-ca` besides `--tls-cert`/`--tls-key`): mutual
 *   TLS on the peer listener; each side's certificate, signed by the cluster
 *   CA, must name the replica it claims to be (chat://<cluster>/replica/<id>).
 * - With a cluster secret (`--cluster-secret-file`): a challenge-response per
 *   call. The caller sends a nonce; the answering replica sends a challenge and
 *   its proof over the nonce (HMAC-SHA256 with the secret) in its headers
 *   before reading anything; the caller checks that proof and sends, as its
 *   first message, a hello with its own proof over both. Nothing is replayable
 *   (both sides pick fresh randomness) and neither side can be impersonated by
 *   one that does not know the secret.
 * - Both: both are checked.
 * - `--insecure-peers`: nothing is checked (a loud warning at start).
 *
 * The first message of every call is the hello; it binds the call to the
 * replica it proved, and every later message must come from that replica.
 */
import * as grpc from '@grpc/grpc-js';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { PeerEnvelope } from '../../gen/chat/v1/replication.js';
import { checkId } from '../replication/endpoints.js';
import { wireCluster } from '../cluster-identity.js';
import { senderStamp } from './sender-stamp.js';
import type { NodeId } from '../replication/types.js';
import { certificateNames, identityUri } from './peer-identity.js';

export const PEER_FROM_KEY = 'x-chat-peer-from';
export const PEER_TO_KEY = 'x-chat-peer-to';
export const PEER_NONCE_KEY = 'x-chat-peer-nonce-bin';
export const PEER_CHALLENGE_KEY = 'x-chat-peer-challenge-bin';
export const PEER_PROOF_KEY = 'x-chat-peer-proof-bin';

const RANDOM_BYTES = 32;

export interface PeerTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export interface PeerAuthOptions {
  cluster: string;
  /** A restored cluster's id ('' or absent otherwise): proofs and hellos carry it, so a restored cluster and its original refuse each other. */
  clusterId?: string;
  self: NodeId;
  /** The cluster secret every replica holds, when they prove it. */
  secret?: Buffer;
  /** Mutual TLS with certificates naming the replicas. */
  tls?: PeerTls;
  /** `--insecure-peers`: accept peers without any proof. */
  insecure?: boolean;
}

/** How a peer call was refused: the status the caller gets and why. */
export interface Refusal {
  code: grpc.status;
  problem: string;
}

function proof(secret: Buffer, parts: string[]): Buffer {
  return createHmac('sha256', secret).update(JSON.stringify(parts)).digest();
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function firstBuffer(md: grpc.Metadata, key: string): Buffer | undefined {
  const value = md.get(key)[0];
  return Buffer.isBuffer(value) ? value : undefined;
}

function firstString(md: grpc.Metadata, key: string): string | undefined {
  const value = md.get(key)[0];
  return typeof value === 'string' ? value : undefined;
}

/** What the answering side of a call remembers between its headers and the caller's hello. */
export interface PendingHello {
  from: string;
  nonce: Buffer;
  challenge: Buffer;
}

function isReplicaId(id: string): boolean {
  try {
    checkId(id);
    return true;
  } catch {
    return false;
  }
}

export class PeerAuth {
  readonly cluster: string;
  /** The cluster as peer messages and proofs name it: its name, and a restored cluster's id (cluster-identity.ts). */
  readonly wire: string;
  readonly self: NodeId;
  private readonly secret: Buffer | undefined;
  private readonly tls: PeerTls | undefined;
  readonly insecure: boolean;

  constructor(options: PeerAuthOptions) {
    this.cluster = options.cluster;
    this.wire = wireCluster(options.cluster, options.clusterId ?? '');
    this.self = options.self;
    this.secret = options.secret;
    this.tls = options.tls;
    this.insecure = options.insecure ?? false;
  }

  /** Whether this replica can authenticate peers at all (or was told not to). */
  get canTalkToPeers(): boolean {
    return this.secret !== undefined || this.tls !== undefined || this.insecure;
  }

  /** How peers are authenticated, for the log and the status. */
  describe(): string {
    const ways = [
      ...(this.tls ? ['mutual TLS (certificates naming each replica)'] : []),
      ...(this.secret ? ['the cluster secret'] : []),
    ];
    if (ways.length > 0) return ways.join(' and ');
    return this.insecure ? 'nothing (--insecure-peers)' : 'nothing: this replica has no peer credentials';
  }

  // ------------------------------------------------------------ credentials

  /** The peer listener's credentials: TLS requiring a client certificate signed by the cluster CA, or plaintext. */
  serverCredentials(): grpc.ServerCredentials {
    if (!this.tls) return grpc.ServerCredentials.createInsecure();
    return grpc.ServerCredentials.createSsl(
      this.tls.ca,
      [{ private_key: this.tls.key, cert_chain: this.tls.cert }],
      true,
    );
  }

  /** Credentials for calling replica `peer`: with TLS, its certificate must also name it. */
  channelCredentials(peer: NodeId): grpc.ChannelCredentials {
    if (!this.tls) return grpc.credentials.createInsecure();
    const expected = identityUri(this.cluster, 'replica', peer);
    return grpc.credentials.createSsl(this.tls.ca, this.tls.key, this.tls.cert, {
      checkServerIdentity: (host: string, cert: PeerCertificate) => {
        const hostProblem = checkServerIdentity(host, cert);
        if (hostProblem) return hostProblem;
        if (!certificateNames(cert, this.cluster, 'replica').includes(peer)) {
          return new Error(
            `the certificate at ${host} does not name replica ${peer} of cluster "${this.cluster}" (it needs the URI ${expected})`,
          );
        }
        return undefined;
      },
    });
  }

  // ---------------------------------------------------------- calling side

  /** The metadata a call to `to` starts with, and the nonce the answer must prove. */
  callMetadata(to: NodeId): { metadata: grpc.Metadata; nonce: Buffer } {
    const nonce = randomBytes(RANDOM_BYTES);
    const metadata = new grpc.Metadata();
    metadata.set(PEER_FROM_KEY, this.self);
    metadata.set(PEER_TO_KEY, to);
    metadata.set(PEER_NONCE_KEY, nonce);
    return { metadata, nonce };
  }

  /** Checks the answering replica's headers; the hello to send, or why the call must be dropped. */
  helloFor(to: NodeId, nonce: Buffer, headers: grpc.Metadata): { hello: PeerEnvelope } | { problem: string } {
    const challenge = firstBuffer(headers, PEER_CHALLENGE_KEY);
    if (!challenge || challenge.length !== RANDOM_BYTES)
      return { problem: `the replica answering as ${to} sent no challenge (not a chat replica of this version?)` };
    let helloProof: Buffer = Buffer.alloc(0);
    if (this.secret) {
      const theirs = firstBuffer(headers, PEER_PROOF_KEY);
      const expected = proof(this.secret, [
        'chat-peer-server-v1',
        this.wire,
        to,
        this.self,
        nonce.toString('base64'),
        challenge.toString('base64'),
      ]);
      if (!theirs || !sameBytes(theirs, expected)) {
        return {
          problem: `the replica answering as ${to} did not prove it knows the cluster secret (a different --cluster-secret-file, or not a replica of cluster "${this.wire}")`,
        };
      }
      helloProof = proof(this.secret, [
        'chat-peer-hello-v1',
        this.wire,
        this.self,
        to,
        nonce.toString('base64'),
        challenge.toString('base64'),
      ]);
    }
    return {
      hello: {
        from: this.self,
        to,
        epoch: 0,
        force: 0,
        incarnation: '',
        cluster: this.wire,
        fromAddress: '',
        ...senderStamp(),
        body: { $case: 'hello', value: { proof: helloProof } },
      },
    };
  }

  // -------------------------------------------------------- answering side

  /**
   * The headers to answer a call with, sent before reading anything, and what
   * its hello must prove; or why the call is refused at once.
   */
  answer(metadata: grpc.Metadata): { headers: grpc.Metadata; pending: PendingHello } | Refusal {
    const from = firstString(metadata, PEER_FROM_KEY) ?? '';
    const to = firstString(metadata, PEER_TO_KEY) ?? '';
    const nonce = firstBuffer(metadata, PEER_NONCE_KEY);
    if (!nonce || nonce.length !== RANDOM_BYTES || !isReplicaId(from)) {
      return {
        code: grpc.status.UNAUTHENTICATED,
        problem:
          'a peer call starts with x-chat-peer-from (a replica id), x-chat-peer-to and a 32-byte x-chat-peer-nonce-bin (only chat replicas call here)',
      };
    }
    if (to !== this.self)
      return { code: grpc.status.FAILED_PRECONDITION, problem: `this is replica ${this.self}, not ${to}` };
    const challenge = randomBytes(RANDOM_BYTES);
    const headers = new grpc.Metadata();
    headers.set(PEER_CHALLENGE_KEY, challenge);
    if (this.secret) {
      headers.set(
        PEER_PROOF_KEY,
        proof(this.secret, [
          'chat-peer-server-v1',
          this.wire,
          this.self,
          from,
          nonce.toString('base64'),
          challenge.toString('base64'),
        ]),
      );
    }
    return { headers, pending: { from, nonce, challenge } };
  }

  /**
   * Checks a call's first message: a hello from the replica the call's
   * metadata named, proving the secret and/or holding a certificate naming it.
   * `certificate` is the caller's verified client certificate, if any.
   */
  checkHello(
    env: PeerEnvelope,
    pending: PendingHello,
    certificate: PeerCertificate | undefined,
  ): { from: NodeId } | Refusal {
    if (env.body?.$case !== 'hello')
      return { code: grpc.status.UNAUTHENTICATED, problem: 'the first message of a peer call must be a hello' };
    if (env.from !== pending.from || env.to !== this.self || env.cluster !== this.wire) {
      return {
        code: grpc.status.PERMISSION_DENIED,
        problem: `a hello from ${JSON.stringify(env.from)} of cluster ${JSON.stringify(env.cluster)} to ${JSON.stringify(env.to)} on a call opened by ${pending.from}: this is ${this.self} of "${this.wire}"`,
      };
    }
    if (this.tls && !certificateNames(certificate, this.cluster, 'replica').includes(env.from)) {
      return {
        code: grpc.status.PERMISSION_DENIED,
        problem: `the client certificate does not name replica ${env.from} (it needs the URI ${identityUri(this.cluster, 'replica', env.from)})`,
      };
    }
    if (this.secret) {
      const expected = proof(this.secret, [
        'chat-peer-hello-v1',
        this.wire,
        env.from,
        this.self,
        pending.nonce.toString('base64'),
        pending.challenge.toString('base64'),
      ]);
      if (!sameBytes(Buffer.from(env.body.value.proof), expected)) {
        return {
          code: grpc.status.UNAUTHENTICATED,
          problem: `${env.from} did not prove it knows the cluster secret (a different --cluster-secret-file?)`,
        };
      }
    }
    return { from: env.from };
  }
}
