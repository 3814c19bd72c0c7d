/**
 * The builds of the other replicas, as their peer messages state them (each
 * envelope carries its sender's version, commit and peer protocol): for the
 * status call, the metrics, and the checks that need every peer to speak a
 * protocol (leadership transfer). Peers are untrusted: what they state is
 * bounded in length and in number.
 */
import type { NodeId } from './replication/types.js';

export interface PeerBuild {
  version: string;
  commit: string;
  /** 0: a replica of peer protocol 1, which states nothing. */
  protocol: number;
  lastSeen: number;
}

const MAX_PEERS = 64;
const MAX_TEXT = 64;

export class PeerVersions {
  private readonly builds = new Map<NodeId, PeerBuild>();

  /**
   * `own` is this replica's build; `report` hears, as a line and its fields,
   * of each peer's first message and of every change of its build (a restart
   * into another version).
   */
  constructor(
    private readonly own: Pick<PeerBuild, 'version' | 'commit' | 'protocol'>,
    private readonly report: (message: string, details: Record<string, unknown>) => void,
  ) {}

  heard(id: NodeId, version: string, commit: string, protocol: number, now = Date.now()): void {
    const known = this.builds.get(id);
    if (known && known.version === version && known.commit === commit && known.protocol === protocol) {
      known.lastSeen = now;
      return;
    }
    const build: PeerBuild = {
      version: version.slice(0, MAX_TEXT),
      commit: commit.slice(0, MAX_TEXT),
      protocol,
      lastSeen: now,
    };
    this.builds.delete(id);
    this.builds.set(id, build);
    if (this.builds.size > MAX_PEERS) {
      const stalest = [...this.builds].sort((a, b) => a[1].lastSeen - b[1].lastSeen)[0]![0];
      this.builds.delete(stalest);
    }
    const same =
      build.version === this.own.version && build.commit === this.own.commit && build.protocol === this.own.protocol;
    const what = known
      ? `${id} now runs ${describeBuild(build)}, before ${describeBuild(known)}`
      : `${id} runs ${describeBuild(build)}`;
    this.report(
      same
        ? `${what}, as this replica does`
        : `${what}; this replica runs ${describeBuild(this.own)}: the cluster runs mixed versions`,
      {
        peer: id,
        version: build.version,
        commit: build.commit,
        protocol: build.protocol,
        mixed: !same,
      },
    );
  }

  get(id: NodeId): PeerBuild | undefined {
    return this.builds.get(id);
  }

  all(): [NodeId, PeerBuild][] {
    return [...this.builds].sort((a, b) => a[0].localeCompare(b[0]));
  }

  /** Of `ids`, those heard from that speak a peer protocol older than `protocol` (those never heard from are not judged). */
  olderThan(ids: readonly NodeId[], protocol: number): NodeId[] {
    return ids.filter((id) => {
      const build = this.builds.get(id);
      return build !== undefined && build.protocol < protocol;
    });
  }
}

/** How a build reads in messages: "0.1.0 (commit 1234567890ab, peer protocol 2)", or what a protocol-1 replica is. */
export function describeBuild(b: Pick<PeerBuild, 'version' | 'commit' | 'protocol'>): string {
  if (b.protocol === 0) return 'a build of peer protocol 1 (before replicas stated their versions)';
  return `${b.version} (commit ${b.commit}, peer protocol ${b.protocol})`;
}
