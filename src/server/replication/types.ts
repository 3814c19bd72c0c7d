/**
 * Types of the replication core: what goes in (events), what comes out
 * (actions), and the messages replicas exchange. The core is pure: no I/O, no
 * timers, no clock, no randomness but the seed it is given.
 */

export type NodeId = string;

export type EntryKind = 'op' | 'config';

export interface Entry {
  index: number;
  epoch: number;
  kind: EntryKind;
  /** For 'op' the chat op, for 'config' the encoded configuration; opaque to the core otherwise. */
  data: Uint8Array;
}

/** One replica of a configuration. */
export interface ConfigReplica {
  id: NodeId;
  /** host:port at which clients reach it (opaque to the core). */
  address: string;
  /**
   * host:port of its peer listener, where the other replicas reach it (opaque to
   * the core; the driver connects there). Absent in configurations written
   * before the peer plane: then endpoints.ts's defaultPeerAddress(address).
   */
  peerAddress?: string;
  /** The epoch slot it owns for good: epochs are dealt to slots round-robin (see membership.ts). */
  slot: number;
  /** A learner follows the leader without a vote until the leader promotes it. */
  learner: boolean;
  /**
   * The incarnation of the data directory the cluster counts on for this replica ('' until recorded): a replica
   * that answers with another one lost its data (see docs/replication.md, "A replica that lost its data").
   */
  incarnation: string;
}

/**
 * The cluster's configuration and where in the log it was decided: its
 * replicas (voters and learners) and the in-sync set (in majority mode always
 * every voter). A config entry takes effect when it is appended.
 */
export interface Config {
  /** Sorted by id. */
  replicas: ConfigReplica[];
  inSync: NodeId[];
  /** The next slot to hand out; slots are never reused. */
  nextSlot: number;
  /**
   * The epoch of the latest forced leadership in this history (0: none), carried on by every later configuration:
   * the history's lineage. A history with a higher one superseded it (see docs/replication.md, "Forcing a leader").
   */
  force: number;
  index: number;
  epoch: number;
}

/** What must survive a crash besides the log. */
export interface HardState {
  epoch: number;
  /** Whom this replica promised to in `epoch`; '' for nobody. */
  promisedTo: NodeId;
  /**
   * The highest force this replica was told of (absent: none beyond its log's). Stored with the epoch of whoever
   * told it, which may be lower than its own: it follows that history from then on and never its own again.
   */
  force?: number;
}

/** The log prefix folded into the state machine (after compaction or a snapshot). */
export interface LogBase {
  index: number;
  epoch: number;
  config: Config;
}

/** Everything the core needs to resume after a restart. */
export interface PersistedState {
  hard: HardState;
  base: LogBase;
  /** Entries after base.index, in order. */
  entries: Entry[];
  /** The highest index already applied to the state machine (>= base.index). */
  appliedIndex: number;
}

/** What a replica tells others about itself when asked. */
export interface PeerInfo {
  caughtUp: boolean;
  leaderId: NodeId;
  lastIndex: number;
  lastEpoch: number;
  config: Config;
  /** ms since this replica last heard its leader; -1 when never. */
  leaderContactAgo: number;
  isLeader: boolean;
  /** Its session: a number drawn when it starts and again after every pause (see `ReplicaCore`). */
  session: number;
}

/**
 * Sessions (see `ReplicaCore`): a request (append, promise, probe) carries its sender's session, and its reply
 * echoes it, so a reply to something sent before the requester's last pause is recognised. An append also names the
 * follower's session the leader vouches for as a member of its in-sync set (0: none); an append reply and every
 * PeerInfo carry the replier's own session.
 */
export type PeerBody =
  | {
      type: 'append';
      prevIndex: number;
      prevEpoch: number;
      entries: Entry[];
      commitIndex: number;
      session: number;
      confirmedSession: number;
    }
  /**
   * `rewind`: the follower was left behind by a force and its applied state leaves the leader's history at
   * `hintIndex` or before: only a snapshot brings it back.
   */
  | {
      type: 'appendReply';
      success: boolean;
      matchIndex: number;
      hintIndex: number;
      lastIndex: number;
      session: number;
      echo: number;
      rewind: boolean;
    }
  /** `transfer`: a campaign its leader asked for (timeoutNow); peers do not refuse it for hearing that leader lately. */
  | {
      type: 'promise';
      preVote: boolean;
      recovery: boolean;
      transfer?: boolean;
      lastIndex: number;
      lastEpoch: number;
      configIndex: number;
      configEpoch: number;
      session: number;
    }
  | { type: 'promiseReply'; preVote: boolean; granted: boolean; reason: string; info: PeerInfo; echo: number }
  | { type: 'probe'; session: number }
  | { type: 'probeReply'; info: PeerInfo; echo: number }
  | { type: 'snapshot'; lastIndex: number; lastEpoch: number; config: Config }
  | { type: 'snapshotReply'; lastIndex: number; success: boolean; echo: number }
  /** Leadership transfer (Raft's TimeoutNow): the leader asks this follower, which holds its whole log, to campaign at once. */
  | { type: 'timeoutNow' };

export interface PeerMessage {
  from: NodeId;
  to: NodeId;
  /** The sender's epoch. */
  epoch: number;
  /** The sender's lineage: the highest force it follows (0: none). */
  force: number;
  /** The incarnation of the sender's data directory ('' when unknown). */
  incarnation: string;
  body: PeerBody;
}

export type Role = 'follower' | 'candidate' | 'leader';

/** A membership change an operator asks the leader for. */
export type MembershipChange =
  { type: 'add'; id: NodeId; address: string; peerAddress?: string } | { type: 'remove'; id: NodeId };

export type MembershipRefusal = 'not_leader' | 'busy' | 'exists' | 'not_found' | 'last_member' | 'too_many';

export type MembershipResult =
  | { ok: true; index: number; epoch: number; config: Config }
  | { ok: false; reason: MembershipRefusal; message: string; leaderId: NodeId };

/** Outputs of the core, to be carried out in order by whoever drives it. */
export type Action =
  /**
   * Make durable before any later action: drop the log from `truncateFrom` (moving
   * the dropped entries to quarantine), then append `entries`, then store `hard`.
   */
  | { type: 'persist'; truncateFrom?: number; quarantine: Entry[]; entries: Entry[]; hard?: HardState }
  | { type: 'send'; message: PeerMessage }
  /** Apply these committed entries to the state machine, in order. */
  | { type: 'apply'; entries: Entry[] }
  /** Send `to` a snapshot of the state machine as applied up to `lastIndex` (`force`: this replica's lineage). */
  | { type: 'sendSnapshot'; to: NodeId; lastIndex: number; lastEpoch: number; config: Config; force: number }
  /**
   * Replace the state machine by the snapshot just received from `from`: log entries before `keepFrom` go (all of them
   * when the log did not match the snapshot), `quarantine` is kept for the operator with `reason`.
   */
  | { type: 'installSnapshot'; from: NodeId; base: LogBase; quarantine: Entry[]; keepFrom: number; reason: string }
  /** Entries up to and including `base.index` are applied and may be deleted from the log. */
  | { type: 'compact'; base: LogBase }
  /** This replica became a leader that can serve (true), or stopped leading (false). */
  | { type: 'leadership'; leading: boolean; epoch: number }
  /** Something an operator wants to see, with a stable kind such as `election.won`. */
  /** `epoch` is this replica's epoch when it happened (a later action of the same pass may move it on). */
  | { type: 'event'; kind: string; epoch: number; message: string; fields: Record<string, unknown> };

export interface ReplicationTimings {
  /** How often a leader sends appends (heartbeats) to every peer. */
  heartbeatMs: number;
  /** A follower campaigns after a random time in [electionMinMs, 2 * electionMinMs) without its leader. */
  electionMinMs: number;
  /** How long a candidate waits for promises before deciding. */
  promiseWaitMs: number;
  /** A follower that has not acked for this long leaves the in-sync set. */
  syncTimeoutMs: number;
  /** How often a replica that is not caught up asks its peers who they are. */
  probeMs: number;
  /** A peer's answer counts as "reachable now" for this long. */
  reachableMs: number;
  /** A snapshot not acknowledged within this long is sent again. */
  snapshotRetryMs: number;
}

export interface ReplicationLimits {
  /** Entries per append message. */
  maxBatchEntries: number;
  /** Append messages in flight per follower before waiting for acks. */
  maxInflight: number;
  /** A returning follower joins the in-sync set when at most this many entries behind. */
  catchupSlack: number;
  /** Compact when this many applied entries are in the log... */
  compactThreshold: number;
  /** ...keeping this many of the newest applied entries for peers that lag a little. */
  retainEntries: number;
}

export const DEFAULT_TIMINGS: ReplicationTimings = {
  heartbeatMs: 50,
  electionMinMs: 250,
  promiseWaitMs: 100,
  syncTimeoutMs: 500,
  probeMs: 100,
  reachableMs: 600,
  snapshotRetryMs: 30_000,
};

export const DEFAULT_LIMITS: ReplicationLimits = {
  maxBatchEntries: 512,
  maxInflight: 32,
  catchupSlack: 64,
  compactThreshold: 20_000,
  retainEntries: 5_000,
};
