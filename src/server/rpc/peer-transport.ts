import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  ReplicationServiceClient,
  type PeerEnvelope,
  type ReplicationServiceServer,
  type SnapshotChunk,
} from '../../gen/chat/v1/replication.js';
import type { SnapshotPosition } from '../replication/state-machine.js';
import type { PeerEndpoint, Transport } from '../replication/transport.js';
import type { NodeId, PeerMessage } from '../replication/types.js';
import { fromEnvelope, fromWireConfig, toEnvelope, toWireConfig } from './peer-codec.js';
import { senderStamp } from './sender-stamp.js';

/** Channel options shared by every replica-to-replica and client channel: fast reconnects, keepalive, big messages. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.min_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

const SNAPSHOT_CHUNK = 1024 * 1024;
const RECONNECT_DELAY_MS = 100;

/** One replica's outgoing stream to a peer, re-opened after failures. Messages sent while it is down are lost (the protocol retries). */
class PeerLink {
  private readonly client: ReplicationServiceClient;
  private stream: grpc.ClientWritableStream<PeerEnvelope> | undefined;
  private retryAt = 0;

  constructor(
    readonly peer: PeerEndpoint,
    credentials: grpc.ChannelCredentials,
    private readonly logger: Logger,
  ) {
    this.client = new ReplicationServiceClient(peer.address, credentials, CHANNEL_OPTIONS);
  }

  /** The open stream, opening one if the last failure is old enough. */
  private open(): grpc.ClientWritableStream<PeerEnvelope> | undefined {
    if (this.stream) return this.stream;
    if (Date.now() < this.retryAt) return undefined;
    const stream = this.client.exchange((err) => {
      if (this.stream === stream) this.stream = undefined;
      if (err && err.code !== grpc.status.CANCELLED) {
        this.retryAt = Date.now() + RECONNECT_DELAY_MS;
        this.logger.debug({ peer: this.peer.id, code: err.code, err: err.details }, 'peer stream closed');
      }
    });
    stream.on('error', () => {
      if (this.stream === stream) this.stream = undefined;
      this.retryAt = Date.now() + RECONNECT_DELAY_MS;
    });
    this.stream = stream;
    return stream;
  }

  write(env: PeerEnvelope): boolean {
    const stream = this.open();
    if (!stream) return false;
    stream.write(env);
    return true;
  }

  /**
   * Sends a snapshot over its own call and resolves once the peer answered that
   * every chunk arrived; rejects when the peer is down or the call breaks.
   */
  async writeSnapshot(chunks: PeerEnvelope[], timeoutMs: number): Promise<void> {
    let failed: Error | undefined;
    const done = new Promise<void>((resolve, reject) => {
      const call = this.client.installSnapshot({ deadline: Date.now() + timeoutMs }, (err) => {
        if (err) {
          failed = err;
          reject(err);
        } else resolve();
      });
      void (async () => {
        for (const chunk of chunks) {
          if (failed) return;
          if (!call.write(chunk)) await new Promise<void>((r) => call.once('drain', () => r()));
        }
        call.end();
      })();
    });
    await done;
  }

  close(): void {
    this.stream?.end();
    this.stream = undefined;
    this.client.close();
  }
}

/**
 * Outgoing replica-to-replica traffic over gRPC: one link per peer, to the
 * peers the replica names with `connect` (its configuration's replicas, which
 * membership changes move).
 */
export class PeerTransport implements Transport {
  private readonly links = new Map<NodeId, PeerLink>();

  /** `address` is where peers reach this replica: it travels with every message, so a replica being added can answer. */
  constructor(
    private readonly self: NodeId,
    private readonly cluster: string,
    private readonly address: string,
    private readonly credentials: grpc.ChannelCredentials,
    private readonly logger: Logger,
  ) {}

  /** Keeps links to exactly these peers: opens new ones, re-opens moved ones, closes the rest. */
  connect(peers: readonly PeerEndpoint[]): void {
    const wanted = new Map(peers.filter((p) => p.id !== this.self && p.address !== '').map((p) => [p.id, p.address]));
    for (const [id, link] of this.links) {
      if (wanted.get(id) === link.peer.address) continue;
      link.close();
      this.links.delete(id);
    }
    for (const [id, address] of wanted) {
      if (this.links.has(id)) continue;
      this.links.set(id, new PeerLink({ id, address }, this.credentials, this.logger));
      this.logger.debug({ peer: id, address }, 'peer link opened');
    }
  }

  send(message: PeerMessage): void {
    this.links.get(message.to)?.write(toEnvelope(message, this.cluster, this.address));
  }

  async sendSnapshot(to: NodeId, epoch: number, position: SnapshotPosition, data: Buffer): Promise<void> {
    const link = this.links.get(to);
    if (!link) throw new Error(`unknown peer ${to}`);
    const chunks: PeerEnvelope[] = [];
    for (let offset = 0; offset < data.length || offset === 0; offset += SNAPSHOT_CHUNK) {
      const piece = data.subarray(offset, offset + SNAPSHOT_CHUNK);
      const done = offset + SNAPSHOT_CHUNK >= data.length;
      chunks.push({
        from: this.self, to, epoch, cluster: this.cluster, fromAddress: this.address, ...senderStamp(),
        body: { $case: 'snapshot', value: { ...position, config: toWireConfig(position.config), offset, data: piece, done, totalSize: data.length } },
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
 * The receiving side: validates envelopes, reassembles snapshots and hands core
 * messages to `deliver` (with the snapshot's bytes for a finished snapshot).
 */
export function createReplicationService(options: {
  self: NodeId;
  cluster: string;
  /** A core message, with the sender's address and, for a finished snapshot, its bytes. */
  deliver(message: PeerMessage, fromAddress: string, snapshot?: Buffer): void;
  /** Every accepted envelope's sender with the build it states (see PeerVersions). */
  heard?(env: PeerEnvelope): void;
  logger: Logger;
}): ReplicationServiceServer {
  const { self, cluster, deliver, logger } = options;
  return {
    exchange(call, callback) {
      call.on('data', (env: PeerEnvelope) => {
        if (!accept(env)) {
          call.destroy(new Error('wrong cluster or replica'));
          return;
        }
        options.heard?.(env);
        const message = env.body?.$case === 'snapshot' ? undefined : fromEnvelope(env);
        if (message) deliver(message, env.fromAddress);
      });
      call.on('end', () => callback(null, {}));
      call.on('error', () => undefined);
    },

    installSnapshot(call, callback) {
      const parts: Buffer[] = [];
      let size = 0;
      let last: { env: PeerEnvelope; chunk: SnapshotChunk } | undefined;
      let broken: string | undefined;
      call.on('data', (env: PeerEnvelope) => {
        if (broken) return;
        if (!accept(env) || env.body?.$case !== 'snapshot') {
          broken = 'not a snapshot chunk for this replica';
          return;
        }
        const chunk = env.body.value;
        if (chunk.offset !== size) {
          broken = `chunk at offset ${chunk.offset}, expected ${size}`;
          return;
        }
        parts.push(chunk.data);
        size += chunk.data.length;
        if (chunk.done) last = { env, chunk };
      });
      call.on('end', () => {
        if (broken || !last || size !== last.chunk.totalSize) {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: broken ?? 'the snapshot ended early' });
          return;
        }
        const { env, chunk } = last;
        deliver(
          { from: env.from, to: env.to, epoch: env.epoch, body: { type: 'snapshot', lastIndex: chunk.lastIndex, lastEpoch: chunk.lastEpoch, config: fromWireConfig(chunk.config) } },
          env.fromAddress,
          Buffer.concat(parts, size),
        );
        callback(null, {});
      });
      call.on('error', () => undefined);
    },
  };

  /** Any replica of this cluster may write: the configuration, which membership changes move, is the core's business. */
  function accept(env: PeerEnvelope): boolean {
    if (env.cluster === cluster && env.to === self && env.from !== '' && env.from !== self) return true;
    logger.warn({ from: env.from, to: env.to, cluster: env.cluster }, 'refused a peer message meant for another replica or cluster');
    return false;
  }
}
