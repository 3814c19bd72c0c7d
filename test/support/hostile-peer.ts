/**
 * A peer-plane caller that sends whatever a test wants: raw bytes or
 * envelopes, with or without the handshake (an insider holding the cluster
 * secret, or a stranger), on any ReplicationService method; and records how
 * the call ended.
 */
import * as grpc from '@grpc/grpc-js';
import { PeerEnvelope } from '../../src/gen/chat/v1/replication.js';
import { PEER_CHALLENGE_KEY, type PeerAuth } from '../../src/server/rpc/peer-auth.js';

export type PeerMethod = 'Exchange' | 'InstallSnapshot' | 'Identify';

export interface HostileCall {
  /** Writes an envelope, or raw bytes, waiting while the stream is full. */
  write(message: PeerEnvelope | Uint8Array): Promise<void>;
  end(): void;
  cancel(): void;
  /** How the call ended (OK included). */
  ended: Promise<grpc.StatusObject>;
}

const identity = (b: Buffer): Buffer => b;

/**
 * An envelope with what a test sets; the rest as an unremarkable sender has it:
 * cluster `chat`, no force, incarnation or build, peer listener 127.0.0.1:1.
 */
export function peerEnvelope(
  e: Pick<PeerEnvelope, 'from' | 'to' | 'epoch' | 'body'> & Partial<PeerEnvelope>,
): PeerEnvelope {
  return {
    force: 0,
    incarnation: '',
    cluster: 'chat',
    fromAddress: '127.0.0.1:1',
    senderVersion: '',
    senderCommit: '',
    protocolVersion: 0,
    ...e,
  };
}

/**
 * Opens `method` at `address`. With `auth`, it first does the calling side of
 * the handshake as `auth.self` towards `to` (resolving once the hello is
 * written); without, the call carries `metadata` (default none) and nothing else.
 */
export async function openPeerCall(
  address: string,
  method: PeerMethod,
  o: {
    auth?: PeerAuth;
    to?: string;
    metadata?: grpc.Metadata;
    credentials?: grpc.ChannelCredentials;
    deadlineMs?: number;
    /** Sends a hello with this proof, whatever the answering replica proved (a stranger guessing). */
    forgedProof?: Buffer;
  } = {},
): Promise<HostileCall> {
  const client = new grpc.Client(address, o.credentials ?? grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
  });
  const handshake = o.auth ? o.auth.callMetadata(o.to ?? '') : undefined;
  let settle!: (s: grpc.StatusObject) => void;
  const ended = new Promise<grpc.StatusObject>((resolve) => (settle = resolve));
  const call = client.makeClientStreamRequest(
    `/chat.v1.ReplicationService/${method}`,
    identity,
    identity,
    handshake?.metadata ?? o.metadata ?? new grpc.Metadata(),
    {
      deadline: Date.now() + (o.deadlineMs ?? 15_000),
    },
    () => undefined,
  );
  call.on('error', () => undefined);
  call.on('status', (s: grpc.StatusObject) => {
    client.close();
    settle(s);
  });
  const write = async (message: PeerEnvelope | Uint8Array) => {
    const bytes = Buffer.from(message instanceof Uint8Array ? message : PeerEnvelope.encode(message).finish());
    if (!call.write(bytes)) await new Promise<void>((resolve) => call.once('drain', () => resolve()));
  };
  if (o.auth && handshake) {
    const auth = o.auth;
    const headers = await Promise.race([
      new Promise<grpc.Metadata>((resolve) =>
        call.on('metadata', (md: grpc.Metadata) => md.get(PEER_CHALLENGE_KEY).length > 0 && resolve(md)),
      ),
      ended.then((s) => {
        throw new Error(`the handshake was refused: ${grpc.status[s.code]} ${s.details}`);
      }),
    ]);
    if (o.forgedProof) {
      await write(
        peerEnvelope({
          from: auth.self,
          to: o.to ?? '',
          epoch: 0,
          cluster: auth.cluster,
          fromAddress: '',
          body: { $case: 'hello', value: { proof: o.forgedProof } },
        }),
      );
    } else {
      const hello = auth.helloFor(o.to ?? '', handshake.nonce, headers);
      if ('problem' in hello) throw new Error(hello.problem);
      await write(hello.hello);
    }
  }
  return { write, end: () => call.end(), cancel: () => call.cancel(), ended };
}
