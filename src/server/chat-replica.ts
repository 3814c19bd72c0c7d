import type { Database } from 'better-sqlite3';
import { ChatState } from './chat/chat-state.js';
import type { ApplyOutcome, ChatOp } from './chat/operations.js';
import { ChatStateMachine } from './chat/state-machine.js';
import { ReplicaDriver, type ReplicaDriverOptions } from './replica/driver.js';
import type { ReplicaHandle } from './rpc/replica-handle.js';
import { exportSnapshot } from './snapshot/export.js';
import { LogStore } from './storage/log-store.js';

export interface ChatReplicaOptions extends Omit<ReplicaDriverOptions<ChatOp, ApplyOutcome>, 'stateMachine' | 'storage'> {
  /** The replica's database (openReplicaDatabase): the log and the chat tables. */
  db: Database;
}

/**
 * A replica of the chat service: the replica driver over the chat state
 * machine and the log store, both in one SQLite database, with the chat
 * state's queries for the RPC handlers. Snapshots are taken off the event loop
 * (src/server/snapshot/).
 */
export class ChatReplica extends ReplicaDriver<ChatOp, ApplyOutcome> implements ReplicaHandle {
  readonly chat: ChatState;

  constructor({ db, ...options }: ChatReplicaOptions) {
    const chat = new ChatState(db);
    const stateMachine = new ChatStateMachine(chat, (position) => exportSnapshot(db, () => chat.exportState(), position));
    super({ ...options, stateMachine, storage: new LogStore(db) });
    this.chat = chat;
  }
}
