import type {
  AccountId,
  ApplyOutcome,
  ChatErrorCode,
  ChatOp,
  ChatOpType,
  CreateAccountOp,
  DeleteAccountOp,
  DeleteMessagesOp,
  DeletionNotice,
  FetchUnreadOp,
  LoginOp,
  LogoutOp,
  MarkReadOp,
  MessageId,
  OpResult,
  SendMessageOp,
  StoredMessage,
} from './operations.js';
import type { ChatQueries } from './queries.js';
import { COUNTER_NEXT_ACCOUNT_ID, COUNTER_NEXT_MESSAGE_ID } from './schema.js';
import type { ChatStatements, IdempotencyRow, MessageStateRow } from './statements.js';
import {
  DELETE_IDS_MAX,
  DELETE_IDS_MIN,
  FETCH_LIMIT_MAX,
  FETCH_LIMIT_MIN,
  isSafeId,
  isSafeInt,
  normalizeMessageText,
  usernameKey,
  validateIdempotencyKey,
  validateMessageText,
  validateUsername,
} from './validation.js';

/** Idempotency rows older than this (by op time) are pruned. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Pruning runs when the log index is a multiple of this. */
export const IDEMPOTENCY_PRUNE_EVERY = 256;

/** Every op type apply knows; an entry naming another is refused. */
export const OP_TYPES: readonly ChatOpType[] = [
  'createAccount',
  'login',
  'logout',
  'sendMessage',
  'fetchUnread',
  'markRead',
  'deleteMessages',
  'deleteAccount',
];

/** What an idempotency row keeps of an outcome: small, and enough to answer a retry the same way. */
type StoredOutcome =
  | { ok: false; code: ChatErrorCode; message: string }
  | { ok: true; type: 'createAccount'; userId: AccountId; username: string }
  | { ok: true; type: 'login'; userId: AccountId; username: string; unreadCount: number; tokenHash: string }
  | { ok: true; type: 'logout' }
  | { ok: true; type: 'sendMessage'; id: MessageId; recipientId: AccountId; sentAt: number; read: boolean }
  | { ok: true; type: 'fetchUnread'; ids: MessageId[]; remaining: number }
  | { ok: true; type: 'markRead'; marked: number }
  | { ok: true; type: 'deleteMessages'; deletedIds: MessageId[]; notices: DeletionNotice[] }
  | { ok: true; type: 'deleteAccount'; userId: AccountId };

interface Executed {
  outcome: ApplyOutcome;
  stored: StoredOutcome;
}

/** A user-supplied name, quoted and shortened for an error message. */
function quoted(text: string): string {
  const chars = [...text];
  return JSON.stringify(chars.length > 40 ? `${chars.slice(0, 40).join('')}…` : text);
}

function failure(code: ChatErrorCode, message: string): Executed {
  return { outcome: { ok: false, code, message, replayed: false }, stored: { ok: false, code, message } };
}

function notAuthenticated(userId: AccountId): Executed {
  return failure('UNAUTHENTICATED', `account ${userId} does not exist or has been deleted; log in again`);
}

/** Collects message ids per user and renders them as notices: the caller first, then by user id. */
class NoticeBuilder {
  private readonly byUser = new Map<AccountId, MessageId[]>();

  constructor(private readonly first: AccountId) {}

  add(userId: AccountId, id: MessageId): void {
    const ids = this.byUser.get(userId);
    if (ids) ids.push(id);
    else this.byUser.set(userId, [id]);
  }

  build(): DeletionNotice[] {
    const users = [...this.byUser.keys()].sort((a, b) => (a === this.first ? -1 : b === this.first ? 1 : a - b));
    return users.map((userId) => ({ userId, ids: [...new Set(this.byUser.get(userId))].sort((a, b) => a - b) }));
  }
}

/** Why an op is malformed (wrong field types), or undefined when its shape is sound. */
function shapeProblem(op: ChatOp): string | undefined {
  if (typeof op !== 'object' || op === null) return 'the operation is not an object';
  if (!OP_TYPES.includes(op.type)) return `unknown operation type ${JSON.stringify(String(op.type))}`;
  if (!isSafeInt(op.at) || op.at < 0) return 'the operation time must be a non-negative integer (ms)';
  if (typeof op.key !== 'string') return 'the idempotency key must be text';
  switch (op.type) {
    case 'createAccount':
      if (typeof op.username !== 'string') return 'the username must be text';
      if (typeof op.passwordHash !== 'string' || op.passwordHash === '') return 'the password hash is missing';
      return undefined;
    case 'login':
    case 'logout':
      if (!isSafeId(op.userId)) return 'the user id must be a positive integer';
      if (typeof op.tokenHash !== 'string' || op.tokenHash === '') return 'the session token hash is missing';
      return undefined;
    case 'sendMessage':
      if (!isSafeId(op.senderId)) return 'the sender id must be a positive integer';
      if (typeof op.recipient !== 'string') return 'the recipient must be text';
      if (typeof op.text !== 'string') return 'the message text must be text';
      return undefined;
    case 'fetchUnread':
      if (!isSafeId(op.userId)) return 'the user id must be a positive integer';
      if (typeof op.limit !== 'number') return 'the limit must be a number';
      return undefined;
    case 'markRead':
      if (!isSafeId(op.userId)) return 'the user id must be a positive integer';
      if (typeof op.peer !== 'string') return 'the peer must be text';
      if (typeof op.upToId !== 'number') return 'the message id must be a number';
      return undefined;
    case 'deleteMessages':
      if (!isSafeId(op.userId)) return 'the user id must be a positive integer';
      if (!Array.isArray(op.ids)) return 'the message ids must be a list';
      return undefined;
    case 'deleteAccount':
      if (!isSafeId(op.userId)) return 'the user id must be a positive integer';
      return undefined;
  }
}

/** The idempotency scope of an op: the lowered username for createAccount, the user id otherwise. */
function scopeOf(op: ChatOp): string {
  switch (op.type) {
    case 'createAccount':
      return `name:${usernameKey(op.username)}`;
    case 'sendMessage':
      return `user:${op.senderId}`;
    default:
      return `user:${op.userId}`;
  }
}

/**
 * Applies chat ops to the chat tables: validates each, answers a repeated
 * idempotency key from its record (replaying), and otherwise executes it. Uses
 * only the op and its log index: no clock, no randomness.
 */
export class OpApplier {
  constructor(
    private readonly statements: ChatStatements,
    private readonly queries: ChatQueries,
  ) {}

  /** Applies one op in the caller's transaction. */
  apply(op: ChatOp, index: number): ApplyOutcome {
    const problem = shapeProblem(op);
    if (isSafeInt(index) && index % IDEMPOTENCY_PRUNE_EVERY === 0 && isSafeInt(op?.at)) {
      this.statements.idempotencyPrune.run(op.at - IDEMPOTENCY_RETENTION_MS);
    }
    if (problem)
      return { ok: false, code: 'INVALID_ARGUMENT', message: `malformed operation: ${problem}`, replayed: false };
    const keyProblem = validateIdempotencyKey(op.key);
    if (keyProblem) return { ok: false, code: 'INVALID_ARGUMENT', message: keyProblem, replayed: false };

    const scope = op.key === '' ? '' : scopeOf(op);
    if (op.key !== '') {
      const seen = this.statements.idempotencyGet.get(scope, op.key);
      if (seen) return this.replay(op, scope, seen);
    }
    const executed = this.execute(op);
    if (op.key !== '') {
      this.statements.idempotencyPut.run(scope, op.key, op.type, op.at, JSON.stringify(executed.stored));
    }
    return executed.outcome;
  }

  private execute(op: ChatOp): Executed {
    switch (op.type) {
      case 'createAccount':
        return this.createAccount(op);
      case 'login':
        return this.login(op);
      case 'logout':
        return this.logout(op);
      case 'sendMessage':
        return this.sendMessage(op);
      case 'fetchUnread':
        return this.fetchUnread(op);
      case 'markRead':
        return this.markRead(op);
      case 'deleteMessages':
        return this.deleteMessages(op);
      case 'deleteAccount':
        return this.deleteAccount(op);
    }
  }

  private replay(op: ChatOp, scope: string, seen: IdempotencyRow): ApplyOutcome {
    if (seen.op_type !== op.type) {
      return {
        ok: false,
        code: 'FAILED_PRECONDITION',
        message: `the idempotency key ${quoted(op.key)} was already used for a different request (${seen.op_type}); use a new key for each request`,
        replayed: false,
      };
    }
    const stored = JSON.parse(seen.outcome) as StoredOutcome;
    if (!stored.ok) return { ok: false, code: stored.code, message: stored.message, replayed: true };
    const ok = (result: OpResult): ApplyOutcome => ({ ok: true, result, replayed: true });
    switch (stored.type) {
      case 'createAccount':
        return ok({ type: 'createAccount', userId: stored.userId, username: stored.username });
      case 'login':
        if (op.type === 'login' && op.tokenHash !== stored.tokenHash) this.moveReplayedSession(op, scope, stored);
        return ok({ type: 'login', userId: stored.userId, username: stored.username, unreadCount: stored.unreadCount });
      case 'logout':
        return ok({ type: 'logout' });
      case 'sendMessage': {
        const message = this.queries.messageById(stored.id) ?? this.withdrawnMessage(op, stored);
        return ok({ type: 'sendMessage', message });
      }
      case 'fetchUnread': {
        const messages: StoredMessage[] = [];
        for (const id of stored.ids) {
          const message = this.queries.messageById(id);
          if (message) messages.push(message);
        }
        return ok({ type: 'fetchUnread', messages, remaining: stored.remaining });
      }
      case 'markRead':
        return ok({ type: 'markRead', marked: stored.marked });
      case 'deleteMessages':
        return ok({ type: 'deleteMessages', deletedIds: stored.deletedIds, notices: stored.notices });
      case 'deleteAccount':
        // The deletions were announced when the op first applied.
        return ok({ type: 'deleteAccount', userId: stored.userId, notices: [] });
    }
  }

  /**
   * A retried login carries a fresh token (a new leader made it; the first token
   * never reached the client). Without a session for it the retry's answer would
   * be useless, so the session moves from the first token to the new one.
   */
  private moveReplayedSession(op: LoginOp, scope: string, stored: Extract<StoredOutcome, { type: 'login' }>): void {
    if (!this.queries.isLive(stored.userId)) return;
    if (this.statements.sessionOwner.get(op.tokenHash) !== undefined) return;
    this.statements.deleteSession.run(stored.tokenHash, stored.userId);
    this.statements.insertSession.run(op.tokenHash, stored.userId, op.at);
    this.statements.idempotencyUpdate.run(JSON.stringify({ ...stored, tokenHash: op.tokenHash }), scope, op.key);
  }

  /** The answer to a retried send whose message has since been deleted by both sides. */
  private withdrawnMessage(op: ChatOp, stored: Extract<StoredOutcome, { type: 'sendMessage' }>): StoredMessage {
    const senderId = op.type === 'sendMessage' ? op.senderId : 0;
    const sender = this.statements.latestAccountById.get(senderId);
    const recipient = this.statements.latestAccountById.get(stored.recipientId);
    return {
      id: stored.id,
      senderId,
      recipientId: stored.recipientId,
      sender: sender?.username ?? '',
      recipient: recipient?.username ?? '',
      text: op.type === 'sendMessage' ? normalizeMessageText(op.text) : '',
      sentAt: stored.sentAt,
      read: stored.read,
      senderDeleted: sender?.deleted_at != null,
    };
  }

  /** Takes the counter's value and moves it on, in one statement. */
  private nextId(counter: string): number {
    const taken = this.statements.counterTake.get(counter);
    if (taken === undefined) throw new Error(`chat counter ${counter} is missing; the chat tables are damaged`);
    return taken;
  }

  private createAccount(op: CreateAccountOp): Executed {
    const problem = validateUsername(op.username);
    if (problem) return failure('INVALID_ARGUMENT', problem);
    const key = usernameKey(op.username);
    if (this.statements.liveAccountByKey.get(key)) {
      return failure('ALREADY_EXISTS', `the username ${quoted(op.username)} is taken; choose another`);
    }
    const id = this.nextId(COUNTER_NEXT_ACCOUNT_ID);
    this.statements.insertAccount.run(id, op.username, key, op.passwordHash, op.at);
    return {
      outcome: { ok: true, result: { type: 'createAccount', userId: id, username: op.username }, replayed: false },
      stored: { ok: true, type: 'createAccount', userId: id, username: op.username },
    };
  }

  private login(op: LoginOp): Executed {
    const account = this.statements.liveAccountById.get(op.userId);
    if (!account) return failure('NOT_FOUND', `account ${op.userId} no longer exists`);
    const owner = this.statements.sessionOwner.get(op.tokenHash);
    if (owner !== undefined && owner !== op.userId) {
      return failure('FAILED_PRECONDITION', 'this session token is already in use; log in again for a new one');
    }
    if (owner === undefined) this.statements.insertSession.run(op.tokenHash, op.userId, op.at);
    const unreadCount = this.statements.accountUnread.get(op.userId) ?? 0;
    return {
      outcome: {
        ok: true,
        result: { type: 'login', userId: account.id, username: account.username, unreadCount },
        replayed: false,
      },
      stored: {
        ok: true,
        type: 'login',
        userId: account.id,
        username: account.username,
        unreadCount,
        tokenHash: op.tokenHash,
      },
    };
  }

  private logout(op: LogoutOp): Executed {
    this.statements.deleteSession.run(op.tokenHash, op.userId);
    return { outcome: { ok: true, result: { type: 'logout' }, replayed: false }, stored: { ok: true, type: 'logout' } };
  }

  private sendMessage(op: SendMessageOp): Executed {
    const senderName = this.statements.liveNameById.get(op.senderId);
    if (senderName === undefined) return notAuthenticated(op.senderId);
    const problem = validateMessageText(op.text);
    if (problem) return failure('INVALID_ARGUMENT', problem);
    const recipient = this.statements.liveIdNameByKey.get(usernameKey(op.recipient));
    if (!recipient) return failure('NOT_FOUND', `no account named ${quoted(op.recipient)}`);
    const text = normalizeMessageText(op.text);
    const id = this.nextId(COUNTER_NEXT_MESSAGE_ID);
    const toSelf = recipient.id === op.senderId;
    // A note to self is read the moment it is written.
    const readAt = toSelf ? op.at : null;
    this.statements.insertMessage.run(id, op.senderId, recipient.id, text, op.at, readAt);
    if (!toSelf) this.statements.addUnread.run(1, recipient.id);
    const message: StoredMessage = {
      id,
      senderId: op.senderId,
      recipientId: recipient.id,
      sender: senderName,
      recipient: recipient.username,
      text,
      sentAt: op.at,
      read: toSelf,
      senderDeleted: false,
    };
    return {
      outcome: { ok: true, result: { type: 'sendMessage', message }, replayed: false },
      stored: { ok: true, type: 'sendMessage', id, recipientId: recipient.id, sentAt: op.at, read: toSelf },
    };
  }

  private fetchUnread(op: FetchUnreadOp): Executed {
    if (!Number.isInteger(op.limit) || op.limit < FETCH_LIMIT_MIN || op.limit > FETCH_LIMIT_MAX) {
      return failure(
        'INVALID_ARGUMENT',
        `the limit must be a whole number from ${FETCH_LIMIT_MIN} to ${FETCH_LIMIT_MAX}`,
      );
    }
    if (!this.queries.isLive(op.userId)) return notAuthenticated(op.userId);
    const ids = this.statements.oldestUnread.all(op.userId, op.limit);
    const last = ids.at(-1);
    if (last !== undefined) {
      // The oldest `limit` unread messages are exactly the unread ones with id <= the last of them.
      const marked = this.statements.markUnreadUpTo.run(op.at, op.userId, last).changes;
      this.statements.addUnread.run(-marked, op.userId);
    }
    const messages: StoredMessage[] = [];
    for (const id of ids) {
      const message = this.queries.messageById(id);
      if (message) messages.push(message);
    }
    const remaining = this.statements.accountUnread.get(op.userId) ?? 0;
    return {
      outcome: { ok: true, result: { type: 'fetchUnread', messages, remaining }, replayed: false },
      stored: { ok: true, type: 'fetchUnread', ids, remaining },
    };
  }

  private markRead(op: MarkReadOp): Executed {
    if (!isSafeInt(op.upToId) || op.upToId < 0) {
      return failure('INVALID_ARGUMENT', 'the message id to mark read up to must be a whole number, 0 or more');
    }
    if (!this.queries.isLive(op.userId)) return notAuthenticated(op.userId);
    const peer = this.statements.latestAccountByKey.get(usernameKey(op.peer));
    if (!peer) return failure('NOT_FOUND', `no account named ${quoted(op.peer)}`);
    const marked = this.statements.markPeerUnreadUpTo.run(op.at, op.userId, peer.id, op.upToId).changes;
    if (marked > 0) this.statements.addUnread.run(-marked, op.userId);
    return {
      outcome: { ok: true, result: { type: 'markRead', marked }, replayed: false },
      stored: { ok: true, type: 'markRead', marked },
    };
  }

  private deleteMessages(op: DeleteMessagesOp): Executed {
    if (op.ids.length < DELETE_IDS_MIN || op.ids.length > DELETE_IDS_MAX) {
      return failure(
        'INVALID_ARGUMENT',
        `give from ${DELETE_IDS_MIN} to ${DELETE_IDS_MAX} message ids (got ${op.ids.length})`,
      );
    }
    const badId = op.ids.find((id) => !isSafeId(id));
    if (badId !== undefined) {
      return failure('INVALID_ARGUMENT', `message ids are positive whole numbers; ${JSON.stringify(badId)} is not one`);
    }
    const user = op.userId;
    if (!this.queries.isLive(user)) return notAuthenticated(user);
    const ids = [...new Set(op.ids)];
    const rows: MessageStateRow[] = [];
    for (const id of ids) {
      const row = this.statements.messageState.get(id);
      const visible =
        row !== undefined &&
        ((row.sender_id === user && row.hidden_for_sender === 0) ||
          (row.recipient_id === user && row.hidden_for_recipient === 0));
      if (!row || !visible) {
        return failure('NOT_FOUND', `message ${id} is not among your messages; nothing was deleted`);
      }
      rows.push(row);
    }
    const notices = new NoticeBuilder(user);
    for (const row of rows) {
      notices.add(user, row.id);
      if (row.sender_id === user && row.recipient_id === user) {
        this.statements.deleteMessage.run(row.id);
      } else if (row.sender_id === user) {
        if (row.read_at === null) {
          // Unread: withdrawn from the recipient too.
          this.statements.deleteMessage.run(row.id);
          if (row.hidden_for_recipient === 0) {
            this.statements.addUnread.run(-1, row.recipient_id);
            notices.add(row.recipient_id, row.id);
          }
        } else if (row.hidden_for_recipient === 1) {
          this.statements.deleteMessage.run(row.id);
        } else {
          this.statements.hideForSender.run(row.id);
        }
      } else {
        if (row.read_at === null) this.statements.addUnread.run(-1, user);
        if (row.hidden_for_sender === 1) this.statements.deleteMessage.run(row.id);
        else this.statements.hideForRecipient.run(row.id);
      }
    }
    const deletedIds = ids.sort((a, b) => a - b);
    const built = notices.build();
    return {
      outcome: { ok: true, result: { type: 'deleteMessages', deletedIds, notices: built }, replayed: false },
      stored: { ok: true, type: 'deleteMessages', deletedIds, notices: built },
    };
  }

  private deleteAccount(op: DeleteAccountOp): Executed {
    const user = op.userId;
    if (!this.queries.isLive(user))
      return failure('NOT_FOUND', `account ${user} does not exist or was already deleted`);
    const notices = new NoticeBuilder(user);
    this.statements.deleteUserSessions.run(user);
    // Everything it received goes, notes to self included.
    for (const row of this.statements.deleteReceived.all(user)) {
      const selfNote = row.sender_id === user;
      if (row.hidden_for_recipient === 0 || (selfNote && row.hidden_for_sender === 0)) notices.add(user, row.id);
      if (!selfNote && row.hidden_for_sender === 0) notices.add(row.sender_id, row.id);
    }
    // What it sent and nobody has read yet is withdrawn.
    for (const row of this.statements.withdrawUnreadSent.all(user)) {
      if (row.hidden_for_sender === 0) notices.add(user, row.id);
      if (row.hidden_for_recipient === 0) {
        notices.add(row.recipient_id, row.id);
        this.statements.addUnread.run(-1, row.recipient_id);
      }
    }
    // What it sent and was read stays for the recipients; the deleted account sees nothing.
    for (const id of this.statements.hideAllSent.all(user)) notices.add(user, id);
    this.statements.deleteHiddenSent.run(user);
    this.statements.markAccountDeleted.run(op.at, user);
    return {
      outcome: { ok: true, result: { type: 'deleteAccount', userId: user, notices: notices.build() }, replayed: false },
      stored: { ok: true, type: 'deleteAccount', userId: user },
    };
  }
}
