import type { NodeId } from './types.js';

/**
 * Which acks commit an entry and which promises elect a leader. The in-sync
 * mode (the default) tolerates n-1 crashes under crash-stop faults: every
 * member of the in-sync set must hold an entry before it commits, and a
 * candidate wins when no peer that answered refused.
 */
export interface QuorumPolicy {
  readonly name: string;
  /** The highest index held by the quorum, given each in-sync member's durable match. */
  committedIndex(inSync: readonly NodeId[], match: (id: NodeId) => number): number;
  /** Whether a campaign that heard these answers is won. Silence counts as a crash. */
  campaignWon(granted: ReadonlySet<NodeId>, refused: ReadonlySet<NodeId>): boolean;
}

export const IN_SYNC_POLICY: QuorumPolicy = {
  name: 'in-sync',
  committedIndex(inSync, match) {
    let min = Number.POSITIVE_INFINITY;
    for (const id of inSync) min = Math.min(min, match(id));
    return Number.isFinite(min) ? min : 0;
  },
  campaignWon(_granted, refused) {
    return refused.size === 0;
  },
};
