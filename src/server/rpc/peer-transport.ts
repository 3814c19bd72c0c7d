/**
 * The calling side of the peer plane: one authenticated Exchange stream per
 * peer for messages, one InstallSnapshot call per snapshot, and Identify for a
 * leader checking a replica before it adds it. Every call opens with the
 * handshake of peer-auth.ts; a peer that cannot prove it is a replica of this
 * cluster gets nothing.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ReplicationServiceClient, type PeerEnvelope, type ReplicaIdentity } from '../../gen/chat/v1/replication.js';
import type { SnapshotPosition } from '../replication/state-machine.js';
import type { PeerEndpoint, SnapshotSender, Transport } from '../replication/transport.js';
import type { NodeId, PeerMessage } from '../replication/types.js';
import { PEER_CHALLENGE_KEY, type PeerAuth } from './peer-auth.js';
import { toEnvelope, toWireConfig } from './peer-codec.js';
import { senderStamp } from './sender-stamp.js';

/**
 * The largest message on the peer plane: an append of a full batch (512 ops of
 * at most about 17 KiB of JSON each) is below 9 MiB; snapshot chunks are 1 MiB.
 */
export const PEER_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Options of every replica-to-replica channel: fast reconnects, keepalive, the peer plane's message size. */
export const PEER_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.min_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': PEER_MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': PEER_MAX_MESSAGE_BYTES,
};

const SNAPSHOT_CHUNK = 1024 * 1024;
const RECONNECT_DELAY_MS = 100;
/** A link revived because its peer was heard from is not revived again sooner than this. */
const REVIVE_EVERY_MS = 200;
/** After a peer failed the handshake: it will not pass in the next instant either. */
const REFUSED_DELAY_MS = 2_000;
const HANDSHAKE_TIMEOUT_MS = 5_000;

type PeerCall = grpc.ClientWritableStream<PeerEnvelope>;

/**
 * Opens a call with `open` and does the calling side of the handshake: waits
 * for the answering replica's headers, checks its proof and writes the hello.
 * Resolves with the call once it may carry messages.
 */
function handshake(auth: PeerAuth, to: NodeId, open: (metadata: grpc.Metadata) => PeerCall): Promise<PeerCall> {
  const { metadata, nonce } = auth.callMetadata(to);
  const call = open(metadata);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`${to} did not answer the handshake within ${HANDSHAKE_TIMEOUT_MS / 1000} s`)),
      HANDSHAKE_TIMEOUT_MS,
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      call.cancel();
      reject(err);
    };
    // A call with a callback reports how it ended as 'status' (its 'error' may not come).
    call.on('status', (status: grpc.StatusObject) => {
      clearTimeout(timer);
      if (status.code !== grpc.status.OK) reject(Object.assign(new Error(status.details), status));
    });
    call.on('error', () => undefined);
    call.on('metadata', (headers: grpc.Metadata) => {
      // A refusal comes as a status without headers of ours; its 'error' says why.
      if (headers.get(PEER_CHALLENGE_KEY).length === 0) return;
      const hello = auth.helloFor(to, nonce, headers);
      if ('problem' in hello) return fail(new PeerRefusedError(hello.problem));
      clearTimeout(timer);
      call.write(hello.hello);
      resolve(call);
    });
  });
}

/** The answering replica did not prove it is one of this cluster. */
export class PeerRefusedError extends Error {}

/** One replica's outgoing stream to a peer, re-opened after failures. Messages sent while it is not open are lost (the protocol retries). */
class PeerLink {
  private client: ReplicationServiceClient;
  private stream: PeerCall | undefined;
  private opening = false;
  private closed = false;
  private retryAt = 0;
  private revivedAt = -Infinity;
  /** The peer refused this replica's handshake: hearing from it does not make it accept the next one sooner. */
  private refusedUntil = 0;

  constructor(
    readonly peer: PeerEndpoint,
    private readonly auth: PeerAuth,
    private readonly logger: Logger,
  ) {
    this.client = this.newClient();
  }

  private newClient(): ReplicationServiceClient {
    return new ReplicationServiceClient(
      this.peer.address,
      this.auth.channelCredentials(this.peer.id),
      PEER_CHANNEL_OPTIONS,
    );
  }

  /**
   * The peer was just heard from, so it is up: a link that is down opens now.
   * While the peer was unreachable the channel backed off between attempts (up
   * to a second); a returning replica would otherwise wait that long for its
   * first append. A channel in that backoff is replaced by a fresh one.
   */
  revive(): void {
    if (this.stream || this.opening || this.closed) return;
    const now = Date.now();
    if (now - this.revivedAt < REVIVE_EVERY_MS || now < this.refusedUntil) return;
    this.revivedAt = now;
    if (this.client.getChannel().getConnectivityState(false) === grpc.connectivityState.TRANSIENT_FAILURE) {
      this.client.close();
      this.client = this.newClient();
    }
    this.retryAt = 0;
    this.open();
  }

  private open(): void {
    if (this.opening || Date.now() < this.retryAt) return;
    this.opening = true;
    let opened: PeerCall | undefined;
    handshake(this.auth, this.peer.id, (metadata) => {
      opened = this.client.exchange(metadata, (err) => {
        if (this.stream === opened) this.stream = undefined;
        if (err && err.code !== grpc.status.CANCELLED) {
          this.retryAt = Date.now() + RECONNECT_DELAY_MS;
          this.logger.debug({ peer: this.peer.id, code: err.code, err: err.details }, 'peer stream closed');
        }
      });
      return opened;
    }).then(
      (stream) => {
        this.opening = false;
        if (this.closed) {
          stream.cancel();
          return;
        }
        this.stream = stream;
        stream.on('error', () => {
          if (this.stream === stream) this.stream = undefined;
          this.retryAt = Date.now() + RECONNECT_DELAY_MS;
        });
      },
      (err: Error) => {
        this.opening = false;
        const refused = err instanceof PeerRefusedError;
        this.retryAt = Date.now() + (refused ? REFUSED_DELAY_MS : RECONNECT_DELAY_MS);
        if (refused) this.refusedUntil = this.retryAt;
        if (refused)
          this.logger.warn(
            { event: 'peer.unauthenticated', peer: this.peer.id, address: this.peer.address },
            `not talking to ${this.peer.id} at ${this.peer.address}: ${err.message}`,
          );
      },
    );
  }

  write(env: PeerEnvelope): boolean {
    if (!this.stream) {
      this.open();
      return false;
    }
    this.stream.write(env);
    return true;
  }

  /**
   * Sends a snapshot over its own call and resolves once the peer answered that
   * every chunk arrived; rejects when the peer is down, refuses or the call breaks.
   */
  async writeSnapshot(chunks: PeerEnvelope[], timeoutMs: number): Promise<void> {
    let answered: Promise<void> | undefined;
    const call = await handshake(this.auth, this.peer.id, (metadata) => {
      let opened!: PeerCall;
      answered = new Promise<void>((resolve, reject) => {
        opened = this.client.installSnapshot(metadata, { deadline: Date.now() + timeoutMs }, (err) =>
          err ? reject(err) : resolve(),
        );
      });
      answered.catch(() => undefined);
      return opened;
    });
    let failed = false;
    answered!.catch(() => (failed = true));
    for (const chunk of chunks) {
      if (failed) break;
      if (!call.write(chunk)) await new Promise<void>((r) => call.once('drain', () => r()));
    }
    call.end();
    await answered;
  }

  close(): void {
    this.closed = true;
    this.stream?.end();
    this.stream = undefined;
    this.client.close();
  }
}

/**
 * Outgoing replica-to-replica traffic over gRPC: one link per peer, to the
 * peers the replica names with `connect` (its configuration's replicas, which
 * membership changes move), at their peer addresses.
 */
export class PeerTransport implements Transport {
  private readonly links = new Map<NodeId, PeerLink>();

  /** `peerAddress` is where peers reach this replica: it travels with every message, so a replica being added can answer. */
  constructor(
    private readonly auth: PeerAuth,
    private readonly peerAddress: string,
    private readonly logger: Logger,
  ) {}

  /** Keeps links to exactly these peers: opens new ones, re-opens moved ones, closes the rest. */
  connect(peers: readonly PeerEndpoint[]): void {
    const wanted = new Map(
      peers.filter((p) => p.id !== this.auth.self && p.address !== '').map((p) => [p.id, p.address]),
    );
    for (const [id, link] of this.links) {
      if (wanted.get(id) === link.peer.address) continue;
      link.close();
      this.links.delete(id);
    }
    for (const [id, address] of wanted) {
      if (this.links.has(id)) continue;
      this.links.set(id, new PeerLink({ id, address }, this.auth, this.logger));
      this.logger.debug({ peer: id, address }, 'peer link opened');
    }
  }

  /** `id` was heard from (a message of it arrived): a link to it that is down opens at once (PeerLink.revive). */
  heardFrom(id: NodeId): void {
    this.links.get(id)?.revive();
  }

  send(message: PeerMessage): void {
    this.links.get(message.to)?.write(toEnvelope(message, this.auth.wire, this.peerAddress));
  }

  async sendSnapshot(to: NodeId, sender: SnapshotSender, position: SnapshotPosition, data: Buffer): Promise<void> {
    const link = this.links.get(to);
    if (!link) throw new Error(`unknown peer ${to}`);
    const chunks: PeerEnvelope[] = [];
    for (let offset = 0; offset < data.length || offset === 0; offset += SNAPSHOT_CHUNK) {
      const piece = data.subarray(offset, offset + SNAPSHOT_CHUNK);
      const done = offset + SNAPSHOT_CHUNK >= data.length;
      chunks.push({
        from: this.auth.self,
        to,
        epoch: sender.epoch,
        force: sender.force,
        incarnation: sender.incarnation,
        cluster: this.auth.wire,
        fromAddress: this.peerAddress,
        ...senderStamp(),
        body: {
          $case: 'snapshot',
          value: {
            ...position,
            config: toWireConfig(position.config),
            offset,
            data: piece,
            done,
            totalSize: data.length,
          },
        },
      });
      if (done) break;
    }
    // Generous: a large snapshot on a slow link takes a while, but a dead peer fails at once.
    await link.writeSnapshot(chunks, 60_000 + data.length / 1024);
  }

  close(): void {
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }
}

/**
 * Asks whoever answers at `peerAddress` who it is, over the authenticated peer
 * plane: it must prove it is replica `id` of this cluster before it answers.
 */
export async function identifyPeer(
  auth: PeerAuth,
  id: NodeId,
  peerAddress: string,
  deadlineMs: number,
): Promise<ReplicaIdentity> {
  const client = new ReplicationServiceClient(peerAddress, auth.channelCredentials(id), {
    ...PEER_CHANNEL_OPTIONS,
    'grpc.max_reconnect_backoff_ms': 200,
  });
  try {
    let answered!: Promise<ReplicaIdentity>;
    const call = await handshake(auth, id, (metadata) => {
      let opened!: PeerCall;
      answered = new Promise<ReplicaIdentity>((resolve, reject) => {
        opened = client.identify(metadata, { deadline: Date.now() + deadlineMs }, (err, identity) =>
          err ? reject(err) : resolve(identity!),
        );
      });
      answered.catch(() => undefined);
      return opened;
    });
    call.end();
    return await answered;
  } finally {
    client.close();
  }
}
