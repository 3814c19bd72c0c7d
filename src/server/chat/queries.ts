import type { AccountId, MessageId, StoredMessage } from './operations.js';
import type { AccountPage, AccountRecord, ConversationRecord, PeerRecord } from './state-api.js';
import type { AccountRow, ChatStatements, MessageRow } from './statements.js';
import { isSafeInt, usernameKey } from './validation.js';
import { wildcardToGlob } from './wildcard.js';

function toAccount(row: AccountRow): AccountRecord {
  return { id: row.id, username: row.username, passwordHash: row.password_hash, createdAt: row.created_at };
}

function toMessage(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    senderId: row.sender_id,
    recipientId: row.recipient_id,
    sender: row.sender,
    recipient: row.recipient,
    text: row.text,
    sentAt: row.sent_at,
    read: row.is_read === 1,
    senderDeleted: row.sender_deleted === 1,
  };
}

/**
 * The read side of the chat state: what the RPC handlers and streams ask of the
 * applied tables. Also what applying an op reads back (messages by id, live accounts).
 */
export class ChatQueries {
  constructor(protected readonly statements: ChatStatements) {}

  /** A live (not deleted) account has this id. */
  isLive(id: AccountId): boolean {
    return this.statements.liveNameById.get(id) !== undefined;
  }

  accountByName(username: string): AccountRecord | undefined {
    const row = this.statements.liveAccountByKey.get(usernameKey(username));
    return row && toAccount(row);
  }

  accountById(id: AccountId): AccountRecord | undefined {
    if (!isSafeInt(id)) return undefined;
    const row = this.statements.liveAccountById.get(id);
    return row && toAccount(row);
  }

  peerByName(username: string): PeerRecord | undefined {
    const row = this.statements.latestAccountByKey.get(usernameKey(username));
    return row && { id: row.id, username: row.username, deleted: row.deleted_at !== null };
  }

  sessionAccount(tokenHash: string): AccountRecord | undefined {
    const row = this.statements.sessionAccount.get(tokenHash);
    return row && toAccount(row);
  }

  listAccounts(pattern: string, after: string | undefined, limit: number): AccountPage {
    const pageSize = Number.isSafeInteger(limit) && limit > 0 ? limit : 1;
    const rows = this.statements.listAccounts.all(
      wildcardToGlob(pattern),
      after === undefined ? '' : usernameKey(after),
      pageSize + 1,
    );
    const accounts = rows.slice(0, pageSize).map((r) => ({ id: r.id, username: r.username }));
    return { accounts, nextAfter: rows.length > pageSize ? accounts.at(-1)?.username : undefined };
  }

  unreadCount(userId: AccountId): number {
    return this.isLive(userId) ? (this.statements.accountUnread.get(userId) ?? 0) : 0;
  }

  conversations(userId: AccountId): ConversationRecord[] {
    const out: ConversationRecord[] = [];
    for (const { peer_id, last_id } of this.statements.conversationPeers.all({ user: userId })) {
      const peer = this.statements.latestAccountById.get(peer_id);
      const lastMessage = this.messageById(last_id);
      if (!peer || !lastMessage) continue;
      out.push({
        peer: peer.username,
        peerId: peer.id,
        peerDeleted: peer.deleted_at !== null,
        lastMessage,
        unreadCount: this.statements.unreadFromPeer.get(userId, peer_id) ?? 0,
      });
    }
    return out;
  }

  history(
    userId: AccountId,
    peer: AccountId,
    beforeId: MessageId,
    limit: number,
  ): { messages: StoredMessage[]; hasMore: boolean } {
    const pageSize = Number.isSafeInteger(limit) && limit > 0 ? limit : 1;
    const before = beforeId > 0 ? beforeId : Number.MAX_SAFE_INTEGER;
    const rows = this.statements.history.all({ user: userId, peer, before, limit: pageSize + 1 }).map(toMessage);
    const hasMore = rows.length > pageSize;
    return { messages: hasMore ? rows.slice(1) : rows, hasMore };
  }

  messagesAfter(userId: AccountId, afterId: MessageId, limit: number): StoredMessage[] {
    const pageSize = Number.isSafeInteger(limit) && limit > 0 ? limit : 1;
    return this.statements.messagesAfter
      .all({ user: userId, after: Math.max(0, afterId), limit: pageSize })
      .map(toMessage);
  }

  messageById(id: MessageId): StoredMessage | undefined {
    if (!isSafeInt(id)) return undefined;
    const row = this.statements.messageById.get(id);
    return row && toMessage(row);
  }
}
