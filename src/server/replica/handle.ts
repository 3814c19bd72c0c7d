/**
 * What the rest of a server sees of a replica driver: the calls a service makes
 * to submit ops and follow leadership (DriverHandle), and the calls of the
 * cluster service: status, membership, digest, the operator override
 * (ReplicaControl). Both are generic over the state machine's ops and outcomes.
 */
import type { CoreStatus } from '../replication/core.js';
import type { SnapshotImage } from '../replication/state-machine.js';
import type { MembershipChange, MembershipRefusal, NodeId } from '../replication/types.js';
import type { EventBus } from './events.js';

export interface LeaderInfo {
  id: string;
  address: string;
  epoch: number;
}

/**
 * This replica cannot serve the call: it does not lead, or it stopped leading
 * before the op was committed. The caller retries elsewhere with the same
 * idempotency key; `leader` names the leader when this replica knows it.
 */
export class NotLeaderError extends Error {
  constructor(
    message: string,
    readonly leader: { id: string; address: string } | undefined,
  ) {
    super(message);
    this.name = 'NotLeaderError';
  }
}

export interface AppliedOp<Op, Outcome> {
  index: number;
  op: Op;
  outcome: Outcome;
}

export interface DriverHandle<Op, Outcome> {
  readonly id: string;
  /**
   * Appends the op to the replicated log; resolves with its outcome once it is
   * committed (durable on every in-sync replica) and applied here. Rejects with
   * NotLeaderError when this replica does not lead or loses leadership first.
   */
  submit(op: Op): Promise<Outcome>;
  /**
   * Resolves once this replica leads and has applied everything committed before
   * its epoch, so reads see every acknowledged write. Rejects with NotLeaderError.
   */
  ensureLeaderReady(): Promise<void>;
  leader(): LeaderInfo | undefined;
  /** Every applied op, in log order, on every replica. Returns an unsubscribe function. */
  onApplied(listener: (applied: AppliedOp<Op, Outcome>) => void): () => void;
  /** Fires with true when this replica becomes a ready leader, false when it stops leading. */
  onLeadershipChange(listener: (leading: boolean) => void): () => void;
}

/** A replica in the configuration, with the address it is reached at. */
export interface MemberView {
  id: NodeId;
  address: string;
  learner: boolean;
  inSync: boolean;
}

export class MembershipError extends Error {
  constructor(
    readonly reason: MembershipRefusal | 'not_committed' | 'abandoned',
    message: string,
  ) {
    super(message);
    this.name = 'MembershipError';
  }
}

/** A leadership transfer the leader refused, or that did not complete in time; the message says why. */
export class TransferError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransferError';
  }
}

export type ReplicaStatusView = CoreStatus & { uptimeMs: number; writesPerSecond: number; address: string };

/** What the cluster service needs of a replica. */
export interface ReplicaControl {
  readonly id: NodeId;
  readonly events: EventBus;
  leader(): LeaderInfo | undefined;
  status(): ReplicaStatusView;
  /** The replicas of the configuration at the end of the log, voters and learners, with their addresses. */
  members(): MemberView[];
  /**
   * An operator's membership change, on the leader. Resolves with the new
   * configuration once its entry is committed; rejects with a MembershipError
   * (or NotLeaderError) otherwise.
   */
  changeMembership(change: MembershipChange): Promise<{ index: number; epoch: number; members: MemberView[] }>;
  digest(): { appliedIndex: number; digest: string };
  forceLeader(): { ok: true; epoch: number } | { ok: false; reason: string };
  /**
   * Hands leadership over (to `target`, or to the voter in step the leader
   * picks) and resolves once another replica leads, with it and its epoch.
   * Rejects with NotLeaderError on a replica that does not lead, TransferError
   * when refused or not done within `timeoutMs`.
   */
  transferLeadership(target?: NodeId, timeoutMs?: number): Promise<{ leaderId: NodeId; epoch: number }>;
  /**
   * On the leader: a consistent image of the applied state and where it stands
   * in the log, for a backup (taken off the event loop). Rejects with
   * NotLeaderError elsewhere.
   */
  backup(): Promise<SnapshotImage>;
}
