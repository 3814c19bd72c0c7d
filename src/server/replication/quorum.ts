import type { NodeId } from './types.js';

export type CampaignVerdict = 'won' | 'lost' | 'undecided';

/**
 * Which acks commit an entry and which promises elect a leader: the one place
 * where the two replication modes differ.
 */
export interface QuorumPolicy {
  readonly name: 'in-sync' | 'majority';
  /**
   * True for the in-sync mode: the set whose acks commit shrinks when members
   * stop acking and grows when they catch up, only caught-up members campaign,
   * and a total outage waits for the last in-sync set. False for majority mode,
   * where the set is always every member.
   */
  readonly adaptiveSet: boolean;
  /** The highest index held by the quorum of `set`, given each member's durable match (the leader's own included). */
  committedIndex(set: readonly NodeId[], match: (id: NodeId) => number): number;
  /**
   * What a campaign amounts to that has `votes` promises so far (the
   * candidate's own included when it is a voter) and `refusals`, out of an
   * electorate of `voters` voting replicas.
   */
  campaign(votes: number, refusals: number, voters: number, deadlinePassed: boolean): CampaignVerdict;
  /** Whether a leader that heard from only `reachable` of `members` (itself included) recently must step down. */
  mustStepDown(reachable: number, members: number): boolean;
}

/**
 * The default: tolerates n-1 crashes under crash-stop faults. Every member of
 * the in-sync set must hold an entry before it commits; a candidate wins when
 * no peer that answered refused (silence counts as a crash).
 */
export const IN_SYNC_POLICY: QuorumPolicy = {
  name: 'in-sync',
  adaptiveSet: true,
  committedIndex(set, match) {
    let min = Number.POSITIVE_INFINITY;
    for (const id of set) min = Math.min(min, match(id));
    return Number.isFinite(min) ? min : 0;
  },
  campaign(votes, refusals, voters, deadlinePassed) {
    if (refusals > 0) return 'lost';
    if (votes >= voters || deadlinePassed) return 'won';
    return 'undecided';
  },
  mustStepDown() {
    return false;
  },
};

/**
 * Raft's quorums: an entry commits on a majority of the members, a leader
 * needs promises from a majority (itself included). Safe under partitions and
 * pauses; 2f+1 replicas tolerate f failures.
 */
export const MAJORITY_POLICY: QuorumPolicy = {
  name: 'majority',
  adaptiveSet: false,
  committedIndex(set, match) {
    const sorted = set.map(match).sort((a, b) => b - a);
    return sorted[Math.floor(set.length / 2)] ?? 0;
  },
  campaign(votes, refusals, voters, deadlinePassed) {
    const needed = Math.floor(voters / 2) + 1;
    if (votes >= needed) return 'won';
    if (voters - refusals < needed || deadlinePassed) return 'lost';
    return 'undecided';
  },
  mustStepDown(reachable, members) {
    return reachable < Math.floor(members / 2) + 1;
  },
};

export function policyFor(mode: string): QuorumPolicy {
  if (mode === 'in-sync') return IN_SYNC_POLICY;
  if (mode === 'majority') return MAJORITY_POLICY;
  throw new Error(`unknown replication mode "${mode}"; use in-sync or majority`);
}
