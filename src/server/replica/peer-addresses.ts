import type { PeerEndpoint } from '../replication/transport.js';
import type { NodeId } from '../replication/types.js';

/**
 * Where each peer is reached, from three sources: the addresses this start
 * names (they win: machines move), the configuration's, and the addresses
 * senders no configuration of ours names yet give with their messages (the
 * leader of a cluster this replica is joining). Also which links the transport
 * holds, so they are remade only when that changes.
 */
export class PeerAddresses {
  private readonly named: Map<NodeId, string>;
  private readonly learned = new Map<NodeId, string>();
  /** What the transport's links were last made for: the core's contacts (a new map when they change) and `learned`. */
  private linked: { contacts: ReadonlyMap<NodeId, string>; learned: string } | undefined;

  constructor(named: readonly PeerEndpoint[]) {
    this.named = new Map(named.map((m) => [m.id, m.address]));
  }

  /** Where `id` is reached: the address this start names, else the configuration's (`contacts`), else the one its messages carry. */
  addressOf(id: NodeId, contacts: ReadonlyMap<NodeId, string>): string {
    return this.named.get(id) || contacts.get(id) || this.learned.get(id) || '';
  }

  /** Remembers where a sender is reached, unless it is known already; true when that is news. */
  learn(from: NodeId, address: string, contacts: ReadonlyMap<NodeId, string>): boolean {
    if (!address || this.named.has(from) || contacts.has(from) || this.learned.get(from) === address) return false;
    this.learned.set(from, address);
    return true;
  }

  /**
   * The peers the transport should link to for these contacts and the learned
   * senders, or undefined when the links already match.
   */
  linksFor(contacts: ReadonlyMap<NodeId, string>): PeerEndpoint[] | undefined {
    if (this.linked?.contacts === contacts && (this.learned.size === 0 || this.linked.learned === [...this.learned].join(';'))) return undefined;
    for (const id of contacts.keys()) this.learned.delete(id);
    this.linked = { contacts, learned: [...this.learned].join(';') };
    const ids = new Set([...contacts.keys(), ...this.learned.keys()]);
    return [...ids].map((id) => ({ id, address: this.addressOf(id, contacts) }));
  }
}
