/**
 * The transport seam (hashicorp/raft's Transport, TigerBeetle's MessageBus):
 * how the replica driver reaches its peers. `src/server/rpc/peer-transport.ts`
 * implements it over gRPC; what arrives from peers is handed to the driver's
 * `deliver` by the receiving side.
 */
import type { SnapshotPosition } from './state-machine.js';
import type { NodeId, PeerMessage } from './types.js';

/** A replica and the address the transport dials to reach it: its peer address. */
export interface PeerEndpoint {
  id: NodeId;
  address: string;
}

/**
 * A replica as a start or a configuration names it: where clients reach it
 * (`address`) and where the other replicas do (`peerAddress`; when not given,
 * endpoints.ts's defaultPeerAddress(address)).
 */
export interface ReplicaEndpoint {
  id: NodeId;
  address: string;
  peerAddress?: string;
}

/**
 * A snapshot a peer sent, kept outside memory (a file) until the core says to
 * install it; discarded once installed or replaced.
 */
export interface ReceivedSnapshot {
  readonly bytes: number;
  /** Its bytes (read when it is installed). */
  read(): Buffer;
  /** Frees what it holds; harmless to call twice. */
  discard(): void;
}

export interface Transport {
  /** Keeps links to exactly these peers (this replica and peers without an address are skipped). */
  connect(peers: readonly PeerEndpoint[]): void;
  /** Sends a message to `message.to`, best effort: the protocol retries what is lost. */
  send(message: PeerMessage): void;
  /** Sends a snapshot; resolves once the peer has every byte, rejects when it cannot get there. */
  sendSnapshot(to: NodeId, epoch: number, position: SnapshotPosition, data: Buffer): Promise<void>;
  /** Closes every link. */
  close(): void;
}
