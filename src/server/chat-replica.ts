import type { Database } from 'better-sqlite3';
import { dirname } from 'node:path';
import { ChatState } from './chat/chat-state.js';
import type { ApplyOutcome, ChatOp } from './chat/operations.js';
import { ChatStateMachine } from './chat/state-machine.js';
import { ReplicaDriver, type ReplicaDriverOptions } from './replica/driver.js';
import { logDirectory } from './replica-database.js';
import type { ReplicaHandle } from './rpc/replica-handle.js';
import { exportSnapshot } from './snapshot/export.js';
import { upgradeSqliteLog } from './storage/legacy-log.js';
import { NodeLogFiles } from './storage/log-files.js';
import { SegmentedLog, type SyncObserver } from './storage/segmented-log.js';
import { SqliteStateStore } from './storage/state-store.js';

export interface ChatReplicaOptions extends Omit<
  ReplicaDriverOptions<ChatOp, ApplyOutcome>,
  'stateMachine' | 'state' | 'log'
> {
  /** The replica's database (openReplicaDatabase) in its data directory: the chat tables and how far they applied the log. */
  db: Database;
  /** Told of each durable group of log writes (metrics' fsync and batch histograms). */
  observeSync?: SyncObserver;
}

/**
 * A replica of the chat service: the replica driver over the chat state
 * machine and its SQLite database, and the log in segment files beside it,
 * with the chat state's queries for the RPC handlers. Snapshots are taken off
 * the event loop (src/server/snapshot/). A data directory that still keeps its
 * log in the database is upgraded on the way (storage/legacy-log.ts).
 */
export class ChatReplica extends ReplicaDriver<ChatOp, ApplyOutcome> implements ReplicaHandle {
  readonly chat: ChatState;

  constructor({ db, observeSync, ...options }: ChatReplicaOptions) {
    if (db.memory)
      throw new Error('a chat replica keeps its log beside its database file, and this database is in memory');
    const dir = logDirectory(dirname(db.name));
    upgradeSqliteLog(db, dir);
    const chat = new ChatState(db);
    const stateMachine = new ChatStateMachine(chat, (position) =>
      exportSnapshot(db, () => chat.exportState(), position),
    );
    const log = new SegmentedLog(new NodeLogFiles(dir), { observeSync });
    super({ ...options, stateMachine, state: new SqliteStateStore(db), log });
    this.chat = chat;
  }
}
