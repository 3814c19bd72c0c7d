/**
 * Who counts as a connected client, for the cluster status.
 *
 * A client is a remote peer address (`ip:port` of one HTTP/2 connection, as
 * `call.getPeer()` reports it; the client library keeps one connection per
 * replica, so one program is one peer). It counts as connected while it has a
 * call or a Subscribe stream in progress here, and for RECENT_MS after its
 * last call ended. Streams are counted separately.
 */

export const RECENT_MS = 30_000;
/** Beyond this many remembered peers, idle ones are pruned as calls end. */
const PRUNE_ABOVE = 1024;

interface PeerActivity {
  active: number;
  lastSeen: number;
}

export class ClientActivity {
  private readonly peers = new Map<string, PeerActivity>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Marks a call from `peer` as started; call the returned function once when it ends. */
  begin(peer: string): () => void {
    let entry = this.peers.get(peer);
    if (!entry) {
      entry = { active: 0, lastSeen: this.now() };
      this.peers.set(peer, entry);
    }
    entry.active += 1;
    entry.lastSeen = this.now();
    let ended = false;
    const current = entry;
    return () => {
      if (ended) return;
      ended = true;
      current.active -= 1;
      current.lastSeen = this.now();
      if (this.peers.size > PRUNE_ABOVE) this.prune();
    };
  }

  connectedClients(): number {
    this.prune();
    return this.peers.size;
  }

  private prune(): void {
    const cutoff = this.now() - RECENT_MS;
    for (const [peer, entry] of this.peers) {
      if (entry.active <= 0 && entry.lastSeen < cutoff) this.peers.delete(peer);
    }
  }
}
