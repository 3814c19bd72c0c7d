/**
 * The transport seam (hashicorp/raft's Transport, TigerBeetle's MessageBus):
 * how the replica driver reaches its peers. `src/server/rpc/peer-transport.ts`
 * implements it over gRPC; what arrives from peers is handed to the driver's
 * `deliver` by the receiving side.
 */
import type { SnapshotPosition } from './state-machine.js';
import type { NodeId, PeerMessage } from './types.js';

/** What a snapshot's receiver learns of its sender besides the data: its epoch, lineage and incarnation (PeerMessage's). */
export interface SnapshotSender {
  epoch: number;
  force: number;
  incarnation: string;
}

/** A replica and the address it is reached at. */
export interface PeerEndpoint {
  id: NodeId;
  address: string;
}

export interface Transport {
  /** Keeps links to exactly these peers (this replica and peers without an address are skipped). */
  connect(peers: readonly PeerEndpoint[]): void;
  /** Sends a message to `message.to`, best effort: the protocol retries what is lost. */
  send(message: PeerMessage): void;
  /**
   * Sends a snapshot, as of the sender's epoch, lineage (`force`) and incarnation; resolves once the peer has every byte, rejects
   * when it cannot get there.
   */
  sendSnapshot(to: NodeId, sender: SnapshotSender, position: SnapshotPosition, data: Buffer): Promise<void>;
  /** Closes every link. */
  close(): void;
}
