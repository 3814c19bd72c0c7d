/**
 * The chat state as the replicated log's state machine: the chat package's side
 * of the StateMachine seam, and the one place that knows how a chat op is
 * encoded in a log entry.
 */
import type { AppliedEntry, SnapshotImage, SnapshotPosition, StateMachine } from '../replication/state-machine.js';
import type { Entry } from '../replication/types.js';
import type { ChatState } from './chat-state.js';
import type { ApplyOutcome, ChatOp } from './operations.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A chat op as a log entry carries it: JSON, UTF-8. */
export function encodeOp(op: ChatOp): Uint8Array {
  return encoder.encode(JSON.stringify(op));
}

/** The op an entry holds; throws when its bytes are not JSON. Its shape is checked when it is applied. */
export function decodeOp(data: Uint8Array): ChatOp {
  return JSON.parse(decoder.decode(data)) as ChatOp;
}

/** The outcome of an entry whose bytes are not a chat op: refused, the same way on every replica. */
const UNREADABLE_OP: ApplyOutcome = {
  ok: false,
  code: 'INVALID_ARGUMENT',
  message: 'malformed operation: the log entry does not hold a JSON chat operation',
  replayed: false,
};

/** How a snapshot is taken; a chat replica takes it off the event loop (chat-replica.ts, src/server/snapshot/). */
export type TakeSnapshot = (position: SnapshotPosition) => Promise<SnapshotImage>;

export class ChatStateMachine implements StateMachine<ChatOp, ApplyOutcome> {
  /** `takeSnapshot` defaults to exporting the state in place, at the position asked for. */
  constructor(
    private readonly chat: ChatState,
    private readonly takeSnapshot: TakeSnapshot = (position) =>
      Promise.resolve({ ...position, data: chat.exportState() }),
  ) {}

  encode(op: ChatOp): Uint8Array {
    return encodeOp(op);
  }

  apply(entry: Entry): AppliedEntry<ChatOp, ApplyOutcome> {
    let op: ChatOp;
    try {
      op = decodeOp(entry.data);
    } catch {
      return { op: undefined, outcome: UNREADABLE_OP };
    }
    return { op, outcome: this.chat.apply(op, entry.index) };
  }

  digest(): string {
    return this.chat.digest();
  }

  snapshot(position: SnapshotPosition): Promise<SnapshotImage> {
    return this.takeSnapshot(position);
  }

  restore(data: Buffer): void {
    this.chat.importState(data);
  }
}
