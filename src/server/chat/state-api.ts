import type { AccountId, ApplyOutcome, ChatOp, MessageId, StoredMessage } from './operations.js';

export interface AccountRecord {
  id: AccountId;
  username: string;
  passwordHash: string;
  createdAt: number;
}

export interface ConversationRecord {
  peer: string;
  peerId: AccountId;
  peerDeleted: boolean;
  lastMessage: StoredMessage;
  unreadCount: number;
}

/** An account as a conversation peer: deleted accounts included (their names may be reused). */
export interface PeerRecord {
  id: AccountId;
  username: string;
  deleted: boolean;
}

export interface AccountPage {
  accounts: { id: AccountId; username: string }[];
  /** The username to continue after, or undefined on the last page. */
  nextAfter: string | undefined;
}

/**
 * The chat state machine over the chat tables of one SQLite database.
 * `apply` is deterministic: the same ops at the same indexes give the same
 * tables on every replica. It runs inside a transaction the caller opened.
 * The queries read the applied state.
 */
export interface ChatStateApi {
  apply(op: ChatOp, index: number): ApplyOutcome;

  accountByName(username: string): AccountRecord | undefined;
  accountById(id: AccountId): AccountRecord | undefined;
  /**
   * The most recent account with this name (case-insensitive), deleted ones included:
   * how a peer named in GetHistory or MarkRead is resolved, so conversations with a
   * deleted account stay reachable.
   */
  peerByName(username: string): PeerRecord | undefined;
  /** The live account holding the session with this token hash. */
  sessionAccount(tokenHash: string): AccountRecord | undefined;
  /** Live accounts whose name matches a `*`/`?` wildcard pattern (case-insensitive), in name order. */
  listAccounts(pattern: string, after: string | undefined, limit: number): AccountPage;
  unreadCount(userId: AccountId): number;
  /** Most recent activity first. */
  conversations(userId: AccountId): ConversationRecord[];
  /** Oldest first; the newest `limit` visible messages with id < beforeId (0: no bound). */
  history(
    userId: AccountId,
    peer: AccountId,
    beforeId: MessageId,
    limit: number,
  ): { messages: StoredMessage[]; hasMore: boolean };
  /** Visible messages to or from the user with id > afterId, oldest first. */
  messagesAfter(userId: AccountId, afterId: MessageId, limit: number): StoredMessage[];
  messageById(id: MessageId): StoredMessage | undefined;

  /** A stable hex digest of every chat table's content. */
  digest(): string;
  /** The whole chat state as bytes, for a snapshot. */
  exportState(): Buffer;
  /** Replaces the whole chat state with an exported one (inside the caller's transaction). */
  importState(data: Buffer): void;
}
