import type { ApplyOutcome, ChatOp } from './chat/operations.js';
import type { ChatStateApi } from './chat/state-api.js';

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

export interface AppliedOp {
  index: number;
  op: ChatOp;
  outcome: ApplyOutcome;
}

/** What the RPC handlers need of the replica: the seam between gRPC and replication. */
export interface ReplicaHandle {
  readonly id: string;
  readonly chat: ChatStateApi;
  /**
   * Appends the op to the replicated log; resolves with its outcome once it is
   * committed (durable on every in-sync replica) and applied here. Rejects with
   * NotLeaderError when this replica does not lead or loses leadership first.
   */
  submit(op: ChatOp): Promise<ApplyOutcome>;
  /**
   * Resolves once this replica leads and has applied everything committed before
   * its epoch, so reads see every acknowledged write. Rejects with NotLeaderError.
   */
  ensureLeaderReady(): Promise<void>;
  leader(): LeaderInfo | undefined;
  /** Every applied chat op, in log order, on every replica. Returns an unsubscribe function. */
  onApplied(listener: (applied: AppliedOp) => void): () => void;
  /** Fires with true when this replica becomes a ready leader, false when it stops leading. */
  onLeadershipChange(listener: (leading: boolean) => void): () => void;
}
