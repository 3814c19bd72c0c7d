/** What the chat RPC handlers need of a replica: the seam between gRPC and replication. */
import type { ApplyOutcome, ChatOp } from '../chat/operations.js';
import type { ChatStateApi } from '../chat/state-api.js';
import type { AppliedOp as DriverAppliedOp, DriverHandle } from '../replica/handle.js';

export { NotLeaderError, type LeaderInfo } from '../replica/handle.js';

export type AppliedOp = DriverAppliedOp<ChatOp, ApplyOutcome>;

/** A replica driver over the chat state machine, with the chat state's queries. */
export interface ReplicaHandle extends DriverHandle<ChatOp, ApplyOutcome> {
  readonly chat: ChatStateApi;
}
