import { defaultPeerAddress } from '../replication/endpoints.js';
import type { PeerEndpoint, ReplicaEndpoint } from '../replication/transport.js';
import type { ConfigReplica, NodeId } from '../replication/types.js';

/**
 * Where each replica is reached, by clients (`address`) and by the other
 * replicas (its peer address), from three sources: what this start names
 * (it wins: machines move), the configuration's, and the peer addresses that
 * senders no configuration of ours names yet give with their messages (the
 * leader of a cluster this replica is joining). A peer address nobody gave is
 * the default one of the client address. Also which links the transport holds,
 * so they are remade only when that changes.
 */
export class PeerAddresses {
  private readonly named: Map<NodeId, ReplicaEndpoint>;
  private readonly learned = new Map<NodeId, string>();
  /** What the transport's links were last made for: the core's contacts (a new map when they change) and `learned`. */
  private linked: { contacts: ReadonlyMap<NodeId, ConfigReplica>; learned: string } | undefined;

  constructor(named: readonly ReplicaEndpoint[]) {
    this.named = new Map(named.map((m) => [m.id, m]));
  }

  /** Where clients reach `id`: the address this start names, else the configuration's ('' when neither says). */
  addressOf(id: NodeId, contacts: ReadonlyMap<NodeId, ConfigReplica>): string {
    return this.named.get(id)?.address || contacts.get(id)?.address || '';
  }

  /** Where replicas reach `id`: a peer address given by this start or the configuration, else the default of its client address, else the one its messages carry. */
  peerAddressOf(id: NodeId, contacts: ReadonlyMap<NodeId, ConfigReplica>): string {
    const named = this.named.get(id);
    const configured = contacts.get(id);
    return (
      named?.peerAddress ||
      configured?.peerAddress ||
      defaultPeerAddress(named?.address || configured?.address || '') ||
      this.learned.get(id) ||
      ''
    );
  }

  /** Remembers where a sender's peer listener is, unless it is known already; true when that is news. */
  learn(from: NodeId, peerAddress: string, contacts: ReadonlyMap<NodeId, ConfigReplica>): boolean {
    if (!peerAddress || this.named.has(from) || contacts.has(from) || this.learned.get(from) === peerAddress)
      return false;
    this.learned.set(from, peerAddress);
    return true;
  }

  /**
   * The peers the transport should link to (at their peer addresses) for these
   * contacts and the learned senders, or undefined when the links already match.
   */
  linksFor(contacts: ReadonlyMap<NodeId, ConfigReplica>): PeerEndpoint[] | undefined {
    if (
      this.linked?.contacts === contacts &&
      (this.learned.size === 0 || this.linked.learned === [...this.learned].join(';'))
    )
      return undefined;
    for (const id of contacts.keys()) this.learned.delete(id);
    this.linked = { contacts, learned: [...this.learned].join(';') };
    const ids = new Set([...contacts.keys(), ...this.learned.keys()]);
    return [...ids].map((id) => ({ id, address: this.peerAddressOf(id, contacts) }));
  }
}
