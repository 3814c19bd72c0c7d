import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  ReplicationServiceClient,
  type PeerEnvelope,
  type ReplicationServiceServer,
} from '../../gen/chat/v1/replication.js';
import type { Config, NodeId, PeerMessage } from '../replication/types.js';
import { fromEnvelope, fromWireConfig, toEnvelope, toWireConfig } from './peer-codec.js';

export interface PeerEndpoint {
  id: NodeId;
  address: string;
}

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

  /** Writes a snapshot in chunks, waiting for the stream to drain; rejects if the stream breaks. */
  async writeSnapshot(chunks: PeerEnvelope[]): Promise<void> {
    const stream = this.open();
    if (!stream) throw new Error(`no stream to ${this.peer.id}`);
    for (const chunk of chunks) {
      if (this.stream !== stream) throw new Error(`stream to ${this.peer.id} broke during the snapshot`);
      if (!stream.write(chunk)) {
        await new Promise<void>((resolve, reject) => {
          const onDrain = () => { stream.off('error', onError); resolve(); };
          const onError = (err: Error) => { stream.off('drain', onDrain); reject(err); };
          stream.once('drain', onDrain);
          stream.once('error', onError);
        });
      }
    }
  }

  close(): void {
    this.stream?.end();
    this.stream = undefined;
    this.client.close();
  }
}

/** Outgoing replica-to-replica traffic. */
export class PeerTransport {
  private readonly links = new Map<NodeId, PeerLink>();

  constructor(
    private readonly self: NodeId,
    private readonly cluster: string,
    peers: readonly PeerEndpoint[],
    credentials: grpc.ChannelCredentials,
    logger: Logger,
  ) {
    for (const p of peers) if (p.id !== self) this.links.set(p.id, new PeerLink(p, credentials, logger));
  }

  send(message: PeerMessage): void {
    this.links.get(message.to)?.write(toEnvelope(message, this.cluster));
  }

  async sendSnapshot(to: NodeId, epoch: number, header: { lastIndex: number; lastEpoch: number; config: Config }, data: Buffer): Promise<void> {
    const link = this.links.get(to);
    if (!link) throw new Error(`unknown peer ${to}`);
    const chunks: PeerEnvelope[] = [];
    for (let offset = 0; offset < data.length || offset === 0; offset += SNAPSHOT_CHUNK) {
      const piece = data.subarray(offset, offset + SNAPSHOT_CHUNK);
      const done = offset + SNAPSHOT_CHUNK >= data.length;
      chunks.push({
        from: this.self, to, epoch, cluster: this.cluster,
        body: { $case: 'snapshot', value: { ...header, config: toWireConfig(header.config), offset, data: piece, done, totalSize: data.length } },
      });
      if (done) break;
    }
    await link.writeSnapshot(chunks);
  }

  close(): void {
    for (const link of this.links.values()) link.close();
  }
}

/**
 * The receiving side: validates envelopes, reassembles snapshots and hands core
 * messages to `deliver` (with the snapshot's bytes for a finished snapshot).
 */
export function createReplicationService(options: {
  self: NodeId;
  cluster: string;
  peers: readonly NodeId[];
  deliver(message: PeerMessage, snapshot?: Buffer): void;
  logger: Logger;
}): ReplicationServiceServer {
  const { self, cluster, peers, deliver, logger } = options;
  return {
    exchange(call, callback) {
      const partial = new Map<NodeId, { parts: Buffer[]; size: number }>();
      call.on('data', (env: PeerEnvelope) => {
        if (env.cluster !== cluster || env.to !== self || !peers.includes(env.from)) {
          logger.warn({ from: env.from, to: env.to, cluster: env.cluster }, 'refused a peer message meant for another replica or cluster');
          call.destroy(new Error('wrong cluster or replica'));
          return;
        }
        if (env.body?.$case === 'snapshot') {
          const chunk = env.body.value;
          let acc = partial.get(env.from);
          if (chunk.offset === 0 || !acc) acc = { parts: [], size: 0 };
          if (chunk.offset !== acc.size) {
            partial.delete(env.from);
            return;
          }
          acc.parts.push(chunk.data);
          acc.size += chunk.data.length;
          partial.set(env.from, acc);
          if (!chunk.done) return;
          partial.delete(env.from);
          const data = Buffer.concat(acc.parts, acc.size);
          deliver(
            { from: env.from, to: env.to, epoch: env.epoch, body: { type: 'snapshot', lastIndex: chunk.lastIndex, lastEpoch: chunk.lastEpoch, config: fromWireConfig(chunk.config) } },
            data,
          );
          return;
        }
        const message = fromEnvelope(env);
        if (message) deliver(message);
      });
      call.on('end', () => callback(null, {}));
      call.on('error', () => undefined);
    },
  };
}
